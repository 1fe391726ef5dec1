"""npe2 writer: an image or labels layer as a TIFF that keeps its voxel size.

napari's own TIFF writer stores no scale, so a result saved with it and run through
``napari-bioimg run`` takes sizes recorded in µm as pixels. This writer stores the
layer's spacing and unit as ``napari-bioimg run`` writes its results
(:func:`napari_bioimg.pipeline.io.write_image`): ImageJ TIFFs when the dtype allows,
read back with the same voxel size by this plugin's reader (and by Fiji).
"""

from typing import Any

import numpy as np

from .pipeline.io import write_image

__all__ = ["write_tiff"]

_BATCH = ("channel", "t", "time")  # axis labels that are not spatial (as the widgets)


def write_tiff(path: str, data: Any, meta: dict) -> list[str]:
    """Write one layer (``data`` and its ``meta``, as napari passes them) to ``path``.

    The voxel size of the spatial axes in the last axis' unit (other length units
    converted to it); a time-lapse's frames and a mask's channels stay what they
    are; the layer's position (``translate``) is not stored (a TIFF has none).
    """
    if meta.get("multiscale"):
        raise ValueError("a multiscale layer is not written: save its full-resolution level")
    array = np.asarray(data)
    rgb = bool(meta.get("rgb", False))
    ndim = array.ndim - rgb
    scale = [float(s) for s in meta.get("scale", (1.0,) * ndim)][-ndim:]
    labels = [str(label).lower() for label in meta.get("axis_labels", ())][-ndim:]
    nsp = min(ndim, 3)
    batch = [i for i, label in enumerate(labels[-nsp:]) if label in _BATCH]
    if batch:
        nsp -= batch[-1] + 1
    units = list(meta.get("units") or ())[-ndim:]
    spacing, unit = _in_one_unit(scale[ndim - nsp :], units[ndim - nsp :] if units else [])
    channel_axis = 0 if labels and labels[0] == "channel" else None
    # (spacing always given: it says how many axes are spatial, a TYX stays TYX)
    write_image(path, array, spacing if nsp >= 2 else None, unit, channel_axis, rgb=rgb)
    return [path]


def _in_one_unit(spacing: list[float], units: list) -> tuple[tuple[float, ...], str | None]:
    """``spacing`` in the last axis' unit ("µm"), converting other lengths; None: pixels."""
    if not units or _text(units[-1]) is None:
        return tuple(spacing), None
    last = units[-1]
    converted = []
    for size, unit in zip(spacing, units, strict=True):
        if hasattr(unit, "dimensionality") and unit != last and _text(unit) is not None:
            size = float((size * unit).to(last).magnitude)
        converted.append(size)
    return tuple(converted), _text(last)


def _text(unit) -> str | None:
    """A unit as text ("µm"), None for pixels or none."""
    if unit is None:
        return None
    text = format(unit, "~") if hasattr(unit, "dimensionality") else str(unit)
    return None if text in ("", "pixel", "px", "None") else text
