"""Run a pipeline on a dask array, chunk by chunk, with the same result as in memory.

How each step runs:

* operations with a halo (filters, binary morphology: ``Operation.halo_for``)
  run lazily with :func:`dask.array.map_overlap`, each chunk extended by the
  halo along every spatial axis (``boundary="none"``: at the image border the
  operation pads the way it does on the whole image), so every output pixel
  sees exactly the neighbourhood it sees in memory;
* ``threshold`` first computes its value over the whole array (from a
  histogram summed chunk by chunk, as scikit-image would compute it: for
  integer data one bin per value, for floats a first pass for the range then
  256 bins, of the finite values, for every method that reads only the histogram, see
  :func:`napari_bioimg.ops.threshold.reads_histogram`; otherwise from the
  array computed in memory), then compares lazily chunk by chunk;
* the other operations need the whole image at once (``label``,
  ``fill_holes``, ``remove_small_objects``, the transforms, user operations
  without a halo): their input is computed in memory when :func:`run_dask` is
  called, and their result is wrapped back into a dask array.

dask is an optional dependency (``pip install 'napari-bioimg[dask]'``).
"""

import math
from collections.abc import Sequence
from functools import partial

import numpy as np

from ..ops._checks import beyond_float, image_axes, looks_rgb, spatial_spacing, without_alpha
from ..ops.registry import BUILTIN_NAMES, Operation, import_operation
from ..ops.threshold import (
    above,
    reads_histogram,
    scale_exponent,
    threshold_from_histogram,
    threshold_histogram,
    threshold_value,
)
from .core import INPUT, Pipeline, _where, naming_step
from .spacing import spacing_after, spacing_of_result

__all__ = ["run_dask"]

_MAX_HISTOGRAM_BINS = 1 << 24
_FLOAT_BINS = 256  # scikit-image's nbins default for float images
# Blocks narrower than this along the last axis could be 3 or 4 wide: RGB to the shape
# rule (:func:`~napari_bioimg.ops._checks.looks_rgb`) of the operations.
_MIN_LAST_CHUNK = 5


def _dask_array():
    try:
        import dask.array
    except ImportError as error:
        raise ImportError(
            "run_dask needs dask: pip install 'napari-bioimg[dask]'"
        ) from error
    return dask.array


def _run_block(block, operation, module, parameters, spacing, where):
    # Looked up by name so that tasks pickle by reference on dask workers; an error
    # raised while computing names its step, as Pipeline.run's does
    with naming_step(where):
        return import_operation(operation, module)(block, spacing=spacing, **parameters)


def run_dask(pipeline: Pipeline, array, spacing: Sequence[float] | None = None, *,
             all_results: bool = False):
    """Run ``pipeline`` on a dask array; see the module documentation for how.

    Parameters
    ----------
    pipeline : Pipeline
    array : dask.array.Array or array_like
        The input (numpy arrays are wrapped as one chunk).
    spacing : sequence of float, optional
        Voxel size per spatial axis, tracked through the steps as by
        :meth:`Pipeline.run`.
    all_results : bool
        Return every step's result instead of the last one.

    Returns
    -------
    dask.array.Array or list of dask.array.Array
        Equal, once computed, to :meth:`Pipeline.run` on the computed input.

    Examples
    --------
    >>> import dask.array as da
    >>> pipeline = Pipeline()
    >>> _ = pipeline.add("gaussian", sigma=2.0)
    >>> volume = da.random.default_rng(0).random((40, 256, 256), chunks=(20, 128, 128))
    >>> pipeline.run_dask(volume).chunks == volume.chunks
    True
    """
    da = _dask_array()
    array = da.asarray(array)
    if spacing is not None:  # refused as in memory (the halos divide by it)
        spacing = spatial_spacing(np.empty((1,) * array.ndim, bool), spacing)
    results = {INPUT: (array, spacing)}
    outputs = []
    # Only the last result wanted: a side branch is not built (nor can it fail).
    needed = {step.id for step in (pipeline if all_results else pipeline.making())}
    for index, step in enumerate(pipeline.steps):
        if step.id not in needed:
            continue
        data, step_spacing = results[step.source]
        op = import_operation(step.operation, step.module)
        where = _where(index, step.operation)
        with naming_step(where):
            result = _step(da, op, step.parameters, step.module, data, step_spacing, where)
            out_spacing = spacing_after(
                step.operation, step.parameters, step_spacing, image_axes(data)
            )
            if step.operation not in BUILTIN_NAMES:  # (a function may drop axes)
                out_spacing = spacing_of_result(out_spacing, image_axes(result))
            results[step.id] = (result, out_spacing)
        outputs.append(result)
    if all_results:
        return outputs
    return outputs[-1] if outputs else array


