"""Synthetic nuclei images with their ground truth, for trying and testing the plugin.

`make_nuclei` draws non-overlapping elliptical nuclei of varying size and brightness
in physical units, blurs them with a Gaussian point spread function (wider along Z,
as a microscope's), adds a smooth uneven background and Poisson (shot) noise, and
returns the uint16 image with the int32 labels of the nuclei. Everything comes from a
seeded generator: the same arguments give the same arrays. `nuclei_2d` and
`nuclei_3d` are the npe2 sample data commands.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage as ndi

__all__ = ["SAMPLES", "make_nuclei", "nuclei_2d", "nuclei_3d"]

# The sample data's keys (napari's File > Open Sample, ``napari-bioimg view --sample``)
# and titles; each key is also the name of the function making it.
SAMPLES = {
    "nuclei_2d": "Nuclei 2D (synthetic, with ground truth)",
    "nuclei_3d": "Nuclei 3D, anisotropic (synthetic, with ground truth)",
}

LayerData = tuple[np.ndarray, dict[str, Any], str]

# Axial blur of a widefield/confocal point spread function is 2-4x the lateral one.
_AXIAL_TO_LATERAL = 2.5
_MAX_TRIES_PER_NUCLEUS = 2000


def _random_rotation(rng: np.random.Generator, ndim: int) -> np.ndarray:
    if ndim == 2:
        angle = rng.uniform(0, np.pi)
        return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    q, r = np.linalg.qr(rng.normal(size=(ndim, ndim)))
    return q * np.sign(np.diag(r))


def _place_centres(rng: np.random.Generator, extent: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Centres (physical units) of non-overlapping balls of ``radii`` inside ``extent``."""
    centres = np.empty((len(radii), len(extent)))
    for i, radius in enumerate(radii):
        for _ in range(_MAX_TRIES_PER_NUCLEUS):
            margin = np.minimum(radius, extent / 2)
            candidate = rng.uniform(margin, extent - margin)
            gaps = np.linalg.norm(centres[:i] - candidate, axis=1) - radii[:i] - radius
            if i == 0 or gaps.min() > 0:
                centres[i] = candidate
                break
        else:
            raise ValueError(
                f"could not place {len(radii)} nuclei without overlap in an image of "
                f"{tuple(np.round(extent, 3))} (physical units): ask for fewer nuclei, "
                "smaller radii or a larger shape"
            )
    return centres


def _draw_labels(
    shape: tuple[int, ...],
    spacing: np.ndarray,
    centres: np.ndarray,
    semi_axes: np.ndarray,
    rotations: list[np.ndarray],
) -> np.ndarray:
    """Rasterise each ellipsoid in its own bounding box (physical coordinates)."""
    labels = np.zeros(shape, dtype=np.int32)
    for index, (centre, axes, rotation) in enumerate(
        zip(centres, semi_axes, rotations, strict=True), start=1
    ):
        reach = axes.max()
        low = np.maximum(np.floor((centre - reach) / spacing).astype(int), 0)
        high = np.minimum(np.ceil((centre + reach) / spacing).astype(int) + 1, shape)
        grids = np.meshgrid(
            *[
                np.arange(lo, hi) * s - c
                for lo, hi, s, c in zip(low, high, spacing, centre, strict=True)
            ],
            indexing="ij",
        )
        offsets = np.stack(grids, axis=-1) @ rotation  # into the ellipsoid's own axes
        inside = ((offsets / axes) ** 2).sum(axis=-1) <= 1.0
        box = tuple(slice(lo, hi) for lo, hi in zip(low, high, strict=True))
        labels[box][inside] = index
    return labels


def _background(rng: np.random.Generator, shape: tuple[int, ...], level: float) -> np.ndarray:
    """Return a smooth, uneven background: a tilted plane plus two broad bumps in YX."""
    y, x = np.meshgrid(*[np.linspace(0, 1, n) for n in shape[-2:]], indexing="ij")
    direction = rng.uniform(0, 2 * np.pi)
    field = 1 + 0.6 * (np.cos(direction) * (x - 0.5) + np.sin(direction) * (y - 0.5))
    for _ in range(2):
        cy, cx = rng.uniform(0, 1, 2)
        width = rng.uniform(0.2, 0.4)
        field += rng.uniform(0.3, 0.6) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / width**2)
    return level * field


