"""GUI test settings."""

from types import SimpleNamespace

import pytest

# A microscope's file name: the long layer name that used to widen docks.
LONG_NAME = "2024-05-17_confocal_HeLa_H2B-GFP_fixed_sample_07_position_3_ch1"
# Rounds of posted events that lay a dock out to the end (see settled_widths).
LAYOUT_ROUNDS = 5


@pytest.fixture(autouse=True)
def _no_full_collection_per_removed_layer(monkeypatch):
    """Skip the full ``gc.collect()`` that napari's canvas runs for every removed layer.

    It works around Windows OpenGL drivers (napari/_vispy/canvas.py,
    ``_clean_and_update_scenegraph``); here, under Xvfb, it only costs time: each
    collection walks every object the test session holds (0.5-1 s late in the
    suite), and closing a viewer with the orthogonal views removes a dozen layers.
    napari's own leak check at teardown still collects.
    """
    from napari._vispy import canvas

    monkeypatch.setattr(canvas, "gc", SimpleNamespace(collect=lambda *args: 0))


def newest(viewer):
    """The topmost layer that is no live preview: the result last applied or replayed.

    (An Apply puts its result under the widget's preview, which stays on top.)
    """
    from napari_bioimg._widgets._layers import is_preview

    return [layer for layer in viewer.layers if not is_preview(layer)][-1]


def settled_widths(dock) -> tuple[int, int]:
    """``dock``'s minimum and preferred widths once Qt has laid it out.

    The layout requests Qt has posted are delivered first, in a few rounds:
    each round delivers those the previous one posted (a label's row, then the
    controls, whose minimum the scroll area takes, then the dock); no waiting.
    """
    from qtpy.QtWidgets import QApplication

    for _ in range(LAYOUT_ROUNDS):
        QApplication.processEvents()
    return dock.minimumSizeHint().width(), dock.sizeHint().width()


def tooltip_of(widget, x: int = 4, y: int = 4) -> str:
    """The tooltip ``widget`` shows when the mouse rests at ``(x, y)`` ("" for none)."""
    from qtpy.QtCore import QEvent, QPoint
    from qtpy.QtGui import QHelpEvent
    from qtpy.QtWidgets import QApplication, QToolTip

    QToolTip.hideText()
    point = QPoint(x, y)
    event = QHelpEvent(QEvent.Type.ToolTip, point, widget.mapToGlobal(point))
    QApplication.sendEvent(widget, event)
    shown = QToolTip.text() if QToolTip.isVisible() else ""
    QToolTip.hideText()
    return shown


def hold(monkeypatch, module, name: str):
    """Make ``module.name`` (a worker's function) wait until the returned event is set.

    Also collects ``module.show_info`` messages: ``(release, infos)``.
    """
    import threading

    release, original, infos = threading.Event(), getattr(module, name), []

    def held(*args, **kwargs):
        release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, held)
    monkeypatch.setattr(module, "show_info", infos.append)
    return release, infos
