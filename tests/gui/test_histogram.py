"""The histogram dock in a real napari viewer (Xvfb)."""

import numpy as np
import pytest
from qtpy.QtCore import QPointF, Qt
from qtpy.QtGui import QMouseEvent
from qtpy.QtWidgets import QLabel

from napari_bioimg import ops
from napari_bioimg._widgets import histogram
from napari_bioimg._widgets.histogram import FIJI_AUTO, PLANE, STACK, HistogramDock

from .conftest import LONG_NAME, settled_widths, tooltip_of

PLUGIN = "napari-bioimg"


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Histogram and statistics")
    return widget


def wait_idle(qtbot, widget, timeout=30000):
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


def test_counts_of_the_current_plane_equal_numpy(viewer, banana):
    layer = viewer.add_image(banana, scale=(8.8, 0.390625, 0.390625), name="banana")
    viewer.dims.set_current_step(0, 12)
    widget = dock(viewer)
    assert isinstance(widget, HistogramDock)
    assert widget.layer is layer and widget.scope == PLANE
    expected, _ = np.histogram(banana[12], bins=widget.edges)
    np.testing.assert_array_equal(widget.counts, expected)
    assert widget.counts.sum() == banana[12].size
    assert widget.edges[0] <= banana.min() and widget.edges[-1] >= banana.max()
    viewer.dims.set_current_step(0, 3)  # follows the slider, on the same bins
    np.testing.assert_array_equal(widget.counts, np.histogram(banana[3], bins=widget.edges)[0])
    assert not widget.sampled


def test_counts_of_the_whole_stack_equal_numpy(viewer, banana):
    viewer.add_image(banana, name="banana")
    widget = dock(viewer)
    widget.scope = STACK
    counts, edges = np.histogram(
        banana, bins=len(widget.counts), range=(widget.edges[0], widget.edges[-1])
    )
    np.testing.assert_array_equal(widget.counts, counts)
    np.testing.assert_allclose(widget.edges, edges)
    assert widget.counts.sum() == banana.size


def test_in_3d_display_a_time_lapse_counts_the_volume_shown(viewer):
    """It counted every frame of a (t, z, y, x) time-lapse: the frame shown is counted,
    and a stack shown in 3D is counted whole."""
    rng = np.random.default_rng(2)
    data = rng.integers(0, 50, (3, 4, 20, 30)).astype(np.uint8)
    data[1] += 100  # frame 1 brighter: a count of every frame differs from its own
    layer = viewer.add_image(data, name="movie", axis_labels=("t", "z", "y", "x"))
    widget = dock(viewer)
    viewer.dims.ndisplay = 3
    viewer.dims.set_current_step(0, 1)
    assert widget.layer is layer and widget.plane_index() == (1, slice(None), slice(None),
                                                                 slice(None))
    np.testing.assert_array_equal(widget.counts, np.histogram(data[1], bins=widget.edges)[0])
    viewer.dims.set_current_step(0, 2)  # follows the time slider
    np.testing.assert_array_equal(widget.counts, np.histogram(data[2], bins=widget.edges)[0])
    viewer.dims.ndisplay = 2
    viewer.dims.set_current_step(1, 3)
    np.testing.assert_array_equal(widget.counts, np.histogram(data[2, 3], bins=widget.edges)[0])
    volume = viewer.add_image(data[0], name="volume")
    viewer.layers.selection = {volume}
    viewer.dims.ndisplay = 3
    assert widget.layer is volume and widget.plane_index() is None
    assert widget.counts.sum() == data[0].size


def test_the_plane_counted_follows_the_layer_moved_under_the_slider(viewer):
    """Given a new translate or scale (a voxel size set, a layer beside it keeping the
    dims range), napari showed another plane while the dock counted the old one."""
    stack = np.stack([np.full((20, 20), 10 * k, np.uint8) for k in range(8)])  # plane k: 10k
    viewer.add_image(np.zeros((20, 20, 20), np.uint8), name="background")
    layer = viewer.add_image(stack, name="stack")
    widget = dock(viewer)
    viewer.dims.set_current_step(0, 5)

    def counted():
        return {int(round((widget.edges[i] + widget.edges[i + 1]) / 2))
                for i in np.nonzero(widget.counts)[0]}

    assert counted() == {50}
    layer.translate = (2, 0, 0)  # the point (z 5) is now its plane 3
    assert counted() == {30}
    layer.scale = (0.5, 1, 1)  # plane (5 - 2) / 0.5 = 6
    assert counted() == {60}


