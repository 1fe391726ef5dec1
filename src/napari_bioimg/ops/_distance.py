"""Binary dilation and erosion by a ball through a thresholded distance transform.

The run decomposition of :mod:`._kernels` costs one row operation per run of
the ball, which grows as ``radius ** 2`` in 3D. Here the cost grows little
with the radius: a pixel belongs to the dilation when some foreground pixel
lies within the ball, i.e. when the squared distance to the nearest foreground
pixel is within ``radius ** 2``, and that distance is separable along the axes
(Felzenszwalb & Huttenlocher's lower envelope of parabolas, the linear-time
exact Euclidean distance transform). The three axes get three different
passes, each linear in the number of pixels:

1. along the planes (axis 0): the distance in planes to the nearest foreground
   pixel of the same line, by a forward and a backward sweep over whole planes
   (vectorized), capped just beyond the ball's reach;
2. along the columns (axis 2, contiguous): the lower envelope of the parabolas
   ``(dz * s0) ** 2 + (dx * s2) ** 2`` per row gives for every pixel the
   nearest ``(dz, dx)`` pair, and a table turns it into the half-width of the
   run that the ball covers along axis 1 there;
3. along the rows (axis 1): the union of those runs, ``max(w[y'] - |y - y'|)
   >= 0``, by doubling steps over whole rows (vectorized; ``log2`` of the
   reach of them).

A 2D image is one row per "plane" (``(ny, 1, nx)``): the sweeps run along its
rows, a table gives the half-width along the columns, and the union is taken
along the columns, with no envelope. What grows with the radius is the share
of pixels within reach of the foreground (parabolas in the envelope) and the
``log2(reach)`` union steps: on 64x512x512 masks at 20 % foreground, radius 20
costs about twice radius 1 (and a sixth of the run decomposition).

Exactness: the tables hold, for each offset, the test of
:func:`._footprint.make_footprint` evaluated with the same floating-point
operations in the same order (``((dz s0)^2 + (dy s1)^2) + (dx s2)^2 <= T``), and
offsets beyond the footprint's reach are excluded as there. The envelope picks
the nearest ``(dz, dx)`` per pixel; for isotropic spacing all its quantities
are small integers, exact in float64, and the crossings it compares (products
by a rounded ``1 / (2 k)``) are fractions of denominator at most ``2 nx``,
further apart than their rounding for rows shorter than about 10^5 pixels. With
anisotropic spacing two candidates whose distances agree to the last bits
could be ranked by rounding, which could only matter if that distance were
within rounding of the threshold, itself widened by a relative ``1e-9``.

Edges: pixels outside the image replicate the edge (``mode="nearest"``); for a
ball this is the same as taking the distance to the foreground inside the
image, which is what the passes compute.

The scans (:func:`ball_scan`, taken when they apply: every 2D ball, and 3D
balls whose squared offsets are small integer multiples of a power of two,
e.g. isotropic spacing or (2, 0.5, 0.5); reach at most 64) replace steps 2
and 3 by passes of vector operations over whole rows:

2. along the rows (axis 1, rows as vectors, 3D only): ``G = min_dy a[g(y + dy)]
   + b[dy]`` on uint16 integers (``a``, ``b``: the squared offsets along axes 0
   and 1 in units of that power of two), one pass per ``dy``, stopping when
   no later ``dy`` can lower the block of rows;
3. along the columns (axis 2): a pixel is in the dilation when ``G[x + dx] <=
   L[dx]`` for some ``dx``, ``L[dx]`` being the largest ``a + b`` with ``(a + b)
   + c[dx]`` within the threshold. :func:`_union_rows` counts the limits at
   least ``G`` (compares, four per vector pass: the half-width of the run the
   ball covers along the row from each pixel) and takes the union of those
   runs by ``log2`` doubling steps of byte maxima, flat in the radius but for
   the compares. In 2D, ``g`` itself against the largest row distance allowed
   at each ``dx``. A row with only a few pixels beyond ``L[0]`` (at radii
   that fill most of the image, most rows) has just those tested, each
   against its nearest neighbours first (:func:`_union_sparse`).

The integers make every sum exact, so the tests are those of
:func:`._footprint.make_footprint` bit for bit, for any radius (other 3D
spacings keep the envelope: their floating-point sums round).
"""

import functools

import numpy as np
from numba import njit

from . import _kernels as kernels
from ._footprint import _TOLERANCE, reach

__all__ = ["ball_binary", "ball_dilate", "ball_tables", "prefers_distance"]

# Plane distances are bytes, with 255 kept as a sentinel; half-widths are int16
# values that the doubling lowers by up to twice the reach.
_MAX_REACH = 253
# The number of runs whose cost in the run decomposition equals the distance
# path's (per dimension; measured on 2048x2048 and 64x512x512 masks at 20 %
# foreground, see benchmarks/results.md): balls with more runs take the distances.
_BREAK_EVEN_RUNS = {2: 28, 3: 150}
# The same for the scans (:func:`ball_scan`), where :func:`scan_tables` applies.
_SCAN_BREAK_EVEN_RUNS = {2: 5, 3: 20}
# Beyond this reach the scans' O(reach) passes along the columns (3D) give way to
# the envelope. It also bounds the row union's byte counts (half-width + 1, and the
# doubling shifts), which must stay below 255.
_SCAN_MAX_REACH = 64


