"""Pipelines: recorded steps from the operation registry, run on numpy arrays.

A pipeline is a list of steps. Each step names an operation of the registry
(:func:`napari_bioimg.ops.get_operation`), holds every one of its parameters
(defaults filled in, so that a saved pipeline does not change meaning when a
default changes) and reads either the pipeline's input or an earlier step.
"""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..io_tiff import length_factor
from ..ops._checks import image_axes, looks_rgb
from ..ops.registry import BUILTIN_NAMES, Operation, get_operation, import_operation
from .spacing import spacing_after, spacing_of_result, trailing

__all__ = ["FORMAT_KEY", "FORMAT_VERSION", "INPUT", "Pipeline", "Step", "plain", "translate_in"]

FORMAT_KEY = "napari_bioimg_pipeline"
FORMAT_VERSION = 1
INPUT = "input"
_STEP_KEYS = ("id", "operation", "module", "source", "parameters")

Spacing = Sequence[float] | None


def plain(value: Any) -> Any:
    """Return ``value`` with numpy scalars, arrays and tuples as plain Python objects.

    Examples
    --------
    >>> plain((np.int64(1), np.float32(0.5), [np.bool_(True)]))
    [1, 0.5, [True]]
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(item) for item in value]
    raise TypeError(f"cannot store a {type(value).__name__} ({value!r}) in a pipeline")


# --- layer kinds: what napari shows a result as ----------------------------------


def keeps_kind(operation, parameters: dict) -> bool:
    """Whether ``operation`` gives its input's kind (a mask stays a mask).

    The crop or flip of a mask is a mask, and so is its maximum or minimum
    projection; a mean or sum is an image. A registered function gives the
    kind it declares (``output_kind``), whatever its category.
    """
    if operation.name not in BUILTIN_NAMES:
        return False
    if operation.category == "project":
        return parameters.get("method") in ("max", "min")
    return operation.category == "transform"


def for_kind(parameters: dict, kind: str) -> dict:
    """The ``parameters`` an operation runs with on a ``kind`` ("image", "labels") layer.

    Labels are resampled with nearest neighbours (``order`` 0) whatever the
    control says: interpolating label numbers would invent labels between them.
    """
    if kind == "labels" and parameters.get("order"):
        return {**parameters, "order": 0}
    return parameters


def result_kind(operation, parameters: dict, input_kind: str) -> str:
    """"labels" or "image": the layer kind ``operation`` makes of ``input_kind`` data."""
    if keeps_kind(operation, parameters):
        return input_kind
    return "image" if operation.output_kind == "image" else "labels"


def translate_in(unit: str, translate, units, spatial: int | None) -> tuple[float, ...]:
    """``translate`` with its ``spatial`` axes (default the last three) in ``unit``.

    A layer at 50 mm given µm voxels stays at 50 mm: 50000 µm. Axes whose unit
    is not a known length (pixels) keep their numbers.
    """
    translate = [float(t) for t in translate]
    n = min(len(translate), 3) if spatial is None else spatial
    for axis in range(len(translate) - n, len(translate)):
        factor = length_factor(str(units[axis]), unit)
        if factor is not None:
            translate[axis] *= factor
    return tuple(translate)


def _where(index: int, operation: Any) -> str:
    # Steps are counted from 1 in messages, like the default ids step1, step2...
    return f"step {index + 1} ({operation})"


@contextmanager
def naming_step(where: str):
    """Name the step ``where`` in an error it raises.

    The core's ValueError and TypeError (which name the parameter) get it in
    their message; anything else (a KeyError in a function of your own) keeps
    its type and gets it as a note (:func:`told`).
    """
    try:
        yield
    except Exception as error:
        note = f"(in {where})"
        if str(error).startswith(f"{where}: ") or note in getattr(error, "__notes__", ()):
            raise  # (named already: a step computed within its naming)
        if type(error) in (TypeError, ValueError):
            raise type(error)(f"{where}: {error}") from error
        error.add_note(note)
        raise


def error_text(error: BaseException) -> str:
    """How to tell ``error`` in one line.

    The core's ValueError and TypeError name the parameter: their message alone.
    Anything else (a KeyError in a function of your own) is named by its type,
    ``KeyError: 'gain'``, as Python prints it (unless its message does already).
    """
    if type(error) in (ValueError, TypeError) or getattr(error, "tells_its_type", False):
        return str(error) or type(error).__name__
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def told(error: BaseException) -> str:
    """:func:`error_text` with the error's notes (the step it happened in)."""
    return " ".join([error_text(error), *getattr(error, "__notes__", ())])


