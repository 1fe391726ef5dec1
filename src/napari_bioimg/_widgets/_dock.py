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

Long layer names and messages never widen a dock (a 60-character file name
made an operation dock 650 px wide, squeezing napari's canvas):
:func:`keep_narrow`.
"""

from magicgui import widgets
from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtGui import QTextDocumentFragment
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel

__all__ = [
    "NAME_CHARS",
    "DockContainer",
    "keep_narrow",
    "scroll_layout",
    "share_height",
    "share_when_docked",
]

_SCROLLS = "napari_bioimg_scrolls"  # (a Qt property marking our docks' scroll areas)
# Characters a layer drop-down is wide for; longer names are elided (whole in its list).
NAME_CHARS = 14


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
        [_wanted_height(other) for other in column],
        [other.minimumSizeHint().height() for other in column],
        sum(other.height() for other in column),
    )
    window.resizeDocks(column, heights, Qt.Orientation.Vertical)


def _wanted_height(dock: QDockWidget) -> int:
    """The height ``dock`` needs to show its controls without scrolling.

    Qt's hint of a scroll area is at most 24 lines of text: the Crop dock, whose
    controls want 550 px, asked for 340 and scrolled beside a dock given more
    than it asked for. One of our scroll areas asks for its contents' height.
    """
    hint = dock.sizeHint().height()
    area = dock.findChild(QScrollArea)
    if area is not None and area.property(_SCROLLS) and area.widget() is not None:
        needed = area.widget().sizeHint().height() + 2 * area.frameWidth()
        hint += max(needed - area.sizeHint().height(), 0)
    return hint


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
    area.setProperty(_SCROLLS, True)
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


def keep_narrow(*items) -> None:
    """Keep layer pickers and text from widening their dock, however long the names.

    Qt sizes a drop-down for its longest item and a label for its longest
    line or word: a long file name widened the dock, squeezing the canvas.
    Here a drop-down is ``NAME_CHARS`` characters wide (its list shows whole
    names); a list elides names in the middle rather than scroll sideways; a
    label wraps its lines at the dock's width (a :class:`superqt.QElidingLabel`
    elides its one line instead), taking no width of its own. Whole names and
    cut text show as tooltips. magicgui or Qt widgets.
    """
    for widget in items:
        native = getattr(widget, "native", widget)
        if isinstance(native, QComboBox):
            native.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            native.setMinimumContentsLength(NAME_CHARS)
            _WholeText(native, native)
        elif isinstance(native, QAbstractItemView):
            native.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            native.setTextElideMode(Qt.TextElideMode.ElideMiddle)
            _WholeText(native, native.viewport())
        elif isinstance(native, QLabel):
            if not isinstance(native, QElidingLabel):
                native.setWordWrap(True)
            # magicgui's Label is Fixed, which made its (wrapped) lines as wide as they like
            native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            _WholeText(native, native)
        else:
            raise TypeError(f"keep_narrow: no drop-down, list or label: {native!r}")


class _WholeText(QObject):
    """Show a narrowed widget's whole text as tooltip.

    A drop-down's name and a label's cut text when they have no tooltip of their
    own; a list's item under the mouse (as Qt shows an item's own tooltip).
    """

    def __init__(self, widget: QWidget, watched: QWidget) -> None:
        super().__init__(widget)
        self._widget = widget
        watched.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() != QEvent.Type.ToolTip:
            return False
        text = self._text(event)
        if text:
            QToolTip.showText(event.globalPos(), text, watched)
        return bool(text)  # (else Qt shows the widget's own tooltip, if any)

    def _text(self, event) -> str:
        widget = self._widget
        if isinstance(widget, QAbstractItemView):
            return str(widget.indexAt(event.pos()).data() or "")
        if widget.toolTip():
            return ""
        if isinstance(widget, QComboBox):
            return widget.currentText()
        return widget.text() if _cut(widget) else ""


def _cut(label: QLabel) -> bool:
    """True when a word of the label (its line, unwrapped) is wider than the label."""
    text = label.text()
    if Qt.mightBeRichText(text):
        text = QTextDocumentFragment.fromHtml(text).toPlainText()
    parts = text.split() if label.wordWrap() else [text]
    metrics, width = label.fontMetrics(), label.contentsRect().width()
    return any(metrics.horizontalAdvance(part) > width for part in parts)
