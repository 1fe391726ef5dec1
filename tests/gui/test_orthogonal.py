"""The orthogonal views dock in a real napari viewer (Xvfb), checked through its model."""

from types import SimpleNamespace

import numpy as np
import pytest
from napari.layers import Vectors
from napari.utils.interactions import (
    mouse_move_callbacks,
    mouse_press_callbacks,
    mouse_release_callbacks,
)

from napari_bioimg._widgets.orthogonal import CROSSHAIR_KEY, OrthogonalViews

PLUGIN = "napari-bioimg"
BANANA_SCALE = (8.8, 0.390625, 0.390625)


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Orthogonal views")
    return widget


@pytest.fixture
def stack(banana):
    return banana[:, ::4, ::4]  # 25 x 96 x 96, pixels 1.5625 mm


def test_banana_views_have_the_physical_aspect(viewer, banana):
    layer = viewer.add_image(banana, scale=BANANA_SCALE, name="banana")
    widget = dock(viewer)
    assert isinstance(widget, OrthogonalViews)
    assert widget.shown_layers() == [layer]
    assert widget.aspect("xz") == pytest.approx(8.8 / 0.390625)  # ~22.5 : 1
    assert widget.aspect("yz") == pytest.approx(0.390625 / 8.8)
    assert widget.aspect("xy") == pytest.approx(1.0)
    assert widget.view_extent("xz") == pytest.approx((25 * 8.8, 384 * 0.390625))
    assert widget.view_extent("yz") == pytest.approx((384 * 0.390625, 25 * 8.8))
    xz, yz = widget.view_model("xz"), widget.view_model("yz")
    assert tuple(xz.dims.displayed) == (0, 2)  # z rows, x columns
    assert tuple(yz.dims.order[-2:]) == (1, 0)  # y rows, z columns
    copy = xz.layers["banana"]
    np.testing.assert_allclose(copy.scale, BANANA_SCALE)
    assert copy.data is layer.data  # shared, not copied


def test_without_scale_the_views_are_squashed(viewer, banana):
    viewer.add_image(banana, name="banana")
    widget = dock(viewer)
    assert widget.aspect("xz") == pytest.approx(1.0)
    assert widget.view_extent("xz") == pytest.approx((25, 384))


def test_a_voxel_size_set_later_reslices_and_refits_the_views(viewer, banana):
    """The README's banana, squashed without its voxel size and round with it: given its
    slice distance after the dock opened, the XZ view went empty (its point in the old
    coordinates) and kept the framing of the old size."""
    layer = viewer.add_image(banana, name="banana")
    widget = dock(viewer)
    xz = widget.view_model("xz")
    camera = xz.scene.camera
    center_before, zoom_before = tuple(camera.center), camera.zoom
    _, voxel = viewer.window.add_plugin_dock_widget("napari-bioimg", "Voxel size")
    viewer.layers.selection = {layer}
    assert voxel.apply(BANANA_SCALE, "mm")
    copy = xz.layers["banana"]
    shown = np.asarray(copy._slice.image.raw)
    assert shown.shape == (25, 384) and shown.max() > 0  # the plane through the point
    assert widget.point("xz")[1] == pytest.approx(viewer.dims.point[1], abs=BANANA_SCALE[1])
    assert (tuple(camera.center), camera.zoom) != (center_before, zoom_before)
    assert widget.view_extent("xz") == pytest.approx((25 * 8.8, 384 * 0.390625))


def test_a_zoom_in_a_view_stays_while_a_preview_moves_or_the_box_stays(viewer, qtbot, stack):
    """Every translate or scale event (a crop preview's, or a voxel size set to the same
    box) refitted the views: the user's zoom in XZ was lost."""
    layer = viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    camera = widget.view_model("xz").scene.camera
    camera.zoom = 50.0
    _, crop = viewer.window.add_plugin_dock_widget("napari-bioimg", "Crop")
    crop.input_layer = layer
    for start in ([0, 0, 5], [0, 0, 10], [0, 3, 10]):  # the preview moves each time
        crop.set_parameters(start=start)
        qtbot.waitUntil(lambda: not crop.busy, timeout=20000)
    assert camera.zoom == 50.0
    layer.translate = (0.0, 0.0, 0.0)  # (an event, the same box)
    assert camera.zoom == 50.0
    layer.scale = (4.4, 1.5625, 1.5625)  # a new box: fitted again
    assert camera.zoom != 50.0


