"""Compiled neighbourhood kernels (numba): median, extreme and sum filters.

The separable correlation (Gaussian, Sobel, Laplace) is in :mod:`._correlate`.

Every kernel works on a 3D view ``(planes, rows, columns)`` of one image (a 2D
image is one plane) and writes the output rows ``y0:y1`` of the planes
``z0:z1``, reading the input with clamped indices: edges replicate
(``mode="nearest"``) without padding a copy of the image. Threads therefore
share the input and split the output between them (see :func:`run_parallel`);
the kernels release the GIL.

Footprints are described by their rows along the last axis, grouped by plane
offset (:class:`RowTable`): a ball or box is, for each plane offset ``dz`` and
row offset ``dy``, a centred run of half-width ``w``. For each output plane and
each plane offset, rows of the input plane are preprocessed once into a ring
buffer (all run widths by incremental widening for minimum/maximum, prefix sums
for sums, edge-padded copies for the median), then every output row combines
``O(rows)`` preprocessed rows.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = [
    "RowTable",
    "box_sums",
    "folded",
    "n_threads",
    "row_table",
    "rows_extreme",
    "rows_median",
    "rows_median_network",
    "rows_sums",
    "row_shares",
    "run_parallel",
    "run_rows",
    "thread_pool",
]

# Below this many pixels the work stays on the calling thread.
_PARALLEL_MIN_PIXELS = 65536
# Output rows processed together per plane offset: bounds the float64
# accumulator of the sum kernels while keeping the ring warm-up cheap.
_BLOCK_ROWS = 64
# Pixels of a plane per block of the 3D box sums (rows: at least 16 hy, for tall boxes).
_SUM_BLOCK_PIXELS = 1 << 18


@dataclass(frozen=True)
class RowTable:
    """A footprint as runs along the last axis, grouped by plane offset.

    ``slice_dz[s]`` is the plane offset of group ``s`` whose rows are
    ``row_dy[slice_start[s]:slice_start[s + 1]]`` with half-widths ``row_w``.
    """

    slice_dz: np.ndarray
    slice_start: np.ndarray
    row_dy: np.ndarray
    row_w: np.ndarray
    count: int

    @property
    def rows(self) -> int:
        """Number of runs."""
        return int(self.row_w.size)


def row_table(footprint: np.ndarray) -> RowTable:
    """Describe a convex, symmetric 2D or 3D footprint by its centred runs."""
    fp = footprint.reshape((1,) * (3 - footprint.ndim) + footprint.shape)
    cz, cy, cx = (s // 2 for s in fp.shape)
    slice_dz, slice_start, row_dy, row_w = [], [], [], []
    for z in range(fp.shape[0]):
        start = len(row_w)
        for y in range(fp.shape[1]):
            count = int(fp[z, y].sum())
            if count:
                row_dy.append(y - cy)
                row_w.append(count // 2)
        if len(row_w) > start:
            slice_dz.append(z - cz)
            slice_start.append(start)
    slice_start.append(len(row_w))
    as_int = lambda values: np.asarray(values, np.int64)  # noqa: E731
    return RowTable(
        as_int(slice_dz), as_int(slice_start), as_int(row_dy), as_int(row_w),
        int(fp.sum()),
    )


def folded(table: RowTable) -> tuple[np.ndarray, ...]:
    """Pair the plane offsets ``dz`` and ``-dz`` that hold the same rows.

    Returns ``(slice_dz, slice_start, row_dy, row_w, slice_mirror)`` keeping
    only ``dz >= 0`` where ``slice_mirror`` is 1 when the slice at ``-dz`` is
    its mirror: an extreme filter then takes the extreme of the two planes
    first and filters it once (filtering commutes with the extreme).
    """
    groups = {}
    for s, dz in enumerate(table.slice_dz):
        start, stop = table.slice_start[s], table.slice_start[s + 1]
        groups[int(dz)] = (table.row_dy[start:stop], table.row_w[start:stop])
    slice_dz, slice_start, row_dy, row_w, mirror = [], [], [], [], []
    for dz, (dys, ws) in groups.items():
        partner = groups.get(-dz)
        paired = dz > 0 and partner is not None and np.array_equal(partner[0], dys) and (
            np.array_equal(partner[1], ws))
        if dz < 0 and -dz in groups and np.array_equal(groups[-dz][0], dys) and (
                np.array_equal(groups[-dz][1], ws)):
            continue  # handled with its mirror
        slice_dz.append(dz)
        slice_start.append(len(row_w))
        row_dy.extend(dys.tolist())
        row_w.extend(ws.tolist())
        mirror.append(int(paired))
    slice_start.append(len(row_w))
    as_int = lambda values: np.asarray(values, np.int64)  # noqa: E731
    return as_int(slice_dz), as_int(slice_start), as_int(row_dy), as_int(row_w), as_int(mirror)


def n_threads() -> int:
    """Worker threads for the kernels: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_parallel(kernel, image3: np.ndarray, out3: np.ndarray, *args, threads=None,
                 parts_per_thread=1, planes=None, clear_others=True) -> None:
    """Run ``kernel(image3, out3, z0, z1, y0, y1, *args)`` over disjoint output parts.

    The output is split along planes when there are enough of them, else along
    rows; each thread writes only its own part, so no halo copies are needed.
    With ``parts_per_thread > 1`` the threads take smaller parts from a queue,
    so that a thread slowed by other work on the machine is not waited for
    (for kernels with little set-up per part).
    ``planes=(start, stop)`` computes only those output planes (a live preview
    of one plane from a slab) and sets the others to zero, or leaves them
    untouched with ``clear_others=False`` (for callers that read only those
    planes: the pages of a fresh output are then never written).
    """
    threads = n_threads() if threads is None else threads
    if image3.size < _PARALLEL_MIN_PIXELS:
        parts_per_thread = 1  # all on this thread: fewer set-ups
    nz, ny = image3.shape[:2]
    first, stop = 0, nz
    if planes is not None:
        first, stop = max(int(planes[0]), 0), min(int(planes[1]), nz)
        if clear_others:
            out3[:first] = 0
            out3[stop:] = 0
    count = stop - first
    wanted = threads * parts_per_thread
    # Whole planes per part when they share out evenly (or are many); else rows,
    # so that 3 planes on 2 threads do not leave one thread idle a third of the time.
    if count >= threads and (count % threads == 0 or count >= 4 * threads):
        bounds = np.linspace(first, stop, min(wanted, count) + 1).astype(int)
        parts = [(bounds[i], bounds[i + 1], 0, ny) for i in range(len(bounds) - 1)]
    else:
        pieces = min(wanted, max(1, ny // 32))
        bounds = np.linspace(0, ny, pieces + 1).astype(int)
        parts = [(z, z + 1, bounds[i], bounds[i + 1]) for z in range(first, stop)
                 for i in range(pieces)]
    if len(parts) == 1 or image3.size < _PARALLEL_MIN_PIXELS:
        for part in parts:
            kernel(image3, out3, *part, *args)
        return
    pool = thread_pool(threads)
    futures = [pool.submit(kernel, image3, out3, *part, *args) for part in parts]
    for future in futures:
        future.result()


def row_shares(rows: int, parts: int) -> list[tuple[int, int]]:
    """Up to ``parts`` near-equal, non-empty ranges ``(r0, r1)`` covering ``0:rows``."""
    edges = np.linspace(0, rows, parts + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def run_rows(function, rows: int, *args) -> list[tuple[int, int]]:
    """``function(*args, r0, r1)`` over one share of ``rows`` per thread; returns the shares.

    For kernels whose shares are ranges of rows of their own (not the planes
    and rows of an output, as in :func:`run_parallel`).
    """
    shares = row_shares(rows, n_threads())
    if len(shares) == 1:
        function(*args, *shares[0])
        return shares
    pool = thread_pool(len(shares))
    for future in [pool.submit(function, *args, *share) for share in shares]:
        future.result()
    return shares


_POOLS: dict = {}


def thread_pool(threads: int) -> ThreadPoolExecutor:
    """A pool of ``threads`` workers, kept for the process (a forked child makes its own).

    A preview runs a dozen passes: starting threads for each cost milliseconds.
    """
    key = (os.getpid(), threads)
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS.setdefault(key, ThreadPoolExecutor(threads, "napari-bioimg"))
    return pool


# --- helpers -------------------------------------------------------------------


@njit(nogil=True, cache=True, inline="always")
def _clamp(i, n):
    return 0 if i < 0 else (n - 1 if i >= n else i)


@njit(nogil=True, cache=True)
def _slice_reach(row_dy, row_w, start, stop):
    hy = 0
    wmax = 0
    for j in range(start, stop):
        d = abs(row_dy[j])
        if d > hy:
            hy = d
        if row_w[j] > wmax:
            wmax = row_w[j]
    return hy, wmax


@njit(nogil=True, cache=True)
def copy_row(src, dst):
    """``dst[:] = src`` for 1D arrays, as a loop from 0 (vectorized)."""
    # Ten times faster than ``dst[:] = src`` on a row of 512 (numba's slice assignment).
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@njit(nogil=True, cache=True)
def _pad_row(row, pad, margin):
    nx = row.shape[0]
    for i in range(margin):
        pad[i] = row[0]
        pad[margin + nx + i] = row[nx - 1]
    inner = pad[margin : margin + nx]  # a view indexed from 0 vectorizes
    for i in range(nx):
        inner[i] = row[i]


# --- minimum / maximum over runs --------------------------------------------------


@njit(nogil=True, cache=True)
def _widen(row, levels, wmax, is_max):
    """Running extremes of ``row`` for half-widths 0..wmax, into ``levels``.

    ``levels[w]`` holds the row padded by ``margin = levels.shape[1] - len(row)``
    halves: level ``w`` is valid in ``[w, len - w)`` and computed from level
    ``w - 1`` as ``M_w[i] = extreme(M_{w-1}[i-1], M_{w-1}[i+1])`` (with the
    centre too for ``w = 1``). Loops index views from 0 so that numba skips
    negative-index checks and vectorizes them.
    """
    length = levels.shape[1]
    margin = (length - row.shape[0]) // 2
    _pad_row(row, levels[0], margin)
    for w in range(1, wmax + 1):
        n = length - 2 * w
        cur = levels[w - 1]
        left = cur[w - 1 : w - 1 + n]
        centre = cur[w : w + n]
        right = cur[w + 1 : w + 1 + n]
        dst = levels[w, w : w + n]
        if w == 1 and is_max:
            for i in range(n):
                dst[i] = max(max(left[i], centre[i]), right[i])
        elif w == 1:
            for i in range(n):
                dst[i] = min(min(left[i], centre[i]), right[i])
        elif is_max:
            for i in range(n):
                dst[i] = max(left[i], right[i])
        else:
            for i in range(n):
                dst[i] = min(left[i], right[i])


@njit(nogil=True, cache=True)
def rows_extreme(image, out, z0, z1, y0, y1, slice_dz, slice_start, row_dy, row_w,
                 slice_mirror, is_max):
    """Minimum or maximum over the runs of a footprint (edges replicate).

    A slice with ``slice_mirror[s]`` stands for the plane offsets ``dz`` and
    ``-dz`` (see :func:`folded`): its rows are the extreme of both planes' rows.
    """
    nz, ny, nx = image.shape
    hy_all, wmax_all = _slice_reach(row_dy, row_w, 0, row_dy.shape[0])
    nslot = 2 * hy_all + 1
    ring = np.empty((nslot, wmax_all + 1, nx + 2 * wmax_all), image.dtype)
    pair = np.empty(nx, image.dtype)
    for z in range(z0, z1):
        for yb in range(y0, y1, _BLOCK_ROWS):
            ye = min(yb + _BLOCK_ROWS, y1)
            for s in range(slice_dz.shape[0]):
                p = _clamp(z + slice_dz[s], nz)
                q = _clamp(z - slice_dz[s], nz) if slice_mirror[s] else p
                start, stop = slice_start[s], slice_start[s + 1]
                hy, wmax = _slice_reach(row_dy, row_w, start, stop)
                for yy in range(yb - hy, ye + hy):
                    row = image[p, _clamp(yy, ny)]
                    if q != p:
                        other = image[q, _clamp(yy, ny)]
                        if is_max:
                            for i in range(nx):
                                pair[i] = max(row[i], other[i])
                        else:
                            for i in range(nx):
                                pair[i] = min(row[i], other[i])
                        row = pair
                    _widen(row, ring[(yy + nslot) % nslot], wmax, is_max)
                    y = yy - hy
                    if y < yb:
                        continue
                    orow = out[z, y]
                    for j in range(start, stop):
                        src = ring[(y + row_dy[j] + nslot) % nslot, row_w[j],
                                   wmax_all : wmax_all + nx]
                        if s == 0 and j == start:
                            for i in range(nx):
                                orow[i] = src[i]
                        elif is_max:
                            for i in range(nx):
                                orow[i] = max(orow[i], src[i])
                        else:
                            for i in range(nx):
                                orow[i] = min(orow[i], src[i])


# --- sums over runs ---------------------------------------------------------------


@njit(nogil=True, cache=True)
def _prefix(row, p1, p2, wmax, offset, squares, pad):
    """Prefix sums of ``row - offset`` (and of its square) with edge margins."""
    nx = row.shape[0]
    length = nx + 2 * wmax
    first = row[0] - offset
    last = row[nx - 1] - offset
    for i in range(wmax):
        pad[i] = first
        pad[wmax + nx + i] = last
    inner = pad[wmax : wmax + nx]
    for i in range(nx):
        inner[i] = row[i] - offset
    s1 = 0.0
    s2 = 0.0
    p1[0] = 0.0
    if squares:
        p2[0] = 0.0
    for i in range(length):
        v = pad[i]
        s1 += v
        p1[i + 1] = s1
        if squares:
            s2 += v * v
            p2[i + 1] = s2


@njit(nogil=True, cache=True)
def rows_sums(image, out, z0, z1, y0, y1, slice_dz, slice_start, row_dy, row_w, count,
              offset, variance):
    """Mean (or population variance) over the runs of a footprint, as float32."""
    nz, ny, nx = image.shape
    hy_all, wmax_all = _slice_reach(row_dy, row_w, 0, row_dy.shape[0])
    nslot = 2 * hy_all + 1
    length = nx + 2 * wmax_all + 1
    ring1 = np.empty((nslot, length))
    ring2 = np.empty((nslot, length) if variance else (1, 1))
    pad = np.empty(length)
    acc1 = np.empty((_BLOCK_ROWS, nx))
    acc2 = np.empty((_BLOCK_ROWS, nx) if variance else (1, 1))
    for z in range(z0, z1):
        for yb in range(y0, y1, _BLOCK_ROWS):
            ye = min(yb + _BLOCK_ROWS, y1)
            acc1[:] = 0.0
            if variance:
                acc2[:] = 0.0
            for s in range(slice_dz.shape[0]):
                p = _clamp(z + slice_dz[s], nz)
                start, stop = slice_start[s], slice_start[s + 1]
                hy, wmax = _slice_reach(row_dy, row_w, start, stop)
                for yy in range(yb - hy, yb + hy + (ye - yb)):
                    slot = (yy + nslot) % nslot
                    _prefix(image[p, _clamp(yy, ny)], ring1[slot], ring2[slot % ring2.shape[0]],
                            wmax, offset, variance, pad)
                    y = yy - hy
                    if y < yb:
                        continue
                    a1 = acc1[y - yb]
                    for j in range(start, stop):
                        slot_j = (y + row_dy[j] + nslot) % nslot
                        w = row_w[j]
                        hi = wmax + w + 1
                        lo = wmax - w
                        r1_hi = ring1[slot_j, hi : hi + nx]
                        r1_lo = ring1[slot_j, lo : lo + nx]
                        for i in range(nx):
                            a1[i] += r1_hi[i] - r1_lo[i]
                        if variance:
                            r2_hi = ring2[slot_j, hi : hi + nx]
                            r2_lo = ring2[slot_j, lo : lo + nx]
                            a2 = acc2[y - yb]
                            for i in range(nx):
                                a2[i] += r2_hi[i] - r2_lo[i]
            for y in range(yb, ye):
                _finish(acc1[y - yb], acc2[(y - yb) % acc2.shape[0]], out[z, y], count,
                        offset, variance)


@njit(nogil=True, cache=True)
def _finish(a1, a2, orow, count, offset, variance):
    for i in range(orow.shape[0]):
        m = a1[i] / count
        if variance:
            v = a2[i] / count - m * m
            orow[i] = v if v > 0 else 0.0
        else:
            orow[i] = m + offset


@njit(nogil=True, cache=True)
def _add_difference(col, prefix, width, sign):
    """``col += sign * (prefix[width:] - prefix[:-width])``: running sums of a row."""
    nx = col.shape[0]
    high = prefix[width : width + nx]
    low = prefix[0:nx]
    for i in range(nx):
        col[i] += sign * (high[i] - low[i])


@njit(nogil=True, cache=True)
def box_sums(image, out, z0, z1, y0, y1, hz, hy, hx, offset, variance):
    """Mean (or population variance) over a box, in time independent of its size.

    Running sums along rows, then columns (2D boxes), or along planes, then
    rows, then columns (:func:`_box_sums_block`); for integer data every
    partial sum is an integer below 2**53, so the sums are exact.
    """
    nz, ny, nx = image.shape
    if hz == 0:  # planes apart: stream the rows straight into the output
        _box_sums_rows(image, out, z0, z1, y0, y1, hy, hx, offset, variance)
        return
    # Blocks of rows bound the plane sums (float64, rows x nx: 2 when variance);
    # each block also reads 2 hy rows of margin, kept below an eighth.
    block = max(_SUM_BLOCK_PIXELS // nx, 16 * hy, 16)
    for yb in range(y0, y1, block):
        _box_sums_block(image, out, z0, z1, yb, min(yb + block, y1), hz, hy, hx, offset,
                        variance)


@njit(nogil=True, cache=True)
def _box_sums_rows(image, out, z0, z1, y0, y1, hy, hx, offset, variance):
    """Box sums within each plane, each output row written as soon as it is complete."""
    nz, ny, nx = image.shape
    count = float((2 * hy + 1) * (2 * hx + 1))
    width = 2 * hx + 1
    length = nx + 2 * hx + 1
    p1 = np.empty(length)
    p2 = np.empty(length)
    pad = np.empty(length)
    col1 = np.empty(nx)
    col2 = np.empty(nx)
    for z in range(z0, z1):
        col1[:] = 0.0
        col2[:] = 0.0
        for yy in range(y0 - hy, y1 + hy):
            _prefix(image[z, _clamp(yy, ny)], p1, p2, hx, offset, variance, pad)
            _add_difference(col1, p1, width, 1.0)
            if variance:
                _add_difference(col2, p2, width, 1.0)
            y = yy - hy
            if y < y0:
                continue
            _finish(col1, col2, out[z, y], count, offset, variance)
            _prefix(image[z, _clamp(y - hy, ny)], p1, p2, hx, offset, variance, pad)
            _add_difference(col1, p1, width, -1.0)
            if variance:
                _add_difference(col2, p2, width, -1.0)


@njit(nogil=True, cache=True)
def _add_plane(image, q, ya, yb, s1, s2, offset, variance, weight):
    """``s1 += weight * (image[q, ya:yb] - offset)`` (its squares into ``s2``)."""
    nx = image.shape[2]
    for y in range(ya, yb):
        row = image[q, y]
        a = s1[y - ya]
        if variance:
            b = s2[y - ya]
            for i in range(nx):
                v = row[i] - offset
                a[i] += weight * v
                b[i] += weight * (v * v)
        else:
            for i in range(nx):
                a[i] += weight * (row[i] - offset)


@njit(nogil=True, cache=True)
def _slide_plane(image, qin, qout, ya, yb, s1, s2, offset, variance):
    """Plane ``qin`` enters the sums of :func:`_add_plane` and plane ``qout`` leaves them."""
    nx = image.shape[2]
    for y in range(ya, yb):
        rin = image[qin, y]
        rout = image[qout, y]
        a = s1[y - ya]
        if variance:
            b = s2[y - ya]
            for i in range(nx):
                u = rin[i] - offset
                w = rout[i] - offset
                a[i] += u - w
                b[i] += u * u - w * w
        else:
            for i in range(nx):
                a[i] += (rin[i] - offset) - (rout[i] - offset)


@njit(nogil=True, cache=True)
def _add_rows(col, s, rin, rout):
    """``col += s[rin] - s[rout]`` (``rout < 0``: ``col += s[rin]``)."""
    add = s[rin]
    if rout < 0:
        for i in range(col.shape[0]):
            col[i] += add[i]
        return
    sub = s[rout]
    for i in range(col.shape[0]):
        col[i] += add[i] - sub[i]


@njit(nogil=True, cache=True)
def _row_box(col, box, hx, pad):
    """``box[x] = sum(col[x - hx : x + hx + 1])``, edges replicated.

    A sliding sum: no partial sum exceeds a window's (a prefix sum of these
    column sums, each of up to (2 hz + 1)(2 hy + 1) pixels, passed 2**53 on wide
    16-bit stacks, where integer sums must stay exact).
    """
    nx = col.shape[0]
    width = 2 * hx + 1
    _pad_row(col, pad, hx)
    total = 0.0
    for i in range(width):
        total += pad[i]
    # the differences between neighbour windows (vectorized), then their running sum
    entering = pad[width : width + nx - 1]
    leaving = pad[0 : nx - 1]
    steps = box[1:nx]
    for i in range(nx - 1):
        steps[i] = entering[i] - leaving[i]
    box[0] = total
    for i in range(1, nx):
        box[i] += box[i - 1]


@njit(nogil=True, cache=True)
def _box_sums_block(image, out, z0, z1, y0, y1, hz, hy, hx, offset, variance):
    """Box sums of rows ``y0:y1`` of planes ``z0:z1``, the planes summed first.

    ``s`` holds the sums over the box's planes of every row the block reads
    (rows ``y0 - hy:y1 + hy``, clamped): ``2 hz + 1`` planes added for the
    first output plane (edge planes once, weighted by their repeats), then one
    plane entering and one leaving per plane. Each output plane is then a
    running sum of rows of ``s`` and of columns: its cost does not grow with
    the box, but for the first plane's ``2 hz`` additions of whole planes.
    """
    nz, ny, nx = image.shape
    count = float((2 * hz + 1) * (2 * hy + 1) * (2 * hx + 1))
    ya, yb = max(0, y0 - hy), min(ny, y1 + hy)
    rows = yb - ya
    shape2 = (rows, nx) if variance else (1, 1)
    s1 = np.zeros((rows, nx))
    s2 = np.zeros(shape2)
    col1 = np.empty(nx)
    col2 = np.empty(nx)
    box1 = np.empty(nx)
    box2 = np.empty(nx)
    pad = np.empty(nx + 2 * hx)
    low, high = z0 - hz, z0 + hz
    for q in range(max(low, 0), min(high, nz - 1) + 1):
        weight = 1.0
        if q == 0:
            weight += max(0, -low)  # planes before the first replicate it
        if q == nz - 1:
            weight += max(0, high - (nz - 1))
        _add_plane(image, q, ya, yb, s1, s2, offset, variance, weight)
    for z in range(z0, z1):
        if z > z0:
            qin, qout = min(z + hz, nz - 1), max(z - hz - 1, 0)
            if qin != qout:
                _slide_plane(image, qin, qout, ya, yb, s1, s2, offset, variance)
        col1[:] = 0.0
        col2[:] = 0.0
        for y in range(y0 - hy, y0 + hy + 1):
            _add_rows(col1, s1, _clamp(y, ny) - ya, -1)
            if variance:
                _add_rows(col2, s2, _clamp(y, ny) - ya, -1)
        for y in range(y0, y1):
            if y > y0:
                rin, rout = _clamp(y + hy, ny) - ya, _clamp(y - hy - 1, ny) - ya
                _add_rows(col1, s1, rin, rout)
                if variance:
                    _add_rows(col2, s2, rin, rout)
            _row_box(col1, box1, hx, pad)
            if variance:
                _row_box(col2, box2, hx, pad)
            _finish(box1, box2, out[z, y], count, offset, variance)


# --- median -------------------------------------------------------------------------


@njit(nogil=True, cache=True, inline="always")
def _previous(hist, coarse, m, shift, use_coarse):
    """Largest value below ``m`` present in the histogram."""
    v = m - 1
    if not use_coarse:
        while hist[v] == 0:
            v -= 1
        return v
    block_start = (v >> shift) << shift
    while v >= block_start:
        if hist[v]:
            return v
        v -= 1
    c = (block_start >> shift) - 1
    while coarse[c] == 0:
        c -= 1
    v = ((c + 1) << shift) - 1
    while hist[v] == 0:
        v -= 1
    return v


@njit(nogil=True, cache=True, inline="always")
def _next(hist, coarse, m, shift, use_coarse):
    """Smallest value above ``m`` present in the histogram."""
    v = m + 1
    if not use_coarse:
        while hist[v] == 0:
            v += 1
        return v
    block_end = ((m >> shift) + 1) << shift
    while v < block_end:
        if hist[v]:
            return v
        v += 1
    c = block_end >> shift
    while coarse[c] == 0:
        c += 1
    v = c << shift
    while hist[v] == 0:
        v += 1
    return v


@njit(nogil=True, cache=True)
def _ring_stride(nx, wmax, itemsize):
    """Elements per ring row: a padded row rounded up to an odd number of cache lines.

    Image rows are often a power of two bytes apart, so that the run ends read
    at one step fall in the same few cache sets and evict each other; an odd
    number of 64-byte lines spreads consecutive ring rows over all sets.
    """
    per_line = 64 // itemsize
    lines = (nx + 2 * wmax + per_line - 1) // per_line
    return (lines | 1) * per_line


@njit(nogil=True, cache=True)
def _slide_dense(ring, lo, hi, hist, k, m, below, orow):
    """Slide along one output row from the median ``m`` of column 0 (``below`` values under it).

    Run ``j`` loses ``ring[lo[j] + x]`` and gains ``ring[hi[j] + x]`` at
    column ``x``. Indices are unsigned, which spares numba's negative-index
    wraparound on every ring and histogram access (a third of the time); runs
    go in pairs with two counts, so that consecutive runs do not wait on one
    another; updates are branch-free because with noisy data ``old != new`` is
    unpredictable.
    """
    nrows = lo.shape[0]
    one = np.uint64(1)
    med = np.uint64(m)
    for x in range(1, orow.shape[0]):
        ux = np.uint64(x)
        below_a = 0
        below_b = 0
        j = 0
        while j + 1 < nrows:  # not range(0, n, 2): numba compiles that loop slower
            old_a = np.uint64(ring[lo[j] + ux])
            new_a = np.uint64(ring[hi[j] + ux])
            old_b = np.uint64(ring[lo[j + 1] + ux])
            new_b = np.uint64(ring[hi[j + 1] + ux])
            hist[old_a] -= 1
            hist[new_a] += 1
            hist[old_b] -= 1
            hist[new_b] += 1
            below_a += (new_a < med) - (old_a < med)
            below_b += (new_b < med) - (old_b < med)
            j += 2
        if j < nrows:
            old_a = np.uint64(ring[lo[j] + ux])
            new_a = np.uint64(ring[hi[j] + ux])
            hist[old_a] -= 1
            hist[new_a] += 1
            below_a += (new_a < med) - (old_a < med)
        below += below_a + below_b
        # One loop per direction, empty bins included (they add 0): a nested
        # loop skipping them mispredicts its exit at every occupied bin.
        while below > k:
            med -= one
            below -= hist[med]
        while below + hist[med] <= k:
            below += hist[med]
            med += one
        orow[x] = med


@njit(nogil=True, cache=True)
def _slide_coarse(ring, lo, hi, hist, coarse, shift, k, m, below, orow):
    """:func:`_slide_dense` keeping the block counts ``coarse`` and walking through them."""
    for x in range(1, orow.shape[0]):
        for j in range(lo.shape[0]):
            old = np.int64(ring[np.int64(lo[j]) + x])
            new = np.int64(ring[np.int64(hi[j]) + x])
            hist[old] -= 1
            hist[new] += 1
            coarse[old >> shift] -= 1
            coarse[new >> shift] += 1
            below += (new < m) - (old < m)
        while below > k:
            m = _previous(hist, coarse, m, shift, True)
            below -= hist[m]
        while below + hist[m] <= k:
            below += hist[m]
            m = _next(hist, coarse, m, shift, True)
        orow[x] = m


@njit(nogil=True, cache=True)
def rows_median(image, out, z0, z1, y0, y1, slice_dz, slice_start, row_dy, row_w, nbits,
                use_coarse):
    """Median over the runs of a footprint for values below ``2**nbits`` (integers >= 0).

    Huang's sliding histogram with a two-level histogram: moving one column
    along a row removes the left end and adds the right end of every run, and
    the median moves from its previous value, skipping empty blocks of
    ``2**(nbits // 2)`` values when ``use_coarse`` (sparse histograms: few
    pixels spread over many values); dense histograms skip the block counts,
    whose updates would cost more than the short walks they save.

    The rows the runs read are copied, edge-padded, into a ring buffer (one
    new row per plane offset and output row): the sliding loop then needs no
    clamping, and the ring's stride keeps the run ends in distinct cache sets
    (see :func:`_ring_stride`), which is most of the cost for large
    footprints.
    """
    nz, ny, nx = image.shape
    nrows = row_w.shape[0]
    nslices = slice_dz.shape[0]
    hy, wmax = _slice_reach(row_dy, row_w, 0, nrows)
    nslot = 2 * hy + 1
    stride = _ring_stride(nx, wmax, image.itemsize)
    # one spare element before the first row: lo = centre - 1 - w, the offset
    # of a run's left end, is then never negative (the offsets are unsigned)
    ring = np.empty(nslices * nslot * stride + 1, image.dtype)
    shift = nbits // 2
    hist = np.zeros(1 << nbits, np.int32)
    coarse = np.zeros(((1 << nbits) >> shift) + 1, np.int32)
    total = 0
    for j in range(nrows):
        total += 2 * row_w[j] + 1
    k = total // 2
    slot_base = np.empty(nrows, np.int64)  # ring row of each run's slice
    for s in range(nslices):
        for j in range(slice_start[s], slice_start[s + 1]):
            slot_base[j] = s * nslot
    lo = np.empty(nrows, np.uint64)
    hi = np.empty(nrows, np.uint64)
    for z in range(z0, z1):
        for y in range(y0, y1):
            # rows y - hy .. y + hy of every plane offset are in the ring
            for yy in range(y - hy if y == y0 else y + hy, y + hy + 1):
                slot = (yy - y0 + hy) % nslot
                for s in range(nslices):
                    start = (s * nslot + slot) * stride + 1
                    _pad_row(image[_clamp(z + slice_dz[s], nz), _clamp(yy, ny)],
                             ring[start : start + nx + 2 * wmax], wmax)
            for j in range(nrows):
                w = row_w[j]
                slot = (y + row_dy[j] - y0 + hy) % nslot
                centre = (slot_base[j] + slot) * stride + 1 + wmax
                for i in range(centre - w, centre + w + 1):
                    v = np.int64(ring[i])
                    hist[v] += 1
                    if use_coarse:
                        coarse[v >> shift] += 1
                lo[j] = centre - 1 - w
                hi[j] = centre + w
            m = 0
            below = 0
            while below + hist[m] <= k:
                below += hist[m]
                m = _next(hist, coarse, m, shift, use_coarse)
            orow = out[z, y]
            orow[0] = m
            if use_coarse:
                _slide_coarse(ring, lo, hi, hist, coarse, shift, k, m, below, orow)
            else:
                _slide_dense(ring, lo, hi, hist, k, m, below, orow)
            for j in range(nrows):  # empty the histogram for the next row
                for i in range(np.int64(lo[j]) + nx, np.int64(hi[j]) + nx):
                    v = np.int64(ring[i])
                    hist[v] -= 1
                    if use_coarse:
                        coarse[v >> shift] -= 1


@njit(nogil=True, cache=True)
def rows_median_network(image, out, z0, z1, y0, y1, slice_dz, slice_start, row_dy, row_w):
    """Median over a small footprint by sorting whole rows of values at once.

    The footprint's values at every column of an output row are gathered into
    one row each, then sorted by an odd-even transposition network of
    element-wise minima and maxima (which vectorize); the middle row is the
    median. Cost grows with the square of the footprint size: for small ones.
    """
    nz, ny, nx = image.shape
    total = 0
    for j in range(row_w.shape[0]):
        total += 2 * row_w[j] + 1
    values = np.empty((total, nx), image.dtype)
    for z in range(z0, z1):
        for y in range(y0, y1):
            t = 0
            for s in range(slice_dz.shape[0]):
                p = _clamp(z + slice_dz[s], nz)
                for j in range(slice_start[s], slice_start[s + 1]):
                    row = image[p, _clamp(y + row_dy[j], ny)]
                    w = row_w[j]
                    for dx in range(-w, w + 1):
                        dst = values[t]
                        lo = min(max(-dx, 0), nx)
                        hi = max(min(nx - dx, nx), lo)
                        for x in range(lo):
                            dst[x] = row[0]
                        src = row[lo + dx : hi + dx]
                        inner = dst[lo:hi]
                        for x in range(hi - lo):
                            inner[x] = src[x]
                        for x in range(hi, nx):
                            dst[x] = row[nx - 1]
                        t += 1
            for sweep in range(total):
                for i in range(sweep % 2, total - 1, 2):
                    a = values[i]
                    b = values[i + 1]
                    for x in range(nx):
                        low = min(a[x], b[x])
                        b[x] = max(a[x], b[x])
                        a[x] = low
            orow = out[z, y]
            middle = values[total // 2]
            for x in range(nx):
                orow[x] = middle[x]
