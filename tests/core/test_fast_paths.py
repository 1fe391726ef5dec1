"""The compiled fast paths give the reference results (ops._reference, scipy).

Every path (run decomposition, box paths, sorting network, sliding histogram,
ranks of floats, scipy fallback) is checked on random and real images, 2D and
3D, with and without spacing, for each dtype it serves, and with the work split
between threads at other places.
"""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_bioimg import ops
from napari_bioimg.ops import _checks, _kernels, _neighbourhood
from napari_bioimg.ops._footprint import make_footprint
from napari_bioimg.ops._reference import (
    reference_binary,
    reference_extreme,
    reference_mean,
    reference_median,
    reference_variance,
)

DTYPES = [np.bool_, np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64]
GEOMETRIES = [  # shape, spacing
    ((47, 53), None),
    ((31, 40), (1.0, 0.6)),
    ((9, 26, 23), None),
    ((7, 24, 25), (2.5, 0.8, 1.0)),
]


def random_image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return rng.random(shape) > 0.6
    if np.dtype(dtype).kind == "f":
        return (rng.normal(100, 30, shape)).astype(dtype)
    info = np.iinfo(dtype)
    low, high = max(info.min, -2000), min(info.max, 3000)
    return rng.integers(low, high, shape, endpoint=True).astype(dtype)


def footprint_for(radius, footprint, shape, spacing):
    return make_footprint(radius, footprint, spacing or (1.0,) * len(shape))


def assert_same(result, expected, float_tolerance=False):
    assert result.dtype == expected.dtype
    assert result.shape == expected.shape
    if float_tolerance:
        np.testing.assert_allclose(result, expected, rtol=2e-5, atol=1e-3)
    else:
        np.testing.assert_array_equal(result, expected)


@pytest.fixture
def many_threads(monkeypatch):
    """Split the output between 3 threads even for tiny images."""
    monkeypatch.setattr(_kernels, "n_threads", lambda: 3)
    monkeypatch.setattr(_kernels, "_PARALLEL_MIN_PIXELS", 0)


# --- rank and sum filters against the reference implementation -----------------------


@pytest.mark.parametrize(("shape", "spacing"), GEOMETRIES)
@pytest.mark.parametrize("footprint", ["ball", "box"])
@pytest.mark.parametrize("radius", [0, 1, 2.5, 4])
def test_extreme_and_sums_equal_reference(shape, spacing, footprint, radius, many_threads):
    fp = footprint_for(radius, footprint, shape, spacing)
    kwargs = dict(radius=radius, footprint=footprint, spacing=spacing)
    for dtype in DTYPES:
        image = random_image(shape, dtype)
        assert_same(ops.minimum(image, **kwargs), reference_extreme(image, fp, "min"))
        assert_same(ops.maximum(image, **kwargs), reference_extreme(image, fp, "max"))
        if dtype != np.bool_:
            assert_same(ops.mean(image, **kwargs), reference_mean(image, fp), True)
            assert_same(ops.variance(image, **kwargs), reference_variance(image, fp), True)


@pytest.mark.parametrize(("shape", "spacing"), GEOMETRIES)
@pytest.mark.parametrize("footprint", ["ball", "box"])
@pytest.mark.parametrize("radius", [1, 2, 3.5])
def test_median_equals_reference(shape, spacing, footprint, radius, many_threads):
    fp = footprint_for(radius, footprint, shape, spacing)
    for dtype in DTYPES:
        image = random_image(shape, dtype, seed=1)
        assert_same(
            ops.median(image, radius=radius, footprint=footprint, spacing=spacing),
            reference_median(image, fp),
        )


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("network", lambda rng: rng.integers(0, 60000, (40, 50)).astype(np.uint16)),
        ("histogram uint8", lambda rng: rng.integers(0, 256, (40, 50)).astype(np.uint8)),
        ("histogram uint16 wide", lambda rng: rng.integers(0, 65536, (40, 50)).astype(np.uint16)),
        ("shifted int32", lambda rng: rng.integers(-70000, -20000, (40, 50)).astype(np.int32)),
        ("int64 too wide", lambda rng: rng.integers(-2**40, 2**40, (40, 50))),
        ("float ranks", lambda rng: rng.integers(0, 500, (40, 50)).astype(np.float32) / 7),
        ("float scipy", lambda rng: rng.normal(size=(300, 300))),
        ("constant", lambda rng: np.full((20, 30), 7, np.uint16)),
    ],
)
@pytest.mark.parametrize("radius", [1, 2, 5])
def test_every_median_path_equals_scipy(name, make, radius):
    image = make(np.random.default_rng(3))
    fp = make_footprint(radius, "ball", (1.0, 1.0))
    expected = ndi.median_filter(image, footprint=fp, mode="nearest")
    assert_same(ops.median(image, radius=radius), expected)


