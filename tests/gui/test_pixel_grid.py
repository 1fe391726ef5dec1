"""The pixel-values dock: the numbers around the cursor are the layer's data."""

import numpy as np
import pytest

from napari_bioimg._widgets.pixel_grid import PixelGrid, format_value, window_at

PLUGIN = "napari-bioimg"


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Pixel values")
    assert isinstance(widget, PixelGrid)
    return widget


def test_values_around_the_cursor_in_2d(viewer, blobs):
    layer = viewer.add_image(blobs, name="blobs")
    grid = dock(viewer)
    assert grid.layer is layer
    viewer.cursor.position = (40.2, 100.7)  # pixel (40, 101)
    values, (row0, col0) = grid.values_at(viewer.cursor.position)
    assert (row0, col0) == (35, 96)
    np.testing.assert_array_equal(values, blobs[35:46, 96:107])
    np.testing.assert_array_equal(grid.shown_values, blobs[35:46, 96:107])
    assert grid.cell_text(5, 5) == str(blobs[40, 101])  # the centre cell
    assert grid.cell_text(0, 10) == str(blobs[35, 106])


def test_the_window_is_cut_at_the_border_and_resizes(viewer, blobs):
    viewer.add_image(blobs, name="blobs")
    grid = dock(viewer)
    grid.window_size = 5
    viewer.cursor.position = (1.0, 255.0)
    np.testing.assert_array_equal(grid.shown_values, blobs[0:4, 253:256])
    assert grid.cell_text(0, 0) == ""  # row -1 is outside
    assert grid.cell_text(2, 2) == str(blobs[1, 255])
    viewer.cursor.position = (-50.0, -50.0)
    assert grid.shown_values.size == 0


def test_a_plane_of_a_scaled_stack_follows_the_dims_slider(viewer, qtbot, banana):
    stack = banana[:, ::4, ::4]
    scale = (8.8, 1.5625, 1.5625)
    layer = viewer.add_image(stack, scale=scale, units=("mm", "mm", "mm"), name="banana")
    grid = dock(viewer)
    viewer.dims.set_current_step(0, 7)
    y, x = 30, 50
    viewer.cursor.position = (7 * 8.8, y * scale[1], x * scale[2])
    values, origin = grid.values_at(grid.cursor_world_position())
    assert origin == (y - 5, x - 5)
    np.testing.assert_array_equal(values, stack[7, y - 5 : y + 6, x - 5 : x + 6])
    np.testing.assert_array_equal(grid.shown_values, stack[7, y - 5 : y + 6, x - 5 : x + 6])
    assert "mm" in grid._position.text() and "61.6" in grid._position.text()
    viewer.dims.set_current_step(0, 12)  # the cursor stays, the plane changes
    np.testing.assert_array_equal(grid.shown_values, stack[12, y - 5 : y + 6, x - 5 : x + 6])
    assert layer is grid.layer


def test_a_layer_half_a_plane_off_shows_the_plane_napari_shows(viewer, banana):
    """The review's subsampled stack: at a world z half-way between two of its planes the
    dock showed plane k + 1 (floor(p + 0.5)) where the canvas shows k (napari's np.round)."""
    stack = banana[::2, ::8, ::8]
    layer = viewer.add_image(stack, scale=(2.0, 1.0, 1.0), name="every other plane")
    viewer.add_image(banana[:, ::8, ::8], name="all planes")  # z steps of 1
    grid = dock(viewer)
    grid.layer = layer
    for step in (1, 3, 5, 9):  # data z = step / 2: x.5
        viewer.dims.set_current_step(0, step)
        plane = int(np.round(step / 2))  # halves to even: 0, 2, 2, 4
        np.testing.assert_array_equal(layer._slice.image.view, stack[plane])  # the canvas
        viewer.cursor.position = (float(step), 20.0, 20.0)
        np.testing.assert_array_equal(grid.shown_values, stack[plane, 15:26, 15:26])


def test_scaled_coordinates_without_a_unit_are_not_called_pixels(viewer, blobs):
    viewer.add_image(blobs, name="blobs", scale=(0.5, 0.5))
    grid = dock(viewer)
    viewer.cursor.position = (20.0, 30.0)
    text = grid._position.text()
    assert "y=40, x=60" in text and "y=20, x=30" in text  # pixel, then position
    assert text.count("pixel") == 1  # the "pixel:" of the indices only


def test_painting_labels_updates_the_numbers(viewer):
    """A click of the brush without moving the mouse left the old value shown."""
    labels = np.zeros((20, 30), np.int32)
    labels[5, 7] = 7
    layer = viewer.add_labels(labels, name="labels")
    grid = dock(viewer)
    viewer.cursor.position = (5.0, 7.0)
    assert grid.cell_text(5, 5) == "7"
    layer.paint((5, 7), 9, refresh=True)
    assert grid.cell_text(5, 5) == "9"
    layer.fill((0, 0), 3)
    assert grid.cell_text(0, 0) == "3"
    layer.undo()  # (undo and redo only refresh the layer: they kept the values shown)
    assert grid.cell_text(0, 0) == "0" and grid.cell_text(5, 5) == "9"
    layer.undo()
    assert grid.cell_text(5, 5) == "7"
    layer.redo()
    assert grid.cell_text(5, 5) == "9"


