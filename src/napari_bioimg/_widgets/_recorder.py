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
    # napari's ``unique_id`` of the layers: the chain survives renaming them
    input_uid: str = ""
    output_uid: str = ""

    @property
    def reads(self) -> str:
        """The key of the layer it was applied to."""
        return self.input_uid or self.input_layer

    @property
    def makes(self) -> str:
        """The key of the layer it made."""
        return self.output_uid or self.output_layer


def _uid(layer) -> str:
    return str(getattr(layer, "unique_id", "") or "")


def layer_key(layer) -> str:
    """The key a step keeps of ``layer`` (:attr:`RecordedStep.reads`, ``makes``)."""
    return _uid(layer) or layer.name


LAST = object()  # "after the last step" (record_applied, Recorder.record)


def record_applied(
    viewer, operation, parameters: dict, source, result, spacing=None, after=LAST
) -> None:
    """Record that ``operation`` (a registry Operation) made layer ``result`` from ``source``.

    ``after``: the last step recorded when the work started (None: there was none);
    steps recorded while it ran, e.g. a new voxel size of ``source``, come after it.
    """
    parameters = dict(parameters)
    for parameter in operation.parameters:  # axes counted from the last: x is x on any data
        value = parameters.get(parameter.name)
        if parameter.ndim_range == "axis" and isinstance(value, int) and value >= 0:
            parameters[parameter.name] = value - source.ndim
    recorder_for(viewer).record(RecordedStep(
        operation=operation.name,
        parameters=parameters,
        input_layer=source.name,
        output_layer=result.name,
        spacing=None if spacing is None else tuple(spacing),
        module=operation.module,
        input_uid=_uid(source),
        output_uid=_uid(result),
    ), after)


class Recorder:
    """Applied steps of one viewer, in order; ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self) -> None:
        self.steps: list[RecordedStep] = []

    def record(self, step: RecordedStep, after=LAST) -> None:
        """Append ``step``, or insert it right after step ``after`` (None: first)."""
        index = len(self.steps)
        if after is None:
            index = 0
        elif after is not LAST:
            found = [n for n, kept in enumerate(self.steps) if kept is after]
            index = found[0] + 1 if found else len(self.steps)
        self.steps.insert(index, step)
        self.changed.emit()

    def last(self):
        """The last recorded step, or None."""
        return self.steps[-1] if self.steps else None

    def remove(self, index: int) -> None:
        """Forget step ``index``.

        Raises
        ------
        ValueError
            When a later step was applied to its result (remove that one first).
        """
        made = self.steps[index].makes
        readers = [n for n, s in enumerate(self.steps[index + 1 :], index + 2) if s.reads == made]
        if readers:
            raise ValueError(
                f"step {index + 1} cannot be removed: step {readers[0]} was applied to its "
                "result (remove that one first)"
            )
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
            source = made_by.get(step.reads, INPUT)
            added = pipeline.append(step.operation, step.parameters, source)
            made_by[step.makes] = added.id
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
