"""Docks scroll and share their column instead of making the window taller than the screen."""

import numpy as np
import pytest
from qtpy.QtWidgets import QDockWidget, QScrollArea

from napari_bioimg._widgets._dock import share_height

from .conftest import LONG_NAME, settled_widths, tooltip_of

DOCKS = ("Gaussian", "Threshold", "Histogram and statistics", "Pipeline",
         "Crop, subsample and flip")


@pytest.mark.parametrize(
    ("wanted", "minimum", "height", "expected"),
    [
        ([100, 200], [50, 50], 400, [100, 200]),  # room for all: each its wish
        ([100, 300, 500], [50, 50, 50], 600, [100, 250, 250]),  # small one whole, others share
        ([200, 200, 200], [50, 50, 50], 300, [100, 100, 100]),
        ([400, 400], [250, 50], 300, [250, 150]),  # never below a minimum
    ],
)
def test_share_height(wanted, minimum, height, expected):
    assert share_height(wanted, minimum, height) == expected


def _area(widget):
    native = getattr(widget, "native", widget)
    return native if isinstance(native, QScrollArea) else native.findChild(QScrollArea)


def test_docks_scroll_and_share_the_height_of_the_screen(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1280, 800)
    viewer.add_image(np.random.default_rng(0).random((8, 64, 64)), name="stack")
    added = [viewer.window.add_plugin_dock_widget("napari-bioimg", name) for name in DOCKS]
    qtbot.wait(300)
    # Each dock alone asks for 200-360 px: five did not fit in 800 px and the window's
    # minimum grew past 1500 px (napari has no scroll area of its own).
    assert window.minimumSizeHint().height() <= 800
    docks = [dock for dock, _ in added]
    assert sum(dock.minimumSizeHint().height() for dock in docks) < 600
    for dock, widget in added:
        area = _area(widget)
        assert isinstance(dock, QDockWidget) and area is not None
        # scrolls vertically only, so never narrower than its controls need
        contents = area.widget()
        assert area.width() >= contents.minimumSizeHint().width(), dock.name
    # Shared: a dock asking less than an equal share gets it all; none left two rows high
    # while another has more than it asked for.
    total = sum(dock.height() for dock in docks)
    fair = total // len(docks)
    for dock in docks:
        assert dock.height() >= min(dock.sizeHint().height(), fair) - 10, dock.name
        assert dock.height() <= max(dock.sizeHint().height(), fair) + 10, dock.name


def test_a_dock_whose_controls_scroll_gets_the_room_others_do_not_ask_for(
    make_napari_viewer, qtbot
):
    """Qt's hint of a scroll area is at most 24 lines: the Crop dock (controls of ~550 px)
    asked for ~340, got ~420 and scrolled, while Gaussian and Threshold got more than
    they asked for."""
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 1000)
    viewer.add_image(np.random.default_rng(0).random((8, 64, 64)), name="stack")
    added = [viewer.window.add_plugin_dock_widget("napari-bioimg", name)
             for name in ("Gaussian", "Crop, subsample and flip", "Threshold")]
    qtbot.wait(300)
    (gaussian, _), (crop, crop_widget), (threshold, _) = added
    contents = _area(crop_widget).widget()
    assert crop.height() < contents.sizeHint().height()  # (it must scroll: the test's case)
    for dock in (gaussian, threshold):  # each its wish, no more; the rest to Crop
        assert abs(dock.height() - dock.sizeHint().height()) <= 10, dock.name
    column = sum(dock.height() for dock, _ in added)
    assert crop.height() >= column - gaussian.sizeHint().height() - (
        threshold.sizeHint().height()
    ) - 10


def test_operation_dock_is_its_scroll_area(make_napari_viewer):
    """napari docks ``native``: the scroll area, not the controls taken out of it."""
    viewer = make_napari_viewer()
    dock, widget = viewer.window.add_plugin_dock_widget("napari-bioimg", "Gaussian")
    assert dock.widget() is widget.native
    assert isinstance(widget.native, QScrollArea)
    assert widget.native.widget() is widget.contents
    assert widget._input.native.parent() is not None
    assert widget.contents.isAncestorOf(widget._input.native)


@pytest.mark.parametrize(
    ("name", "picker", "bound"),
    [("Gaussian", "_input", 360), ("Crop, subsample and flip", "_layer", 400),
     ("Pipeline", "_target", 360)],
)
def test_a_long_layer_name_leaves_the_dock_narrow(make_napari_viewer, name, picker, bound):
    """Qt sized a layer drop-down for its longest name when first shown: a
    64-character file name made these docks 620-660 px wide (the canvas a strip)."""
    viewer = make_napari_viewer(show=True)
    layer = viewer.add_image(np.zeros((2, 16, 16)), name=LONG_NAME)
    dock, widget = viewer.window.add_plugin_dock_widget("napari-bioimg", name)
    getattr(widget, picker).value = layer
    combo = getattr(widget, picker).native
    assert combo.currentText() == LONG_NAME
    assert max(settled_widths(dock)) <= bound, settled_widths(dock)  # (short names: 310-385)
    assert combo.width() < combo.fontMetrics().horizontalAdvance(LONG_NAME)  # elided...
    combo.showPopup()  # ...but whole in its list
    try:
        assert combo.view().width() >= combo.fontMetrics().horizontalAdvance(LONG_NAME)
    finally:
        combo.hidePopup()
    assert tooltip_of(combo) == LONG_NAME  # and as tooltip
