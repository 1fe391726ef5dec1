"""Neighbourhood filters of one 2D or 3D block on the compiled kernels.

Each function takes one block (no batch axes) and a footprint from
:func:`._footprint.make_footprint`, and returns what the reference
implementation in :mod:`._reference` returns: float32 for sums, the input
dtype for rank filters. Boxes take the separable paths whose cost does not
grow with the radius; balls take the run (line) decomposition.
"""

import functools
import inspect

import numpy as np
from scipy import ndimage as ndi

from . import _kernels as kernels
from ._box import box_extreme
from ._checks import check_memory

__all__ = ["local_extreme", "local_mean", "local_median", "local_variance"]

# A float median through ranks (np.unique) pays a sort; below this many
# footprint pixels scipy's selection is cheaper.
_FLOAT_MEDIAN_MIN_PIXELS = 10
# Up to this many footprint pixels a sorting network over whole rows beats
# the sliding histogram.
_NETWORK_MAX_PIXELS = 33
_HISTOGRAM_BITS = 16
# Above this many histogram bins per footprint pixel the median walks through
# block counts: the dense walk wins below it even on uniform noise (measured
# crossover 200-500 bins per pixel from 29 to 515 pixels, 12 to 16 bits).
_SPARSE_BINS_PER_PIXEL = 256


def _as_3d(block: np.ndarray) -> np.ndarray:
    """A native-endian, C-contiguous ``(planes, rows, columns)`` view or copy."""
    work = block
    if not work.dtype.isnative:
        work = work.astype(work.dtype.newbyteorder("="))
    work = np.ascontiguousarray(work)
    return work.reshape((1,) * (3 - work.ndim) + work.shape)


