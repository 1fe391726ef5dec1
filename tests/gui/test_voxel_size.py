"""The voxel size dock in a real napari viewer (Xvfb)."""

import numpy as np
import pytest

from napari_bioimg import ops
from napari_bioimg._widgets.voxel_size import VoxelSizeWidget

from .conftest import newest

PLUGIN = "napari-bioimg"


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Voxel size")
    return widget


@pytest.fixture
def errors(monkeypatch):
    messages = []
    monkeypatch.setattr(
        "napari_bioimg._widgets.voxel_size.show_error", lambda message: messages.append(message)
    )
    return messages


def test_shows_the_spacing_and_unit_of_the_selected_layer(viewer, banana):
    viewer.add_image(banana[:, ::8, ::8], scale=(8.8, 3.125, 3.125), units="mm", name="banana")
    widget = dock(viewer)
    assert isinstance(widget, VoxelSizeWidget)
    assert widget.spacing == pytest.approx((8.8, 3.125, 3.125))
    assert widget.unit == "mm"
    assert widget.hint == ""


def test_apply_to_several_layers_at_once(viewer, banana):
    stack = banana[:, ::8, ::8]
    image = viewer.add_image(stack, name="image")
    labels = viewer.add_labels((stack > 300).astype(np.uint8), name="mask")
    flat = viewer.add_image(stack[0], name="plane")
    other = viewer.add_image(stack, name="not selected")
    widget = dock(viewer)
    viewer.layers.selection = {image, labels, flat}
    widget.set_values((8.8, 3.125, 3.125), "mm")
    assert widget.apply()
    for layer in (image, labels):
        np.testing.assert_allclose(layer.scale, (8.8, 3.125, 3.125))
        assert format(layer.units[-1], "~") == "mm"
    np.testing.assert_allclose(flat.scale, (3.125, 3.125))  # a 2D layer takes y and x
    np.testing.assert_allclose(other.scale, (1, 1, 1))


def test_leading_axes_keep_their_scale(viewer):
    layer = viewer.add_image(np.zeros((2, 3, 8, 8)), scale=(5.0, 1, 1, 1), name="tzyx")
    widget = dock(viewer)
    viewer.layers.selection = {layer}
    assert widget.apply((2.0, 0.5, 0.5), "µm")
    np.testing.assert_allclose(layer.scale, (5.0, 2.0, 0.5, 0.5))