def test_the_main_slider_moves_the_other_views(viewer, stack):
    viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    viewer.dims.set_current_step(0, 7)
    viewer.dims.set_point(1, 30.0)  # y: the plane XZ shows
    viewer.dims.set_point(2, 50.0)  # x: the plane YZ shows
    # each view shows the plane through the point (its slider snaps to whole planes)
    assert widget.view_model("xz").dims.current_step[1] == round(30.0 / 1.5625)
    assert widget.view_model("yz").dims.current_step[2] == round(50.0 / 1.5625)
    assert widget.point("xz")[1] == pytest.approx(30.0, abs=1.5625 / 2)
    assert widget.point("yz")[2] == pytest.approx(50.0, abs=1.5625 / 2)
    lines = widget.crosshair_lines("xz")  # along x at z = 7 * 8.8, along z at x = 50
    assert lines[0, :, 0] == pytest.approx([7 * 8.8, 7 * 8.8])
    assert lines[1, :, 2] == pytest.approx([50.0, 50.0])
    assert np.all(lines[:, :, 1] == pytest.approx(viewer.dims.point[1]))  # in the plane shown
    start, direction = np.moveaxis(np.asarray(widget.crosshair_layer("xz").data), 1, 0)
    unit = widget.crosshair_layer("xz").scale
    np.testing.assert_allclose(np.stack([start, start + direction], axis=1) * unit, lines)


def test_a_view_slider_moves_the_main_position(viewer, stack):
    viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    widget.view_model("xz").dims.set_point(1, 40.0)  # the XZ view's own slider (y)
    assert viewer.dims.point[1] == pytest.approx(40.0, abs=1.5625 / 2)
    widget.view_model("yz").dims.set_point(2, 20.0)
    assert viewer.dims.point[2] == pytest.approx(20.0, abs=1.5625 / 2)
    widget.view_model("yz").dims.set_current_step(2, 40)
    assert viewer.dims.current_step[2] == 40


@pytest.mark.parametrize(
    ("name", "moved", "kept"), [("xz", (0, 2), 1), ("yz", (0, 1), 2), ("xy", (1, 2), 0)]
)
def test_a_click_moves_the_shared_position(viewer, stack, name, moved, kept):
    viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    before = viewer.dims.point
    click = (100.0, 60.0, 20.0)
    assert widget.position_from_click(name, click)[kept] == before[kept]
    widget.click(name, click)
    steps = (8.8, 1.5625, 1.5625)  # sliders snap the point to whole planes
    for axis in moved:
        assert viewer.dims.point[axis] == pytest.approx(click[axis], abs=steps[axis] / 2)
    assert viewer.dims.point[kept] == pytest.approx(before[kept], abs=steps[kept] / 2)
    if name != "xy":  # the main viewer shows the clicked slice
        assert viewer.dims.current_step[0] == round(100.0 / 8.8)
    for other, sliced in (("xz", 1), ("yz", 2)):  # each view shows the plane through it
        model = widget.view_model(other)
        assert model.dims.current_step[sliced] == viewer.dims.current_step[sliced]


def test_a_click_in_naparis_canvas_with_rolled_axes_sets_the_axes_it_shows(viewer, stack):
    """The canvas showing (x, z) after rolling the dims: a click moved x only."""
    viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    viewer.dims.order = (1, 2, 0)  # rows x, columns z; y sliced
    before = viewer.dims.point
    widget.click("xy", (150.0, 60.0, 20.0))
    assert viewer.dims.point[0] == pytest.approx(150.0, abs=4.4)  # z moved too
    assert viewer.dims.point[2] == pytest.approx(20.0, abs=0.8)
    assert viewer.dims.point[1] == pytest.approx(before[1])  # y (sliced) kept


