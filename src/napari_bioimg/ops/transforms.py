"""Geometric transforms: crop, subsample, flip, project, resample to isotropic voxels.

These work on every axis of the array (not per batch block) and accept RGB data.
They return new arrays, never views of the input.
"""

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

from ._checks import as_image, check_choice, spatial_spacing
from ._footprint import apply_batched

__all__ = ["PROJECTIONS", "crop", "flip", "project", "resample_isotropic", "subsample"]

PROJECTIONS = ("max", "mean", "min", "sum")


def _per_axis(values, ndim: int, name: str, default) -> list:
    if values is None:
        return [default] * ndim
    if np.isscalar(values):
        return [values] * ndim
    values = list(values)
    if len(values) > ndim:
        raise ValueError(f"{name} has {len(values)} values but the image has {ndim} axes")
    # Missing trailing values mean "whole axis", as in numpy indexing.
    return values + [default] * (ndim - len(values))


def _integer(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} values must be integers, got {value!r}")
    return int(value)


def crop(
    image, *, start: Sequence[int | None] | None = None, stop: Sequence[int | None] | None = None
):
    """Keep ``image[start[0]:stop[0], start[1]:stop[1], ...]``.

    Parameters
    ----------
    image : array_like
    start, stop : sequence of int or None
        First and one-past-last index per axis (``None``: the axis' start or end).
        Shorter sequences leave the remaining axes whole; negative values count
        from the end, as in numpy. Values beyond the image are clipped.

    Returns
    -------
    numpy.ndarray
        A copy; its origin moved by ``start`` (napari: ``translate += start * scale``).
    """
    array = as_image(image, allow_rgb=True)
    starts = _per_axis(start, array.ndim, "start", None)
    stops = _per_axis(stop, array.ndim, "stop", None)
    window = []
    for axis, (first, last) in enumerate(zip(starts, stops, strict=True)):
        first = None if first is None else _integer(first, "start")
        last = None if last is None else _integer(last, "stop")
        bounds = slice(first, last).indices(array.shape[axis])
        if bounds[1] <= bounds[0]:
            raise ValueError(
                f"crop along axis {axis} is empty: start={first}, stop={last} "
                f"for an axis of length {array.shape[axis]}"
            )
        window.append(slice(bounds[0], bounds[1]))
    return array[tuple(window)].copy()


def subsample(image, *, step: int | Sequence[int] = 2):
    """Keep every ``step``-th pixel along each axis (one step, or one per axis).

    Multiply the layer's scale by ``step`` to keep physical sizes.
    """
    array = as_image(image, allow_rgb=True)
    steps = [_integer(s, "step") for s in _per_axis(step, array.ndim, "step", 1)]
    if any(s < 1 for s in steps):
        raise ValueError(f"step values must be at least 1, got {step!r}")
    return array[tuple(slice(None, None, s) for s in steps)].copy()


def flip(image, *, axis: int | Sequence[int] = -1):
    """Reverse the order of pixels along ``axis`` (one axis or several)."""
    array = as_image(image, allow_rgb=True)
    axes = [
        _integer(a, "axis") for a in (np.atleast_1d(axis) if not np.isscalar(axis) else [axis])
    ]
    for a in axes:
        if not -array.ndim <= a < array.ndim:
            raise ValueError(f"axis must be between {-array.ndim} and {array.ndim - 1}, got {a}")
    return np.flip(array, axis=tuple(axes)).copy()


def project(image, *, axis: int = 0, method: str = "max"):
    """Project along ``axis`` by ``method`` (``max``, ``mean``, ``min`` or ``sum``).

    ``max`` and ``min`` keep the dtype; ``mean`` and ``sum`` return float32
    (summed in float64), as ImageJ's Z Project does.
    """
    array = as_image(image, allow_rgb=True)
    if array.ndim < 3:
        raise ValueError(
            f"image must have at least 3 axes to project one away, got shape {array.shape}"
        )
    check_choice(method, "method", PROJECTIONS)
    axis = _integer(axis, "axis")
    if not -array.ndim <= axis < array.ndim:
        raise ValueError(f"axis must be between {-array.ndim} and {array.ndim - 1}, got {axis}")
    if method == "max":
        return array.max(axis=axis)
    if method == "min":
        return array.min(axis=axis)
    reducer = np.mean if method == "mean" else np.sum
    return reducer(array, axis=axis, dtype=np.float64).astype(np.float32)


def isotropic_shape(shape: Sequence[int], spacing: Sequence[float], target: float) -> tuple:
    """Shape of the resampled spatial axes: pixel centres ``0, target, 2 target, ...``."""
    return tuple(
        int(np.floor((n - 1) * s / target * (1 + 1e-9))) + 1
        for n, s in zip(shape, spacing, strict=True)
    )


def resample_isotropic(
    image, *, spacing: Sequence[float], order: int = 1, target: float | None = None
):
    """Resample to cubic voxels of side ``target`` (default: the smallest spacing).

    Pixel centres keep their physical positions: output pixel ``j`` lies at
    ``j * target`` along each axis, so the result overlays the input in napari
    with ``scale = (target,) * ndim`` and the same ``translate``.

    Parameters
    ----------
    image : array_like
        2D or 3D image; leading axes are a batch.
    spacing : sequence of float
        The current pixel size per spatial axis.
    order : int
        Spline order, 0 (nearest) to 3 (cubic). Masks always use 0.
    target : float, optional
        The new pixel size.

    Returns
    -------
    numpy.ndarray
        In the input dtype (integer results rounded and clipped to its range).
    """
    array = as_image(image)
    spacing = spatial_spacing(array, spacing)
    if isinstance(order, bool) or not isinstance(order, int | np.integer) or not 0 <= order <= 3:
        raise ValueError(f"order must be an integer from 0 to 3, got {order!r}")
    if target is None:
        target = min(spacing)
    elif not (np.isfinite(target) and target > 0):
        raise ValueError(f"target must be a positive number, got {target!r}")
    nsp = len(spacing)
    out_shape = isotropic_shape(array.shape[-nsp:], spacing, target)
    if order and array.dtype == bool:
        order = 0
    matrix = [target / s for s in spacing]

    def block(b):
        values = b.astype(np.uint8) if b.dtype == bool else b
        work = values.astype(np.float32) if values.dtype.kind in "iu" and order else values
        result = ndi.affine_transform(
            work, matrix, output_shape=out_shape, order=order, mode="nearest"
        )
        if b.dtype == bool:
            return result.astype(bool)
        if b.dtype.kind in "iu" and order:
            info = np.iinfo(b.dtype)
            return np.clip(np.rint(result), info.min, info.max).astype(b.dtype)
        return result.astype(b.dtype, copy=False)

    return apply_batched(array, nsp, block)
