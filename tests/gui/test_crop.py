"""The crop, subsample and flip dock: results overlay the original and replay as pipelines."""

import numpy as np
import pytest

from napari_bioimg import ops
from napari_bioimg._widgets._recorder import recorder_for
from napari_bioimg._widgets.crop_tools import CropWidget
from napari_bioimg.pipeline import Pipeline

from .conftest import hold, newest


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget("napari-bioimg", "Crop, subsample and flip")
    assert isinstance(widget, CropWidget)
    return widget


def run(qtbot, widget, action):
    worker = action()
    assert worker is not None, widget._status.value
    qtbot.waitUntil(lambda: not widget.busy, timeout=20000)
    return newest(widget.viewer)


def replay(step, data):
    """The recorded step as a saved and reloaded pipeline, run on ``data``."""
    pipeline = Pipeline()
    pipeline.append(step.operation, step.parameters)
    return Pipeline.from_yaml(pipeline.to_yaml()).run(data)


def in_shapes(shapes, corners):
    """World corners as the rectangle layer's data (it has the layers' step as its scale)."""
    return np.array([shapes.world_to_data(corner) for corner in corners])


def world_corner(layer, row, col):
    """World position of the top-left corner of pixel (row, col)."""
    return layer.data_to_world((row - 0.5, col - 0.5))


def test_crop_to_a_drawn_rectangle_overlays_the_original(viewer, qtbot, blobs):
    layer = viewer.add_image(blobs, name="blobs", scale=(0.5, 0.25), translate=(10.0, -3.0))
    widget = dock(viewer)
    assert widget.layer is layer
    shapes = widget.draw_rectangle()
    assert shapes.mode == "add_rectangle" and widget.rectangle_layer is shapes
    y0, y1, x0, x1 = 30, 91, 40, 200
    shapes.add_rectangles(
        in_shapes(shapes, [world_corner(layer, y0, x0), world_corner(layer, y1, x1)])
    )
    assert widget.crop_parameters() == {"start": [y0, x0], "stop": [y1, x1]}
    cropped = run(qtbot, widget, widget.crop)
    np.testing.assert_array_equal(cropped.data, blobs[y0:y1, x0:x1])
    np.testing.assert_allclose(cropped.scale, layer.scale)
    # the same pixel is at the same world position in both layers
    np.testing.assert_allclose(cropped.data_to_world((0, 0)), layer.data_to_world((y0, x0)))
    np.testing.assert_allclose(cropped.contrast_limits, layer.contrast_limits)
    step = recorder_for(viewer).steps[-1]
    assert (step.operation, step.input_layer, step.output_layer) == ("crop", "blobs", cropped.name)
    assert step.parameters == {"start": [y0, x0], "stop": [y1, x1]}
    assert all(type(v) is int for v in step.parameters["start"] + step.parameters["stop"])
    np.testing.assert_array_equal(replay(step, blobs), cropped.data)


def test_crop_a_stack_to_a_z_range_and_a_rectangle(viewer, qtbot, banana):
    stack = banana[:, ::4, ::4]
    layer = viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), units="mm", name="banana")
    widget = dock(viewer)
    assert widget.z_range == (0, stack.shape[0] - 1)
    viewer.dims.set_current_step(0, 10)
    shapes = widget.draw_rectangle()
    assert shapes.ndim == 3
    assert tuple(shapes.units) == tuple(layer.units)  # no mixed units for napari
    assert widget._flip_axis.choices == (0, 1, 2)  # kept when napari resets choices
    corners = [
        layer.data_to_world((10, row - 0.5, col - 0.5))
        for row, col in ((20, 15), (20, 80), (60, 80), (60, 15))
    ]
    shapes.add_rectangles(in_shapes(shapes, corners))
    widget.z_range = (4, 17)
    cropped = run(qtbot, widget, widget.crop)
    np.testing.assert_array_equal(cropped.data, stack[4:18, 20:60, 15:80])
    np.testing.assert_allclose(cropped.data_to_world((0, 0, 0)), layer.data_to_world((4, 20, 15)))
    step = recorder_for(viewer).steps[-1]
    np.testing.assert_array_equal(replay(step, stack), cropped.data)