def test_the_main_crosshair_hides_while_naparis_canvas_does_not_show_y_and_x(viewer, stack):
    """Rolled to z against x, the main crosshair (drawn in y and x) lay on the wrong axes:
    its line along x sat at the y value (review 80). In 3D display too."""
    viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    main = widget.crosshair_layer("xy")
    assert main is not None and main.visible and widget.main_shows_yx()
    viewer.dims.order = (1, 0, 2)  # rows z, columns x; y sliced
    assert not widget.main_shows_yx() and not main.visible
    viewer.dims.set_point(0, 100.0)  # moving on keeps it hidden, the side views drawn
    assert not widget.crosshair_layer("xy").visible
    assert widget.crosshair_layer("xz").visible and widget.crosshair_layer("yz").visible
    viewer.dims.order = (0, 1, 2)
    assert widget.crosshair_layer("xy").visible
    viewer.dims.ndisplay = 3
    assert not widget.crosshair_layer("xy").visible
    viewer.dims.ndisplay = 2
    assert widget.crosshair_layer("xy").visible


def _event(kind, position, pos):
    return SimpleNamespace(
        type=kind,
        position=position,
        pos=np.asarray(pos, float),
        button=1,
        modifiers=(),
        handled=False,
        dims_displayed=(0, 2),
        view_direction=None,
        is_dragging=True,
    )


def test_a_click_through_napari_mouse_callbacks(viewer, stack):
    viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    model = widget.view_model("xz")
    event = _event("mouse_press", (88.0, 10.0, 33.0), (50, 60))
    mouse_press_callbacks(model, event)
    event.type = "mouse_release"
    mouse_release_callbacks(model, event)
    assert viewer.dims.current_step[0] == round(88.0 / 8.8)
    assert viewer.dims.point[2] == pytest.approx(33.0, abs=1.5625 / 2)
    # a drag pans the view and leaves the position alone
    event = _event("mouse_press", (20.0, 10.0, 10.0), (50, 60))
    mouse_press_callbacks(model, event)
    event.type, event.pos = "mouse_move", np.array([90.0, 60.0])
    mouse_move_callbacks(model, event)
    event.type = "mouse_release"
    mouse_release_callbacks(model, event)
    assert viewer.dims.current_step[0] == round(88.0 / 8.8)


def test_labels_and_results_overlay_the_selected_image(viewer, stack):
    image = viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    labels = viewer.add_labels(
        (stack > 300).astype(np.uint8), scale=(8.8, 1.5625, 1.5625), name="mask"
    )
    result = viewer.add_image(stack * 2, scale=(8.8, 1.5625, 1.5625), name="banana gaussian")
    far = viewer.add_labels(np.zeros((3, 5, 5), np.uint8), translate=(1e4, 1e4, 1e4), name="far")
    other = viewer.add_image(stack, translate=(5e3, 5e3, 5e3), name="other")  # elsewhere
    viewer.add_image(stack[0], name="flat")  # 2D: no orthogonal view
    viewer.layers.selection = {image}
    widget = dock(viewer)
    assert widget.shown_layers() == [image, labels, result]
    assert far not in widget.shown_layers() and other not in widget.shown_layers()
    copies = widget.view_model("yz").layers
    assert [la.name for la in copies if not la.metadata.get(CROSSHAIR_KEY)] == [
        "banana",
        "mask",
        "banana gaussian",
    ]
    labels.opacity = 0.3  # looks follow the original
    image.colormap = "magma"
    assert widget.view_model("xz").layers["mask"].opacity == pytest.approx(0.3)
    assert widget.view_model("yz").layers["banana"].colormap.name == "magma"
    labels.data = np.ones_like(labels.data)  # so does new data
    assert widget.view_model("xz").layers["mask"].data is labels.data
    viewer.layers.selection = {labels}  # selecting only labels keeps the image
    assert image in widget.shown_layers()
    viewer.layers.selection = {other}
    assert widget.shown_layers() == [other]


def test_crosshair_toggle_and_the_users_selection(viewer, stack):
    image = viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    main_crosshair = widget.crosshair_layer("xy")
    assert isinstance(main_crosshair, Vectors) and main_crosshair in viewer.layers
    assert main_crosshair.ndim == 2  # shown on every slice, z slider untouched
    assert viewer.dims.range[0].step == pytest.approx(8.8)
    assert viewer.layers.selection.active is image
    assert all(widget.crosshair_layer(name) is not None for name in ("xz", "yz"))
    widget.crosshair = False
    assert main_crosshair not in viewer.layers
    assert all(widget.crosshair_layer(name) is None for name in ("xy", "xz", "yz"))
    widget.crosshair = True
    assert widget.crosshair_layer("xy") in viewer.layers
    viewer.layers.remove(widget.crosshair_layer("xy"))  # the user deletes it: it stays gone
    assert not [la for la in viewer.layers if la.metadata.get(CROSSHAIR_KEY)]