def prefers_distance(footprint: np.ndarray, radius=None, spacing=None) -> bool:
    """Whether :func:`ball_binary` beats the run decomposition for this ball footprint.

    With ``radius`` and ``spacing`` (those of the footprint), balls that the
    scans take (:func:`scan_tables`) switch at their own number of runs.
    """
    if max(footprint.shape) // 2 > _MAX_REACH or footprint.ndim not in _BREAK_EVEN_RUNS:
        return False
    # The number of runs of kernels.row_table, without its Python loop over rows
    # (6 ms for a ball of radius 20).
    runs = int(np.count_nonzero(footprint.reshape(-1, footprint.shape[-1]).any(axis=1)))
    if runs <= min(_SCAN_BREAK_EVEN_RUNS[footprint.ndim], _BREAK_EVEN_RUNS[footprint.ndim]):
        return False  # small balls: no tables to build
    scans = radius is not None and scan_tables(radius, spacing) is not None
    return runs > (_SCAN_BREAK_EVEN_RUNS if scans else _BREAK_EVEN_RUNS)[footprint.ndim]


def ball_binary(mask: np.ndarray, radius: float, spacing, which: str, planes=None) -> np.ndarray:
    """Binary dilation (``which="max"``) or erosion (``"min"``) of a 2D or 3D mask.

    Parameters
    ----------
    mask : numpy.ndarray of bool
        One 2D or 3D block.
    radius : float
        In the units of ``spacing``.
    spacing : sequence of float
        One per axis of ``mask``.
    which : {"max", "min"}
    planes : tuple of int, optional
        ``(start, stop)``: compute only these planes of a 3D mask, the others
        are ``False`` (a preview of one plane; ignored for 2D).

    Returns
    -------
    numpy.ndarray of bool
        The same as the local maximum/minimum over ``make_footprint(radius,
        "ball", spacing)`` with edges replicated.
    """
    work = np.ascontiguousarray(mask).view(np.uint8)
    work3 = work.reshape(mask.shape[0], 1, mask.shape[1]) if mask.ndim == 2 else work
    out = np.empty_like(work3)
    # The kernels sweep their own margin of planes, so any range of planes works.
    scan = scan_tables(radius, spacing)
    if scan is not None:
        cap, a, b, limits, square, gcap = scan
        kernels.run_parallel(
            ball_scan,
            work3,
            out,
            cap,
            a,
            b,
            limits,
            union_thresholds(limits),
            square,
            gcap,
            mask.ndim == 2,
            which == "min",
            planes=planes if mask.ndim == 3 else None,
        )
    else:
        kernels.run_parallel(
            ball_dilate,
            work3,
            out,
            *ball_tables(radius, spacing),
            mask.ndim == 2,
            which == "min",
            planes=planes if mask.ndim == 3 else None,
        )
    return out.reshape(mask.shape).view(bool)


def ball_tables(radius: float, spacing) -> tuple[int, np.ndarray, np.ndarray, int]:
    """The plane cap, the envelope heights and the run half-widths of a ball.

    Parameters
    ----------
    radius : float
        In the units of ``spacing``.
    spacing : sequence of 2 or 3 float
        Pixel size along each axis. A 2D image goes to :func:`ball_dilate` as
        ``(ny, 1, nx)``: its rows are the planes.

    Returns
    -------
    cap : int
        ``reach + 1`` along the planes: a plane distance of ``cap`` means "no
        foreground within reach".
    heights : numpy.ndarray of float64, shape (cap + 1,)
        ``(dz * s0) ** 2 / s2 ** 2`` for ``dz < cap`` (the parabola heights in
        column units), ``inf`` at ``cap``.
    widths : numpy.ndarray of int16
        3D: shape ``(cap + 1, reach_x + 1)``, the half-width along the rows of
        the ball at plane offset ``dz`` and column offset ``dx``. 2D: shape
        ``(cap + 1, 1)``, the half-width along the columns at row offset
        ``dz``. ``-1`` where the ball has no pixel.
    spread : int
        The largest half-width that the last pass spreads.
    """
    reaches = reach(radius, spacing)
    steps = [float(s) for s in spacing]
    # The same expressions as make_footprint, so the same roundings.
    threshold = radius**2 * (1 + _TOLERANCE) ** 2
    squares = [(np.arange(e + 1) * s) ** 2 for e, s in zip(reaches, steps, strict=True)]
    cap = reaches[0] + 1
    heights = np.full(cap + 1, np.inf)
    heights[:cap] = squares[0] / (steps[-1] * steps[-1])
    # Inside is monotone along each offset, so counts give half-widths.
    if len(spacing) == 2:
        inside = (0 + squares[0][:, None]) + squares[1][None, :] <= threshold
        widths = np.full((cap + 1, 1), -1, np.int16)
        widths[:cap, 0] = inside.sum(axis=1) - 1
        return cap, heights, widths, reaches[1]
    a0, a1, a2 = squares
    inside = ((0 + a0[:, None, None]) + a1[None, :, None]) + a2[None, None, :] <= threshold
    widths = np.full((cap + 1, reaches[2] + 1), -1, np.int16)
    widths[:cap] = inside.sum(axis=1) - 1
    return cap, heights, widths, reaches[1]


@njit(nogil=True, cache=True)
def _sweep(plane, previous, run, cap, invert):
    """``run = 0`` on foreground, else ``min(previous + 1, cap)``, element-wise.

    ``plane`` holds 0/1 (a bool mask); bytes throughout, so that it vectorizes.
    """
    flip = np.uint8(invert)
    below = np.uint8(cap - 1)
    for i in range(run.shape[0]):
        step = np.uint8(min(previous[i], below) + np.uint8(1))
        run[i] = step if (plane[i] ^ flip) == 0 else np.uint8(0)


