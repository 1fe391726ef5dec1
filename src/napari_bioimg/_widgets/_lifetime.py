"""Run a clean-up once when a dock is closed.

napari takes a closed dock's widget out of its dock (its parent becomes None)
without always deleting it, so waiting for ``destroyed`` alone would leave
callbacks connected to the viewer. This watches both.
"""

from collections.abc import Callable

from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QWidget


class DockLifetime(QObject):
    """Call ``on_close`` once, when ``widget`` leaves its dock or is destroyed."""

    def __init__(self, widget: QWidget, on_close: Callable[[], None]) -> None:
        super().__init__(widget)
        done = []

        def close_once(*_args) -> None:
            if not done:
                done.append(True)
                on_close()

        self._close = close_once
        self._docked = widget.parent() is not None
        widget.installEventFilter(self)
        # a plain function: the Python wrappers may already be gone when Qt deletes
        widget.destroyed.connect(close_once)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        """Notice the widget being docked, then taken out of its dock."""
        if event.type() == QEvent.Type.ParentChange:
            if watched.parent() is not None:
                self._docked = True
            elif self._docked:
                self._close()
        return False