def test_float_and_labels_layers(viewer):
    image = np.linspace(-1e-6, 2.5, 64, dtype=np.float32).reshape(8, 8)
    image[3, 3] = np.nan
    viewer.add_image(image, name="float")
    grid = dock(viewer)
    viewer.cursor.position = (3.0, 3.0)
    assert grid.cell_text(5, 5) == "NaN"
    assert grid.cell_text(5, 6) == format_value(image[3, 4])
    labels = viewer.add_labels(np.arange(64, dtype=np.int32).reshape(8, 8) % 5, name="labels")
    assert grid.layer is labels  # the newly selected layer
    viewer.cursor.position = (4.0, 4.0)
    np.testing.assert_array_equal(grid.shown_values, labels.data[0:8, 0:8])
    value = labels.data[4, 5]  # a cell shaded in its label colour
    assert value != 0
    shade = grid._table.item(5, 6).background().color()
    np.testing.assert_allclose(shade.getRgbF()[:3], labels.get_color(value)[:3], atol=1 / 255)


def test_cells_are_shaded_by_colormap_and_contrast_limits(viewer, blobs):
    layer = viewer.add_image(blobs, name="blobs", colormap="magma", contrast_limits=(50, 200))
    grid = dock(viewer)
    viewer.cursor.position = (100.0, 100.0)
    for row, col in ((0, 0), (5, 5), (10, 3)):
        value = float(blobs[95 + row, 95 + col])
        level = np.clip((value - 50) / 150, 0, 1)
        expected = layer.colormap.map(np.array([level]))[0, :3]
        shade = grid._table.item(row, col).background().color()
        np.testing.assert_allclose(shade.getRgbF()[:3], expected, atol=1 / 255)
    viewer.layers.selection.active = viewer.add_points([[1, 1]])
    assert grid.layer is None


def test_rolled_axes_show_rows_and_columns_of_the_view(viewer):
    data = np.arange(4 * 6 * 8).reshape(4, 6, 8)
    layer = viewer.add_image(data)
    viewer.dims.order = (1, 0, 2)  # show z as rows, x as columns; slide along y
    values, origin, centre = window_at(layer, (2, 3, 5), (0, 2), 3)
    np.testing.assert_array_equal(values, data[1:4, 3, 4:7])
    assert centre == (2, 3, 5)


@pytest.mark.parametrize(
    "value, text",
    [(np.uint8(7), "7"), (np.int32(-12), "-12"), (0.0, "0"), (3.14159, "3.14"),
     (1234.5, "1234"), (2e-6, "2.00e-06"), (3e7, "3.00e+07"), (float("nan"), "NaN"),
     (np.True_, "1")],
)
def test_number_formatting(value, text):
    assert format_value(value) == text


def test_the_dock_close_button_stops_following_the_cursor(viewer, blobs):
    viewer.add_image(blobs, name="blobs")
    before = len(viewer.cursor.events.position.callbacks)
    dock_widget, grid = viewer.window.add_plugin_dock_widget(PLUGIN, "Pixel values")
    assert len(viewer.cursor.events.position.callbacks) == before + 1
    dock_widget.title.close_button.click()  # napari keeps the widget: it must let go
    assert len(viewer.cursor.events.position.callbacks) == before
    shown = grid.shown_values.copy()
    viewer.cursor.position = (40.2, 100.7)
    np.testing.assert_array_equal(grid.shown_values, shown)


def test_title_follows_renaming_and_several_selected_layers_show_the_top_one(viewer, blobs):
    """The title kept the old name until the cursor moved; with two layers selected the
    dock asked to select one."""
    below = viewer.add_image(blobs, name="blobs")
    labels = viewer.add_labels((blobs > 128).astype(np.uint8), name="mask")
    grid = dock(viewer)
    viewer.layers.selection = {below}
    assert grid.layer is below
    below.name = "renamed"
    assert "renamed" in grid._title.text()
    viewer.layers.selection = {below, labels}
    assert grid.layer is labels  # the topmost of them
    viewer.cursor.position = (40.0, 100.0)
    assert grid.cell_text(5, 5) == str(int(blobs[40, 100] > 128))


def test_a_side_view_of_a_plane_is_told_as_such(viewer, blobs):
    viewer.add_image(np.stack([blobs] * 4), name="stack")
    plane = viewer.add_image(blobs, name="plane")
    grid = dock(viewer)
    viewer.layers.selection = {plane}
    viewer.dims.order = (1, 0, 2)  # z and x shown: the plane is seen from aside
    assert "no pixels on the axes shown" in grid._title.text()
    viewer.dims.ndisplay = 3
    assert "in the 2D view" in grid._title.text()


def test_wide_rgb_cells_scroll_instead_of_widening_the_dock(viewer):
    """r,g,b cells needed 884 px: the canvas was squeezed to a strip (review 70)."""
    rgb = np.random.default_rng(1).integers(100, 256, (64, 64, 3)).astype(np.uint8)
    viewer.add_image(rgb, name="colours", rgb=True)
    grid = dock(viewer)
    viewer.cursor.position = (30.0, 30.0)
    table = grid._table
    assert grid.cell_text(5, 5) == ",".join(str(v) for v in rgb[30, 30])
    assert table.horizontalHeader().length() > 600  # the cells need more than that
    assert table.minimumWidth() <= 480
    # the centre cell is scrolled into view
    centre = table.visualItemRect(table.item(5, 5))
    assert table.viewport().rect().contains(centre.center())