@njit(nogil=True, cache=True)
def _sweep_in_place(plane, run, cap, invert):
    """:func:`_sweep` with ``run`` as ``previous``.

    A loop of its own: given the same array twice, LLVM's check that the
    arrays do not overlap fails and :func:`_sweep` runs a byte at a time
    (15 times slower).
    """
    flip = np.uint8(invert)
    below = np.uint8(cap - 1)
    for i in range(run.shape[0]):
        step = np.uint8(min(run[i], below) + np.uint8(1))
        run[i] = step if (plane[i] ^ flip) == 0 else np.uint8(0)


@njit(nogil=True, cache=True)
def _sweeps(flat, forward, z0, z1, cap, invert):
    """The forward plane distances of planes ``z0:z1`` (into ``forward``), and the backward run.

    Sweeps the ``cap`` planes before ``z0`` first (a thread's margin: the
    distances need no more), and returns the backward run of the ``cap`` planes
    after ``z1``, which :func:`_sweep_nearest` then carries down from ``z1 - 1``.
    """
    nz = flat.shape[0]
    run = np.full(flat.shape[1], cap, np.uint8)
    for z in range(max(0, z0 - cap), z0):
        _sweep_in_place(flat[z], run, cap, invert)
    for z in range(z0, z1):
        _sweep(flat[z], run if z == z0 else forward[z - z0 - 1], forward[z - z0], cap, invert)
    run[:] = cap
    for z in range(min(nz, z1 + cap) - 1, z1 - 1, -1):
        _sweep_in_place(flat[z], run, cap, invert)
    return run


@njit(nogil=True, cache=True)
def _sweep_nearest(plane, run, nearest, cap, invert):
    """:func:`_sweep` of ``run`` in place, then ``nearest = min(nearest, run)``."""
    flip = np.uint8(invert)
    below = np.uint8(cap - 1)
    for i in range(run.shape[0]):
        step = np.uint8(min(run[i], below) + np.uint8(1))
        step = step if (plane[i] ^ flip) == 0 else np.uint8(0)
        run[i] = step
        nearest[i] = min(nearest[i], step)


@njit(nogil=True, cache=True)
def _candidates(dist, bound, cand):
    """Columns whose parabola can be the lowest away from its own column.

    Left of ``q`` the parabola at ``q - 1`` is at least as low whenever
    ``h[q - 1] <= h[q] + 1``, i.e. ``dist[q - 1] <= bound[dist[q]]`` (and right of
    ``q`` likewise): ``q`` is kept when a neighbour is higher than that. Plateaus
    and slopes are left out, without branches (their outcome is unpredictable).
    """
    nx = dist.shape[0]
    n = 0
    for q in range(nx):
        limit = bound[dist[q]]
        left = dist[q - 1] if q > 0 else 0
        right = dist[q + 1] if q + 1 < nx else 0
        cand[n] = q
        n += (left > limit) | (right > limit)
    return n


@njit(nogil=True, cache=True)
def _envelope_row(dist, heights, bound, widths, own, cap, half_inverse, cand, v, fv, zk, wrow):
    """Half-widths along axis 1 from the nearest ``(dz, dx)`` of each column.

    The lower envelope of the parabolas ``heights[dist[q]] + (x - q) ** 2``
    (Felzenszwalb & Huttenlocher) over the :func:`_candidates` gives the
    nearest ``(dz, dx)``, whose half-width the table holds; each column's own
    parabola enters through the final maximum with ``own[dist[x]]``.
    """
    nx = dist.shape[0]
    reach_x = widths.shape[1] - 1
    k = 0
    for c in range(_candidates(dist, bound, cand)):
        q = cand[c]
        fq = heights[dist[q]] + q * q
        s = -np.inf
        while k > 0:
            # 1 / (2 (q - v)) from a table: products are cheaper than divisions
            s = (fq - fv[k - 1]) * half_inverse[q - v[k - 1]]
            if s <= zk[k - 1]:
                k -= 1
                s = -np.inf
            else:
                break
        v[k] = q
        fv[k] = fq
        zk[k] = s
        k += 1
    zk[k] = np.inf
    x = 0
    for j in range(k):
        q = v[j]
        end = zk[j + 1]
        stop = nx if end >= nx - 1 else int(np.floor(end)) + 1
        if stop <= x:
            continue
        lo = min(max(x, q - reach_x), stop)
        hi = max(min(stop, q + reach_x + 1), lo)
        table = widths[dist[q]]
        for i in range(x, lo):
            wrow[i] = -1
        for i in range(lo, min(q, hi)):
            wrow[i] = table[q - i]
        for i in range(max(q, lo), hi):
            wrow[i] = table[i - q]
        for i in range(hi, stop):
            wrow[i] = -1
        x = stop
    for i in range(x, nx):
        wrow[i] = -1
    for i in range(nx):
        wrow[i] = max(wrow[i], own[dist[i]])


