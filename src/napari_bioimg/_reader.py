"""npe2 reader: TIFF files and folders of TIFF slices, opened with their voxel size.

``get_reader`` is the manifest's reader command. It accepts ``.tif``/``.tiff`` files
(OME-TIFF, ImageJ, plain), a folder of TIFF slices, a glob pattern or a list of
TIFF files (stacked along Z in natural order), and, when ``bioio`` is installed,
CZI, ND2 and LIF files. The metadata reading lives in `napari_bioimg.io_tiff`,
which knows nothing of napari.
"""

import importlib.util
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .io_tiff import TiffImage, is_pattern, is_tiff, read_stack, read_tiff, tiff_paths

__all__ = ["BIOIO_SUFFIXES", "get_reader", "layer_data", "read_bioio", "read_tiffs"]

LayerData = tuple[Any, dict[str, Any], str]
ReaderFunction = Callable[[str | Sequence[str]], list[LayerData]]

BIOIO_SUFFIXES = (".czi", ".nd2", ".lif")
_AXIS_LABELS = {"Z": "z", "Y": "y", "X": "x", "T": "t"}
# Metadata that is either shown elsewhere (spacing, unit) or too big for a layer.
_NOT_IN_METADATA = (
    "channel_axis", "rgb", "channel_names", "contrast_limits", "colormaps", "luts", "layer"
)


def get_reader(path: str | Sequence[str]) -> ReaderFunction | None:
    """Return a reader for ``path``, or None when this plugin cannot read it.

    Parameters
    ----------
    path : str or list of str
        A TIFF file, a folder holding TIFF files, a glob pattern, a list of TIFF
        files (opened as one stack), or a CZI/ND2/LIF file (needs ``bioio``).

    Returns
    -------
    callable or None
        ``reader(path) -> list of (data, kwargs, layer_type)``.
    """
    if isinstance(path, str | os.PathLike):
        text = os.fspath(path)
        if os.path.isdir(text):
            return read_tiffs if _has_tiffs(text) else None
        if is_pattern(text):
            return read_tiffs if _has_tiffs(text) else None
        if is_tiff(text):
            return read_tiffs
        if Path(text).suffix.lower() in BIOIO_SUFFIXES:
            # (without bioio: a reader that says what to install, not napari's "refused")
            return read_bioio if _bioio_available() else _needs_bioio
        return None
    paths = [os.fspath(p) for p in path]
    if paths and all(is_tiff(p) for p in paths):
        return read_tiffs
    return None


def _has_tiffs(source: str) -> bool:
    try:
        return bool(tiff_paths(source))
    except (FileNotFoundError, ValueError):
        return False


def _bioio_available() -> bool:
    return importlib.util.find_spec("bioio") is not None


def _needs_bioio(path: str | Sequence[str]) -> list[LayerData]:
    """The reader of a CZI, ND2 or LIF file without bioio: it says what to install."""
    raise ImportError(
        f"{Path(os.fspath(path)).name}: CZI, ND2 and LIF files open with bioio: "
        'pip install "napari-bioimg[formats]", then open it again'
    )


def _stack_name(paths: Sequence[str]) -> str:
    """Name a stack of slices after what their names share (``banana0002..`` -> banana)."""
    stems = [Path(p).stem for p in paths]
    prefix = os.path.commonprefix(stems).rstrip("0123456789_-. ")
    return prefix or Path(paths[0]).parent.name or stems[0]


