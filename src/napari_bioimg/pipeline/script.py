"""Export a pipeline as a standalone, readable Python script.

The script calls :mod:`napari_bioimg.ops` functions directly, one line per
step with every parameter spelled out, and carries verbatim copies of the few
helpers ``napari-bioimg run`` uses (voxel-size tracking, per-channel runs,
TIFF writing), so that it writes the same bytes as the command. It reads
TIFFs with :func:`napari_bioimg.io_tiff.read_tiff`, the reader napari uses.
"""

import importlib
import inspect
import math

from .. import ops
from ..ops._checks import image_axes, looks_rgb
from ..ops.registry import Operation
from . import io, spacing
from .core import INPUT, Pipeline

__all__ = ["pipeline_script"]

# Operations that change the voxel size of their result (see spacing.spacing_after).
_RESIZING = ("resample_isotropic", "subsample", "project", "set_voxel_size", "set_axis_role")
_HELPERS = (
    looks_rgb, image_axes, spacing.spacing_after, spacing.spacing_of_result, io.read_image_guess,
    io.in_pixels, io.process_image, io.colours_kept, io.result_axes, io.write_image,
)

_HEADER = '''\
"""Image-processing pipeline exported from napari-bioimg.

Run it as

    python {name} INPUT.tif OUTPUT.tif

It reads INPUT.tif (or a folder of slices, as one stack) with its voxel size,
runs the steps in ``process`` (on each
channel separately, as napari shows channels as separate layers) and writes
OUTPUT.tif exactly as ``napari-bioimg run`` does. Sizes such as sigma, radius
and min_size are in the unit of the voxel size.
"""

import os
import sys
import traceback

import numpy as np
import tifffile

{imports}
'''

_MAIN = '''\
if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: python {sys.argv[0]} INPUT.tif OUTPUT.tif")
    if os.path.exists(sys.argv[1]) and os.path.exists(sys.argv[2]) and (
        os.path.samefile(sys.argv[1], sys.argv[2])
    ):
        sys.exit(f"{sys.argv[2]} is the input: write the result to another file")
    if not os.path.exists(sys.argv[1]):
        sys.exit(f"{sys.argv[1]}: no such file or folder")
    try:
        image, spacing, unit, channel_axis, frames, z_guessed, kind, names, luts, ranges = (
            read_image_guess(sys.argv[1])
        )
    except Exception as error:  # (not a TIFF, a corrupt file: zlib.error, ...)
        sys.exit(f"cannot read {sys.argv[1]}: {error}")
{uncalibrated}{z_guessed}    try:
        result, spacing = process_image(
            {process}, image, spacing, channel_axis
        )
    except Exception as error:  # (bad values for this image: one line naming the step)
        steps = [f for f in traceback.extract_tb(error.__traceback__) if f.name == "process"]
        where = f" at line {steps[-1].lineno} ({steps[-1].line})" if steps else ""
        sys.exit(f"processing {sys.argv[1]} failed{where}: {error}")
{result_unit}{ranges}    if frames is not None:  # (every n-th frame kept: n times the interval)
        frames = (frames[0] * {frame_step}, frames[1])
    rgb = colours_kept(image, result, channel_axis) or None  # (None: from the result)
    result, channel_axis, frames = result_axes(
        result, spacing, channel_axis, frames, role={role}, rgb=rgb
    )
    try:
        os.makedirs(os.path.dirname(os.path.abspath(sys.argv[2])), exist_ok=True)
        write_image(
            sys.argv[2], result, spacing, unit, channel_axis, rgb, frames, {labels}, names,
            z_guessed, luts, ranges,
        )
    except Exception as error:  # (no room, no permission: one line, as run says it)
        sys.exit(f"cannot write {sys.argv[2]}: {error}")
'''


