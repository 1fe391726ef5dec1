"""One plane of a 3D Gaussian-based filter without filtering the whole slab.

A 3D Gaussian is separable: the plane ``z`` of the result is the in-plane 2D
Gaussian of one weighted sum of the planes around ``z`` (scipy's first pass,
for that plane only). This costs one 2D filter instead of ``2 * halo + 1``,
which keeps live previews of big stacks fast. Gaussian and difference of
Gaussians planes equal the full 3D filter bit for bit; the Laplacian of
Gaussian sums its terms in another order (equal up to float32 rounding).
"""

from collections.abc import Sequence

import numpy as np

from ._correlate import correlate, gaussian_plane_of_slab

GAUSSIAN_TRUNCATE = 4.0


def _gaussian_plane(
    slab: np.ndarray, z: int, sigma: float, spacing: Sequence[float]
) -> np.ndarray:
    """Plane ``z`` of the 3D Gaussian of the volume whose planes ``slab`` holds.

    ``slab`` must hold every plane within the kernel's reach of ``z`` that
    exists in the volume; beyond the volume's edges planes replicate.
    """
    sigmas = [sigma / s for s in spacing]
    return gaussian_plane_of_slab(slab, z, sigmas, GAUSSIAN_TRUNCATE)


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
        result += correlate(centre, axis, [-1.0, 2.0, -1.0])
    return result.astype(np.float32)
