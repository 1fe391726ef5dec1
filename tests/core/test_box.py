"""The box minimum/maximum (van Herk along each axis) equals scipy's filters.

Half-sizes larger than the axes, a single plane or row, and splits between
threads at other places than the default.
"""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_bioimg.ops import _box, _kernels


@pytest.mark.parametrize("shape", [(5, 17, 23), (1, 30, 31), (3, 1, 9)])
@pytest.mark.parametrize("threads", [1, 3])
def test_box_extreme_equals_scipy(shape, threads, monkeypatch):
    monkeypatch.setattr(_kernels, "n_threads", lambda: threads)
    monkeypatch.setattr(_kernels, "_PARALLEL_MIN_PIXELS", 0)
    image = np.random.default_rng(2).integers(0, 1000, shape).astype(np.uint16)
    for half in [(0, 0, 0), (1, 1, 1), (2, 0, 3), (6, 9, 25)]:
        size = [2 * h + 1 for h in half]
        for is_max, scipy_filter in [(True, ndi.maximum_filter), (False, ndi.minimum_filter)]:
            out = np.empty_like(image)
            _box.box_extreme(image, out, *half, is_max)
            np.testing.assert_array_equal(out, scipy_filter(image, size=size, mode="nearest"))
