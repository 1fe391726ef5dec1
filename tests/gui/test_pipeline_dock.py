"""Steps recorded in napari replay headless to the same results."""

import numpy as np
import pytest

from napari_bioimg import ops
from napari_bioimg.pipeline import Pipeline

from .conftest import hold, newest
from .test_operation_widget import apply, dock, wait_idle


def replay_on(qtbot, pipeline_dock, layer):
    """Run the recorded steps on ``layer`` (the dock's button) and return the result layer."""
    pipeline_dock.run_on(layer)
    qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
    return newest(pipeline_dock.viewer)


def stack_and_voxel_dock(viewer, seed):
    """A 6x30x40 uint8 stack layer, selected in the Voxel size dock."""
    stack = np.random.default_rng(seed).integers(0, 200, (6, 30, 40)).astype(np.uint8)
    source = viewer.add_image(stack, name="stack")
    _, voxel_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Voxel size")
    viewer.layers.selection = {source}
    return stack, source, voxel_dock


def test_recorded_gui_session_replays_to_the_same_layers(
    make_napari_viewer, qtbot, blobs, tmp_path
):
    viewer = make_napari_viewer()
    source = viewer.add_image(blobs, name="blobs", scale=(0.5, 0.5))
    gaussian = dock(viewer, qtbot, "gaussian")
    apply(qtbot, gaussian, source, sigma=1.0)
    smoothed = newest(viewer)
    threshold = dock(viewer, qtbot, "threshold")
    apply(qtbot, threshold, smoothed, method="otsu")
    mask = newest(viewer)
    opening = dock(viewer, qtbot, "binary_opening")
    apply(qtbot, opening, mask, radius=1.0)
    label = dock(viewer, qtbot, "label")
    apply(qtbot, label, newest(viewer), connectivity=2)
    labels = newest(viewer)

    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline = pipeline_dock.pipeline()
    assert [s.operation for s in pipeline] == ["gaussian", "threshold", "binary_opening", "label"]
    assert pipeline[1].source == pipeline[0].id
    results = pipeline.run(blobs, spacing=(0.5, 0.5), all_results=True)
    np.testing.assert_array_equal(results[0], smoothed.data)
    np.testing.assert_array_equal(results[1], mask.data.astype(bool))
    np.testing.assert_array_equal(results[-1], labels.data)

    count = len(viewer.layers)
    pipeline_dock.run_on(source)  # the replay button
    running = pipeline_dock._worker
    pipeline_dock.run_on(source)  # (a script's second call waits: one result, tracked)
    assert pipeline_dock._worker is running
    qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
    assert len(viewer.layers) == count + 1
    np.testing.assert_array_equal(newest(viewer).data, labels.data)
    assert newest(viewer).name == "blobs pipeline"

    pipeline_dock.save(tmp_path / "steps.yaml")
    assert Pipeline.load(tmp_path / "steps.yaml") == pipeline
    pipeline_dock.save(tmp_path / "steps.py")
    script = (tmp_path / "steps.py").read_text()
    assert "ops.gaussian(" in script and "ops.label(" in script
    assert "python steps.py INPUT.tif OUTPUT.tif" in script  # its own name (was pipeline.py)
    assert script == pipeline.to_python("steps.py")
    assert pipeline_dock.copy_script() == pipeline.to_python()

    pipeline_dock.recorder.remove(3)
    assert len(pipeline_dock._steps.choices) == 3