def _file_name(path: str) -> str:
    name = Path(path).name
    for suffix in (".ome.tiff", ".ome.tif", ".tiff", ".tif"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def read_tiffs(path: str | Sequence[str]) -> list[LayerData]:
    """Read a TIFF file, or TIFF slices as one stack, into napari layer data.

    A single TIFF file that is itself a stack is read as is; a folder, a glob pattern
    or a list of files is stacked along a new Z axis (see `io_tiff.read_stack`).
    """
    if isinstance(path, str | os.PathLike) and os.path.isfile(path):
        try:
            image = read_tiff(path)
        except ValueError as error:  # (napari's notification names no file: say which)
            file = Path(os.fspath(path)).name
            if file in str(error):
                raise
            raise ValueError(f"{file}: {error}") from error
        name = _file_name(os.fspath(path))
    else:
        image = read_stack(path)
        source = os.fspath(path) if isinstance(path, str | os.PathLike) else None
        if source is not None and os.path.isdir(source):
            name = Path(source).name
        else:
            name = _stack_name(image.extra["paths"])
    return layer_data(image, name)


def _units(image: TiffImage) -> tuple[str | None, ...] | None:
    """One unit per scaled axis: the length unit on Z/Y/X, the frame interval's on T."""
    length = image.unit if image.unit is not None and _unit_is_known(image.unit) else None
    time = image.extra.get("time_unit")
    units = tuple(
        length if a in "ZYX" else time if a == "T" else None for a in image.scale_axes
    )
    return None if all(u is None for u in units) else units


def _unit_is_known(unit: str) -> bool:
    """Tell whether napari (pint) understands ``unit``; an unknown one would fail."""
    import pint

    try:
        pint.get_application_registry().parse_expression(unit)
    except (pint.errors.UndefinedUnitError, ValueError, AttributeError, TypeError):
        return False
    return True


def layer_data(image: TiffImage, name: str) -> list[LayerData]:
    """Turn a `TiffImage` into napari LayerData: one image layer, or one per channel.

    The layer kwargs hold ``scale`` and ``units`` from the file, ``axis_labels``,
    and ``metadata`` with the axes, where the sizes came from, the source path(s),
    and ``z_spacing_known`` (False when the slice distance was guessed).
    """
    extra = image.extra
    metadata = {k: v for k, v in extra.items() if k not in _NOT_IN_METADATA}
    # The axes of each layer's data: the channel axis is split off.
    channel_axis = extra["channel_axis"]
    if channel_axis is not None:
        axes = extra["axes"]
        metadata["axes"] = axes[: channel_axis % len(axes)] + axes[channel_axis % len(axes) + 1 :]
    if image.unit is not None:
        metadata["unit"] = image.unit
    units = _units(image)
    labels = tuple(_AXIS_LABELS.get(a, a.lower()) for a in image.scale_axes)
    kwargs: dict[str, Any] = {"scale": image.spacing}
    if channel_axis is None:
        kwargs.update(name=name, axis_labels=labels, metadata=metadata)
        if units is not None:
            kwargs["units"] = units
        if extra.get("layer") == "labels" and image.data.dtype.kind in "iub":
            return [(image.data, kwargs, "labels")]  # (saved from a labels layer)
        kwargs["rgb"] = extra["rgb"]
        if extra["contrast_limits"]:
            kwargs["contrast_limits"] = extra["contrast_limits"][0]
        return [(image.data, kwargs, "image")]
    if extra.get("layer") == "labels" and image.data.dtype.kind in "iub":
        # one labels layer, its channels a leading axis, as the writer had it (a mask per
        # colour of an RGB image)
        kwargs.update(
            name=name, scale=(1.0, *image.spacing), axis_labels=("channel", *labels),
            metadata=metadata,
        )
        if units is not None:
            kwargs["units"] = ("pixel", *units)
        return [(np.moveaxis(image.data, channel_axis, 0), kwargs, "labels")]
    n_channels = image.data.shape[channel_axis]
    names = extra["channel_names"] or [f"ch{i}" for i in range(n_channels)]
    # napari spreads per-channel lists over the layers; giving every entry as a list
    # keeps a tuple like ("µm", "µm", "µm") from being read as one unit per channel.
    kwargs = {
        "channel_axis": channel_axis,
        "name": [f"{name} [{channel}]" for channel in names],
        "scale": [image.spacing] * n_channels,
        "axis_labels": [labels] * n_channels,
        "metadata": [{**metadata, "channel": channel} for channel in names],
        "rgb": extra["rgb"],
    }
    if units is not None:
        kwargs["units"] = [units] * n_channels
    if extra["contrast_limits"] and len(extra["contrast_limits"]) == n_channels:
        kwargs["contrast_limits"] = list(extra["contrast_limits"])
    colormaps = extra["colormaps"]
    if colormaps and len(colormaps) == n_channels and all(colormaps):
        kwargs["colormap"] = list(colormaps)
    return [(image.data, kwargs, "image")]


def read_bioio(path: str | Sequence[str]) -> list[LayerData]:
    """Read a CZI, ND2 or LIF file through ``bioio`` (with its format plugin).

    Singleton T and Z axes are dropped; channels become layers. The physical pixel
    sizes reported by bioio are in micrometres.
    """
    from bioio import BioImage

    if not isinstance(path, str | os.PathLike):
        if len(path) != 1:
            raise ValueError("bioio files are opened one at a time, not as a stack")
        path = path[0]
    bio = BioImage(path)
    data = np.asarray(bio.get_image_data("TCZYX"))
    sizes = bio.physical_pixel_sizes
    axes = "TCZYX"
    for letter in "TZ":
        index = axes.index(letter)
        if data.shape[index] == 1:
            data = np.take(data, 0, axis=index)
            axes = axes.replace(letter, "")
    found = {
        letter: float(value)
        for letter, value in zip("ZYX", (sizes.Z, sizes.Y, sizes.X), strict=True)
        if value is not None and value > 0
    }
    channel_axis = axes.index("C") if data.shape[axes.index("C")] > 1 else None
    if channel_axis is None:
        data = np.take(data, 0, axis=axes.index("C"))
        axes = axes.replace("C", "")
    spacing = tuple(found.get(a, 1.0) for a in axes if a != "C")
    extra: dict[str, Any] = {
        "axes": axes,
        "channel_axis": channel_axis,
        "rgb": False,
        "channel_names": list(bio.channel_names) if channel_axis is not None else None,
        "spacing_source": "bioio",
        "contrast_limits": None,
        "colormaps": None,
        "path": os.fspath(path),
    }
    if "Z" in axes:
        extra["z_spacing_known"] = "Z" in found
    unit = "µm" if found else None
    return layer_data(TiffImage(data, spacing, unit, extra), Path(path).stem)
