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

# Rows per block of the plane pass (at least; more for tall boxes).
_BLOCK_ROWS = 128


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

    Blocks of rows bound the buffers (a 2048-row plane on one thread would need
    three times its size); each block also filters ``2 hy`` rows of margin, so
    blocks grow with ``hy`` to keep that below an eighth.
    """
    nz, ny, nx = image.shape
    block = min(y1 - y0, max(_BLOCK_ROWS, 16 * hy))
    length = block + 2 * hy
    rows = np.empty((length, 1, nx), image.dtype)
    g = np.empty((length, nx), image.dtype)
    hh = np.empty((length, nx), image.dtype)
    pad = np.empty(nx + 2 * hx, image.dtype)
    g1 = np.empty(nx + 2 * hx, image.dtype)
    h1 = np.empty(nx + 2 * hx, image.dtype)
    for z in range(z0, z1):
        for yb in range(y0, y1, block):
            count = min(block, y1 - yb)
            for r in range(count + 2 * hy):
                _line(image[z, _clamp(yb - hy + r, ny)], rows[r, 0], hx, pad, g1, h1, is_max)
            if hy == 0:
                for y in range(count):
                    kernels.copy_row(rows[y, 0], out[z, yb + y])
                continue
            _vectors(rows, 0, 0, count, hy, g, hh, is_max)
            for y in range(count):
                _combine(out[z, yb + y], hh[y], g[y + 2 * hy], is_max)


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
