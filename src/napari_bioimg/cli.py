"""The ``napari-bioimg`` command line.

``napari-bioimg view`` opens napari on the sample data;
``napari-bioimg run PIPELINE.yaml INPUT... --out DIR`` runs a saved pipeline on
TIFF files, folders or glob patterns; ``napari-bioimg export-script`` writes it
as a standalone Python script; ``napari-bioimg operations`` lists what a
pipeline file may use. Only ``view`` imports napari and Qt.
"""

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from ._sample_data import SAMPLES

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

Subparsers = argparse._SubParsersAction


def _error(command: str, message: str) -> int:
    print(f"napari-bioimg {command}: error: {message}", file=sys.stderr)
    return 2


@contextmanager
def _modules_beside(data, folder: Path):
    """Let the modules the pipeline's steps name be imported from ``folder`` (the file's).

    Only when one of them cannot be imported otherwise and ``folder`` holds it
    (``name.py`` or a package ``name/``): the folder is then first on sys.path, as
    the current folder is for ``python -m napari_bioimg run`` run there, while the
    pipeline loads, and is taken off after.
    """
    steps = data.get("steps") if isinstance(data, dict) else None
    beside = False
    for step in steps if isinstance(steps, list) else []:  # (from_dict says what is wrong)
        name = step.get("module") if isinstance(step, dict) else None
        top = name.partition(".")[0] if isinstance(name, str) else ""
        if not top.isidentifier() or top in sys.modules:
            continue
        try:
            found = importlib.util.find_spec(top) is not None
        except (ImportError, ValueError):
            continue
        if not found and ((folder / f"{top}.py").is_file() or (folder / top).is_dir()):
            beside = True
    if not beside:
        yield
        return
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))


def _load(command: str, path: str):
    """Load the pipeline saved in ``path``; print why and return None if it cannot.

    Your operations' modules are also looked for beside the file (:func:`_modules_beside`).
    """
    from .pipeline import Pipeline
    from .pipeline.fileformat import read_file

    try:
        data = read_file(path)
        with _modules_beside(data, Path(path).resolve().parent):
            return Pipeline.from_dict(data)
    except (OSError, ValueError) as error:
        _error(command, f"cannot load the pipeline {path}: {error}")
        return None


_PIPELINE_HELP = "pipeline file (.yaml or .json; your operations' modules may lie beside it)"


# --- run --------------------------------------------------------------------------


