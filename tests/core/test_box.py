"""The box minimum/maximum (van Herk across rows, doubling along them) equals scipy's filters.

Half-sizes larger than the axes, a single plane or row, and splits between
threads at other places than the default.
"""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_bioimg import ops
from napari_bioimg.ops import _box, _kernels


@pytest.mark.parametrize("shape", [(5, 17, 23), (1, 300, 7), (3, 1, 9)])
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


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float64])
def test_rows_of_any_part_equal_scipy(dtype):
    """The pass across rows streams blocks of 2 hy + 1 rows: every height (blocks cut
    short at the end, boxes taller than the plane) on any range of rows (a thread's
    share, whose first rows are margin) gives scipy's filter there."""
    rng = np.random.default_rng(6)
    image = rng.integers(0, 200, (2, 80, 11)).astype(dtype)
    # (blocks of more rows than are filtered along the columns at once from hy = 16)
    for hy in [*range(14), 16, 17, 24, 45]:
        for hx in (0, 2):
            size = (1, 2 * hy + 1, 2 * hx + 1)
            for is_max, scipy_filter in [(True, ndi.maximum_filter), (False, ndi.minimum_filter)]:
                expected = scipy_filter(image, size=size, mode="nearest")
                for y0, y1 in [(0, 80), (0, 1), (5, 6), (3, 60), (79, 80)]:
                    out = np.zeros_like(image)
                    _box._planes(image, out, 0, 2, y0, y1, hy, hx, is_max)
                    np.testing.assert_array_equal(out[:, y0:y1], expected[:, y0:y1],
                                                  err_msg=f"hy {hy} rows {y0}:{y1}")
                    assert not out[:, :y0].any() and not out[:, y1:].any()


