"""Top-hats with the subtraction done where the opening/closing is computed.

The second extreme filter of the opening (closing) writes a block of output
rows, and the same thread replaces them by their difference with the image
while they are in cache: no whole-image pass for the subtraction, on all
threads.
"""

import numpy as np
from numba import njit

from . import _kernels as kernels
from ._box import box_extreme
from ._neighbourhood import _as_3d, _is_box, _reach3, local_extreme

__all__ = ["top_hat"]

# Output rows per call of the extreme kernel: each call warms its ring with the
# footprint's half-height of rows, as the kernel's own row blocks do.
_BLOCK_ROWS = 64


@njit(nogil=True, cache=True)
def _difference_row(orow, brow, white, limit):
    """``orow = brow - orow`` (``white``) or ``orow - brow``, never negative.

    ``limit > 0`` (signed integers): the exact difference saturates at it
    instead of wrapping around.
    """
    nx = orow.shape[0]
    if limit > 0:
        for i in range(nx):
            a = np.int64(brow[i])
            b = np.int64(orow[i])
            d = a - b if white else b - a
            orow[i] = d if d < limit else limit
    elif white:
        for i in range(nx):
            orow[i] = brow[i] - orow[i]
    else:
        for i in range(nx):
            orow[i] = orow[i] - brow[i]


@njit(nogil=True, cache=True)
def _rows_extreme_difference(image, out, z0, z1, y0, y1, slice_dz, slice_start, row_dy,
                             row_w, slice_mirror, is_max, base, white, limit):
    """:func:`._kernels.rows_extreme` of ``image``, then the difference with ``base``."""
    for z in range(z0, z1):
        for yb in range(y0, y1, _BLOCK_ROWS):
            ye = min(yb + _BLOCK_ROWS, y1)
            kernels.rows_extreme(image, out, z, z + 1, yb, ye, slice_dz, slice_start, row_dy,
                                 row_w, slice_mirror, is_max)
            for y in range(yb, ye):
                _difference_row(out[z, y], base[z, y], white, limit)


@njit(nogil=True, cache=True)
def _difference(base, out, z0, z1, y0, y1, white, limit):
    for z in range(z0, z1):
        for y in range(y0, y1):
            _difference_row(out[z, y], base[z, y], white, limit)


def top_hat(block: np.ndarray, footprint: np.ndarray, white: bool) -> np.ndarray:
    """White (image minus opening) or black (closing minus image) top-hat of one block.

    Parameters
    ----------
    block : numpy.ndarray
        One 2D or 3D block, any real dtype or bool.
    footprint : numpy.ndarray of bool
        From :func:`._footprint.make_footprint`.
    white : bool

    Returns
    -------
    numpy.ndarray
        In the block's dtype; signed integer differences saturate at the
        dtype's maximum, bool is ``larger & ~smaller``.
    """
    first, second = ("min", "max") if white else ("max", "min")
    inner = local_extreme(block, footprint, first)
    work = _as_3d(block.view(np.uint8) if block.dtype == bool else block)
    inner3 = _as_3d(inner.view(np.uint8) if inner.dtype == bool else inner)
    out = np.empty_like(work)
    is_max = second == "max"
    limit = int(np.iinfo(work.dtype).max) if work.dtype.kind == "i" else 0
    if _is_box(footprint):
        box_extreme(inner3, out, *_reach3(footprint), is_max)
        kernels.run_parallel(_difference, work, out, white, limit)
    else:
        kernels.run_parallel(
            _rows_extreme_difference, inner3, out, *kernels.folded(kernels.row_table(footprint)),
            is_max, work, white, limit,
        )
    out = out.reshape(block.shape)
    return out.view(bool) if block.dtype == bool else out
