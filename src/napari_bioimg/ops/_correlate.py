"""Separable correlation along one axis: Gaussian, Sobel and Laplace passes.

A compiled kernel that gives ``scipy.ndimage.correlate1d(..., mode="nearest")``
bit for bit: sums are accumulated in float64 in scipy's order, and symmetric
weights (Gaussians, ``[1, 2, 1]``) are applied as scipy applies them, to the
sum of the two mirrored samples, which halves the multiplications.
"""

import numpy as np
from numba import njit

from ._checks import check_memory
from ._kernels import _clamp, _pad_row, run_parallel
from ._neighbourhood import _as_3d

__all__ = ["correlate", "gaussian_blur", "gaussian_planes_of_slab", "gaussian_weights"]


@njit(nogil=True, cache=True)
def correlate_axis(image, out, z0, z1, y0, y1, axis, weights, symmetric):
    """Correlate with ``weights`` (odd length, centred) along ``axis`` (0, 1 or 2).

    Edges replicate. With ``symmetric``, the centre sample is weighted first,
    then each mirrored pair, farthest first (scipy's order for symmetric
    kernels); otherwise samples are weighted in order. Sums are accumulated in
    the weights' type: float64 as scipy (bit for bit), or float32 (twice the
    lanes per vector operation).
    """
    nz, ny, nx = image.shape
    radius = weights.shape[0] // 2
    acc = np.empty(nx, weights.dtype)
    pad = np.empty(nx + 2 * radius, weights.dtype)
    for z in range(z0, z1):
        for y in range(y0, y1):
            if axis == 2:
                _pad_row(image[z, y], pad, radius)
                if symmetric:
                    centre = weights[radius]
                    inner = pad[radius : radius + nx]  # from 0: vectorizes (an offset does not)
                    for i in range(nx):
                        acc[i] = inner[i] * centre
                    for j in range(radius, 0, -1):
                        w = weights[radius - j]
                        left = pad[radius - j : radius - j + nx]
                        right = pad[radius + j : radius + j + nx]
                        for i in range(nx):
                            acc[i] += (left[i] + right[i]) * w
                else:
                    acc[:] = 0.0
                    for k in range(weights.shape[0]):
                        w = weights[k]
                        src = pad[k : k + nx]
                        for i in range(nx):
                            acc[i] += w * src[i]
            else:
                if symmetric:
                    centre = weights[radius]
                    src = image[z, y]
                    for i in range(nx):
                        acc[i] = weights.dtype.type(src[i]) * centre
                    for j in range(radius, 0, -1):
                        w = weights[radius - j]
                        if axis == 1:
                            left = image[z, _clamp(y - j, ny)]
                            right = image[z, _clamp(y + j, ny)]
                        else:
                            left = image[_clamp(z - j, nz), y]
                            right = image[_clamp(z + j, nz), y]
                        for i in range(nx):
                            pair = weights.dtype.type(left[i]) + weights.dtype.type(right[i])
                            acc[i] += pair * w
                else:
                    acc[:] = 0.0
                    for k in range(weights.shape[0]):
                        w = weights[k]
                        if axis == 1:
                            src = image[z, _clamp(y + k - radius, ny)]
                        else:
                            src = image[_clamp(z + k - radius, nz), y]
                        for i in range(nx):
                            acc[i] += w * src[i]
            orow = out[z, y]
            for i in range(nx):
                orow[i] = acc[i]


def _correlate_into(source3, target3, axis3: int, weights, planes=None, clear=True) -> None:
    weights = np.asarray(weights)
    if weights.dtype != np.float32:  # float32 weights: float32 sums (see correlate_axis)
        weights = weights.astype(np.float64)
    symmetric = bool(np.array_equal(weights, weights[::-1]))
    run_parallel(
        correlate_axis, source3, target3, axis3, weights, symmetric,
        planes=planes, clear_others=clear,
    )


def correlate(values: np.ndarray, axis: int, weights, planes=None, clear=True) -> np.ndarray:
    """``ndi.correlate1d(values, weights, axis, mode="nearest")`` into float32, on threads.

    ``planes=(start, stop)`` computes only those planes of a 3D ``values``
    (the others are zero, or left unset with ``clear=False`` for callers that
    read only those planes).
    """
    work = _as_3d(values)
    out = np.empty(work.shape, np.float32)
    _correlate_into(work, out, axis + 3 - values.ndim, weights, planes, clear)
    return out.reshape(values.shape)


def gaussian_weights(sigma: float, truncate: float) -> np.ndarray:
    """Scipy's ``_gaussian_kernel1d`` weights (order 0), in correlation order."""
    radius = int(truncate * float(sigma) + 0.5)
    check_memory(8.0 * (2 * radius + 1), f"a Gaussian of sigma {sigma:g} ({2 * radius + 1} taps)")
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    return phi / phi.sum()


def gaussian_blur(block: np.ndarray, sigmas, truncate: float, precision=np.float64) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter`` of one block into float32, on threads.

    One correlation per axis in scipy's order (first axis first), each reading
    the previous float32 result, as scipy does. ``precision``: of the sums,
    float64 as scipy's (the same floats), or float32 (to float32 rounding, about
    twice as fast).
    """
    work = _as_3d(block.view(np.uint8) if block.dtype == bool else block)
    axes = [(axis + 3 - block.ndim, sigma) for axis, sigma in enumerate(sigmas) if sigma > 1e-15]
    out = np.empty(work.shape, np.float32)
    if not axes:
        out[...] = work
        return out.reshape(block.shape)
    spare = np.empty_like(out) if len(axes) > 1 else None
    source, target = work, out if len(axes) % 2 else spare
    for axis, sigma in axes:
        weights = gaussian_weights(sigma, truncate).astype(precision)
        _correlate_into(source, target, axis, weights)
        source, target = target, (spare if target is out else out)
    return source.reshape(block.shape)


def gaussian_planes_of_slab(slab: np.ndarray, planes, sigmas, truncate: float) -> np.ndarray:
    """Planes ``start:stop`` of ``gaussian_blur(slab, sigmas, truncate)`` (3D), alone.

    scipy's first pass (along the planes) is computed for those planes only,
    then the in-plane passes: the same floats as the whole filter.
    """
    start, stop = planes
    work = _as_3d(slab.view(np.uint8) if slab.dtype == bool else slab)
    along = np.empty(work.shape, np.float32)
    if sigmas[0] > 1e-15:
        # only these planes are read: the rest of ``along`` is never touched
        _correlate_into(work, along, 0, gaussian_weights(sigmas[0], truncate), planes, False)
    else:
        along[start:stop] = work[start:stop]
    return gaussian_blur(along[start:stop], [0.0, *sigmas[1:]], truncate)
