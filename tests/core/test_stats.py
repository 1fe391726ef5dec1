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


def test_histogram_ignores_nan():
    counts, _ = ops.histogram(np.array([[0.0, np.nan], [1.0, np.inf]]), bins=2)
    assert counts.sum() == 2


def test_percentile_range_equals_numpy(banana):
    low, high = ops.percentile_range(banana, lower=0, upper=95)
    assert (low, high) == pytest.approx(tuple(np.percentile(banana, [0, 95])))
    with pytest.raises(ValueError, match="upper"):
        ops.percentile_range(banana, lower=5, upper=120)


def test_insight(mitosis):
    info = ops.insight(mitosis, percentiles=(50,), spacing=(0.5, 0.5))
    assert info["shape"] == mitosis.shape and info["dtype"] == "uint8"
    assert info["min"] == mitosis.min() and info["max"] == mitosis.max()
    assert info["mean"] == pytest.approx(mitosis.mean())
    assert info["std"] == pytest.approx(mitosis.std())
    assert info["percentiles"][50.0] == pytest.approx(np.median(mitosis))
    assert info["spacing"] == (0.5, 0.5)