def test_a_numbered_time_lapse_is_named_frames_and_filtered_frame_by_frame(
    viewer, qtbot, errors
):
    """napari's own reader gives numbered axes, read as z: a ball median mixed frames."""
    from napari_bioimg._widgets.operation import OperationWidget

    rng = np.random.default_rng(4)
    frames = rng.integers(0, 255, (5, 30, 40)).astype(np.uint8)
    layer = viewer.add_image(frames, name="movie")
    median = OperationWidget(viewer, ops.get_operation("median"))
    qtbot.addWidget(median.native)  # (closed at the end: it lets go of the viewer)
    median.input_layer = layer
    median.set_parameters(radius=2.0)
    widget = dock(viewer)
    viewer.layers.selection = {layer}
    assert widget._role.currentText() == "z (slices)" and not widget._role.isHidden()
    widget._role.setCurrentText("t (frames)")
    widget._role.activated.emit(widget._role.currentIndex())  # (as a user's choice)
    assert tuple(layer.axis_labels) == ("t", "y", "x")
    qtbot.waitUntil(lambda: not median.busy, timeout=20000)
    step = viewer.dims.current_step[0]
    np.testing.assert_array_equal(  # the open widget follows: one frame in 2D
        median.preview_layer.data[0], ops.median(frames[step], radius=2.0)
    )
    median.apply()
    qtbot.waitUntil(lambda: not median.busy, timeout=20000)
    applied = np.asarray(newest(viewer).data)
    # the naming is a recorded step: the replays filter frame by frame too
    from napari_bioimg._widgets.pipeline_dock import PipelineDock

    replay = PipelineDock(viewer)
    qtbot.addWidget(replay.native)
    pipeline, _ = replay.output_pipeline()
    assert [step.operation for step in pipeline.steps] == ["set_axis_role", "median"]
    headless = pipeline.run(frames, spacing=(1.0, 1.0, 1.0))  # (a file read as z, y, x)
    np.testing.assert_array_equal(headless, ops.median(frames, radius=2.0, spacing=(1.0, 1.0)))
    np.testing.assert_array_equal(applied, headless)
    viewer.layers.selection = {layer}
    assert widget.set_axis_role("z") == [layer]
    assert tuple(layer.axis_labels) == ("z", "y", "x")
    seconds = viewer.add_image(frames, name="read", scale=(60.0, 0.5, 0.5),
                               units=("s", "µm", "µm"), axis_labels=("t", "y", "x"))
    viewer.layers.selection = {seconds}
    assert widget.set_axis_role("z") == [seconds]  # no z of 60 seconds: the pixel width
    assert tuple(seconds.scale) == (0.5, 0.5, 0.5)
    assert [format(u, "~") for u in seconds.units] == ["µm", "µm", "µm"]
    assert "guess" in widget.hint
    movie4d = viewer.add_image(np.zeros((2, 3, 8, 8)), name="tzyx",
                               axis_labels=("t", "z", "y", "x"))
    viewer.layers.selection = {movie4d}
    assert widget.set_axis_role("t") == [] and errors  # two t axes: refused, said
    assert tuple(movie4d.axis_labels) == ("t", "z", "y", "x")
    median.close()


def test_naming_an_axis_twice_replays_as_shown(viewer, qtbot):
    """z -> t -> z replaced the first step: the replay kept z = 2, the layer showed 0.5."""
    from napari_bioimg._widgets.pipeline_dock import PipelineDock

    stack = np.zeros((4, 10, 12), np.float32)
    layer = viewer.add_image(stack, name="zyx", scale=(2.0, 0.5, 0.5), units="µm",
                             axis_labels=("z", "y", "x"))
    spots = viewer.add_points(np.zeros((1, 3)), name="spots")
    widget = dock(viewer)
    viewer.layers.selection = {layer, spots}
    assert widget.set_axis_role("t") == [layer]  # (not the points: no step for them)
    assert widget.set_axis_role("z") == [layer]
    replay = PipelineDock(viewer)
    qtbot.addWidget(replay.native)
    pipeline, _ = replay.output_pipeline()
    assert [step.parameters["role"] for step in pipeline.steps] == ["t", "z"]
    _, spacing = pipeline.run_with_spacing(stack, (2.0, 0.5, 0.5))
    assert spacing == tuple(layer.scale) == (0.5, 0.5, 0.5)  # (the guessed z, both ways)
    numbered = viewer.add_image(np.zeros((2, 3, 8, 8)), name="czyx")  # napari's numbers
    viewer.layers.selection = {numbered}
    assert widget.set_axis_role("channel") == [numbered]
    assert widget.set_axis_role("z") == [numbered]  # ("axis 0" is no second z)
    assert tuple(numbered.axis_labels)[-3:] == ("z", "y", "x")
    assert widget.set_axis_role("t") == [numbered]  # nor a t already ("axis 0": the
    assert tuple(numbered.axis_labels) == ("axis 0", "t", "y", "x")  # role it is shown)
    projected = viewer.add_image(np.zeros((2, 8, 8)), name="tyx", axis_labels=("axis 0", "y", "x"))
    viewer.layers.selection = {projected}  # (a numbered stack's z projection: frames)
    assert "frame" in widget._role.currentText().lower()