def _uncalibrated_check(pipeline: Pipeline) -> str:
    """The script's note for files without a voxel size, as ``napari-bioimg run`` prints it."""
    from .batch import guessed_z_note, role_z_note, uncalibrated_note

    check = ""
    note = uncalibrated_note(pipeline)
    if note:
        check += (
            "    if in_pixels(spacing, unit):\n"
            f"        print({_literal('note: ' + note)}, file=sys.stderr)\n"
        )
    before, _, after = guessed_z_note(pipeline, "\0").partition("\0")
    if before:  # (as the command: the note of sizes in pixels first)
        check += (
            f"    if z_guessed{' and not in_pixels(spacing, unit)' if note else ''}:\n"
            f"        z = f\"{{spacing[0]:g}}\" + (f\" {{unit}}\" if unit else \"\")\n"
            f"        print({_literal('note: ' + before)} + z + {_literal(after)}, "
            "file=sys.stderr)\n"
        )
    before, _, after = role_z_note(pipeline, "\0").partition("\0")
    if before:  # (a file without z whose leading axis a step names z)
        check += (
            f"    if len(spacing) < 3{' and not in_pixels(spacing, unit)' if note else ''}:\n"
            f"        width = f\"{{spacing[-1]:g}}\" + (f\" {{unit}}\" if unit else \"\")\n"
            f"        print({_literal('note: ' + before)} + width + {_literal(after)}, "
            "file=sys.stderr)\n"
        )
    return check


def _unit_line(pipeline: Pipeline) -> str:
    """The script's line giving the result the unit a ``set_voxel_size`` step names, or ""."""
    unit = pipeline.result_unit(None)
    if unit is None:
        return ""
    return f"    unit = {_literal(unit)}  # (set by a set_voxel_size step)\n"


def _z_guessed_line(pipeline: Pipeline) -> str:
    """The script's line telling whether the result's z is a guess, as ``run`` tells it."""
    if_guessed, if_known = pipeline.result_z_guessed(True), pipeline.result_z_guessed(False)
    if if_guessed != if_known:  # (no step sets or drops z: the file's guess stays one)
        return "    z_guessed = z_guessed or len(spacing) < 3  # (a guess is written as one)\n"
    why = (
        "dropped by set_axis_role: named again, the pixel width" if if_guessed
        else "set by a set_voxel_size step"
    )
    return f"    z_guessed = {if_guessed}  # (z {why})\n"


def _literal(value) -> str:
    """Python source for a plain parameter value, strings in double quotes."""
    if isinstance(value, str) and '"' not in value and "\\" not in value:
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'  # inf, -inf, nan
    return repr(value)


def _function_name(op: Operation, where: str, imports: list[str]) -> str:
    """Return the name the script calls ``op`` by, adding the import it needs."""
    if getattr(ops, op.name, None) is op.function:
        return f"ops.{op.name}"
    module, name = op.function.__module__, op.function.__name__
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        found = None
    if module == "__main__" or found is not op.function:
        raise ValueError(
            f"{where}: cannot export {op.name!r}: its function {name!r} cannot be imported "
            f"from module {module!r}; define it in an importable module"
        )
    # The module under an alias of its own: functions of the same name from two
    # modules, or named like the script's own (``process``), stay apart.
    line = next((x for x in imports if x.startswith(f"import {module} as ")), None)
    if line is None:
        line = f"import {module} as _module{sum(x.startswith('import ') for x in imports) + 1}"
        imports.append(line)
    return f"{line.rsplit(' as ', 1)[1]}.{name}"


# (python script.py searches the script's folder, not the current one)
_YOUR_IMPORTS = """
try:  # (the modules of your operations)
{lines}except ImportError as error:
    sys.exit(
        f"cannot import the module of an operation ({{error}}): put its folder on PYTHONPATH "
        f"(PYTHONPATH=its/folder python {{sys.argv[0]}} INPUT.tif OUTPUT.tif), install it, "
        "or put this script beside it"
    )"""


def _import_lines(imports: list[str]) -> str:
    """The script's imports, your operations' modules in a ``try``: one line if missing."""
    ours = "\n".join(line for line in imports if line.startswith("from "))
    yours = "".join(f"    {line}\n" for line in imports if line.startswith("import "))
    return ours + ("\n" + _YOUR_IMPORTS.format(lines=yours) if yours else "")