def test_the_crosshair_is_redrawn_for_a_new_voxel_size_and_a_new_stack(viewer, stack):
    def main_crosshairs():
        return [la for la in viewer.layers if la.metadata.get(CROSSHAIR_KEY)]

    image = viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    assert len(main_crosshairs()) == 1
    image.scale = (0.5, 1.5625, 1.5625)  # the smallest spacing changes: lines rescaled
    assert len(main_crosshairs()) == 1 and widget.crosshair
    assert main_crosshairs()[0].scale[-1] == pytest.approx(0.5)
    viewer.layers.remove(image)  # nothing shown: put away, not deleted by the user
    assert main_crosshairs() == []
    viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="again")
    assert len(main_crosshairs()) == 1
    assert widget.crosshair_layer("xy") is main_crosshairs()[0]


def test_the_crosshair_is_drawn_in_world_units_beside_a_layer_in_another_unit(viewer, stack):
    """A mm stack shown beside its µm copy (a replay of a voxel size set in µm): napari's
    world is in µm, and the crosshair was drawn 1000 times too far, labelled mm."""
    image = viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), units="mm",
                             translate=(0.0, 50.0, 50.0), name="banana")
    viewer.add_image(stack, scale=(8800.0, 1562.5, 1562.5), units="µm",
                     translate=(0.0, 50000.0, 50000.0), name="banana in µm")
    viewer.layers.selection = {image}
    widget = dock(viewer)
    crosshair = widget.crosshair_layer("xy")
    assert [format(u, "~") for u in crosshair.units] == ["µm", "µm"]
    lines = viewer.layers.get_extent([crosshair]).world  # (in the crosshair's µm)
    box = viewer.layers.get_extent([image]).world[:, 1:] * 1000  # (in the image's mm)
    np.testing.assert_allclose(lines, box, rtol=0.01)
    assert widget.crosshair_layer("xz").units == viewer.layers.units


def test_leading_axes_stay_when_clicking(viewer):
    data = np.zeros((3, 6, 20, 30), np.uint8)
    viewer.add_image(data, scale=(1.0, 4.0, 1.0, 1.0), name="tzyx")
    widget = dock(viewer)
    viewer.dims.set_current_step(0, 2)
    y = viewer.dims.current_step[2]
    widget.click("xz", (0.0, 8.0, 3.0, 12.0))  # t ignored, z = 8 / 4, y kept, x = 12
    assert viewer.dims.current_step == (2, 2, y, 12)
    assert widget.view_model("xz").dims.order[-3:] == (2, 1, 3)


def test_removing_the_layer_empties_the_views(viewer, stack):
    layer = viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    viewer.layers.remove(layer)
    assert widget.shown_layers() == []
    assert len(widget.view_model("xz").layers) == 0
    assert not [la for la in viewer.layers if la.metadata.get(CROSSHAIR_KEY)]


def test_closing_the_dock_disconnects_everything(viewer, stack):
    viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    ours = [callback for _, callback in widget._state.connections]
    layer_ours = [
        callback for pairs in widget._state.layer_connections.values() for _, callback in pairs
    ]
    assert layer_ours
    assert any(cb in viewer.dims.events.point.callbacks for cb in ours)
    drag_callbacks = list(viewer.mouse_drag_callbacks)
    xz = widget.view_model("xz")
    viewer.window.remove_dock_widget(widget)
    assert widget.closed
    emitters = [
        viewer.dims.events.point,
        viewer.dims.events.order,
        viewer.dims.events.ndisplay,
        viewer.layers.events.inserted,
        viewer.layers.events.removed,
        viewer.layers.selection.events.changed,
        viewer.scene.camera.events.zoom,
        xz.scene.camera.events.zoom,
        xz.canvas.events.size,
    ]
    for emitter in emitters:
        assert not any(cb in emitter.callbacks for cb in ours)
    layer = viewer.layers["banana"]
    for name in ("opacity", "data", "contrast_limits"):
        assert not any(cb in getattr(layer.events, name).callbacks for cb in layer_ours)
    assert len(viewer.mouse_drag_callbacks) == len(drag_callbacks) - 1
    assert not [la for la in viewer.layers if la.metadata.get(CROSSHAIR_KEY)]
    viewer.dims.set_current_step(0, 3)  # nothing reaches the dock
    viewer.dims.set_point(1, 12.0)
    assert len(xz.layers) == 0
    before = viewer.dims.point
    widget.click("xz", (10.0, 10.0, 10.0))  # a late call does nothing either
    assert viewer.dims.point == before