@pytest.mark.parametrize("spacing", [(0.0, 1.0, 1.0), (1.0, -0.5, 1.0), (1.0, 1.0, float("nan"))])
def test_invalid_spacing_is_a_notification_and_changes_nothing(viewer, errors, spacing):
    layer = viewer.add_image(np.zeros((3, 8, 8)), scale=(2.0, 0.5, 0.5), name="stack")
    widget = dock(viewer)
    assert not widget.apply(spacing, "µm")
    assert errors and "positive" in errors[-1]
    np.testing.assert_allclose(layer.scale, (2.0, 0.5, 0.5))


def test_an_unknown_unit_is_a_notification(viewer, errors):
    layer = viewer.add_image(np.zeros((3, 8, 8)), name="stack")
    widget = dock(viewer)
    assert not widget.apply((2.0, 0.5, 0.5), "seconds")
    assert errors and "length" in errors[-1]
    np.testing.assert_allclose(layer.scale, (1, 1, 1))


def test_zero_typed_in_the_spin_box_is_refused(viewer, errors, qtbot):
    layer = viewer.add_image(np.zeros((3, 8, 8)), scale=(2.0, 0.5, 0.5), name="stack")
    widget = dock(viewer)
    widget.set_values((0.0, 0.5, 0.5))
    widget._apply.click()
    assert errors
    np.testing.assert_allclose(layer.scale, (2.0, 0.5, 0.5))


def test_hint_when_the_slice_distance_was_guessed(viewer):
    layer = viewer.add_image(
        np.zeros((3, 8, 8)), name="guessed", scale=(0.5, 0.5, 0.5),
        metadata={"z_spacing_known": False},  # as the reader sets it: the pixel width
    )
    widget = dock(viewer)
    assert "guessed" in widget.hint and "slice distance" in widget.hint
    assert "0.5 is a guess" in widget.hint  # the value it has, not another
    assert widget.apply((4.0, 1.0, 1.0), "µm")
    assert layer.metadata["z_spacing_known"] is True
    assert widget.hint == ""


def test_hint_follows_the_selection(viewer):
    known = viewer.add_image(np.zeros((3, 8, 8)), name="known")
    guessed = viewer.add_image(
        np.zeros((3, 8, 8)), name="guessed", metadata={"z_spacing_known": False}
    )
    widget = dock(viewer)
    viewer.layers.selection = {known}
    assert widget.hint == ""
    viewer.layers.selection = {guessed}
    assert widget.hint


def test_resample_gives_the_core_result(viewer, qtbot, banana):
    from napari_bioimg._widgets._recorder import recorder_for

    stack = banana[:, ::8, ::8]
    scale = (8.8, 3.125, 3.125)
    layer = viewer.add_image(stack, scale=scale, translate=(10.0, 5.0, 2.0), name="banana")
    widget = dock(viewer)
    viewer.layers.selection = {layer}
    assert len(widget.resample()) == 1
    qtbot.waitUntil(lambda: not widget.busy, timeout=30000)
    result = viewer.layers["banana isotropic"]
    np.testing.assert_array_equal(result.data, ops.resample_isotropic(stack, spacing=scale))
    np.testing.assert_allclose(result.scale, (3.125, 3.125, 3.125))
    np.testing.assert_allclose(result.translate, (10.0, 5.0, 2.0))
    assert recorder_for(viewer).steps[-1].operation == "resample_isotropic"


def test_resample_labels_uses_nearest(viewer, qtbot):
    labels = np.zeros((4, 12, 12), np.uint16)
    labels[1:3, 2:6, 2:6] = 7
    labels[2:4, 6:10, 6:10] = 3
    layer = viewer.add_labels(labels, scale=(3.0, 1.0, 1.0), name="cells")
    widget = dock(viewer)
    viewer.layers.selection = {layer}
    widget.resample()
    qtbot.waitUntil(lambda: not widget.busy, timeout=30000)
    result = viewer.layers["cells isotropic"].data
    expected = ops.resample_isotropic(labels, spacing=(3, 1, 1), order=0)
    np.testing.assert_array_equal(result, expected)
    assert set(np.unique(result)) == {0, 3, 7}


