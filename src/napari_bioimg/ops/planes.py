"""Partial evaluation from the registry's halo: one plane, or a volume in slabs.

An operation whose output pixel depends only on input pixels within its halo
can be evaluated exactly on a slab of planes around the ones wanted. This is
what keeps previews of big stacks interactive, and lets long computations
report progress and be cancelled between slabs.
"""

import functools
import inspect
import re
from collections.abc import Iterator, Sequence

import numpy as np

from ._checks import looks_rgb, spatial_ndim
from .registry import Operation
from .transforms import isotropic_shape

__all__ = [
    "CHANNEL",
    "CHANNEL_LABELS",
    "NOT_SPATIAL",
    "TIME_LABELS",
    "is_batch_label",
    "spatial_count",
    "compute_plane",
    "output_shape",
    "plane_previewable",
    "volume_previewable",
    "compute_slabs",
    "count_slabs",
    "iter_slabs",
    "output_geometry",
    "output_axes",
    "slab_halo",
]


def slab_halo(
    operation: Operation, parameters: dict, data: np.ndarray, spacing: Sequence[float] | None
) -> int | None:
    """Halo along the first spatial axis of a 3D volume, or None when not sliceable."""
    if operation.prepare is not None and data.ndim >= 3:
        # pixel-wise once prepared; an RGB(A) image whole: a slab of 8 rows would not
        # look RGB, and an RGBA image's threshold has 3 colours (alpha gets no mask)
        return None if looks_rgb(data) else 0
    if not operation.batch or operation.halo is None or data.ndim < 3:
        return None
    nsp = spatial_ndim(data, spacing)
    if nsp != 3:
        return 0  # every plane is its own 2D image in the batch
    volume_spacing = spacing if spacing is not None else (1.0, 1.0, 1.0)
    return operation.halo_for(parameters, volume_spacing)[0]


def volume_previewable(operation: Operation) -> bool:
    """Whether one volume of a time-lapse (or channel) is the same volume of the result.

    Operations processing leading axes as independent images, and thresholds
    once their value is taken from the whole data (``prepare``); not crop,
    subsample, flip and project (their parameters address every axis), nor
    registered functions that need the whole image (no halo).
    """
    if operation.prepare is not None:
        return True
    return operation.batch and (
        operation.halo is not None or operation.output_plane is not None
    )


def plane_previewable(operation: Operation, parameters: dict, data, spacing) -> bool:
    """Whether :func:`compute_plane` computes less than the whole data."""
    if operation.output_plane is not None:
        return data.ndim >= 3
    return slab_halo(operation, parameters, data, spacing) is not None


