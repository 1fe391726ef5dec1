"""Minimum and maximum over a box in time (nearly) independent of its size (numba).

Along the planes and the rows (whole rows as vectors), van Herk / Gil-Werman
running extremes: a line padded by ``h`` edge values on each side is cut into
blocks of ``2 h + 1``; a forward running extreme restarting at each block start
and a backward one restarting at each block end give the extreme of any window
as the extreme of two values. Along the columns (within a row), where running
extremes would go one pixel at a time, a sparse table instead: ``log2(2 h + 1)
+ 1`` vector passes over the row (see :func:`_line`).

Each pixel is filtered once per axis. Rows and columns of a plane are filtered
together (threads split the planes), then the planes (threads split the rows).
The earlier kernel filtered every plane of a thread's output and its ``hz``
planes of margin in each row block, so a 64-plane stack split between two
threads filtered up to 2.3 times as many planes at ``hz = 20`` as at ``hz = 1``;
here the only growth with the size is the ``2 h`` padding of each line and the
passes along the rows.
"""

import numpy as np
from numba import njit

from . import _kernels as kernels

__all__ = ["box_extreme"]

@njit(nogil=True, cache=True, inline="always")
def _clamp(i, n):
    return 0 if i < 0 else (n - 1 if i >= n else i)


@njit(nogil=True, cache=True)
def _combine(dst, a, b, is_max):
    """``dst = max(a, b)`` (``min`` unless ``is_max``), element-wise over 1D arrays."""
    if is_max:
        for i in range(dst.shape[0]):
            dst[i] = max(a[i], b[i])
    else:
        for i in range(dst.shape[0]):
            dst[i] = min(a[i], b[i])


@njit(nogil=True, cache=True)
def _accumulate(dst, src, is_max):
    """``dst = max(dst, src)`` (``min`` unless ``is_max``) in place.

    Not ``_combine(dst, dst, src)``: with its output also an input, LLVM's
    check that they do not overlap fails and the loop runs an element at a time.
    """
    if is_max:
        for i in range(dst.shape[0]):
            dst[i] = max(dst[i], src[i])
    else:
        for i in range(dst.shape[0]):
            dst[i] = min(dst[i], src[i])


@njit(nogil=True, cache=True)
def _line(row, out_row, h, pad, g, hh, is_max):
    """Running extreme of width ``2 h + 1`` along one contiguous row.

    Doubling (a sparse table): extremes of windows of 2, 4, ... ``w`` pixels,
    ``w`` the largest power of two within ``2 h + 1``, each from two of the
    previous width; the window ``[x, x + 2 h]`` of the padded row is then
    covered by the two of width ``w`` that start at its ends. Every pass is a
    vector operation over the row (running extremes along a row go one pixel
    at a time): ``log2(2 h + 1) + 1`` passes. ``pad``, ``g`` and ``hh`` hold
    ``nx + 2 h`` values.
    """
    nx = row.shape[0]
    if h == 0:
        kernels.copy_row(row, out_row)
        return
    size = 2 * h + 1
    kernels._pad_row(row, pad, h)
    n = nx + 2 * h
    src = pad
    w = 1
    while 2 * w <= size:
        # dst[i]: the extreme of the padded row over [i, i + 2 w); g and hh alternate
        dst = g if src is not g else hh
        n -= w
        _combine(dst[:n], src[:n], src[w : w + n], is_max)
        src = dst
        w *= 2
    _combine(out_row, src[:nx], src[size - w : size - w + nx], is_max)


@njit(nogil=True, cache=True)
def _vectors(source, y, first, count, h, g, hh, is_max):
    """Forward and backward block extremes over the rows ``source[clamp(first + r), y]``.

    The vectors are the rows ``y`` of the planes of ``source`` (edges
    replicated), ``r`` running over ``count + 2 h`` padded positions; the
    result for output ``r`` is then ``extreme(hh[r], g[r + 2 h])``: the window
    ``[r, r + 2 h]`` holds one block start ``s``, ``hh[r]`` covers ``[r, s)`` and
    ``g[r + 2 h]`` covers ``[s, r + 2 h]``. Starting the blocks at ``2 h (mod
    2 h + 1)`` computes ``g`` only where it is read (``count`` positions) and
    ``hh`` on at most ``2 h`` more: ``2 count + 2 h`` vectors instead of
    ``2 count + 4 h``.
    """
    n = source.shape[0]
    size = 2 * h + 1
    length = count + 2 * h
    for start in range(2 * h, length, size):
        kernels.copy_row(source[_clamp(first + start, n), y], g[start])
        for r in range(start + 1, min(start + size, length)):
            _combine(g[r], g[r - 1], source[_clamp(first + r, n), y], is_max)
    for start in range(-1, count, size):
        stop = min(start + size, length)
        kernels.copy_row(source[_clamp(first + stop - 1, n), y], hh[stop - 1])
        for r in range(stop - 2, max(start, 0) - 1, -1):
            _combine(hh[r], hh[r + 1], source[_clamp(first + r, n), y], is_max)