def test_resample_of_a_time_lapse_keeps_its_frames(viewer, qtbot, monkeypatch):
    """Frames 60 s apart were interpolated as 481 planes of 0.5 (t taken for z)."""
    from napari_bioimg._widgets._recorder import recorder_for

    frames = np.random.default_rng(0).integers(0, 255, (5, 16, 24)).astype(np.uint8)
    layer = viewer.add_image(frames, scale=(60.0, 0.5, 0.25), axis_labels=("t", "y", "x"),
                             name="movie")
    widget = dock(viewer)
    viewer.layers.selection = {layer}
    widget.resample()
    qtbot.waitUntil(lambda: not widget.busy, timeout=30000)
    result = viewer.layers["movie isotropic"]
    expected = ops.resample_isotropic(frames, spacing=(0.5, 0.25))  # frame by frame
    assert expected.shape == (5, 31, 24)  # (y: 16 rows of 0.5 -> 31 of 0.25, centre to centre)
    np.testing.assert_array_equal(result.data, expected)
    np.testing.assert_allclose(result.scale, (60.0, 0.25, 0.25))
    pipeline = recorder_for(viewer).to_pipeline()
    np.testing.assert_array_equal(pipeline.run(frames, (0.5, 0.25)), expected)


def test_resample_of_only_rgb_images_says_why_nothing_happens(viewer, monkeypatch):
    messages = []
    monkeypatch.setattr("napari_bioimg._widgets.voxel_size.show_info", messages.append)
    rgb = viewer.add_image(np.zeros((20, 30, 3), np.uint8), rgb=True, name="rgb")
    widget = dock(viewer)
    viewer.layers.selection = {rgb}
    assert not widget._resample.isEnabled()
    assert widget.resample() == [] and messages and "grey image" in messages[-1]


def test_closing_the_dock_disconnects(viewer):
    viewer.add_image(np.zeros((3, 8, 8)), name="a")
    widget = dock(viewer)
    before = len(viewer.layers.selection.events.changed.callbacks)
    viewer.window.remove_dock_widget(widget)
    assert len(viewer.layers.selection.events.changed.callbacks) == before - 1
    viewer.add_image(np.zeros((3, 8, 8)), name="b")  # changes the selection
    assert "b" not in widget._names.text()


def test_the_dock_follows_a_scale_set_elsewhere(viewer):
    layer = viewer.add_image(np.zeros((3, 8, 8)), name="stack", scale=(1.0, 1.0, 1.0))
    widget = dock(viewer)
    layer.scale = (3.0, 0.25, 0.25)  # e.g. in napari's console
    assert widget.apply()  # what the dock shows now: the layer's own values
    np.testing.assert_allclose(layer.scale, (3.0, 0.25, 0.25))


def test_unchanged_axes_keep_their_exact_values_and_metres_fit(viewer):
    image = viewer.add_image(np.zeros((4, 8, 8)), scale=(0.3, 6.5 / 60, 6.5 / 60), name="a")
    widget = dock(viewer)
    viewer.layers.selection = {image}
    widget._spins["z"].setValue(0.5)  # the user changes z only
    assert widget.apply(unit="µm")
    np.testing.assert_array_equal(image.scale, (0.5, 6.5 / 60, 6.5 / 60))  # not 0.108333
    metres = viewer.add_image(np.zeros((4, 8, 8)), scale=(3e-7, 1.08e-7, 1.08e-7), units="m",
                              name="b")
    viewer.layers.selection = {metres}
    assert widget.spacing == pytest.approx((3e-7, 1.08e-7, 1.08e-7))  # (6 decimals: 0.0)
    widget._spins["z"].setValue(4e-7)
    assert widget.apply()
    np.testing.assert_allclose(metres.scale, (4e-7, 1.08e-7, 1.08e-7))