def pipeline_script(pipeline: Pipeline, name: str = "pipeline.py") -> str:
    """Return the source of a script running ``pipeline`` on a TIFF file.

    Parameters
    ----------
    pipeline : Pipeline
    name : str
        The script's file name, for its usage message.

    Returns
    -------
    str
        Python source using numpy, tifffile, :mod:`napari_bioimg.ops`,
        :func:`napari_bioimg.io_tiff.read_tiff` (``read_stack``) and the modules of
        user-registered operations.

    Raises
    ------
    ValueError
        Naming the step, when a user-registered function cannot be imported
        (e.g. defined in ``__main__`` or a notebook).
    """
    imports = [
        "from napari_bioimg import ops", "from napari_bioimg.io_tiff import read_stack, read_tiff"
    ]
    names = {INPUT: "image"}
    spacings = {INPUT: "spacing"}
    body = []
    # Parameters that differ on a labels input (a resampling's order: labels are
    # resampled by nearest neighbours, as in napari) are chosen when the script runs.
    on_images, on_labels = pipeline.for_input("image"), pipeline.for_input("labels")
    # As ``napari-bioimg run``: a side branch (a step the result does not come
    # from) is left out; the steps keep their numbers in the pipeline file.
    needed = {step.id for step in pipeline.making()}
    for index, step in enumerate(pipeline.steps):
        if step.id not in needed:
            body.append(f"# (step {index + 1}, {step.operation}, left out: the result "
                        "does not come from it)")
            continue
        op = pipeline.operation(index)
        where = f"step {index + 1} ({step.operation})"
        function = _function_name(op, where, imports)
        variable = f"step{index + 1}"
        # Your functions get a copy: as in the pipeline, they cannot change the
        # image that later steps read.
        builtin = function.startswith("ops.")
        arguments = [names[step.source] + ("" if builtin else ".copy()")]
        arguments += [
            f"{key}={_literal(value)}" if value == on_labels[index].parameters[key]
            else f"{key}={_literal(on_labels[index].parameters[key])} if labels_input else "
            f"{_literal(value)}"
            for key, value in on_images[index].parameters.items()
        ]
        if op.uses_spacing or op.needs_spacing:
            arguments.append(f"spacing={spacings[step.source]}")
        if step.id != variable:
            body.append(f"# step {step.id!r}")
        body.append(f"{variable} = {function}({', '.join(arguments)})")
        names[step.id] = variable
        spacings[step.id] = spacings[step.source]
        if not builtin:  # (a function may reduce a stack to a plane)
            spacings[step.id] = f"spacing{index + 1}"
            body.append(
                f"spacing{index + 1} = spacing_of_result({spacings[step.source]}, "
                f"image_axes({variable}))"
            )
        elif step.operation in _RESIZING:
            parameters = "{" + ", ".join(
                f'"{key}": {_literal(value)}' for key, value in step.parameters.items()
            ) + "}"
            spacings[step.id] = f"spacing{index + 1}"
            body.append(
                f"spacing{index + 1} = spacing_after("
                f'"{step.operation}", {parameters}, {spacings[step.source]}, '
                f"image_axes({names[step.source]}))"
            )
    last = pipeline.steps[-1].id if len(pipeline) else INPUT
    body.append(f"return {names[last]}, {spacings[last]}")
    by_kind = on_labels != on_images
    process = (
        ("def process(image, spacing, labels_input=False):\n" if by_kind
         else "def process(image, spacing):\n")
        + '    """Run the pipeline steps; return the result and its voxel size.'
        + ("\n\n    labels_input: the image is labels (napari-bioimg's mark in the file).\n"
           '    """\n' if by_kind else '"""\n')
        + "".join(f"    {line}\n" for line in body)
    )
    result_kinds = {pipeline.result_kind(kind) for kind in ("image", "labels")}
    helpers = "\n\n".join(inspect.getsource(helper) for helper in _HELPERS)
    return (
        _HEADER.format(name=name, imports=_import_lines(imports))
        + "\n\n"
        + process
        + "\n\n# --- helpers: copies of napari_bioimg.ops._checks, .pipeline.spacing and .io"
        + " -----------------------\n\n\n"
        + helpers
        + "\n\n"
        # (the placeholders filled before the notes' text, which holds "{unit}")
        + _MAIN.replace("{result_unit}", _unit_line(pipeline)).replace(
            "{ranges}", "" if pipeline.keeps_intensities() else
            "    ranges = None  # (new values: the input's display ranges would not fit)\n"
        ).replace(
            "{role}", _literal(pipeline.axis_role())
        ).replace("{frame_step}", str(pipeline.frame_step())).replace(
            "{labels}",
            'kind == "labels"' if len(result_kinds) == 2 else str(result_kinds == {"labels"}),
        ).replace(
            "{process}",
            'lambda data, size: process(data, size, kind == "labels")' if by_kind else "process",
        ).replace(
            "{z_guessed}", _z_guessed_line(pipeline)
        ).replace(
            "{uncalibrated}", _uncalibrated_check(pipeline)
        )
    )
