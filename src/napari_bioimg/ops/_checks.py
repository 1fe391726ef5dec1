"""Argument checks shared by every operation.

Each check raises ``ValueError`` or ``TypeError`` naming the parameter and
what was expected, so that the GUI can show the message as it is.
"""

import functools
import os
from collections.abc import Sequence

import numpy as np

__all__ = [
    "as_image",
    "as_mask",
    "available_memory",
    "check_memory",
    "check_choice",
    "check_nonnegative",
    "check_positive",
    "image_axes",
    "keeps_dtype",
    "per_colour",
    "spatial_ndim",
    "spatial_spacing",
    "without_alpha",
]


def check_header(image, name: str = "image") -> None:
    """Refuse what :func:`as_image` refuses from ``image``'s dtype and shape alone.

    A lazy (dask, zarr) array is not read; anything without them is converted.
    """
    if not (hasattr(image, "dtype") and hasattr(image, "shape")):
        image = np.asarray(image)
    dtype, shape = np.dtype(image.dtype), tuple(image.shape)
    if dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers (bool, integer or float), got dtype {dtype}"
        )
    if len(shape) < 2:
        raise ValueError(
            f"{name} must be 2D or 3D (or more, with leading batch axes), "
            f"got {len(shape)}D with shape {shape}"
        )
    if 0 in shape:
        raise ValueError(f"{name} is empty (shape {shape})")


def as_image(image, *, name: str = "image", allow_rgb: bool = False) -> np.ndarray:
    """Return ``image`` as a numeric ndarray with at least two axes.

    Raises
    ------
    TypeError
        If the data are not real numbers (complex, strings, objects), or look like
        an RGB(A) image with channels last while ``allow_rgb`` is False.
    ValueError
        If the array is empty or has fewer than two axes.
    """
    array = np.asarray(image)
    check_header(array, name)
    if not allow_rgb and looks_rgb(array):
        raise TypeError(
            f"{name} looks like an RGB(A) image with channels last (shape {array.shape}); "
            "this operation works on one channel: split the channels "
            "(e.g. np.moveaxis(image, -1, 0)) or convert to grayscale first"
        )
    if array.dtype == np.float16:
        array = array.astype(np.float32)
    return array


def keeps_dtype(function):
    """Give the result of an operation that keeps the dtype exactly the input's dtype.

    :func:`as_image` reads float16 as float32 (the kernels' smallest float), and
    the compiled kernels read and write native byte order (big-endian TIFF data).
    """

    @functools.wraps(function)
    def keeping(image, *args, **kwargs):
        result = function(image, *args, **kwargs)
        dtype = getattr(image, "dtype", None)
        if dtype is None or result.dtype == dtype:
            return result
        float16 = dtype == np.float16 and result.dtype == np.float32
        if float16 or result.dtype == dtype.newbyteorder("="):
            return result.astype(dtype)
        return result

    return keeping


def per_colour(function):
    """Run a mask operation on each colour's mask of an RGB image alone.

    A threshold of an RGB image gives one mask per colour, colours last; the
    operation then works on each (as the widgets do with a ``channel`` axis), and
    the results are stacked colours last again. Other data go through unchanged.
    A ``spacing`` with a value for every axis (a grey stack 3 or 4 pixels wide,
    which looks RGB) loses its last value: each column's mask is a plane of the
    first two axes.
    """

    @functools.wraps(function)
    def each(image, *args, **kwargs):
        if not hasattr(image, "shape"):
            image = np.asarray(image)
        if looks_rgb(image):
            array = np.asarray(image)
            if _binary(array):
                spacing = kwargs.get("spacing")
                if spacing is not None and not np.isscalar(spacing) \
                        and len(spacing) == array.ndim:
                    kwargs = {**kwargs, "spacing": tuple(spacing)[:-1]}
                colours = range(array.shape[-1])
                return np.stack([function(array[..., c], *args, **kwargs) for c in colours], -1)
        return function(image, *args, **kwargs)

    return each


def beyond_float(first: int, last: int) -> bool:
    """Whether integers from ``first`` to ``last`` reach past 2**53, where floats skip some.

    float64 holds every integer up to 2**53 only: values beyond round together.
    """
    return max(abs(first), abs(last)) > 2**53


def exact_offsets(array: np.ndarray, first: int) -> np.ndarray:
    """``array - first`` exactly, as uint64 (modulo 2**64: int64 values too)."""
    return array.astype(np.uint64) - np.uint64(first % 2**64)


def _binary(array: np.ndarray) -> bool:
    """Whether ``array`` holds only 0 and 1 (or is bool)."""
    return array.dtype == bool or bool(np.all((array == 0) | (array == 1)))


