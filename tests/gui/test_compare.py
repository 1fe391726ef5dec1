"""The compare dock: side by side in napari's grid, a curtain, and restore."""

import math

import numpy as np
import pytest

from napari_bioimg import ops
from napari_bioimg._widgets.compare import CompareWidget

from .conftest import LONG_NAME, settled_widths, tooltip_of

PLUGIN = "napari-bioimg"


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Compare side by side")
    assert isinstance(widget, CompareWidget)
    return widget


@pytest.fixture
def filtered(viewer, blobs):
    """The lecture's figure: blobs and its mean, median and Gaussian."""
    layers = [viewer.add_image(blobs, name="blobs")]
    for name, result in (
        ("mean", ops.mean(blobs, radius=3)),
        ("median", ops.median(blobs, radius=3)),
        ("gaussian", ops.gaussian(blobs, sigma=2)),
    ):
        layers.append(viewer.add_image(result, name=f"blobs {name}"))
    return layers


def visible(viewer):
    return [layer.name for layer in viewer.layers if layer.visible]


def test_side_by_side_with_one_click_and_restore(viewer, filtered):
    points = viewer.add_points([[10, 10]], name="points")
    hidden = viewer.add_image(np.zeros((8, 8)), name="hidden", visible=False)
    camera = viewer.scene.camera
    camera.zoom, camera.center = 3.0, (0.0, 50.0, 60.0)
    widget = dock(viewer)
    assert widget.chosen == filtered  # every visible image, without choosing
    widget._side_by_side.clicked.emit()  # the one click
    grid = viewer.canvas.grid
    assert grid.enabled and tuple(grid.shape) == (1, 4)
    assert visible(viewer) == [layer.name for layer in filtered]
    assert all(layer.name_overlay.visible for layer in filtered)
    assert grid.actual_shape(viewer.layers) == (1, 4)
    assert [grid.position(viewer.layers.index(layer), viewer.layers) for layer in filtered] == [
        (0, 0), (0, 1), (0, 2), (0, 3)
    ]
    assert widget.mode == "grid"
    widget._restore.clicked.emit()
    assert not grid.enabled and widget.mode is None
    assert points.visible and not hidden.visible
    assert not any(layer.name_overlay.visible for layer in filtered)
    assert camera.zoom == pytest.approx(3.0)
    np.testing.assert_allclose(camera.center[-2:], (50.0, 60.0))


def test_the_layers_selected_in_the_layer_list_are_compared(viewer, filtered):
    widget = dock(viewer)
    viewer.layers.selection = {filtered[1], filtered[2]}  # mean and median
    assert widget.chosen == filtered[1:3]
    widget.side_by_side()
    assert visible(viewer) == ["blobs mean", "blobs median"]
    assert tuple(viewer.canvas.grid.shape) == (1, 2)
    widget.restore()
    assert visible(viewer) == [layer.name for layer in filtered]


def test_an_explicit_choice_wins_and_one_layer_is_not_enough(viewer, filtered, monkeypatch):
    messages = []
    monkeypatch.setattr("napari_bioimg._widgets.compare.show_error", messages.append)
    widget = dock(viewer)
    widget.chosen = [filtered[0], filtered[3]]
    viewer.add_image(np.ones((4, 4)), name="late")  # does not change the choice
    widget.side_by_side()
    assert visible(viewer) == ["blobs", "blobs gaussian"]
    widget.restore()
    widget.chosen = [filtered[0]]
    widget.side_by_side()
    assert messages and "two or more" in messages[-1]
    assert not viewer.canvas.grid.enabled and widget.mode is None  # nothing changed