def _step(da, op: Operation, parameters: dict, module, data, spacing, where: str):
    block_function = partial(
        _run_block, operation=op.name, module=module, parameters=parameters, spacing=spacing,
        where=where,
    )
    spatial = spacing if spacing is not None else (1.0,) * min(data.ndim, 3)
    # (the masks of an RGB image, colours last, are filtered colour by colour in memory)
    halo = op.halo_for(parameters, spatial) if op.batch and not looks_rgb(data) else None
    if halo is not None:
        given = data.chunks
        depth = dict.fromkeys(range(data.ndim), 0)
        depth.update({data.ndim - len(halo) + i: int(h) for i, h in enumerate(halo)})
        # A halo reaching across the whole axis: the axis becomes one chunk.
        whole = {axis: -1 for axis, d in depth.items() if d and d >= data.shape[axis]}
        if whole:
            data = data.rechunk(whole)
            depth.update(dict.fromkeys(whole, 0))
        if data.ndim >= 3 and min(data.chunks[-1]) < _MIN_LAST_CHUNK <= data.shape[-1]:
            # a block 3 or 4 wide (a remainder chunk) would be taken for RGB colours
            data = data.rechunk({data.ndim - 1: _wide_chunks(data.chunks[-1])})
        dtype = _result_dtype(op, parameters, data, spacing)
        result = da.map_overlap(
            block_function, data, depth=depth, boundary="none", dtype=dtype,
            meta=np.empty((0,) * data.ndim, dtype),
        )
        # the input's chunks again, merged above or by map_overlap (a remainder chunk
        # under the halo): zarr takes regular ones only (to_zarr warned of (32, 35))
        return result if result.chunks == given else result.rechunk(given)
    if op.name == "threshold":
        data = without_alpha(data)  # (as in memory: R, G and B; alpha gets no mask)
        value = _global_threshold(da, data, parameters)
        if value is not None:
            # (the level as it is: the registry reads a manual value as a float, which
            # would round the exact integer level of 64-bit data past 2**53; and pixel
            # by pixel: a chunk 4 wide is no RGBA image)
            level = partial(above, level=value)
            return da.map_blocks(level, data, dtype=bool, meta=np.empty((0,) * data.ndim, bool))
    result = block_function(np.asarray(data))
    chunks = data.chunks if result.shape == data.shape else (
        data.chunksize if result.ndim == data.ndim else "auto"
    )
    return da.from_array(result, chunks=chunks)


def _wide_chunks(chunks: tuple[int, ...]) -> tuple[int, ...]:
    """``chunks`` with each one narrower than :data:`_MIN_LAST_CHUNK` merged into a neighbour.

    >>> _wide_chunks((32, 32, 3))
    (32, 35)
    >>> _wide_chunks((2, 2, 2, 40))
    (6, 40)
    >>> _wide_chunks((3,) * 6)
    (6, 6, 6)
    """
    merged: list[int] = []
    for chunk in chunks:
        if merged and merged[-1] < _MIN_LAST_CHUNK:
            merged[-1] += chunk
        else:
            merged.append(chunk)
    if len(merged) > 1 and merged[-1] < _MIN_LAST_CHUNK:
        last = merged.pop()
        merged[-1] += last
    return tuple(merged)


def _result_dtype(op: Operation, parameters: dict, data, spacing) -> np.dtype:
    """Return the dtype ``op`` gives for ``data``'s dtype, from a tiny all-zero image."""
    probe = np.zeros((3,) * data.ndim, dtype=data.dtype)
    return op(probe, spacing=spacing, **parameters).dtype


