"""The sliding-histogram median at radius >= 5 equals scipy's median filter.

Radius 5 is past the sorting network, so every case takes the histogram kernel
(its ring of padded rows, dense and block-count walks) on images small enough
that the footprint reaches over every edge; the work is split between threads
at other places than a plain call does.
"""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_bioimg import ops
from napari_bioimg.ops import _kernels
from napari_bioimg.ops._footprint import make_footprint


def _images(shape):
    rng = np.random.default_rng(5)
    yield rng.integers(0, 256, shape).astype(np.uint8)
    yield rng.poisson(100, shape).astype(np.uint16) + 50 * (rng.random(shape) > 0.7)  # dense
    yield rng.integers(0, 65536, shape).astype(np.uint16)  # sparse: block counts
    yield (rng.integers(0, 300, shape) / 7).astype(np.float32)  # ranks


@pytest.mark.parametrize(
    ("shape", "spacing"), [((70, 37), (1.0, 0.8)), ((8, 15, 19), (2.0, 1.0, 1.0))]
)
@pytest.mark.parametrize("footprint", ["ball", "box"])
def test_histogram_median_equals_scipy(shape, spacing, footprint, monkeypatch):
    monkeypatch.setattr(_kernels, "n_threads", lambda: 3)
    monkeypatch.setattr(_kernels, "_PARALLEL_MIN_PIXELS", 0)
    radius = 5.0
    fp = make_footprint(radius, footprint, spacing)
    for image in _images(shape):
        expected = ndi.median_filter(image, footprint=fp, mode="nearest")
        result = ops.median(image, radius=radius, footprint=footprint, spacing=spacing)
        assert result.dtype == image.dtype
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_signed_images_spanning_more_than_half_their_range(dtype):
    """Offsets from the minimum past the dtype's maximum (int8: -100 to 100) stay exact."""
    info = np.iinfo(dtype)
    low, high = (-100, 100) if dtype == np.int8 else (-30000, 30000)
    image = np.random.default_rng(3).integers(low, high, (20, 23), endpoint=True).astype(dtype)
    image[0, 0], image[-1, -1] = max(low, info.min), min(high, info.max)
    fp = make_footprint(5.0, "ball", (1.0, 1.0))
    expected = ndi.median_filter(image, footprint=fp, mode="nearest")
    np.testing.assert_array_equal(ops.median(image, radius=5.0), expected)


def _sorted_median(image, fp):
    """The middle of the sorted window values, edges repeated: no float rounding."""
    reach = [n // 2 for n in fp.shape]
    padded = np.pad(image, [(r, r) for r in reach], mode="edge")
    out = np.empty_like(image)
    for y, x in np.ndindex(image.shape):
        window = padded[y : y + fp.shape[0], x : x + fp.shape[1]][fp]
        out[y, x] = np.sort(window)[window.size // 2]
    return out


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
@pytest.mark.parametrize(  # ranks in the histogram, or (> 2**16 values) in scipy's median
    ("shape", "distinct"), [((24, 25), 300), ((300, 300), 2**30)]
)
def test_64_bit_integers_beyond_float64_precision(dtype, shape, distinct):
    """scipy's median rounds int64 through float64: a value that is not in the image."""
    rng = np.random.default_rng(4)
    steps = rng.integers(0, distinct, shape).astype(dtype)
    image = steps * dtype(2**40) + dtype(2**62 + 1)  # neighbours 2**40 apart, odd values
    image[0, 0] = dtype(2**62 + 3)
    fp = make_footprint(5.0, "ball", (1.0, 1.0))
    result = ops.median(image, radius=5.0)
    assert result.dtype == image.dtype
    assert distinct < 2**16 or np.unique(image).size > 2**16
    np.testing.assert_array_equal(result, _sorted_median(image, fp))
