"""Neighbourhood filters: denoising, edges and background subtraction.

Conventions shared by every filter here:

* Edges replicate (``mode="nearest"``), as in ImageJ and ``skimage.filters.gaussian``.
* ``radius`` and ``sigma`` are in pixels, or in the physical units of ``spacing``
  when it is given (one positive number per spatial axis, as napari's ``scale``).
* The spatial axes are the last ``len(spacing)`` axes (the last ``min(ndim, 3)``
  without spacing); leading axes (time, channels) are filtered one block at a time.
* Linear and derivative filters return float32 in the input's intensity units;
  rank filters (median, minimum, maximum) and top-hats keep the input dtype.
* The input is never modified.
"""

from collections.abc import Callable, Sequence

import numpy as np
from scipy import ndimage as ndi

from ._checks import as_image, check_positive, spatial_spacing
from ._footprint import apply_batched, make_footprint, row_widths

__all__ = [
    "black_top_hat",
    "difference_of_gaussian",
    "gaussian",
    "laplace",
    "laplacian_of_gaussian",
    "maximum",
    "mean",
    "median",
    "minimum",
    "sobel",
    "standard_deviation",
    "variance",
    "white_top_hat",
]

Spacing = Sequence[float] | None
GAUSSIAN_TRUNCATE = 4.0


def _prepare(image, spacing: Spacing) -> tuple[np.ndarray, tuple[float, ...]]:
    array = as_image(image)
    return array, spatial_spacing(array, spacing)


# --- line decomposition -----------------------------------------------------------
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