@njit(nogil=True, cache=True)
def _spread_step(src, dst, s):
    """``dst[i] = max(src[i], src[i - s] - s, src[i + s] - s)`` (terms inside the row).

    One step of the doubling of :func:`_spread`; written as loops over views
    indexed from 0 on int16 values so that they vectorize.
    """
    n = src.shape[0]
    shift = np.int16(s)
    if s >= n:
        dst[:] = src
        return
    m = n - s
    for i in range(min(s, m)):
        dst[i] = max(src[i], np.int16(src[i + s] - shift))
    if m > s:
        left = src[: m - s]
        centre = src[s:m]
        right = src[2 * s :]
        inner = dst[s:m]
        for i in range(m - s):
            inner[i] = max(centre[i], np.int16(max(left[i], right[i]) - shift))
    for i in range(max(s, m), n):
        dst[i] = max(src[i], np.int16(src[i - s] - shift))
    for i in range(m, s):
        dst[i] = src[i]


@njit(nogil=True, cache=True)
def _spread(w, tmp, reach):
    """``max(w[i'] - |i - i'|)`` for every ``i``, in ``w`` or ``tmp`` (returned).

    ``w`` holds half-widths (``-1``: none) along the axis of a contiguous
    1D array or, for a 2D array, along its first axis, whose rows are vectors:
    the union of the runs ``[i' - w[i'], i' + w[i']]``. Doubling: after the step
    of shift ``s`` every entry holds the maximum over ``|di| < 2 s``, and each
    term subtracts at least its distance, so none is overestimated:
    ``ceil(log2(reach + 1))`` vectorized steps. Only the sign of the result is
    exact: it tells whether ``i`` lies in a run.
    """
    s = 1
    src, dst = w, tmp
    while s <= reach:
        if w.ndim == 1:
            _spread_step(src, dst, s)
        else:
            _spread_rows_step(src, dst, s)
        src, dst = dst, src
        s *= 2
    return src


@njit(nogil=True, cache=True)
def _write(spread, orow, invert):
    for i in range(orow.shape[0]):
        orow[i] = (spread[i] >= 0) != invert


@njit(nogil=True, cache=True)
def _max_rows(centre, left, right, dst, shift):
    for i in range(dst.shape[0]):
        dst[i] = max(centre[i], np.int16(max(left[i], right[i]) - shift))


@njit(nogil=True, cache=True)
def _spread_rows_step(src, dst, s):
    """:func:`_spread_step` along the first axis of a 2D array, rows as vectors."""
    n = src.shape[0]
    shift = np.int16(s)
    for y in range(n):
        # A missing neighbour row is replaced by the centre row: max(c, c - s) = c.
        left = src[y - s] if y >= s else src[y]
        right = src[y + s] if y + s < n else src[y]
        _max_rows(src[y], left, right, dst[y], shift)


@njit(nogil=True, cache=True)
def ball_dilate(mask, out, z0, z1, y0, y1, cap, heights, widths, reach, planar, invert):
    """Dilate ``mask`` (``invert``: erode) by the ball of :func:`ball_tables`.

    Writes rows ``y0:y1`` of planes ``z0:z1`` of ``out`` (uint8 0/1). The plane
    distances only need ``cap`` planes either side, so threads sweep their own
    planes plus that margin and share nothing but the input. ``planar``: a 2D
    mask passed as ``(ny, 1, nx)`` with the tables of a 2D ball. With
    ``invert`` the complement is dilated and the result complemented: erosion.
    """
    nz, ny, nx = mask.shape
    flat = mask.reshape(nz, ny * nx)
    count = z1 - z0
    if y0 == 0 and y1 == ny:
        # The forward distances of a plane are read before its output is
        # written, so the output holds them; threads splitting the rows of a
        # plane would overwrite each other's, and keep their own.
        forward = out[z0:z1].reshape(count, ny * nx)
    else:
        forward = np.empty((count, ny * nx), np.uint8)
    run = _sweeps(flat, forward, z0, z1, cap, invert)
    wplane = np.empty((ny, nx), np.int16)
    tmp = np.empty((ny, nx), np.int16)
    v = np.empty(nx, np.int64)
    fv = np.empty(nx)
    zk = np.empty(nx + 1)
    half_inverse = np.empty(nx + 1)
    half_inverse[0] = 0.0
    for i in range(1, nx + 1):
        half_inverse[i] = 1.0 / (2.0 * i)
    cand = np.empty(nx, np.int64)
    own = widths[:, 0].copy()
    # bound[d]: the largest plane distance whose height is within 1 of d's.
    bound = np.empty(256, np.uint8)
    for d in range(256):
        bound[d] = 255
        if d < cap:
            e = d
            while e + 1 < cap and heights[e + 1] <= heights[d] + 1.0:
                e += 1
            bound[d] = e
    for z in range(z1 - 1, z0 - 1, -1):
        nearest = forward[z - z0]
        _sweep_nearest(flat[z], run, nearest, cap, invert)
        if planar:  # 2D as (ny, 1, nx): the planes were the rows, spread along the columns
            row = wplane[0]
            for x in range(nx):
                row[x] = own[nearest[x]]
            _write(_spread(row, tmp[0], reach), out[z, 0], invert)
            continue
        dist = nearest.reshape(ny, nx)
        for y in range(ny):
            _envelope_row(
                dist[y], heights, bound, widths, own, cap, half_inverse, cand, v, fv, zk, wplane[y]
            )
        spread = _spread(wplane, tmp, reach)
        for y in range(y0, y1):
            _write(spread[y], out[z, y], invert)