def test_z_range_only(viewer, qtbot, banana):
    stack = banana[:, ::8, ::8]
    layer = viewer.add_image(stack, scale=(8.8, 3.125, 3.125), name="banana")
    widget = dock(viewer)
    widget.region = "z range only"
    widget.z_range = (12, 3)  # either order
    cropped = run(qtbot, widget, widget.crop)
    np.testing.assert_array_equal(cropped.data, stack[3:13])
    np.testing.assert_allclose(cropped.translate, (3 * 8.8, 0, 0))
    assert layer in viewer.layers


def test_crop_to_the_view(viewer, qtbot, blobs):
    layer = viewer.add_image(blobs, name="blobs", scale=(0.5, 0.5))
    widget = dock(viewer)
    widget.region = "view"
    viewer.reset_view()
    assert widget.crop_parameters() == {"start": [0, 0], "stop": list(blobs.shape)}
    camera = viewer.scene.camera
    camera.center = (0.0, 60.0, 70.0)
    camera.zoom = camera.zoom * 4
    parameters = widget.crop_parameters()
    height, width = viewer.canvas.viewbox_size(viewer.layers)
    for axis, (centre, pixels) in enumerate(zip((60.0, 70.0), (height, width), strict=True)):
        half = pixels / 2 / camera.zoom  # world units
        assert parameters["start"][axis] == pytest.approx((centre - half) / 0.5, abs=1)
        assert parameters["stop"][axis] == pytest.approx((centre + half) / 0.5 + 1, abs=1)
    cropped = run(qtbot, widget, widget.crop)
    start, stop = parameters["start"], parameters["stop"]
    np.testing.assert_array_equal(cropped.data, blobs[start[0] : stop[0], start[1] : stop[1]])
    np.testing.assert_allclose(cropped.translate, np.array(start) * 0.5)
    assert layer.data.shape == blobs.shape


def test_subsample_multiplies_the_scale_and_replays(viewer, qtbot, banana):
    stack = banana[:, ::4, ::4]
    layer = viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), translate=(1.0, 2.0, 3.0),
                             name="banana")
    widget = dock(viewer)
    assert widget.steps == [1, 2, 2]
    widget.steps = [1, 5, 2]
    result = run(qtbot, widget, widget.subsample)
    np.testing.assert_array_equal(result.data, stack[:, ::5, ::2])
    np.testing.assert_allclose(result.scale, (8.8, 5 * 1.5625, 2 * 1.5625))
    np.testing.assert_allclose(result.translate, layer.translate)
    step = recorder_for(viewer).steps[-1]
    assert step.operation == "subsample" and step.parameters == {"step": [1, 5, 2]}
    np.testing.assert_array_equal(replay(step, stack), result.data)


def test_flip_and_all_layers_of_the_same_shape(viewer, qtbot, blobs):
    from napari.utils.colormaps import DirectLabelColormap

    image = viewer.add_image(blobs, name="blobs")
    colours = DirectLabelColormap(color_dict={None: "black", 0: "transparent", 1: "magenta"})
    labels = viewer.add_labels((blobs > 128).astype(np.uint8), name="mask", colormap=colours)
    viewer.add_image(blobs[:100], name="other shape")
    widget = dock(viewer)
    widget.layer = image
    widget.all_same_shape = True
    widget.flip_axis = 0
    run(qtbot, widget, widget.flip)
    np.testing.assert_array_equal(viewer.layers["blobs flip"].data, blobs[::-1])
    np.testing.assert_array_equal(viewer.layers["mask flip"].data, labels.data[::-1])
    assert "other shape flip" not in [layer.name for layer in viewer.layers]
    assert type(viewer.layers["mask flip"]).__name__ == "Labels"
    flipped_colours = viewer.layers["mask flip"].colormap  # the user's colours stay
    np.testing.assert_allclose(flipped_colours.map(np.array([1])), colours.map(np.array([1])))
    assert flipped_colours is not labels.colormap  # (a copy: recolouring one keeps the other)
    steps = recorder_for(viewer).steps[-2:]
    assert [s.input_layer for s in steps] == ["blobs", "mask"]
    assert steps[0].parameters == {"axis": -2}  # (counted from the last: y on any data)
    np.testing.assert_array_equal(replay(steps[0], blobs), ops.flip(blobs, axis=0))


