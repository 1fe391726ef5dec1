"""One plane of a 3D Gaussian-based filter without filtering the whole slab.

A 3D Gaussian is separable: the plane ``z`` of the result is the in-plane 2D
Gaussian of one weighted sum of the planes around ``z``. This costs one 2D
filter instead of ``2 * halo + 1``, which keeps live previews of big stacks
fast. Results equal the full 3D filter up to float32 rounding (the weighted
sum is accumulated in float64, in another order than scipy's 1D pass).
"""

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

GAUSSIAN_TRUNCATE = 4.0


def _kernel(sigma: float) -> np.ndarray:
    """Scipy's Gaussian weights: radius ``int(truncate * sigma + 0.5)``, normalised."""
    radius = int(GAUSSIAN_TRUNCATE * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * x * x / (sigma * sigma))
    return weights / weights.sum()


def _gaussian_plane(
    slab: np.ndarray, z: int, sigma: float, spacing: Sequence[float]
) -> np.ndarray:
    """Plane ``z`` of the 3D Gaussian of the volume whose planes ``slab`` holds.

    ``slab`` must hold every plane within the kernel's reach of ``z`` that
    exists in the volume; beyond the volume's edges planes replicate.
    """
    weights = _kernel(sigma / spacing[0])
    radius = len(weights) // 2
    planes = np.clip(np.arange(z - radius, z + radius + 1), 0, slab.shape[0] - 1)
    combined = np.zeros(slab.shape[1:], np.float64)
    for weight, plane in zip(weights, planes, strict=True):
        combined += weight * slab[plane]
    in_plane = [sigma / s for s in spacing[1:]]
    return ndi.gaussian_filter(
        combined.astype(np.float32),
        in_plane,
        mode="nearest",
        truncate=GAUSSIAN_TRUNCATE,
        output=np.float32,
    )


def gaussian_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``gaussian(volume, sigma=...)`` from the planes in ``slab``."""
    return _gaussian_plane(slab, z, parameters["sigma"], spacing)


def difference_of_gaussian_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``difference_of_gaussian(volume, sigma1=..., sigma2=...)``."""
    narrow = _gaussian_plane(slab, z, parameters["sigma1"], spacing)
    narrow -= _gaussian_plane(slab, z, parameters["sigma2"], spacing)
    return narrow


def laplacian_of_gaussian_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``laplacian_of_gaussian(volume, sigma=...)``.

    The Laplace kernel needs the Gaussian at planes ``z - 1``, ``z`` and ``z + 1``
    (replicated at the volume's edges).
    """
    sigma = parameters["sigma"]
    last = slab.shape[0] - 1
    below, centre, above = (
        _gaussian_plane(slab, min(max(p, 0), last), sigma, spacing) for p in (z - 1, z, z + 1)
    )
    result = 2 * centre - below - above
    for axis in (0, 1):
        result += ndi.correlate1d(centre, [-1.0, 2.0, -1.0], axis=axis, mode="nearest")
    return result.astype(np.float32)
