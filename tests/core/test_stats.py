import numpy as np
import pytest

from napari_bioimg import ops


def test_histogram_equals_numpy(blobs):
    counts, edges = ops.histogram(blobs, bins=64)
    expected, expected_edges = np.histogram(blobs, bins=64, range=(blobs.min(), blobs.max()))
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_allclose(edges, expected_edges)
    assert counts.sum() == blobs.size


def test_integer_histogram_has_one_bin_per_value():
    image = np.array([[1, 2], [2, 4]], np.uint8)
    counts, edges = ops.histogram(image, bins=256)
    np.testing.assert_array_equal(counts, [1, 2, 0, 1])
    np.testing.assert_allclose(edges, [0.5, 1.5, 2.5, 3.5, 4.5])
    # equal to numpy's bins of width 1 around each value
    expected, _ = np.histogram(image, bins=4, range=(0.5, 4.5))
    np.testing.assert_array_equal(counts, expected)


def test_one_bin_per_value_also_beyond_float_precision():
    """int64 values from 2**53 on: numpy failed ("Too many bins for data range")."""
    image = np.array([[2**53, 2**53 + 1], [2**53 + 3, 2**53 + 3]], np.int64)
    counts, edges = ops.histogram(image)
    np.testing.assert_array_equal(counts, [1, 1, 0, 2])
    assert edges.size == 5
    # signed values whose span exceeds their dtype (int8 -100..100 wrapped)
    for values in ([-100, 100], [-128, 127]):
        image = np.array([values], np.int8)
        counts, edges = ops.histogram(image)
        assert counts.sum() == 2 and counts[0] == counts[-1] == 1
        assert edges[0] == values[0] - 0.5 and edges[-1] == values[1] + 0.5
    wide = np.array([[-3, 2**62]], np.int64)  # a wide span: the usual 256 bins
    counts, _ = ops.histogram(wide)
    assert counts.size == 256 and counts.sum() == 2 and counts[0] == counts[-1] == 1


def test_256_bins_of_64_bit_values_past_2_to_the_53():
    """A span wider than the bins, past 2**53: numpy failed ("Too many bins")."""
    offsets = np.arange(1000).reshape(20, 50)
    expected, expected_edges = np.histogram(offsets, 256)
    for image, first in ((offsets + 2**62, 2**62),
                         (offsets.astype(np.uint64) + np.uint64(2**64 - 1000), 2**64 - 1000)):
        counts, edges = ops.histogram(image)
        np.testing.assert_array_equal(counts, expected)
        np.testing.assert_allclose(edges, expected_edges + float(first), rtol=1e-15)


def test_histogram_of_float64_values_spanning_more_than_float64_holds():
    image = np.array([[-1.7e308, 0.0, 1.7e308, 1.6e308]])
    counts, edges = ops.histogram(image)
    expected, _ = np.histogram(image / 1e300, 256, range=(-1.7e8, 1.7e8))  # scaled by hand
    np.testing.assert_array_equal(counts, expected)
    assert counts.sum() == 4 and counts[0] == counts[128] == counts[-1] == 1
    assert edges[0] == -1.7e308 and edges[-1] == 1.7e308


def test_histogram_ignores_nan():
    counts, _ = ops.histogram(np.array([[0.0, np.nan], [1.0, np.inf]]), bins=2)
    assert counts.sum() == 2


def test_percentile_range_equals_numpy(banana):
    low, high = ops.percentile_range(banana, lower=0, upper=95)
    assert (low, high) == pytest.approx(tuple(np.percentile(banana, [0, 95])))
    with pytest.raises(ValueError, match="upper"):
        ops.percentile_range(banana, lower=5, upper=120)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.float32])
def test_percentiles_of_values_far_apart_do_not_wrap(dtype):
    """numpy interpolates in the values' type: between -20000 and 20000 in int16 the
    difference wrapped (a median of 32768), as for int8 ±100 and float32 ±3e38."""
    info = np.iinfo(dtype) if np.dtype(dtype).kind == "i" else np.finfo(dtype)
    far = int(info.max * 0.8) if np.dtype(dtype).kind == "i" else float(info.max) * 0.8
    image = np.full((10, 10), -far, dtype)
    image[:5] = far
    expected = np.percentile(image.astype(np.float64), [0, 50, 99.825])
    assert ops.percentile_range(image, lower=0, upper=50) == pytest.approx(tuple(expected[:2]))
    found = ops.insight(image, percentiles=(0, 50, 99.825))["percentiles"]
    assert list(found.values()) == pytest.approx(list(expected))
    assert found[50.0] == 0.0  # (half the values each side: the mean of the two)