def test_errors_are_reported_not_raised(viewer, qtbot, monkeypatch, blobs):
    messages = []
    monkeypatch.setattr("napari_bioimg._widgets.crop_tools.show_error", messages.append)
    viewer.add_image(blobs, name="blobs")
    widget = dock(viewer)
    count = len(viewer.layers)
    assert widget.crop() is None  # no rectangle yet
    assert messages and "rectangle" in messages[-1]
    shapes = widget.draw_rectangle()
    shapes.add_rectangles(in_shapes(shapes, [[-50.0, -50.0], [-20.0, -20.0]]))  # outside the image
    assert widget.crop() is None
    assert "no pixel of 'blobs' along y" in messages[-1]  # (by name, not "axis 0")
    assert len(viewer.layers) == count + 1  # only the rectangle layer


def test_crop_then_subsample_replays_as_the_recorded_pipeline(viewer, qtbot, banana):
    stack = banana[:, ::4, ::4]
    spacing = (8.8, 1.5625, 1.5625)
    viewer.add_image(stack, scale=spacing, name="banana")
    widget = dock(viewer)
    widget.region = "z range only"
    widget.z_range = (5, 20)
    cropped = run(qtbot, widget, widget.crop)
    widget.layer = cropped
    widget.steps = [2, 3, 3]
    result = run(qtbot, widget, widget.subsample)
    pipeline = recorder_for(viewer).to_pipeline()
    assert [step.operation for step in pipeline] == ["crop", "subsample"]
    data, out_spacing = pipeline.run_with_spacing(stack, spacing)
    np.testing.assert_array_equal(data, result.data)
    np.testing.assert_allclose(out_spacing, result.scale)


def test_subsample_and_crop_of_an_rgb_layer_stay_rgb_and_overlay_it(viewer, qtbot):
    image = np.random.default_rng(9).integers(0, 255, (40, 50, 3)).astype(np.uint8)
    viewer.add_image(image, rgb=True, scale=(0.5, 0.5), name="rgb")
    widget = dock(viewer)
    widget.steps = [2, 2]
    result = run(qtbot, widget, widget.subsample)
    assert result.rgb
    np.testing.assert_array_equal(result.data, image[::2, ::2])
    np.testing.assert_allclose(result.scale, (1.0, 1.0))


def test_the_dock_close_button_stops_following_the_layer_list(viewer, blobs):
    viewer.add_image(blobs, name="blobs")
    before = len(viewer.layers.events.inserted.callbacks)
    dock_widget, _ = viewer.window.add_plugin_dock_widget(
        "napari-bioimg", "Crop, subsample and flip"
    )
    opened = len(viewer.layers.events.inserted.callbacks)
    assert opened > before
    dock_widget.title.close_button.click()
    assert len(viewer.layers.events.inserted.callbacks) == opened - 1  # its own one
    viewer.add_image(blobs, name="again")  # nothing follows it: no error


def test_closing_the_dock_stops_a_crop_going_on(viewer, qtbot, monkeypatch, blobs):
    """Its result landed from a dock no longer there (and wrote to its deleted status
    line); as an operation dock's Apply, it stops, saying so (review 81)."""
    from napari_bioimg._widgets import crop_tools

    release, infos = hold(monkeypatch, crop_tools, "_compute")
    viewer.add_image(blobs, name="blobs")
    dock_widget, widget = viewer.window.add_plugin_dock_widget(
        "napari-bioimg", "Crop, subsample and flip"
    )
    steps = len(recorder_for(viewer).steps)
    assert widget.flip() is not None and widget.busy
    dock_widget.title.close_button.click()
    release.set()
    qtbot.waitUntil(lambda: not widget.busy, timeout=20000)
    assert [layer.name for layer in viewer.layers] == ["blobs"]
    assert len(recorder_for(viewer).steps) == steps
    assert infos == ["Crop: stopped, its dock was closed"]