def test_half_sizes_beyond_the_axes_are_clipped(monkeypatch):
    # A box far wider than the image gives the same result as one as wide, and the
    # kernels get that one (their buffers grow with the half-size: 32 rows of nx + 2 hx).
    image = np.random.default_rng(7).integers(0, 1000, (3, 40, 4)).astype(np.uint16)
    seen = []
    run_parallel = _kernels.run_parallel
    monkeypatch.setattr(_kernels, "run_parallel",
                        lambda kernel, *args, **kw: seen.append(args[2:4]) or
                        run_parallel(kernel, *args, **kw))
    out = np.empty_like(image)
    _box.box_extreme(image, out, 9, 16, 100000, True)
    assert seen == [(16, 3)]
    np.testing.assert_array_equal(out, ndi.maximum_filter(image, size=(7, 33, 7),
                                                          mode="nearest"))


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.float32, np.bool_])
def test_box_top_hats_subtract_on_the_threads(dtype, monkeypatch):
    monkeypatch.setattr(_kernels, "n_threads", lambda: 3)
    monkeypatch.setattr(_kernels, "_PARALLEL_MIN_PIXELS", 0)
    rng = np.random.default_rng(3)
    # int16 spans more than its maximum difference: the top-hats saturate.
    low, high = (-30000, 30000) if dtype == np.int16 else (0, 1000)
    image = (rng.random((6, 20, 21)) > 0.5 if dtype == np.bool_
             else rng.integers(low, high, (6, 20, 21)).astype(dtype))
    size = (3, 5, 5)
    opened = ndi.maximum_filter(ndi.minimum_filter(image, size=size, mode="nearest"),
                                size=size, mode="nearest")
    closed = ndi.minimum_filter(ndi.maximum_filter(image, size=size, mode="nearest"),
                                size=size, mode="nearest")
    kwargs = dict(radius=2, footprint="box", spacing=(2.0, 1.0, 1.0))
    for result, larger, smaller in [(ops.white_top_hat(image, **kwargs), image, opened),
                                    (ops.black_top_hat(image, **kwargs), closed, image)]:
        if dtype == np.bool_:
            expected = larger & ~smaller
        else:
            wide = larger.astype(np.float64) - smaller.astype(np.float64)
            expected = np.minimum(wide, np.iinfo(dtype).max if dtype == np.int16 else np.inf)
        np.testing.assert_array_equal(result, expected.astype(dtype))


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float64, np.bool_])
def test_every_width_along_the_rows_equals_scipy(dtype):
    # The doubling along the rows: widths that are and are not powers of two,
    # rows shorter than the window.
    rng = np.random.default_rng(4)
    for nx in (1, 2, 5, 16, 33):
        image = rng.integers(0, 200, (1, 4, nx)).astype(dtype)
        for hx in range(18):
            for is_max, scipy_filter in [(True, ndi.maximum_filter), (False, ndi.minimum_filter)]:
                out = np.empty_like(image)
                _box.box_extreme(image, out, 0, 0, hx, is_max)
                expected = scipy_filter(image, size=(1, 1, 2 * hx + 1), mode="nearest")
                np.testing.assert_array_equal(out, expected, err_msg=f"nx {nx} hx {hx}")


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64, np.float32])
def test_box_sums_of_any_part_equal_scipy(dtype):
    """Box mean and variance, the planes summed first: any block of planes and rows (the
    threads' parts, a preview's plane), boxes taller than the stack, exact for integers."""
    rng = np.random.default_rng(5)
    image = rng.integers(-50 if dtype != np.uint8 else 0, 200, (6, 21, 13)).astype(dtype)
    wide = image.astype(np.float64)
    for hz, hy, hx in [(1, 1, 1), (2, 0, 3), (4, 7, 0), (9, 2, 20)]:
        size = (2 * hz + 1, 2 * hy + 1, 2 * hx + 1)
        mean = ndi.uniform_filter(wide, size, mode="nearest")
        variance = ndi.uniform_filter(wide**2, size, mode="nearest") - mean**2
        for z0, z1, y0, y1 in [(0, 6, 0, 21), (2, 3, 0, 21), (5, 6, 4, 17), (0, 4, 20, 21)]:
            for is_variance, expected, offset in [(False, mean, 0.0), (True, variance, 30.0)]:
                out = np.zeros(image.shape, np.float64)
                _kernels.box_sums(image, out, z0, z1, y0, y1, hz, hy, hx, offset, is_variance)
                part = (slice(z0, z1), slice(y0, y1))
                np.testing.assert_allclose(out[part], expected[part], rtol=1e-9, atol=1e-9)
                assert not out[z1:].any() and not out[:, y1:].any()  # (only its part written)


def _exact_box_sums(image, half):
    """Box sums (edges replicated) in int64 by cumulative sums: exact."""
    padded = np.pad(image.astype(np.int64), [(h, h) for h in half], mode="edge")
    for axis, h in enumerate(half):
        sums = np.cumsum(padded, axis=axis)
        sums = np.concatenate([np.zeros_like(sums.take([0], axis=axis)), sums], axis=axis)
        n = sums.shape[axis]
        padded = sums.take(range(2 * h + 1, n), axis=axis) - sums.take(range(n - 2 * h - 1),
                                                                      axis=axis)
    return padded


def test_box_variance_of_wide_bright_stacks_is_exact():
    """Integer sums stay below 2**53, so chunks and whole images agree: a prefix sum of the
    column sums along 2048-pixel rows passed it (variance 2.8e-5 of a constant image)."""
    rng = np.random.default_rng(3)
    image = (65535 - rng.integers(0, 3, (3, 40, 2048))).astype(np.uint16)
    half = (1, 16, 16)
    count = float(np.prod([2 * h + 1 for h in half]))
    s1 = _exact_box_sums(image, half)
    s2 = _exact_box_sums(image.astype(np.int64) ** 2, half)
    mean = s1 / count
    expected = np.maximum(s2 / count - mean * mean, 0).astype(np.float32)
    np.testing.assert_array_equal(ops.variance(image, radius=16, footprint="box",
                                               spacing=(16.0, 1.0, 1.0)), expected)
    flat = np.full((3, 40, 2048), 65535, np.uint16)
    assert not ops.variance(flat, radius=16, footprint="box").any()
