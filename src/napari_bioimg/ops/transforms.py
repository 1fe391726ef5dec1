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


def _check_order(order) -> int:
    if isinstance(order, bool) or not isinstance(order, int | np.integer) or not 0 <= order <= 3:
        raise ValueError(f"order must be an integer from 0 to 3, got {order!r}")
    return int(order)


def _resampling(shape, spacing, order: int, target: float | None, dtype):
    """Checked ``(spacing, order, target, ratios, out_shape)`` of a resampling."""
    order = _check_order(order)
    if target is None:
        target = min(spacing)
    elif not (np.isfinite(target) and target > 0):
        raise ValueError(f"target must be a positive number, got {target!r}")
    if order and np.dtype(dtype) == np.bool_:
        order = 0
    ratios = [target / s for s in spacing]
    return order, target, ratios, isotropic_shape(shape, spacing, target)


def _axis_sampling(n_in: int, n_out: int, ratio: float, order: int):
    """Source indices and weights of output pixels ``j`` at input coordinate ``j * ratio``.

    The same numbers as ``ndi.affine_transform`` with a diagonal matrix and
    ``mode="nearest"``: coordinates clamped to the axis, nearest by
    ``floor(x + 0.5)``, linear weights ``1 - t`` and ``1 - (1 - t)``.
    """
    coordinate = np.clip(np.arange(n_out, dtype=np.float64) * ratio, 0.0, n_in - 1)
    if order == 0:
        return np.floor(coordinate + 0.5).astype(np.intp), None, None, None
    first = np.floor(coordinate)
    low = 1.0 - (coordinate - first)
    first = first.astype(np.intp)
    return first, np.minimum(first + 1, n_in - 1), low, 1.0 - low


def _interpolate_axis(values: np.ndarray, sampling, axis: int) -> np.ndarray:
    first, second, low, high = sampling
    if low is None:
        return np.take(values, first, axis=axis)
    shape = [1] * values.ndim
    shape[axis] = -1
    return np.take(values, first, axis=axis) * low.reshape(shape) + np.take(
        values, second, axis=axis
    ) * high.reshape(shape)


def _resampled_plane(volume, k: int, samplings, order: int, dtype) -> np.ndarray:
    """Output plane ``k`` of a separable resampling (the whole output for 2D ``volume``).

    It reads the one or two input planes it needs.
    """
    if volume.ndim == 3:
        first, second, low, high = samplings[0]
        plane = np.asarray(volume[first[k]])
        if low is not None:
            plane = plane * low[k] + np.asarray(volume[second[k]]) * high[k]
        samplings = samplings[1:]
    else:
        plane = np.asarray(volume)
    for axis, sampling in enumerate(samplings):
        if sampling is not None:
            plane = _interpolate_axis(plane, sampling, axis)
    return _to_dtype(plane, dtype, order)


def _to_dtype(values: np.ndarray, dtype, order: int) -> np.ndarray:
    """Interpolated values in the input dtype: integers rounded and clipped (in float32)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu" and order:
        info = np.iinfo(dtype)
        return np.clip(np.rint(values.astype(np.float32)), info.min, info.max).astype(dtype)
    return np.array(values, dtype=dtype)


def _samplings(shape, out_shape, ratios, order):
    """One sampling per spatial axis, ``None`` where the axis keeps its pixels."""
    return [
        None if r == 1.0 and m == n else _axis_sampling(n, m, r, order)
        for n, m, r in zip(shape, out_shape, ratios, strict=True)
    ]


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

    Notes
    -----
    The values are those of ``ndi.affine_transform`` (diagonal matrix,
    ``mode="nearest"``). Orders 0 and 1 are computed one axis after the other
    and one output plane at a time (nearest: the same pixels; linear: the same
    weights, equal bit for bit when one axis is resampled, within float
    rounding otherwise), tens of times faster; orders 2 and 3 call scipy.
    """
    array = as_image(image)
    spacing = spatial_spacing(array, spacing)
    nsp = len(spacing)
    order, target, ratios, out_shape = _resampling(
        array.shape[-nsp:], spacing, order, target, array.dtype
    )

    if order <= 1:
        samplings = _samplings(array.shape[-nsp:], out_shape, ratios, order)

        def block(b):
            if b.ndim == 2:
                return _resampled_plane(b, 0, samplings, order, b.dtype)
            out = np.empty(out_shape, b.dtype)
            for k in range(out_shape[0]):
                out[k] = _resampled_plane(b, k, samplings, order, b.dtype)
            return out

        return apply_batched(array, nsp, block)

    def spline_block(b):
        work = b.astype(np.float32) if b.dtype.kind in "iu" else b
        result = ndi.affine_transform(
            work, ratios, output_shape=out_shape, order=order, mode="nearest"
        )
        return _to_dtype(result, b.dtype, order)

    return apply_batched(array, nsp, spline_block)


# --- one plane of the result (live previews of stacks) ----------------------------
# Registry ``output_plane`` hooks: plane ``index`` (indices of the result's leading
# axes) of the result, read from the planes of ``data`` it needs.


def flip_plane(data, index, parameters, spacing=None, store=None) -> np.ndarray:
    """Plane ``index`` of :func:`flip`: the mirrored plane, mirrored within itself."""
    ndim = len(data.shape)
    axes = parameters["axis"]
    axes = {int(a) % ndim for a in (np.atleast_1d(axes) if not np.isscalar(axes) else [axes])}
    source = tuple(
        n - 1 - i if a in axes else i
        for a, (i, n) in enumerate(zip(index, data.shape[: ndim - 2], strict=True))
    )
    plane = np.asarray(data[source])
    inside = tuple(a - (ndim - 2) for a in sorted(axes) if a >= ndim - 2)
    return np.flip(plane, axis=inside).copy() if inside else plane.copy()


def resample_plane(data, index, parameters, spacing, store=None) -> np.ndarray:
    """Plane ``index`` of :func:`resample_isotropic`.

    Orders 0 and 1 read the one or two input planes it needs; orders 2 and 3
    need the whole volume, kept in ``store`` so that moving through the planes
    costs nothing more.
    """
    spacing = tuple(float(s) for s in spacing)
    nsp = len(spacing)
    lead = len(data.shape) - nsp
    order, _, ratios, out_shape = _resampling(
        data.shape[lead:], spacing, parameters["order"], parameters.get("target"), data.dtype
    )
    batch, k = tuple(index[:lead]), (index[lead] if nsp == 3 else 0)
    if order <= 1:
        samplings = _samplings(data.shape[lead:], out_shape, ratios, order)
        return _resampled_plane(_Lazy(data, batch), k, samplings, order, data.dtype)
    key = ("resample_isotropic", order, spacing, batch)
    if store is None or store.get("resampled", (None,))[0] != key:
        volume = resample_isotropic(np.asarray(data[batch]), spacing=spacing, order=order)
        if store is None:
            return volume[k] if nsp == 3 else volume
        store["resampled"] = (key, volume)
    volume = store["resampled"][1]
    return volume[k].copy() if nsp == 3 else volume.copy()


class _Lazy:
    """``data[batch]`` read one plane at a time (numpy, dask or zarr data)."""

    def __init__(self, data, batch):
        self.data, self.batch = data, batch
        self.ndim = len(data.shape) - len(batch)

    def __getitem__(self, i):
        return self.data[(*self.batch, i)]

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.data[self.batch], dtype=dtype)
