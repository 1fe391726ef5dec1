"""The record of applied steps, one per viewer, from which pipelines are made."""

import weakref
from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal


@dataclass
class RecordedStep:
    """One applied operation: what ran, with which parameters, on which layer."""

    operation: str
    parameters: dict[str, Any]
    input_layer: str
    output_layer: str
    spacing: tuple[float, ...] | None = None
    module: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Recorder:
    """Applied steps of one viewer, in order; ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self) -> None:
        self.steps: list[RecordedStep] = []

    def record(self, step: RecordedStep) -> None:
        """Append ``step``."""
        self.steps.append(step)
        self.changed.emit()

    def remove(self, index: int) -> None:
        """Forget step ``index``."""
        del self.steps[index]
        self.changed.emit()

    def clear(self) -> None:
        """Forget every step."""
        self.steps.clear()
        self.changed.emit()


_RECORDERS: "weakref.WeakKeyDictionary[Any, Recorder]" = weakref.WeakKeyDictionary()


def recorder_for(viewer) -> Recorder:
    """The recorder of ``viewer`` (made on first use)."""
    viewer = getattr(viewer, "__wrapped__", viewer)
    if viewer not in _RECORDERS:
        _RECORDERS[viewer] = Recorder()
    return _RECORDERS[viewer]
