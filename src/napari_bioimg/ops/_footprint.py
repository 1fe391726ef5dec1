"""Footprints (structuring elements) in physical units, and batch iteration."""

import math
from collections.abc import Callable, Sequence

import numpy as np

from ._checks import check_choice, check_memory, check_nonnegative

FOOTPRINTS = ("ball", "box")

# Sizes are compared with a relative tolerance so that a radius of exactly
# 3 spacings reaches the third neighbour despite floating-point rounding.
_TOLERANCE = 1e-9


def reach(radius: float, spacing: Sequence[float]) -> tuple[int, ...]:
    """Return how many pixels a footprint of ``radius`` extends along each axis."""
    radius = check_nonnegative(radius, "radius")
    pixels = [radius / s * (1 + _TOLERANCE) for s in spacing]
    if not all(math.isfinite(p) for p in pixels):  # (1e300 at 1e-9 spacing: no int)
        raise ValueError(
            f"a radius of {radius:g} is more pixels than a float holds at spacing "
            f"{min(spacing):g}; is the radius in the image's units?"
        )
    return tuple(int(math.floor(p)) for p in pixels)


def make_footprint(radius: float, shape: str, spacing: Sequence[float]) -> np.ndarray:
    """Return a boolean footprint of ``radius`` in the units of ``spacing``.

    Parameters
    ----------
    radius : float
        Radius in physical units (pixels when ``spacing`` is all ones). The
        footprint holds every offset ``o`` with ``|o * spacing| <= radius``
        (``ball``, Euclidean norm) or ``max|o_i * spacing_i| <= radius`` (``box``).
    shape : {"ball", "box"}
        Disk/ball or rectangle/cuboid.
    spacing : sequence of float
        Pixel size per axis.

    Returns
    -------
    numpy.ndarray of bool
        An array of odd side lengths ``2 * reach + 1``.
    """
    check_choice(shape, "footprint", FOOTPRINTS)
    extents = reach(radius, spacing)
    # the footprint and, for a ball, its float64 squared distances
    sides = [2 * e + 1 for e in extents]
    check_memory(
        # (Python floats: a radius of 1e300 gives inf, without numpy's overflow warning)
        math.prod(float(n) for n in sides) * (1 if shape == "box" else 9),
        f"a {shape} of radius {radius:g} "
        f"({' x '.join(str(n) if n < 1e9 else f'{n:.3g}' for n in sides)} "
        "pixels; is the radius in the image's units?)",
    )
    if shape == "box":
        return np.ones([2 * e + 1 for e in extents], dtype=bool)
    grids = np.ogrid[tuple(slice(-e, e + 1) for e in extents)]
    squared = sum((g * s) ** 2 for g, s in zip(grids, spacing, strict=True))
    return squared <= radius**2 * (1 + _TOLERANCE) ** 2


def row_widths(footprint: np.ndarray) -> dict[tuple[int, ...], int]:
    """Decompose a convex, symmetric footprint into rows along the last axis.

    Returns a mapping from each offset of the leading axes (relative to the
    centre) to the half-width of the centred run of ``True`` along the last axis.
    """
    centre = np.array(footprint.shape) // 2
    widths = {}
    for index in np.ndindex(footprint.shape[:-1]):
        count = int(footprint[index].sum())
        if count:
            widths[tuple(int(i) for i in np.array(index) - centre[:-1])] = count // 2
    return widths


def apply_batched(
    image: np.ndarray, ndim: int, func: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Apply ``func`` to each ``ndim``-dimensional block along the leading axes."""
    if image.ndim == ndim:
        return func(image)
    batch_shape = image.shape[: image.ndim - ndim]
    blocks = image.reshape((-1, *image.shape[image.ndim - ndim :]))
    results = [func(block) for block in blocks]
    stacked = np.stack(results)
    return stacked.reshape(batch_shape + stacked.shape[1:])