@njit(nogil=True, cache=True)
def _planes(image, out, z0, z1, y0, y1, hy, hx, is_max):
    """Extreme over rows and columns of rows ``y0:y1`` of planes ``z0:z1``.

    The columns by :func:`_line`, then the rows by van Herk / Gil-Werman
    streamed block by block (blocks of ``2 hy + 1`` filtered rows starting at
    padded row ``2 hy``, as in :func:`_vectors`): each block's forward
    extreme is carried in one row and combined with the backward extremes of
    the block before, which is all that is kept, so the buffers hold two
    blocks (in cache, about one image row per unit of ``hy``) and only a
    thread's first ``2 hy`` rows are filtered as margin. (Blocks of at least
    128 output rows, each filtering its own ``2 hy`` rows of margin, left the
    cache and filtered 16 % more rows at ``hy = 20``.)
    """
    nz, ny, nx = image.shape
    pad = np.empty(nx + 2 * hx, image.dtype)
    g1 = np.empty(nx + 2 * hx, image.dtype)
    h1 = np.empty(nx + 2 * hx, image.dtype)
    if hy == 0:
        for z in range(z0, z1):
            for y in range(y0, y1):
                _line(image[z, y], out[z, y], hx, pad, g1, h1, is_max)
        return
    size = 2 * hy + 1
    rows = np.empty((size, nx), image.dtype)  # the current block, filtered along the columns
    back = np.empty((size, nx), image.dtype)  # backward extremes of the block before
    run = np.empty(nx, image.dtype)  # forward extreme within the current block
    length = y1 - y0 + 2 * hy  # padded rows: padded row r is row clamp(y0 - hy + r)
    for z in range(z0, z1):
        # Block 0 is the partial block [0, 2 hy); block k >= 1 starts at 2 hy + (k - 1) size.
        # Output j (row y0 + j) is the extreme of padded rows [j, j + 2 hy], which hold one
        # block start b: the backward extreme of the block before at j (over [j, b)) and
        # the forward extreme at j + 2 hy (over [b, j + 2 hy]).
        previous = 0
        start = 0
        stop = 2 * hy
        while start < length:
            for i in range(stop - start):
                _line(image[z, _clamp(y0 - hy + start + i, ny)], rows[i], hx, pad, g1, h1,
                      is_max)
            if start > 0:
                kernels.copy_row(rows[0], run)
                for i in range(stop - start):
                    if i > 0:
                        _accumulate(run, rows[i], is_max)
                    j = start + i - 2 * hy
                    if j == start:  # the window is this whole block
                        kernels.copy_row(run, out[z, y0 + j])
                    else:
                        _combine(out[z, y0 + j], back[j - previous], run, is_max)
            last = stop - start - 1
            kernels.copy_row(rows[last], back[last])
            for i in range(last - 1, -1, -1):
                _combine(back[i], back[i + 1], rows[i], is_max)
            previous = start
            start = stop
            stop = min(start + size, length)


@njit(nogil=True, cache=True)
def _columns(image, out, y0, y1, hz, is_max):
    """Extreme along the planes of rows ``y0:y1`` (every plane); ``out`` may be ``image``."""
    nz, ny, nx = image.shape
    length = nz + 2 * hz
    g = np.empty((length, nx), image.dtype)
    hh = np.empty((length, nx), image.dtype)
    for y in range(y0, y1):
        _vectors(image, y, -hz, nz, hz, g, hh, is_max)
        for z in range(nz):
            _combine(out[z, y], hh[z], g[z + 2 * hz], is_max)


def box_extreme(image3: np.ndarray, out3: np.ndarray, hz: int, hy: int, hx: int,
                is_max: bool) -> None:
    """Minimum or maximum over the box of half-sizes ``(hz, hy, hx)`` (edges replicate).

    Parameters
    ----------
    image3, out3 : numpy.ndarray
        C-contiguous ``(planes, rows, columns)`` arrays of one native dtype.
    hz, hy, hx : int
        Half-sizes of the box.
    is_max : bool
        Maximum, else minimum.
    """
    kernels.run_parallel(_planes, image3, out3, hy, hx, is_max)
    if hz == 0:
        return
    # In place: each row of planes is read whole into the block extremes before
    # it is written, and threads own disjoint rows.
    ny = image3.shape[1]
    threads = kernels.n_threads()
    if threads == 1 or image3.size < kernels._PARALLEL_MIN_PIXELS:
        _columns(out3, out3, 0, ny, hz, is_max)
        return
    bounds = np.linspace(0, ny, min(threads, ny) + 1).astype(int)
    pool = kernels.thread_pool(threads)
    futures = [pool.submit(_columns, out3, out3, int(bounds[i]), int(bounds[i + 1]), hz,
                           is_max) for i in range(len(bounds) - 1)]
    for future in futures:
        future.result()