# --- scans ---------------------------------------------------------------------------
#
# The same plane distances, then passes over whole rows instead of the envelope
# (see the module docstring): O(reach) vector operations per row of the
# block's columns at worst (rows stop when no later one can lower them), and
# about reach / 128 per pixel along the rows (32 pixels per vector, 4 limits per
# pass).

def scan_tables(radius: float, spacing):
    """The tables of :func:`ball_scan` for a 2D or 3D ball, or None.

    Returns ``(cap, a, b, limits, square, gcap)``; ``cap`` is one more than
    the reach along axis 0 (the plane distances' cap). 3D: ``a[dz]``
    (``a[cap]``: a sentinel above every limit) and ``b[dy]`` are the squared
    offsets along axes 0 and 1, ``limits[dx]`` the largest sum ``a[dz] +
    b[dy]`` with ``(a[dz] + b[dy]) + a2[dx] <= T``, all uint16 integers in
    units of a power of two; ``square`` is ``k`` when ``a[dz] = min(k min(dz,
    gcap)^2, a[cap])`` in uint16 (then computed so, vectorized, where a table
    look-up goes one pixel at a time), else 0. 2D: ``limits[dx]`` (uint8) is
    the largest row distance ``dz`` with ``(0 + a0[dz]) + a1[dx] <= T``, the
    others are unused. None beyond :data:`_SCAN_MAX_REACH` and, in 3D, when
    some square is not such a small integer (e.g. spacing 0.7: the
    floating-point sums would round). Every comparison is that of
    :func:`._footprint.make_footprint`, in the same order, on the offsets that
    hold a pixel of its footprint.
    """
    return _scan_tables(float(radius), tuple(float(s) for s in spacing))


@functools.lru_cache(maxsize=32)
def _scan_tables(radius: float, spacing: tuple[float, ...]):
    """:func:`scan_tables`, built once per radius and spacing (shared: not to be modified)."""
    reaches = reach(radius, spacing)
    steps = [float(s) for s in spacing]
    threshold = radius**2 * (1 + _TOLERANCE) ** 2
    squares = [(np.arange(e + 1) * s) ** 2 for e, s in zip(reaches, steps, strict=True)]
    if max(reaches) > _SCAN_MAX_REACH:
        return None
    if len(spacing) == 2:
        a0, a1 = squares
        inside = (0 + a0[:, None]) + a1[None, :] <= threshold
        rx = int(np.flatnonzero(inside[0])[-1])
        limits = np.array([np.flatnonzero(inside[:, dx])[-1] for dx in range(rx + 1)], np.uint8)
        unused = np.zeros(1, np.uint16)
        return int(limits[0]) + 1, unused, unused, limits, np.uint16(0), np.uint8(0)
    a0, a1, a2 = squares
    sums = (0 + a0[:, None]) + a1[None, :]
    inside = sums[:, :, None] + a2[None, None, :] <= threshold
    rz = int(np.flatnonzero(inside[:, 0, 0])[-1])
    ry = int(np.flatnonzero(inside[0, :, 0])[-1])
    rx = int(np.flatnonzero(inside[0, 0, :])[-1])
    sums = sums[: rz + 1, : ry + 1]
    inside = inside[: rz + 1, : ry + 1, : rx + 1]
    limits = np.array([sums[inside[:, :, dx]].max() for dx in range(rx + 1)])
    a, b = a0[: rz + 1], a1[: ry + 1]
    unit = _integer_unit(np.concatenate([a, b, a2[: rx + 1]]))
    if unit is None or limits[0] / unit + 1 + b[-1] / unit >= 65535:
        return None
    # Every sum is an exact multiple of ``unit``: the same tests on integers.
    # Values above limits[0] fail every test: they are capped at top.
    top = limits[0] / unit + 1
    a = np.append(np.minimum(a / unit, top), top).astype(np.uint16)
    # a[g] = min(k g^2, top) by arithmetic when that holds for every g <= cap
    # (vectorized, where a table look-up goes one pixel at a time).
    # (gcap: the least g with k g^2 >= top, so that k min(g, gcap)^2 fits uint16).
    k = int(a[1]) if rz >= 1 else 0
    g = np.arange(rz + 2)
    gcap = int(np.ceil(np.sqrt(top / k))) if k else 0
    while k and k * gcap * gcap < top:
        gcap += 1
    square = (
        k
        if (
            k
            and k * gcap * gcap < 65536
            and gcap < 256
            and np.array_equal(np.minimum(k * g * g, int(top)), a)
        )
        else 0
    )
    return (
        rz + 1,
        a,
        (b / unit).astype(np.uint16),
        (limits / unit).astype(np.uint16),
        np.uint16(square),
        np.uint8(min(gcap, 255)),
    )


def _integer_unit(values: np.ndarray):
    """A power of two of which every value is a small integer multiple, or None."""
    for k in range(12):
        unit = 2.0**-k
        scaled = values / unit
        if np.all(scaled == np.floor(scaled)) and scaled.max() < 2**20:
            return unit
    return None


# The loops below run over views indexed from 0 on uint8/uint16 values without
# type promotion: numba then knows the indices are not negative, and LLVM
# vectorizes them (with offsets they would run one pixel at a time).


@njit(nogil=True, cache=True)
def _least(v):
    low = v[0]
    for i in range(v.shape[0]):
        low = min(low, v[i])
    return low


@njit(nogil=True, cache=True)
def _most(v):
    high = v[0]
    for i in range(v.shape[0]):
        high = max(high, v[i])
    return high


