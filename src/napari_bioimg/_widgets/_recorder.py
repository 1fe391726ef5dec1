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

    def to_pipeline(self):
        """The recorded steps as a :class:`~napari_bioimg.pipeline.Pipeline`.

        A step reads the earlier step whose result layer it was applied to;
        a layer that no recorded step made is the pipeline's input.
        """
        from ..pipeline import INPUT, Pipeline

        pipeline = Pipeline()
        made_by: dict[str, str] = {}
        for step in self.steps:
            source = made_by.get(step.input_layer, INPUT)
            added = pipeline.append(step.operation, step.parameters, source)
            made_by[step.output_layer] = added.id
        return pipeline

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
