"""Run a pipeline over many TIFF files: in this process, in threads, or on a dask cluster.

Each input ``name.tif`` gives ``OUT/name.tif`` (see :mod:`.io` for how files are
read and written). A file that cannot be read, processed or written is reported
and the others still run; existing outputs are kept unless ``overwrite``.
With a dask.distributed cluster, one task per file runs on the workers, which
read and write the files themselves: the input and output folders must be
reachable from them under the same paths (a shared file system).
"""

import glob
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TextIO

from ..io_tiff import is_pattern, is_tiff, natural_key, tiff_paths
from .core import Pipeline, told
from .io import (
    colours_kept,
    in_pixels,
    process_image,
    read_image_guess,
    result_axes,
    write_image,
)

__all__ = [
    "FileResult",
    "TextProgress",
    "collect_inputs",
    "output_path",
    "process_file",
    "run_batch",
    "summary",
]

Status = Literal["written", "skipped", "failed"]


@dataclass(frozen=True)
class FileResult:
    """What happened to one input file.

    Attributes
    ----------
    input : str
        The input file (or the argument that matched no file).
    output : str or None
        The output file.
    status : {"written", "skipped", "failed"}
    message : str
        Why a file was skipped or failed.
    """

    input: str
    output: str | None
    status: Status
    message: str = ""


def collect_inputs(
    arguments: Iterable[str | os.PathLike], stacks: bool = False
) -> tuple[list[Path], list[FileResult]]:
    """Expand files, folders (their ``*.tif``/``*.tiff``) and glob patterns.

    With ``stacks``, a folder is one input: its slices read as one stack
    (:func:`.io.read_image`), written as ``OUT/<folder name>.tif``.

    Returns
    -------
    paths : list of Path
        Every input file once, in the order given (folders in natural order).
    failures : list of FileResult
        One for each argument that names no TIFF file.
    """
    paths: list[Path] = []
    seen: set[Path] = set()
    failures = []
    for argument in arguments:
        try:
            found = _stack_inputs(argument) if stacks else tiff_paths(argument)
        except (OSError, ValueError) as error:
            failures.append(FileResult(str(argument), None, "failed", str(error)))
            continue
        for path in found:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                paths.append(path)
    return paths, failures


def _stack_inputs(argument: str | os.PathLike) -> list[Path]:
    """The inputs ``argument`` names with ``--stack``: a folder is one, its slices a stack.

    A quoted pattern (``"exp/*"``, as the shell would not expand it) names folders
    too: each is a stack, its TIFF files read as its slices; TIFF files it names
    are inputs of their own.
    """
    text = os.fspath(argument)
    if os.path.isdir(text):
        tiff_paths(text)  # a folder without slices fails here, named
        return [Path(text)]
    if not is_pattern(text):
        return tiff_paths(text)
    found = [Path(p) for p in glob.glob(text) if _is_input(Path(p))]
    if not found:
        raise FileNotFoundError(f"no folders of TIFF slices or TIFF files match {text!r}")
    return sorted(found, key=natural_key)


def _is_input(path: Path) -> bool:
    """Whether a path a ``--stack`` pattern matched is an input: a TIFF, a folder of slices."""
    if not path.is_dir():
        return path.is_file() and is_tiff(path)
    try:
        return bool(tiff_paths(path))
    except (OSError, ValueError):  # (a folder of other files among the matches: not one)
        return False


