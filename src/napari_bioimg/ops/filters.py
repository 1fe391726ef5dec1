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

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ._checks import as_image, check_memory, check_positive, keeps_dtype, spatial_spacing
from ._correlate import correlate, gaussian_blur, gaussian_planes_of_slab, gaussian_weights
from ._docs import fill_doc
from ._footprint import apply_batched, make_footprint
from ._neighbourhood import (
    local_extreme,
    local_mean,
    local_median,
    local_variance,
)
from ._store import kept
from ._tophat import top_hat

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


def _prepare(
    image,
    spacing: Spacing,
    name: str = "",
    out_itemsize: int | None = None,
    temporaries: float = 0.0,
) -> tuple[np.ndarray, tuple[float, ...]]:
    """Check the image and spacing, and that the result fits in memory.

    ``out_itemsize`` is the result's bytes per pixel (the input's when None);
    ``temporaries`` counts extra whole-image buffers in input bytes.
    """
    array = as_image(image)
    spacing = spatial_spacing(array, spacing)
    itemsize = array.dtype.itemsize if out_itemsize is None else out_itemsize
    check_memory(array.size * itemsize + temporaries * array.nbytes, name or "this filter")
    return array, spacing


# --- rank and statistics filters ------------------------------------------------


@fill_doc
def mean(
    image: npt.ArrayLike,
    *,
    radius: float = 2.0,
    footprint: str = "ball",
    spacing: Spacing = None,
) -> np.ndarray:
    """Local mean over a ball or box of ``radius``.

    Parameters
    ----------
    %(image)s
    %(radius)s
    %(footprint)s
    %(spacing)s

    Returns
    -------
    numpy.ndarray of float32
        Same shape as ``image``, in its intensity units.

    Raises
    ------
    %(raises_footprint)s

    See Also
    --------
    median : A rank filter, robust to outliers; keeps the dtype.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((5, 5), np.uint8); image[2, 2] = 5
    >>> mean(image, radius=1)[1:4, 1:4]
    array([[0., 1., 0.],
           [1., 1., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    array, spacing = _prepare(image, spacing, "mean", 4)
    fp = make_footprint(radius, footprint, spacing)
    return apply_batched(array, len(spacing), lambda b: local_mean(b, fp))


@fill_doc
def variance(
    image: npt.ArrayLike,
    *,
    radius: float = 2.0,
    footprint: str = "ball",
    spacing: Spacing = None,
) -> np.ndarray:
    """Local (population) variance over a ball or box of ``radius``.

    Parameters
    ----------
    %(image)s
    %(radius)s
    %(footprint)s
    %(spacing)s

    Returns
    -------
    numpy.ndarray of float32
        Same shape as ``image``, in squared intensity units.

    Raises
    ------
    %(raises_footprint)s

    See Also
    --------
    mean, standard_deviation
    """
    array, spacing = _prepare(image, spacing, "variance", 4)
    fp = make_footprint(radius, footprint, spacing)
    return apply_batched(array, len(spacing), lambda b: local_variance(b, fp))


@fill_doc
def standard_deviation(
    image: npt.ArrayLike,
    *,
    radius: float = 2.0,
    footprint: str = "ball",
    spacing: Spacing = None,
) -> np.ndarray:
    """Local standard deviation over a ball or box of ``radius``.

    The square root of :func:`variance` (population, n in the denominator).

    Parameters
    ----------
    %(image)s
    %(radius)s
    %(footprint)s
    %(spacing)s

    Returns
    -------
    numpy.ndarray of float32
        Same shape as ``image``, in its intensity units.

    Raises
    ------
    %(raises_footprint)s

    See Also
    --------
    variance
    """
    return np.sqrt(variance(image, radius=radius, footprint=footprint, spacing=spacing))


@keeps_dtype
@fill_doc
def minimum(
    image: npt.ArrayLike,
    *,
    radius: float = 2.0,
    footprint: str = "ball",
    spacing: Spacing = None,
) -> np.ndarray:
    """Local minimum (grayscale erosion) over a ball or box of ``radius``; keeps dtype.

    Parameters
    ----------
    %(image)s
    %(radius)s
    %(footprint)s
    %(spacing)s

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``image``.

    Raises
    ------
    %(raises_footprint)s

    See Also
    --------
    maximum, median
    """
    array, spacing = _prepare(image, spacing, "minimum")
    fp = make_footprint(radius, footprint, spacing)
    return apply_batched(array, len(spacing), lambda b: local_extreme(b, fp, "min"))


@keeps_dtype
@fill_doc
def maximum(
    image: npt.ArrayLike,
    *,
    radius: float = 2.0,
    footprint: str = "ball",
    spacing: Spacing = None,
) -> np.ndarray:
    """Local maximum (grayscale dilation) over a ball or box of ``radius``; keeps dtype.

    Parameters
    ----------
    %(image)s
    %(radius)s
    %(footprint)s
    %(spacing)s

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``image``.

    Raises
    ------
    %(raises_footprint)s

    See Also
    --------
    minimum, median
    """
    array, spacing = _prepare(image, spacing, "maximum")
    fp = make_footprint(radius, footprint, spacing)
    return apply_batched(array, len(spacing), lambda b: local_extreme(b, fp, "max"))


@keeps_dtype
@fill_doc
def median(
    image: npt.ArrayLike,
    *,
    radius: float = 2.0,
    footprint: str = "ball",
    spacing: Spacing = None,
) -> np.ndarray:
    """Local median over a ball or box of ``radius``; keeps dtype.

    Footprints always hold an odd number of pixels, so the median is one of
    the input values.

    Parameters
    ----------
    %(image)s
    %(radius)s
    %(footprint)s
    %(spacing)s

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``image``.

    Raises
    ------
    %(raises_footprint)s

    See Also
    --------
    mean, minimum, maximum
    """
    array, spacing = _prepare(image, spacing, "median", temporaries=1)
    fp = make_footprint(radius, footprint, spacing)
    return apply_batched(array, len(spacing), lambda b: local_median(b, fp))


def _one_plane(slab, z: int, parameters: dict, spacing, local) -> np.ndarray:
    """Plane ``z`` of a single-pass neighbourhood filter of ``slab`` (3D), alone.

    The kernels compute just that plane's output from the planes around it,
    instead of the whole slab: a live preview of one plane of a stack.
    """
    array, spacing = _prepare(slab, spacing)
    fp = make_footprint(parameters["radius"], parameters["footprint"], spacing)
    return local(array, fp, planes=(z, z + 1))[z]


def mean_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``mean(slab, ...)`` (a registry ``plane`` hook)."""
    return _one_plane(slab, z, parameters, spacing, local_mean)