def test_the_dock_does_not_float(viewer, qtbot, stack):
    # floating moves the views' OpenGL canvases to a new window, which aborts napari
    # unless it was started with shared OpenGL contexts
    from qtpy.QtWidgets import QDockWidget

    viewer.add_image(stack, name="banana")
    widget = dock(viewer)
    dock_widget = widget.dock_widget()
    floatable = QDockWidget.DockWidgetFeature.DockWidgetFloatable
    qtbot.waitUntil(lambda: not dock_widget.features() & floatable, timeout=5000)
    button = getattr(dock_widget.titleBarWidget(), "float_button", None)
    assert button is None or button.isHidden()


def test_an_rgb_stack_is_shown_in_every_view(viewer):
    """RGB z-stacks (z, y, x, colours) were not offered: XZ and YZ stayed empty."""
    rgb = np.random.default_rng(0).integers(0, 255, (10, 64, 80, 3), dtype=np.uint8)
    layer = viewer.add_image(rgb, rgb=True, name="rgb stack", scale=(2.0, 0.5, 0.5))
    gray = viewer.add_image(rgb[..., 1], name="gray", scale=(2.0, 0.5, 0.5))
    viewer.layers.selection.active = layer
    widget = dock(viewer)
    assert widget.shown_layers() == [layer]
    assert widget.aspect("xz") == pytest.approx(4.0)
    viewer.dims.point = (7 * 2.0, 20 * 0.5, 33 * 0.5)
    xz, yz = widget.view_model("xz").layers["rgb stack"], widget.view_model("yz").layers[
        "rgb stack"
    ]
    assert xz.rgb and yz.rgb
    np.testing.assert_array_equal(np.asarray(xz._slice.image.raw), rgb[:, 20, :, :])  # z, x
    np.testing.assert_array_equal(  # rows y, columns z
        np.asarray(yz._slice.image.raw), rgb[:, :, 33, :].transpose(1, 0, 2)
    )
    viewer.layers.selection.active = gray
    assert widget.shown_layers() == [gray]


def test_without_a_stack_the_dock_says_so(viewer, blobs):
    """A time-lapse is no z-stack: its "XZ view" was x against t, aspect 120 (s / µm)."""
    viewer.add_image(blobs, name="blobs")
    movie = viewer.add_image(np.stack([blobs] * 4), name="movie", scale=(60.0, 0.5, 0.5),
                             axis_labels=("t", "y", "x"))
    viewer.layers.selection.active = movie
    widget = dock(viewer)
    assert widget.shown_layers() == []
    assert widget._info.text().startswith("(no 3D image")


def test_naming_the_axis_before_y_in_the_voxel_size_dock_updates_the_views(viewer, blobs):
    """The views kept showing a stack named t (the README: open widgets follow)."""
    stack = viewer.add_image(np.stack([blobs] * 4), name="stack", scale=(2.0, 0.5, 0.5))
    widget = dock(viewer)
    assert widget.shown_layers() == [stack] and widget._info.text() == "stack"
    _, voxel = viewer.window.add_plugin_dock_widget("napari-bioimg", "Voxel size")
    viewer.layers.selection = {stack}
    assert voxel.set_axis_role("t") == [stack]
    assert widget.shown_layers() == [] and widget._info.text().startswith("(no 3D image")
    assert len(widget.view_model("xz").layers) == 0  # no copy left
    assert voxel.set_axis_role("z") == [stack]
    assert widget.shown_layers() == [stack] and widget._info.text() == "stack"


