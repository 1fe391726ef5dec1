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
    """Write one layer (``data`` and its ``meta``, as napari passes them) to ``path``."""
    array = np.asarray(data)
    rgb = bool(meta.get("rgb", False))
    ndim = array.ndim - rgb
    scale = [float(s) for s in meta.get("scale", (1.0,) * ndim)][-ndim:]
    labels = [str(label).lower() for label in meta.get("axis_labels", ())][-ndim:]
    nsp = min(ndim, 3)
    batch = [i for i, label in enumerate(labels[-nsp:]) if label in _BATCH]
    if batch:
        nsp -= batch[-1] + 1
    spacing = tuple(scale[ndim - nsp :]) if nsp >= 2 else None
    unit = _unit(meta.get("units"))
    if unit is None and spacing is not None and set(spacing) == {1.0}:
        spacing = None  # (no voxel size: pixels)
    channel_axis = 0 if labels and labels[0] == "channel" else None
    write_image(path, array, spacing, unit, channel_axis)
    return [path]


def _unit(units) -> str | None:
    """The last axis' unit as text ("µm"), None for pixels or none."""
    if not units:
        return None
    unit = units[-1]
    text = format(unit, "~") if hasattr(unit, "dimensionality") else str(unit)
    return None if text in ("", "pixel", "px", "None") else text