def _add_run(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a saved pipeline on TIFF files",
        description=(
            "Run a pipeline (YAML or JSON, as saved from napari) on TIFF files, writing "
            "OUT/<input name>.tif with the input's voxel size. Files that cannot be "
            "read or processed are reported and the others still run; the exit status "
            "is 1 when any file failed."
        ),
    )
    parser.add_argument("pipeline", help=_PIPELINE_HELP)
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="TIFF files, folders (their *.tif and *.tiff) or quoted glob patterns",
    )
    parser.add_argument("-o", "--out", required=True, type=Path, metavar="DIR",
                        help="output folder (created if needed)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing outputs (default: skip those files)")
    parser.add_argument(
        "--stack", action="store_true",
        help="read each folder as one stack of slices (natural order, as napari-bioimg "
        "opens a folder in napari), written as OUT/<folder name>.tif, instead of its "
        "files one by one",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="dask.distributed scheduler to send one task per file to (e.g. "
        "tcp://host:8786), or 'local' to start a local cluster; the workers read and "
        "write the files, so paths must be valid on them",
    )
    parser.add_argument(
        "--workers", type=int, metavar="N",
        help="files processed at once: threads in this process, or worker processes "
        "with --scheduler local",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from .pipeline.batch import TextProgress, collect_inputs, run_batch, summary

    if args.workers is not None and args.workers < 1:
        return _error("run", f"--workers must be at least 1, got {args.workers}")
    if args.out.exists() and not args.out.is_dir():
        return _error("run", f"--out must be a folder: {args.out} is a file")
    pipeline = _load("run", args.pipeline)
    if pipeline is None:
        return 2
    paths, failures = collect_inputs(args.inputs, stacks=args.stack)
    progress = TextProgress(len(paths) + len(failures))
    for failure in failures:
        progress(failure)
    try:
        results = run_batch(
            pipeline, paths, args.out, overwrite=args.overwrite,
            scheduler=args.scheduler, workers=args.workers, report=progress,
        )
    except (OSError, RuntimeError) as error:  # output folder, missing dask, no scheduler
        return _error("run", str(error))
    results = failures + results
    print(summary(results), file=sys.stderr)
    return 1 if any(r.status == "failed" for r in results) else 0


# --- export-script ----------------------------------------------------------------


def _add_export_script(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "export-script",
        help="write a pipeline as a standalone Python script",
        description="Write a Python script that runs the pipeline on one TIFF file "
        "(python script.py INPUT.tif OUTPUT.tif) and writes the same file as 'run'.",
    )
    parser.add_argument("pipeline", help=_PIPELINE_HELP)
    parser.add_argument("-o", "--output", type=Path, metavar="SCRIPT",
                        help="script to write (default: print it)")
    parser.set_defaults(handler=_export_script)


def _export_script(args: argparse.Namespace) -> int:
    from .pipeline.script import pipeline_script

    pipeline = _load("export-script", args.pipeline)
    if pipeline is None:
        return 2
    try:
        source = pipeline_script(pipeline, args.output.name if args.output else "pipeline.py")
    except ValueError as error:
        return _error("export-script", str(error))
    if args.output is None:
        sys.stdout.write(source)
        return 0
    try:
        args.output.write_text(source, encoding="utf-8")
    except OSError as error:  # (a missing folder, a folder given as the file)
        return _error("export-script", f"cannot write {args.output}: {error.strerror or error}")
    return 0


# --- operations -------------------------------------------------------------------


def _add_operations(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "operations",
        help="list the operations a pipeline can use, with their parameters",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these operations")
    parser.set_defaults(handler=_operations)


def _operations(args: argparse.Namespace) -> int:
    from .ops.registry import get_operation, list_operations

    try:
        operations = [get_operation(n) for n in args.names] if args.names else list_operations()
    except ValueError as error:
        return _error("operations", str(error))
    for op in operations:
        print(f"{op.name}: {op.description or op.display_name}")
        for p in op.parameters:
            kind = "|".join(p.choices) if p.choices else p.kind
            unit = "" if p.unit == "none" else f", {p.unit}"
            print(f"    {p.name} ({kind}{unit}) = {p.default!r}")
    return 0


# --- view -------------------------------------------------------------------------


def _add_view(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "view",
        help="open napari with the plugin (on its sample data, or on files)",
        description="Open napari with the Gaussian and Threshold widgets docked, on the "
        "synthetic sample data or on the given files or folders.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="images to open instead")
    parser.add_argument("--sample", default="nuclei_3d", choices=list(SAMPLES),
                        help="sample data to open when no PATH is given")
    parser.set_defaults(handler=_view)


def _view(args: argparse.Namespace) -> int:
    import napari  # only here: the other commands stay headless

    from ._launch import launch

    launch(args.sample, paths=args.paths)
    napari.run()
    return 0


# --- subcommands ------------------------------------------------------------------
# Each entry adds one subcommand to the parser and sets ``handler``, a function
# of the parsed arguments returning the exit status. Import napari inside a
# handler so that the headless commands never load napari or Qt.

SUBCOMMANDS: list[Callable[[Subparsers], None]] = [
    _add_view,
    _add_run,
    _add_export_script,
    _add_operations,
]


def build_parser() -> argparse.ArgumentParser:
    """Return the ``napari-bioimg`` argument parser with every subcommand of SUBCOMMANDS."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="napari-bioimg",
        description="Classic microscopy image processing, headless: run pipelines "
        "saved from napari on many files.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 some files failed, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return 2
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