def test_integer_images_get_one_bin_per_value(viewer, blobs):
    viewer.add_image(blobs, name="blobs")
    widget = dock(viewer)
    low, high = int(blobs.min()), int(blobs.max())
    if high - low + 1 <= histogram.BINS:
        assert len(widget.counts) == high - low + 1
        assert widget.counts[0] == np.count_nonzero(blobs == low)


def test_insight_panel(viewer, banana):
    viewer.add_image(banana, scale=(8.8, 0.390625, 0.390625), units="mm", name="banana")
    widget = dock(viewer)
    expected = ops.insight(banana, percentiles=())
    for key in ("min", "max", "dtype"):
        assert widget.stats[key] == expected[key]
    assert widget.stats["mean"] == pytest.approx(expected["mean"])
    assert widget.stats["std"] == pytest.approx(expected["std"])
    assert widget.stats["shape"] == banana.shape
    assert widget._insight["voxel size"].text() == "8.8 × 0.3906 × 0.3906 mm"
    assert widget._insight["shape"].text() == "25 × 384 × 384"


def test_log_counts(viewer, blobs):
    viewer.add_image(blobs, name="blobs")
    widget = dock(viewer)
    widget.log = True
    np.testing.assert_allclose(widget.canvas.heights(), np.log10(1 + widget.counts))


def test_dragging_a_limit_changes_contrast_limits(viewer, blobs):
    layer = viewer.add_image(blobs, name="blobs", contrast_limits=(0, 255))
    widget = dock(viewer)
    widget.drag_limit("low", 40.0)
    assert tuple(layer.contrast_limits) == pytest.approx((40.0, 255.0))
    widget.drag_limit(1, 200.0)
    assert tuple(layer.contrast_limits) == pytest.approx((40.0, 200.0))
    widget.drag_limit(0, 500.0)  # never passes the other limit
    low, high = layer.contrast_limits
    assert low < high == pytest.approx(200.0)
    assert widget.canvas.limits == pytest.approx(tuple(layer.contrast_limits))


def _mouse(kind, x, y, buttons):
    button = Qt.MouseButton.LeftButton
    point = QPointF(x, y)
    return QMouseEvent(
        kind,
        point,
        point,
        button if kind != QMouseEvent.Type.MouseMove else Qt.MouseButton.NoButton,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )


def test_dragging_a_line_with_the_mouse(viewer, qtbot, blobs):
    layer = viewer.add_image(blobs, name="blobs", contrast_limits=(50, 200))
    widget = dock(viewer)
    canvas = widget.canvas
    canvas.resize(400, 160)
    y = canvas.height() / 2
    start, end = canvas.x_of(200.0), canvas.x_of(150.0)
    pressed = Qt.MouseButton.LeftButton
    canvas.mousePressEvent(_mouse(QMouseEvent.Type.MouseButtonPress, start, y, pressed))
    canvas.mouseMoveEvent(_mouse(QMouseEvent.Type.MouseMove, end, y, pressed))
    canvas.mouseReleaseEvent(
        _mouse(QMouseEvent.Type.MouseButtonRelease, end, y, Qt.MouseButton.NoButton)
    )
    low, high = layer.contrast_limits
    assert low == pytest.approx(50.0)
    assert high == pytest.approx(150.0, abs=2.0)  # one pixel of the axis


def test_percentile_buttons_set_numpy_percentiles(viewer, banana):
    layer = viewer.add_image(banana, name="banana")
    viewer.dims.set_current_step(0, 10)
    widget = dock(viewer)
    widget._p95.click()
    expected = np.percentile(banana[10], [0, 95])
    assert tuple(layer.contrast_limits) == pytest.approx(tuple(expected))
    widget._auto.click()
    expected = np.percentile(banana[10], list(FIJI_AUTO))
    assert tuple(layer.contrast_limits) == pytest.approx(tuple(expected))
    widget.scope = STACK
    widget._lower.setValue(2.0)
    widget._upper.setValue(98.5)
    widget._set.click()
    expected = np.percentile(banana, [2.0, 98.5])
    assert tuple(layer.contrast_limits) == pytest.approx(tuple(expected))
    assert widget.set_limits_from_percentiles(5, 60) == pytest.approx(
        tuple(np.percentile(banana, [5, 60]))
    )


