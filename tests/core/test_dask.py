"""Chunked (dask) runs of the fast paths equal the in-memory results, chunk borders included."""

import numpy as np
import pytest
import skimage

from napari_bioimg import ops
from napari_bioimg.ops.threshold import AUTOMATIC_METHODS
from napari_bioimg.pipeline import Pipeline

da = pytest.importorskip("dask.array")

NEIGHBOURHOOD = ["mean", "variance", "minimum", "maximum", "median", "white_top_hat",
                 "black_top_hat"]
BINARY = ["binary_erosion", "binary_dilation", "binary_opening", "binary_closing"]


@pytest.fixture(scope="module")
def volume():
    rng = np.random.default_rng(7)
    data = rng.poisson(80, (14, 40, 43)).astype(np.uint16)
    data[4:10, 10:30, 8:35] += 200
    return data


def run_both(name, data, chunks, spacing=None, **parameters):
    pipeline = Pipeline()
    pipeline.add(name, **parameters)
    lazy = pipeline.run_dask(da.from_array(data, chunks=chunks), spacing)
    assert lazy.npartitions > 1
    return lazy.compute(), ops.get_operation(name)(data, spacing=spacing, **parameters)


@pytest.mark.parametrize("name", NEIGHBOURHOOD)
@pytest.mark.parametrize("footprint", ["ball", "box"])
@pytest.mark.parametrize(("spacing", "radius"), [(None, 2.0), ((2.0, 0.6, 0.6), 1.5),
                                                 ((1.0, 1.0), 3.0)])
def test_filters_chunked_equal_in_memory(volume, name, footprint, spacing, radius):
    computed, expected = run_both(name, volume, (5, 13, 17), spacing, radius=radius,
                                  footprint=footprint)
    assert computed.dtype == expected.dtype
    if name == "variance":  # sums are shifted by each chunk's own mean
        np.testing.assert_allclose(computed, expected, rtol=1e-5, atol=1e-2)
    else:
        np.testing.assert_array_equal(computed, expected)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("footprint", ["ball", "box"])
def test_binary_chunked_equal_in_memory(volume, name, footprint):
    mask = volume > 150
    computed, expected = run_both(name, mask, (4, 11, 12), (2.0, 1.0, 1.0), radius=2.5,
                                  footprint=footprint)
    np.testing.assert_array_equal(computed, expected)


def test_chunk_borders_are_where_a_naive_run_differs(volume):
    """Without the halo, results differ exactly at chunk borders: the test can see them."""
    chunks = (5, 13, 17)
    computed, expected = run_both("median", volume, chunks, radius=2.0)
    naive = da.from_array(volume, chunks=chunks).map_blocks(
        lambda block: ops.median(block, radius=2.0), dtype=volume.dtype).compute()
    assert not np.array_equal(naive, expected)
    np.testing.assert_array_equal(computed, expected)


def test_2d_image_and_halo_wider_than_chunks():
    image = np.random.default_rng(8).integers(0, 4000, (90, 70)).astype(np.uint16)
    for name in ("median", "maximum", "mean"):
        computed, expected = run_both(name, image, (20, 15), radius=12.0)
        np.testing.assert_array_equal(computed, expected)


@pytest.mark.parametrize("method", ["otsu", "yen", "isodata", "minimum", "triangle"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_threshold_from_a_chunked_histogram(volume, method, dtype):
    image = volume.astype(dtype) / 3
    computed, expected = run_both("threshold", image, (5, 13, 17), method=method)
    np.testing.assert_array_equal(computed, expected)


@pytest.mark.parametrize("method", AUTOMATIC_METHODS)
def test_integer_threshold_from_a_chunked_histogram(volume, method):
    """Every method reads the summed histogram of integer data (li, mean too)."""
    computed, expected = run_both("threshold", volume, (5, 13, 17), method=method)
    np.testing.assert_array_equal(computed, expected)


def test_float_threshold_errors_match_in_memory():
    pipeline = Pipeline()
    pipeline.add("threshold", method="otsu")
    image = np.full((4, 8, 8), 3.0)
    with pytest.raises(ValueError, match="constant"):
        pipeline.run_dask(da.from_array(image, chunks=2)).compute()
    image[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="every finite pixel is 3"):
        pipeline.run_dask(da.from_array(image, chunks=2)).compute()
    with pytest.raises(ValueError, match="no finite value"):
        pipeline.run_dask(da.from_array(np.full((4, 8, 8), np.nan), chunks=2)).compute()
    # (numpy's bare "Too many bins for data range", and Li's NaN, before)
    image[0, 0, 0] = 3.0 + 2**-51
    with pytest.raises(ValueError, match="too close together"):
        pipeline.run_dask(da.from_array(image, chunks=2)).compute()
    # (subnormal values: the bin centres rounded alike in memory and chunk by chunk; 2765
    # foreground pixels chunk by chunk against 2768 in memory, review 93)
    tiny = ((skimage.data.camera()[::8, ::8] / 255 + 0.1) * 1e-42).astype(np.float32)
    otsu = Pipeline()
    otsu.add("threshold", method="otsu")
    np.testing.assert_array_equal(otsu.run_dask(da.from_array(tiny, chunks=16)).compute(),
                                  otsu.run(tiny))
    # (values spanning beyond float32: binned scaled by a power of two, as in memory)
    wide = np.array([-3e38, 3e38, 0, 1] * 64, np.float32).reshape(4, 8, 8)
    for method in ("li", "otsu", "minimum"):
        chunked = Pipeline()
        chunked.add("threshold", method=method)
        np.testing.assert_array_equal(chunked.run_dask(da.from_array(wide, chunks=2)).compute(),
                                      chunked.run(wide))


@pytest.mark.parametrize("method", AUTOMATIC_METHODS)
def test_float_threshold_of_the_finite_pixels_chunk_by_chunk(method):
    """NaN and infinities were refused; now left out, as in memory (and Fiji): the
    range and the 256 bins are those of the finite values, also of chunks holding none."""
    from skimage import filters as skfilters

    rng = np.random.default_rng(5)
    image = (rng.random((6, 40, 45)) * 100).astype(np.float32)
    image[2:5, 10:30, 10:30] += 80
    image[:, :9] = np.nan  # (whole chunks without a finite value)
    image[0, 20, :3] = np.inf, -np.inf, np.nan
    expected = float(getattr(skfilters, f"threshold_{method}")(image[np.isfinite(image)]))
    computed, in_memory = run_both("threshold", image, (3, 9, 16), method=method)
    np.testing.assert_array_equal(in_memory, image > expected)
    np.testing.assert_array_equal(computed, in_memory)