def test_script_ending_without_closing_the_viewer_exits_cleanly():
    """Python's exit deletes the dock through Qt (``destroyed``) with the views'
    dims sliders half gone: clearing their layers then raised in a Qt slot,
    which aborted the interpreter (exit code 134, a traceback)."""
    import subprocess
    import sys
    import textwrap

    code = """
        import napari, numpy as np
        from qtpy.QtWidgets import QApplication
        from napari_bioimg._widgets.orthogonal import OrthogonalViews
        viewer = napari.Viewer(show=False)
        viewer.add_image(np.zeros((10, 32, 32)), scale=(4, 1, 1))
        viewer.window.add_dock_widget(OrthogonalViews(viewer))
        QApplication.instance().processEvents()
        print("end of script")
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        timeout=120,
    )
    assert result.stdout.strip().endswith("end of script")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]


def test_labels_in_another_unit_are_shown_where_they_overlap_the_stack(viewer, stack):
    """Extents were compared in each layer's own numbers: labels in mm 2 mm along x
    from the origin, over a µm stack reaching from 1900 to 2600 µm, were left out (and
    labels 2 m away, whose numbers fall within the stack's, were shown)."""
    image = viewer.add_image(stack[:, :8, :8], scale=(8800.0, 100.0, 100.0), units="µm",
                             translate=(0.0, 1900.0, 1900.0), name="stack")
    mask = np.ones((25, 4, 4), np.uint8)
    near = viewer.add_labels(mask, scale=(8.8, 0.1, 0.1), units="mm",
                             translate=(0.0, 2.0, 2.0), name="cells")
    far = viewer.add_labels(mask, scale=(8.8, 0.1, 0.1), units="mm",
                            translate=(0.0, 2000.0, 2000.0), name="elsewhere")
    viewer.layers.selection = {image}
    shown = dock(viewer).shown_layers()
    assert image in shown and near in shown
    assert far not in shown


def test_undoing_a_paint_stroke_redraws_the_side_views(viewer):
    """Undo and redo only refresh the labels layer (napari's set_data): XZ and YZ kept
    the painted pixels until the point moved."""
    image = viewer.add_image(np.zeros((6, 20, 30), np.uint8), name="stack")
    labels = viewer.add_labels(np.zeros((6, 20, 30), np.uint8), name="cells")
    viewer.layers.selection = {image}
    widget = dock(viewer)
    assert labels in widget.shown_layers()
    viewer.dims.point = (3.0, 10.0, 15.0)
    xz = widget.view_model("xz").layers["cells"]
    redrawn = []  # (its slice is a view of the shared data: the texture is what goes stale)
    xz.events.set_data.connect(redrawn.append)

    def shown():
        return np.asarray(xz._slice.image.raw)  # z, x at y = 10

    labels.paint((3, 10, 15), 5, refresh=True)
    assert shown()[3, 15] == 5 and redrawn
    redrawn.clear()
    labels.undo()
    assert shown()[3, 15] == 0 and redrawn
    redrawn.clear()
    labels.redo()
    assert shown()[3, 15] == 5 and redrawn
    redrawn.clear()
    viewer.dims.set_point(0, 4.0)  # a new plane in the main view: XZ has nothing to redraw
    assert not redrawn


def test_undo_after_moving_an_axis_the_labels_lack_redraws_the_side_views(viewer):
    """3D labels over a (t, z, y, x) movie: the time slider moved (the labels are not
    sliced anew), and the next undo was taken for a new slice: XZ kept the paint."""
    movie = viewer.add_image(np.zeros((3, 6, 20, 30), np.uint8), name="movie",
                             axis_labels=("t", "z", "y", "x"))
    labels = viewer.add_labels(np.zeros((6, 20, 30), np.uint8), name="cells")
    viewer.layers.selection = {movie}
    widget = dock(viewer)
    assert labels in widget.shown_layers()
    viewer.dims.point = (0.0, 3.0, 10.0, 15.0)
    xz = widget.view_model("xz").layers["cells"]
    redrawn = []
    xz.events.set_data.connect(redrawn.append)
    labels.paint((3, 10, 15), 5, refresh=True)
    viewer.dims.set_point(0, 2.0)  # another time point
    redrawn.clear()
    labels.undo()
    assert redrawn and np.asarray(xz._slice.image.raw)[3, 15] == 0


def test_a_stack_opened_after_the_dock_keeps_the_layer_list_whole(viewer, qtbot, stack):
    """The crosshair was added from inside napari's insertion: the layer list showed
    an empty extra row (and napari's delegate raised; review 70)."""
    widget = dock(viewer)
    image = viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    qtbot.waitUntil(lambda: widget.crosshair_layer("xy") in viewer.layers, timeout=5000)
    model = viewer.window._qt_viewer.layers.model()
    assert model.rowCount() == len(viewer.layers) == 2
    rows = [model.index(row, 0).data() for row in range(model.rowCount())]
    assert sorted(rows) == ["banana", "crosshair"]
    assert viewer.layers.selection.active is image
    # a layer added later goes under the crosshair, which stays on top
    viewer.add_image(stack[:, ::2, ::2], scale=(8.8, 3.125, 3.125), name="coarse")
    qtbot.waitUntil(lambda: viewer.layers[-1] is widget.crosshair_layer("xy"), timeout=5000)
    assert [layer.name for layer in viewer.layers] == ["banana", "coarse", "crosshair"]


def test_the_dock_asks_for_at_most_two_fifths_of_the_window(make_napari_viewer, qtbot, stack):
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1400, 900)
    viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    assert widget.sizeHint().width() <= 0.4 * window.width() + 1
    canvas = viewer.window._qt_viewer.canvas.native
    # the main view is fitted to its narrower canvas: the whole stack's width is seen
    # (waited for: on a loaded machine the layout and the fit come later than 300 ms)
    width = stack.shape[-1] * 1.5625
    qtbot.waitUntil(lambda: viewer.scene.camera.zoom * width <= canvas.width() + 1,
                    timeout=5000)
    assert canvas.width() >= 0.35 * window.width()  # (was 250 of 1400 px)