def output_path(input_path: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """``out_dir/<input stem>.tif`` (``a.ome.tif`` gives ``a.tif``: outputs are not OME).

    A folder (a stack of slices) gives ``out_dir/<folder name>.tif``, its whole
    name (``exp.1``), also when given as ``.``.
    """
    path = Path(input_path)
    if path.is_dir():
        return Path(out_dir) / f"{path.resolve().name}.tif"
    stem = path.stem
    if stem.lower().endswith(".ome"):
        stem = stem[:-4]
    return Path(out_dir) / f"{stem}.tif"


def process_file(
    pipeline: Pipeline | dict,
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    overwrite: bool = False,
) -> FileResult:
    """Run ``pipeline`` on one TIFF file and write the result; never raises.

    Parameters
    ----------
    pipeline : Pipeline or dict
        The pipeline, or its :meth:`Pipeline.to_dict` data (what is sent to
        dask workers, which import user operations' modules themselves).
    input_path, output : path
        The input TIFF and the TIFF to write (through a temporary file, so
        that an interrupted run leaves no truncated output).
    overwrite : bool
        Replace an existing output instead of skipping the file.

    Returns
    -------
    FileResult
    """
    input_path, output = str(input_path), Path(output)
    if output.exists() and not overwrite:
        return FileResult(input_path, str(output), "skipped", "output exists (use --overwrite)")
    try:
        if not isinstance(pipeline, Pipeline):
            pipeline = Pipeline.from_dict(pipeline)
    except Exception as error:  # e.g. a user operation's module missing on a worker
        return _failed(input_path, output, "cannot load the pipeline", error)
    try:
        image, spacing, unit, channel_axis, frames, z_guessed, kind, names, luts, ranges = (
            read_image_guess(input_path)
        )
    except Exception as error:  # any unreadable file is reported, the batch goes on
        return _failed(input_path, output, "cannot read it", error)
    note = uncalibrated_note(pipeline) if in_pixels(spacing, unit) else ""
    if z_guessed and not note:
        note = guessed_z_note(pipeline, f"{spacing[0]:g}" + (f" {unit}" if unit else ""))
    if len(spacing) < 3 and not note:
        note = role_z_note(pipeline, f"{spacing[-1]:g}" + (f" {unit}" if unit else ""))
    # (a guessed z, or one a step makes of the pixel width, is written as a guess)
    z_guessed = pipeline.result_z_guessed(z_guessed or len(spacing) < 3)
    try:
        # (labels resampled by nearest neighbours, as the widgets do)
        steps = pipeline.for_input(kind)
        result, spacing = process_image(steps.run_with_spacing, image, spacing, channel_axis)
    except Exception as error:
        return _failed(input_path, output, "processing failed", error)
    if frames is not None:  # (every n-th frame kept: n times the interval)
        frames = (frames[0] * pipeline.frame_step(), frames[1])
    partial = output.with_name(f".{output.name}.{os.getpid()}-{threading.get_ident()}.partial")
    try:
        rgb = colours_kept(image, result, channel_axis) or None  # (None: from the result)
        result, channel_axis, frames = result_axes(
            result, spacing, channel_axis, frames, pipeline.axis_role(), rgb
        )
        unit = pipeline.result_unit(unit)  # (a set_voxel_size step may name another)
        # masks and labels marked as such: napari-bioimg opens them as labels layers
        labels = pipeline.result_kind(kind) == "labels"
        ranges = ranges if pipeline.keeps_intensities() else None  # (new values: not theirs)
        write_image(
            partial, result, spacing, unit, channel_axis, rgb, frames, labels, names, z_guessed,
            luts, ranges,
        )
        os.replace(partial, output)
    except Exception as error:
        partial.unlink(missing_ok=True)
        return _failed(input_path, output, f"cannot write {output}", error)
    return FileResult(input_path, str(output), "written", note)


def uncalibrated_note(pipeline: Pipeline) -> str:
    """What an input without a voxel size means for ``pipeline``'s sizes ("" if nothing).

    Sizes set in napari on a scaled layer are in its unit (a radius of 25 µm is
    50 pixels of 0.5 µm); on a file without a voxel size they are pixels. (napari's
    File > Save writes no voxel size; a ``set_voxel_size`` step gives one.)
    """
    sizes = _sizes_read(pipeline)
    if not sizes:
        return ""
    return (
        f"no voxel size in the file: {', '.join(sizes)} taken as pixels (add a "
        "set_voxel_size step, or save the image with its voxel size)"
    )


def guessed_z_note(pipeline: Pipeline, z: str) -> str:
    """What a slice distance missing from a 3D file means for ``pipeline`` ("" if nothing).

    ``z``: the guessed distance as written in the note (``"0.39 mm"``).

    The reader guesses it as Fiji does (:func:`.io.read_image_guess`); sizes in 3D
    and resampling to isotropic voxels read it, unless a ``set_voxel_size`` step
    with a ``z`` comes first.
    """
    sizes = _sizes_read(pipeline, z=True)
    if not sizes:
        return ""
    return (
        f"the slice distance is not in the file: {', '.join(sizes)} read a guessed z of "
        f"{z} (add a set_voxel_size step with z)"
    )


def role_z_note(pipeline: Pipeline, width: str) -> str:
    """What naming a file's frames or leading axis z means for ``pipeline`` ("" if nothing).

    ``width``: the pixel width as written in the note (``"0.5 µm"``). For a file
    whose leading axis is not z (frames, or a stack of planes without a z): a
    ``set_axis_role`` step naming it z takes the pixel width as the slice
    distance (:func:`.spacing.spacing_after`), a guess that the sizes in 3D and
    resampling to isotropic voxels after it read.
    """
    sizes = _sizes_read(pipeline, z=True, after_role_z=True)
    if not sizes:
        return ""
    return (
        f"the slice distance is not in the file: {', '.join(sizes)} read the pixel width "
        f"{width} as z, as set_axis_role named the axis z (add a set_voxel_size step with z)"
    )


def _sizes_read(pipeline: Pipeline, z: bool = False, after_role_z: bool = False) -> list[str]:
    """The sizes (``"gaussian sigma"``) that read the input's voxel size (its ``z``).

    Not those after a ``set_voxel_size`` step (one that sets ``z``, for ``z``), nor,
    for ``z``, those after the axis is named t or channel (frames or channels are
    filtered one by one, in 2D). With ``z``, resampling to isotropic voxels reads it too.
    With ``after_role_z``, only those after a ``set_axis_role`` step naming z.
    Only steps that make the result: a side branch is not run.
    """
    pipeline = pipeline.making()
    after_set = set()  # steps reading a voxel size set by a set_voxel_size step
    after_role = set()  # steps after a set_axis_role step naming z
    for step in pipeline:
        sets = step.operation == "set_voxel_size" and (
            not z or step.parameters.get("z") is not None
        )
        role = step.operation == "set_axis_role" and step.parameters.get("role")
        sets = sets or (z and role not in (False, "z"))
        if sets or step.source in after_set:
            after_set.add(step.id)
        elif role == "z" or step.source in after_role:
            after_role.add(step.id)
    sizes = []
    for index, step in enumerate(pipeline):
        if step.id in after_set or (after_role_z and step.id not in after_role):
            continue
        if z and step.operation == "resample_isotropic":
            sizes.append("resample_isotropic")
        sizes += [
            f"{step.operation} {parameter.name}"
            for parameter in pipeline.operation(index).parameters
            if parameter.unit in ("length", "volume") and step.parameters.get(parameter.name)
        ]
    return sizes


def _failed(input_path: str, output: Path, what: str, error: BaseException) -> FileResult:
    detail = told(error)  # (a KeyError in a function of yours: KeyError: 'x')
    return FileResult(input_path, str(output), "failed", f"{what}: {detail}")


def run_batch(
    pipeline: Pipeline,
    inputs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    overwrite: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    report: Callable[[FileResult], Any] | None = None,
) -> list[FileResult]:
    """Run ``pipeline`` on every input file, writing ``out_dir/<stem>.tif``.

    Parameters
    ----------
    pipeline : Pipeline
    inputs : sequence of path
        Input files (see :func:`collect_inputs`).
    out_dir : path
        Output folder, created if needed.
    overwrite : bool
        Replace existing outputs instead of skipping them.
    scheduler : str, optional
        Address of a dask.distributed scheduler, or ``"local"`` to start a
        ``LocalCluster`` of ``workers`` processes; one task per file.
        Without it, files run in this process (``workers`` threads).
    workers : int, optional
        Threads (no scheduler) or local worker processes.
    report : callable, optional
        Called with each :class:`FileResult` as files finish (progress).

    Returns
    -------
    list of FileResult
        In the order of ``inputs``.
    """
    out_dir = Path(out_dir)
    results: dict[int, FileResult] = {}
    jobs = []
    claimed: dict[Path, str] = {}
    # (an output folder holding the inputs: x.ome.tif's output is x.tif, maybe an input too)
    sources = {Path(path).resolve(): str(path) for path in inputs}
    # (a stack's folder holding an output: the next run reads it as one more slice)
    folders = {source: name for source, name in sources.items() if source.is_dir()}
    for index, path in enumerate(inputs):
        output = output_path(path, out_dir)
        key = output.resolve()
        folder = key.parent if key.parent in folders else None  # (subfolders are not read)
        if key in claimed or key in sources or folder is not None:
            if folder is not None:
                reason = "its output would be written into the stack folder " + (
                    "it reads" if folder == Path(path).resolve() else folders[folder]
                )
            elif key == Path(path).resolve():
                reason = "its output would replace the input"
            elif key in sources:
                reason = f"its output would replace the input {sources[key]}"
            else:
                reason = f"{claimed[key]} already writes {output}"
            results[index] = FileResult(str(path), str(output), "failed", reason)
            if report:
                report(results[index])
            continue
        claimed[key] = str(path)
        jobs.append((index, str(path), str(output)))

    def ready() -> None:  # (not before: a refused output folder, or no scheduler, makes none)
        if jobs:
            out_dir.mkdir(parents=True, exist_ok=True)

    def done(index: int, result: FileResult) -> None:
        results[index] = result
        if report:
            report(result)

    if scheduler:
        _run_distributed(pipeline.to_dict(), jobs, overwrite, scheduler, workers, done, ready)
        return [results[index] for index in sorted(results)]
    ready()
    if workers and workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            futures = {
                pool.submit(process_file, pipeline, path, output, overwrite): index
                for index, path, output in jobs
            }
            for future in as_completed(futures):
                done(futures[future], future.result())
    else:
        for index, path, output in jobs:
            done(index, process_file(pipeline, path, output, overwrite))
    return [results[index] for index in sorted(results)]


def _run_distributed(data, jobs, overwrite, scheduler, workers, done, ready) -> None:
    try:
        import distributed
    except ImportError as error:
        raise RuntimeError(
            "running on a dask cluster needs dask.distributed: "
            "pip install 'napari-bioimg[dask]'"
        ) from error
    with ExitStack() as stack:
        if scheduler == "local":
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None,
            ))
            client = stack.enter_context(distributed.Client(cluster, set_as_default=False))
        else:
            try:
                # (checked first: a Client failing on it stays half made, the default
                # scheduler of dask's later computations in this process, which hung)
                distributed.comm.get_address_host_port(scheduler)
                # (not dask's default: the tasks are given to this client by name)
                client = stack.enter_context(distributed.Client(scheduler, set_as_default=False))
            except (ValueError, TypeError) as error:  # (no port, a typo, http://, tls://)
                raise RuntimeError(
                    f"--scheduler {scheduler!r} is no scheduler address ({error}): give "
                    "tcp://HOST:PORT, as the scheduler prints it, or local"
                ) from error
        ready()
        # Workers have working folders of their own: they get absolute paths (the
        # results name the paths as given).
        futures = {
            client.submit(
                process_file, data, os.path.abspath(path), os.path.abspath(output), overwrite,
                pure=False,
            ): (index, path, output)
            for index, path, output in jobs
        }
        for future in distributed.as_completed(futures, loop=client.loop):
            index, path, output = futures[future]
            try:
                result = replace(future.result(), input=path, output=output)
            except Exception as error:  # a worker died or could not run the task
                result = FileResult(path, None, "failed", f"task failed on the cluster: {error}")
            done(index, result)


