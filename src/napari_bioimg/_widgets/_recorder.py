"""The record of applied steps, one per viewer, from which pipelines are made."""

import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from psygnal import Signal

from ..ops.registry import import_operation
from ..pipeline.core import keeps_kind
from ._layers import colour_first, connect_edits, painted_by_hand


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
MASK_FROM_LABELS = "labels_to_mask"


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
        elif (parameter.kind == "ints" and colour_first(source) and isinstance(value, list)
              and len(value) == source.ndim
              and _keeps_whole(parameter.name, value[0], source.data.shape[0])):
            # (the masks of an RGB image: their colour axis, first here, is last headless,
            # where the core leaves it out: a step [1, 2, 2] replays as [2, 2], a crop
            # start [0, 10, 10] as [10, 10])
            parameters[parameter.name] = value[1:]
    recorder = recorder_for(viewer)
    reads = recorder.key(source)
    if operation.input_kind == "mask" and operation.name != MASK_FROM_LABELS:
        # The widgets feed a label layer to mask operations as ``labels != 0``: the
        # record says so, else the pipeline gives the labels to a binary operation.
        if np.dtype(source.data.dtype) != bool:
            reads, after = recorder.mask_of(source, after)
    step = RecordedStep(
        operation=operation.name,
        parameters=parameters,
        input_layer=source.name,
        output_layer=result.name,
        spacing=None if spacing is None else tuple(spacing),
        module=operation.module,
        input_uid=reads,
        output_uid=_uid(result),
        extra={"on": layer_key(source)},  # (the layer shown: reads may be its mask, a replay)
    )
    recorder.record(step, after)
    if result is not source:
        _watch_edits(recorder, step, result)


def _watch_edits(recorder: "Recorder", step: RecordedStep | None, layer) -> None:
    """Mark ``step`` edited when its result layer's pixels change (painted, replaced).

    ``step`` None: ``layer`` is a replay result, which an edit makes an input of its own.
    """
    replaced = []  # (new data: no undo gives the result back)

    def edited(event=None) -> None:
        if step is None:
            recorder.unlink(layer)
            return
        if getattr(event, "type", None) == "data":
            replaced.append(True)
        # painting undone to the last stroke: the result is the step's again
        now = bool(replaced) or painted_by_hand(layer)
        if bool(step.extra.get("edited")) != now:
            step.extra["edited"] = now
            recorder.changed.emit()

    connect_edits(layer, edited)  # (Labels: brush, fill, eraser, and their undo)


def _keeps_whole(name: str, value, length: int) -> bool:
    """Whether a crop ``start``/``stop`` or subsample ``step`` keeps an axis whole."""
    if value is None:
        return True
    whole = range(length)
    try:
        part = {"start": lambda: whole[value:], "stop": lambda: whole[:value],
                "step": lambda: whole[::value]}[name]()
    except (KeyError, TypeError, ValueError):  # (another parameter: kept as it is)
        return False
    return part == whole