@pytest.mark.parametrize("kind", ["white", "black"])
@pytest.mark.parametrize(("shape", "spacing"), GEOMETRIES)
def test_top_hats_equal_reference(kind, shape, spacing, many_threads):
    radius = 2.0
    fp = footprint_for(radius, "ball", shape, spacing)
    function = ops.white_top_hat if kind == "white" else ops.black_top_hat
    for dtype in DTYPES:
        image = random_image(shape, dtype, seed=2)
        if kind == "white":
            smaller = reference_extreme(reference_extreme(image, fp, "min"), fp, "max")
            larger = image
        else:
            larger = reference_extreme(reference_extreme(image, fp, "max"), fp, "min")
            smaller = image
        if dtype == np.bool_:
            expected = larger & ~smaller
        elif np.dtype(dtype).kind == "i":
            wide = larger.astype(np.int64) - smaller.astype(np.int64)
            expected = np.minimum(wide, np.iinfo(dtype).max).astype(dtype)
        else:
            expected = larger - smaller
        assert_same(function(image, radius=radius, spacing=spacing), expected)


def test_signed_top_hat_saturates():
    image = np.array([[-128, 127, -128]] * 3, np.int8)
    np.testing.assert_array_equal(ops.white_top_hat(image, radius=1)[1], [0, 127, 0])


# --- binary morphology against the distance transform --------------------------------


@pytest.mark.parametrize(("shape", "spacing"), GEOMETRIES)
@pytest.mark.parametrize("footprint", ["ball", "box"])
@pytest.mark.parametrize("radius", [0, 1, 3, 4.5])
def test_binary_equals_distance_transform(shape, spacing, footprint, radius, many_threads):
    mask = ndi.gaussian_filter(np.random.default_rng(4).random(shape), 1.5) > 0.5
    used = spacing or (1.0,) * len(shape)
    dilated = reference_binary(mask, radius, footprint, used, "max")
    eroded = reference_binary(mask, radius, footprint, used, "min")
    kwargs = dict(radius=radius, footprint=footprint, spacing=spacing)
    assert_same(ops.binary_dilation(mask, **kwargs), dilated)
    assert_same(ops.binary_erosion(mask, **kwargs), eroded)
    assert_same(ops.binary_opening(mask, **kwargs),
                reference_binary(eroded, radius, footprint, used, "max"))
    assert_same(ops.binary_closing(mask, **kwargs),
                reference_binary(dilated, radius, footprint, used, "min"))


# --- real images -----------------------------------------------------------------------


@pytest.mark.parametrize("radius", [1, 3, 6])
@pytest.mark.parametrize("footprint", ["ball", "box"])
def test_real_2d_image(blobs, radius, footprint):
    fp = make_footprint(radius, footprint, (1.0, 1.0))
    kwargs = dict(radius=radius, footprint=footprint)
    assert_same(ops.median(blobs, **kwargs), reference_median(blobs, fp))
    assert_same(ops.maximum(blobs, **kwargs), reference_extreme(blobs, fp, "max"))
    assert_same(ops.variance(blobs, **kwargs), reference_variance(blobs, fp), True)
    mask = blobs > 128
    assert_same(ops.binary_closing(mask, **kwargs),
                reference_binary(reference_binary(mask, radius, footprint, (1, 1), "max"),
                                 radius, footprint, (1, 1), "min"))