@dataclass(frozen=True)
class Step:
    """One step of a :class:`Pipeline`.

    Attributes
    ----------
    id : str
        Unique name of the step (``step1``, ``step2``... unless chosen).
    operation : str
        Name of the operation in the registry.
    parameters : dict
        Every parameter of the operation, as plain Python values.
    source : str
        ``"input"`` or the id of the earlier step whose result this step reads.
    module : str or None
        For a user-registered operation, the module that registers it
        (imported when the pipeline is loaded); None for built-in operations.
    """

    id: str
    operation: str
    parameters: dict[str, Any]
    source: str = INPUT
    module: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the step as plain data (the ``steps`` entries of the file format)."""
        data: dict[str, Any] = {"id": self.id, "operation": self.operation}
        if self.module:
            data["module"] = self.module
        data["source"] = self.source
        data["parameters"] = plain(self.parameters)
        return data


class Pipeline:
    """A reproducible sequence of registry operations.

    Parameters
    ----------
    steps : iterable of Step, optional
        Steps to add, checked as by :meth:`add`.

    Examples
    --------
    >>> import numpy as np
    >>> pipeline = Pipeline()
    >>> _ = pipeline.add("gaussian", sigma=2.0)
    >>> _ = pipeline.add("threshold", method="otsu")
    >>> pipeline
    Pipeline(gaussian -> threshold)
    >>> pipeline.run(np.eye(16)).dtype
    dtype('bool')
    """

    def __init__(self, steps: Iterable[Step] = ()):
        self._steps: list[Step] = []
        for step in steps:
            import_operation(step.operation, step.module)
            self.append(step.operation, step.parameters, step.source, step_id=step.id)

    # --- building -------------------------------------------------------------

    def add(
        self, operation: str, /, source: str | int | None = None, *, step_id: str | None = None,
        **parameters: Any,
    ) -> Step:
        """Append a step and return it.

        Parameters
        ----------
        operation : str
            Name of a registered operation.
        source : str or int, optional
            What the step reads: ``"input"``, the id of an earlier step, or its
            index in :attr:`steps`. Default: the previous step (the input for
            the first step).
        step_id : str, optional
            A unique identifier for the step; default ``step<n>``.
        **parameters
            Parameter values; the missing ones take their defaults. (For an
            operation with a parameter called ``source`` or ``step_id``, use
            :meth:`append`.)

        Returns
        -------
        Step

        Raises
        ------
        ValueError
            Naming the step and the operation, for an unknown operation, an
            unknown parameter, a value of the wrong type, or a bad source or id.
        """
        return self.append(operation, parameters, source, step_id=step_id)

    def append(
        self, operation: str, parameters: dict[str, Any] | None = None,
        source: str | int | None = None, *, step_id: str | None = None,
    ) -> Step:
        """Append a step with ``parameters`` given as a mapping; as :meth:`add`."""
        where = _where(len(self._steps), operation)
        if parameters is None:
            parameters = {}
        elif not isinstance(parameters, dict):
            raise ValueError(f"{where}: parameters must be a mapping, got {parameters!r}")
        try:
            op = get_operation(operation)
            bound = op.bind(parameters)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: {error}") from error
        step = Step(
            id=self._new_id(step_id, where),
            operation=op.name,
            parameters=plain(bound),
            source=self._resolve_source(source, where),
            module=None if op.name in BUILTIN_NAMES else (op.module or None),
        )
        self._steps.append(step)
        return step

    def remove(self, step: str | int) -> Step:
        """Remove a step (by id or index) that no other step reads, and return it."""
        index = self.index(step)
        removed = self._steps[index]
        readers = [s.id for s in self._steps if s.source == removed.id]
        if readers:
            raise ValueError(
                f"step {removed.id!r} cannot be removed: {', '.join(readers)} read it"
            )
        del self._steps[index]
        return removed

    def index(self, step: str | int) -> int:
        """Return the index in :attr:`steps` of a step given by id or index."""
        if isinstance(step, int | np.integer) and not isinstance(step, bool):
            if not -len(self._steps) <= step < len(self._steps):
                raise IndexError(f"no step {step}: the pipeline has {len(self._steps)} steps")
            return int(step) % len(self._steps)
        for index, existing in enumerate(self._steps):
            if existing.id == step:
                return index
        raise ValueError(f"no step with id {step!r}; ids: {[s.id for s in self._steps]}")

    def _resolve_source(self, source: str | int | None, where: str) -> str:
        if source is None:
            return self._steps[-1].id if self._steps else INPUT
        if source == INPUT:
            return INPUT
        if isinstance(source, int | np.integer) and not isinstance(source, bool):
            if not -len(self._steps) <= source < len(self._steps):
                raise ValueError(
                    f"{where}: source {source} is not the index of an earlier step "
                    f"(there are {len(self._steps)} before it)"
                )
            return self._steps[source].id
        if isinstance(source, str) and any(s.id == source for s in self._steps):
            return source
        raise ValueError(
            f"{where}: source {source!r} must be 'input' or the id or index of an earlier "
            f"step (ids: {[s.id for s in self._steps]})"
        )

    def _new_id(self, step_id: str | None, where: str) -> str:
        taken = {s.id for s in self._steps}
        if step_id is None:
            number = len(self._steps) + 1
            while f"step{number}" in taken:
                number += 1
            return f"step{number}"
        if not isinstance(step_id, str) or not step_id.isidentifier() or step_id == INPUT:
            raise ValueError(
                f"{where}: id {step_id!r} must be a name of letters, digits and "
                "underscores (not starting with a digit) other than 'input'"
            )
        if step_id in taken:
            raise ValueError(f"{where}: id {step_id!r} is already used by another step")
        return step_id

    # --- reading ----------------------------------------------------------------

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps, in order."""
        return tuple(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(tuple(self._steps))

    def __getitem__(self, index: int) -> Step:
        return self._steps[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pipeline):
            return NotImplemented
        return self._steps == other._steps

    def __repr__(self) -> str:
        return f"Pipeline({' -> '.join(s.operation for s in self._steps) or 'no steps'})"

    def _chain(self) -> Iterator[Step]:
        """The steps that make the last step's result, from the last back to the input."""
        by_id = {step.id: step for step in self._steps}
        step = self._steps[-1] if self._steps else None
        while step is not None:
            yield step
            step = by_id.get(step.source)

    def making(self, step: str | int = -1) -> "Pipeline":
        """The pipeline of the steps that make ``step``'s result (id or index; default the last).

        Steps that do not lead to it (a side branch, or steps after it) are left
        out; the others keep their order, ids and sources.
        """
        if not self._steps:
            return Pipeline()
        upto = Pipeline(self._steps[: self.index(step) + 1])
        needed = {kept.id for kept in upto._chain()}
        return Pipeline(kept for kept in upto if kept.id in needed)

    def frame_step(self) -> int:
        """How many input frames one frame of the result spans.

        The product of the ``subsample`` steps along the first axis on the way
        to the last step: a file's frame interval (its first axis, T) times this
        is the result's.
        """
        factor = 1
        for step in self._chain():
            if step.operation == "subsample":
                steps = step.parameters.get("step", 2)
                factor *= int(steps if isinstance(steps, int) else (list(steps) or [1])[0])
        return factor

    def result_unit(self, unit: str | None) -> str | None:
        """The length unit of the result of an input in ``unit``.

        The ``unit`` of the last ``set_voxel_size`` step that names one on the way
        from the input to the last step, else ``unit`` (how ``napari-bioimg run``
        and scripts write the result's unit).
        """
        for step in self._chain():
            if step.operation == "set_voxel_size" and step.parameters.get("unit"):
                return step.parameters["unit"]
        return unit

    def result_z_guessed(self, guessed: bool) -> bool:
        """Whether the result's slice distance is a guess, for an input whose z is one.

        ``guessed``: the input's z is the reader's guess (Fiji's, see
        :func:`~napari_bioimg.pipeline.io.read_image_guess`), or it has none (a
        ``set_axis_role`` step naming its leading axis z gives it the pixel width).
        The last step on the way to the result that sets or drops z decides: a
        ``set_voxel_size`` step with a ``z`` makes it known; a ``set_axis_role``
        step naming the axis t or channel drops it (named z again, it is the pixel
        width: a guess). Other steps keep a guess a guess (resampling to isotropic
        voxels or subsampling scale it). How ``napari-bioimg run`` and scripts mark
        the z they write (:func:`~napari_bioimg.pipeline.io.write_image`).
        """
        for step in self._chain():
            if step.operation == "set_voxel_size" and step.parameters.get("z") is not None:
                return False
            if step.operation == "set_axis_role" and step.parameters.get("role", "t") != "z":
                return True
        return guessed

    def keeps_intensities(self) -> bool:
        """Whether the result's values are on the input's scale: its display range fits.

        True when every step on the way to the last one moves, picks or averages
        the input's values: transforms, maximum, minimum or mean projections and
        the smoothing filters (``denoise``: mean, median, gaussian...). Other
        filters (top-hats, edges), sums, masks, labels and registered functions
        make new values, which the input's display range would show wrongly (Fiji
        keeps it anyway): ``napari-bioimg run`` and scripts then write none.
        """
        for step in self._chain():
            op = self.operation(step.id)
            averages = op.name in BUILTIN_NAMES and (
                op.category == "denoise"
                or (op.category == "project" and step.parameters.get("method") == "mean")
            )
            if not (averages or keeps_kind(op, step.parameters)):
                return False
        return True

    def kinds(self, input_kind: str = "image") -> dict[str, str]:
        """"image" or "labels" for the input and each step's result (by step id).

        As napari shows them (:func:`result_kind`): masks and labels are labels
        layers; transforms and maximum or minimum projections keep their input's kind.
        """
        kinds = {INPUT: input_kind}
        for index, step in enumerate(self._steps):
            op = self.operation(index)
            kinds[step.id] = result_kind(op, step.parameters, kinds[step.source])
        return kinds

    def result_kind(self, input_kind: str = "image") -> str:
        """"image" or "labels": what the last step makes of an ``input_kind`` input."""
        return self.kinds(input_kind)[self._steps[-1].id if self._steps else INPUT]

    def for_input(self, input_kind: str = "image") -> "Pipeline":
        """Return the pipeline with each step's parameters for the kind of data it reads.

        As the operation widgets run them (:func:`for_kind`): a resampling
        recorded on an image resamples labels (a labels input, or its crop) by
        nearest neighbours, not making up label numbers between two others.
        """
        kinds = self.kinds(input_kind)
        return Pipeline(
            replace(step, parameters=for_kind(step.parameters, kinds[step.source]))
            for step in self._steps
        )

    def axis_role(self) -> str | None:
        """What the last ``set_axis_role`` step leading to the result named the axis before y.

        ``"z"``, ``"t"`` or ``"channel"``; None when no step on the way from the
        input to the last step names it, or a projection after the naming drops that
        axis or one after it (how ``napari-bioimg run`` and scripts
        write the result's leading axis: :func:`~napari_bioimg.pipeline.io.result_axes`).
        """
        for step in self._chain():
            if step.operation == "set_axis_role":
                return step.parameters.get("role", "t")
            if step.operation == "project":
                axis = step.parameters.get("axis", -3)
                if not (isinstance(axis, int) and axis < -3):
                    return None  # (the named axis, or one after it, projected away)
        return None

    def operation(self, step: str | int) -> Operation:
        """Return the registry :class:`~napari_bioimg.ops.Operation` of a step."""
        found = self._steps[self.index(step)]
        return import_operation(found.operation, found.module)

    # --- running ----------------------------------------------------------------

    def run(self, image, spacing: Spacing = None, *, all_results: bool = False):
        """Run the pipeline on ``image``.

        Only the steps that make the last step's result are run (a side branch,
        whose result would be thrown away, is not); with ``all_results`` every step.

        Parameters
        ----------
        image : array_like
            The input image.
        spacing : sequence of float, optional
            Voxel size per spatial axis, passed to the operations that use it
            and updated after steps that change it (see
            :func:`~napari_bioimg.pipeline.spacing.spacing_after`).
        all_results : bool
            Return the list of every step's result instead of the last one.

        Returns
        -------
        numpy.ndarray or list of numpy.ndarray
            The last step's result (the input itself for an empty pipeline).
        """
        if all_results:
            return [data for _, data, _ in self._execute(image, spacing, keep=True)]
        return self.run_with_spacing(image, spacing)[0]

    def run_with_spacing(self, image, spacing: Spacing = None) -> tuple[Any, Spacing]:
        """Run the steps that make the last result; return it and its voxel size."""
        last = (image, spacing)
        for _, result, result_spacing in self._execute(image, spacing, keep=False):
            last = (result, result_spacing)
        return last

    def run_with_geometry(self, image, spacing: Spacing, scale, translate, units, labels=None):
        """Run every step; return ``(result, spacing, scale, translate, units, labels)``.

        ``scale``, ``translate``, ``units`` and the axis ``labels`` (optional) are
        the input layer's; each step changes them as
        :func:`~napari_bioimg.ops.planes.output_geometry` and ``output_axes`` say
        (crop shifts the origin, subsample and resample scale, project drops an
        axis), so that a replayed result lies where applying the steps one by one
        put it, in the same units, its axes named as before. The labels are None
        when not given, or when a function added axes.
        """
        from ..ops.planes import output_axes, output_geometry

        nsp = None if spacing is None else len(spacing)  # (a mask's channels: not spatial)
        labels = None if labels is None else tuple(labels)
        start = (np.shape(image), tuple(scale), tuple(translate), tuple(units), labels, nsp)
        geometry = {INPUT: start}
        last = (image, spacing, *start[1:5])
        for step, result, out_spacing in self._execute(image, spacing, keep=False):
            shape, step_scale, step_translate, step_units, step_labels, nsp = geometry[step.source]
            op = self.operation(step.id)
            step_scale, step_translate = output_geometry(
                op, step.parameters, shape, step_scale, step_translate, nsp
            )
            if step.operation == "set_voxel_size" and step.parameters.get("unit"):
                step_translate = translate_in(step.parameters["unit"], step_translate,
                                               step_units, nsp)
            step_units = output_axes(op, step.parameters, step_units, spatial=nsp)
            if step_labels is not None:
                step_labels = output_axes(op, step.parameters, step_labels, "labels")
            if step.operation not in BUILTIN_NAMES:  # (a function may add or drop axes)
                # (an RGB result's colours have no geometry, if the input had colours)
                ndim = np.ndim(result) - int(looks_rgb(result) and len(shape) > len(step_scale))
                step_scale, step_translate, step_units = (
                    trailing(step_scale, ndim, 1.0), trailing(step_translate, ndim, 0.0),
                    trailing(step_units, ndim, "pixel"),
                )
                if step_labels is not None and len(step_labels) < ndim:
                    step_labels = None  # (napari names the new axes)
                elif step_labels is not None:
                    step_labels = trailing(step_labels, ndim, None)
            nsp = None if out_spacing is None else len(out_spacing)
            geometry[step.id] = (
                np.shape(result), step_scale, step_translate, step_units, step_labels, nsp
            )
            last = (result, out_spacing, step_scale, step_translate, step_units, step_labels)
        return last

    def _execute(self, image, spacing: Spacing, keep: bool):
        """Yield ``(step, result, spacing)`` for each step, freeing unread results.

        ``keep``: every step's result is kept (and every step run); else only the
        steps that make the last one's are run.
        """
        spacing = None if spacing is None else tuple(float(s) for s in spacing)
        results: dict[str, tuple[Any, Spacing]] = {INPUT: (image, spacing)}
        # Only the last result wanted: a side branch is not computed (nor can it fail).
        needed = {step.id for step in (self._steps if keep else self._chain())}
        last_read = {step.source: index for index, step in enumerate(self._steps)
                     if step.id in needed}
        for index, step in enumerate(self._steps):
            if step.id not in needed:
                continue
            data, step_spacing = results[step.source]
            where = _where(index, step.operation)
            op = import_operation(step.operation, step.module)
            with naming_step(where):
                result = op(data, spacing=step_spacing, **step.parameters)
                out_spacing = spacing_after(
                    step.operation, step.parameters, step_spacing,
                    image_axes(data if hasattr(data, "shape") else np.asarray(data)),  # (dask)
                )
            if step.operation not in BUILTIN_NAMES:  # (a function may drop axes)
                out_spacing = spacing_of_result(out_spacing, image_axes(result))
            results[step.id] = (result, out_spacing)
            if not keep and last_read.get(step.source) == index:
                del results[step.source]
            yield step, result, out_spacing

    def run_dask(self, array, spacing: Spacing = None, *, all_results: bool = False):
        """Run the pipeline lazily, chunk by chunk, on a dask array.

        See :func:`napari_bioimg.pipeline.chunked.run_dask`.
        """
        from .chunked import run_dask

        return run_dask(self, array, spacing, all_results=all_results)

    # --- saving -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the pipeline as plain data (see :mod:`napari_bioimg.pipeline.fileformat`)."""
        return {FORMAT_KEY: FORMAT_VERSION, "steps": [step.to_dict() for step in self._steps]}

    @classmethod
    def from_dict(cls, data: Any) -> "Pipeline":
        """Build a pipeline from :meth:`to_dict` data, checking every step.

        Raises
        ------
        ValueError
            For data that are not a pipeline of a known version, and naming the
            step (number and operation) for an unknown operation, parameter,
            key or value, or a user operation whose module cannot be imported.
        """
        if not isinstance(data, dict) or FORMAT_KEY not in data:
            raise ValueError(
                f"not a napari-bioimg pipeline: expected a mapping with "
                f"'{FORMAT_KEY}: {FORMAT_VERSION}' and 'steps'"
            )
        version = data[FORMAT_KEY]
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"'{FORMAT_KEY}' must be a format version number, got {version!r}")
        if version > FORMAT_VERSION:
            raise ValueError(
                f"this pipeline has format version {version}, written by a newer "
                f"napari-bioimg; this version reads format {FORMAT_VERSION}: upgrade napari-bioimg"
            )
        unknown = set(data) - {FORMAT_KEY, "steps"}
        if unknown:
            raise ValueError(f"unknown pipeline keys {sorted(unknown)}; expected '{FORMAT_KEY}' "
                             "and 'steps'")
        steps = data.get("steps")
        if steps is None:
            steps = []
        if not isinstance(steps, list):
            raise ValueError(f"'steps' must be a list, got {type(steps).__name__}")
        pipeline = cls()
        for index, entry in enumerate(steps):
            pipeline._add_entry(index, entry)
        return pipeline

    def _add_entry(self, index: int, entry: Any) -> None:
        if not isinstance(entry, dict) or "operation" not in entry:
            raise ValueError(f"step {index + 1}: must be a mapping with an 'operation' key, "
                             f"got {entry!r}")
        name = entry["operation"]
        where = _where(index, name)
        unknown = set(entry) - set(_STEP_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}; a step has {_STEP_KEYS}")
        if not isinstance(name, str):
            raise ValueError(f"{where}: 'operation' must be a name")
        module = entry.get("module")
        if module is not None and not isinstance(module, str):
            raise ValueError(f"{where}: 'module' must be a module name, got {module!r}")
        try:
            import_operation(name, module)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from error
        self.append(name, entry.get("parameters"), entry.get("source"), step_id=entry.get("id"))

    def to_yaml(self) -> str:
        """Return the pipeline as YAML text."""
        from .fileformat import dump_yaml

        return dump_yaml(self.to_dict())

    @classmethod
    def from_yaml(cls, text: str) -> "Pipeline":
        """Build a pipeline from YAML (or JSON) text written by :meth:`to_yaml`."""
        from .fileformat import load_yaml

        return cls.from_dict(load_yaml(text))

    def save(self, path: str | Path) -> None:
        """Write the pipeline to ``path``: JSON for a ``.json`` suffix, YAML otherwise."""
        from .fileformat import dump_json, dump_yaml

        path = Path(path)
        dump = dump_json if path.suffix.lower() == ".json" else dump_yaml
        path.write_text(dump(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Pipeline":
        """Read a pipeline written by :meth:`save` (YAML or JSON)."""
        from .fileformat import read_file

        return cls.from_dict(read_file(path))

    def to_python(self, name: str = "pipeline.py") -> str:
        """Return a standalone Python script running this pipeline on a TIFF file.

        ``name``: the script's file name, for its usage message. See
        :func:`napari_bioimg.pipeline.script.pipeline_script`.
        """
        from .script import pipeline_script

        return pipeline_script(self, name)