def variance_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``variance(slab, ...)``."""
    return _one_plane(slab, z, parameters, spacing, local_variance)


def standard_deviation_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``standard_deviation(slab, ...)``."""
    return np.sqrt(variance_plane(slab, z, parameters, spacing))


@keeps_dtype
def minimum_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``minimum(slab, ...)``."""
    return _one_plane(
        slab, z, parameters, spacing, lambda b, fp, planes: local_extreme(b, fp, "min", planes)
    )


@keeps_dtype
def maximum_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``maximum(slab, ...)``."""
    return _one_plane(
        slab, z, parameters, spacing, lambda b, fp, planes: local_extreme(b, fp, "max", planes)
    )


@keeps_dtype
def median_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``median(slab, ...)``."""
    return _one_plane(slab, z, parameters, spacing, local_median)


@keeps_dtype
def white_top_hat_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``white_top_hat(slab, ...)``."""
    return _one_plane(
        slab, z, parameters, spacing, lambda b, fp, planes: top_hat(b, fp, True, planes)
    )


@keeps_dtype
def black_top_hat_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``black_top_hat(slab, ...)``."""
    return _one_plane(
        slab, z, parameters, spacing, lambda b, fp, planes: top_hat(b, fp, False, planes)
    )


def _gaussian_plane(slab, z: int, sigma: float, spacing) -> np.ndarray:
    """Plane ``z`` of the 3D Gaussian of the volume whose planes ``slab`` holds.

    ``slab`` must hold every plane within the kernel's reach of ``z`` that
    exists in the volume; beyond the volume's edges planes replicate. scipy's
    first pass runs for that plane only, then the in-plane passes: one 2D
    filter instead of ``2 * halo + 1``, and the full filter's plane bit for bit.
    """
    sigmas = [sigma / s for s in spacing]
    return gaussian_planes_of_slab(as_image(slab), (z, z + 1), sigmas, GAUSSIAN_TRUNCATE)[0]


def gaussian_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``gaussian(slab, ...)``."""
    return _gaussian_plane(slab, z, parameters["sigma"], spacing)