def test_a_correction_on_several_layers_replaces_their_steps(viewer):
    from napari_bioimg._widgets._recorder import recorder_for

    first = viewer.add_image(np.zeros((4, 8, 8)), name="ch1")
    second = viewer.add_image(np.zeros((4, 8, 8)), name="ch2")
    widget = dock(viewer)
    viewer.layers.selection = {first, second}
    assert widget.apply((2.0, 0.5, 0.5), "µm")
    assert widget.apply((3.0, 0.5, 0.5), "µm")
    steps = recorder_for(viewer).steps
    assert [(s.operation, s.input_layer, s.parameters["z"]) for s in steps] == [
        ("set_voxel_size", "ch1", 3.0), ("set_voxel_size", "ch2", 3.0)
    ]


def test_a_time_lapse_keeps_its_frame_interval(viewer):
    """The frames (axis t) are no z: the dock sets y and x only."""
    movie = viewer.add_image(np.zeros((5, 8, 8)), scale=(10.0, 1.0, 1.0), name="movie",
                             axis_labels=("t", "y", "x"))
    widget = dock(viewer)
    viewer.layers.selection = {movie}
    assert widget.spacing[1:] == (1.0, 1.0) and not widget._spins["z"].isEnabled()
    assert widget.apply((2.0, 0.5, 0.5), "µm")
    np.testing.assert_allclose(movie.scale, (10.0, 0.5, 0.5))


def test_the_origin_stays_axis_by_axis(viewer):
    """z in nm, y and x in µm, set in µm: the z origin (1000 nm) stayed 1000, now in µm."""
    layer = viewer.add_image(np.zeros((4, 8, 8)), scale=(500.0, 0.1, 0.1),
                             units=("nm", "µm", "µm"), translate=(1000.0, 2.0, 3.0))
    widget = dock(viewer)
    viewer.layers.selection = {layer}
    assert widget.apply((0.5, 0.1, 0.1), "µm")
    np.testing.assert_allclose(layer.translate, (1.0, 2.0, 3.0))
    assert [format(u, "~") for u in layer.units] == ["µm"] * 3


def test_a_new_length_unit_is_recorded_or_told(viewer, banana, monkeypatch):
    """8800 µm on a mm layer was recorded as set_voxel_size(z=8800) without unit: replayed
    on the mm stack, and written by run, as 8.8 m slices (review 56). The step now names
    the unit; one it cannot name (Å) is warned about."""
    from napari_bioimg._widgets._recorder import recorder_for

    warnings = []
    monkeypatch.setattr("napari_bioimg._widgets.voxel_size.show_warning", warnings.append)
    calibrated = viewer.add_image(banana[:4, ::8, ::8], scale=(8.8, 3.125, 3.125),
                                  units="mm", name="banana", translate=(0.0, 50.0, 50.0))
    plain = viewer.add_image(banana[:4, ::8, ::8], name="plain")
    flat = viewer.add_image(banana[0, ::8, ::8], name="flat", scale=(3.0, 3.0), units="mm")
    widget = dock(viewer)
    viewer.layers.selection = {calibrated}

    def recorded():
        return recorder_for(viewer).steps[-1].parameters

    # its own unit: none recorded (the input's, as before: a step recorded on a 2D layer
    # with a unit but no z would be refused on stacks)
    assert widget.apply((8.8, 3.0, 3.0), "mm") and warnings == []
    assert recorded() == {"z": 8.8, "y": 3.0, "x": 3.0}
    assert widget.apply((8800.0, 3000.0, 3000.0), "micron") and warnings == []
    assert recorded() == {"z": 8800.0, "y": 3000.0, "x": 3000.0, "unit": "µm"}
    # the layer stays where it was: 50 mm is 50000 µm
    np.testing.assert_allclose(calibrated.translate, (0.0, 50000.0, 50000.0))
    # set again (corrected) in µm: the step it replaces named µm, so does this one (the
    # layer was already in µm, and the unit was dropped: replayed as 8 m slices)
    assert widget.apply((8000.0, 3000.0, 3000.0), "µm")
    assert recorded() == {"z": 8000.0, "y": 3000.0, "x": 3000.0, "unit": "µm"}
    assert len(recorder_for(viewer).steps) == 1  # (replaced, no step read the layer)
    assert widget.apply((8800.0, 3000.0, 3000.0), "µm")
    assert widget.apply((0.03, 0.01, 0.01), "foot")  # (pint knows it; a step cannot)
    assert len(warnings) == 1
    assert "'banana' (µm) set in ft" in warnings[0] and "names only" in warnings[0]
    assert "unit" not in recorded()
    np.testing.assert_allclose(calibrated.translate, (0.0, 0.05 / 0.3048, 0.05 / 0.3048))
    viewer.layers.selection = {plain}
    assert widget.apply((2.0, 0.5, 0.5), "pixel") and len(warnings) == 1  # no unit: none
    assert recorded() == {"z": 2.0, "y": 0.5, "x": 0.5}
    assert widget.apply((2.0, 0.5, 0.5), "µm") and len(warnings) == 1  # calibrating pixels
    assert recorded()["unit"] == "µm"
    np.testing.assert_allclose(plain.translate, (0.0, 0.0, 0.0))
    viewer.layers.selection = {flat}
    assert widget.apply((1.0, 3.0, 3.0), "mm") and recorded() == {"z": None, "y": 3.0, "x": 3.0}
    assert widget.apply((1.0, 3.0, 3.0), "cm") and recorded()["unit"] == "cm"