def test_the_curtain_shows_the_upper_layer_left_of_the_split(viewer, filtered, blobs):
    widget = dock(viewer)
    widget.chosen = [filtered[0], filtered[2]]  # blobs (lower), median (upper)
    widget.curtain()
    curtain = widget.curtain_layer
    assert curtain is not None and widget.mode == "curtain"
    assert visible(viewer) == ["blobs", curtain.name]
    width = blobs.shape[1]
    np.testing.assert_array_equal(curtain.data, filtered[2].data[:, : width // 2])
    np.testing.assert_allclose(curtain.contrast_limits, filtered[2].contrast_limits)
    widget.split = 0.25
    assert curtain.data.shape == (blobs.shape[0], width // 4)
    assert np.shares_memory(curtain.data, filtered[2].data)  # a view, not a copy
    widget.split = 0.0
    assert not curtain.visible
    widget.split = 1.0
    assert curtain.visible and curtain.data.shape == blobs.shape
    widget.side_by_side()  # switching mode removes the curtain first
    assert curtain not in viewer.layers
    widget.restore()
    assert visible(viewer) == [layer.name for layer in filtered]
    assert curtain.name not in [layer.name for layer in viewer.layers]


def test_curtain_on_a_stack_follows_the_plane(viewer, banana):
    stack = banana[:, ::4, ::4]
    lower = viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    upper = viewer.add_labels((stack > 1500).astype(np.uint8), scale=lower.scale, name="mask")
    widget = dock(viewer)
    widget.curtain()
    curtain = widget.curtain_layer
    assert type(curtain).__name__ == "Labels"
    np.testing.assert_array_equal(curtain.data, upper.data[:, :, : stack.shape[2] // 2])
    widget.restore()
    assert upper.visible and lower.visible


def test_closing_the_dock_restores(viewer, filtered):
    dock_widget, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Compare side by side")
    widget.side_by_side()
    assert viewer.canvas.grid.enabled
    viewer.window.remove_dock_widget(dock_widget)
    widget.native.deleteLater()
    from qtpy.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not viewer.canvas.grid.enabled
    assert visible(viewer) == [layer.name for layer in filtered]


def test_the_dock_close_button_ends_compare_mode(viewer, filtered, qtbot):
    """napari's close button takes the widget out of its dock without deleting it."""
    dock_widget, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Compare side by side")
    widget._layers.value = filtered[:2]
    widget.curtain()
    assert any(layer.name.endswith("(curtain)") for layer in viewer.layers)
    dock_widget.title.close_button.click()
    qtbot.waitUntil(lambda: not any(layer.name.endswith("(curtain)") for layer in viewer.layers))
    assert not viewer.canvas.grid.enabled
    assert visible(viewer) == [layer.name for layer in filtered]
    filtered[0].visible = False  # no longer followed: nothing changes back
    viewer.layers.remove(filtered[1])
    widget.native.deleteLater()
    from qtpy.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # no error either
    assert not filtered[0].visible


def test_a_curtain_of_labels_cannot_be_painted(viewer, blobs):
    """The curtain is a view of the user's labels: painting it would edit them."""
    image = viewer.add_image(blobs, name="blobs")
    mask = viewer.add_labels((blobs > 128).astype(np.uint8), name="mask")  # the upper one
    widget = dock(viewer)
    widget.chosen = [image, mask]
    widget.curtain()
    curtain = widget.curtain_layer
    assert np.shares_memory(curtain.data, mask.data) and not curtain.editable
    widget._split.value = 0.8
    assert not widget.curtain_layer.editable


def test_live_previews_are_not_compared_by_default(viewer, blobs):
    from napari_bioimg._widgets._layers import PREVIEW_KEY

    viewer.add_image(blobs, name="blobs")
    viewer.add_image(blobs[::-1], name="flipped")
    viewer.add_image(blobs, name="blobs gaussian", metadata={PREVIEW_KEY: True})
    widget = dock(viewer)
    assert [layer.name for layer in widget.chosen] == ["blobs", "flipped"]


@pytest.mark.parametrize("removed", ["upper", "lower", "curtain", "all"])
def test_removing_a_compared_layer_ends_the_curtain(viewer, qtbot, filtered, removed):
    """The upper layer deleted, its curtain copy stayed and followed the slider; deleting a
    selection holding the curtain (napari's Delete) must not fail either."""
    widget = dock(viewer)
    widget.chosen = [filtered[0], filtered[2]]  # blobs (lower), median (upper)
    widget.curtain()
    curtain = widget.curtain_layer
    if removed == "all":
        viewer.layers.selection = set(viewer.layers)
        viewer.layers.remove_selected()
        gone = set(filtered)
    else:
        gone = {{"upper": filtered[2], "lower": filtered[0], "curtain": curtain}[removed]}
        viewer.layers.remove(*gone)
    qtbot.waitUntil(lambda: widget.mode is None, timeout=5000)
    assert widget.curtain_layer is None and curtain not in viewer.layers
    others = [layer.name for layer in filtered if layer not in gone]
    assert visible(viewer) == others  # the rest shown again, as before comparing
    widget.split = 0.3  # nothing left to follow the slider


def test_the_curtain_cuts_across_the_columns_the_canvas_shows(viewer, filtered, blobs):
    """With the axes transposed the curtain still cut along data x (now the screen's rows)."""
    widget = dock(viewer)
    widget.chosen = [filtered[0], filtered[2]]
    viewer.dims.order = (1, 0)  # columns on screen: data rows (y)
    widget.curtain()
    widget.split = 0.25
    rows = blobs.shape[0]
    curtain = widget.curtain_layer
    np.testing.assert_array_equal(curtain.data, filtered[2].data[: math.ceil(rows / 4 - 0.5)])
    viewer.dims.order = (0, 1)  # back: columns are x again
    np.testing.assert_array_equal(
        curtain.data, filtered[2].data[:, : math.ceil(blobs.shape[1] / 4 - 0.5)]
    )


def test_the_curtain_of_a_turned_layer_lies_on_it_and_follows_its_display(viewer, blobs):
    """The curtain copy was drawn unrotated, and kept the display it started with."""
    lower = viewer.add_image(blobs, name="blobs", rotate=20, translate=(5, 7))
    upper = viewer.add_image(ops.median(blobs, radius=2), name="median", rotate=20,
                             translate=(5, 7))
    widget = dock(viewer)
    widget.chosen = [lower, upper]
    widget.curtain()
    curtain = widget.curtain_layer
    pixel = np.array([200.0, 100.0])
    np.testing.assert_allclose(curtain.data_to_world(pixel), upper.data_to_world(pixel))
    upper.contrast_limits = (0, 60)
    upper.colormap = "magma"
    upper.gamma = 0.7
    assert tuple(curtain.contrast_limits) == (0, 60) and curtain.colormap.name == "magma"
    assert curtain.gamma == 0.7
    widget.split = 0.3  # a new cut keeps them
    assert tuple(curtain.contrast_limits) == (0, 60)
    widget.restore()
    upper.contrast_limits = (0, 100)  # no longer followed: nothing to update, no error
    assert curtain not in viewer.layers


def test_removing_a_layer_shown_side_by_side_closes_its_column(viewer, filtered, qtbot):
    widget = dock(viewer)
    widget.chosen = filtered[:3]
    widget.side_by_side()
    assert tuple(viewer.canvas.grid.shape) == (1, 3)
    viewer.layers.remove(filtered[1])
    assert tuple(viewer.canvas.grid.shape) == (1, 2) and widget.mode == "grid"
    viewer.layers.remove(filtered[2])  # one left: nothing to compare, as before comparing
    qtbot.waitUntil(lambda: widget.mode is None, timeout=5000)
    assert not viewer.canvas.grid.enabled and visible(viewer) == ["blobs", "blobs gaussian"]


def test_the_curtain_over_a_live_preview_follows_its_slider(viewer, qtbot, blobs):
    """Blobs and its Gaussian preview under the curtain: tuning sigma changed nothing on
    screen (the preview, hidden, is updated in place) until the split moved."""
    source = viewer.add_image(blobs, name="blobs")
    _, gaussian = viewer.window.add_plugin_dock_widget(PLUGIN, "Gaussian")
    gaussian.input_layer = source
    gaussian.set_parameters(sigma=1.0)
    qtbot.waitUntil(lambda: not gaussian.busy, timeout=20000)
    widget = dock(viewer)
    widget.chosen = [source, gaussian.preview_layer]
    widget.curtain()
    widget.split = 0.5
    columns = widget.curtain_columns()
    assert 0 < columns < blobs.shape[1]
    gaussian.set_parameters(sigma=8.0)
    qtbot.waitUntil(lambda: not gaussian.busy, timeout=20000)
    expected = ops.gaussian(blobs, sigma=8.0)[:, :columns]
    np.testing.assert_allclose(widget.curtain_layer.data, expected, rtol=1e-5)
    # a preview of the same shape is copied in place (no napari data event): the curtain
    # (a view of it) must still be redrawn
    redrawn = []
    widget.curtain_layer.events.data.connect(redrawn.append)  # (each redraw sets its data)
    gaussian.set_parameters(sigma=3.0)
    qtbot.waitUntil(lambda: not gaussian.busy, timeout=20000)
    assert redrawn
    np.testing.assert_allclose(
        widget.curtain_layer.data, ops.gaussian(blobs, sigma=3.0)[:, :columns], rtol=1e-5
    )
    widget.restore()
    gaussian.set_parameters(sigma=2.0)  # (no curtain: nothing follows the preview)
    qtbot.waitUntil(lambda: not gaussian.busy, timeout=20000)


def test_the_curtain_lies_where_its_layer_lies_when_that_moves(viewer, qtbot):
    """The curtain kept the place its layer had when it was drawn: over the live preview
    of a stack it stayed at the old plane when the z slider moved (nothing shown), and it
    stayed put when the layer was given a voxel size."""
    stack = np.random.default_rng(8).random((6, 30, 40)).astype(np.float32)
    source = viewer.add_image(stack, name="stack")
    viewer.dims.set_current_step(0, 2)
    _, gaussian = viewer.window.add_plugin_dock_widget(PLUGIN, "Gaussian")
    gaussian.input_layer = source
    qtbot.waitUntil(lambda: not gaussian.busy, timeout=20000)
    preview = gaussian.preview_layer
    widget = dock(viewer)
    widget.chosen = [source, preview]
    widget.curtain()
    curtain = widget.curtain_layer
    np.testing.assert_array_equal(curtain.translate, preview.translate)
    viewer.dims.set_current_step(0, 4)  # the preview moves to plane 4
    qtbot.waitUntil(lambda: not gaussian.busy, timeout=20000)
    assert preview.translate[0] == 4.0
    np.testing.assert_array_equal(curtain.translate, preview.translate)
    columns = widget.curtain_columns()
    np.testing.assert_array_equal(curtain.data, preview.data[..., :columns])
    widget.restore()

    blobs = viewer.add_image(stack[0], name="plane")
    other = viewer.add_image(stack[1], name="other")
    widget.chosen = [blobs, other]
    widget.curtain()
    other.scale, other.translate = (0.5, 0.5), (3.0, 4.0)  # (a voxel size set later)
    curtain = widget.curtain_layer
    np.testing.assert_array_equal(curtain.scale, other.scale)
    np.testing.assert_array_equal(curtain.translate, other.translate)
    left = curtain.data_to_world((0, -0.5))[1]
    assert left == pytest.approx(other.data_to_world((0, -0.5))[1])


def test_a_layer_added_side_by_side_gets_its_own_column(viewer, blobs):
    """A preview added while comparing was drawn over the first column (review 70)."""
    first = viewer.add_image(blobs, name="blobs")
    second = viewer.add_image(blobs[::-1].copy(), name="flipped")
    widget = dock(viewer)
    widget.side_by_side()
    assert tuple(viewer.canvas.grid.shape) == (1, 2)
    added = viewer.add_image(blobs.T.copy(), name="new")
    assert tuple(viewer.canvas.grid.shape) == (1, 3)
    assert added.name_overlay.visible
    positions = {viewer.canvas.grid.position(i, viewer.layers) for i in range(3)}
    assert len(positions) == 3  # three columns, none shared
    assert "new" in widget._status.value
    widget.restore()
    assert not viewer.canvas.grid.enabled
    assert not added.name_overlay.visible and added.visible
    assert first.visible and second.visible


def test_long_names_and_messages_leave_the_dock_narrow_and_its_list_still(make_napari_viewer):
    """The message naming the layers widened the dock to 600 px (magicgui's Label is
    Fixed), and the list took whatever height the message left (630, 580, 630 px)."""
    viewer = make_napari_viewer(show=True)
    for channel in range(3):
        viewer.add_image(np.zeros((8, 8)), name=f"{LONG_NAME}{channel}")
    dock_widget, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Compare side by side")
    listed, status = widget._layers.native, widget._status.native
    settled_widths(dock_widget)
    height = listed.height()
    assert height <= listed.sizeHint().height()  # as tall as it asks (a tall dock: 630 px)
    widget.side_by_side()
    assert LONG_NAME in widget._status.value
    assert max(settled_widths(dock_widget)) <= 360
    assert status.width() <= widget.contents.width()  # the message wraps at the dock's width
    assert listed.height() == height
    # names elided in the middle, whole as tooltips, rather than scrolled sideways
    assert not listed.horizontalScrollBar().isVisible()
    row = listed.visualItemRect(listed.item(0)).center()
    assert tooltip_of(listed.viewport(), row.x(), row.y()) == f"{LONG_NAME}0"
    widget.restore()
    settled_widths(dock_widget)
    assert listed.height() == height