def _framed(widget, name):
    """(seen whole, filling the pane): the stack in view ``name`` against its canvas."""
    model = widget.view_model(name)
    shown = np.asarray(widget.view_extent(name)) * model.scene.camera.zoom  # screen pixels
    canvas = np.asarray(model.canvas.size)  # (height, width)
    return bool(np.all(shown <= canvas + 1)), bool(np.max(shown / canvas) > 0.9)


def test_the_views_are_refitted_when_their_pane_is_resized(make_napari_viewer, qtbot, stack):
    """Fitted on show only: the dock narrowed later (napari's resizeDocks, a dragged
    edge) cut the YZ stack off, and widened again left it small in the middle."""
    from qtpy.QtCore import Qt

    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1400, 900)
    viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)
    yz = widget.view_model("yz")
    qtbot.wait(300)
    assert _framed(widget, "yz") == (True, True)
    for width in (300, 560):  # narrower, then wider again
        before = yz.canvas.size
        window.resizeDocks([widget.dock_widget()], [width], Qt.Orientation.Horizontal)
        qtbot.waitUntil(lambda before=before: yz.canvas.size != before, timeout=5000)
        assert _framed(widget, "yz") == (True, True), width
    # zoomed or panned by hand: kept as the user left it
    yz.scene.camera.zoom = 4.0
    xz = widget.view_model("xz")
    xz.scene.camera.center = tuple(np.asarray(xz.scene.camera.center) + (0.0, 20.0, 20.0))
    xz_center = xz.scene.camera.center
    before = yz.canvas.size
    window.resizeDocks([widget.dock_widget()], [320], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: yz.canvas.size != before, timeout=5000)
    assert yz.scene.camera.zoom == pytest.approx(4.0)
    assert xz.scene.camera.center == pytest.approx(xz_center)


def test_the_crosshair_is_two_screen_pixels_thick_at_any_zoom(viewer, stack):
    """Its width was in world units: under a pixel (gone) zoomed out, fat zoomed in."""
    viewer.add_image(stack, scale=(8.8, 1.5625, 1.5625), name="banana")
    widget = dock(viewer)

    def pixels(name):
        layer = widget.crosshair_layer(name)
        zoom = widget.view_model(name).scene.camera.zoom
        return layer.edge_width * layer.scale[-1] * zoom

    for name in ("xy", "xz", "yz"):
        camera = widget.view_model(name).scene.camera
        for zoom in (0.05, 20.0):
            camera.zoom = zoom
            assert pixels(name) == pytest.approx(2.0), (name, zoom)