def test_the_point_in_the_plane_stays_too_for_the_orthogonal_views(viewer, banana):
    """A stack without voxel size given banana's 8.8 / 0.39 mm: napari clamped the point's
    y and x (191 px) to the new extent (149.6 mm, the last row and column), so the XZ and
    YZ views sliced the background and the crosshair sat in the corner (review 79)."""
    stack = banana[:, ::2, ::2]
    layer = viewer.add_image(stack, name="banana")
    viewer.dims.set_current_step(0, 12)
    _, ortho = viewer.window.add_plugin_dock_widget(PLUGIN, "Orthogonal views")
    before = np.asarray(layer.world_to_data(viewer.dims.point))
    assert before[1:] == pytest.approx([95.5, 95.5], abs=1)  # (the middle of 192 pixels)
    widget = dock(viewer)
    viewer.layers.selection = {layer}
    assert widget.apply((8.8, 0.78125, 0.78125), "mm")
    after = np.asarray(layer.world_to_data(viewer.dims.point))
    assert after == pytest.approx(before, abs=0.5)  # the same voxel, in the new sizes
    assert viewer.dims.point[1] == pytest.approx(before[1] * 0.78125, abs=0.5)
    # the side views slice the stack through that voxel, not its empty last row/column
    for name, axis in (("xz", -2), ("yz", -1)):
        model = ortho.view_model(name)
        assert model.dims.point[axis] == pytest.approx(viewer.dims.point[axis]), name
        assert model.dims.point[axis] < 0.75 * layer.extent.world[1][axis], name


def test_the_plane_shown_stays_when_the_voxel_size_changes(viewer, banana):
    """napari kept the world point: banana at plane 12 with its 8.8 mm slices set to
    1 mm jumped to plane 24 (105.6 mm is past the new end), blank."""
    stack = banana[:, ::8, ::8]
    layer = viewer.add_image(stack, scale=(8.8, 3.125, 3.125), units="mm", name="banana")
    viewer.dims.set_current_step(0, 12)
    widget = dock(viewer)
    viewer.layers.selection = {layer}
    assert widget.apply((1.0, 1.0, 1.0), "mm")
    assert viewer.dims.current_step[0] == 12
    assert viewer.dims.point[0] == pytest.approx(12.0)
    assert widget.apply((2.0, 0.5, 0.5), "µm")  # another unit: still plane 12
    assert viewer.dims.current_step[0] == 12
