"""Minimum and maximum over a box in time (nearly) independent of its size (numba).

Along the planes and the rows (whole rows as vectors), van Herk / Gil-Werman
running extremes: a line is cut into blocks of ``2 h + 1``; a forward running
extreme restarting at each block start and a backward one restarting at each
block end give the extreme of any window as the extreme of two values (edges
replicated: windows clipped to the line, see the note above :func:`_planes`).
Along the columns (within a row), where running extremes would go one pixel
at a time, a sparse table instead: ``log4(2 h + 1) + 1`` vector passes over
rows laid end to end (see :func:`_lines`).

Each pixel is filtered once per axis. Rows and columns of a plane are filtered
together, streamed block by block (threads split the planes), then the planes
(threads split the rows). What grows with the size is the sparse table's
passes (one at radius 1, three at 20) and the ``h`` rows either side of a
thread's share of rows.
"""

import numpy as np
from numba import njit

from . import _kernels as kernels

__all__ = ["box_extreme"]

# Rows filtered along the columns at once (end to end in the buffers).
_BATCH_ROWS = 32


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
def _combine3(dst, a, b, c, is_max):
    if is_max:
        for i in range(dst.shape[0]):
            dst[i] = max(max(a[i], b[i]), c[i])
    else:
        for i in range(dst.shape[0]):
            dst[i] = min(min(a[i], b[i]), c[i])


@njit(nogil=True, cache=True)
def _combine4(dst, a, b, c, d, is_max):
    if is_max:
        for i in range(dst.shape[0]):
            dst[i] = max(max(a[i], b[i]), max(c[i], d[i]))
    else:
        for i in range(dst.shape[0]):
            dst[i] = min(min(a[i], b[i]), min(c[i], d[i]))


@njit(nogil=True, cache=True)
def _lines(image, z, first, count, dst, h, pad, g, hh, is_max):
    """Running extremes of width ``2 h + 1`` along the rows ``image[z, first:first + count]``.

    Into ``dst[0:count, 0]``. A sparse table by fours: extremes of windows
    of 4, 16, ... ``w`` pixels, each from four of the previous width, while
    ``4 w <= 2 h + 1``; the window ``[x, x + 2 h]`` of the padded row is then
    covered by the two to four windows of width ``w`` that start at ``x``,
    ``x + w``, ... and end at its end. Every pass is a vector operation
    (running extremes along a row go one pixel at a time): ``log4(2 h + 1)``
    passes and the last (radius 1: one pass; 20: three; by twos two and six).
    The padded rows lie end to end in ``pad``, ``g`` and ``hh`` (at least
    ``count * (nx + 2 h)`` values), so that each pass is one loop over them
    all: the values it leaves wrong at the end of a row (windows running into
    the next) are beyond those the later passes read. On rows of 512 a call
    per row and pass cost as much as the passes.
    """
    nx = image.shape[2]
    if h == 0:
        for i in range(count):
            kernels.copy_row(image[z, first + i], dst[i, 0])
        return
    size = 2 * h + 1
    stride = nx + 2 * h
    for i in range(count):
        kernels._pad_row(image[z, first + i], pad[i * stride : (i + 1) * stride], h)
    n = count * stride
    src = pad
    w = 1
    while 4 * w <= size:
        # target[i]: the extreme over [i, i + 4 w); g and hh alternate
        target = g if src is not g else hh
        n -= 3 * w
        _combine4(target[:n], src[:n], src[w : w + n], src[2 * w : 2 * w + n],
                  src[3 * w : 3 * w + n], is_max)
        src = target
        w *= 4
    # [x, x + 2 h] is covered by the windows of width w at x, x + w, ... and the one
    # ending at its end, at x + last: two to four of them (w < size < 4 w).
    parts = (size + w - 1) // w
    last = size - w
    for i in range(count):
        row = src[i * stride : i * stride + last + nx]
        if parts == 2:
            _combine(dst[i, 0], row[:nx], row[last : last + nx], is_max)
        elif parts == 3:
            _combine3(dst[i, 0], row[:nx], row[w : w + nx], row[last : last + nx], is_max)
        else:
            _combine4(dst[i, 0], row[:nx], row[w : w + nx], row[2 * w : 2 * w + nx],
                      row[last : last + nx], is_max)


@njit(nogil=True, cache=True)
def _backward(source, y, start, stop, back, is_max):
    """``back[i]`` = the extreme of the rows ``source[i:stop, y]``, for ``start <= i < stop``.

    (Rows taken as ``source[i, y]`` of the C-contiguous array: a view such as
    ``source[:, y]`` is typed as strided and its loops do not vectorize.)
    """
    kernels.copy_row(source[stop - 1, y], back[stop - 1])
    for i in range(stop - 2, start - 1, -1):
        _combine(back[i], back[i + 1], source[i, y], is_max)


