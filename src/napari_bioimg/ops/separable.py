"""One plane of a 3D Gaussian-based filter without filtering the whole slab.

A 3D Gaussian is separable: the plane ``z`` of the result is the in-plane 2D
Gaussian of one weighted sum of the planes around ``z`` (scipy's first pass,
for that plane only). This costs one 2D filter instead of ``2 * halo + 1``,
which keeps live previews of big stacks fast. Gaussian and difference of
Gaussians planes equal the full 3D filter bit for bit (the Laplacian of
Gaussian, built on them, is in :mod:`.filters`).
"""

from collections.abc import Sequence

import numpy as np

from ._correlate import gaussian_planes_of_slab

GAUSSIAN_TRUNCATE = 4.0


def _gaussian_plane(
    slab: np.ndarray, z: int, sigma: float, spacing: Sequence[float]
) -> np.ndarray:
    """Plane ``z`` of the 3D Gaussian of the volume whose planes ``slab`` holds.

    ``slab`` must hold every plane within the kernel's reach of ``z`` that
    exists in the volume; beyond the volume's edges planes replicate.
    """
    sigmas = [sigma / s for s in spacing]
    return gaussian_planes_of_slab(slab, (z, z + 1), sigmas, GAUSSIAN_TRUNCATE)[0]


def gaussian_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``gaussian(volume, sigma=...)`` from the planes in ``slab``."""
    return _gaussian_plane(slab, z, parameters["sigma"], spacing)


def difference_of_gaussian_plane(slab, z, parameters, spacing):
    """Plane ``z`` of ``difference_of_gaussian(volume, sigma1=..., sigma2=...)``."""
    narrow = _gaussian_plane(slab, z, parameters["sigma1"], spacing)
    narrow -= _gaussian_plane(slab, z, parameters["sigma2"], spacing)
    return narrow
