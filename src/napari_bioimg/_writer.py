"""npe2 writer: an image or labels layer as a TIFF that keeps its voxel size.

napari's own TIFF writer stores no scale, so a result saved with it and run through
``napari-bioimg run`` takes sizes recorded in µm as pixels. This writer stores the
layer's spacing and unit as ``napari-bioimg run`` writes its results
(:func:`napari_bioimg.pipeline.io.write_image`): ImageJ TIFFs when the dtype allows,
read back with the same voxel size by this plugin's reader (and by Fiji).
"""

from typing import Any

import numpy as np

from .io_tiff import physical_unit
from .ops.planes import CHANNEL_LABELS, TIME_LABELS, spatial_count
from .pipeline.io import write_image

__all__ = ["write_labels_tiff", "write_tiff"]


def write_labels_tiff(path: str, data: Any, meta: dict) -> list[str]:
    """Write a labels layer as :func:`write_tiff`, marked so that the reader opens labels."""
    return write_tiff(path, data, meta, as_labels=True)


def write_tiff(path: str, data: Any, meta: dict, *, as_labels: bool = False) -> list[str]:
    """Write one layer (``data`` and its ``meta``, as napari passes them) to ``path``.

    The voxel size of the spatial axes in the last axis' unit (other length units
    converted to it); a time-lapse's frames and a mask's channels stay what they
    are; the layer's position (``translate``) is not stored (a TIFF has none).
    """
    # TypeError, not ValueError: napari's viewer.layers.save(..., plugin=...) takes a
    # ValueError for "not a writer for this file" and hides its message.
    if meta.get("multiscale"):
        raise TypeError("a multiscale layer is not written: save its full-resolution level")
    array = np.asarray(data)
    if array.ndim < 2:
        raise TypeError(f"a {array.ndim}D layer is not written as an image (shape {array.shape})")
    rgb = bool(meta.get("rgb", False))
    ndim = array.ndim - rgb
    # (a TIFF holds no mirror: a negative scale, napari's mirrored layer, is its size)
    scale = [abs(float(s)) for s in meta.get("scale", (1.0,) * ndim)][-ndim:]
    labels = [str(label).lower() for label in meta.get("axis_labels", ())][-ndim:]
    nsp = spatial_count(labels, ndim)  # (as the widgets: not a time-lapse's t, channels)
    units = list(meta.get("units") or ())[-ndim:]
    spacing, unit = _in_one_unit(scale[ndim - nsp :], units[ndim - nsp :] if units else [])
    # Channels first, as write_image takes them (a (t, c, y, x) layer: frames of channels)
    channel = next((i for i, label in enumerate(labels[: ndim - nsp]) if label in CHANNEL_LABELS),
                   None)
    if channel is not None:
        array = np.moveaxis(array, channel, 0)
        others = [i for i in range(ndim) if i != channel]
        pick = lambda values: [values[i] for i in others] if values else values  # noqa: E731
        interval = _frame_interval(pick(scale), pick(units), pick(labels), ndim - nsp - 1)
    else:
        interval = _frame_interval(scale, units, labels, ndim - nsp)
    # (spacing always given: it says how many axes are spatial, a TYX stays TYX)
    # (a slice distance the reader guessed stays a guess, as run writes it)
    guessed = nsp >= 3 and (meta.get("metadata") or {}).get("z_spacing_known") is False
    write_image(path, array, spacing if nsp >= 2 else None, unit,
                None if channel is None else 0, rgb=rgb, frame_interval=interval,
                labels=as_labels, z_guessed=guessed)
    return [path]


def _frame_interval(scale, units, labels, lead: int) -> tuple[float, str] | None:
    """``(interval, unit)`` of a time-lapse's frames (one ``t`` axis in a time unit)."""
    if lead != 1 or not labels or labels[0] not in TIME_LABELS or not units:
        return None
    unit = units[0]
    if not hasattr(unit, "dimensionality") or str(unit.dimensionality) != "[time]":
        return None
    return float(scale[0]), format(unit, "~").replace("µ", "u")  # (ImageJ text: ASCII)


def _in_one_unit(spacing: list[float], units: list) -> tuple[tuple[float, ...], str | None]:
    """``spacing`` in the last axis' unit ("µm"), converting other lengths; None: pixels."""
    if not units or physical_unit(units[-1]) is None:
        return tuple(spacing), None
    last = units[-1]
    converted = []
    for size, unit in zip(spacing, units, strict=True):
        if hasattr(unit, "dimensionality") and unit != last and physical_unit(unit) is not None:
            size = float((size * unit).to(last).magnitude)
        converted.append(size)
    return tuple(converted), physical_unit(last)
