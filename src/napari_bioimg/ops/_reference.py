"""The straightforward implementations that define the neighbourhood semantics.

These are the filters as first written (scipy's footprint filters and a line
decomposition with scipy's 1D filters); the compiled kernels in
:mod:`._neighbourhood` must give the same results. Tests and the benchmark
compare against them; the operations themselves no longer call them.
"""

from collections.abc import Callable

import numpy as np
from scipy import ndimage as ndi

from ._footprint import make_footprint, reach, row_widths

__all__ = [
    "reference_binary",
    "reference_extreme",
    "reference_mean",
    "reference_median",
    "reference_variance",
]

_TOLERANCE = 1e-9


# A ball or box is a stack of centred runs along the last axis. Filtering every
# row once per distinct run length with a 1D filter of constant cost per pixel
# (running sums, van Herk/Gil-Werman min/max in scipy's *_filter1d), then
# combining shifted rows, costs O(rows) per pixel instead of O(footprint size).


def _line_reduce(
    image: np.ndarray,
    footprint: np.ndarray,
    line_filter: Callable[[np.ndarray, int], np.ndarray],
    combine: Callable[..., np.ndarray],
) -> np.ndarray:
    extents = [s // 2 for s in footprint.shape]
    padded = np.pad(image, [(e, e) for e in extents], mode="edge")
    by_width: dict[int, list[tuple[int, ...]]] = {}
    for offset, width in row_widths(footprint).items():
        by_width.setdefault(width, []).append(offset)
    last = slice(extents[-1], extents[-1] + image.shape[-1])
    out = None
    for width, offsets in by_width.items():
        rows = line_filter(padded, width)
        for offset in offsets:
            window = tuple(
                slice(e + o, e + o + n)
                for e, o, n in zip(extents[:-1], offset, image.shape[:-1], strict=True)
            )
            block = rows[(*window, last)]
            out = block.copy() if out is None else combine(out, block, out=out)
    return out


def _box_sum_1d(padded: np.ndarray, width: int) -> np.ndarray:
    size = 2 * width + 1
    return ndi.uniform_filter1d(padded, size, axis=-1, mode="nearest") * size


def local_sum(image: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Sum of float64 ``image`` over ``footprint`` at every pixel (edges replicate)."""
    if footprint.all():
        return ndi.uniform_filter(image, footprint.shape, mode="nearest") * footprint.size
    return _line_reduce(image, footprint, _box_sum_1d, np.add)


def reference_extreme(image: np.ndarray, footprint: np.ndarray, which: str) -> np.ndarray:
    """Local minimum or maximum over ``footprint`` (edges replicate, dtype kept)."""
    is_bool = image.dtype == bool
    work = image.view(np.uint8) if is_bool else image
    if footprint.all():
        nd_filter = ndi.minimum_filter if which == "min" else ndi.maximum_filter
        result = nd_filter(work, size=footprint.shape, mode="nearest")
    else:
        line = ndi.minimum_filter1d if which == "min" else ndi.maximum_filter1d
        result = _line_reduce(
            work,
            footprint,
            lambda padded, width: line(padded, 2 * width + 1, axis=-1, mode="nearest"),
            np.minimum if which == "min" else np.maximum,
        )
    return result.view(bool) if is_bool else result




def reference_mean(block: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Local mean over ``fp`` as float32."""
    return (local_sum(block.astype(np.float64), fp) / fp.sum()).astype(np.float32)


def reference_variance(block: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Local population variance over ``fp`` as float32."""
    count = fp.sum()
    values = block.astype(np.float64)
    finite = values[np.isfinite(values)]
    values -= finite.mean() if finite.size else 0.0
    local_mean = local_sum(values, fp) / count
    local_square = local_sum(values * values, fp) / count
    return np.maximum(local_square - local_mean**2, 0).astype(np.float32)


def reference_median(block: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Local median over ``fp`` (``scipy.ndimage.median_filter``), dtype kept."""
    if block.dtype == bool:
        return reference_median(block.view(np.uint8), fp).view(bool)
    if fp.size == 1:
        return block.copy()
    return ndi.median_filter(block, footprint=fp, mode="nearest")


def reference_binary(mask: np.ndarray, radius: float, footprint: str, spacing,
                     which: str) -> np.ndarray:
    """Binary dilation (``which="max"``) or erosion (``"min"``) as first written.

    Balls by thresholding a distance transform, boxes by separable 1D maxima.
    """
    if which == "min":
        return ~reference_binary(~mask, radius, footprint, spacing, "max")
    if footprint == "box":
        out = mask.astype(np.uint8)
        for axis, extent in enumerate(reach(radius, spacing)):
            if extent:
                out = ndi.maximum_filter1d(out, 2 * extent + 1, axis=axis, mode="nearest")
        return out.astype(bool)
    if mask.all() or not mask.any():
        return mask.copy()
    distance = ndi.distance_transform_edt(~mask, sampling=spacing)
    return distance <= radius * (1 + _TOLERANCE)


def footprint_for(radius: float, footprint: str, spacing) -> np.ndarray:
    """The footprint the operations use (re-exported for tests and benchmarks)."""
    return make_footprint(radius, footprint, spacing)
