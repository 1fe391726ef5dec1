"""Connected components of a mask through its runs (row segments of foreground).

scipy's labelling visits every pixel of every neighbour row; on masks of
nuclei almost all of that work is inside long runs. Here a mask is read once
into its runs (start and end column of every segment, rows in raster order),
the runs of each row are joined to those of the earlier neighbour rows that
they touch (a union-find whose root is always the run that comes first), and
the labels are written run by run. Objects are numbered in the raster order
of their first pixel, as by :func:`scipy.ndimage.label` and
:func:`skimage.measure.label`.

The runs do not depend on the connectivity, and the joins do not depend on
which plane is shown: a live preview keeps the runs of a stack, joins them
again (tens of milliseconds) when the connectivity changes and writes only the
plane on screen.

Connectivity follows :func:`scipy.ndimage.generate_binary_structure`: an
offset joins when at most ``connectivity`` of its components are nonzero. So
an earlier row at offset ``(dz, dy)`` joins runs that overlap (its offset uses
up the connectivity), or that overlap or touch diagonally (one more column
allowed), or not at all.
"""

from dataclasses import dataclass

import numpy as np
from numba import njit

from ._checks import check_memory
from ._kernels import run_rows

__all__ = ["Runs", "find_runs", "join_runs", "paint", "run_sizes"]

# Peak memory per run of the functions here and their callers in morphology.
_BYTES_PER_RUN = 48
# The earlier neighbour rows of a row, as (dz, dy).
_EARLIER = ((0, -1), (-1, -1), (-1, 0), (-1, 1))


@dataclass(frozen=True)
class Runs:
    """The foreground runs of a 2D or 3D mask, rows in raster order.

    ``offsets[r]:offsets[r + 1]`` index the runs of row ``r`` (row ``z * ny +
    y``; a 2D mask is one plane), ``starts``/``ends`` their first and
    one-past-last columns. ``ndim``: that of the mask (2D masks are kept as
    one plane).
    """

    ndim: int
    shape: tuple[int, int, int]
    offsets: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @property
    def count(self) -> int:
        return int(self.starts.shape[0])


@njit(nogil=True, cache=True)
def _count_runs(rows, counts, invert, r0, r1):
    nx = rows.shape[1]
    flip = np.uint8(invert)
    for r in range(r0, r1):
        row = rows[r]
        n = np.int64(row[0] ^ flip)
        for x in range(1, nx):
            n += (row[x] ^ flip) > (row[x - 1] ^ flip)  # 0/1 bytes: a run starts here
        counts[r] = n


# Columns checked at once for a change of state (skipped when there is none).
_STRETCH = 32


@njit(nogil=True, cache=True)
def _fill_runs(rows, offsets, starts, ends, invert, r0, r1):
    """The runs' columns, without branches on the pixels (noisy masks have many runs).

    Every column is written as a candidate start and end, and kept by moving
    on where a run starts or ends. So each row writes one slot past its runs,
    the first of the next row that has runs (the arrays hold a spare slot for
    the last): where another thread wrote that row first, :func:`_fill_row`
    writes it again.
    """
    nx = rows.shape[1]
    flip = np.uint8(invert)
    for r in range(r0, r1):
        first = offsets[r]
        if offsets[r + 1] == first:
            continue
        row = rows[r]
        k = first
        e = first
        previous = np.uint8(0)
        for x0 in range(0, nx, _STRETCH):
            x1 = min(x0 + _STRETCH, nx)
            same = previous ^ flip  # the byte that continues the current state
            change = np.uint8(0)
            for x in range(x0, x1):
                change |= row[x] ^ same
            if change == 0:
                continue
            for x in range(x0, x1):
                v = row[x] ^ flip
                starts[k] = x
                k += v > previous
                ends[e] = x
                e += v < previous
                previous = v
        ends[e] = nx  # a run reaching the end of the row (else the next slot)


@njit(nogil=True, cache=True)
def _fill_row(rows, offsets, starts, ends, invert, r):
    """The runs of row ``r``, writing only its own slots."""
    nx = rows.shape[1]
    outside = np.uint8(invert)
    row = rows[r]
    k = offsets[r]
    x = 0
    while x < nx:
        while x < nx and row[x] == outside:
            x += 1
        if x == nx:
            break
        starts[k] = x
        while x < nx and row[x] != outside:
            x += 1
        ends[k] = x
        k += 1


