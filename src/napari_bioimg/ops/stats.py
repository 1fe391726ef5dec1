"""Image statistics: histogram, a summary ("insight") and display ranges.

An RGBA image's alpha is opacity, not intensity: the statistics are those of
its R, G and B values (a PNG's alpha of 255 made the mean of a dark image 133).
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ._checks import as_image, beyond_float, exact_offsets, without_alpha
from ._docs import fill_doc

__all__ = ["histogram", "insight", "percentile_range"]


def _finite_values(image) -> np.ndarray:
    """The values counted: finite ones, an RGBA image's alpha left out."""
    array = without_alpha(as_image(image, allow_rgb=True))
    if array.dtype == bool:
        array = array.view(np.uint8)
    if array.dtype.kind == "f":
        array = array[np.isfinite(array)]
        if array.size == 0:
            raise ValueError("image holds no finite values")
    return array


@fill_doc
def histogram(
    image: npt.ArrayLike,
    *,
    bins: int = 256,
    range: tuple[float, float] | None = None,  # noqa: A002
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the finite pixel values.

    Parameters
    ----------
    image : array_like
        Image with at least two axes (RGB(A) accepted: the values of R, G
        and B together, alpha left out); bool is counted as 0 and 1, NaN
        and infinite values are left out.
    bins : int, default 256
        Number of bins (positive). For integer images whose value range is
        smaller than ``bins`` (and no ``range``), one bin per integer value is
        used, centred on it.
    range : (float, float), optional
        Lower and upper edge; default the data's minimum and maximum.

    Returns
    -------
    counts : numpy.ndarray of int64
        Pixels per bin, 1D.
    edges : numpy.ndarray of float64
        ``len(counts) + 1`` bin edges, as ``numpy.histogram``.

    Raises
    ------
    ValueError
        If ``bins`` is not a positive integer, a float image holds no finite
        values, or ``image`` is empty or has fewer than two axes.
    %(real_numbers_error)s
    """
    values = _finite_values(image)
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    if range is None:
        if values.dtype.kind in "iu" and values.size:
            first, last = values.min(), values.max()
            if int(last) - int(first) + 1 <= bins:
                # One bin per value, counted on exact integers (64-bit values beyond
                # 2**53 are not all floats: numpy's bins of them fail).
                # (signed values in int64 first: int8 -100..100 wrapped in int8)
                offsets = ((values - first).astype(np.int64) if values.dtype.kind == "u"
                           else values.astype(np.int64) - np.int64(first))
                counts = np.bincount(offsets.ravel(), minlength=int(last) - int(first) + 1)
                edges = float(first) - 0.5 + np.arange(counts.size + 1, dtype=np.float64)
                return counts.astype(np.int64), edges
        if values.dtype.kind in "iu" and values.size:
            first, last = int(values.min()), int(values.max())
            if beyond_float(first, last):
                return _offset_histogram(values, first, last, bins)
        range = (float(values.min()), float(values.max()))  # noqa: A001
    if values.dtype.kind == "f" and values.dtype.itemsize < 8 and range[1] - range[0] > 1e37:
        values = values.astype(np.float64)  # (numpy bins in the data's type: overflow)
    if not np.isfinite(float(range[1]) - float(range[0])):
        # float64 values spanning more than float64 holds (-1.7e308 to 1.7e308): halved,
        # exactly, and the edges doubled back
        counts, edges = np.histogram(values / 2, bins=bins, range=(range[0] / 2, range[1] / 2))
        return counts.astype(np.int64), edges * 2
    counts, edges = np.histogram(values, bins=bins, range=range)
    return counts.astype(np.int64), edges


def _offset_histogram(values: np.ndarray, first: int, last: int, bins: int):
    """:func:`histogram` of 64-bit integers past 2**53, binned as offsets from ``first``.

    Their floats round together (numpy's bins of them failed: "Too many bins");
    the offsets are exact integers, counted over ``bins`` bins of their span.
    """
    offsets = exact_offsets(values, first)
    counts, edges = np.histogram(offsets, bins=bins, range=(0.0, float(last - first)))
    return counts.astype(np.int64), edges + float(first)


def _percentiles(values: np.ndarray, percentiles) -> np.ndarray:
    """Percentiles of ``values`` as numpy's (linear), interpolated in float64.

    numpy interpolates in the values' own type: between -20000 and 20000 in int16
    the difference wrapped (a median of 32768), and float32 values ±3e38 apart
    overflowed. The two order statistics around each percentile are found
    exactly (a partition) and only they are read as float64.
    """
    positions = np.asarray(percentiles, dtype=np.float64) / 100 * (values.size - 1)
    below = np.floor(positions).astype(np.intp)
    above = np.minimum(below + 1, values.size - 1)
    ordered = np.partition(values.ravel(), np.unique(np.concatenate([below, above])))
    low, high = ordered[below].astype(np.float64), ordered[above].astype(np.float64)
    fraction = positions - below
    with np.errstate(over="ignore", invalid="ignore"):
        found = low + (high - low) * fraction
    # (float64 values spanning more than float64 holds: weighted apart, no difference)
    return np.where(np.isfinite(found), found, low * (1 - fraction) + high * fraction)


@fill_doc
def percentile_range(
    image: npt.ArrayLike, *, lower: float = 0.0, upper: float = 95.0
) -> tuple[float, float]:
    """Display range from two percentiles of the finite values (e.g. 0 and 95).

    Fiji's "Auto" with 0.35 % saturation is ``lower=0.175, upper=99.825``.

    Parameters
    ----------
    image : array_like
        Image with at least two axes (RGB(A) accepted: the values of R, G
        and B together, alpha left out); NaN and infinite values are left out.
    lower, upper : float, default 0.0 and 95.0
        Percentiles from 0 to 100, ``lower < upper``; linear interpolation
        between values, as ``numpy.percentile``.

    Returns
    -------
    low, high : float
        The two values, in the image's intensity units.

    Raises
    ------
    ValueError
        If a percentile is not a number from 0 to 100, ``lower >= upper``, a
        float image holds no finite values, or ``image`` is empty or has fewer
        than two axes.
    %(real_numbers_error)s
    """
    for name, value in (("lower", lower), ("upper", upper)):
        if not isinstance(value, int | float | np.integer | np.floating) or not 0 <= value <= 100:
            raise ValueError(f"{name} must be a percentile between 0 and 100, got {value!r}")
    if lower >= upper:
        raise ValueError(f"lower ({lower}) must be smaller than upper ({upper})")
    values = _finite_values(image)
    low, high = _percentiles(values, [lower, upper])
    return float(low), float(high)


@fill_doc
def insight(
    image: npt.ArrayLike,
    *,
    percentiles: Sequence[float] = (1.0, 50.0, 99.0),
    spacing: Sequence[float] | None = None,
) -> dict:
    """Summary of an image, as stackview.insight shows it.

    Parameters
    ----------
    image : array_like
        Image with at least two axes (RGB(A) accepted: the values of R, G
        and B together, alpha left out).
    percentiles : sequence of float, default (1.0, 50.0, 99.0)
        Percentiles (0 to 100) of the finite values to report.
    spacing : sequence of float, optional
        Pixel size per axis; only reported, not checked.

    Returns
    -------
    dict
        ``shape``, ``dtype``, ``min``, ``max``, ``mean``, ``std`` (of the finite
        values; the sample standard deviation, n - 1 in the denominator, as
        ImageJ/Fiji's StdDev; 0 for one value), ``percentiles`` (mapping
        percentile -> value), ``nonfinite`` (count of NaN/inf) and ``spacing``
        (as given, as a tuple of floats, or None).

    Raises
    ------
    ValueError
        If a float image holds no finite values, or ``image`` is empty or has
        fewer than two axes.
    %(real_numbers_error)s
    """
    array = as_image(image, allow_rgb=True)
    values = _finite_values(array)
    low, high = values.min().item(), values.max().item()
    # (values near the float64 limit are scaled first: their squares overflow)
    size = max(abs(float(low)), abs(float(high)), 1.0)
    scale = size if size > 1e150 else 1.0
    as_float = values.astype(np.float64) / scale
    found = _percentiles(values, list(percentiles)) if len(percentiles) else []
    return {
        "shape": tuple(array.shape),
        "dtype": str(getattr(image, "dtype", array.dtype)),  # (float16 is read as float32)
        "min": low,
        "max": high,
        "mean": float(as_float.mean()) * scale,
        "std": float(as_float.std(ddof=1 if as_float.size > 1 else 0)) * scale,
        "percentiles": {float(p): float(v) for p, v in zip(percentiles, found, strict=True)},
        "nonfinite": int(without_alpha(array).size - values.size),
        "spacing": None if spacing is None else tuple(float(s) for s in spacing),
    }
