"""Global thresholds: manual and scikit-image's automatic histogram methods.

Foreground is strictly above the threshold (``image > value``), as in scikit-image.
A threshold is computed over the whole array (all planes and time points), like
Fiji's "stack histogram" option. An RGBA image's alpha (opacity, not
intensity) is left out: its value comes from the R, G and B values, and its
masks are those of R, G and B. Automatic values come from the finite pixels,
as Fiji's threshold ignores NaN pixels: NaN is then background (``NaN > t`` is
False), +inf foreground and -inf background.
"""

import math
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy import ndimage as ndi
from skimage import filters as skfilters
from skimage.exposure import histogram

from ._checks import (
    as_image,
    beyond_float,
    check_choice,
    check_header,
    exact_offsets,
    without_alpha,
)
from ._docs import fill_doc
from ._kernels import n_threads, thread_pool

__all__ = [
    "AUTOMATIC_METHODS",
    "METHODS",
    "above",
    "prepare_threshold",
    "scale_exponent",
    "threshold",
    "threshold_histogram",
    "threshold_value",
]

AUTOMATIC_METHODS = ("otsu", "li", "yen", "triangle", "isodata", "mean", "minimum")
METHODS = ("manual", *AUTOMATIC_METHODS)


@fill_doc
def threshold_value(
    image: npt.ArrayLike,
    *,
    method: str = "otsu",
    value: float | None = None,
    histogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> float:
    """Return the threshold of ``image`` by ``method``.

    Parameters
    ----------
    image : array_like
        Image with at least two axes (all axes, RGB colours included, are read
        together; an RGBA image's alpha is left out).
    method : str, default "otsu"
        ``"manual"`` (returns ``value``) or one of the automatic methods
        ``"otsu"``, ``"li"``, ``"yen"``, ``"triangle"``, ``"isodata"``,
        ``"mean"`` and ``"minimum"``: the same number as
        ``skimage.filters.threshold_<method>``, computed over the whole array
        (all planes, time points and colours: R, G and B), from the finite
        pixels (NaN and infinities left out, as Fiji does). Float values
        beyond ``2**32`` in magnitude (or all below ``2**-32``) are read divided
        by a power of two (exact), where scikit-image's float32 sums overflow.
    %(manual_value)s
    histogram : tuple of arrays, optional
        ``threshold_histogram(image)``, computed once and reused: the methods
        that read only the histogram (otsu, yen, isodata, minimum, triangle,
        and li and mean for integer images) then skip the pass over the image.

    Returns
    -------
    float
        The threshold: foreground is strictly above it.

    Raises
    ------
    TypeError
        If ``method`` is not a string, a manual ``value`` is not a number, or
        ``image`` holds no real numbers.
    ValueError
        For an unknown method, a missing or NaN manual value, an empty image or
        one with fewer than two axes, or an image that an automatic method
        cannot threshold (no finite value, finite values all equal, or too
        close together for their size to bin).
    """
    check_choice(method, "method", METHODS)
    if not hasattr(image, "shape"):
        image = np.asarray(image)
    image = without_alpha(image)  # (a lazy stack stays lazy)
    if method != "manual" and histogram is not None and _serves(histogram, method, _dtype(image)):
        return threshold_from_histogram(method, histogram)
    if method == "manual":  # (the image is not read: a lazy stack stays on disk)
        check_header(image)
        if value is None or isinstance(value, bool):
            raise ValueError("value must be a number when method='manual'")
        if not isinstance(value, int | float | np.integer | np.floating):
            raise TypeError(f"value must be a number, got {type(value).__name__}")
        if np.isnan(value):
            raise ValueError("value must not be NaN")
        return float(value)
    array, exponent = _checked(as_image(image, allow_rgb=True), method)
    if array.dtype.kind in "iu" and reads_histogram(method, array.dtype):
        # scikit-image's own histogram of an integer image, one bin per value, and
        # 256 bins past 2**24 values (where scikit-image would allocate them all);
        # mean and li of those read the values instead
        low, high = int(array.min()), int(array.max())
        if not (high - low >= _COUNTED_SPAN and method in ("mean", "li")):
            return threshold_from_histogram(method, _binned(array, low, high))
        if method == "li":  # its iterations on the values, with its tolerance for integers
            return float(skfilters.threshold_li(array.reshape(-1).astype(np.float64),
                                                tolerance=0.5))
        return float(np.mean(array, dtype=np.float64))
    if exponent and method == "mean":
        return _mean_of_far_values(array, exponent)
    if exponent and reads_histogram(method, array.dtype):
        # the centres rounded as a kept histogram's and run_dask's are (subnormal values)
        return threshold_from_histogram(method, _float_histogram(method, array, exponent))
    if method == "minimum":
        function = _threshold_minimum
    else:
        function = getattr(skfilters, f"threshold_{method}")
    with _failure_said(method), _bins_said(method, array):
        # the values alone matter: flat, so that no shape looks like RGB to skimage
        # (far values, divided by 2**exponent, come here for li alone)
        values = array.reshape(-1)
        return float(np.ldexp(function(np.ldexp(values, -exponent) if exponent else values),
                              exponent))


@contextmanager
def _failure_said(method: str):
    """A method finding no level says so (scikit-image's isodata: an IndexError)."""
    try:
        yield
    except (RuntimeError, IndexError) as error:  # e.g. "minimum" on a histogram with one peak
        reason = str(error)
        if isinstance(error, IndexError):
            if method != "isodata":
                raise
            reason = "no level lies halfway between the means of the values below and above it"
        raise ValueError(f"method {method!r} failed on this image: {reason}") from error


def _mean_of_far_values(array: np.ndarray, exponent: int) -> float:
    """The mean of float values beyond 2**32 or below 2**-32 (see :data:`_SAFE_EXPONENT`).

    Not scaled as the bins are (tiny values beside huge ones would become 0):
    float32 and float16 are summed in float64, which neither overflows nor
    loses them; float64 is divided by the least power of two that keeps its sum
    finite.
    """
    if array.dtype != np.float64:
        return float(np.mean(array, dtype=np.float64))
    shift = max(0, exponent + math.ceil(math.log2(array.size)) - 1023)
    return float(np.ldexp(np.mean(np.ldexp(array, -shift) if shift else array), shift))


def _float_histogram(method: str, array: np.ndarray, exponent: int):
    """scikit-image's 256 bins of float values, counted on them divided by ``2**exponent``.

    Exact where the values are normal numbers (the same counts; centres scaled).
    """
    with _bins_said(method, array):
        values = array.reshape(-1)
        counts, centers = histogram(np.ldexp(values, -exponent) if exponent else values, 256,
                                    source_range="image")
    return counts, np.ldexp(centers, exponent)


# Float values beyond 2**32 in magnitude (or all below 2**-32) are thresholded scaled
# by a power of two: exact (the same bins, sums and levels, scaled), where
# scikit-image's float32 sums (counts times squared means) overflowed (its Otsu level
# went wrong from about 1e17), its float32 mean was infinite from 1e35, its Li NaN
# and its isodata an IndexError, and -1e308..1e308 could not be binned at all.
_SAFE_EXPONENT = 32


def scale_exponent(low, high) -> int:
    """The power of two to divide values from ``low`` to ``high`` by (0: none)."""
    exponent = math.frexp(max(abs(float(low)), abs(float(high))))[1]
    return 0 if -_SAFE_EXPONENT < exponent <= _SAFE_EXPONENT else exponent


def _checked(array: np.ndarray, method: str) -> tuple[np.ndarray, int]:
    """The values an automatic method reads, refusing those it cannot threshold.

    Float images give their finite values (flat), as Fiji's threshold ignores
    NaN pixels: a GUI user has no operation to replace them, and the histogram
    dock leaves them out too. bool becomes float64 (scikit-image bins a bool
    image as floats: 256 bins over 0..1, so that its triangle threshold keeps
    the True pixels where one over 0/1 integers is 1). Returns the values and
    the power of two to divide them by (see :func:`scale_exponent`; 0 for
    integers).
    """
    pixels = "every pixel"
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            array, pixels = array[finite], "every finite pixel"
            if array.size == 0:
                raise ValueError(
                    f"image holds no finite value (only NaN or infinities): the automatic "
                    f"threshold {method!r} needs finite values"
                )
    if array.dtype == bool:
        array = array.astype(np.float64)
    low, high = array.min(), array.max()
    if low == high:
        raise ValueError(
            f"image is constant ({pixels} is {low}): the automatic threshold "
            f"{method!r} needs at least two different values"
        )
    return array, scale_exponent(low, high) if array.dtype.kind == "f" else 0


@contextmanager
def _bins_said(method: str, array: np.ndarray):
    """Say numpy's "Too many bins for data range" (values too close for their magnitude)."""
    try:
        yield
    except ValueError as error:
        if "Too many bins" not in str(error):
            raise
        raise ValueError(
            f"image values from {array.min()} to {array.max()} are too close together for "
            f"their size to make 256 bins: the automatic threshold {method!r} cannot bin them"
        ) from error


def threshold_histogram(image, method: str = "histogram") -> tuple[np.ndarray, np.ndarray]:
    """``(counts, centers)`` as scikit-image's thresholds bin ``image``.

    One bin per integer value from the minimum to the maximum (integer
    images), or 256 bins over the range (floats, and integers spanning 2**24
    values or more, for which scikit-image would allocate a bin per value:
    terabytes for int64 data), of the finite values. Computed once, it
    serves every method that reads only the histogram (see
    :func:`threshold_value`). ``method`` names the threshold it is for in
    error messages. An RGBA image's alpha is left out.
    """
    array, exponent = _checked(without_alpha(as_image(image, allow_rgb=True)), method)
    if array.dtype.kind in "iu":
        return _binned(array, int(array.min()), int(array.max()))
    return _float_histogram(method, array, exponent)


def _binned(array: np.ndarray, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`threshold_histogram` of a checked integer image from ``low`` to ``high``."""
    if high - low < _COUNTED_SPAN:
        dtype = np.uint64 if high > np.iinfo(np.int64).max else np.int64  # (uint64 past 2**63)
        return _integer_counts(array, low, high), np.arange(low, high + 1, dtype=dtype)
    # (float bounds: uint64 values past 2**63 do not fit numpy's integer range)
    counts, edges = np.histogram(array.reshape(-1), 256, range=(float(low), float(high)))
    return counts, (edges[:-1] + edges[1:]) / 2.0


def _serves(hist, method: str, dtype) -> bool:
    """Whether ``method`` reads its value from ``hist`` alone.

    ``mean`` and ``li`` of integer images read one bin per value (integer
    centres); with 256 bins they need the values themselves.
    """
    binned = np.asarray(hist[1]).dtype.kind == "f"
    return reads_histogram(method, dtype) and not (
        binned and method in ("mean", "li") and np.dtype(dtype).kind in "biu"
    )


# Integer images spanning fewer values are counted by a compiled loop on threads
# (skimage's bincount makes an int64 copy of the image: 2 s for a 128 MB stack).
_COUNTED_SPAN = 1 << 24


@njit(nogil=True, cache=True)
def _count_into(values, low, counts):
    for i in range(values.shape[0]):
        counts[values[i] - low] += 1


def _integer_counts(array: np.ndarray, low: int, high: int) -> np.ndarray:
    """Pixels per value from ``low`` to ``high`` (int64), as ``np.bincount``."""
    if not array.dtype.isnative:  # the compiled count reads native byte order
        array = array.astype(array.dtype.newbyteorder("="))
    flat = array.reshape(-1)
    parts = np.array_split(flat, max(1, min(n_threads(), flat.size // 1_000_000)))
    counts = np.zeros((len(parts), high - low + 1), np.int64)
    low = array.dtype.type(low)  # subtracting in the image's dtype cannot overflow here
    list(
        thread_pool(len(parts)).map(
            lambda k: _count_into(parts[k], low, counts[k]), range(len(parts))
        )
    )
    return counts.sum(axis=0)


def reads_histogram(method: str, dtype) -> bool:
    """Tell whether ``method`` finds its value from the histogram alone for ``dtype`` data."""
    integer = np.dtype(dtype).kind in "biu"
    by_histogram = ("otsu", "yen", "isodata", "minimum", "triangle")
    return method in by_histogram or (method in ("mean", "li") and integer)


def _dtype(image) -> np.dtype:
    return image.dtype if hasattr(image, "dtype") else np.asarray(image).dtype


def threshold_from_histogram(method: str, hist) -> float:
    """The threshold by ``method`` from ``(counts, centers)`` (see :func:`reads_histogram`)."""
    counts, centers = hist[0], np.asarray(hist[1])
    exponent = scale_exponent(centers[0], centers[-1]) if centers.dtype.kind == "f" else 0
    if exponent:  # (see _SAFE_EXPONENT)
        level = threshold_from_histogram(method, (counts, np.ldexp(centers, -exponent)))
        return float(np.ldexp(level, exponent))
    if method == "mean":  # exact: integer sums, as np.mean of an integer image
        total = int(np.sum(counts))
        low, high = int(centers[0]), int(centers[-1])
        if max(abs(low), abs(high)) * total < 2**63:
            return float(np.sum(counts * centers.astype(np.int64)) / total)
        # Values too large to sum in int64: offsets from the first (one bin per value).
        return low + float(np.sum(counts * np.arange(counts.size, dtype=np.int64))) / total
    with _failure_said(method):
        if method == "minimum":
            return float(_minimum_from_histogram(_at_most(hist, _MINIMUM_BINS)))
        if method == "li":
            return float(_li_from_histogram(hist))
        if method == "triangle":
            return float(_triangle_from_histogram(hist))
        return float(getattr(skfilters, f"threshold_{method}")(hist=hist))


# ``minimum`` smooths its histogram up to 10000 times: one bin per value is kept
# up to 16-bit spans (scikit-image's number); wider spans are read in 256 bins, as
# past 2**24 values (a 2**23-value span took hours and gigabytes otherwise).
_MINIMUM_BINS = 1 << 16


def _at_most(hist, bins: int):
    """``hist`` (one bin per integer value), or its counts in 256 equal bins past ``bins``.

    The same counts as ``np.histogram(values, 256)`` over the values' range while
    the values are exact in float64 (below about 2**48); beyond, these counts
    (binned by offset from the first value) are the exact ones.
    """
    counts, centers = hist
    if len(counts) <= bins:
        return hist
    offsets = np.arange(len(counts), dtype=np.float64)  # (one bin per integer value)
    merged, edges = np.histogram(offsets, 256, range=(0.0, offsets[-1]), weights=counts)
    return merged.round().astype(np.int64), float(centers[0]) + (edges[:-1] + edges[1:]) / 2


def _li_from_histogram(hist) -> float:
    """``skimage.filters.threshold_li`` of an integer image, from its histogram.

    scikit-image iterates on the histogram of ``image - image.min()`` for
    integer images; the same arrays (counts as float32, integer centres from 0)
    and the same steps give the same number, without the passes over the image.
    """
    counts, centers = hist
    low = centers[0]
    shifted = np.arange(centers.size)  # scikit-image's centres of image - min
    weights = counts.astype("float32", copy=False)
    tolerance = 0.5
    t_next = np.sum(counts * shifted) / np.sum(counts)  # np.mean: exact integer sum
    t_curr = -2 * tolerance
    while abs(t_next - t_curr) > tolerance:
        t_curr = t_next
        foreground = shifted > t_curr
        background = ~foreground
        mean_fore = np.average(shifted[foreground], weights=weights[foreground])
        mean_back = np.average(shifted[background], weights=weights[background])
        if mean_back == 0:
            break
        t_next = (mean_back - mean_fore) / (np.log(mean_back) - np.log(mean_fore))
    return t_next + low


def _triangle_from_histogram(hist) -> float:
    """``skimage.filters.threshold_triangle``, step for step, from the histogram it bins."""
    counts, centers = hist
    nbins = len(counts)
    arg_peak = int(np.argmax(counts))
    peak_height = counts[arg_peak]
    arg_low, arg_high = np.flatnonzero(counts)[[0, -1]]
    flip = arg_peak - arg_low < arg_high - arg_peak  # the left tail is shorter
    if flip:
        counts = counts[::-1]
        arg_low = nbins - arg_high - 1
        arg_peak = nbins - arg_peak - 1
    width = arg_peak - arg_low
    x1 = np.arange(width)
    y1 = counts[x1 + arg_low]
    norm = np.sqrt(peak_height**2 + width**2)
    peak_height /= norm
    width /= norm
    level = np.argmax(peak_height * x1 - width * y1) + arg_low
    if flip:
        level = nbins - level - 1
    return centers[level]


def prepare_threshold(image, parameters: dict, cache: dict | None = None) -> dict:
    """The registry's ``prepare`` step: the global value, as a manual threshold.

    ``cache``, a dict the caller keeps for one image, holds its histogram
    between calls, so that trying another method costs no pass over a stack.
    """
    method = parameters["method"]
    hist = None
    if cache is not None and method != "manual" and reads_histogram(method, _dtype(image)):
        hist = cache.get("histogram")
        if hist is None:
            hist = cache["histogram"] = threshold_histogram(image, method)
        if not _serves(hist, method, _dtype(image)):
            hist = None  # (binned: mean and li read the values)
    value = threshold_value(image, method=method, value=parameters["value"], histogram=hist)
    return {"method": "manual", "value": value}


@njit(nogil=True, cache=True)
def _count_maxima(smoothed):
    """Local maxima per row, counted as scikit-image's ``threshold_minimum`` counts them.

    Walking along a row, a maximum is a fall that follows a rise (or the start,
    which counts as rising); plateaus change nothing. (One compiled pass: the
    vectorized count took 40 ms per batch of 64 rows of a 16-bit histogram, 6 s
    of the 10000 smoothing steps.)
    """
    counts = np.zeros(smoothed.shape[0], np.int64)
    for r in range(smoothed.shape[0]):
        rising = True
        found = 0
        for i in range(smoothed.shape[1] - 1):
            step = smoothed[r, i + 1] - smoothed[r, i]
            if step > 0:
                rising = True
            elif step < 0:
                if rising:
                    found += 1
                rising = False
        counts[r] = found
    return counts


def _threshold_minimum(image: np.ndarray) -> float:
    """``skimage.filters.threshold_minimum(image)``, with the same number, much faster."""
    return _minimum_from_histogram(histogram(image.reshape(-1), 256, source_range="image"))


def _minimum_from_histogram(hist, max_num_iter: int = 10000) -> float:
    """``skimage.filters.threshold_minimum``, with the same number, much faster.

    scikit-image smooths the histogram with a 3-bin mean until fewer than 3
    maxima are left and counts them in a Python loop at every step; 16-bit
    images need thousands of steps (0.7 s on 1024x1024). Here the smoothing
    steps are the same scipy calls (so the same floats), and the maxima are
    counted for a batch of steps at once.
    """
    counts, centers = hist
    smooth = counts.astype(np.float32, copy=False)
    batch = 64
    done = 0
    while done < max_num_iter:
        steps = min(batch, max_num_iter - done)
        rows = np.empty((steps, smooth.size), np.float32)
        for i in range(steps):
            smooth = ndi.uniform_filter1d(smooth, 3)
            rows[i] = smooth
        below = np.flatnonzero(_count_maxima(rows) < 3)
        if below.size:
            counter = done + int(below[0])
            smooth = rows[below[0]]
            break
        done += steps
    else:  # never fewer than 3 maxima
        raise RuntimeError("Unable to find two maxima in histogram")
    maxima = _maxima_indices(smooth)
    if len(maxima) != 2:
        raise RuntimeError("Unable to find two maxima in histogram")
    if counter == max_num_iter - 1:
        raise RuntimeError("Maximum iteration reached for histogram smoothing")
    low = np.argmin(smooth[maxima[0] : maxima[1] + 1])
    return centers[maxima[0] + low]


def _maxima_indices(row: np.ndarray) -> np.ndarray:
    steps = np.sign(np.diff(row))
    moving = np.flatnonzero(steps)
    signs = steps[moving]
    previous = np.concatenate(([1.0], signs[:-1]))
    return moving[(signs < 0) & (previous > 0)]


@fill_doc
def threshold(
    image: npt.ArrayLike, *, method: str = "otsu", value: float | None = None
) -> np.ndarray:
    """Binarize: ``image > threshold_value(image, method=method, value=value)``.

    One global threshold over the whole array (all planes, time points and
    colours), like Fiji's "stack histogram" option; comparisons of 64-bit
    integers are exact. An RGBA image's alpha is opacity, not intensity: it
    is left out of the value, and gets no mask.

    Parameters
    ----------
    image : array_like
        Image with at least two axes; RGB(A) images are accepted.
    method : str, default "otsu"
        ``"manual"`` (uses ``value``) or one of the automatic methods
        ``"otsu"``, ``"li"``, ``"yen"``, ``"triangle"``, ``"isodata"``,
        ``"mean"`` and ``"minimum"``, as ``skimage.filters.threshold_<method>``
        of the finite pixels.
    %(manual_value)s

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``image``: True strictly above the threshold (of an RGBA
        image, the masks of R, G and B: 3 colours last). NaN pixels are
        background, +inf foreground.

    Raises
    ------
    TypeError
        As :func:`threshold_value`: a ``method`` that is not a string, a manual
        ``value`` that is no number, or an image that holds no real numbers.
    ValueError
        As :func:`threshold_value`: an unknown method, a missing or NaN manual
        value, an empty image, or one the automatic method cannot threshold.

    See Also
    --------
    threshold_value

    Examples
    --------
    >>> import numpy as np
    >>> threshold(np.array([[0, 1], [2, 3]]), method="manual", value=1)
    array([[False, False],
           [ True,  True]])
    """
    array = without_alpha(as_image(image, allow_rgb=True))
    if method == "manual" and isinstance(value, int | np.integer) and not isinstance(value, bool):
        return _above(array, int(value))  # (as given: float64 rounds integers past 2**53)
    if method != "manual" and array.dtype.kind in "iu" and array.dtype.itemsize == 8:
        first, last = int(array.min()), int(array.max())
        if beyond_float(first, last) and first != last:
            # Values past 2**53 round together as floats, and so would their threshold:
            # threshold the exact offsets from the minimum (every method is unchanged
            # by a shift of the values).
            offsets = exact_offsets(array, first)
            return _above(offsets, threshold_value(offsets, method=method))
    return _above(array, threshold_value(array, method=method, value=value))


def above(image: npt.ArrayLike, level) -> np.ndarray:
    """``image > level`` pixel by pixel, whatever its shape (exact for 64-bit integers).

    The manual threshold of a chunk of a stack: :func:`threshold` would take a
    chunk 4 pixels wide for an RGBA image and leave its last column out.
    """
    return _above(as_image(image, allow_rgb=True), level)


def _above(array: np.ndarray, level) -> np.ndarray:
    """``array > level``, exact for 64-bit integers.

    numpy compares an int64 or uint64 array with a float in float64, where values
    past 2**53 round together (2**62 + 100 > 2**62 + 50 was False); an integer
    ``x`` is above ``t`` exactly when it is above ``floor(t)``, compared as integers.
    """
    if array.dtype.kind not in "iu" or array.dtype.itemsize < 8 or not math.isfinite(level):
        return array > level
    bound = math.floor(level)
    info = np.iinfo(array.dtype)
    if bound < int(info.min):
        return np.ones(array.shape, bool)
    if bound >= int(info.max):
        return np.zeros(array.shape, bool)
    return array > array.dtype.type(bound)