def _local_sum(image: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Sum of float64 ``image`` over ``footprint`` at every pixel (edges replicate)."""
    if footprint.all():
        return ndi.uniform_filter(image, footprint.shape, mode="nearest") * footprint.size
    return _line_reduce(image, footprint, _box_sum_1d, np.add)


def _rank_extreme(image: np.ndarray, footprint: np.ndarray, which: str) -> np.ndarray:
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


# --- rank and statistics filters ------------------------------------------------


def mean(image, *, radius: float = 1.0, footprint: str = "ball", spacing: Spacing = None):
    """Local mean over a ball or box of ``radius``.

    Parameters
    ----------
    image : array_like
        2D or 3D image (leading axes are a batch).
    radius : float
        Radius in pixels, or in the units of ``spacing``.
    footprint : {"ball", "box"}
        Shape of the neighbourhood.
    spacing : sequence of float, optional
        Pixel size per spatial axis.

    Returns
    -------
    numpy.ndarray of float32

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((5, 5), np.uint8); image[2, 2] = 5
    >>> mean(image, radius=1)[1:4, 1:4]
    array([[0., 1., 0.],
           [1., 1., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    array, spacing = _prepare(image, spacing)
    fp = make_footprint(radius, footprint, spacing)

    def block_mean(block):
        return (_local_sum(block.astype(np.float64), fp) / fp.sum()).astype(np.float32)

    return apply_batched(array, len(spacing), block_mean)


def variance(image, *, radius: float = 1.0, footprint: str = "ball", spacing: Spacing = None):
    """Local (population) variance over a ball or box of ``radius``.

    Same parameters as :func:`mean`. Returns float32 in squared intensity units.
    """
    array, spacing = _prepare(image, spacing)
    fp = make_footprint(radius, footprint, spacing)
    count = fp.sum()

    def block_variance(block):
        values = block.astype(np.float64)
        finite = values[np.isfinite(values)]
        # Shifting by the mean first keeps E[x^2] - E[x]^2 accurate.
        values -= finite.mean() if finite.size else 0.0
        local_mean = _local_sum(values, fp) / count
        local_square = _local_sum(values * values, fp) / count
        return np.maximum(local_square - local_mean**2, 0).astype(np.float32)

    return apply_batched(array, len(spacing), block_variance)


def standard_deviation(
    image, *, radius: float = 1.0, footprint: str = "ball", spacing: Spacing = None
):
    """Local standard deviation over a ball or box of ``radius``.

    Same parameters as :func:`mean`. Returns float32.
    """
    return np.sqrt(variance(image, radius=radius, footprint=footprint, spacing=spacing))


def minimum(image, *, radius: float = 1.0, footprint: str = "ball", spacing: Spacing = None):
    """Local minimum (grayscale erosion) over a ball or box of ``radius``; keeps dtype.

    Same parameters as :func:`mean`.
    """
    array, spacing = _prepare(image, spacing)
    fp = make_footprint(radius, footprint, spacing)
    return apply_batched(array, len(spacing), lambda b: _rank_extreme(b, fp, "min"))


def maximum(image, *, radius: float = 1.0, footprint: str = "ball", spacing: Spacing = None):
    """Local maximum (grayscale dilation) over a ball or box of ``radius``; keeps dtype.

    Same parameters as :func:`mean`.
    """
    array, spacing = _prepare(image, spacing)
    fp = make_footprint(radius, footprint, spacing)
    return apply_batched(array, len(spacing), lambda b: _rank_extreme(b, fp, "max"))


def _median_block(block: np.ndarray, fp: np.ndarray) -> np.ndarray:
    if block.dtype == bool:
        return _median_block(block.view(np.uint8), fp).view(bool)
    if fp.size == 1:
        return block.copy()
    return ndi.median_filter(block, footprint=fp, mode="nearest")


def median(image, *, radius: float = 1.0, footprint: str = "ball", spacing: Spacing = None):
    """Local median over a ball or box of ``radius``; keeps dtype.

    Same parameters as :func:`mean`. Footprints always hold an odd number of
    pixels, so the median is one of the input values.
    """
    array, spacing = _prepare(image, spacing)
    fp = make_footprint(radius, footprint, spacing)
    return apply_batched(array, len(spacing), lambda b: _median_block(b, fp))


def _top_hat(image, radius, footprint, spacing, kind: str) -> np.ndarray:
    array, spacing = _prepare(image, spacing)
    fp = make_footprint(radius, footprint, spacing)

    def block_top_hat(block):
        if kind == "white":
            opened = _rank_extreme(_rank_extreme(block, fp, "min"), fp, "max")
            return _difference(block, opened)
        closed = _rank_extreme(_rank_extreme(block, fp, "max"), fp, "min")
        return _difference(closed, block)

    return apply_batched(array, len(spacing), block_top_hat)


def _difference(larger: np.ndarray, smaller: np.ndarray) -> np.ndarray:
    """``larger - smaller`` (never negative by construction) in the input dtype."""
    if larger.dtype == bool:
        return larger & ~smaller
    if larger.dtype.kind == "i":
        info = np.iinfo(larger.dtype)
        wide = larger.astype(np.int64) - smaller.astype(np.int64)
        return np.minimum(wide, info.max).astype(larger.dtype)
    return larger - smaller


def white_top_hat(
    image, *, radius: float = 5.0, footprint: str = "ball", spacing: Spacing = None
):
    """Image minus its opening: bright details smaller than the footprint.

    Subtracts a background that varies more slowly than the footprint (the
    rolling-ball idea). Same parameters as :func:`mean`; keeps dtype.
    """
    return _top_hat(image, radius, footprint, spacing, "white")


def black_top_hat(
    image, *, radius: float = 5.0, footprint: str = "ball", spacing: Spacing = None
):
    """Closing minus image: dark details smaller than the footprint; keeps dtype."""
    return _top_hat(image, radius, footprint, spacing, "black")


# --- linear and derivative filters ------------------------------------------------


def _float32(block: np.ndarray) -> np.ndarray:
    return block.astype(np.float32)


def _gaussian_block(block: np.ndarray, sigmas: Sequence[float]) -> np.ndarray:
    return ndi.gaussian_filter(
        _float32(block), sigmas, mode="nearest", truncate=GAUSSIAN_TRUNCATE, output=np.float32
    )


def gaussian(image, *, sigma: float = 1.0, spacing: Spacing = None):
    """Gaussian blur with standard deviation ``sigma`` (kernel truncated at 4 sigma).

    Parameters
    ----------
    image : array_like
        2D or 3D image (leading axes are a batch).
    sigma : float
        Standard deviation in pixels, or in the units of ``spacing``.
    spacing : sequence of float, optional
        Pixel size per spatial axis.

    Returns
    -------
    numpy.ndarray of float32
        In the input's intensity units (no rescaling to 0..1).
    """
    array, spacing = _prepare(image, spacing)
    sigma = check_positive(sigma, "sigma")
    sigmas = [sigma / s for s in spacing]
    return apply_batched(array, len(spacing), lambda b: _gaussian_block(b, sigmas))


def _sobel_block(block: np.ndarray) -> np.ndarray:
    values = _float32(block)
    total = np.zeros(values.shape, np.float32)
    for edge_axis in range(values.ndim):
        derivative = ndi.correlate1d(values, [-1.0, 0.0, 1.0], axis=edge_axis, mode="nearest")
        for smooth_axis in range(values.ndim):
            if smooth_axis != edge_axis:
                ndi.correlate1d(
                    derivative, [0.25, 0.5, 0.25], axis=smooth_axis, mode="nearest",
                    output=derivative,
                )
        total += derivative * derivative
    return np.sqrt(total / values.ndim)


def sobel(image, *, spacing: Spacing = None):
    """Sobel gradient magnitude, as ``skimage.filters.sobel`` but in intensity units.

    ``sqrt(mean over axes of g_i**2)`` where ``g_i`` is the ``[1, 0, -1]``
    derivative along axis ``i`` smoothed by ``[1, 2, 1] / 4`` along the others.
    ``spacing`` only selects the spatial axes. Returns float32.
    """
    array, spacing = _prepare(image, spacing)
    return apply_batched(array, len(spacing), _sobel_block)


def _laplace_block(block: np.ndarray) -> np.ndarray:
    values = _float32(block)
    total = np.zeros(values.shape, np.float32)
    for axis in range(values.ndim):
        total += ndi.correlate1d(values, [-1.0, 2.0, -1.0], axis=axis, mode="nearest")
    return total


def laplace(image, *, spacing: Spacing = None):
    """Discrete Laplace filter: ``2 * ndim`` at the centre, ``-1`` on direct neighbours.

    The kernel of ``skimage.filters.laplace`` (bright spots give positive
    values). ``spacing`` only selects the spatial axes. Returns float32.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((3, 3)); image[1, 1] = 1
    >>> laplace(image)
    array([[ 0., -1.,  0.],
           [-1.,  4., -1.],
           [ 0., -1.,  0.]], dtype=float32)
    """
    array, spacing = _prepare(image, spacing)
    return apply_batched(array, len(spacing), _laplace_block)


def difference_of_gaussian(
    image, *, sigma1: float = 1.0, sigma2: float = 3.0, spacing: Spacing = None
):
    """``gaussian(image, sigma1) - gaussian(image, sigma2)``: a band-pass filter.

    With ``sigma1 < sigma2`` it enhances spots of radius about ``sigma1 * sqrt(2)``
    and removes background. Returns float32.
    """
    array, spacing = _prepare(image, spacing)
    sigma1 = check_positive(sigma1, "sigma1")
    sigma2 = check_positive(sigma2, "sigma2")

    def block_dog(block):
        narrow = _gaussian_block(block, [sigma1 / s for s in spacing])
        narrow -= _gaussian_block(block, [sigma2 / s for s in spacing])
        return narrow

    return apply_batched(array, len(spacing), block_dog)


def laplacian_of_gaussian(image, *, sigma: float = 1.0, spacing: Spacing = None):
    """Gaussian blur of ``sigma`` followed by :func:`laplace` (positive on bright spots)."""
    array, spacing = _prepare(image, spacing)
    sigma = check_positive(sigma, "sigma")
    sigmas = [sigma / s for s in spacing]
    return apply_batched(
        array, len(spacing), lambda b: _laplace_block(_gaussian_block(b, sigmas))
    )