def _global_threshold(da, data, parameters: dict) -> float | int | None:
    """Return the threshold of the whole array, or None to threshold it in memory."""
    method, value = parameters["method"], parameters["value"]
    if method == "manual":
        level = threshold_value(np.zeros((1, 1)), method=method, value=value)  # (its checks)
        # (an integer as given: as a float, one past 2**53 would round)
        return value if isinstance(value, int | np.integer) else level
    if data.dtype == bool:  # thresholded as floats, as in memory (ops.threshold)
        data = data.astype(np.float64)
    if data.dtype.kind not in "iuf" or not reads_histogram(method, data.dtype):
        return None
    import dask

    if data.dtype.kind == "f":
        return _float_threshold(dask, data, method)

    work = data
    if work.dtype.itemsize <= 2:  # one pass over the dtype's whole range
        info = np.iinfo(work.dtype)
        low, length = int(info.min), int(info.max) - int(info.min) + 1
    else:
        low, high = (int(v) for v in dask.compute(work.min(), work.max()))
        length = high - low + 1
        if length > _MAX_HISTOGRAM_BINS:
            return None
    blocks = work.to_delayed().ravel()
    counts = dask.compute(dask.delayed(sum)(
        [dask.delayed(_counts)(block, low, length) for block in blocks]
    ))[0]
    present = np.flatnonzero(counts)
    first, last = int(present[0]), int(present[-1])
    if first == last:  # constant: the in-memory error message, from a tiny image
        threshold_value(np.full((1, 2), low + first, dtype=work.dtype), method=method)
    if beyond_float(low + first, low + last):
        # as in memory (ops.threshold): the threshold of the exact offsets from the
        # minimum, as an exact integer level (their floats round together)
        offsets = np.arange(last - first + 1)
        level = threshold_from_histogram(method, (counts[first : last + 1], offsets))
        return low + first + math.floor(level)
    # skimage's histogram of an integer image: one bin per value from min to max.
    centers = np.arange(low + first, low + last + 1)
    return threshold_from_histogram(method, (counts[first : last + 1], centers))


def _float_threshold(dask, data, method: str) -> float:
    """Two passes over float data: range of the finite values, then scikit-image's histogram.

    scikit-image bins a float image into 256 equal bins over its range with
    ``np.histogram``; the same edges applied chunk by chunk give the same counts.
    As in memory, the finite values alone are binned (NaN and infinities left
    out, as Fiji does). float16 is binned in float32, as scikit-image does in
    memory.
    """
    if data.dtype == np.float16:
        data = data.astype(np.float32)
    blocks = data.to_delayed().ravel()
    ranges = dask.compute([dask.delayed(_finite_range)(block) for block in blocks])[0]
    found = [(low, high) for low, high, _ in ranges if low is not None]
    extremes = [min(low for low, _ in found), max(high for _, high in found)] if found else []
    nonfinite = not all(whole for _, _, whole in ranges)
    # the in-memory checks and messages (no finite value, constant, too close together
    # for 256 bins), from a tiny image of the same finite range (and a NaN if any)
    threshold_histogram(np.array([extremes + [np.nan] * nonfinite], data.dtype), method)
    # (values beyond 2**32 or below 2**-32 are binned scaled by a power of two, as in
    # memory: exact, and -1e308..1e308 can then be binned)
    exponent = scale_exponent(*extremes)
    low, high = (np.ldexp(v, -exponent) for v in extremes)
    edges = np.histogram(np.array([low], data.dtype), bins=_FLOAT_BINS, range=(low, high))[1]
    counts = dask.compute(dask.delayed(sum)(
        [dask.delayed(_float_counts)(block, low, high, exponent) for block in blocks]
    ))[0]
    centers = np.ldexp((edges[:-1] + edges[1:]) / 2.0, exponent)
    return threshold_from_histogram(method, (counts, centers))


def _finite_range(block: np.ndarray):
    """``(min, max, whole)`` of the finite values of ``block`` (None, None: none is)."""
    finite = np.isfinite(block)
    whole = bool(finite.all())
    values = block if whole else block[finite]
    if values.size == 0:
        return None, None, False
    return values.min(), values.max(), whole


def _float_counts(block: np.ndarray, low, high, exponent: int) -> np.ndarray:
    finite = np.isfinite(block)
    values = block if finite.all() else block[finite]
    if exponent:
        values = np.ldexp(values, -exponent)
    return np.histogram(values, bins=_FLOAT_BINS, range=(low, high))[0]


def _counts(block: np.ndarray, low: int, length: int) -> np.ndarray:
    if block.dtype.kind == "u":  # (uint64 past 2**63 does not fit int64; offsets do)
        offsets = (block - block.dtype.type(low)).astype(np.int64)
    else:
        offsets = block.astype(np.int64) - low
    return np.bincount(offsets.ravel(), minlength=length)
