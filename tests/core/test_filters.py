"""Filters against independent references: hand-computed cases, scipy and scikit-image."""

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import filters as skfilters
from skimage import morphology as skmorph

from napari_bioimg import ops
from napari_bioimg.ops._footprint import make_footprint


def single_pixel(value=9, shape=(5, 5), dtype=np.uint8):
    image = np.zeros(shape, dtype)
    image[tuple(s // 2 for s in shape)] = value
    return image


def interior(array, margin):
    return array[tuple(slice(margin, -margin) for _ in range(array.ndim))]


# --- the lecture's hand-computed 5x5 cases -------------------------------------------


def test_mean_of_single_pixel_spreads_it_over_the_cross():
    result = ops.mean(single_pixel(5), radius=1)
    expected = np.zeros((5, 5), np.float32)
    expected[1:4, 2] = expected[2, 1:4] = 1.0  # a disk of radius 1 is the 5-pixel cross
    np.testing.assert_array_equal(result, expected)
    assert result.dtype == np.float32


def test_box_mean_of_single_pixel_is_a_ninth_everywhere_in_the_square():
    result = ops.mean(single_pixel(9), radius=1, footprint="box")
    expected = np.zeros((5, 5), np.float32)
    expected[1:4, 1:4] = 1.0
    np.testing.assert_allclose(result, expected, atol=1e-6)


def test_gaussian_of_single_pixel_is_the_normalised_kernel():
    image = single_pixel(1.0, shape=(41, 41), dtype=np.float64)
    result = ops.gaussian(image, sigma=2.0)
    y, x = np.mgrid[-20:21, -20:21]
    kernel = np.exp(-(x**2 + y**2) / (2 * 2.0**2))
    kernel[(np.abs(x) > 8) | (np.abs(y) > 8)] = 0  # truncated at 4 sigma
    np.testing.assert_allclose(result, kernel / kernel.sum(), atol=1e-7)
    assert result.sum() == pytest.approx(1.0, rel=1e-6)  # Gaussian preserves the sum


def test_maximum_of_single_pixel_is_the_disk():
    result = ops.maximum(single_pixel(7, (9, 9)), radius=2)
    np.testing.assert_array_equal(result > 0, np.pad(skmorph.disk(2), 2).astype(bool))
    assert result.dtype == np.uint8


def test_laplace_kernel_in_3d():
    result = ops.laplace(single_pixel(1.0, (3, 3, 3), np.float32))
    expected = np.zeros((3, 3, 3), np.float32)
    expected[1, 1, 1] = 6
    for axis in range(3):
        index = [1, 1, 1]
        for offset in (0, 2):
            index[axis] = offset
            expected[tuple(index)] = -1
        index[axis] = 1
    np.testing.assert_array_equal(result, expected)


# --- footprints --------------------------------------------------------------------


@pytest.mark.parametrize("radius", [0, 1, 2, 3, 5, 8])
def test_footprints_equal_skimage_disk_and_ball(radius):
    np.testing.assert_array_equal(make_footprint(radius, "ball", (1, 1)), skmorph.disk(radius))
    np.testing.assert_array_equal(make_footprint(radius, "ball", (1, 1, 1)), skmorph.ball(radius))
    np.testing.assert_array_equal(
        make_footprint(radius, "box", (1, 1)), np.ones((2 * radius + 1,) * 2, bool)
    )


def test_anisotropic_ball_reaches_one_plane_and_four_pixels():
    stack = np.zeros((9, 21, 21), np.uint16)
    stack[4, 10, 10] = 100
    grown = ops.maximum(stack, radius=4, spacing=(4, 1, 1)) > 0
    z, y, x = np.nonzero(grown)
    assert (z.min(), z.max()) == (3, 5)
    assert (y.min(), y.max()) == (6, 14)
    assert (x.min(), x.max()) == (6, 14)
    # the planes above and below hold only the centre (distance 4 exactly)
    assert grown[3].sum() == 1 and grown[5].sum() == 1
    np.testing.assert_array_equal(grown[4], np.pad(skmorph.disk(4), 6).astype(bool))


def test_spacing_in_physical_units_matches_pixels():
    # radius 2 um at 0.5 um pixels is radius 4 pixels
    rng = np.random.default_rng(0)
    image = rng.integers(0, 1000, (40, 40)).astype(np.uint16)
    np.testing.assert_array_equal(
        ops.median(image, radius=2.0, spacing=(0.5, 0.5)), ops.median(image, radius=4)
    )


# --- against scipy / scikit-image on real images -------------------------------------


@pytest.mark.parametrize("radius", [1, 3, 6])
@pytest.mark.parametrize("footprint", ["ball", "box"])
def test_rank_and_mean_filters_equal_scipy_with_footprint(blobs, radius, footprint):
    fp = skmorph.disk(radius) if footprint == "ball" else np.ones((2 * radius + 1,) * 2)
    fp = fp.astype(bool)
    kwargs = dict(radius=radius, footprint=footprint)
    np.testing.assert_array_equal(
        ops.minimum(blobs, **kwargs), ndi.minimum_filter(blobs, footprint=fp, mode="nearest")
    )
    np.testing.assert_array_equal(
        ops.maximum(blobs, **kwargs), ndi.maximum_filter(blobs, footprint=fp, mode="nearest")
    )
    np.testing.assert_array_equal(
        ops.median(blobs, **kwargs), ndi.median_filter(blobs, footprint=fp, mode="nearest")
    )
    reference = ndi.correlate(blobs.astype(np.float64), fp / fp.sum(), mode="nearest")
    np.testing.assert_allclose(ops.mean(blobs, **kwargs), reference, rtol=1e-5, atol=1e-4)


def test_median_equals_skimage(mitosis):
    expected = skfilters.median(mitosis, skmorph.disk(3), mode="nearest")
    np.testing.assert_array_equal(ops.median(mitosis, radius=3), expected)


def test_variance_and_std_equal_generic_filter(mitosis):
    fp = skmorph.disk(2).astype(bool)
    image = mitosis.astype(np.float64)
    expected = ndi.generic_filter(image, np.var, footprint=fp, mode="nearest")
    np.testing.assert_allclose(ops.variance(mitosis, radius=2), expected, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(
        ops.standard_deviation(mitosis, radius=2), np.sqrt(expected), rtol=1e-4, atol=1e-2
    )


def test_3d_filters_equal_scipy_with_ball(banana):
    stack = banana[8:14, 150:200, 150:200]
    fp = skmorph.ball(2).astype(bool)
    np.testing.assert_array_equal(
        ops.minimum(stack, radius=2), ndi.minimum_filter(stack, footprint=fp, mode="nearest")
    )
    np.testing.assert_array_equal(
        ops.median(stack, radius=2), ndi.median_filter(stack, footprint=fp, mode="nearest")
    )
    reference = ndi.correlate(stack.astype(np.float64), fp / fp.sum(), mode="nearest")
    np.testing.assert_allclose(ops.mean(stack, radius=2), reference, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0])
def test_gaussian_equals_skimage(blobs, sigma):
    expected = skfilters.gaussian(
        blobs.astype(np.float64), sigma=sigma, mode="nearest", truncate=4.0, preserve_range=True
    )
    result = ops.gaussian(blobs, sigma=sigma)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-3)


def test_gaussian_anisotropic_sigma_in_physical_units(banana):
    stack = banana[:, ::4, ::4]
    expected = ndi.gaussian_filter(stack.astype(np.float64), (1.0, 4.0, 4.0), mode="nearest")
    np.testing.assert_allclose(
        ops.gaussian(stack, sigma=2.0, spacing=(2.0, 0.5, 0.5)), expected, rtol=1e-4, atol=1e-2
    )


def test_sobel_equals_skimage_in_intensity_units(blobs):
    expected = skfilters.sobel(blobs.astype(np.float64), mode="nearest")
    np.testing.assert_allclose(ops.sobel(blobs), expected, rtol=1e-5, atol=1e-3)


def test_sobel_3d_equals_skimage(banana):
    stack = banana[:, ::4, ::4]
    expected = skfilters.sobel(stack.astype(np.float64), mode="nearest")
    np.testing.assert_allclose(
        ops.sobel(stack, spacing=(8.8, 1.5, 1.5)), expected, rtol=1e-5, atol=1e-2
    )


def test_laplace_equals_skimage_away_from_border(blobs):
    image = blobs.astype(np.float64)
    np.testing.assert_allclose(
        interior(ops.laplace(image), 1), interior(skfilters.laplace(image), 1), atol=1e-4
    )


def test_dog_and_log_equal_compositions_of_skimage(blobs):
    image = blobs.astype(np.float64)

    def g(s):
        return skfilters.gaussian(image, sigma=s, mode="nearest", preserve_range=True)

    np.testing.assert_allclose(
        ops.difference_of_gaussian(blobs, sigma1=1, sigma2=4), g(1) - g(4), atol=1e-3
    )
    np.testing.assert_allclose(
        interior(ops.laplacian_of_gaussian(blobs, sigma=2), 1),
        interior(skfilters.laplace(g(2)), 1),
        atol=1e-3,
    )


@pytest.mark.parametrize("radius", [2, 5])
def test_top_hats_equal_skimage_away_from_border(blobs, radius):
    fp = skmorph.disk(radius)
    margin = 2 * radius
    white = ops.white_top_hat(blobs, radius=radius)
    black = ops.black_top_hat(blobs, radius=radius)
    assert white.dtype == black.dtype == blobs.dtype
    np.testing.assert_array_equal(
        interior(white, margin), interior(skmorph.white_tophat(blobs, fp), margin)
    )
    np.testing.assert_array_equal(
        interior(black, margin), interior(skmorph.black_tophat(blobs, fp), margin)
    )


# --- properties --------------------------------------------------------------------


def test_rank_filter_order(blobs):
    low = ops.minimum(blobs, radius=3)
    mid = ops.median(blobs, radius=3)
    high = ops.maximum(blobs, radius=3)
    assert np.all(low <= mid) and np.all(mid <= high)
    assert np.all(low <= blobs) and np.all(blobs <= high)


def test_leading_axes_are_filtered_as_a_batch(blobs):
    batch = np.stack([blobs, blobs[::-1]])[:, None]  # (2, 1, 254, 256): T, Z, Y, X
    result = ops.gaussian(batch, sigma=2, spacing=(1.0, 1.0))
    np.testing.assert_array_equal(result[0, 0], ops.gaussian(blobs, sigma=2))
    np.testing.assert_array_equal(result[1, 0], ops.gaussian(blobs[::-1], sigma=2))


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        (dict(radius=-1), ValueError, "radius"),
        (dict(radius="3"), TypeError, "radius"),
        (dict(footprint="star"), ValueError, "footprint"),
        # (an array: "the truth value of an array is ambiguous")
        (dict(footprint=np.ones((3, 3), bool)), TypeError, "footprint must be one of"),
        (dict(spacing=(1.0,)), ValueError, "spacing"),
        (dict(spacing=(1.0, 0.0)), ValueError, "spacing"),
        (dict(spacing=(1.0, 1.0, 1.0, 1.0)), ValueError, "spacing"),
        (dict(spacing=("a", 1.0)), TypeError, "spacing"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, error, word):
    with pytest.raises(error, match=word):
        ops.median(np.zeros((8, 8)), **kwargs)


def test_more_bad_parameters_name_the_parameter(monkeypatch):
    from napari_bioimg.ops import _checks

    volume = np.zeros((4, 8, 8), np.float32)
    with pytest.raises(TypeError, match="target"):
        ops.resample_isotropic(volume, spacing=(2.0, 1.0, 1.0), target="1")
    with pytest.raises(ValueError, match="axis names an axis twice"):
        ops.flip(volume, axis=(0, -3))
    with pytest.raises(ValueError, match="NaN"):
        ops.binary_erosion(np.array([[np.nan, 1.0], [0.0, 1.0]]))
    monkeypatch.setattr(_checks, "available_memory", lambda: 2**30)  # 1 GiB left
    with pytest.raises(ValueError, match="sigma 1e\\+09"):  # (was numpy's MemoryError)
        ops.gaussian(volume, sigma=1e9)


@pytest.mark.parametrize(
    ("image", "error", "word"),
    [
        (np.zeros((0, 5)), ValueError, "empty"),
        (np.zeros(5), ValueError, "2D"),
        (np.zeros((20, 20, 3), np.uint8), TypeError, "RGB"),
        (np.zeros((4, 4), complex), TypeError, "dtype"),
    ],
)
def test_bad_images_are_refused(image, error, word):
    with pytest.raises(error, match=word):
        ops.gaussian(image, sigma=1)


@pytest.mark.parametrize(
    "name", ["mean", "median", "minimum", "variance", "white_top_hat", "binary_dilation"]
)
def test_a_footprint_that_cannot_fit_in_memory_is_refused_naming_the_radius(name, monkeypatch):
    from napari_bioimg.ops import _checks

    monkeypatch.setattr(_checks, "available_memory", lambda: 2**30)  # 1 GiB left
    volume = np.zeros((4, 6, 6), bool if name.startswith("binary") else np.float32)
    with pytest.raises(ValueError, match="radius 1000"):
        getattr(ops, name)(volume, radius=1000.0)
    assert getattr(ops, name)(volume, radius=100.0).shape == volume.shape  # 201^3 fits


def test_a_huge_radius_is_refused_in_a_short_message():
    """radius 1e300 printed the footprint's side in 301 digits (and numpy's overflow
    warning, an error here)."""
    with pytest.raises(ValueError, match=r"\(2e\+300 x 2e\+300 pixels.*about inf GiB") as info:
        ops.median(np.zeros((10, 10), np.uint8), radius=1e300)
    assert len(str(info.value)) < 300
    with pytest.raises(ValueError, match=r"\(20000001 x 20000001 pixels.*about 3.3\de\+06 GiB"):
        ops.median(np.zeros((10, 10), np.uint8), radius=1e7)
    with pytest.raises(ValueError, match="more pixels than a float holds"):  # (OverflowError)
        ops.median(np.zeros((10, 10), np.uint8), radius=1e300, spacing=(1e-9, 1e-9))


def test_non_positive_sigma_is_refused():
    with pytest.raises(ValueError, match="sigma"):
        ops.gaussian(np.zeros((4, 4)), sigma=0)
    with pytest.raises(ValueError, match="sigma2"):
        ops.difference_of_gaussian(np.zeros((4, 4)), sigma1=1, sigma2=-1)


@pytest.mark.parametrize("footprint", ["ball", "box"])
@pytest.mark.parametrize("shape", [(40, 50), (6, 20, 25)])
def test_nan_and_infinities_reach_only_their_own_windows(footprint, shape):
    """As a direct sum over each window: NaN (or both infinities) give NaN, one infinity
    gives it; the variance of a window holding any of them is NaN; the rest as usual."""
    rng = np.random.default_rng(4)
    image = rng.random(shape)
    flat = image.reshape(-1)
    spots = rng.choice(flat.size, 8, replace=False)
    flat[spots[:3]] = np.nan
    flat[spots[3:6]] = np.inf
    flat[spots[6:]] = -np.inf
    fp = make_footprint(2.0, footprint, (1.0,) * len(shape))
    for dtype in (np.float32, np.float64):
        values = image.astype(dtype)
        direct = ndi.correlate(image, fp.astype(float), mode="nearest") / fp.sum()
        mean = ops.mean(values, radius=2.0, footprint=footprint)
        np.testing.assert_allclose(mean, direct, rtol=1e-5, atol=1e-6, equal_nan=True)
        assert np.array_equal(np.isnan(mean), np.isnan(direct))
        assert np.array_equal(np.isposinf(mean), np.isposinf(direct))
        reached = ndi.correlate((~np.isfinite(image)).astype(float), fp.astype(float),
                                mode="nearest") > 0
        finite = np.where(np.isfinite(image), image, 0.0)
        square = ndi.correlate(finite**2, fp.astype(float), mode="nearest") / fp.sum()
        plain = ndi.correlate(finite, fp.astype(float), mode="nearest") / fp.sum()
        for name, expected in (("variance", square - plain**2),
                               ("standard_deviation", np.sqrt(square - plain**2))):
            result = getattr(ops, name)(values, radius=2.0, footprint=footprint)
            assert np.array_equal(np.isnan(result), reached), name
            np.testing.assert_allclose(result[~reached], expected[~reached], atol=1e-5)
        assert np.isfinite(values).sum() == image.size - 8  # the input is unchanged
        if len(shape) == 3:  # the live preview of one plane: the same plane
            from napari_bioimg.ops.filters import mean_plane, variance_plane

            params = {"radius": 2.0, "footprint": footprint}
            variance = ops.variance(values, **params)
            for z in range(shape[0]):
                np.testing.assert_array_equal(mean_plane(values, z, params, None), mean[z])
                np.testing.assert_array_equal(
                    variance_plane(values, z, params, None), variance[z]
                )


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_signed_top_hats_saturate_instead_of_wrapping(dtype):
    """A difference past the dtype's maximum (int64 wrapped to -1)."""
    info = np.iinfo(dtype)
    image = np.array([[info.min, info.max, info.min]] * 3, dtype)
    white = ops.white_top_hat(image, radius=1, footprint="box")
    black = ops.black_top_hat(-(image + 1).astype(dtype), radius=1, footprint="box")
    for result in (white, black):
        assert result.dtype == dtype
        np.testing.assert_array_equal(result[1], [0, info.max, 0])


@pytest.mark.parametrize(
    ("name", "parameters"),
    [("median", {"radius": 2.0}), ("minimum", {}), ("maximum", {}), ("white_top_hat", {}),
     ("black_top_hat", {}), ("crop", {"start": [1]}), ("subsample", {}), ("flip", {}),
     ("project", {"axis": 0, "method": "max"}), ("project", {"axis": 0, "method": "min"}),
     ("resample_isotropic", {"spacing": (2.0, 1.0, 1.0)}), ("set_voxel_size", {"z": 2.0})],
)
def test_operations_that_keep_the_dtype_keep_float16_and_byte_order(name, parameters):
    """float16 is computed in float32 (exactly: its values are float32 values), and
    big-endian data (from TIFF files) in native order by the kernels."""
    stack = (np.random.default_rng(0).random((4, 12, 13)) * 100).astype(np.float16)
    function = getattr(ops, name)
    result = function(stack, **parameters)
    assert result.dtype == np.float16
    expected = function(stack.astype(np.float32), **parameters)
    np.testing.assert_array_equal(result, expected.astype(np.float16))
    big_endian = (stack * 40).astype(">u2")
    result = function(big_endian, **parameters)
    assert result.dtype.str == ">u2"
    np.testing.assert_array_equal(result, function(big_endian.astype("<u2"), **parameters))


@pytest.mark.parametrize("footprint", ["ball", "box"])
@pytest.mark.parametrize("radius", [1.0, 2.0, 5.0])
def test_rank_filters_are_nan_where_the_window_holds_a_nan(footprint, radius):
    """As the mean: before, NaN appeared at places that depended on the kernel's path."""
    image = np.random.default_rng(2).random((24, 25)).astype(np.float32)
    image[5, 6] = image[15, 20] = np.nan
    fp = make_footprint(radius, footprint, (1.0, 1.0))
    reached = ndi.binary_dilation(np.isnan(image), structure=fp)
    filled = np.where(np.isnan(image), 0, image)
    references = {
        "minimum": ndi.minimum_filter(filled, footprint=fp, mode="nearest"),
        "maximum": ndi.maximum_filter(filled, footprint=fp, mode="nearest"),
        "median": ndi.median_filter(filled, footprint=fp, mode="nearest"),
    }
    for name, reference in references.items():
        result = getattr(ops, name)(image, radius=radius, footprint=footprint)
        np.testing.assert_array_equal(np.isnan(result), reached, err_msg=name)
        np.testing.assert_array_equal(result[~reached], reference[~reached], err_msg=name)


@pytest.mark.parametrize("footprint", ["ball", "box"])
@pytest.mark.parametrize("shape", [(9, 11), (5, 7, 9)])
def test_means_of_values_near_the_float64_maximum_are_not_nan(footprint, shape):
    """Running sums of such values overflowed and gave ``inf - inf`` (NaN) along rows.

    Values ``k * 2**1000`` (k small integers) keep every window sum exact: a window's
    mean is 0 where its k sum to 0 and beyond float32 (an infinity of that sign)
    elsewhere; its variance is infinite where its k differ and 0 where they are equal
    (the sums' rounding, of the order of ``2**2000``, read as infinite variances there).
    """
    rng = np.random.default_rng(7)
    k = rng.integers(-3, 4, shape)
    k[..., :3] = 2  # some windows of equal values
    values = np.ldexp(k.astype(np.float64), 1000)
    fp = make_footprint(1.0, footprint, (1.0,) * len(shape)).astype(float)
    window_sum = ndi.correlate(k.astype(float), fp, mode="nearest")  # small integers
    window_spread = ndi.maximum_filter(k, footprint=fp, mode="nearest") - ndi.minimum_filter(
        k, footprint=fp, mode="nearest"
    )
    mean = ops.mean(values, radius=1.0, footprint=footprint)
    expected = np.where(window_sum == 0, 0.0, np.copysign(np.inf, window_sum))
    np.testing.assert_array_equal(mean, expected.astype(np.float32))
    variance = ops.variance(values, radius=1.0, footprint=footprint)
    np.testing.assert_array_equal(variance, np.where(window_spread == 0, 0.0, np.inf))
    assert np.array_equal(values, np.ldexp(k.astype(np.float64), 1000))  # input unchanged
    if len(shape) == 3:  # the live preview of one plane: the same plane
        from napari_bioimg.ops.filters import mean_plane

        params = {"radius": 1.0, "footprint": footprint}
        np.testing.assert_array_equal(mean_plane(values, 2, params, None), mean[2])