def test_follows_the_selected_image(viewer, banana, blobs):
    first = viewer.add_image(blobs, name="blobs")
    widget = dock(viewer)
    assert widget.layer is first
    second = viewer.add_image(banana[0], name="plane")
    assert widget.layer is second
    viewer.add_labels(np.zeros((4, 4), np.uint8), name="labels")  # not an image: kept
    assert widget.layer is second
    viewer.layers.remove(second)
    assert widget.layer is first


def test_an_operation_preview_is_never_followed_nor_selected(viewer, qtbot, blobs):
    first = viewer.add_image(blobs, name="blobs")
    widget = dock(viewer)
    viewer.layers.selection.clear()  # the user clicked the empty part of the layer list
    _, median = viewer.window.add_plugin_dock_widget(PLUGIN, "Median")
    qtbot.waitUntil(lambda: median.preview_layer is not None and not median.busy,
                    timeout=20000)
    assert widget.layer is first
    assert len(viewer.layers.selection) == 0  # as the user left it
    median.set_parameters(radius=3.0)
    qtbot.waitUntil(lambda: not median.busy, timeout=20000)
    assert widget.layer is first


def test_threshold_widget_line_follows_its_parameters(viewer, qtbot, blobs):
    layer = viewer.add_image(blobs, name="blobs")
    widget = dock(viewer)
    _, threshold = viewer.window.add_plugin_dock_widget(PLUGIN, "Threshold")
    viewer.layers.selection.active = layer
    assert threshold.input_layer is layer
    assert widget.threshold_widget is threshold  # followed as soon as it opens
    threshold.set_parameters(method="li")
    qtbot.waitUntil(
        lambda: widget.threshold == pytest.approx(ops.threshold_value(blobs, method="li")),
        timeout=20000,
    )
    threshold.set_parameters(method="manual", value=123.0)
    qtbot.waitUntil(lambda: widget.threshold == pytest.approx(123.0), timeout=20000)
    assert widget.canvas.threshold == pytest.approx(123.0)
    layer.data = blobs // 4  # new data: the slider (and the line) keep within its values
    qtbot.waitUntil(lambda: widget.threshold <= blobs.max() // 4, timeout=20000)
    assert widget.threshold == pytest.approx(threshold.parameters()["value"])
    wait_idle(qtbot, widget)
    wait_idle(qtbot, threshold)
    viewer.window.remove_dock_widget(threshold.native)  # closing it ends the line, at once
    assert widget.threshold is None and widget.threshold_widget is None


def test_threshold_line_reads_the_widget_value_instead_of_computing_it_again(
    viewer, qtbot, banana, monkeypatch
):
    """The dock computed an automatic threshold over the whole stack in a worker of its
    own while the Threshold widget's preview computed the very same (review 81 #4)."""
    stack = banana[:, ::4, ::4]
    calls = []
    original = ops.threshold_value

    def counted(*args, **kwargs):
        calls.append(kwargs.get("method"))
        return original(*args, **kwargs)

    monkeypatch.setattr(ops, "threshold_value", counted)  # (the dock's, not the widget's)
    layer = viewer.add_image(stack, name="banana")
    widget = dock(viewer)
    _, threshold = viewer.window.add_plugin_dock_widget(PLUGIN, "Threshold")
    viewer.layers.selection.active = layer
    for method in ("li", "triangle", "li"):
        threshold.set_parameters(method=method)
        expected = original(stack, method=method)
        qtbot.waitUntil(lambda e=expected: widget.threshold == pytest.approx(e), timeout=20000)
        assert threshold.computed_threshold(threshold.parameters()) == pytest.approx(expected)
    assert calls == []
    # without a live preview the widget computes nothing: the dock does
    threshold._preview.value = False
    threshold.set_parameters(method="yen")
    expected = original(stack, method="yen")
    qtbot.waitUntil(lambda: widget.threshold == pytest.approx(expected), timeout=20000)
    assert calls == ["yen"]
    wait_idle(qtbot, widget)
    wait_idle(qtbot, threshold)


def test_threshold_line_goes_when_the_widget_method_fails(viewer, qtbot, blobs):
    """The widget's preview fails (no two maxima for "minimum"): the line waiting for
    its value goes, and comes back with a method that works."""
    flat = np.full((40, 40), 7, np.uint8)
    flat[:5] = 200
    layer = viewer.add_image(flat, name="flat")
    widget = dock(viewer)
    _, threshold = viewer.window.add_plugin_dock_widget(PLUGIN, "Threshold")
    viewer.layers.selection.active = layer
    threshold.set_parameters(method="otsu")
    qtbot.waitUntil(lambda: widget.threshold is not None, timeout=20000)
    threshold.set_parameters(method="minimum")
    qtbot.waitUntil(lambda: threshold._status.value.startswith("error"), timeout=20000)
    assert widget.threshold is None and widget.canvas.threshold is None
    threshold.set_parameters(method="mean")
    expected = ops.threshold_value(flat, method="mean")
    qtbot.waitUntil(lambda: widget.threshold == pytest.approx(expected), timeout=20000)
    wait_idle(qtbot, widget)
    wait_idle(qtbot, threshold)


def test_threshold_widget_switching_to_the_shown_layer_is_followed(viewer, qtbot, blobs):
    shown = viewer.add_image(blobs, name="blobs")
    other = viewer.add_image(blobs[::-1].copy(), name="other")
    viewer.layers.selection.active = shown
    widget = dock(viewer)
    _, threshold = viewer.window.add_plugin_dock_widget(PLUGIN, "Threshold")
    threshold.input_layer = other
    assert widget.layer is shown and widget.threshold_widget is None
    threshold.input_layer = shown  # now it reads the histogram's layer
    assert widget.threshold_widget is threshold
    qtbot.waitUntil(
        lambda: widget.threshold == pytest.approx(ops.threshold_value(blobs, method="otsu")),
        timeout=20000,
    )
    wait_idle(qtbot, threshold)


def test_dask_data_is_sampled_in_a_worker(viewer, qtbot, banana):
    da = pytest.importorskip("dask.array")
    stack = da.from_array(banana, chunks=(5, 384, 384))
    viewer.add_image(stack, name="lazy", contrast_limits=(0, 1000))
    widget = dock(viewer)
    widget.scope = STACK
    wait_idle(qtbot, widget)
    assert widget.sampled and widget.canvas.note == "sampled"
    sample, _ = histogram.subsample(banana, histogram.DASK_SAMPLE)
    np.testing.assert_array_equal(widget.counts, np.histogram(sample, bins=widget.edges)[0])
    widget.set_limits_from_percentiles(0, 95)
    wait_idle(qtbot, widget)
    layer = viewer.layers["lazy"]
    assert tuple(layer.contrast_limits) == pytest.approx(tuple(np.percentile(sample, [0, 95])))


def test_big_layers_are_sampled(monkeypatch, viewer, qtbot, banana):
    monkeypatch.setattr(histogram, "BIG", 1_000_000)  # banana (3.7 M) counts as big
    monkeypatch.setattr(histogram, "SAMPLE", 500_000)
    viewer.add_image(banana, name="banana")
    widget = dock(viewer)
    widget.scope = STACK
    wait_idle(qtbot, widget)
    assert widget.sampled
    assert widget.counts.sum() < banana.size
    assert widget.stats["sampled"]


def test_a_sampled_rgb_image_keeps_every_colour(monkeypatch, viewer, qtbot):
    """Stepping every axis kept colours 0 and 2 only: a green image read as black."""
    monkeypatch.setattr(histogram, "BIG", 100_000)
    monkeypatch.setattr(histogram, "SAMPLE", 50_000)
    green = np.zeros((300, 310, 3), np.uint8)
    green[..., 1] = 180
    layer = viewer.add_image(green, name="gfp", rgb=True)
    widget = dock(viewer)
    wait_idle(qtbot, widget)
    assert widget.stats["sampled"]
    assert (widget.stats["min"], widget.stats["max"]) == (0, 180)
    assert widget.stats["mean"] == pytest.approx(60.0)
    widget.set_limits_from_percentiles(0.175, 99.825)
    wait_idle(qtbot, widget)
    assert tuple(layer.contrast_limits) == (0.0, 180.0)
    sample, sampled = histogram.subsample(green, 50_000)
    assert sampled and sample.shape[-1] == 3 and 10_000 < sample.size <= 50_000


def test_data_replaced_while_reading_shows_the_new_data(monkeypatch, viewer, qtbot):
    """The old data's result put its range and statistics back (min 100 for 3000s)."""
    monkeypatch.setattr(histogram, "BIG", 100_000)  # read in a worker
    layer = viewer.add_image(np.full((1000, 1000), 100, np.uint16), name="big")
    widget = dock(viewer)
    assert widget.busy
    layer.data = np.full((1000, 1000), 3000, np.uint16)
    wait_idle(qtbot, widget)
    qtbot.waitUntil(lambda: not widget.busy and widget.stats is not None, timeout=20000)
    assert (widget.stats["min"], widget.stats["max"]) == (3000, 3000)
    centres = (widget.edges[:-1] + widget.edges[1:]) / 2
    assert centres[np.nonzero(widget.counts)[0]].tolist() == [3000.0]


def test_closing_the_dock_disconnects(viewer, banana):
    viewer.add_image(banana, name="banana")
    widget = dock(viewer)
    point_callbacks = len(viewer.dims.events.point.callbacks)
    viewer.window.remove_dock_widget(widget)
    assert len(viewer.dims.events.point.callbacks) == point_callbacks - 1
    before = widget.counts.copy()
    viewer.dims.set_current_step(0, 20)
    viewer.add_image(banana[0], name="other")
    assert widget.layer.name == "banana"
    np.testing.assert_array_equal(widget.counts, before)


def test_an_image_without_one_finite_value_shows_no_bars_and_no_error(viewer):
    widget = dock(viewer)
    viewer.add_image(np.full((20, 24), np.nan, np.float32), name="nan")
    assert widget.counts.sum() == 0
    assert widget._insight["shape"].text() == "20 × 24"
    assert widget._insight["min"].text() == "nan"
    viewer.add_image(np.arange(12, dtype=np.float32).reshape(3, 4), name="finite")
    assert widget.counts.sum() == 12 and widget._insight["max"].text() == "11"


def test_integer_bins_hold_whole_numbers_of_values(viewer):
    """256 bins over 300 values held one or two values each: a flat image drawn as a comb."""
    flat = np.tile(np.arange(300, dtype=np.uint16), (40, 1))
    viewer.add_image(flat, name="flat")
    widget = dock(viewer)
    assert len(widget.counts) == 150 and set(widget.counts.tolist()) == {80}
    np.testing.assert_allclose(np.diff(widget.edges), 2.0)
    assert widget.counts.sum() == flat.size


def test_values_a_sample_missed_are_counted_and_the_extremes_are_exact(
    monkeypatch, viewer, qtbot
):
    """The bins came from a sample: 199 saturated pixels of the plane were left out."""
    monkeypatch.setattr(histogram, "BIG", 100_000)
    monkeypatch.setattr(histogram, "SAMPLE", 20_000)
    rng = np.random.default_rng(0)
    stack = rng.integers(100, 200, (8, 120, 130)).astype(np.uint16)
    stack[4, 7, 3:] = 0
    stack[4, 50, :] = 60000
    viewer.add_image(stack, name="stack")
    viewer.dims.set_current_step(0, 4)
    widget = dock(viewer)
    wait_idle(qtbot, widget)
    assert widget.stats["sampled"]
    assert (widget.stats["min"], widget.stats["max"]) == (0, 60000)
    assert "sampled" not in widget._insight["max"].text()
    assert widget.counts.sum() == stack[4].size  # every pixel of the plane is in a bin
    expected, _ = np.histogram(stack[4], bins=widget.edges)
    np.testing.assert_array_equal(widget.counts, expected)


def test_extremes_of_empty_and_non_finite_data():
    assert histogram._extremes(np.zeros((5, 0), np.float32)) is None
    assert histogram._extremes(np.full((2, 3, 4), np.nan)) is None
    stack = np.random.default_rng(0).random((4, 5, 6)).astype(np.float32)
    stack[1, 2, 3], stack[0, 0, 0], stack[3, 4, 5] = np.nan, -np.inf, 7.0
    finite = stack[np.isfinite(stack)]
    assert histogram._extremes(stack.T) == (float(finite.min()), 7.0)


def test_integer_extremes_are_shown_whole_and_float16_by_its_name(viewer):
    """1000000 and 1000001 both showed as 1e+06; float16 data showed as float32."""
    widget = dock(viewer)
    viewer.add_image(np.array([[1_000_000, 1_000_001]] * 4, np.uint32), name="counts")
    assert widget._insight["min"].text() == "1000000"
    assert widget._insight["max"].text() == "1000001"
    viewer.add_image(np.linspace(0, 1, 16, dtype=np.float16).reshape(4, 4), name="half")
    assert widget._insight["dtype"].text() == "float16"
    big = np.full((2100, 2100), 1_000_000, np.uint32)  # sampled: exact extremes read apart
    big[-1, -1] = 1_000_001
    viewer.add_image(big, name="big")
    assert widget._insight["min"].text() == "1000000"
    assert widget._insight["max"].text() == "1000001"


def test_the_statistics_are_of_what_the_bars_count(viewer, qtbot, banana):
    """With the current plane counted, min to std were the whole stack's (review 70)."""
    viewer.add_image(banana, scale=(8.8, 0.390625, 0.390625), name="banana")
    widget = dock(viewer)
    for z in (0, 12):
        viewer.dims.set_current_step(0, z)
        wait_idle(qtbot, widget)
        plane = banana[z]
        assert widget.counts.sum() == plane.size
        assert widget._insight["values of"].text() == f"z={z}"
        assert widget._insight["min"].text() == str(plane.min())
        assert widget._insight["max"].text() == str(plane.max())
        assert float(widget._insight["mean"].text()) == pytest.approx(plane.mean(), rel=1e-5)
        assert float(widget._insight["std"].text()) == pytest.approx(plane.std(ddof=1), rel=1e-5)
    assert banana[0].max() != banana.max()  # (the case: a plane's numbers differ)
    widget.scope = STACK
    wait_idle(qtbot, widget)
    assert widget._insight["values of"].text() == "whole stack"
    assert widget._insight["max"].text() == str(banana.max())
    assert float(widget._insight["mean"].text()) == pytest.approx(banana.mean(), rel=1e-5)


def test_the_plane_counted_names_the_axes_of_a_numbered_stack(viewer, qtbot):
    """Review 83: a numbered 4D stack's plane read "axis 0 0, z 0"; a layer naming only
    its first axis (an RGB image's masks) had its numbered ones shown as numbers."""
    layer = viewer.add_image(np.arange(2 * 3 * 8 * 9, dtype=np.uint16).reshape(2, 3, 8, 9))
    widget = dock(viewer)
    viewer.dims.set_current_step(0, 1)
    viewer.dims.set_current_step(1, 2)
    wait_idle(qtbot, widget)
    assert widget._insight["values of"].text() == "axis 0=1, z=2"
    layer.axis_labels = ("channel", "-3", "-2", "-1")
    wait_idle(qtbot, widget)
    viewer.dims.set_current_step(1, 1)
    wait_idle(qtbot, widget)
    assert widget._insight["values of"].text() == "channel=1, z=1"


def test_a_long_name_and_long_values_leave_the_dock_narrow(make_napari_viewer):
    """Its title and statistics sized the dock: a 64-character name, a 5D shape
    and float values with 6 digits made it 770 px wide (460 for short ones)."""
    viewer = make_napari_viewer(show=True)
    data = np.random.default_rng(0).random((2, 3, 4, 64, 64)) * 1e7 / 3
    layer = viewer.add_image(data, name=LONG_NAME, scale=(1, 1, 0.123456, 0.123456, 0.123456))
    dock_widget, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Histogram and statistics")
    assert widget.layer is layer and widget._insight["mean"].text().endswith("e+06")
    assert max(settled_widths(dock_widget)) <= 500
    title = widget._title
    shown = QLabel.text(title)  # what Qt draws
    assert "…" in shown and shown.endswith("_ch1")  # elided in the middle: the channel stays
    assert title.text() == tooltip_of(title) == LONG_NAME
    # every statistic wraps between its words, none of which is cut
    for key, label in widget._insight.items():
        widest = max(label.fontMetrics().horizontalAdvance(w) for w in label.text().split())
        assert label.width() >= widest, key


@pytest.mark.parametrize("big", [False, True])
def test_an_rgba_image_is_counted_without_its_alpha(monkeypatch, viewer, qtbot, big):
    """A PNG's alpha (255) joined the bars and numbers: a mean of 133 for values below
    220, the threshold line at 154 for the RGB's 73, the 95th percentile at 255."""
    from skimage import filters as skfilters

    if big:  # sampled in a worker
        monkeypatch.setattr(histogram, "BIG", 1000)
        monkeypatch.setattr(histogram, "SAMPLE", 2000)
    rgb = np.random.default_rng(0).integers(0, 120, (64, 64, 3)).astype(np.uint8)
    rgb[20:40, 20:40] += 100
    layer = viewer.add_image(np.dstack([rgb, np.full((64, 64), 255, np.uint8)]), rgb=True)
    widget = dock(viewer)
    wait_idle(qtbot, widget)
    assert widget.stats["shape"] == (64, 64, 4)
    assert widget.stats["max"] == rgb.max()
    if not big:
        assert widget.stats["mean"] == pytest.approx(rgb.mean())
        assert widget.counts.sum() == rgb.size
        np.testing.assert_array_equal(widget.counts, np.histogram(rgb, bins=widget.edges)[0])
        widget.set_limits_from_percentiles(0.0, 95.0)
        np.testing.assert_allclose(layer.contrast_limits, np.percentile(rgb, [0, 95]))
    else:
        assert widget.sampled and widget.stats["mean"] < 150  # (~70; with alpha ~130)
    _, threshold = viewer.window.add_plugin_dock_widget(PLUGIN, "Threshold")
    level = skfilters.threshold_otsu(rgb.reshape(-1))
    qtbot.waitUntil(lambda: widget.threshold == pytest.approx(level), timeout=20000)
    wait_idle(qtbot, threshold)


def test_automatic_thresholds_of_a_float_image_with_nan_use_its_finite_pixels(viewer, qtbot):
    """Every automatic method failed on a NaN: "replace them first, e.g. np.nan_to_num",
    an operation the GUI has not (Fiji ignores NaN pixels). Now the preview, its line on
    the histogram and the dock's own (preview off) read the finite pixels."""
    from skimage import filters as skfilters

    image = np.random.default_rng(0).random((30, 30)).astype(np.float32)
    image[0, 0], image[1, 1], image[2, 2] = np.nan, np.inf, -np.inf
    finite = image[np.isfinite(image)]
    layer = viewer.add_image(image, name="f")
    widget = dock(viewer)
    _, threshold = viewer.window.add_plugin_dock_widget(PLUGIN, "Threshold")
    viewer.layers.selection.active = layer
    for method in ("otsu", "li", "mean"):
        threshold.set_parameters(method=method)
        expected = float(getattr(skfilters, f"threshold_{method}")(finite))
        qtbot.waitUntil(lambda e=expected: widget.threshold == pytest.approx(e), timeout=20000)
        wait_idle(qtbot, threshold)
        assert not threshold._status.value.startswith("error")
        np.testing.assert_array_equal(threshold.preview_layer.data, image > expected)
    threshold._preview.value = False  # (the dock computes the line itself)
    threshold.set_parameters(method="yen")
    expected = float(skfilters.threshold_yen(finite))
    qtbot.waitUntil(lambda: widget.threshold == pytest.approx(expected), timeout=20000)
    wait_idle(qtbot, widget)
    wait_idle(qtbot, threshold)