def _reach3(footprint: np.ndarray) -> tuple[int, int, int]:
    shape = (1,) * (3 - footprint.ndim) + footprint.shape
    return tuple(s // 2 for s in shape)


def _is_box(footprint: np.ndarray) -> bool:
    return bool(footprint.all())


def _sums(
    block: np.ndarray, footprint: np.ndarray, variance: bool, planes=None, dtype=np.float32
) -> np.ndarray:
    if block.dtype.kind == "f":
        finite = np.isfinite(block)
        if not finite.all():
            return _sums_not_finite(block, finite, footprint, variance, planes)
        scaled = _sums_scaled(block, footprint, variance, planes)
        if scaled is not None:
            return scaled
    work = _as_3d(block.view(np.uint8) if block.dtype == bool else block)
    out = np.empty(work.shape, dtype)
    # Sums of values shifted by the mean keep E[x^2] - E[x]^2 accurate; the
    # mean itself is summed unshifted, exactly for integer data. 8- and 16-bit
    # images are summed unshifted too: their sums of squares are exact integers in
    # float64 (whatever part of the image is read: chunks and planes give the same
    # values as the whole image), cancelling to ~1e-6 at most.
    small = work.dtype.kind in "iu" and work.dtype.itemsize <= 2
    offset = float(np.mean(work, dtype=np.float64)) if variance and not small else 0.0
    if _is_box(footprint):
        kernels.run_parallel(
            kernels.box_sums, work, out, *_reach3(footprint), offset, variance, planes=planes
        )
    else:
        table = kernels.row_table(footprint)
        kernels.run_parallel(
            kernels.rows_sums, work, out, table.slice_dz, table.slice_start, table.row_dy,
            table.row_w, float(table.count), offset, variance, planes=planes,
        )
    return out.reshape(block.shape)


def _sums_scaled(block, footprint, variance: bool, planes):
    """:func:`_sums` of float values whose window sums would overflow float64, else None.

    The running sums of values near the float64 maximum overflow to infinity and
    then give ``inf - inf`` (NaN) along the row. Such values are summed scaled by
    a power of two (exact), and the float32 results scaled back: infinity where
    the true mean or variance is beyond float32, as a direct sum cast gives it;
    variances are capped by their window's half range squared. (The scaled sums
    are kept in float64: ordinary values scaled down so far would be zero in
    float32.)
    """
    if block.size == 0 or block.dtype.itemsize < 8:  # (float32 sums fit float64)
        return None
    # Keep sums (and squared sums) of the footprint's values well inside float64.
    count = max(float(footprint.sum()), 1.0)
    largest = max(-float(np.min(block)), float(np.max(block)))
    limit = 2.0**400 if variance else 2.0**1000
    if largest * count < limit:
        return None
    shift = int(np.frexp(largest)[1]) - 100  # the largest value becomes about 2**100
    scaled = np.ldexp(block.astype(np.float64), -shift)
    result = _sums(scaled, footprint, variance, planes, dtype=np.float64)
    if variance:
        # The running sums' rounding, of the order of the largest square, would
        # read as a variance beyond float32 in windows far from the largest values:
        # a variance is at most (half its window's range) squared, 0 for equal values.
        half_range = (
            local_extreme(scaled, footprint, "max", planes)
            - local_extreme(scaled, footprint, "min", planes)
        ) / 2
        result = np.minimum(result, half_range * half_range)
    with np.errstate(over="ignore"):
        return np.ldexp(result, 2 * shift if variance else shift).astype(np.float32)


def _sums_not_finite(block, finite, footprint, variance: bool, planes) -> np.ndarray:
    """:func:`_sums` of float data holding NaN or infinities, as a direct sum gives them.

    The kernels' running sums would carry a NaN (or ``inf - inf``) along the
    rest of the row: the finite values are summed alone, and the windows that
    hold a NaN, an infinity of each sign or (variance) any of them are counted
    by the same kernels on indicator images, then set: NaN where a NaN or both
    infinities meet, else the infinity; the variance of any of them is NaN.
    """
    check_memory(block.nbytes + block.size * 10, "a mean or variance of NaN or infinities")
    result = _sums(np.where(finite, block, 0), footprint, variance, planes)

    def reached(indicator: np.ndarray) -> np.ndarray:
        return _sums(indicator.view(np.uint8), footprint, False, planes) > 0

    if variance:
        result[reached(~finite)] = np.nan
        return result
    positive = np.isposinf(block)
    negative = np.isneginf(block)
    with_positive = reached(positive) if positive.any() else None
    with_negative = reached(negative) if negative.any() else None
    if with_positive is not None:
        result[with_positive] = np.inf
    if with_negative is not None:
        result[with_negative] = -np.inf
        if with_positive is not None:
            result[with_positive & with_negative] = np.nan
    nan = np.isnan(block)
    if nan.any():
        result[reached(nan)] = np.nan
    return result


def local_mean(block: np.ndarray, footprint: np.ndarray, planes=None) -> np.ndarray:
    """Mean over ``footprint`` at every pixel (edges replicate), float32.

    ``planes=(start, stop)``, here and in the other functions, computes only
    those planes of a 3D block (a preview of one plane); the others are zero
    or, on paths that cannot restrict, computed too.
    """
    return _sums(block, footprint, False, planes)


def local_variance(block: np.ndarray, footprint: np.ndarray, planes=None) -> np.ndarray:
    """Population variance over ``footprint`` at every pixel, float32."""
    return _sums(block, footprint, True, planes)


def _nan_windows(local):
    """Make a rank filter NaN wherever its window holds a NaN (as the mean is).

    The filter runs on the data with NaN as 0; the windows that reached a NaN are
    the dilation of the NaN pixels by the footprint (the same planes computed).
    """
    signature = inspect.signature(local)

    @functools.wraps(local)
    def ranked(block, footprint, *args, **kwargs):
        if block.dtype.kind == "f" and np.isnan(np.min(block)):  # (min: NaN if any is)
            nan = np.isnan(block)
            planes = signature.bind(block, footprint, *args, **kwargs).arguments.get("planes")
            filled = np.where(nan, block.dtype.type(0), block)
            out = local(filled, footprint, *args, **kwargs)
            reached = local_extreme(nan.view(np.uint8), footprint, "max", planes)
            out[reached.astype(bool)] = np.nan
            return out
        return local(block, footprint, *args, **kwargs)

    return ranked


@_nan_windows
def local_extreme(block: np.ndarray, footprint: np.ndarray, which: str, planes=None) -> np.ndarray:
    """Minimum (``which="min"``) or maximum (``"max"``) over ``footprint``; dtype kept."""
    work = _as_3d(block.view(np.uint8) if block.dtype == bool else block)
    out = np.empty_like(work)
    is_max = which == "max"
    if _is_box(footprint):
        box_extreme(work, out, *_reach3(footprint), is_max)
    else:
        kernels.run_parallel(
            kernels.rows_extreme, work, out, *kernels.folded(kernels.row_table(footprint)),
            is_max, planes=planes,
        )
    out = out.reshape(block.shape)
    return out.view(bool) if block.dtype == bool else out.astype(block.dtype, copy=False)


def _histogram_median(
    values: np.ndarray, footprint: np.ndarray, nbits: int, planes=None
) -> np.ndarray:
    work = _as_3d(values)
    out = np.empty_like(work)
    table = kernels.row_table(footprint)
    nbits = max(2, nbits + nbits % 2)
    # Block counts pay off when the footprint's values are spread thin.
    use_coarse = (1 << nbits) > _SPARSE_BINS_PER_PIXEL * table.count
    # Parts from a queue: a row's cost varies with the image, a thread's with the machine.
    kernels.run_parallel(
        kernels.rows_median, work, out, table.slice_dz, table.slice_start, table.row_dy,
        table.row_w, nbits, use_coarse, parts_per_thread=4, planes=planes,
    )
    return out.reshape(values.shape)


@_nan_windows
def local_median(block: np.ndarray, footprint: np.ndarray, planes=None) -> np.ndarray:
    """Median over ``footprint`` (an odd number of pixels); dtype kept.

    Footprints of at most 33 pixels sort them with a network over whole rows;
    larger ones, for integers spanning fewer than 2**16 values (all uint8/uint16
    images, bool), take the sliding-histogram kernel; floats with at most 2**16 distinct
    values take it on their ranks; anything else uses scipy.
    """
    if footprint.sum() == 1:
        return block.copy()
    if footprint.sum() <= _NETWORK_MAX_PIXELS:  # (no NaN here: _nan_windows)
        work = _as_3d(block.view(np.uint8) if block.dtype == bool else block)
        out = np.empty_like(work)
        table = kernels.row_table(footprint)
        kernels.run_parallel(
            kernels.rows_median_network, work, out, table.slice_dz, table.slice_start,
            table.row_dy, table.row_w, planes=planes,
        )
        out = out.reshape(block.shape)
        return out.view(bool) if block.dtype == bool else out
    if block.dtype == bool:
        return _histogram_median(block.view(np.uint8), footprint, 1, planes).view(bool)
    if block.dtype.kind in "iu":
        low, high = int(block.min()), int(block.max())
        span = high - low
        if span < 1 << _HISTOGRAM_BITS:
            if block.dtype.kind == "u" and block.dtype.itemsize <= 2:
                return _histogram_median(block, footprint, max(high, 1).bit_length(), planes)
            # The difference is taken modulo 2**bits (int8, int16 spans can exceed
            # their maximum): read unsigned, it is the true offset, below 2**16.
            unsigned = np.dtype(f"u{block.dtype.itemsize}")
            shifted = (block - np.array(low, block.dtype)).view(unsigned).astype(np.uint16)
            result = _histogram_median(shifted, footprint, max(span, 1).bit_length(), planes)
            return (result.astype(block.dtype) + np.array(low, block.dtype)).astype(block.dtype)
        if block.dtype.itemsize == 8:  # scipy's median rounds 64-bit integers through float64
            return _rank_median(block, footprint, planes)
    elif footprint.sum() >= _FLOAT_MEDIAN_MIN_PIXELS:
        return _rank_median(block, footprint, planes)
    return ndi.median_filter(block, footprint=footprint, mode="nearest")


def _rank_median(block: np.ndarray, footprint: np.ndarray, planes) -> np.ndarray:
    """The median of the values' ranks (exact, small numbers), read back as values."""
    values, ranks = np.unique(block, return_inverse=True)
    ranks = ranks.reshape(block.shape)
    if values.size <= 1 << _HISTOGRAM_BITS:
        nbits = max(values.size - 1, 1).bit_length()
        result = _histogram_median(ranks.astype(np.uint16), footprint, nbits, planes)
    else:
        result = ndi.median_filter(ranks, footprint=footprint, mode="nearest")
    return values[result]