@pytest.mark.parametrize("spacing", [None, (3.0, 1.0, 1.0)])
def test_real_3d_stack(banana, spacing):
    stack = banana[6:16, 150:230, 140:230]
    for radius, footprint in [(1, "ball"), (3, "ball"), (2, "box")]:
        fp = make_footprint(radius, footprint, spacing or (1.0, 1.0, 1.0))
        kwargs = dict(radius=radius, footprint=footprint, spacing=spacing)
        assert_same(ops.median(stack, **kwargs), reference_median(stack, fp))
        assert_same(ops.minimum(stack, **kwargs), reference_extreme(stack, fp, "min"))
        assert_same(ops.mean(stack, **kwargs), reference_mean(stack, fp), True)
        assert_same(ops.variance(stack, **kwargs), reference_variance(stack, fp), True)


# --- threads, layouts, memory ------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 70, 64), (5, 40, 30), (150, 20)])
def test_thread_splits_do_not_show(shape, monkeypatch):
    image = random_image(shape, np.uint16, seed=5)
    single = {name: getattr(ops, name)(image, radius=3)
              for name in ("median", "maximum", "mean", "variance")}
    monkeypatch.setattr(_kernels, "n_threads", lambda: 4)
    monkeypatch.setattr(_kernels, "_PARALLEL_MIN_PIXELS", 0)
    for name, expected in single.items():
        np.testing.assert_array_equal(getattr(ops, name)(image, radius=3), expected)


def test_views_and_byte_order_are_handled():
    image = random_image((40, 60), np.uint16, seed=6)
    fp = make_footprint(2, "ball", (1.0, 1.0))
    swapped = image.astype(">u2")
    view = np.asfortranarray(image)[:, ::-1][:, ::-1]
    for data in (swapped, view, image[::2, 1::2]):
        expected_image = np.ascontiguousarray(data).astype(np.uint16)
        np.testing.assert_array_equal(ops.median(data, radius=2),
                                      reference_median(expected_image, fp))
        np.testing.assert_array_equal(ops.maximum(data, radius=2),
                                      reference_extreme(expected_image, fp, "max"))
    before = image.copy()
    ops.variance(image, radius=2)
    np.testing.assert_array_equal(image, before)


def test_work_that_does_not_fit_is_refused(monkeypatch):
    monkeypatch.setattr(_checks, "available_memory", lambda: 1000)
    image = np.zeros((100, 100), np.uint16)
    for function in (ops.median, ops.mean, ops.maximum, ops.white_top_hat,
                     ops.binary_dilation, ops.gaussian):
        with pytest.raises(ValueError, match="GiB of memory"):
            function(image > 0 if function is ops.binary_dilation else image)


def test_available_memory_is_read():
    available = _checks.available_memory()
    assert available is None or available > 0


def test_small_footprint_threshold_covers_both_median_paths():
    assert 9 < _neighbourhood._NETWORK_MAX_PIXELS < make_footprint(5, "ball", (1, 1)).sum()


# --- Gaussian ---------------------------------------------------------------------------


@pytest.mark.parametrize(("shape", "spacing"), GEOMETRIES)
@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.5])
def test_gaussian_is_scipy_bit_for_bit(shape, spacing, sigma, many_threads):
    sigmas = [sigma / s for s in (spacing or (1.0,) * len(shape))]
    for dtype in DTYPES:
        image = random_image(shape, dtype, seed=9)
        expected = ndi.gaussian_filter(
            image.astype(np.float32) if dtype in (np.bool_, np.int32) else image,
            sigmas, mode="nearest", truncate=4.0, output=np.float32)
        result = ops.gaussian(image, sigma=sigma, spacing=spacing)
        if dtype == np.float64:  # scipy keeps float64 between axes, we float32
            np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-4)
        else:
            assert_same(result, expected)