def looks_rgb(array: np.ndarray) -> bool:
    """Tell whether the last axis holds 3 or 4 colour channels.

    3 or 4 values last and both axes before them longer than 8 pixels. napari
    guesses RGB only past 30 pixels, but small results of RGB images (a
    subsampled thumbnail) must stay RGB when written and read back; napari
    layers carry their own ``rgb`` flag, which the widgets use.
    """
    return array.ndim >= 3 and array.shape[-1] in (3, 4) and min(array.shape[-3:-1]) > 8


def without_alpha(array):
    """An RGBA image's red, green and blue values (a view); any other array as it is.

    Alpha is opacity, not intensity: a PNG's or screenshot's 255s joined the
    histogram (Otsu's value of an RGBA image was another than of its RGB) and
    got a mask of their own. The shape rule (:func:`looks_rgb`) decides, as for
    the colours themselves; lazy (dask) arrays stay lazy.
    """
    if looks_rgb(array) and array.shape[-1] == 4:
        return array[..., :3]
    return array


def image_axes(array) -> int:
    """The axes napari shows of ``array``: all but an RGB(A) image's colour axis."""
    return array.ndim - looks_rgb(array)


def as_mask(image, *, name: str = "image") -> np.ndarray:
    """Return ``image`` as a bool array, refusing anything but 0/1 (or bool) data."""
    array = as_image(image, name=name)
    if array.dtype == bool:
        return array
    if not _binary(array):
        values = (
            "NaN values" if array.dtype.kind == "f" and np.isnan(array).any()
            else f"values from {array.min()} to {array.max()}"
        )
        raise ValueError(
            f"{name} must be binary (bool, or only 0 and 1) for binary morphology; "
            f"got {values}: threshold it first"
        )
    return array.astype(bool)


def spatial_ndim(array: np.ndarray, spacing: Sequence[float] | None) -> int:
    """Return the number of spatial (trailing) axes.

    It is ``len(spacing)`` when a spacing is given, else ``min(array.ndim, 3)``;
    any axes before them (time, channels) are processed as a batch.
    """
    if spacing is None:
        return min(array.ndim, 3)
    return len(spacing)


def spatial_spacing(array: np.ndarray, spacing: Sequence[float] | None) -> tuple[float, ...]:
    """Check ``spacing`` against ``array`` and return one float per spatial axis."""
    if spacing is None:
        return (1.0,) * min(array.ndim, 3)
    if np.isscalar(spacing):
        raise TypeError(f"spacing must be a sequence of one number per axis, got {spacing!r}")
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError):
        raise TypeError(f"spacing must hold numbers, got {spacing!r}") from None
    if len(values) not in (2, 3) or len(values) > array.ndim:
        raise ValueError(
            f"spacing must have 2 or 3 values (one per spatial axis, at most image.ndim="
            f"{array.ndim}), got {len(values)}: {spacing!r}"
        )
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"spacing values must be positive and finite, got {spacing!r}")
    return values


def check_positive(value, name: str) -> float:
    """Return ``value`` as a float, refusing non-numbers and values <= 0."""
    number = _as_number(value, name)
    if not number > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return number


def check_nonnegative(value, name: str) -> float:
    """Return ``value`` as a float, refusing non-numbers and negative values."""
    number = _as_number(value, name)
    if not number >= 0:
        raise ValueError(f"{name} must be zero or positive, got {value!r}")
    return number


def check_choice(value, name: str, choices: Sequence[str]) -> str:
    """Refuse a value that is not one of ``choices`` (names: text)."""
    if not isinstance(value, str):  # (an array's ``in`` asks for its truth value)
        raise TypeError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got "
            f"{type(value).__name__} {_short(value)}"
        )
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def available_memory() -> int | None:
    """Bytes of memory available to new allocations, or None when unknown.

    ``MemAvailable`` from ``/proc/meminfo`` (Linux), else the available
    physical pages from ``os.sysconf``.
    """
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(nbytes: float, what: str) -> None:
    """Refuse work needing ``nbytes`` of new memory when less is available.

    Raises
    ------
    ValueError
        Saying how much is needed and available, and what to do instead.
    """
    available = available_memory()
    if available is not None and nbytes > available:
        gib = nbytes / 2**30
        needed = f"{gib:.2f}" if gib < 1e6 else f"{gib:.3g}"  # (1e+300 GiB, inf GiB)
        raise ValueError(
            f"{what} needs about {needed} GiB of memory but only "
            f"{available / 2**30:.2f} GiB is available; crop or subsample the image, "
            "or run the step chunk by chunk on a dask array (Pipeline.run_dask)"
        )