# Across rows and planes, van Herk / Gil-Werman on whole rows as vectors, without
# padding: with edges replicated, the window of output ``k`` is ``[a, b] = [max(0, k - h),
# min(n - 1, k + h)]`` (the replicated values add nothing), at most ``2 h + 1`` long. The
# lines are cut into blocks of ``2 h + 1`` from their first row; ``fwd[b]`` is the extreme
# from ``b``'s block start to ``b``, ``back[a]`` from ``a`` to its block's end. A window
# across a block start is ``extreme(back[a], fwd[b])``; a window within one block starts
# at its start (``fwd[b]``) or, at the end of the line, ends at its end (``back[a]``).
# Padding the lines by ``h`` replicated rows instead filtered ``2 h`` more rows per line:
# 30 % more at ``h = 20`` along 64 planes.


@njit(nogil=True, cache=True)
def _planes(image, out, z0, z1, y0, y1, hy, hx, is_max):
    """Extreme over rows and columns of rows ``y0:y1`` of planes ``z0:z1``.

    The columns by :func:`_lines`, then the rows streamed block by block (see
    above): the rows of a block are filtered along the columns into a buffer,
    their backward extremes computed, and the forward extreme carried in one
    row, so the buffers hold two blocks (in cache) and a thread filters only
    the ``hy`` rows either side of its own. (Blocks of at least 128 output
    rows, each filtering its own rows of margin, left the cache and filtered
    16 % more rows at ``hy = 20``.)
    """
    nz, ny, nx = image.shape
    size = 2 * hy + 1
    batch = min(size, _BATCH_ROWS) if hy else _BATCH_ROWS
    pad = np.empty(batch * (nx + 2 * hx), image.dtype)
    g1 = np.empty_like(pad)
    h1 = np.empty_like(pad)
    if hy == 0:
        for z in range(z0, z1):
            for y in range(y0, y1, batch):
                count = min(batch, y1 - y)
                _lines(image, z, y, count, out[z, y : y + count].reshape(count, 1, nx), hx, pad,
                       g1, h1, is_max)
        return
    rows = np.empty((size, 1, nx), image.dtype)  # the current block, filtered along the columns
    back = np.empty((size, nx), image.dtype)  # its backward extremes
    before = np.empty((size, nx), image.dtype)  # those of the block before
    run = np.empty(nx, image.dtype)  # the forward extreme within the current block
    first, end = max(0, y0 - hy), min(ny, y1 + hy)  # the rows the windows read
    for z in range(z0, z1):
        previous = first
        for start in range(first, end, size):
            stop = min(start + size, end)
            for i in range(0, stop - start, batch):
                count = min(batch, stop - start - i)
                _lines(image, z, start + i, count, rows[i:], hx, pad, g1, h1, is_max)
            _backward(rows, 0, 0, stop - start, back, is_max)
            for b in range(start, stop):
                if b == start:
                    kernels.copy_row(rows[0, 0], run)
                else:
                    _accumulate(run, rows[b - start, 0], is_max)
                # The outputs whose window ends at b: k = b - hy, and at the last row
                # every k within hy of it.
                low = b - hy if b < ny - 1 else max(ny - 1 - hy, 0)
                for k in range(max(low, y0), min(b - hy + 1 if b < ny - 1 else ny, y1)):
                    a = max(0, k - hy)
                    if a < start:
                        _combine(out[z, k], before[a - previous], run, is_max)
                    elif a == start:
                        kernels.copy_row(run, out[z, k])
                    else:  # within the line's last block, to its end
                        kernels.copy_row(back[a - start], out[z, k])
            rows, back, before = rows, before, back
            previous = start


@njit(nogil=True, cache=True)
def _columns(image, out, y0, y1, hz, is_max):
    """Extreme along the planes of rows ``y0:y1`` (every plane); ``out`` may be ``image``.

    Each row's line across the planes is read whole into its forward and
    backward block extremes (see above) before it is written.
    """
    nz, ny, nx = image.shape
    size = 2 * hz + 1
    fwd = np.empty((nz, nx), image.dtype)
    back = np.empty((nz, nx), image.dtype)
    for y in range(y0, y1):
        for start in range(0, nz, size):
            stop = min(start + size, nz)
            kernels.copy_row(image[start, y], fwd[start])
            for r in range(start + 1, stop):
                _combine(fwd[r], fwd[r - 1], image[r, y], is_max)
            _backward(image, y, start, stop, back, is_max)
        for z in range(nz):
            a, b = max(0, z - hz), min(nz - 1, z + hz)
            if a // size != b // size:
                _combine(out[z, y], back[a], fwd[b], is_max)
            elif a % size == 0:
                kernels.copy_row(fwd[b], out[z, y])
            else:
                kernels.copy_row(back[a], out[z, y])


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
    # With edges replicated a half-size of n - 1 already covers the whole axis; larger
    # ones only grow the buffers (32 rows of nx + 2 hx values: helper-95).
    nz, ny, nx = image3.shape
    hz, hy, hx = min(hz, max(nz - 1, 0)), min(hy, max(ny - 1, 0)), min(hx, max(nx - 1, 0))
    kernels.run_parallel(_planes, image3, out3, hy, hx, is_max)
    if hz == 0:
        return
    # In place: each row of planes is read whole into the block extremes before
    # it is written, and threads own disjoint rows.
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