@njit(nogil=True, cache=True)
def _fill(dst, value):
    for i in range(dst.shape[0]):
        dst[i] = value


@njit(nogil=True, cache=True)
def _squares(g, dst, k, top, gcap):
    """``dst = min(k * min(g, gcap) ** 2, top)`` in uint16; returns its least value."""
    low = top
    for i in range(dst.shape[0]):
        v = np.uint16(min(g[i], gcap))
        value = min(np.uint16(np.uint16(v * v) * k), top)
        dst[i] = value
        low = min(low, value)
    return low


@njit(nogil=True, cache=True)
def _min_plus(src, dst, step):
    for i in range(dst.shape[0]):
        dst[i] = min(dst[i], np.uint16(src[i] + step))


@njit(nogil=True, cache=True)
def _min_plus_both(up, down, dst, step):
    """``dst = min(dst, min(up, down) + step)``; returns the largest value of ``dst``."""
    high = np.uint16(0)
    for i in range(dst.shape[0]):
        value = min(dst[i], np.uint16(min(up[i], down[i]) + step))
        dst[i] = value
        high = max(high, value)
    return high


@njit(nogil=True, cache=True)
def _count_below(g, t, dst, first):
    """``dst (+)= (g < t[0]) + (g < t[1]) + (g < t[2]) + (g < t[3])`` (``first``: ``=``).

    Four thresholds per pass: the count stays in a register between them.
    """
    t0, t1, t2, t3 = t[0], t[1], t[2], t[3]
    if first:
        for i in range(dst.shape[0]):
            v = g[i]
            dst[i] = np.uint8(np.uint8(v < t0) + np.uint8(v < t1)) + np.uint8(
                np.uint8(v < t2) + np.uint8(v < t3)
            )
    else:
        for i in range(dst.shape[0]):
            v = g[i]
            dst[i] += np.uint8(np.uint8(v < t0) + np.uint8(v < t1)) + np.uint8(
                np.uint8(v < t2) + np.uint8(v < t3)
            )


@njit(nogil=True, cache=True)
def _widen_both(centre, left, right, dst, s):
    """``dst = max(centre, max(left, right) -sat s)`` on bytes (saturating at 0)."""
    for i in range(dst.shape[0]):
        side = max(left[i], right[i])
        dst[i] = max(centre[i], np.uint8(max(side, s) - s))


@njit(nogil=True, cache=True)
def _widen(centre, side, dst, s):
    for i in range(dst.shape[0]):
        dst[i] = max(centre[i], np.uint8(max(side[i], s) - s))


@njit(nogil=True, cache=True)
def _widen_step(src, dst, s):
    """``dst[i] = max(src[i], src[i - s] -sat s, src[i + s] -sat s)`` (terms inside)."""
    n = src.shape[0]
    if s >= n:
        kernels.copy_row(src, dst)
        return
    m = n - s
    shift = np.uint8(s)
    k = min(s, m)
    _widen(src[:k], src[s : s + k], dst[:k], shift)
    if m > s:
        _widen_both(src[s:m], src[: m - s], src[2 * s :], dst[s:m], shift)
    low = max(s, m)
    if low < n:
        _widen(src[low:], src[low - s : n - s], dst[low:], shift)
    if m < s:
        kernels.copy_row(src[m:s], dst[m:s])


@njit(nogil=True, cache=True)
def _positive(src, dst, flip):
    for i in range(dst.shape[0]):
        dst[i] = np.uint8(src[i] > 0) ^ flip