def test_corners_on_pixel_centres_keep_those_pixels_on_every_axis(viewer, qtbot, blobs):
    """Shapes hold float32 corners: a corner on row 123's centre read 123.0000031 (dropped)."""
    layer = viewer.add_image(blobs, name="blobs", scale=(0.39, 0.39))
    widget = dock(viewer)
    shapes = widget.draw_rectangle()
    for (y0, x0), (y1, x1) in [((123, 10), (200, 77)), ((7, 101), (59, 203))]:
        shapes.data = []
        shapes.add_rectangles(in_shapes(shapes, [layer.data_to_world((y0, x0)),
                                        layer.data_to_world((y1, x1))]))
        assert widget.crop_parameters() == {"start": [y0, x0], "stop": [y1 + 1, x1 + 1]}


def test_all_layers_of_this_shape_crop_their_own_pixels_in_the_rectangle(viewer, qtbot, blobs):
    """A same-shape layer shifted by 20 was cropped at the chosen layer's indices."""
    image = viewer.add_image(blobs, name="blobs")
    shifted = viewer.add_image(blobs[::-1].copy(), name="shifted", translate=(0.0, 20.0))
    widget = dock(viewer)
    widget.layer = image
    widget.all_same_shape = True
    shapes = widget.draw_rectangle()
    shapes.add_rectangles(
        in_shapes(shapes, [world_corner(image, 30, 60), world_corner(image, 90, 150)])
    )
    run(qtbot, widget, widget.crop)
    np.testing.assert_array_equal(viewer.layers["blobs crop"].data, blobs[30:90, 60:150])
    cropped = viewer.layers["shifted crop"]
    np.testing.assert_array_equal(cropped.data, shifted.data[30:90, 40:130])
    np.testing.assert_allclose(cropped.data_to_world((0, 0)), image.data_to_world((30, 60)))
    step = recorder_for(viewer).steps[-1]
    assert step.input_layer == "shifted" and step.parameters["start"] == [30, 40]


def test_z_range_only_of_a_2d_layer_is_refused(viewer, qtbot, monkeypatch, blobs):
    messages = []
    monkeypatch.setattr("napari_bioimg._widgets.crop_tools.show_error", messages.append)
    viewer.add_image(blobs, name="blobs")
    widget = dock(viewer)
    widget.region = "z range only"
    count = len(viewer.layers)
    assert widget.crop() is None
    assert messages and "no z range" in messages[-1] and len(viewer.layers) == count


def test_a_crop_of_a_lazy_stack_reads_only_its_region(viewer, qtbot, banana):
    import dask.array as da

    read = []

    def counted(block, block_info=None):
        read.append(block_info[0]["chunk-location"])
        return block

    lazy = da.from_array(banana, chunks=(1, 384, 384)).map_blocks(counted, dtype=banana.dtype)
    layer = viewer.add_image(lazy, name="lazy")
    widget = dock(viewer)
    widget.layer = layer
    widget.region = "z range only"
    widget.z_range = (10, 11)
    read.clear()
    cropped = run(qtbot, widget, widget.crop)
    np.testing.assert_array_equal(cropped.data, banana[10:12])
    assert sorted({location[0] for location in read}) == [10, 11]


def test_a_flip_recorded_on_an_image_flips_the_same_axis_of_a_stack(viewer, qtbot, blobs,
                                                                     banana):
    """Recorded as axis 1 on 2D, the replay on a stack flipped y instead of x."""
    image = viewer.add_image(blobs, name="blobs")
    stack = viewer.add_image(banana[:, ::8, ::8], name="stack")
    widget = dock(viewer)
    widget.layer = image
    widget.flip_axis = 1  # x
    run(qtbot, widget, widget.flip)
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline_dock.run_on(stack)
    qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
    np.testing.assert_array_equal(newest(viewer).data, banana[:, ::8, ::8][:, :, ::-1])