def find_runs(mask: np.ndarray, invert: bool = False) -> Runs:
    """The runs of a 2D or 3D bool mask (``invert``: of its background)."""
    shape = (1, *mask.shape) if mask.ndim == 2 else tuple(mask.shape)
    rows = np.ascontiguousarray(mask).view(np.uint8).reshape(shape[0] * shape[1], shape[2])
    counts = np.empty(rows.shape[0], np.int64)
    run_rows(_count_runs, rows.shape[0], rows, counts, invert)
    offsets = np.zeros(rows.shape[0] + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    total = int(offsets[-1])
    # Start, end, parent and label of every run, and the temporaries of object
    # sizes or of the border test of hole filling (a checkerboard has size / 2 runs).
    check_memory(total * _BYTES_PER_RUN, "connected components")
    starts = np.empty(total + 1, np.int32)
    ends = np.empty(total + 1, np.int32)
    ranges = run_rows(_fill_runs, rows.shape[0], rows, offsets, starts, ends, invert)
    for r0, _ in ranges[1:]:
        if offsets[r0] < total:  # the previous share's last row wrote into this slot
            row = int(np.searchsorted(offsets, offsets[r0], side="right")) - 1
            _fill_row(rows, offsets, starts, ends, invert, row)
    return Runs(mask.ndim, shape, offsets, starts[:total], ends[:total])


@njit(nogil=True, cache=True, inline="always")
def _union(parent, a, b):
    """Join the sets of ``a`` and ``b`` (Rem's algorithm with splicing).

    Parents always have smaller indices, so a root is the first run of its set;
    both paths are walked together and shortened on the way.
    """
    while parent[a] != parent[b]:
        if parent[a] < parent[b]:
            a, b = b, a
        # Move a's path onto b's smaller parent.
        if a == parent[a]:
            parent[a] = parent[b]
            return
        up = parent[a]
        parent[a] = parent[b]
        a = up


@njit(nogil=True, cache=True)
def _join_rows(parent, starts, ends, a0, a1, b0, b1, grow):
    """Join the runs ``a0:a1`` of a row to the runs ``b0:b1`` of an earlier row.

    Runs join when they overlap, or with ``grow = 1`` also when they touch
    diagonally: a two-pointer sweep over both rows, sorted by column.
    """
    i = a0
    j = b0
    while i < a1 and j < b1:
        if ends[j] + grow <= starts[i]:
            j += 1
        elif ends[i] + grow <= starts[j]:
            i += 1
        else:
            _union(parent, i, j)
            if ends[j] < ends[i]:
                j += 1
            else:
                i += 1


@njit(nogil=True, cache=True)
def _join(offsets, starts, ends, nz, ny, connectivity, earlier, parent, labels):
    for i in range(parent.shape[0]):
        parent[i] = i
    for z in range(nz):
        for y in range(ny):
            r = z * ny + y
            a0, a1 = offsets[r], offsets[r + 1]
            if a0 == a1:
                continue
            for k in range(earlier.shape[0]):
                dz, dy = earlier[k, 0], earlier[k, 1]
                used = abs(dz) + abs(dy)
                if used > connectivity or z + dz < 0 or not 0 <= y + dy < ny:
                    continue
                rb = (z + dz) * ny + (y + dy)
                grow = 1 if used < connectivity else 0
                _join_rows(parent, starts, ends, a0, a1, offsets[rb], offsets[rb + 1], grow)
    # The root of an object is its first run: number the roots in order. A
    # parent comes before its child, so its label is already its root's.
    count = 0
    for i in range(parent.shape[0]):
        p = parent[i]
        if p == i:
            count += 1
            labels[i] = count
        else:
            labels[i] = labels[p]
    return count


def join_runs(runs: Runs, connectivity: int) -> tuple[np.ndarray, int]:
    """The label of every run (int32, objects numbered from 1) and the number of objects."""
    nz, ny, _ = runs.shape
    parent = np.empty(runs.count, np.int32 if runs.count < 2**31 else np.int64)
    labels = np.empty(runs.count, np.int32)
    earlier = np.array(_EARLIER, np.int64)
    count = _join(
        runs.offsets, runs.starts, runs.ends, nz, ny, connectivity, earlier, parent, labels
    )
    return labels, int(count)


@njit(nogil=True, cache=True)
def _paint_rows(out, offsets, starts, ends, values, background, first_row, r0, r1):
    nx = out.shape[1]
    for r in range(r0, r1):
        row = out[r]
        for x in range(nx):
            row[x] = background
        for k in range(offsets[first_row + r], offsets[first_row + r + 1]):
            v = values[k]
            for x in range(starts[k], ends[k]):
                row[x] = v


def paint(runs: Runs, values: np.ndarray, background=0, plane: int | None = None) -> np.ndarray:
    """An image holding ``values[k]`` on run ``k`` and ``background`` elsewhere.

    Of the dtype of ``values`` (int32 labels, or bool). The whole 2D/3D block,
    or with ``plane`` only that plane (2D).
    """
    nz, ny, nx = runs.shape
    dtype = values.dtype
    if dtype.kind == "b":  # numba writes bytes
        values = values.view(np.uint8)
    background = values.dtype.type(background)
    out = np.empty((ny if plane is not None else nz * ny, nx), values.dtype)
    args = (runs.offsets, runs.starts, runs.ends, values, background)
    if plane is not None:
        _paint_rows(out, *args, plane * ny, 0, ny)
    else:
        run_rows(_paint_rows, nz * ny, out, *args, 0)
    shape = (ny, nx) if plane is not None or runs.ndim == 2 else runs.shape
    return out.reshape(shape).view(dtype)


def run_sizes(runs: Runs, labels: np.ndarray, count: int) -> np.ndarray:
    """The number of pixels of each object, indexed by label (index 0: 0)."""
    lengths = (runs.ends - runs.starts).astype(np.int64)
    return np.bincount(labels, weights=lengths, minlength=count + 1).astype(np.int64)