def test_a_replayed_crop_and_projection_land_where_apply_put_them(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    volume = np.random.default_rng(1).random((6, 30, 40)).astype(np.float32)
    source = viewer.add_image(volume, name="img", scale=(2, 0.5, 0.5), translate=(7, 100, 200),
                              units=("nm", "µm", "µm"))
    crop = dock(viewer, qtbot, "crop")
    apply(qtbot, crop, source, start="1, 10, 20", stop="6, 20, 30")
    cropped = newest(viewer)
    project = dock(viewer, qtbot, "project")
    apply(qtbot, project, cropped, axis=2, method="max")
    projected = newest(viewer)
    # Apply: a side view (rows z, columns y) just below the crop (y 104.75..109.75, a gap of
    # 5 % of its height, then half a z step); its columns start at the crop's y origin
    np.testing.assert_allclose(projected.translate, (109.75 + 0.25 + 1.0, 105.0))

    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    replay = replay_on(qtbot, pipeline_dock, source)
    assert replay.name == "img pipeline"
    np.testing.assert_array_equal(replay.data, projected.data)
    np.testing.assert_allclose(replay.translate, projected.translate)
    np.testing.assert_allclose(replay.scale, projected.scale)
    assert tuple(replay.units) == tuple(projected.units)  # z in nm, y in µm
    assert tuple(str(u) for u in projected.units) == ("nanometer", "micrometer")


def test_closing_the_pipeline_dock_disconnects(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    connected = len(pipeline_dock.recorder.changed)
    viewer.window.remove_dock_widget(pipeline_dock.native)
    qtbot.waitUntil(lambda: len(pipeline_dock.recorder.changed) == connected - 1, timeout=5000)


def test_closing_the_pipeline_dock_stops_a_run_going_on(make_napari_viewer, qtbot,
                                                        monkeypatch, blobs, tmp_path):
    """Its result landed after the dock closed (review 81)."""
    from napari_bioimg._widgets import pipeline_dock as module

    release, infos = hold(monkeypatch, module, "_run_in_memory")
    viewer = make_napari_viewer()
    layer = viewer.add_image(blobs, name="blobs")
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    path = tmp_path / "smooth.yaml"
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    pipeline.save(path)
    pipeline_dock.run_saved(path, layer)
    assert pipeline_dock.busy
    viewer.window.remove_dock_widget(pipeline_dock.native)
    release.set()
    qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
    assert [each.name for each in viewer.layers] == ["blobs"]
    assert infos == ["Pipeline: run stopped, its dock was closed"]


def test_the_record_survives_renaming_reopening_and_removing(make_napari_viewer, qtbot, blobs,
                                                             monkeypatch):
    from napari.layers import Labels

    from napari_bioimg._widgets import pipeline_dock as pipeline_dock_module

    errors = []
    monkeypatch.setattr(pipeline_dock_module, "show_error", errors.append)
    viewer = make_napari_viewer()
    source = viewer.add_image(blobs, name="blobs")
    apply(qtbot, dock(viewer, qtbot, "gaussian"), source, sigma=1.0)
    smoothed = newest(viewer)
    smoothed.name = "smooth"  # renamed before the next step is applied to it
    apply(qtbot, dock(viewer, qtbot, "threshold"), smoothed, method="otsu")
    mask = newest(viewer)
    _, crop = viewer.window.add_plugin_dock_widget("napari-bioimg", "Crop, subsample and flip")
    crop.layer = mask  # (masks are flipped in the crop dock)
    crop.flip_axis = 0
    crop.flip()
    qtbot.waitUntil(lambda: not crop.busy, timeout=20000)
    flipped = newest(viewer)
    assert isinstance(flipped, Labels)

    # opened after the work (napari resets its choices), then a layer comes in
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    viewer.add_image(blobs, name="another")
    assert len(pipeline_dock._steps.choices) == 3
    pipeline = pipeline_dock.pipeline()
    assert [step.source for step in pipeline][1:] == [pipeline[0].id, pipeline[1].id]

    pipeline_dock._steps.value = 1  # the threshold, which the flip reads
    pipeline_dock._remove_selected()
    assert errors and "step 2 cannot be removed: step 3" in errors[0]
    assert len(pipeline_dock.recorder.steps) == 3

    # with a step selected, the replay makes that step's result (a side branch applied
    # last would otherwise hide the end of the main chain)
    assert pipeline_dock._run.text == "Run up to step 2 on layer"
    pipeline_dock.run_on(source)
    qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
    np.testing.assert_array_equal(newest(viewer).data, mask.data)
    pipeline_dock._steps.native.clearSelection()  # (the user clicks the selected line again)
    assert pipeline_dock._run.text == "Run pipeline on layer"
    replay = replay_on(qtbot, pipeline_dock, source)
    assert replay.name.startswith("blobs pipeline") and isinstance(replay, Labels)  # a mask
    np.testing.assert_array_equal(replay.data, flipped.data)
    pipeline_dock._steps.value = 2  # the flip: nothing reads it
    pipeline_dock._remove_selected()
    assert [step.operation for step in pipeline_dock.recorder.steps] == ["gaussian", "threshold"]
    assert len(pipeline_dock._steps.choices) == 2


def test_a_voxel_size_set_by_hand_is_a_step_the_replay_and_the_cli_follow(
    make_napari_viewer, qtbot, banana, tmp_path
):
    """The slice distance typed in the Voxel size dock (missing from the files) is
    recorded, so the replay on a stack read with a guessed z filters as napari did."""
    viewer = make_napari_viewer()
    stack = banana[:, ::8, ::8]
    guessed = (3.12, 3.12, 3.12)  # the reader's guess: the pixel width
    source = viewer.add_image(stack, name="banana", scale=guessed, units="mm")
    _, voxel_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Voxel size")
    viewer.layers.selection = {source}
    assert voxel_dock.apply((5.0, 3.12, 3.12), "mm")
    assert voxel_dock.apply((8.8, 3.12, 3.12), "mm")  # corrected: replaces the step
    assert voxel_dock.apply((8.8, 3.12, 3.12), "mm")  # nothing changed: no step
    median = dock(viewer, qtbot, "median")
    apply(qtbot, median, source, radius=9.0)
    filtered = newest(viewer)
    np.testing.assert_array_equal(
        filtered.data, ops.median(stack, radius=9.0, spacing=(8.8, 3.12, 3.12))
    )
    assert not np.array_equal(filtered.data, ops.median(stack, radius=9.0, spacing=guessed))

    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline = pipeline_dock.pipeline()
    assert [(s.operation, s.source) for s in pipeline] == [
        ("set_voxel_size", "input"), ("median", pipeline[0].id)
    ]
    # (the layer's own unit: none recorded, the input's is kept)
    assert pipeline[0].parameters == {"z": 8.8, "y": 3.12, "x": 3.12, "unit": None}
    result, spacing = pipeline.run_with_spacing(stack, guessed)  # as `napari-bioimg run`
    np.testing.assert_array_equal(result, filtered.data)
    assert spacing == (8.8, 3.12, 3.12)

    other = viewer.add_image(stack, name="other", scale=guessed, units="mm")
    replay = replay_on(qtbot, pipeline_dock, other)
    np.testing.assert_array_equal(replay.data, filtered.data)
    np.testing.assert_allclose(replay.scale, (8.8, 3.12, 3.12))
    np.testing.assert_allclose(other.scale, guessed)  # the input layer keeps its own
    with pytest.raises(ValueError, match="step 2"):
        pipeline_dock.recorder.remove(0)  # the median read the layer it set


def test_a_voxel_size_set_in_another_unit_is_replayed_and_run_in_that_unit(
    make_napari_viewer, qtbot, banana, tmp_path
):
    """8800 µm slices set on a mm layer were recorded as numbers: the replay on a mm
    stack, and `run` on a mm file, read them as 8.8 m (review 56). The unit is now
    part of the step: results are in µm, filtered as in napari."""
    from napari_bioimg.io_tiff import read_tiff
    from napari_bioimg.pipeline.batch import process_file
    from napari_bioimg.pipeline.io import write_image

    viewer = make_napari_viewer()
    stack = banana[:6, ::8, ::8]
    source = viewer.add_image(stack, name="banana", scale=(8.8, 3.12, 3.12), units="mm")
    _, voxel_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Voxel size")
    viewer.layers.selection = {source}
    assert voxel_dock.apply((8800.0, 3120.0, 3120.0), "micron")
    median = dock(viewer, qtbot, "median")
    apply(qtbot, median, source, radius=9000.0)  # µm: a bit more than one slice
    filtered = newest(viewer)
    expected = ops.median(stack, radius=9000.0, spacing=(8800.0, 3120.0, 3120.0))
    np.testing.assert_array_equal(filtered.data, expected)
    assert [format(u, "~") for u in source.units] == ["µm"] * 3  # (micron's usual spelling)

    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline = pipeline_dock.pipeline()
    assert pipeline[0].parameters["unit"] == "µm"
    other = viewer.add_image(stack, name="other", scale=(8.8, 3.12, 3.12), units="mm",
                             translate=(0.0, 50.0, 50.0))
    replay = replay_on(qtbot, pipeline_dock, other)
    np.testing.assert_array_equal(replay.data, expected)
    np.testing.assert_allclose(replay.scale, (8800.0, 3120.0, 3120.0))
    np.testing.assert_allclose(replay.translate, (0.0, 50000.0, 50000.0))  # over its input
    assert [format(u, "~") for u in replay.units] == ["µm"] * 3
    assert [format(u, "~") for u in other.units] == ["mm"] * 3  # the input keeps its own

    write_image(tmp_path / "in.tif", stack, (8.8, 3.12, 3.12), "mm")
    outcome = process_file(pipeline, tmp_path / "in.tif", tmp_path / "out.tif")
    assert outcome.status == "written", outcome
    written = read_tiff(tmp_path / "out.tif")
    np.testing.assert_array_equal(written.data, expected)
    assert written.unit == "µm"
    np.testing.assert_allclose(written.spatial_spacing, (8800.0, 3120.0, 3120.0))


def test_a_chain_on_the_masks_of_an_rgb_image_replays_as_applied(make_napari_viewer, qtbot):
    """Threshold an RGB layer (one mask per colour, colour axis first in napari), fill
    holes and label each colour: the replay (masks colours last in the pipeline) and
    the exported pipeline give the same layers."""
    viewer = make_napari_viewer()
    colours = np.random.default_rng(5).integers(0, 255, (40, 50, 3)).astype(np.uint8)
    source = viewer.add_image(colours, name="rgb", rgb=True, scale=(0.5, 0.5))
    threshold = dock(viewer, qtbot, "threshold")
    apply(qtbot, threshold, source, method="otsu")
    masks = newest(viewer)
    assert masks.data.shape == (3, 40, 50)
    fill = dock(viewer, qtbot, "fill_holes")
    apply(qtbot, fill, masks)
    filled = newest(viewer)
    label = dock(viewer, qtbot, "label")
    apply(qtbot, label, newest(viewer), connectivity=1)
    labels = newest(viewer)

    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline = pipeline_dock.pipeline()
    assert [s.operation for s in pipeline] == ["threshold", "fill_holes", "label"]
    steps = pipeline.run(colours, spacing=(0.5, 0.5), all_results=True)
    np.testing.assert_array_equal(np.moveaxis(steps[0], -1, 0), masks.data)
    np.testing.assert_array_equal(np.moveaxis(steps[1], -1, 0), filled.data)
    for colour in range(3):  # each colour alone (joined across colours before)
        np.testing.assert_array_equal(labels.data[colour], ops.label(filled.data[colour] > 0))
    headless = steps[-1]
    assert headless.shape == (40, 50, 3)
    np.testing.assert_array_equal(np.moveaxis(headless, -1, 0), labels.data)
    replay = replay_on(qtbot, pipeline_dock, source)
    assert replay.name == "rgb pipeline"
    np.testing.assert_array_equal(replay.data, labels.data)
    np.testing.assert_allclose(replay.scale, labels.scale)


def test_labels_layers_are_offered_and_a_script_that_cannot_be_made_is_a_notification(
    make_napari_viewer, qtbot, monkeypatch
):
    from napari_bioimg._widgets import pipeline_dock as pipeline_dock_module
    from napari_bioimg.ops import register, unregister

    errors = []
    monkeypatch.setattr(pipeline_dock_module, "show_error", errors.append)
    viewer = make_napari_viewer()
    masks = np.random.default_rng(0).random((2, 30, 40)) > 0.5
    first = viewer.add_labels(masks[0].astype(np.uint8), name="mask1")
    second = viewer.add_labels(masks[1].astype(np.uint8), name="mask2")
    apply(qtbot, dock(viewer, qtbot, "binary_opening"), first, radius=1.0)
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    assert second in pipeline_dock._target.choices  # (only images were offered)
    pipeline_dock.run_on(second)
    qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
    np.testing.assert_array_equal(newest(viewer).data, ops.binary_opening(masks[1]))

    def brighten(image, amount: float = 1.0):
        return image + amount

    from napari_bioimg._widgets.custom import show

    brighten.__module__ = "__main__"  # (defined in the console)
    register(brighten)
    try:
        image = viewer.add_image(np.zeros((10, 10), np.float32), name="image")
        apply(qtbot, show(viewer, "brighten"), image, amount=2.0)
        pipeline_dock._copy_script.clicked.emit()  # the button: no traceback
        assert errors and "cannot export 'brighten'" in errors[-1]
    finally:
        unregister("brighten")


def test_a_voxel_size_set_while_an_apply_runs_comes_after_its_step(make_napari_viewer, qtbot):
    """The Apply computed with the old voxel size: its step goes before the new size's."""
    viewer = make_napari_viewer()
    stack = np.random.default_rng(1).integers(0, 200, (6, 30, 40)).astype(np.uint8)
    source = viewer.add_image(stack, name="stack", scale=(1.0, 1.0, 1.0))
    median = dock(viewer, qtbot, "median")
    median.input_layer = source
    median.set_parameters(radius=2.0)
    wait_idle(qtbot, median)
    _, voxel_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Voxel size")
    viewer.layers.selection = {source}
    median.apply()  # (its result reaches the viewer through the event loop, later)
    assert voxel_dock.apply((4.0, 1.0, 1.0), "pixel")
    wait_idle(qtbot, median)
    applied = newest(viewer)
    np.testing.assert_array_equal(applied.data, ops.median(stack, radius=2.0))
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline = pipeline_dock.pipeline()
    assert [s.operation for s in pipeline] == ["median", "set_voxel_size"]
    np.testing.assert_array_equal(pipeline.run(stack, (1.0, 1.0, 1.0), all_results=True)[0],
                                  applied.data)


def test_voxel_size_corrections_during_an_apply_and_after_removing_the_step(
    make_napari_viewer, qtbot
):
    viewer = make_napari_viewer()
    stack, source, voxel_dock = stack_and_voxel_dock(viewer, 2)
    assert voxel_dock.apply((1.5, 1.0, 1.0), "pixel")
    median = dock(viewer, qtbot, "median")
    median.input_layer = source
    median.set_parameters(radius=2.0)
    wait_idle(qtbot, median)
    median.apply()
    assert voxel_dock.apply((4.0, 1.0, 1.0), "pixel")  # while the Apply (at z 1.5) runs
    wait_idle(qtbot, median)
    applied = newest(viewer)
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline = pipeline_dock.pipeline()
    assert [(s.operation, s.parameters.get("z")) for s in pipeline] == [
        ("set_voxel_size", 1.5), ("median", None), ("set_voxel_size", 4.0)
    ]
    results = pipeline.run(stack, (1.0, 1.0, 1.0), all_results=True)
    np.testing.assert_array_equal(results[1], applied.data)  # the size the Apply saw

    recorder = pipeline_dock.recorder
    recorder.remove(2)  # the user removes the last step, then applies the same size again
    assert voxel_dock.apply((4.0, 1.0, 1.0), "pixel")
    assert [s.operation for s in recorder.steps][-1] == "set_voxel_size"
    assert recorder.steps[-1].parameters["z"] == 4.0


def test_a_lazy_stack_is_read_in_the_worker_not_the_viewers_thread(make_napari_viewer, qtbot,
                                                                   banana):
    import threading

    import dask
    import dask.array as da

    viewer = make_napari_viewer()
    threads = []

    def counted(block):
        threads.append(threading.current_thread())
        return block

    small = banana[:, ::8, ::8]
    lazy = da.from_array(small, chunks=(1, 48, 48)).map_blocks(counted, dtype=small.dtype)
    layer = viewer.add_image(lazy, name="lazy")
    flip = dock(viewer, qtbot, "flip")
    apply(qtbot, flip, layer, axis=2)
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    threads.clear()
    with dask.config.set(scheduler="synchronous"):  # chunks read on the calling thread
        replayed = replay_on(qtbot, pipeline_dock, layer)
    np.testing.assert_array_equal(replayed.data, small[:, :, ::-1])
    assert threads and threading.main_thread() not in threads


def test_saving_keeps_the_chain_of_the_selected_step_and_says_what_is_left(
    make_napari_viewer, qtbot, blobs, tmp_path, monkeypatch
):
    """A resample applied last made the saved pipeline output it: the labels were lost."""
    messages = []
    monkeypatch.setattr("napari_bioimg._widgets.pipeline_dock.show_info", messages.append)
    viewer = make_napari_viewer()
    source = viewer.add_image(blobs, name="blobs", scale=(0.5, 0.5))
    apply(qtbot, dock(viewer, qtbot, "gaussian"), source, sigma=1.0)
    apply(qtbot, dock(viewer, qtbot, "threshold"), newest(viewer), method="otsu")
    apply(qtbot, dock(viewer, qtbot, "label"), newest(viewer), connectivity=2)
    labels = newest(viewer)
    apply(qtbot, dock(viewer, qtbot, "subsample"), source, step=2)  # a side branch, last
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline_dock.save(tmp_path / "last.yaml")
    assert [s.operation for s in Pipeline.load(tmp_path / "last.yaml")] == ["subsample"]
    assert "steps 1, 2, 3 do not lead" in messages[-1]
    pipeline_dock._steps.value = 2  # the labels
    pipeline_dock.save(tmp_path / "labels.yaml")
    loaded = Pipeline.load(tmp_path / "labels.yaml")
    assert [s.operation for s in loaded] == ["gaussian", "threshold", "label"]
    assert "step 4 does not lead" in messages[-1]  # (after the selected one)
    np.testing.assert_array_equal(loaded.run(blobs, (0.5, 0.5)), labels.data)
    script = pipeline_dock.copy_script()
    assert "ops.label(" in script and "ops.subsample(" not in script


def test_a_mean_projection_replayed_on_labels_is_an_image(make_napari_viewer, qtbot):
    """A mean or sum is an image whatever it averages (the replay gave it to add_labels)."""
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    source = viewer.add_image(rng.random((6, 30, 40)).astype(np.float32), name="img")
    apply(qtbot, dock(viewer, qtbot, "project"), source, method="mean")
    labels = viewer.add_labels(ops.label(rng.random((6, 30, 40)) > 0.7), name="cells")
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    replay = replay_on(qtbot, pipeline_dock, labels)
    assert replay.name == "cells pipeline" and replay._type_string == "image"
    np.testing.assert_allclose(replay.data, labels.data.mean(axis=0), rtol=1e-6)
    apply(qtbot, dock(viewer, qtbot, "project"), source, method="max")  # keeps the kind
    replay = replay_on(qtbot, pipeline_dock, labels)
    assert replay._type_string == "labels"
    np.testing.assert_array_equal(replay.data, labels.data.max(axis=0))


def test_a_resampling_replayed_on_labels_makes_up_no_label(make_napari_viewer, qtbot):
    """Recorded (linear) on an image, replayed on labels: 7 and 300 gave 75, 150, 225...
    Apply on labels resamples by nearest neighbours; so do replays now."""
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    image = viewer.add_image(rng.random((6, 30, 40)).astype(np.float32), name="img",
                             scale=(2.0, 0.5, 0.5))
    apply(qtbot, dock(viewer, qtbot, "resample_isotropic"), image, order=1)
    cells = np.zeros((6, 30, 40), np.uint16)
    cells[1:3, 5:15, 5:15] = 7
    cells[3:5, 10:25, 20:35] = 300
    labels = viewer.add_labels(cells, name="cells", scale=(2.0, 0.5, 0.5))
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    assert pipeline_dock.pipeline()[0].parameters["order"] == 1  # (the record is kept)
    replay = replay_on(qtbot, pipeline_dock, labels)
    assert replay._type_string == "labels"
    np.testing.assert_array_equal(
        replay.data, ops.resample_isotropic(cells, spacing=(2.0, 0.5, 0.5), order=0)
    )
    assert set(np.unique(replay.data)) == {0, 7, 300}
    replayed_image = replay_on(qtbot, pipeline_dock, image)  # images: as recorded
    np.testing.assert_allclose(
        replayed_image.data,
        ops.resample_isotropic(image.data, spacing=(2.0, 0.5, 0.5), order=1), rtol=1e-6,
    )


def test_the_z_projection_of_a_numbered_4d_stack_is_filtered_frame_by_frame(
    make_napari_viewer, qtbot
):
    """napari numbers a plain 4D layer's axes; its projection's first axis was taken for z."""
    viewer = make_napari_viewer()
    tzyx = np.random.default_rng(5).integers(0, 255, (4, 6, 30, 40)).astype(np.uint8)
    source = viewer.add_image(tzyx, name="plain")
    assert tuple(source.axis_labels) == ("-4", "-3", "-2", "-1")
    apply(qtbot, dock(viewer, qtbot, "project"), source)  # the axis before y
    projected = newest(viewer)
    np.testing.assert_array_equal(projected.data, tzyx.max(axis=1))
    apply(qtbot, dock(viewer, qtbot, "gaussian"), projected, sigma=1.0)
    blurred = newest(viewer)
    frames = np.stack([ops.gaussian(frame, sigma=1.0) for frame in tzyx.max(axis=1)])
    np.testing.assert_allclose(blurred.data, frames, rtol=1e-6)
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    replay = replay_on(qtbot, pipeline_dock, source)
    np.testing.assert_array_equal(replay.data, blurred.data)


def test_mask_operations_on_a_label_image_record_its_mask(make_napari_viewer, qtbot, tmp_path):
    """The widgets take a label layer's objects (labels != 0) as the mask: so does the record."""
    viewer = make_napari_viewer()
    mask = np.random.default_rng(4).random((40, 50)) > 0.7
    labels = viewer.add_labels(ops.label(mask), name="cells")  # values 0 to dozens
    assert labels.data.max() > 1
    apply(qtbot, dock(viewer, qtbot, "binary_dilation"), labels, radius=1.0)
    dilated = newest(viewer)
    apply(qtbot, dock(viewer, qtbot, "fill_holes"), dilated)  # a mask already: as it is
    filled = newest(viewer)
    apply(qtbot, dock(viewer, qtbot, "binary_erosion"), labels, radius=1.0)  # the same mask
    eroded = newest(viewer)
    np.testing.assert_array_equal(eroded.data, ops.binary_erosion(mask, radius=1.0))

    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline = pipeline_dock.pipeline()
    assert [s.operation for s in pipeline] == [
        "labels_to_mask", "binary_dilation", "fill_holes", "binary_erosion"]
    assert pipeline[3].source == pipeline[0].id
    results = pipeline.run(labels.data, all_results=True)
    np.testing.assert_array_equal(results[2], filled.data.astype(bool))
    np.testing.assert_array_equal(results[3], eroded.data.astype(bool))
    pipeline_dock.recorder.remove(3)  # the side branch: the dilation chain stays
    pipeline_dock.save(tmp_path / "steps.yaml")
    saved = Pipeline.load(tmp_path / "steps.yaml")
    np.testing.assert_array_equal(saved.run(labels.data), filled.data.astype(bool))
    assert "ops.labels_to_mask(" in saved.to_python()
    replay = replay_on(qtbot, pipeline_dock, labels)
    np.testing.assert_array_equal(replay.data, filled.data)


def test_a_mask_step_on_labels_has_a_conversion_of_its_own_that_goes_with_it(
    make_napari_viewer, qtbot
):
    """A Mask from labels applied by hand (its layer may be painted) is not the one a mask
    step applied to the labels reads; removing that step removes its hidden conversion."""
    viewer = make_napari_viewer()
    labels = viewer.add_labels(
        ops.label(np.random.default_rng(4).random((40, 50)) > 0.7), name="cells"
    )
    apply(qtbot, dock(viewer, qtbot, "labels_to_mask"), labels)
    painted = newest(viewer)
    painted.data_setitem((np.array([5, 5, 6]), np.array([5, 6, 5])), 1)  # marked edited
    apply(qtbot, dock(viewer, qtbot, "binary_opening"), labels, radius=1.0)
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    recorder = pipeline_dock.recorder
    assert [s.operation for s in recorder.steps] == [
        "labels_to_mask", "labels_to_mask", "binary_opening"]
    assert recorder.steps[2].reads == recorder.steps[1].makes != recorder.steps[0].makes
    assert recorder.edited([]) == [1]  # the painted mask, which the opening did not read
    pipeline, left = pipeline_dock.output_pipeline()
    assert [s.operation for s in pipeline] == ["labels_to_mask", "binary_opening"]
    assert recorder.edited(left) == []  # so saving it says nothing of an edit
    recorder.remove(0)  # the painted mask's step: nothing read it
    recorder.remove(1)  # the opening: its conversion goes too
    assert recorder.steps == []


@pytest.mark.parametrize("action", ["resample", "flip"])
def test_a_voxel_size_set_while_a_resample_or_flip_runs_comes_after_its_step(
    make_napari_viewer, qtbot, action
):
    """Not only the operation docks: the Voxel size and Crop docks' own work too."""
    viewer = make_napari_viewer()
    stack, source, voxel_dock = stack_and_voxel_dock(viewer, 3)
    assert voxel_dock.apply((3.0, 1.0, 1.0), "pixel")
    if action == "resample":
        voxel_dock.resample()
        done = lambda: not voxel_dock.busy  # noqa: E731
    else:
        _, crop_dock = viewer.window.add_plugin_dock_widget(
            "napari-bioimg", "Crop, subsample and flip")
        crop_dock.layer = source
        assert crop_dock.flip() is not None
        done = lambda: not crop_dock.busy  # noqa: E731
    # (its result reaches the viewer through the event loop: it is still to come)
    assert voxel_dock.apply((5.0, 1.0, 1.0), "pixel")
    qtbot.waitUntil(done, timeout=20000)
    made = newest(viewer)
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline = pipeline_dock.pipeline()
    operation = "resample_isotropic" if action == "resample" else "flip"
    assert [(s.operation, s.parameters.get("z")) for s in pipeline] == [
        ("set_voxel_size", 3.0), (operation, None), ("set_voxel_size", 5.0)]
    results = pipeline.run(stack, (1.0, 1.0, 1.0), all_results=True)
    np.testing.assert_array_equal(results[1], made.data)
    if action == "resample":
        assert made.data.shape[0] == 16  # 6 planes 3 pixels apart
    else:  # placed with the voxel size it was computed with, as the replay places it
        np.testing.assert_allclose(made.scale, (3.0, 1.0, 1.0))


def test_steps_applied_to_a_replay_result_follow_the_replayed_steps(
    make_napari_viewer, qtbot, blobs, monkeypatch
):
    from napari_bioimg._widgets import pipeline_dock as pipeline_dock_module

    told = []
    monkeypatch.setattr(pipeline_dock_module, "show_info", told.append)
    viewer = make_napari_viewer()
    first = viewer.add_image(blobs, name="first")
    second = viewer.add_image(blobs[::-1].copy(), name="second")
    apply(qtbot, dock(viewer, qtbot, "gaussian"), first, sigma=1.5)
    _, voxel_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Voxel size")
    viewer.layers.selection = {second}  # a voxel size of its own: still an input
    assert voxel_dock.apply((1.0, 1.0), "µm")
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline_dock._steps.value = 0  # the gaussian (the voxel size was recorded last)
    replayed = replay_on(qtbot, pipeline_dock, second)
    pipeline_dock._steps.native.clearSelection()
    assert replayed.name == "second pipeline"
    apply(qtbot, dock(viewer, qtbot, "threshold"), replayed, method="otsu")
    mask = newest(viewer)
    pipeline, left = pipeline_dock.output_pipeline()
    assert [s.operation for s in pipeline] == ["gaussian", "threshold"] and left == [2]
    assert pipeline[1].source == pipeline[0].id
    np.testing.assert_array_equal(pipeline.run(second.data), mask.data.astype(bool))
    # a voxel size set on the replay result is its own step, read by what follows,
    # also when set again (the second replaces the first)
    viewer.layers.selection = {replayed}
    assert voxel_dock.apply((3.0, 3.0), "pixel")
    assert voxel_dock.apply((2.0, 2.0), "pixel")
    apply(qtbot, dock(viewer, qtbot, "median"), replayed, radius=2.0)
    pipeline, _ = pipeline_dock.output_pipeline()
    assert [s.operation for s in pipeline] == ["gaussian", "set_voxel_size", "median"]
    assert pipeline[1].parameters["y"] == 2.0
    np.testing.assert_array_equal(pipeline.run(second.data), newest(viewer).data)
    lines = [line for line, _ in pipeline_dock._step_choices()]
    assert lines[-1].endswith("on 'second pipeline'")  # (the layer it was applied to)

    # painted, a replay result is an input of its own: the pipeline starts from it
    pipeline_dock._steps.value = 0
    again = replay_on(qtbot, pipeline_dock, second)
    pipeline_dock._steps.native.clearSelection()
    again.data = again.data * 0.5
    apply(qtbot, dock(viewer, qtbot, "threshold"), again, method="otsu")
    pipeline, _ = pipeline_dock.output_pipeline()
    assert [s.operation for s in pipeline] == ["threshold"]
    np.testing.assert_array_equal(pipeline.run(again.data), newest(viewer).data.astype(bool))

    # a replay whose layer is removed meanwhile says so
    pipeline_dock.run_on(second)
    viewer.layers.remove(second)
    qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
    assert told and "'second' was removed" in told[-1]


def test_a_replay_error_names_its_step(make_napari_viewer, qtbot, blobs, monkeypatch):
    from napari_bioimg._widgets import pipeline_dock as pipeline_dock_module
    from napari_bioimg._widgets.custom import show
    from napari_bioimg.ops import register, unregister

    errors = []
    monkeypatch.setattr(pipeline_dock_module, "show_error", errors.append)

    def dim_only(image, limit: float = 10.0):
        if image.max() > limit:
            raise RuntimeError("too bright")  # (not a ValueError: told with a note)
        return image * 1

    register(dim_only)
    try:
        viewer = make_napari_viewer()
        dark = viewer.add_image(np.zeros((20, 20), np.uint8), name="dark")
        apply(qtbot, show(viewer, "dim_only"), dark, limit=10.0)
        bright = viewer.add_image(blobs, name="bright")
        _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
        pipeline_dock.run_on(bright)
        qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
        assert errors and "too bright" in errors[-1] and "step 1 (dim_only)" in errors[-1]
    finally:
        unregister("dim_only")


def test_the_step_list_tells_edited_removed_and_renamed_layers(
    make_napari_viewer, qtbot, blobs, monkeypatch, tmp_path
):
    from napari_bioimg._widgets import pipeline_dock as pipeline_dock_module

    told = []
    monkeypatch.setattr(pipeline_dock_module, "show_info", told.append)
    viewer = make_napari_viewer()
    source = viewer.add_image(blobs, name="blobs")
    apply(qtbot, dock(viewer, qtbot, "threshold"), source, method="otsu")
    mask = newest(viewer)
    apply(qtbot, dock(viewer, qtbot, "label"), mask)
    labels = newest(viewer)
    apply(qtbot, dock(viewer, qtbot, "gaussian"), source, sigma=1.0)
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")

    def lines():  # as the list shows them
        shown = pipeline_dock._steps.native
        return [shown.item(row).text() for row in range(shown.count())]

    assert len(lines()) == 3 and not any("[result" in line for line in lines())
    mask.paint((10, 10), 1)  # a hand correction of the mask, as with the brush
    assert lines()[0].endswith("[result edited by hand]")
    assert "[result" not in lines()[1]
    pipeline_dock._steps.value = 1  # save the labelling chain: it reads the edited mask
    pipeline_dock.save(tmp_path / "steps.yaml")
    assert "step 1 was edited by hand" in told[-1]
    pipeline_dock._steps.value = 2  # the gaussian alone: no edited step in it
    pipeline_dock.save(tmp_path / "steps.yaml")
    assert "edited" not in told[-1]

    source.name = "cells"
    viewer.layers.remove(labels)
    assert lines()[0].endswith("on 'cells' [result edited by hand]")
    assert lines()[1].endswith("[result layer removed]")
    assert lines()[2].endswith("on 'cells'")

    objects = viewer.add_labels(ops.label(blobs > 128), name="objects")
    apply(qtbot, dock(viewer, qtbot, "fill_holes"), objects)  # reads its mask
    objects.name = "nuclei"
    assert lines()[-2:] == ["4. labels_to_mask() on 'nuclei'", "5. fill_holes() on 'nuclei'"]
    pipeline_dock._steps.value = 4
    pipeline_dock._remove.clicked.emit()  # (the step after it is not selected now)
    # its labels_to_mask step, which no other step reads, goes with it
    assert len(lines()) == 3 and pipeline_dock._selected_step() is None


def test_a_saved_pipeline_runs_on_a_layer_from_the_dock(
    make_napari_viewer, qtbot, blobs, monkeypatch, tmp_path
):
    from napari_bioimg._widgets import pipeline_dock as pipeline_dock_module

    errors = []
    monkeypatch.setattr(pipeline_dock_module, "show_error", errors.append)
    saved = Pipeline()
    saved.append("gaussian", {"sigma": 2.0})
    saved.append("threshold", {"method": "li"})
    saved.save(tmp_path / "nuclei.yaml")
    viewer = make_napari_viewer()
    source = viewer.add_image(blobs, name="blobs", scale=(0.5, 0.5))
    before = source.data.copy()
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline_dock.run_saved(tmp_path / "nuclei.yaml", source)
    qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
    result = newest(viewer)
    assert result.name == "blobs nuclei"
    assert type(result).__name__ == "Labels"  # a mask, as Apply shows it
    np.testing.assert_array_equal(result.data, saved.run(blobs, (0.5, 0.5)))
    np.testing.assert_allclose(result.scale, (0.5, 0.5))
    np.testing.assert_array_equal(source.data, before)
    assert pipeline_dock.recorder.steps == []  # nothing was applied by hand

    (tmp_path / "bad.yaml").write_text(
        "napari_bioimg_pipeline: 1\nsteps: [{operation: no_such_filter}]\n")
    pipeline_dock.run_saved(tmp_path / "bad.yaml", source)
    assert errors and "no_such_filter" in errors[-1] and "bad.yaml" in errors[-1]
    pipeline_dock.run_saved(tmp_path / "missing.yaml", source)
    assert "missing.yaml" in errors[-1]
    assert not pipeline_dock.busy and newest(viewer) is result


def test_a_voxel_size_set_between_two_mask_steps_gets_a_mask_of_its_own(
    make_napari_viewer, qtbot
):
    viewer = make_napari_viewer()
    mask = np.random.default_rng(8).random((5, 30, 40)) > 0.8
    labels = viewer.add_labels(ops.label(mask), name="cells")
    apply(qtbot, dock(viewer, qtbot, "binary_dilation"), labels, radius=1.0)
    _, voxel_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Voxel size")
    viewer.layers.selection = {labels}
    assert voxel_dock.apply((4.0, 1.0, 1.0), "pixel")
    apply(qtbot, dock(viewer, qtbot, "binary_dilation"), labels, radius=2.0)
    dilated = newest(viewer)
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    pipeline, _ = pipeline_dock.output_pipeline()
    assert [s.operation for s in pipeline] == [
        "set_voxel_size", "labels_to_mask", "binary_dilation"]
    result = pipeline.run(labels.data, (1.0, 1.0, 1.0))
    np.testing.assert_array_equal(result, dilated.data.astype(bool))
    np.testing.assert_array_equal(result, ops.binary_dilation(mask, radius=2.0,
                                                              spacing=(4.0, 1.0, 1.0)))


def test_a_pipeline_file_opened_in_napari_runs_on_the_selected_layer(
    make_napari_viewer, qtbot, tmp_path, blobs
):
    """File → Open (or a drop) of a saved pipeline: napari found no reader for it."""
    from napari_bioimg._pipeline_reader import get_pipeline_reader

    saved = Pipeline()
    saved.add("gaussian", sigma=1.0)
    saved.add("threshold", method="otsu")
    saved.save(tmp_path / "nuclei.yaml")
    saved.save(tmp_path / "nuclei.json")
    (tmp_path / "other.yaml").write_text("name: a file of some other tool\n")
    assert get_pipeline_reader(str(tmp_path / "other.yaml")) is None
    assert get_pipeline_reader(str(tmp_path / "missing.yaml")) is None
    viewer = make_napari_viewer()
    other = viewer.add_image(blobs[::-1], name="other")
    source = viewer.add_image(blobs, name="blobs", scale=(0.5, 0.5))
    viewer.layers.selection = {source}
    assert viewer.open(tmp_path / "nuclei.yaml", plugin="napari-bioimg") == []
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
    result = newest(viewer)
    assert result.name == "blobs nuclei"
    np.testing.assert_array_equal(result.data, saved.run(blobs, (0.5, 0.5)))
    np.testing.assert_array_equal(source.data, blobs)
    viewer.layers.selection = {other}  # JSON too, on the layer selected now
    viewer.open(tmp_path / "nuclei.json", plugin="napari-bioimg")
    qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
    assert newest(viewer).name == "other nuclei"
    np.testing.assert_array_equal(newest(viewer).data, saved.run(blobs[::-1], (1.0, 1.0)))


def test_the_layer_to_run_on_starts_as_the_selected_one(make_napari_viewer, blobs):
    """The picker started empty: Run pipeline on layer did nothing until one was chosen."""
    viewer = make_napari_viewer()
    first = viewer.add_image(blobs, name="first")
    viewer.add_image(blobs[::-1], name="second")
    viewer.layers.selection.active = first
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    assert pipeline_dock._target.value is first
    viewer.add_image(blobs, name="third")  # a choice made stays
    assert pipeline_dock._target.value is first
    viewer.layers.remove(first)
    assert pipeline_dock._target.value is viewer.layers["third"]


def test_an_undone_edit_is_no_edit(make_napari_viewer, qtbot, blobs):
    """Painting a result marked its step edited for good: undone (Ctrl+Z), the mask is the
    step's result again, and the step list says so; new data stays an edit."""
    viewer = make_napari_viewer()
    source = viewer.add_image(blobs, name="blobs")
    apply(qtbot, dock(viewer, qtbot, "threshold"), source, method="otsu")
    mask = newest(viewer)
    _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    recorder = pipeline_dock.recorder

    def marked():
        shown = pipeline_dock._steps.native
        return shown.item(0).text().endswith("[result edited by hand]")

    original = mask.data.copy()
    mask.selected_label = 1
    mask.paint((10, 10), 1)
    mask.paint((40, 40), 1)
    assert marked() and recorder.edited([]) == [1]
    mask.undo()
    assert marked()  # (one stroke left)
    mask.undo()
    np.testing.assert_array_equal(mask.data, original)
    assert not marked() and recorder.edited([]) == []
    mask.redo()
    assert marked()
    mask.undo()
    assert not marked()
    mask.data = original.copy()  # (new data: no undo gives the result back)
    assert marked()
    mask.paint((10, 10), 1)
    mask.undo()
    assert marked()