def test_percentiles_equal_numpys_for_every_dtype():
    rng = np.random.default_rng(7)
    percentiles = [0, 0.175, 1, 13.7, 50, 95, 99.825, 100]
    for dtype in (np.uint8, np.int16, np.uint16, np.float32, np.float64, np.int64, bool):
        image = (rng.random((37, 41)) * 200 - 50).astype(dtype)
        found = ops.insight(image, percentiles=percentiles)["percentiles"]
        expected = np.percentile(image.astype(np.float64), percentiles)
        np.testing.assert_allclose(list(found.values()), expected, rtol=1e-12, atol=0)


def test_insight(mitosis):
    info = ops.insight(mitosis, percentiles=(50,), spacing=(0.5, 0.5))
    assert info["shape"] == mitosis.shape and info["dtype"] == "uint8"
    assert info["min"] == mitosis.min() and info["max"] == mitosis.max()
    assert info["mean"] == pytest.approx(mitosis.mean())
    assert info["std"] == pytest.approx(mitosis.std(ddof=1))  # (n - 1: ImageJ's StdDev)
    assert ops.insight(np.array([[5.0]]))["std"] == 0.0  # (one value: ImageJ's 0)
    assert info["percentiles"][50.0] == pytest.approx(np.median(mitosis))
    assert info["spacing"] == (0.5, 0.5)


def test_float32_values_near_their_limit_are_binned_and_summed_in_float64():
    """numpy bins float32 in float32: value - (-3e38) overflowed (IndexError); the
    squares of 1e300 overflowed the standard deviation (inf)."""
    image = np.array([[-3e38, 3e38], [0.0, 1.0]], np.float32)
    counts, edges = ops.histogram(image, bins=4)
    expected, _ = np.histogram(image.astype(np.float64), bins=4,
                               range=(float(image.min()), float(image.max())))
    np.testing.assert_array_equal(counts, expected)
    assert counts.sum() == 4
    huge = np.array([[1e300, -1e300], [1e300, -1e300]])
    summary = ops.insight(huge)
    assert summary["std"] == pytest.approx(1e300 * np.sqrt(4 / 3)) and summary["mean"] == 0.0
    small = np.array([[1.0, 3.0]])  # (no scaling: exact as before; n - 1 = 1)
    assert (ops.insight(small)["mean"], ops.insight(small)["std"]) == (2.0, np.sqrt(2.0))


def test_insight_tells_the_images_own_dtype():
    assert ops.insight(np.zeros((4, 4), np.float16))["dtype"] == "float16"
    values = np.array([[1_000_000, 1_000_001]], np.uint32)
    summary = ops.insight(values)
    assert (summary["min"], summary["max"]) == (1_000_000, 1_000_001)


def test_the_statistics_of_an_rgba_image_leave_its_alpha_out():
    """A PNG's alpha of 255 joined them: the mean of an image of values below 220 was 133."""
    rgb = np.random.default_rng(0).integers(0, 120, (64, 64, 3)).astype(np.uint8)
    rgb[20:40, 20:40] += 100
    rgba = np.dstack([rgb, np.full((64, 64), 255, np.uint8)])
    stats = ops.insight(rgba, percentiles=(50.0,))
    assert stats["shape"] == (64, 64, 4)
    assert (stats["min"], stats["max"]) == (rgb.min(), rgb.max())
    assert stats["mean"] == pytest.approx(rgb.mean())
    assert stats["std"] == pytest.approx(rgb.std(ddof=1))
    assert stats["percentiles"] == {50.0: pytest.approx(np.median(rgb))}
    assert stats["nonfinite"] == 0
    for counted, expected in zip(ops.histogram(rgba), ops.histogram(rgb), strict=True):
        np.testing.assert_array_equal(counted, expected)
    assert ops.percentile_range(rgba, lower=1, upper=99) == pytest.approx(
        tuple(np.percentile(rgb, [1, 99]))
    )
