"""Run a clean-up once when a dock is closed.

napari takes a closed dock's widget out of its dock (its parent becomes None)
without always deleting it, so waiting for ``destroyed`` alone would leave
callbacks connected to the viewer. This watches both.
"""

import atexit
import contextlib
import weakref
from collections.abc import Callable

from qtpy.QtCore import QEvent, QObject, QThreadPool
from qtpy.QtWidgets import QWidget


def weak_callback(method):
    """Wrap ``method`` in a plain function that calls it while its object lives.

    napari's emitters look a bound method up on the widget again to disconnect
    it, which fails once Qt has deleted the widget; a plain function disconnects
    by identity and does not keep the widget alive.
    """
    ref = weakref.WeakMethod(method)

    def call(*args):
        bound = ref()
        return None if bound is None else bound(*args)

    return call


def disconnect_all(connections: list, *_args) -> None:
    """Disconnect ``(emitter, callback)`` pairs and empty the list; safe to call twice."""
    while connections:
        emitter, callback = connections.pop()
        try:
            emitter.disconnect(callback)
        except (TypeError, ValueError, RuntimeError):
            pass  # already gone with its object


def disconnector(*lists: list) -> Callable[..., None]:
    """A plain function disconnecting the ``(emitter, callback)`` pairs of ``lists``.

    Not a bound method: Qt drops connections to slots of an object being destroyed
    before it emits ``destroyed``.
    """

    def disconnect(*_args) -> None:
        for connections in lists:
            disconnect_all(connections)

    return disconnect


_OPEN: "weakref.WeakSet[DockLifetime]" = weakref.WeakSet()
# How long Python's exit waits for a computation still running (milliseconds).
_EXIT_WAIT_MS = 30_000


@atexit.register
def _close_all() -> None:
    """Close every dock still open when Python exits, while Qt's objects all live.

    A script ending without closing its viewer: Python then deletes the Qt
    parts in no set order, and one dock closing (its preview removed) called
    into another whose drop-downs were gone, which aborted Python.
    """
    for lifetime in list(_OPEN):
        with contextlib.suppress(RuntimeError):  # (deleted already)
            lifetime.close()
    # A preview or Apply still computing (its dock closed asked it to stop, but a
    # kernel runs to its end): Python exiting under it aborted, after the worker
    # emitted into its deleted signals. Wait for it while Qt lives.
    QThreadPool.globalInstance().waitForDone(_EXIT_WAIT_MS)


class DockLifetime(QObject):
    """Call ``on_close`` once, when ``widget`` leaves its dock or is destroyed.

    With ``watch_destroyed=False`` only leaving the dock counts (for widgets that
    clean up on ``destroyed`` with plain functions of their own).
    """

    def __init__(
        self, widget: QWidget, on_close: Callable[[], None], *, watch_destroyed: bool = True
    ) -> None:
        super().__init__(widget)
        done = []

        def close_once(*_args) -> None:
            if not done:
                done.append(True)
                on_close()

        self._close = close_once
        self.close = close_once  # for closing programmatically
        _OPEN.add(self)
        self._docked = widget.parent() is not None
        widget.installEventFilter(self)
        if watch_destroyed:
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
