"""Docks that scroll instead of making the window taller than the screen.

napari gives a dock at least its widget's minimum height and has no scroll
area of its own: with four docks open (an operation, the threshold, the
histogram, the pipeline) the window grew taller than the screen, which cut off
the lower docks and could no longer be made smaller (napari issue 4579). Our
docks sit in a scroll area, whose minimum is a few rows: a dock given less
height than its controls scrolls.

Qt then gives a new dock what the docks above it leave (a Gaussian dock added
first could be left two rows high while the histogram below had more than it
wanted): when one of ours is docked, the docks of its column share the height,
each getting what it asks for up to an equal share (:func:`share_height`).
"""

from magicgui import widgets
from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QVBoxLayout, QWidget

__all__ = ["DockContainer", "scroll_layout", "share_height", "share_when_docked"]


class _FitWidth(QObject):
    """Keep a scroll area at least as wide as its contents' minimum and a scroll bar.

    It scrolls vertically only: narrower, the contents would be cut on the right.
    Their minimum changes with them (a unit in a label), which Qt announces by
    a layout request.
    """

    def __init__(self, area: QScrollArea, contents: QWidget) -> None:
        super().__init__(area)
        self._area = area
        contents.installEventFilter(self)
        self.fit(contents)

    def fit(self, contents: QWidget) -> None:
        width = max(contents.minimumWidth(), contents.minimumSizeHint().width())
        bar = self._area.verticalScrollBar().sizeHint().width()
        self._area.setMinimumWidth(width + bar + 2 * self._area.frameWidth())

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.fit(watched)
        return False


def share_height(wanted: list[int], minimum: list[int], height: int) -> list[int]:
    """Heights of docks stacked in ``height``: each its wish, up to a common cap.

    The cap is the largest that fits (water filling): docks asking less than
    their share get all they ask, the others share the rest equally; never
    below a dock's minimum.
    """
    if sum(wanted) <= height:
        return list(wanted)
    left, cap = height, 0
    for count, want in enumerate(sorted(wanted)):
        share = left // (len(wanted) - count)
        if want > share:
            cap = share
            break
        left -= want
    return [max(min(want, cap), low) for want, low in zip(wanted, minimum, strict=True)]


def _share_column(dock: QDockWidget) -> None:
    """Share the height of ``dock``'s column of docks (see :func:`share_height`)."""
    window = dock.parentWidget()
    if not isinstance(window, QMainWindow) or dock.isFloating() or not dock.isVisible():
        return
    area = window.dockWidgetArea(dock)
    left, right = dock.x(), dock.x() + dock.width()
    column = [
        other for other in window.findChildren(QDockWidget)
        if other.parentWidget() is window and other.isVisible() and not other.isFloating()
        and window.dockWidgetArea(other) == area
        and other.x() < right and left < other.x() + other.width()
    ]
    if len(column) < 2:
        return
    column.sort(key=QWidget.y)
    heights = share_height(
        [other.sizeHint().height() for other in column],
        [other.minimumSizeHint().height() for other in column],
        sum(other.height() for other in column),
    )
    window.resizeDocks(column, heights, Qt.Orientation.Vertical)


class _OnDocked(QObject):
    """Share its column's height when the watched widget is first shown in a dock."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._dock: QDockWidget | None = None
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        dock = watched.parentWidget()
        if (
            event.type() == QEvent.Type.Show
            and isinstance(dock, QDockWidget)
            and dock is not self._dock
        ):
            self._dock = dock  # once per dock: later, the user's sizes stay
            # after the dock's own layout (napari shows it, then sizes it)
            QTimer.singleShot(0, lambda: _share_column(dock))
        return False


def share_when_docked(widget: QWidget) -> None:
    """When ``widget`` is first shown in a dock, share its column's height."""
    _OnDocked(widget)


def _quiet(area: QScrollArea) -> QScrollArea:
    """Frameless, vertical scrolling only, as wide as the contents need."""
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    _FitWidth(area, area.widget())
    return area


def scroll_layout(widget: QWidget, layout_class=QVBoxLayout):
    """Give ``widget`` a scroll area; return the layout (new) of its contents.

    For docks that are plain QWidgets: build the contents in the returned layout.
    """
    outer = QVBoxLayout(widget)
    outer.setContentsMargins(0, 0, 0, 0)
    area = QScrollArea(widget)
    contents = QWidget()
    layout = layout_class(contents)
    area.setWidget(contents)
    outer.addWidget(_quiet(area))
    share_when_docked(widget)
    return layout


class DockContainer(widgets.Container):
    """A magicgui Container that napari docks inside its scroll area.

    napari docks a magicgui widget's ``native``, which for a scrollable
    Container is the contents (taken out of the scroll area): ``native`` here is
    the scroll area itself (``root_native_widget``). ``stretch``: the controls
    stay at the top when the dock is taller than they are (napari's own
    stretch does not reach into the scroll area); without it a list that wants
    the height gets it.
    """

    def __init__(self, *, stretch: bool = True, **kwargs) -> None:
        super().__init__(scrollable=True, **kwargs)
        _quiet(self.root_native_widget)
        share_when_docked(self.root_native_widget)
        if stretch:
            # magicgui inserts its widgets by index, before this last item
            self.root_native_widget.widget().layout().addStretch(1)

    @property
    def native(self):
        """The scroll area, which napari docks (see the class docstring)."""
        return self.root_native_widget

    @property
    def contents(self) -> QWidget:
        """The widget in the scroll area, which holds the controls."""
        return self.root_native_widget.widget()