class Recorder:
    """Applied steps of one viewer, in order; ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self) -> None:
        self.steps: list[RecordedStep] = []
        self._reading: list[str] = []  # the layers running Applies read (one key per Apply)
        self._replays: dict[str, str] = {}  # replay result layer -> the step key it stands for

    def link_replay(self, source, result, step: RecordedStep) -> None:
        """Layer ``result`` is the pipeline up to ``step`` replayed on layer ``source``.

        Steps applied to it then read that step's result: saved, the pipeline
        holds the replayed steps too. Not when ``source`` was made by recorded
        steps itself (a chain replayed on its own result is not that step).
        """
        key = self.key(source)
        if not any(kept.makes == key != kept.reads for kept in self.steps):
            self._replays[layer_key(result)] = step.makes
            _watch_edits(self, None, result)

    def unlink(self, layer) -> None:
        """``layer`` (a replay result) no longer stands for the replayed steps (edited)."""
        self._replays.pop(layer_key(layer), None)

    def key(self, layer) -> str:
        """The key a step applied to ``layer`` reads.

        A replay result's is its step's, until a step makes the layer itself
        (a voxel size set on it, for as long as that step is kept).
        """
        key = layer_key(layer)
        if any(step.makes == key for step in self.steps):
            return key
        return self._replays.get(key, key)

    def start_reading(self, layer) -> Any:
        """Note that an Apply reading ``layer`` started; return the step to record it after.

        Steps recorded while it computes (a voxel size set meanwhile) come after
        its own, and do not replace a step it read (see :meth:`is_read`).
        Call :meth:`done_reading` when it ends, kept or not.
        """
        self._reading.append(layer_key(layer))
        return self.last()

    def done_reading(self, layer) -> None:
        """An Apply that :meth:`start_reading` noted ended."""
        key = layer_key(layer)
        if key in self._reading:
            self._reading.remove(key)

    def is_read(self, layer) -> bool:
        """Whether an Apply reading ``layer`` is computing."""
        return layer_key(layer) in self._reading

    def record(self, step: RecordedStep, after=LAST) -> None:
        """Append ``step``, or insert it right after step ``after`` (None: first)."""
        self.steps.insert(self._end(after), step)
        self.changed.emit()

    def last(self):
        """The last recorded step, or None."""
        return self.steps[-1] if self.steps else None

    def _end(self, after) -> int:
        """How many steps come before one recorded ``after`` (LAST, None or a step)."""
        if after is None:
            return 0
        found = [n for n, kept in enumerate(self.steps) if kept is after]
        return found[0] + 1 if found else len(self.steps)

    def holds_mask(self, key: str, end: int) -> bool:
        """Whether layer ``key`` holds a mask as the first ``end`` steps make it.

        A mask operation made it, maybe then cropped, flipped or projected by
        its maximum or minimum; not a layer that no step made (a label layer).
        """
        for index in range(end - 1, -1, -1):
            step = self.steps[index]
            if step.makes != key:
                continue
            try:
                operation = import_operation(step.operation, step.module or None)
            except (ValueError, ImportError):
                return False
            if keeps_kind(operation, step.parameters):
                return self.holds_mask(step.reads, index)
            return operation.output_kind == "mask"
        return False

    def mask_of(self, source, after=LAST) -> tuple[str, Any]:
        """The key of ``source``'s mask (labels != 0) for a step recorded ``after``.

        Returns the key and the step after which to record that step: the
        conversion step (recorded here) or, when the layer's data is a mask
        already or an earlier conversion of it serves, ``after`` itself.
        """
        key = self.key(source)
        end = self._end(after)
        if self.holds_mask(key, end):
            return key, after
        for step in reversed(self.steps[:end]):
            if step.makes == key:  # (a voxel size set since: a conversion of its own)
                break
            if step.operation == MASK_FROM_LABELS and step.reads == key and (
                step.extra.get("layerless")  # (not one applied by hand: its layer may be painted)
            ):
                return step.makes, after
        conversion = RecordedStep(
            operation=MASK_FROM_LABELS,
            parameters={},
            input_layer=source.name,
            output_layer=f"{source.name} != 0",
            input_uid=key,
            output_uid=f"{key} != 0",
            extra={"layerless": True},  # (its mask is no layer: the widgets compute it)
        )
        self.record(conversion, after)
        return conversion.makes, conversion

    def remove(self, index: int) -> None:
        """Forget step ``index`` (and the mask conversion recorded for it alone).

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
        removed = self.steps.pop(index)
        conversion = self._conversion_read(removed.reads, index)
        if conversion is not None:
            later = self.steps[conversion + 1 :]
            stop = next((n for n, s in enumerate(later) if s.makes == removed.reads), len(later))
            if not any(s.reads == removed.reads for s in later[:stop]):
                del self.steps[conversion]
        self.changed.emit()

    def _conversion_read(self, key: str, end: int) -> int | None:
        """Index of the layerless mask conversion that made ``key`` before step ``end``."""
        for n in range(end - 1, -1, -1):
            step = self.steps[n]
            if step.makes == key:
                return n if step.extra.get("layerless") else None
        return None

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

    def edited(self, left: list[int] = ()) -> list[int]:
        """The numbers (from 1) of the steps whose result was edited by hand, but ``left``."""
        return [
            n for n, step in enumerate(self.steps, 1)
            if step.extra.get("edited") and n not in left
        ]

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