def compute_plane(
    operation: Operation,
    data: np.ndarray,
    parameters: dict,
    index: Sequence[int],
    spacing: Sequence[float] | None = None,
    store: dict | None = None,
) -> np.ndarray:
    """Return ``operation(data)[index]`` (a 2D plane) computing as little as possible.

    Parameters
    ----------
    operation : Operation
    data : array_like
        N-dimensional data (numpy, dask or zarr); the last two axes are the plane.
    parameters : dict
        Operation parameters.
    index : sequence of int
        One index per leading axis of the result (``data.ndim - 2`` values).
    spacing : sequence of float, optional
        Pixel size of the spatial axes (the last 2 or 3).
    store : dict, optional
        Kept by the caller per input: whole-volume intermediates that later
        planes reuse (the labels of a stack).
    """
    index = tuple(int(i) for i in index)
    if len(index) != data.ndim - 2:
        raise ValueError(f"index needs {data.ndim - 2} values for {data.ndim}D data, got {index}")
    leading = tuple(data.shape[:-2])
    if operation.name == "resample_isotropic":  # (the result has its own number of planes)
        nsp = min(data.ndim, 3) if spacing is None else len(spacing)
        scale = (1.0,) * nsp if spacing is None else tuple(spacing)  # (the last nsp read)
        leading = output_shape(operation, parameters, data.shape, scale, nsp)[:-2]
    if not all(-n <= i < n for i, n in zip(index, leading, strict=True)):
        raise IndexError(f"plane index {index} is out of range for planes {leading}")
    index = tuple(i % n for i, n in zip(index, leading, strict=True))  # numpy's negatives
    if operation.output_plane is not None:
        if spacing is None and operation.needs_spacing:
            spacing = (1.0,) * min(data.ndim, 3)
        bound = operation.bind(parameters)
        return operation.output_plane(data, index, bound, spacing, store)
    if operation.prepare is not None:
        # global numbers first (from the whole data, read only if they need it: not a
        # manual threshold's), then pixel-wise on the plane
        local = operation.prepare(data, operation.bind(parameters))
        return operation(np.asarray(data[index]), **local)
    halo = slab_halo(operation, parameters, data, spacing)
    if halo is None:
        return np.asarray(operation(np.asarray(data), spacing=spacing, **parameters))[index]
    if halo == 0 or data.ndim == 2:
        block = np.asarray(data[index])
        plane_spacing = None if spacing is None else tuple(spacing)[-2:]
        return operation(block, spacing=plane_spacing, **parameters)
    *batch, z = index
    low, high = max(z - halo, 0), min(z + halo + 1, data.shape[-3])
    block = np.asarray(data[(*batch, slice(low, high))])
    if operation.plane is not None:
        volume_spacing = tuple(spacing) if spacing is not None else (1.0, 1.0, 1.0)
        # Hooks that keep per-plane intermediates get the store and the plane's index.
        extra = {"store": store, "index": index} if _keeps(operation.plane) else {}
        return operation.plane(block, z - low, operation.bind(parameters), volume_spacing, **extra)
    return operation(block, spacing=spacing, **parameters)[z - low]


@functools.lru_cache(maxsize=64)
def _keeps(plane_hook) -> bool:
    """Whether a ``plane`` hook takes ``store`` (and ``index``)."""
    return "store" in inspect.signature(plane_hook).parameters


SLAB_PLANES = 8


def _slab_axis(data, spacing, halo: int) -> int:
    """The axis slabs are cut along: the first spatial axis, or the plane axis of a 2D batch."""
    return data.ndim - 3 if halo == 0 else data.ndim - spatial_ndim(data, spacing)