def test_results_of_a_rotated_sheared_layer_overlay_it(viewer, qtbot, blobs):
    """Only scale and translate were passed on: a crop of a rotated image lay elsewhere."""
    layer = viewer.add_image(blobs, name="blobs", scale=(0.5, 0.25), translate=(10.0, -3.0),
                             rotate=30, shear=[0.2])
    widget = dock(viewer)
    # (the bounds of a rectangle on a rotated image: not what this test is about)
    widget.crop_parameters = lambda layer=None: {"start": [30, 40], "stop": [90, 200]}
    cropped = run(qtbot, widget, widget.crop)
    np.testing.assert_allclose(cropped.data_to_world((0, 0)), layer.data_to_world((30, 40)))
    np.testing.assert_allclose(cropped.data_to_world((5, 7)), layer.data_to_world((35, 47)))
    widget.steps = [2, 4]
    sub = run(qtbot, widget, widget.subsample)
    np.testing.assert_allclose(sub.data_to_world((3, 5)), layer.data_to_world((6, 20)))
    widget.flip_axis = 1
    flipped = run(qtbot, widget, widget.flip)
    np.testing.assert_allclose(flipped.data_to_world((4, 9)), layer.data_to_world((4, 9)))


def test_all_layers_of_this_shape_keep_the_same_planes_in_space(viewer, qtbot, banana):
    """A same-shape stack 4 (2 planes) higher kept the chosen stack's plane numbers."""
    stack = banana[:, ::8, ::8]
    first = viewer.add_image(stack, name="a", scale=(2.0, 1.0, 1.0))
    viewer.add_image(stack[::-1].copy(), name="b", scale=(2.0, 1.0, 1.0),
                     translate=(4.0, 0.0, 0.0))
    widget = dock(viewer)
    widget.layer = first
    widget.all_same_shape = True
    widget.region = "z range only"
    widget.z_range = (3, 5)
    run(qtbot, widget, widget.crop)
    np.testing.assert_array_equal(viewer.layers["a crop"].data, stack[3:6])
    np.testing.assert_array_equal(viewer.layers["b crop"].data, stack[::-1][1:4])
    np.testing.assert_allclose(viewer.layers["b crop"].translate[0], 6.0)  # world z 6..10


def test_channels_and_frames_are_no_z_range(viewer, qtbot, monkeypatch):
    """The z boxes cropped a mask's channels (and a time-lapse's frames)."""
    messages = []
    monkeypatch.setattr("napari_bioimg._widgets.crop_tools.show_error", messages.append)
    masks = viewer.add_labels(np.ones((3, 60, 80), np.uint8), name="masks",
                              axis_labels=("channel", "y", "x"))
    widget = dock(viewer)
    widget.layer = masks
    assert not widget._z_first.visible
    widget.region = "z range only"
    assert widget.crop() is None and "no z range" in messages[-1]
    widget.region = "rectangle"
    shapes = widget.draw_rectangle()
    shapes.add_rectangles(np.array([[9.5, 19.5], [29.5, 49.5]]))  # (y, x of a scale-1 layer)
    assert widget.crop_parameters() == {"start": [0, 10, 20], "stop": [3, 30, 50]}


def test_corners_on_pixel_centres_at_stage_coordinates(viewer, qtbot, blobs):
    """float32 corners at x = 23456.7 are 0.01 px off: the end columns were dropped."""
    layer = viewer.add_image(blobs, name="blobs", scale=(0.065, 0.065),
                             translate=(12345.6, 23456.7))
    widget = dock(viewer)
    shapes = widget.draw_rectangle()
    shapes.add_rectangles(in_shapes(shapes, [layer.data_to_world((30, 40)),
                                    layer.data_to_world((90, 200))]))
    assert widget.crop_parameters() == {"start": [30, 40], "stop": [91, 201]}
    far = viewer.add_image(blobs, name="far", scale=(0.02, 0.02), translate=(50000.0, 80000.0))
    widget.layer = far
    shapes.data = []
    shapes.add_rectangles(in_shapes(shapes, [far.data_to_world((30.45, 40.45)),
                                    far.data_to_world((89.55, 199.55))]))
    # (no more than float32's half step, 0.2 px here: pixels whose centres lie 0.45 px
    # outside stay out)
    assert widget.crop_parameters() == {"start": [31, 41], "stop": [90, 200]}