class TextProgress:
    """Print one numbered line per finished file to ``stream`` (stderr by default).

    Parameters
    ----------
    total : int
        Number of files.
    stream : file, optional
    """

    def __init__(self, total: int, stream: TextIO | None = None):
        self.total = total
        self.count = 0
        self.stream = stream

    def __call__(self, result: FileResult) -> None:
        """Print the line for one finished file."""
        self.count += 1
        counter = f"[{self.count:>{len(str(self.total))}}/{self.total}]"
        if result.status == "written":
            text = f"{counter} {result.input} -> {result.output}"
            if result.message:
                text += f" (note: {result.message})"
        else:
            text = f"{counter} {result.status} {result.input}: {result.message}"
        print(text, file=self.stream or sys.stderr, flush=True)


def summary(results: Iterable[FileResult]) -> str:
    """``"3 written, 1 skipped, 1 failed"`` followed by one line per failed file."""
    results = list(results)
    counts = {status: sum(r.status == status for r in results)
              for status in ("written", "skipped", "failed")}
    lines = [", ".join(f"{n} {status}" for status, n in counts.items())]
    failed = sorted(
        (r for r in results if r.status == "failed"), key=lambda r: natural_key(r.input)
    )
    lines += [f"failed: {r.input}: {r.message}" for r in failed]
    return "\n".join(lines)