def make_nuclei(
    shape: Sequence[int] = (512, 512),
    spacing: Sequence[float] | None = None,
    n: int = 30,
    seed: int | None = 0,
    *,
    radius: tuple[float, float] | None = None,
    sigma: float | Sequence[float] | None = None,
    background: float = 100.0,
    brightness: tuple[float, float] = (300.0, 1200.0),
    offset: float = 100.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate a fluorescence image of nuclei, with its ground-truth labels.

    Parameters
    ----------
    shape : sequence of int
        Image shape, 2D ``(y, x)`` or 3D ``(z, y, x)``.
    spacing : sequence of float, optional
        Pixel size per axis (as napari's ``scale``); 1 per axis when omitted. Nuclei
        are round in physical units, so they look squashed along a coarser axis.
    n : int
        Number of nuclei; each gets its own label ``1..n``.
    seed : int or None
        Seed of the random generator: the same seed gives the same arrays.
    radius : (float, float), optional
        Range of nucleus radii in the units of ``spacing``; by default 1/30 to 1/16
        of the image's smallest in-plane extent.
    sigma : float or sequence of float, optional
        Standard deviation of the Gaussian blur in the units of ``spacing`` (one per
        axis, or one for all). By default twice the finest pixel size in-plane and
        2.5 times that along Z.
    background : float
        Mean background level, in photons, before the uneven illumination.
    brightness : (float, float)
        Range of nucleus brightness, in photons above the background.
    offset : float
        Camera offset added after the noise (the dark level of real cameras).

    Returns
    -------
    image : numpy.ndarray of uint16
        Blurred nuclei on the background, with Poisson noise.
    labels : numpy.ndarray of int32
        0 for background, ``i`` inside nucleus ``i`` (before blurring).

    Raises
    ------
    ValueError
        If ``shape`` is not 2D or 3D, sizes are not positive, or ``n`` nuclei do not
        fit without overlapping.

    Examples
    --------
    >>> image, labels = make_nuclei((64, 64), n=3, seed=1)
    >>> image.dtype, labels.max()
    (dtype('uint16'), np.int32(3))
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(f"shape must be 2D or 3D with positive sizes, got {shape}")
    spacing_ = np.ones(len(shape)) if spacing is None else np.asarray(spacing, dtype=float)
    if spacing_.shape != (len(shape),) or not (spacing_ > 0).all():
        raise ValueError(f"spacing must hold {len(shape)} positive numbers, got {spacing}")
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n}")
    rng = np.random.default_rng(seed)
    extent = np.array(shape) * spacing_
    in_plane = extent[-2:].min()
    low, high = radius if radius is not None else (in_plane / 30, in_plane / 16)
    if not 0 < low <= high:
        raise ValueError(f"radius must be (low, high) with 0 < low <= high, got {radius}")
    if sigma is None:
        lateral = 2 * spacing_[-2:].min()
        sigma_ = np.array([lateral * _AXIAL_TO_LATERAL] * (len(shape) - 2) + [lateral] * 2)
    else:
        sigma_ = np.broadcast_to(np.asarray(sigma, dtype=float), (len(shape),))

    ndim = len(shape)
    radii = rng.uniform(low, high, n)
    # Elongation: semi-axes around the radius, longest about 1.4 times the shortest.
    stretch = rng.uniform(0.85, 1.2, (n, ndim))
    semi_axes = radii[:, None] * stretch
    rotations = [_random_rotation(rng, ndim) for _ in range(n)]
    centres = _place_centres(rng, extent, semi_axes.max(axis=1))
    labels = _draw_labels(shape, spacing_, centres, semi_axes, rotations)

    intensity = np.concatenate([[0.0], rng.uniform(*brightness, n)])
    signal = intensity[labels]
    # Chromatin texture: some 10 % of smooth variation inside the nuclei.
    grain = 0.75 * sigma_[-1] / spacing_
    texture = ndi.gaussian_filter(rng.normal(size=shape), grain, mode="nearest")
    signal *= 1 + texture / texture.std() * 0.1
    signal = ndi.gaussian_filter(signal, sigma_ / spacing_, mode="nearest")
    expected = np.clip(signal + _background(rng, shape, background), 0, None)
    image = rng.poisson(expected) + offset
    return np.clip(image, 0, np.iinfo(np.uint16).max).astype(np.uint16), labels


def _layers(
    name: str, shape: tuple[int, ...], spacing: tuple[float, ...], n: int, seed: int
) -> list[LayerData]:
    image, labels = make_nuclei(shape, spacing, n, seed)
    units = ("µm",) * len(shape)
    metadata = {
        "generator": "napari_bioimg._sample_data.make_nuclei",
        "seed": seed,
        "n_nuclei": n,
        "spacing": spacing,
        "unit": "µm",
    }
    if len(shape) == 3:
        metadata["z_spacing_known"] = True
    # named as the reader names a file's axes (napari's numbers -3, -2, -1 otherwise)
    common = {"scale": spacing, "units": units, "axis_labels": ("z", "y", "x")[-len(shape):]}
    return [
        (image, {"name": name, **common, "metadata": metadata}, "image"),
        (
            labels,
            {"name": f"{name} ground truth", **common, "metadata": dict(metadata)},
            "labels",
        ),
    ]


def nuclei_2d(seed: int = 0) -> list[LayerData]:
    """Sample data: 512x512 nuclei image (0.5 µm pixels) and its ground-truth labels."""
    return _layers("nuclei 2D", (512, 512), (0.5, 0.5), 30, seed)


def nuclei_3d(seed: int = 0) -> list[LayerData]:
    """Sample data: 32x256x256 anisotropic stack (2 µm slices, 0.5 µm pixels) and labels."""
    return _layers("nuclei 3D", (32, 256, 256), (2.0, 0.5, 0.5), 30, seed)