def count_slabs(
    operation: Operation,
    data: np.ndarray,
    parameters: dict,
    spacing: Sequence[float] | None = None,
    planes: int = SLAB_PLANES,
) -> int:
    """How many pieces :func:`iter_slabs` yields."""
    halo = slab_halo(operation, parameters, data, spacing)
    if halo is None:
        return 1
    axis = _slab_axis(data, spacing, halo)
    return int(np.prod(data.shape[:axis])) * -(-data.shape[axis] // planes)


def iter_slabs(
    operation: Operation,
    data: np.ndarray,
    parameters: dict,
    spacing: Sequence[float] | None = None,
    planes: int = SLAB_PLANES,
) -> Iterator[tuple[tuple[slice, ...] | None, np.ndarray]]:
    """Yield ``(region, result)`` pieces that together make ``operation(data)``.

    Sliceable operations (same output shape as input) are evaluated ``planes``
    planes at a time (with their halo) along the first spatial axis, one batch
    image after another, and ``region`` indexes the output. Other operations are
    evaluated in one piece, yielded with ``region=None``.
    """
    halo = slab_halo(operation, parameters, data, spacing)
    if halo is None:
        yield None, operation(np.asarray(data), spacing=spacing, **parameters)
        return
    if operation.prepare is not None:
        parameters = operation.prepare(np.asarray(data), operation.bind(parameters))
    axis = _slab_axis(data, spacing, halo)
    for batch in np.ndindex(data.shape[:axis]):
        for start in range(0, data.shape[axis], planes):
            stop = min(start + planes, data.shape[axis])
            low, high = max(start - halo, 0), min(stop + halo, data.shape[axis])
            block = np.asarray(data[(*batch, slice(low, high))])
            result = operation(block, spacing=spacing, **parameters)
            yield (*batch, slice(start, stop)), result[start - low : stop - low]


def compute_slabs(
    operation: Operation,
    data: np.ndarray,
    parameters: dict,
    spacing: Sequence[float] | None = None,
    planes: int = SLAB_PLANES,
) -> Iterator[None]:
    """Generator form of ``operation(data)``: yields after each slab, returns the result.

    Lets a caller report progress and stop between slabs.
    """
    output = None
    for region, piece in iter_slabs(operation, data, parameters, spacing, planes):
        if region is None:
            output = piece
        else:
            if output is None:
                output = np.empty(data.shape, piece.dtype)
            output[region] = piece
        yield
    return output


# Space between an image and a projection of it along y or x laid below it (of its height).
SIDE_VIEW_GAP = 0.05


def output_geometry(
    operation: Operation,
    parameters: dict,
    shape: Sequence[int],
    scale: Sequence[float],
    translate: Sequence[float],
    spatial: int | None = None,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The ``scale`` and ``translate`` of an operation's result, so that it overlays its input.

    Filters and morphology keep both; ``crop`` moves the origin by ``start``,
    ``subsample`` multiplies the scale by ``step``, ``project`` drops the axis,
    ``resample_isotropic`` makes the spatial scale isotropic, ``set_voxel_size``
    sets it (as :func:`~napari_bioimg.pipeline.spacing.spacing_after`); a projection
    along y or x (a side view, its rows the axis before) lies just below the input
    (napari lays its last two axes over y and x). An RGB image's
    colour axis (in ``shape``, not in ``scale``) keeps no geometry. ``spatial``:
    the number of spatial axes (the length of the spacing the operation reads;
    default the last ``min(ndim, 3)``), fewer for masks with a channel axis.
    """
    scale = [float(s) for s in scale]
    translate = [float(t) for t in translate]
    ndim = len(scale)
    p = operation.bind(parameters)
    if operation.name == "crop" and p["start"] is not None:
        starts = [p["start"]] * ndim if np.isscalar(p["start"]) else list(p["start"])[:ndim]
        for axis, start in enumerate(starts):
            if start is not None:
                first = slice(start, None).indices(shape[axis])[0]
                translate[axis] += first * scale[axis]
    elif operation.name == "subsample":
        steps = [p["step"]] * ndim if np.isscalar(p["step"]) else list(p["step"])[:ndim]
        steps += [1] * (ndim - len(steps))
        scale = [s * k for s, k in zip(scale, steps, strict=True)]
    elif operation.name == "project":
        axis = p["axis"] % ndim
        if ndim >= 3 and axis >= ndim - 2:
            # A side view (along y or x, rows are the axis before): napari lays its
            # last two axes over y and x, so it lies just below the input, not over it.
            y = ndim - 2
            bottom = translate[y] + (shape[y] - 0.5) * scale[y]
            translate[ndim - 3] = bottom + SIDE_VIEW_GAP * shape[y] * scale[y] + (
                scale[ndim - 3] / 2
            )
        del scale[axis], translate[axis]
    elif operation.name == "resample_isotropic":
        nsp = min(ndim, 3) if spatial is None else spatial
        target = min(scale[-nsp:])
        scale[-nsp:] = [target] * nsp
    elif operation.name == "set_axis_role" and ndim >= 3:
        nsp = min(ndim, 3) if spatial is None else spatial
        if p["role"] == "z" and nsp < 3:  # a new z axis: the pixel width, as Fiji guesses
            scale[-3] = scale[-1]
    elif operation.name == "set_voxel_size":
        from ..pipeline.spacing import spacing_after

        nsp = min(ndim, 3) if spatial is None else spatial
        scale[-nsp:] = spacing_after(operation.name, p, scale[-nsp:], ndim)
    return tuple(scale), tuple(translate)


def numbered(labels) -> bool:
    """Whether axis ``labels`` are napari's own numbers (``-3, -2, -1`` or ``0, 1, 2``)."""
    return all(str(label).lstrip("-").isdigit() for label in labels)


def default_axis_names(ndim: int) -> list[str]:
    """Names for napari's numbered axes: ``axis 0``... then z, y, x (the last ones)."""
    spatial = ["z", "y", "x"][-min(ndim, 3) :]
    return [f"axis {i}" for i in range(ndim - len(spatial))] + spatial


def output_axes(
    operation: Operation,
    parameters: dict,
    values: Sequence,
    kind: str = "units",
    spatial: int | None = None,
) -> tuple:
    """Per-axis ``values`` of a result (``kind``: "units" or "labels"), from the input's.

    A projection drops its axis' value (napari's numbered labels become names
    first); ``set_axis_role`` names the axis before y
    (napari's numbered labels become names) and gives it the unit of the pixel
    width as z, none (pixels) as frames or channels unless it has a non-length
    unit (a frame interval in s); ``set_voxel_size`` with a ``unit`` gives it to
    the ``spatial`` axes (default the last ``min(ndim, 3)``); every other
    operation keeps them.
    """
    values = list(values)
    if operation.name == "set_voxel_size" and kind == "units":
        unit = operation.bind(parameters)["unit"]
        if unit is not None:
            nsp = min(len(values), 3) if spatial is None else spatial
            values[len(values) - nsp :] = [unit] * nsp
        return tuple(values)
    names = operation.name == "project" or (
        operation.name == "set_axis_role" and len(values) >= 3
    )
    if names and kind == "labels" and numbered(values):
        # named: once a projection takes z away, the leading axes of a 4D stack stay
        # frames (napari would number the rest afresh, its first axis taken for z)
        values = default_axis_names(len(values))
    if operation.name == "project":
        del values[operation.bind(parameters)["axis"] % len(values)]
    elif operation.name == "set_axis_role" and len(values) >= 3:
        role = operation.bind(parameters)["role"]
        if kind == "labels":
            values[-3] = role
        elif role == "z":
            values[-3] = values[-1]
        elif values[-3] == values[-1]:  # (a length: no frame interval, no channel size)
            values[-3] = "pixel"
    return tuple(values)


def output_shape(
    operation: Operation, parameters: dict, shape: Sequence[int], scale: Sequence[float],
    spatial: int | None = None,
) -> tuple[int, ...]:
    """The shape of the result of an operation that has an ``output_plane`` hook.

    The same as the input's, but for ``resample_isotropic`` (``scale``: the
    layer's, whose last ``spatial`` values (default ``min(ndim, 3)``) are the spacing).
    """
    shape = tuple(int(n) for n in shape)
    if operation.name != "resample_isotropic":
        return shape
    nsp = min(len(shape), 3) if spatial is None else spatial
    spacing = [float(s) for s in scale[-nsp:]]
    target = operation.bind(parameters).get("target") or min(spacing)
    return shape[:-nsp] + isotropic_shape(shape[-nsp:], spacing, target)


# --- axis labels (napari's axis_labels, the reader's and the writer's) ---------------

# The axis label of a channel axis (the masks of an RGB image have one first).
CHANNEL = "channel"
CHANNEL_LABELS = (CHANNEL, "c")
TIME_LABELS = ("t", "time", "frame")  # axis labels of a time-lapse's frames
NOT_SPATIAL = (*CHANNEL_LABELS, *TIME_LABELS)  # axis labels of batch axes


def is_batch_label(label) -> bool:
    """Whether an axis labelled ``label`` is a batch axis (frames, channels), not space.

    Besides t and channel, the ``axis 0``... that name napari's numbered leading
    axes once a projection has taken z away (:func:`~napari_bioimg.ops.planes.output_axes`).
    """
    label = str(label).lower()
    return label in NOT_SPATIAL or re.fullmatch(r"axis \d+", label) is not None


def spatial_count(axis_labels, ndim: int) -> int:
    """How many of the last ``ndim`` axes are spatial: not a batch axis or one before it."""
    nsp = min(ndim, 3)
    labels = [str(label).lower() for label in list(axis_labels)[-nsp:]]
    batch = [i for i, label in enumerate(labels) if is_batch_label(label)]
    return nsp - (batch[-1] + 1 if batch else 0)