def difference_of_gaussian_plane(slab, z, parameters, spacing, store=None, index=None):
    """Plane ``z`` of ``difference_of_gaussian(slab, ...)``.

    With ``store``, each blurred plane is kept (keyed by the plane ``index``
    in the volume, its sigma and the spacing), so that tuning one sigma
    blurs only that one again.
    """

    def blurred(which: str) -> np.ndarray:
        sigma = parameters[which]
        return kept(
            store,
            f"{which} plane",
            (index, sigma, tuple(spacing)),
            lambda: _gaussian_plane(slab, z, sigma, spacing),
        )

    return blurred("sigma1") - blurred("sigma2")


def laplacian_of_gaussian_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``laplacian_of_gaussian(slab, ...)`` (3D), alone.

    The Laplace filter's term along z, ``2 G[z] - G[z - 1] - G[z + 1]``, is the
    in-plane blur of the same combination of the planes blurred along z only
    (the in-plane passes are linear): two in-plane blurs instead of three, with
    float32 sums. The same values as the whole filter to float32 rounding.
    """
    sigmas = [parameters["sigma"] / s for s in spacing]
    work = as_image(slab)
    low, high = max(z - 1, 0), min(z + 2, slab.shape[0])
    if sigmas[0] > 1e-15:
        weights = gaussian_weights(sigmas[0], GAUSSIAN_TRUNCATE)
        along = correlate(work, 0, weights, (low, high), clear=False)[low:high]
    else:
        along = work[low:high].astype(np.float32)
    centre = along[z - low]
    # The neighbour planes replicate at the volume's edges (mode "nearest").
    z_term = 2 * centre - along[max(z - 1, low) - low] - along[min(z + 1, high - 1) - low]
    # In-plane sums in float32 (twice as fast): a preview to float32 rounding anyway.
    both = gaussian_blur(
        np.stack([z_term, centre]), [0.0, *sigmas[1:]], GAUSSIAN_TRUNCATE, np.float32
    )
    return both[0] + _laplace_block(both[1])


def _top_hat(image, radius, footprint, spacing, kind: str) -> np.ndarray:
    array, spacing = _prepare(image, spacing, f"{kind} top-hat", temporaries=2)
    fp = make_footprint(radius, footprint, spacing)

    return apply_batched(array, len(spacing), lambda b: top_hat(b, fp, kind == "white"))


@keeps_dtype
@fill_doc
def white_top_hat(
    image: npt.ArrayLike,
    *,
    radius: float = 10.0,
    footprint: str = "ball",
    spacing: Spacing = None,
) -> np.ndarray:
    """Image minus its opening: bright details smaller than the footprint.

    Subtracts a background that varies more slowly than the footprint (the
    rolling-ball idea); keeps dtype.

    Parameters
    ----------
    %(image)s
    %(radius_top_hat)s
    %(footprint)s
    %(spacing)s

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``image`` (signed integer differences saturate
        at the dtype's maximum).

    Raises
    ------
    %(raises_footprint)s

    See Also
    --------
    black_top_hat
    """
    return _top_hat(image, radius, footprint, spacing, "white")


@keeps_dtype
@fill_doc
def black_top_hat(
    image: npt.ArrayLike,
    *,
    radius: float = 10.0,
    footprint: str = "ball",
    spacing: Spacing = None,
) -> np.ndarray:
    """Closing minus image: dark details smaller than the footprint; keeps dtype.

    Parameters
    ----------
    %(image)s
    %(radius_top_hat)s
    %(footprint)s
    %(spacing)s

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``image`` (signed integer differences saturate
        at the dtype's maximum).

    Raises
    ------
    %(raises_footprint)s

    See Also
    --------
    white_top_hat
    """
    return _top_hat(image, radius, footprint, spacing, "black")


# --- linear and derivative filters ------------------------------------------------


def _float32(block: np.ndarray) -> np.ndarray:
    return block.astype(np.float32)


def _gaussian_block(block: np.ndarray, sigmas: Sequence[float]) -> np.ndarray:
    # scipy's gaussian_filter, bit for bit, on the compiled kernel and both cores.
    return gaussian_blur(block, sigmas, GAUSSIAN_TRUNCATE)


@fill_doc
def gaussian(image: npt.ArrayLike, *, sigma: float = 1.0, spacing: Spacing = None) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` (kernel truncated at 4 sigma).

    Parameters
    ----------
    %(image)s
    sigma : float, default 1.0
        Standard deviation, positive, in the units of ``spacing`` when given,
        else in pixels.
    %(spacing)s

    Returns
    -------
    numpy.ndarray of float32
        Same shape as ``image``, in its intensity units (no rescaling to 0..1).

    Raises
    ------
    %(raises_sigma)s
    """
    array, spacing = _prepare(image, spacing, "gaussian", 8)
    sigma = check_positive(sigma, "sigma")
    sigmas = [sigma / s for s in spacing]
    return apply_batched(array, len(spacing), lambda b: _gaussian_block(b, sigmas))


_DERIVATIVE = [-1.0, 0.0, 1.0]
_SMOOTH = [0.25, 0.5, 0.25]


def _sobel_block(block: np.ndarray, planes=None) -> np.ndarray:
    """Sobel magnitude of one block; with ``planes=(start, stop)``, of those planes only.

    In 3D the passes along the planes come first (one of them, the smoothing,
    shared by the two in-plane derivatives), so that a few planes of output
    need the passes along the planes for those planes only: 8 passes, the
    last 6 on the kept planes alone.
    """
    values = _float32(block)
    kept = slice(None) if planes is None else slice(*planes)
    if values.ndim == 3:
        smooth = correlate(values, 0, _SMOOTH, planes, clear=False)[kept]
        terms = [
            (
                correlate(values, 0, _DERIVATIVE, planes, clear=False)[kept],
                ((1, _SMOOTH), (2, _SMOOTH)),
            ),
            (smooth, ((1, _DERIVATIVE), (2, _SMOOTH))),
            (smooth, ((2, _DERIVATIVE), (1, _SMOOTH))),
        ]
    else:
        terms = [
            (values, ((0, _DERIVATIVE), (1, _SMOOTH))),
            (values, ((1, _DERIVATIVE), (0, _SMOOTH))),
        ]
    total = None
    for derivative, passes in terms:
        for axis, weights in passes:
            derivative = correlate(derivative, axis, weights)
        derivative *= derivative
        total = derivative if total is None else np.add(total, derivative, out=total)
    total /= values.ndim
    return np.sqrt(total, out=total)


@fill_doc
def sobel(image: npt.ArrayLike, *, spacing: Spacing = None) -> np.ndarray:
    """Sobel gradient magnitude, as ``skimage.filters.sobel`` but in intensity units.

    ``sqrt(mean over axes of g_i**2)`` where ``g_i`` is the ``[1, 0, -1]``
    derivative along axis ``i`` smoothed by ``[1, 2, 1] / 4`` along the others.

    Parameters
    ----------
    %(image)s
    %(spacing_axes)s

    Returns
    -------
    numpy.ndarray of float32
        Same shape as ``image``, in its intensity units.

    Raises
    ------
    %(raises_spacing)s
    """
    array, spacing = _prepare(image, spacing, "sobel", 8)
    return apply_batched(array, len(spacing), _sobel_block)


def _laplace_block(block: np.ndarray, planes=None) -> np.ndarray:
    """Laplace filter of one block; with ``planes=(start, stop)``, of those planes only."""
    values = _float32(block)
    kept = slice(None) if planes is None else slice(*planes)
    total = np.zeros(values[kept].shape, np.float32)
    for axis in range(values.ndim):
        total += correlate(values, axis, [-1.0, 2.0, -1.0], planes, clear=False)[kept]
    return total


def sobel_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``sobel(slab)`` (3D), alone."""
    return _sobel_block(as_image(slab), (z, z + 1))[0]


def laplace_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``laplace(slab)`` (3D), alone."""
    return _laplace_block(as_image(slab), (z, z + 1))[0]


@fill_doc
def laplace(image: npt.ArrayLike, *, spacing: Spacing = None) -> np.ndarray:
    """Discrete Laplace filter: ``2 * ndim`` at the centre, ``-1`` on direct neighbours.

    The kernel of ``skimage.filters.laplace`` (bright spots give positive
    values).

    Parameters
    ----------
    %(image)s
    %(spacing_axes)s

    Returns
    -------
    numpy.ndarray of float32
        Same shape as ``image``, in its intensity units.

    Raises
    ------
    %(raises_spacing)s

    See Also
    --------
    laplacian_of_gaussian

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((3, 3)); image[1, 1] = 1
    >>> laplace(image)
    array([[ 0., -1.,  0.],
           [-1.,  4., -1.],
           [ 0., -1.,  0.]], dtype=float32)
    """
    array, spacing = _prepare(image, spacing, "laplace", 8)
    return apply_batched(array, len(spacing), _laplace_block)


@fill_doc
def difference_of_gaussian(
    image: npt.ArrayLike, *, sigma1: float = 1.0, sigma2: float = 3.0, spacing: Spacing = None
) -> np.ndarray:
    """``gaussian(image, sigma1) - gaussian(image, sigma2)``: a band-pass filter.

    With ``sigma1 < sigma2`` it enhances spots of radius about ``sigma1 * sqrt(2)``
    and removes background.

    Parameters
    ----------
    %(image)s
    sigma1 : float, default 1.0
        Sigma of the narrow Gaussian, positive, in the units of ``spacing``
        when given, else in pixels.
    sigma2 : float, default 3.0
        Sigma of the wide Gaussian, in the same units.
    %(spacing)s

    Returns
    -------
    numpy.ndarray of float32
        Same shape as ``image``, in its intensity units.

    Raises
    ------
    %(raises_sigma)s

    See Also
    --------
    gaussian
    """
    array, spacing = _prepare(image, spacing, "difference of Gaussians", 8)
    sigma1 = check_positive(sigma1, "sigma1")
    sigma2 = check_positive(sigma2, "sigma2")

    def block_dog(block):
        narrow = _gaussian_block(block, [sigma1 / s for s in spacing])
        narrow -= _gaussian_block(block, [sigma2 / s for s in spacing])
        return narrow

    return apply_batched(array, len(spacing), block_dog)


@fill_doc
def laplacian_of_gaussian(
    image: npt.ArrayLike, *, sigma: float = 1.0, spacing: Spacing = None
) -> np.ndarray:
    """Gaussian blur of ``sigma`` followed by :func:`laplace` (positive on bright spots).

    Parameters
    ----------
    %(image)s
    sigma : float, default 1.0
        Standard deviation of the blur, positive, in the units of ``spacing``
        when given, else in pixels.
    %(spacing)s

    Returns
    -------
    numpy.ndarray of float32
        Same shape as ``image``, in its intensity units.

    Raises
    ------
    %(raises_sigma)s

    See Also
    --------
    gaussian, laplace
    """
    array, spacing = _prepare(image, spacing, "Laplacian of Gaussian", 8)
    sigma = check_positive(sigma, "sigma")
    sigmas = [sigma / s for s in spacing]
    return apply_batched(array, len(spacing), lambda b: _laplace_block(_gaussian_block(b, sigmas)))
