"""Geometric transforms: crop, subsample, flip, project, resample to isotropic voxels.

These work on every axis of the array (not per batch block) and accept RGB data.
They return new arrays, never views of the input.

An RGB(A) image (colour last, as napari guesses it: :func:`._checks.image_axes`)
has the axes napari shows: per-axis values (``start``, ``stop``, ``step``,
``axis``) address the axes before the colour axis, a single step applies to
those, negative axes count from the last of them, and the colours stay whole.
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy import ndimage as ndi

from ..io_tiff import LENGTH_UNITS, canonical_unit
from ._checks import (
    as_image,
    check_choice,
    check_header,
    check_memory,
    check_positive,
    image_axes,
    keeps_dtype,
    spatial_spacing,
)
from ._docs import fill_doc
from ._footprint import apply_batched
from ._kernels import n_threads, run_rows, thread_pool

__all__ = [
    "PROJECTIONS",
    "crop",
    "flip",
    "project",
    "resample_isotropic",
    "set_axis_role",
    "set_voxel_size",
    "subsample",
]

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


@keeps_dtype
def crop(
    image: npt.ArrayLike,
    *,
    start: Sequence[int | None] | None = None,
    stop: Sequence[int | None] | None = None,
) -> np.ndarray:
    """Keep ``image[start[0]:stop[0], start[1]:stop[1], ...]``.

    Parameters
    ----------
    image : array_like
        Image with at least two axes (numpy, dask or zarr); an RGB(A) image's
        colour axis is kept whole.
    start, stop : sequence of int or None, optional
        First and one-past-last index per axis (``None``: the axis' start or end).
        Shorter sequences leave the remaining axes whole; negative values count
        from the end, as in numpy. Values beyond the image are clipped.
        Default: the whole image.

    Returns
    -------
    numpy.ndarray
        A copy in the input dtype, of the window's shape; its origin moved by
        ``start`` (napari: ``translate += start * scale``). Of a lazy (dask,
        zarr) array only the window is read.

    Raises
    ------
    TypeError
        If an index is not an integer (or None), or ``image`` holds no real numbers.
    ValueError
        If ``start`` or ``stop`` has more values than the image has axes, the
        window is empty along an axis, or ``image`` is empty or has fewer than
        two axes.
    """
    if not (hasattr(image, "shape") and hasattr(image, "dtype")):
        image = np.asarray(image)
    check_header(image)
    array = image  # (its shape and dtype: the pixels are read once cropped)
    starts = _per_axis(start, image_axes(array), "start", None)
    stops = _per_axis(stop, image_axes(array), "stop", None)
    window = []
    for axis, (first, last) in enumerate(zip(starts, stops, strict=True)):
        first = None if first is None else _integer(first, "start")
        last = None if last is None else _integer(last, "stop")
        bounds = slice(first, last).indices(array.shape[axis])
        if bounds[1] <= bounds[0]:
            error = ValueError(
                f"crop along axis {axis} is empty: start={first}, stop={last} "
                f"for an axis of length {array.shape[axis]}"
            )
            error.axis = axis  # (napari-bioimg's widget names it: "crop along channel")
            raise error
        window.append(slice(bounds[0], bounds[1]))
    return np.array(as_image(array[tuple(window)], allow_rgb=True))  # (a copy)


@keeps_dtype
def subsample(image: npt.ArrayLike, *, step: int | Sequence[int] = 2) -> np.ndarray:
    """Keep every ``step``-th pixel along each axis (one step, or one per axis).

    Multiply the layer's scale by ``step`` to keep physical sizes.

    Parameters
    ----------
    image : array_like
        Image with at least two axes; an RGB(A) image's colours stay whole.
    step : int or sequence of int, default 2
        Step (at least 1) for every axis, or one per axis; a shorter sequence
        leaves the remaining axes whole (step 1). The first pixel is kept.

    Returns
    -------
    numpy.ndarray
        A copy in the input dtype: ``image[::step[0], ::step[1], ...]``.

    Raises
    ------
    TypeError
        If a step is not an integer, or ``image`` holds no real numbers.
    ValueError
        If a step is below 1, ``step`` has more values than the image has axes,
        or ``image`` is empty or has fewer than two axes.
    """
    array = as_image(image, allow_rgb=True)
    steps = [_integer(s, "step") for s in _per_axis(step, image_axes(array), "step", 1)]
    if any(s < 1 for s in steps):
        raise ValueError(f"step values must be at least 1, got {step!r}")
    return array[tuple(slice(None, None, s) for s in steps)].copy()


@keeps_dtype
def flip(image: npt.ArrayLike, *, axis: int | Sequence[int] = -1) -> np.ndarray:
    """Reverse the order of pixels along ``axis`` (one axis or several).

    Parameters
    ----------
    image : array_like
        Image with at least two axes; an RGB(A) image's colours stay in order.
    axis : int or sequence of int, default -1
        The axis or axes to reverse (default x); negative values count from the
        last axis (of an RGB(A) image: the last before the colours).

    Returns
    -------
    numpy.ndarray
        A copy, same shape and dtype as ``image``.

    Raises
    ------
    TypeError
        If an axis is not an integer, or ``image`` holds no real numbers.
    ValueError
        If an axis is out of range or named twice, or ``image`` is empty or has
        fewer than two axes.
    """
    array = as_image(image, allow_rgb=True)
    axes = [
        _integer(a, "axis") for a in (np.atleast_1d(axis) if not np.isscalar(axis) else [axis])
    ]
    ndim = image_axes(array)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis must be between {-ndim} and {ndim - 1}, got {a}")
    unique = {a % ndim for a in axes}
    if len(unique) < len(axes):
        raise ValueError(f"axis names an axis twice: {axis!r}")
    return np.flip(array, axis=tuple(unique)).copy()


@keeps_dtype
@fill_doc
def set_voxel_size(
    image: npt.ArrayLike,
    *,
    z: float | None = None,
    y: float = 1.0,
    x: float = 1.0,
    unit: str | None = None,
) -> np.ndarray:
    """Return a copy of ``image``, to be given the voxel size ``(z, y, x)``.

    The pixels do not change: this is the voxel size set by hand (Fiji's *Image >
    Properties*) as a step of a pipeline, which gives its result the spacing ``(y,
    x)``, or ``(z, y, x)`` for 3D data (``z=None`` keeps the input's slice distance)
    in ``unit`` (one of :data:`~napari_bioimg.io_tiff.LENGTH_UNITS`; None: the
    input's unit) (:func:`napari_bioimg.pipeline.spacing.spacing_after`). A
    ``unit`` on 3D data needs ``z``: the slice distance kept would be read in the
    new unit. Every value must be positive.

    Parameters
    ----------
    image : array_like
        Image with at least two axes (RGB(A) accepted).
    z : float, optional
        Slice distance for 3D data, in ``unit``; None keeps the input's.
    y, x : float, default 1.0
        Pixel height and width, in ``unit``.
    unit : str, optional
        Length unit, one of :data:`~napari_bioimg.io_tiff.LENGTH_UNITS` (um,
        micron and μm are read as µm); None keeps the input's.

    Returns
    -------
    %(returns_copy)s

    Raises
    ------
    TypeError
        If ``z``, ``y`` or ``x`` is not a number, ``unit`` is not a string, or
        ``image`` holds no real numbers.
    ValueError
        If ``z``, ``y`` or ``x`` is not positive and finite, ``unit`` is not a
        known length unit, or ``image`` is empty or has fewer than two axes.
    """
    array = as_image(image, allow_rgb=True)
    for name, value in (("z", z), ("y", y), ("x", x)):
        if value is not None:
            check_positive(value, name)
    if unit is not None:
        check_choice(length_unit(unit), "unit", LENGTH_UNITS)
    return array.copy()


def length_unit(unit):
    """Return ``unit`` as :data:`~napari_bioimg.io_tiff.LENGTH_UNITS` spell it, if it is one.

    um, micron and μm (Greek mu) are µm; other values come back unchanged.
    """
    if not isinstance(unit, str):
        return unit
    canonical = canonical_unit(unit)
    return canonical if canonical in LENGTH_UNITS else unit


AXIS_ROLES = ("z", "t", "channel")


@fill_doc
def set_axis_role(image: npt.ArrayLike, *, role: str = "t") -> np.ndarray:
    """Return a copy of ``image`` whose axis before y holds ``role``: z, t or channel.

    The pixels do not change: this names the third-last axis as a pipeline step
    (a time-lapse read as a z-stack, e.g. a plain multi-page TIFF). Frames and
    channels are then filtered one by one, z slices in 3D: the result's spacing
    drops z, or gains one of the pixel width (unknown, as Fiji guesses it)
    (:func:`napari_bioimg.pipeline.spacing.spacing_after`).

    Parameters
    ----------
    %(image_three_axes)s
    role : {"z", "t", "channel"}, default "t"
        What the axis before y holds.

    Returns
    -------
    %(returns_copy)s

    Raises
    ------
    TypeError
        If ``role`` is not a string, or ``image`` holds no real numbers.
    ValueError
        If ``role`` is unknown, or ``image`` has no axis before y (2D), or is empty.
    """
    array = as_image(image, allow_rgb=True)
    check_choice(role, "role", AXIS_ROLES)
    if image_axes(array) < 3:
        raise ValueError(
            f"image has no axis before y to name (shape {array.shape}): it is 2D"
        )
    return array.copy()


@fill_doc
def project(image: npt.ArrayLike, *, axis: int = -3, method: str = "max") -> np.ndarray:
    """Project along ``axis`` by ``method`` (``max``, ``mean``, ``min`` or ``sum``).

    The default axis is the one before y: z of a ``z, y, x`` or ``t, z, y, x``
    stack, the frames of a ``t, y, x`` movie (an RGB image's colours not counted).

    ``max`` and ``min`` keep the dtype; ``mean`` and ``sum`` return float32
    (summed in float64), as ImageJ's Z Project does.

    Parameters
    ----------
    %(image_three_axes)s
    axis : int, default -3
        The axis projected away; negative values count from the last axis
        (of an RGB(A) image: the last before the colours).
    method : {"max", "mean", "min", "sum"}, default "max"
        How the values along ``axis`` are combined.

    Returns
    -------
    numpy.ndarray
        ``image``'s shape without ``axis``: the input dtype for ``max`` and
        ``min``, float32 for ``mean`` and ``sum``.

    Raises
    ------
    TypeError
        If ``axis`` is not an integer, ``method`` is not a string, or ``image``
        holds no real numbers.
    ValueError
        If ``image`` has fewer than three axes or is empty, ``axis`` is out of
        range, or ``method`` is unknown.
    """
    array = as_image(image, allow_rgb=True)
    ndim = image_axes(array)
    if ndim < 3:
        raise ValueError(
            f"image must have at least 3 axes to project one away (besides an RGB image's "
            f"colours), got shape {array.shape}"
        )
    check_choice(method, "method", PROJECTIONS)
    axis = _integer(axis, "axis")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis must be between {-ndim} and {ndim - 1}, got {axis}")
    axis %= ndim
    if method in ("max", "min"):  # (float16 read as float32 by as_image: back)
        extreme = array.max(axis=axis) if method == "max" else array.min(axis=axis)
        dtype = image.dtype if hasattr(image, "dtype") else np.asarray(image).dtype
        return extreme.astype(dtype, copy=False)
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
    """``(order, out_shape, samplings)`` of a resampling, checked (bool data: order 0)."""
    order = _check_order(order)
    target = min(spacing) if target is None else check_positive(target, "target")
    if order and np.dtype(dtype) == np.bool_:
        order = 0
    out_shape = isotropic_shape(shape, spacing, target)
    check_memory(
        float(np.prod(out_shape, dtype=float)) * np.dtype(dtype).itemsize,
        f"resampling to {target:g} (result shape {out_shape})",
    )
    ratios = [target / s for s in spacing]
    return order, out_shape, _samplings(shape, out_shape, ratios, order)


# scipy pads by this much (edge values) before the spline prefilter of "nearest" mode.
_NPAD = 12


def _spline_weights(x: np.ndarray, order: int) -> np.ndarray:
    """Interpolation weights, ``(order + 1, n)``: scipy's ``get_spline_interpolation_weights``.

    ``x`` is the coordinate; the same operations in the same order as scipy's C.
    """
    x = x - np.floor(x if order & 1 else x + 0.5)
    weights = np.empty((order + 1, x.size))
    if order == 1:
        weights[0] = 1.0 - x
    elif order == 2:
        weights[1] = 0.75 - x * x
        y = 0.5 - x
        weights[0] = 0.5 * y * y
    elif order == 3:
        z = 1.0 - x
        weights[1] = (x * x * (x - 2.0) * 3.0 + 4.0) / 6.0
        weights[2] = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0
        weights[0] = z * z * z / 6.0
    weights[order] = 1.0
    for i in range(order):
        weights[order] -= weights[i]
    return weights


def _axis_sampling(n_in: int, n_out: int, ratio: float, order: int):
    """``(taps, weights)``, each ``(order + 1, n_out)``: output pixel ``j`` along an axis.

    Output pixel ``j`` lies at input coordinate ``j * ratio``, clamped to the axis
    (``mode="nearest"``), as in ``ndi.affine_transform`` with a diagonal matrix.
    Orders 0 and 1 read the input itself (taps clamped to the axis); higher orders
    read its spline coefficients, padded by ``_NPAD`` at both ends (see
    :func:`_coefficients`).
    """
    coordinate = np.clip(np.arange(n_out, dtype=np.float64) * ratio, 0.0, n_in - 1)
    if order == 0:
        return np.floor(coordinate + 0.5).astype(np.intp)[None], np.ones((1, n_out))
    start = np.floor(coordinate if order & 1 else coordinate + 0.5).astype(np.intp)
    taps = start[None] - order // 2 + np.arange(order + 1)[:, None]
    taps = np.minimum(taps, n_in - 1) if order == 1 else taps + _NPAD
    return taps, _spline_weights(coordinate, order)


def _coefficients(values, axis: int, order: int, dtype=np.float64) -> np.ndarray:
    """What the taps of an axis read: the values, or their spline coefficients along it.

    As scipy does for ``mode="nearest"``: the edges repeated ``_NPAD`` times,
    then the prefilter with mirrored ends.
    """
    if order <= 1:
        return np.asarray(values)
    pad = [(0, 0)] * np.ndim(values)
    pad[axis] = (_NPAD, _NPAD)
    padded = np.pad(np.asarray(values, dtype=np.float64), pad, mode="edge")
    return ndi.spline_filter1d(padded, order, axis=axis, output=dtype, mode="mirror")


def _interpolate_axis(values: np.ndarray, sampling, axis: int, order: int) -> np.ndarray:
    taps, weights = sampling
    if order == 0:  # nearest: the values themselves (64-bit integers lost digits in float)
        return np.take(values, taps[0], axis=axis)
    values = _coefficients(values, axis, order)
    shape = [1] * values.ndim
    shape[axis] = -1
    total = np.take(values, taps[0], axis=axis) * weights[0].reshape(shape)
    for tap, weight in zip(taps[1:], weights[1:], strict=True):
        total += np.take(values, tap, axis=axis) * weight.reshape(shape)
    return total


def _resampled_plane(planes, k: int, samplings, order: int, dtype) -> np.ndarray:
    """Output plane ``k`` of a separable resampling (the whole output for 2D ``planes``).

    ``planes`` is a 3D block (or its coefficients along axis 0, for orders 2
    and 3), read only at the ``order + 1`` planes that plane ``k`` needs.
    """
    if len(planes.shape) == 3:
        if samplings[0] is None:
            plane = np.asarray(planes[k])
        else:
            taps, weights = samplings[0]
            if order == 0:  # (nearest: the plane itself)
                plane = np.asarray(planes[taps[0, k]])
            else:
                plane = np.asarray(planes[taps[0, k]]) * weights[0, k]
            for t in range(1, len(taps)):
                plane = plane + np.asarray(planes[taps[t, k]]) * weights[t, k]
        samplings = samplings[1:]
    else:
        plane = np.asarray(planes)
    for axis, sampling in enumerate(samplings):
        if sampling is not None:
            plane = _interpolate_axis(plane, sampling, axis, order)
    return _to_dtype(plane, dtype, order)


def _to_dtype(values: np.ndarray, dtype, order: int) -> np.ndarray:
    """Interpolated values in the input dtype: integers rounded and clipped.

    Rounded in the precision they were computed in (float32 rounding first
    moved values such as 117.49999999999997 to 118), clipped to the largest
    float64 values within the dtype's range (2**63 - 1 is no float64).
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "iu" and order:
        info = np.iinfo(dtype)
        work = np.result_type(values.dtype, _work_dtype(dtype))
        high = work.type(info.max)  # (info.min, 0 or -2**k, is a float exactly)
        if int(high) > info.max:
            high = np.nextafter(high, work.type(0))
        return np.clip(np.rint(values.astype(work)), info.min, high).astype(dtype)
    return np.array(values, dtype=dtype)


def _work_dtype(dtype) -> np.dtype:
    """float32 for data it holds exactly (float32, 8/16-bit integers), else float64."""
    dtype = np.dtype(dtype)
    small = dtype.itemsize <= 4 if dtype.kind == "f" else dtype.itemsize <= 2
    return np.dtype(np.float32 if small else np.float64)


def _samplings(shape, out_shape, ratios, order):
    """One sampling per spatial axis, ``None`` where the axis keeps its pixels.

    An axis that keeps its pixels is not interpolated: a spline through the
    samples takes their values there (exactly for orders 0 and 1, within
    rounding for 2 and 3).
    """
    return [
        None if r == 1.0 and m == n else _axis_sampling(n, m, r, order)
        for n, m, r in zip(shape, out_shape, ratios, strict=True)
    ]


_ROWS = 16  # rows of a block prefiltered along z at a time


def _z_coefficients(block, samplings, order: int):
    """What the planes of a 3D block are read from: the block, or its coefficients along z.

    scipy's prefilter along z, run on a few rows at a time turned into contiguous
    lines, on threads: the same numbers as along the strided axis, 5x faster.
    """
    if order <= 1 or samplings[0] is None:
        return block
    block = np.asarray(block)
    dtype = _work_dtype(block.dtype)
    nz, ny, nx = block.shape
    out = np.empty((nz + 2 * _NPAD, ny, nx), dtype)

    def rows(start: int) -> None:
        lines = block[:, start : start + _ROWS].transpose(1, 2, 0)
        out[:, start : start + _ROWS] = _coefficients(lines, 2, order).transpose(2, 0, 1)

    list(thread_pool(n_threads()).map(rows, range(0, ny, _ROWS)))
    return out


@keeps_dtype
def resample_isotropic(
    image: npt.ArrayLike,
    *,
    spacing: Sequence[float],
    order: int = 1,
    target: float | None = None,
) -> np.ndarray:
    """Resample to cubic voxels of side ``target`` (default: the smallest spacing).

    Pixel centres keep their physical positions: output pixel ``j`` lies at
    ``j * target`` along each axis, so the result overlays the input in napari
    with ``scale = (target,) * ndim`` and the same ``translate``.

    Parameters
    ----------
    image : array_like
        2D or 3D image; leading axes (before the last ``len(spacing)``) are a batch.
    spacing : sequence of float
        The current pixel size per spatial axis (2 or 3 positive values, as
        napari's ``scale``); required.
    order : int, default 1
        Spline order, 0 (nearest) to 3 (cubic). Masks (bool) always use 0.
    target : float, optional
        The new pixel size, positive, in the units of ``spacing``; default the
        smallest spacing.

    Returns
    -------
    numpy.ndarray
        In the input dtype (integer results rounded and clipped to its range).
        The batch axes are kept; a spatial axis of ``n`` pixels of size ``s``
        becomes ``floor((n - 1) * s / target) + 1`` pixels.

    Raises
    ------
    TypeError
        If ``image`` holds no real numbers or looks like an RGB(A) image
        (colours last), or ``spacing`` or ``target`` holds no numbers.
    ValueError
        If ``order`` is not an integer from 0 to 3, ``target`` is not positive
        and finite, ``spacing`` has the wrong length or a non-positive value,
        ``image`` is empty or has fewer than two axes, or the result does not
        fit in memory.

    Notes
    -----
    The values are those of ``ndi.affine_transform`` (diagonal matrix,
    ``mode="nearest"``) computed one axis after the other and one output plane
    at a time, tens of times faster: nearest picks the same pixels, linear uses
    the same weights (bit for bit when one axis is resampled), quadratic and
    cubic the same prefilter and weights (within float rounding).
    """
    array = as_image(image)
    spacing = spatial_spacing(array, spacing)
    nsp = len(spacing)
    order, out_shape, samplings = _resampling(
        array.shape[-nsp:], spacing, order, target, array.dtype
    )
    check_memory(  # every block of a batch (its first one was checked above)
        float(np.prod(out_shape, dtype=float)) * array.itemsize * (array.size // np.prod(
            array.shape[-nsp:])), f"resampling to {target or min(spacing):g}"
    )

    def block(b):
        if b.ndim == 2:
            return _resampled_plane(b, 0, samplings, order, b.dtype)
        planes = _z_coefficients(b, samplings, order)
        out = np.empty(out_shape, b.dtype)
        for k in range(out_shape[0]):
            out[k] = _resampled_plane(planes, k, samplings, order, b.dtype)
        return out

    return apply_batched(array, nsp, block)


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
    read ``order + 1`` planes of the spline coefficients along z, each a
    weighted sum of the input planes (:func:`_z_operator`), so that no
    parameter change prefilters the whole stack. (``store`` is unused: nothing
    is worth keeping.)
    """
    spacing = tuple(float(s) for s in spacing)
    nsp = len(spacing)
    lead = len(data.shape) - nsp
    order, _, samplings = _resampling(
        data.shape[lead:], spacing, parameters["order"], parameters.get("target"), data.dtype
    )
    batch, k = tuple(index[:lead]), (index[lead] if nsp == 3 else 0)
    planes = _Lazy(data, batch)
    if nsp == 3 and order > 1 and samplings[0] is not None:
        planes = _coefficient_planes(planes, samplings[0][0][:, k], order)
    return _resampled_plane(planes, k, samplings, order, data.dtype)


# Terms of a coefficient below this share of its largest weight are left out:
# they change nothing at float64 precision.
_NEGLIGIBLE = 1e-18
# Planes beyond this distance weigh less than 1e-20 in a coefficient (the spline
# prefilter's pole, sqrt(8) - 3 for order 2 and sqrt(3) - 2 for order 3, to that power).
_Z_REACH = {2: 27, 3: 35}


def _z_operator(nz: int, order: int, taps: np.ndarray) -> tuple[int, np.ndarray]:
    """Coefficients ``taps`` along z (:func:`_coefficients`) as weighted sums of planes.

    Returns ``(i0, weights)``: coefficient ``taps[t]`` is ``sum_i weights[t, i] *
    plane[i0 + i]``. The prefilter is linear: applied to the unit vectors of the
    planes within reach of the taps it gives their weights, with its own
    numbers, so these sums equal its results to float64 rounding (and, stored
    as float32 as :func:`_z_coefficients` stores them, almost always bit for
    bit).
    """
    reach = _Z_REACH[order]
    i0 = max(0, int(taps.min()) - _NPAD - reach)
    i1 = min(nz, int(taps.max()) - _NPAD + reach + 1)
    units = np.zeros((nz, i1 - i0))
    units[np.arange(i0, i1), np.arange(i1 - i0)] = 1.0
    weights = _coefficients(units, 0, order)[taps]
    largest = np.abs(weights).max(axis=1, keepdims=True)
    return i0, np.where(np.abs(weights) > _NEGLIGIBLE * largest, weights, 0.0)


class _Planes(dict):
    """Some planes of a block, by index, for :func:`_resampled_plane`."""

    def __init__(self, planes: dict, shape: tuple):
        super().__init__(planes)
        self.shape = shape


def _coefficient_planes(lines: "_Lazy", taps: np.ndarray, order: int) -> _Planes:
    """Planes ``taps`` of :func:`_z_coefficients` of a block, from the planes they weigh."""
    nz, ny, nx = lines.shape
    start, weights = _z_operator(nz, order, taps)
    used = np.flatnonzero(weights.any(axis=0))
    i0, i1 = int(used[0]), int(used[-1]) + 1
    slab = np.asarray(lines[start + i0 : start + i1])
    # The kernel reads native numbers (data from N5 stores can be big-endian), and
    # numba has no float16: read as float32, exactly.
    native = np.float32 if slab.dtype == np.float16 else slab.dtype.newbyteorder("=")
    slab = np.ascontiguousarray(slab, dtype=native)
    dtype = _work_dtype(lines.dtype)
    out = np.empty((len(taps), ny, nx), dtype)
    weights = np.ascontiguousarray(weights[:, i0:i1])
    run_rows(_weighted_planes, ny, slab, weights, out)
    shape = (nz + 2 * _NPAD, ny, nx)
    return _Planes({int(t): out[j] for j, t in enumerate(taps)}, shape)


@njit(nogil=True, cache=True)
def _weighted_planes(slab, weights, out, y0, y1):
    """``out[t] = sum_i weights[t, i] * slab[i]`` for the rows ``y0:y1`` (in float64)."""
    ntaps, nplanes = weights.shape
    nx = slab.shape[2]
    total = np.empty(nx)
    for y in range(y0, y1):
        for t in range(ntaps):
            for x in range(nx):
                total[x] = 0.0
            for i in range(nplanes):
                w = weights[t, i]
                if w != 0.0:
                    row = slab[i, y]
                    for x in range(nx):
                        total[x] += w * row[x]
            orow = out[t, y]
            for x in range(nx):
                orow[x] = total[x]


class _Lazy:
    """``data[batch]`` read one plane at a time (numpy, dask or zarr data)."""

    def __init__(self, data, batch):
        self.data, self.batch = data, batch
        self.shape = tuple(data.shape[len(batch) :])
        self.dtype = data.dtype

    def __getitem__(self, i):
        return self.data[(*self.batch, i)]

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.data[self.batch], dtype=dtype)