def test_a_rotated_rectangle_keeps_its_bounding_box_and_says_so(viewer, qtbot, monkeypatch,
                                                                 blobs):
    """Cropping to a rotated rectangle silently kept pixels outside it (its bounding box)."""
    from napari_bioimg._widgets import crop_tools

    told = []
    monkeypatch.setattr(crop_tools, "show_info", told.append)
    layer = viewer.add_image(blobs, name="blobs")
    widget = dock(viewer)
    shapes = widget.draw_rectangle()
    centre, half, angle = np.array([100.0, 100.0]), np.array([15.0, 30.0]), np.deg2rad(30)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = [centre + rotation @ (half * sign) for sign in ((-1, -1), (-1, 1), (1, 1), (1, -1))]
    shapes.add_rectangles(in_shapes(shapes, corners))
    low, high = np.min(corners, axis=0), np.max(corners, axis=0)
    start = [int(np.ceil(v)) for v in low]
    stop = [int(np.floor(v)) + 1 for v in high]
    assert widget.crop_parameters() == {"start": start, "stop": stop}
    assert len(told) == 1 and "rotated" in told[0] and "bounding box" in told[0]
    widget.crop_parameters()
    assert len(told) == 1  # once per rectangle
    cropped = run(qtbot, widget, widget.crop)
    np.testing.assert_array_equal(cropped.data, blobs[start[0]:stop[0], start[1]:stop[1]])
    # an upright rectangle says nothing
    shapes.data = [in_shapes(shapes, [world_corner(layer, 30, 40), world_corner(layer, 30, 90),
                                      world_corner(layer, 70, 90), world_corner(layer, 70, 40)])]
    shapes.shape_type = ["rectangle"]
    assert widget.crop_parameters() == {"start": [30, 40], "stop": [70, 90]}
    assert len(told) == 1


def test_the_dock_follows_axes_named_in_the_voxel_size_dock(viewer, qtbot):
    """A TYX file named z in the Voxel size dock: the crop dock kept its t (no z range),
    and a crop to a rectangle kept one plane of 12, silently."""
    frames = np.random.default_rng(0).integers(0, 255, (12, 60, 70)).astype(np.uint8)
    layer = viewer.add_image(frames, name="tyx", axis_labels=("t", "y", "x"))
    dock_widget, widget = viewer.window.add_plugin_dock_widget(
        "napari-bioimg", "Crop, subsample and flip"
    )
    widget.layer = layer
    assert widget.z_range == (0, 0) and widget._steps[0].label == "step t"
    _, voxel = viewer.window.add_plugin_dock_widget("napari-bioimg", "Voxel size")
    viewer.layers.selection = {layer}
    voxel.set_axis_role("z")
    assert widget.z_range == (0, 11)
    assert [spin.label for spin in widget._steps] == ["step z", "step y", "step x"]
    shapes = widget.draw_rectangle()
    shapes.add_rectangles(np.array([[4.5, 4.5], [19.5, 24.5]]))  # (y, x of a scale-1 layer)
    cropped = run(qtbot, widget, widget.crop)
    np.testing.assert_array_equal(cropped.data, frames[:, 5:20, 5:25])  # every plane
    viewer.layers.selection = {layer}
    voxel.set_axis_role("t")  # and back
    assert widget.z_range == (0, 0) and widget._steps[0].label == "step t"
    following = len(layer.events.axis_labels.callbacks)
    dock_widget.title.close_button.click()  # closed: it no longer follows the layer
    assert len(layer.events.axis_labels.callbacks) == following - 1


def test_the_rectangle_layer_keeps_one_slider_step_per_slice(viewer, banana):
    """Made at scale 1, it gave the dims slider of 8.8 mm slices 212 positions (review 70)."""
    layer = viewer.add_image(banana[:, ::4, ::4], scale=(8.8, 1.5625, 1.5625), name="banana")
    viewer.dims.set_current_step(0, 12)
    widget = dock(viewer)
    shapes = widget.draw_rectangle()
    np.testing.assert_allclose(shapes.scale, layer.scale)
    assert viewer.dims.nsteps[0] == banana.shape[0]
    assert viewer.dims.current_step[0] == 12