def union_thresholds(limits: np.ndarray) -> np.ndarray:
    """The thresholds of :func:`_union_rows`: ``limits + 1``, zero-padded to fours."""
    below = np.zeros(-(-limits.shape[0] // 4) * 4, limits.dtype)
    below[: limits.shape[0]] = limits + 1
    return below


@njit(nogil=True, cache=True)
def _least_most(v):
    low = v[0]
    high = v[0]
    for i in range(v.shape[0]):
        low = min(low, v[i])
        high = max(high, v[i])
    return low, high


# Rows with up to ``nx // _GAP_SHARE`` pixels beyond the limits are resolved pixel by
# pixel, within a budget of ``nx * _GAP_COMPARES`` compares (beyond it, the row's union):
# about what the counts and doubling steps of the row would cost.
_GAP_SHARE = 32
_GAP_COMPARES = 0.125
# After a row that the pixel-by-pixel test gave up on, the next rows take the union
# without trying (rows alike follow each other; a try that gives up costs a pass).
_GAP_PAUSE = 16


@njit(nogil=True, cache=True)
def _at_least(g, first, dst):
    for i in range(g.shape[0]):
        dst[i] = np.uint8(g[i] >= first)


@njit(nogil=True, cache=True)
def _gaps(g, first, marks, positions):
    """Positions of ``g >= first`` into ``positions``; their number, or -1 past its length.

    ``g >= first`` as bytes into ``marks`` (vectorized), then read eight at a
    time: words of zeros (most) cost one predictable branch, the others are
    read without branches. ``marks`` holds ``len(g)`` rounded up to eight
    bytes, ``positions`` nine slots more than the gaps it takes (the last one
    is not touched).
    """
    nx = g.shape[0]
    words = (nx + 7) // 8
    _fill(marks[nx : words * 8], np.uint8(0))
    _at_least(g, first, marks[:nx])
    packed = marks[: words * 8].view(np.uint64)
    most = positions.shape[0] - 9
    n = 0
    for w in range(words):
        word = packed[w]
        if word == 0:
            continue
        if n > most:
            return -1
        for j in range(8):
            positions[n] = 8 * w + j
            n += np.int64((word >> np.uint64(8 * j)) & np.uint64(1))
    return n if n <= most else -1


@njit(nogil=True, cache=True)
def _below(g, first, dst, flip):
    for i in range(dst.shape[0]):
        dst[i] = np.uint8(g[i] < first) ^ flip


@njit(nogil=True, cache=True)
def _union_sparse(g, below, reach_x, orow, flip, positions, scratch):
    """:func:`_union_rows` of one row with few pixels at or above ``below[0]``, or False.

    Those pixels (*gaps*: no foreground within reach in their own column)
    are in when ``g[x +- dx] < below[dx]`` for some ``dx``, tested one by one
    (the nearest first); the others are in. Gives up (False, ``orow``
    untouched) when the row has more than ``len(positions) - 9`` gaps or they
    take more than :data:`_GAP_COMPARES` compares per pixel of the row.
    ``g`` is read whole before ``orow`` is written (they may share memory);
    ``scratch`` holds at least ``len(g) + 7`` bytes.
    """
    nx = g.shape[0]
    n = _gaps(g, below[0], scratch, positions)
    if n < 0:
        return False
    budget = int(nx * _GAP_COMPARES) + 8
    compares = 0
    for j in range(n):
        x = positions[j]
        hit = False
        dx = 1
        while dx <= reach_x:
            t = below[dx]
            if (x >= dx and g[x - dx] < t) or (x + dx < nx and g[x + dx] < t):
                hit = True
                break
            dx += 1
        compares += dx
        if compares > budget:
            return False
        # Marked in the positions (read back below): g is still needed.
        positions[j] = x if hit else -1 - x
    row = scratch[:nx]
    _below(g, below[0], row, flip)
    for j in range(n):
        x = positions[j]
        if x >= 0:
            row[x] = np.uint8(1) ^ flip
    kernels.copy_row(row, orow)
    return True


@njit(nogil=True, cache=True)
def _union_rows(G, below, reach_x, buf, tmp, orows, flip, order, positions):
    """``orows[k, x] = exists dx: G[k, x + dx] <= limits[|dx|]`` (inside the row), ``^ flip``.

    Flat in the reach: the number of limits at least ``G`` is the half-width
    ``w`` (plus one) of the run that the ball covers along the row from there
    (``limits`` decrease; ``below`` holds them plus one, see
    :func:`union_thresholds`, four compared per vector pass), and the union
    of the runs ``[x - w, x + w]`` is ``max(w[x'] - |x - x'|) >= 0``, by
    ``ceil(log2(reach_x + 1))`` doubling steps of saturating byte maxima (as
    :func:`_spread`). The rows are laid end to end in ``buf`` with
    ``reach_x + 1`` zeros between them, so that one pass serves them all.
    Rows all within ``limits[0]`` (all in) or all beyond it (none in) are
    written directly, rows with few pixels beyond it by :func:`_union_sparse`
    (at radii that cover most of the image, most rows: no count and no
    doubling). ``buf`` and ``tmp`` hold at least ``len(G) * (nx + reach_x +
    1) + 8`` bytes, ``order`` (int64) ``len(G)`` values, ``positions`` (int64)
    ``nx // _GAP_SHARE + 9``, its last value the rows still to pass over
    (:data:`_GAP_PAUSE`; 0 at first), carried from block to block (the caller's
    buffers: no allocation per block of rows).
    """
    n, nx = G.shape
    if nx == 0:
        return
    stride = nx + reach_x + 1
    first = below[0]
    m = 0
    for k in range(n):
        low, high = _least_most(G[k])
        if high < first or low >= first:
            _fill(orows[k], np.uint8(high < first) ^ flip)
            continue
        if positions[-1] > 0:
            positions[-1] -= 1
        elif _union_sparse(G[k], below, reach_x, orows[k], flip, positions, tmp[m * stride :]):
            continue
        else:
            positions[-1] = _GAP_PAUSE
        row = buf[m * stride : m * stride + nx]
        for j in range(below.shape[0] // 4):
            _count_below(G[k], below[4 * j : 4 * j + 4], row, j == 0)
        _fill(buf[m * stride + nx : (m + 1) * stride], np.uint8(0))
        order[m] = k
        m += 1
    if m == 0:
        return
    src, dst = buf[: m * stride], tmp[: m * stride]
    s = 1
    while s <= reach_x:
        _widen_step(src, dst, s)
        src, dst = dst, src
        s *= 2
    for j in range(m):
        _positive(src[j * stride : j * stride + nx], orows[order[j]], flip)


# Rows of a plane whose column minima are taken together: the passes then run
# over contiguous blocks of this many rows (in L1), and a block stops as a whole.
_BLOCK_ROWS = 4


@njit(nogil=True, cache=True)
def _block_least(least, start, stop):
    low = least[start]
    for y in range(start, stop):
        low = min(low, least[y])
    return low


@njit(nogil=True, cache=True)
def _scan_columns(A, least, b, yb0, yb1, G):
    """``G[y] = min_dy A[y + dy] + b[|dy|]`` (rows inside) for the rows ``yb0:yb1``.

    uint16, one vector pass per ``dy`` over the block's rows at once.
    ``least[y]`` is the least value of row ``y`` of ``A``: rows whose least
    value plus ``b[dy]`` is not below the block's largest value cannot lower
    it and are skipped, and the block stops once its largest value is at most
    the next ``b`` (later terms cannot be lower).
    """
    ny, nx = A.shape
    r = b.shape[0] - 1
    flat = A.reshape(ny * nx)
    block = G.reshape(ny * nx)[yb0 * nx : yb1 * nx]
    kernels.copy_row(flat[yb0 * nx : yb1 * nx], block)
    high = _most(block)
    for d in range(1, r + 1):
        bd = b[d]
        if high <= bd:
            break
        start = max(yb0, d)  # rows y >= d read row y - d
        up = start < yb1 and _block_least(least, start - d, yb1 - d) + bd < high
        stop = min(yb1, ny - d)  # rows y < ny - d read row y + d
        down = stop > yb0 and _block_least(least, yb0 + d, stop + d) + bd < high
        if up and down and start == yb0 and stop == yb1:
            high = _min_plus_both(
                flat[(yb0 - d) * nx : (yb1 - d) * nx],
                flat[(yb0 + d) * nx : (yb1 + d) * nx],
                block,
                bd,
            )
            continue
        if up:
            _min_plus(flat[(start - d) * nx : (yb1 - d) * nx], block[(start - yb0) * nx :], bd)
        if down:
            _min_plus(flat[(yb0 + d) * nx : (stop + d) * nx], block[: (stop - yb0) * nx], bd)
        if up or down:
            high = _most(block)


@njit(nogil=True, cache=True)
def _scan_plane(
    g, a, b, limits, below, square, gcap, oplane, y0, y1, invert, A, least, G, buf, tmp, order,
    positions,
):
    """Rows ``y0:y1`` of one output plane from its plane distances ``g``."""
    ny, nx = g.shape
    r = b.shape[0] - 1
    for y in range(max(0, y0 - r), min(ny, y1 + r)):
        gy = g[y]
        Ay = A[y]
        if square:
            least[y] = _squares(gy, Ay, square, a[a.shape[0] - 1], gcap)
        else:
            for x in range(nx):
                Ay[x] = a[gy[x]]
            least[y] = _least(Ay)
    # g is all read: the output (which may share its memory) can be written.
    flip = np.uint8(invert)
    for yb0 in range(y0, y1, _BLOCK_ROWS):
        yb1 = min(yb0 + _BLOCK_ROWS, y1)
        if _block_least(least, max(0, yb0 - r), min(ny, yb1 + r)) > limits[0]:
            # No value within reach passes any limit (e.g. dilating an empty mask).
            _fill(oplane[yb0:yb1].reshape((yb1 - yb0) * nx), flip)
            continue
        _scan_columns(A, least, b, yb0, yb1, G)
        rows = G[yb0:yb1]
        _union_rows(
            rows, below, limits.shape[0] - 1, buf, tmp, oplane[yb0:yb1], flip, order, positions
        )


@njit(nogil=True, cache=True)
def ball_scan(
    mask, out, z0, z1, y0, y1, cap, a, b, limits, below, square, gcap, planar, invert
):
    """Dilate ``mask`` (``invert``: erode) by the ball of :func:`scan_tables`.

    The plane distances as in :func:`ball_dilate`, then per plane the scans of
    :func:`_scan_plane` (3D) or, with ``planar`` (a 2D mask as ``(ny, 1,
    nx)``), the union of :func:`_union_rows` on the row distances, by blocks of
    rows. ``below``: ``union_thresholds(limits)``.
    """
    nz, ny, nx = mask.shape
    flat = mask.reshape(nz, ny * nx)
    count = z1 - z0
    if y0 == 0 and y1 == ny:
        forward = out[z0:z1].reshape(count, ny * nx)
    else:
        forward = np.empty((count, ny * nx), np.uint8)
    run = _sweeps(flat, forward, z0, z1, cap, invert)
    reach_x = limits.shape[0] - 1
    buf = np.empty(_BLOCK_ROWS * (nx + reach_x + 1) + 8, np.uint8)
    tmp = np.empty_like(buf)
    order = np.empty(_BLOCK_ROWS, np.int64)
    positions = np.zeros(nx // _GAP_SHARE + 9, np.int64)
    flip = np.uint8(invert)
    if planar:  # 2D as (ny, 1, nx): the planes were the rows, the union along them
        stop = z1
        while stop > z0:
            start = max(z0, stop - _BLOCK_ROWS)
            for z in range(stop - 1, start - 1, -1):
                _sweep_nearest(flat[z], run, forward[z - z0], cap, invert)
            # The block's distances are read (into buf) before its output is written.
            rows = forward[start - z0 : stop - z0]
            _union_rows(
                rows, below, reach_x, buf, tmp, out[start:stop, 0], flip, order, positions
            )
            stop = start
        return
    A = np.empty((ny, nx), np.uint16)
    least = np.empty(ny, np.uint16)
    G = np.empty((ny, nx), np.uint16)
    for z in range(z1 - 1, z0 - 1, -1):
        nearest = forward[z - z0]
        _sweep_nearest(flat[z], run, nearest, cap, invert)
        # The plane's distances are all read (into A) before its output is written.
        _scan_plane(
            nearest.reshape(ny, nx),
            a,
            b,
            limits,
            below,
            square,
            gcap,
            out[z],
            y0,
            y1,
            invert,
            A,
            least,
            G,
            buf,
            tmp,
            order,
            positions,
        )
