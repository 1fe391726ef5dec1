import warnings

import numpy as np
import pytest
from skimage import filters as skfilters

from napari_bioimg import ops
from napari_bioimg._sample_data import make_nuclei
from napari_bioimg.ops.threshold import (
    AUTOMATIC_METHODS,
    _count_maxima,
    _threshold_minimum,
    prepare_threshold,
    threshold_histogram,
    threshold_value,
)


@pytest.mark.parametrize("method", AUTOMATIC_METHODS)
def test_automatic_values_equal_skimage(blobs, method):
    expected = getattr(skfilters, f"threshold_{method}")(blobs)
    assert ops.threshold_value(blobs, method=method) == pytest.approx(float(expected))
    np.testing.assert_array_equal(ops.threshold(blobs, method=method), blobs > expected)


@pytest.mark.parametrize("method", ["otsu", "yen", "isodata", "triangle", "mean"])
def test_a_mask_is_thresholded_as_scikit_image_does(blobs, method):
    """A bool image is binned as floats (256 bins over 0..1): triangle gave 1.0 and an
    empty mask, skimage 0.0059 and the mask itself."""
    mask = blobs > 128
    with warnings.catch_warnings():  # (skimage warns that it converts bool)
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = getattr(skfilters, f"threshold_{method}")(mask)
    assert ops.threshold_value(mask, method=method) == pytest.approx(float(expected))
    np.testing.assert_array_equal(ops.threshold(mask, method=method), mask > expected)


def test_foreground_is_strictly_above_the_manual_value():
    image = np.array([[0, 1], [2, 3]], np.uint8)
    np.testing.assert_array_equal(
        ops.threshold(image, method="manual", value=2), [[False, False], [False, True]]
    )


def test_mask_grows_as_the_value_falls(blobs):
    masks = [ops.threshold(blobs, method="manual", value=v) for v in (200, 150, 100, 50)]
    for smaller, larger in zip(masks, masks[1:], strict=False):
        assert np.all(larger[smaller])
        assert larger.sum() >= smaller.sum()


def test_threshold_of_a_3d_stack_is_global(banana):
    stack = banana[::4, ::8, ::8]
    assert ops.threshold_value(stack, method="otsu") == pytest.approx(
        float(skfilters.threshold_otsu(stack))
    )


@pytest.mark.parametrize(
    ("image", "kwargs", "word"),
    [
        (np.full((5, 5), 7.0), dict(method="otsu"), "constant"),
        (np.array([[np.nan, np.inf], [-np.inf, np.nan]]), dict(method="li"), "no finite value"),
        (np.array([[np.nan, 7.0], [np.inf, 7.0]]), dict(method="otsu"), "every finite pixel is 7"),
        (np.zeros((5, 5)), dict(method="manual"), "value"),
        (np.zeros((5, 5)), dict(method="magic"), "method"),
        # numpy's "Too many bins for data range", said; li gave NaN (an empty mask)
        (np.array([[1.0, 1.0 + 2**-52], [1.0, 1.0]]), dict(method="otsu"), "too close"),
        (np.array([[1e30, 1e30 * (1 + 2**-52)]]), dict(method="otsu"),
         r"from 1e\+30 to 1\.0+3e\+30 are too close"),  # (unscaled numbers, see below)
    ],
)
def test_bad_input_says_what_is_wrong(image, kwargs, word):
    with pytest.raises(ValueError, match=word):
        ops.threshold(image, **kwargs)
    if kwargs["method"] in AUTOMATIC_METHODS:  # (the histogram kept by the widgets too)
        with pytest.raises(ValueError, match=word):
            threshold_histogram(image, kwargs["method"])


@pytest.mark.parametrize("method", AUTOMATIC_METHODS)
@pytest.mark.parametrize(("dtype", "power"), [(np.float32, 40), (np.float32, 110),
                                              (np.float32, -60), (np.float64, 1000),
                                              (np.float64, -1000)])
def test_float_images_far_from_one_get_the_levels_of_their_scaled_values(
    blobs, method, dtype, power
):
    """Scaling by a power of two is exact: the level scales with the image. scikit-image's
    float32 sums overflowed (Otsu wrong from 1e17, the mean infinite, Li NaN, isodata an
    IndexError at 1e35) and underflowed for tiny values (review 92)."""
    image = blobs.astype(dtype)
    expected = threshold_value(image, method=method)  # (equal to skimage's: test above)
    scaled = np.ldexp(image, power)
    level = threshold_value(scaled, method=method)
    if method in ("li", "mean"):  # (Li's logarithms; the mean is summed in float64 there)
        assert level == pytest.approx(np.ldexp(expected, power), rel=1e-6)
    else:
        assert level == np.ldexp(expected, power)
    np.testing.assert_array_equal(ops.threshold(scaled, method=method),
                                  ops.threshold(image, method=method))
    kept = threshold_histogram(scaled, method)
    assert threshold_value(scaled, method=method, histogram=kept) == level


def test_values_spanning_beyond_their_dtype_are_thresholded(blobs):
    """-1e308..1e308 (float64) and -3e38..3e38 (float32) were refused (numpy could not
    bin them, scikit-image's Li gave NaN); scaled by a power of two they are binned."""
    for dtype, top in ((np.float64, 1e308), (np.float32, 3e38)):
        image = ((blobs.astype(np.float64) - blobs.min()) / np.ptp(blobs) * 2 - 1) * top
        image = image.astype(dtype)
        for method in AUTOMATIC_METHODS:
            level = threshold_value(image, method=method)
            # scikit-image's level of the same values divided by hand (-1, 1, 0, 1/top)
            function = _threshold_minimum if method == "minimum" else getattr(
                skfilters, f"threshold_{method}")
            expected = float(function(image.astype(np.float64).ravel() / top)) * top
            assert level == pytest.approx(expected, abs=1e-6 * top), method
        counts, centers = threshold_histogram(image, "otsu")
        expected_counts, _ = np.histogram(image.astype(np.float64) / top, 256)
        np.testing.assert_array_equal(counts, expected_counts)
        assert centers[0] > -top and centers[-1] < top and np.isfinite(centers).all()


def test_tiny_values_beside_huge_ones_count_in_the_mean():
    """Divided by the huge values' power of two, the tiny ones became 0 (review 93)."""
    for dtype, top, tiny in ((np.float32, 3e38, 1e-10), (np.float64, 1e300, 1e-300)):
        image = np.array([[-top, top, tiny, tiny, tiny, 5 * tiny]], dtype)
        level = threshold_value(image, method="mean")
        assert level == pytest.approx(8 * tiny / 6, rel=1e-6)
        np.testing.assert_array_equal(ops.threshold(image, method="mean"),
                                      [[False, True, False, False, False, True]])
    near_max = np.array([[1e308] * 3 + [1.7e308] * 3])  # (its float64 sum overflows)
    assert threshold_value(near_max, method="mean") == pytest.approx(1.35e308)


def test_isodata_finding_no_level_says_so():
    """scikit-image's isodata raised a bare IndexError on these values (review 93)."""
    image = np.array([[-2.06, -2.2, -0.63, -1.29], [-2.36, -3.19, -0.69, -0.99],
                      [-3.77, -2.7, -3.08, -2.67]])
    with pytest.raises(ValueError, match="'isodata' failed on this image: no level"):
        threshold_value(image, method="isodata")
    with pytest.raises(ValueError, match="'isodata' failed"):
        threshold_value(image, method="isodata", histogram=threshold_histogram(image))


def test_li_and_mean_read_values_too_close_for_bins_as_scikit_image_does():
    """They bin nothing, so 1 beside 1 + 2**-52 is no reason to refuse them."""
    image = np.array([[1.0, 1.0 + 2**-52], [1.0, 1.0]])
    for method in ("li", "mean"):
        expected = getattr(skfilters, f"threshold_{method}")(image)
        assert threshold_value(image, method=method) == expected
        np.testing.assert_array_equal(ops.threshold(image, method=method), image > expected)


def test_li_of_int8_with_negative_values_is_that_of_the_same_values_as_floats():
    """scikit-image's threshold_li of the int8 array is NaN (an empty mask)."""
    image = np.random.default_rng(0).integers(-128, 127, (50, 50)).astype(np.int8)
    expected = skfilters.threshold_li(image.astype(np.float64))
    assert threshold_value(image, method="li") == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(ops.threshold(image, method="li"), image > expected)


def _minimum_or_error(function, image):
    try:
        return function(image)
    except RuntimeError as error:
        return str(error)


@pytest.mark.parametrize(
    "image",
    [
        make_nuclei((256, 256), n=40, seed=3)[0],  # 16-bit: thousands of smoothing steps
        np.concatenate(
            [np.random.default_rng(0).normal(m, s, 4000) for m, s in ((100, 10), (200, 20))]
        ).reshape(80, 100),  # float, two clear peaks
        np.random.default_rng(1).normal(0, 1, (40, 40)),  # one peak
        np.array([[0, 0, 0, 9], [9, 9, 0, 0]], np.uint8),  # few bins, plateaus
    ],
    ids=["nuclei-uint16", "bimodal-float", "unimodal", "tiny"],
)
def test_fast_minimum_method_equals_skimage(image):
    """The batched smoothing gives scikit-image's number, or its error."""
    expected = _minimum_or_error(skfilters.threshold_minimum, image)
    assert _minimum_or_error(_threshold_minimum, image) == expected


def _skimage_maxima(row):
    """scikit-image's ``find_local_maxima_idx`` (local to ``threshold_minimum``), verbatim."""
    maximum_idxs = []
    direction = 1
    for i in range(row.shape[0] - 1):
        if direction > 0:
            if row[i + 1] < row[i]:
                direction = -1
                maximum_idxs.append(i)
        elif row[i + 1] > row[i]:
            direction = 1
    return maximum_idxs


def test_compiled_maxima_count_is_scikit_images():
    rng = np.random.default_rng(4)
    for trial in range(200):
        shape = (int(rng.integers(1, 8)), int(rng.integers(1, 40)))
        rows = rng.integers(0, 4, shape).astype(np.float32)  # plateaus everywhere
        if trial % 2:
            rows = rng.random(shape).astype(np.float32)
        expected = [len(_skimage_maxima(row)) for row in rows]
        assert _count_maxima(rows).tolist() == expected


@pytest.mark.parametrize("method", AUTOMATIC_METHODS)
def test_a_kept_histogram_gives_the_same_thresholds(method, blobs):
    rng = np.random.default_rng(5)
    images = [blobs, make_nuclei((64, 64), n=8, seed=2)[0], rng.normal(100, 20, (40, 40))]
    for image in images:
        hist = threshold_histogram(image)
        expected = ops.threshold_value(image, method=method)
        assert ops.threshold_value(image, method=method, histogram=hist) == expected


def test_prepare_computes_the_histogram_once_per_image(blobs, monkeypatch):
    calls = []
    real = skfilters.threshold_otsu

    def counting(*args, **kwargs):
        calls.append(kwargs.get("hist") is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(skfilters, "threshold_otsu", counting)
    cache = {}
    first = prepare_threshold(blobs, {"method": "otsu", "value": None}, cache)
    assert "histogram" in cache and calls == [True]
    again = prepare_threshold(blobs, {"method": "otsu", "value": None}, cache)
    assert first == again == {"method": "manual", "value": float(real(blobs))}
    with pytest.raises(ValueError, match="constant"):
        threshold_histogram(np.full((4, 4), 7, np.uint16))


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.uint16, np.int8, np.int16, np.int32, np.uint32, ">u2", ">i4"]
)
@pytest.mark.parametrize("shape", [(5, 7), (3, 700, 800)])  # one part, and one per thread
def test_threshold_histogram_counts_as_scikit_image(dtype, shape):
    from skimage.exposure import histogram

    info = np.iinfo(np.dtype(dtype))  # (big-endian: read natively by the compiled count)
    rng = np.random.default_rng(8)
    for low, high in ((info.min, info.min + 40), (max(info.min, -300), min(info.max, 3000))):
        image = rng.integers(low, high, shape, endpoint=True).astype(dtype)
        counts, centers = threshold_histogram(image)
        expected_counts, expected_centers = histogram(image.reshape(-1), 256, source_range="image")
        np.testing.assert_array_equal(counts, expected_counts)
        np.testing.assert_array_equal(centers, expected_centers)
        assert counts.dtype == expected_counts.dtype and centers.dtype == expected_centers.dtype


@pytest.mark.parametrize("dtype", [np.uint32, np.int64])
def test_integer_images_spanning_billions_of_values_are_binned_not_counted(dtype):
    """scikit-image would allocate a bin per value (1.85 TiB for this int64 image):
    256 bins over the range instead, as scikit-image bins the same values as floats;
    li and mean read the values themselves, as scikit-image does."""
    rng = np.random.default_rng(6)
    high = 3_000_000_000 if dtype == np.uint32 else 250_000_000_000
    low_values = rng.integers(0, high // 10, 3000)
    high_values = rng.integers(high // 2, high, 1000)
    image = np.concatenate([low_values, high_values]).astype(dtype).reshape(50, 80)
    counts, centers = threshold_histogram(image)
    assert counts.size == 256 and counts.sum() == image.size
    as_float = image.astype(np.float64)
    for method in ("otsu", "yen", "isodata", "minimum", "triangle"):
        expected = getattr(skfilters, f"threshold_{method}")(as_float)
        assert threshold_value(image, method=method) == pytest.approx(expected, rel=1e-12)
        cache = {}
        prepared = prepare_threshold(image, {"method": method, "value": None}, cache)
        assert prepared["value"] == pytest.approx(expected, rel=1e-12)
    for method, expected in (
        # the fixed point of Li's iteration (skimage's float tolerance, far tighter than
        # the 0.5 its integer branch and ours use): within rounding of it
        ("li", skfilters.threshold_li(as_float)),
        ("mean", skfilters.threshold_mean(image)),
    ):
        assert threshold_value(image, method=method) == pytest.approx(expected, rel=1e-9)
        cache = {"histogram": (counts, centers)}  # a kept (binned) histogram is not used
        prepared = prepare_threshold(image, {"method": method, "value": None}, cache)
        assert prepared["value"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("dtype", [np.int32, np.uint32])
def test_minimum_of_spans_past_16_bit_reads_256_bins(dtype):
    """One bin per value over 8 million values smoothed up to 10000 times took hours
    and gigabytes (found by the fuzz test): past 2**16 values, 256 bins over the range,
    as scikit-image bins the same values as floats; 16-bit spans keep its number."""
    rng = np.random.default_rng(9)
    image = np.concatenate(
        [rng.normal(2_000_000, 300_000, 3000), rng.normal(6_000_000, 300_000, 1000)]
    ).clip(0, 8_400_000).astype(dtype).reshape(50, 80)
    expected = skfilters.threshold_minimum(image.astype(np.float64))
    assert threshold_value(image, method="minimum") == pytest.approx(expected, rel=1e-12)
    prepared = prepare_threshold(image, {"method": "minimum", "value": None}, {})
    assert prepared["value"] == pytest.approx(expected, rel=1e-12)
    narrow = (image // 4000).astype(dtype)  # a span of 2100 values: one bin per value
    assert threshold_value(narrow, method="minimum") == skfilters.threshold_minimum(narrow)


def test_uint64_images_past_2_to_the_63():
    image = np.array([[0, 2**63 + 5, 2**64 - 1, 17]] * 4, np.uint64)
    as_float = image.astype(np.float64)
    for method in ("otsu", "yen", "isodata", "triangle", "mean"):
        expected = getattr(skfilters, f"threshold_{method}")(as_float)
        assert threshold_value(image, method=method) == pytest.approx(expected, rel=1e-9)


def test_uint64_images_of_a_narrow_span_past_2_to_the_63_are_counted():
    """One bin per value from 2**63 + 10 (the bin centres overflowed int64)."""
    image = np.full((10, 10), 2**63 + 10, np.uint64)
    image[:5] += 100
    for method in ("otsu", "yen", "isodata", "triangle", "li", "mean"):
        value = threshold_value(image, method=method)  # (float64 cannot split these)
        assert 2**63 <= value <= 2**63 + 110 + 2048, method


@pytest.mark.parametrize("method", ["otsu", "yen", "isodata", "triangle", "li", "mean", "minimum"])
@pytest.mark.parametrize(
    ("dtype", "shift"), [(np.int64, 2**62), (np.int64, -(2**62)), (np.uint64, 2**64 - 1000)]
)
def test_64_bit_images_past_2_to_the_53_give_the_mask_of_their_offsets(method, dtype, shift):
    """Values 2**62 + 0..100 round together as floats: masks were empty (helper review 69).

    Every method is unchanged by a shift of all values, so the mask is that of the
    small values themselves.
    """
    small = np.array([[0, 0, 0, 100], [100, 100, 0, 0], [7, 3, 90, 95]] * 3)
    image = (small.astype(object) + shift).astype(dtype)
    np.testing.assert_array_equal(ops.threshold(image, method=method),
                                  ops.threshold(small, method=method))


def test_a_manual_integer_threshold_past_2_to_the_53_is_compared_exactly():
    image = np.array([[0, 40, 50, 60]], np.int64) + 2**62
    np.testing.assert_array_equal(ops.threshold(image, method="manual", value=2**62 + 50),
                                  [[False, False, False, True]])
    # a float level compares as its floor: 2**62 + 100 is above the float 2**62
    np.testing.assert_array_equal(ops.threshold(image, method="manual", value=2.0**62),
                                  [[False, True, True, True]])


def test_mean_of_int64_values_whose_sum_overflows_int64():
    image = np.full((100, 100), 10**15, np.int64)
    image[:50] += 1000
    value = threshold_value(image, method="mean")
    assert value == pytest.approx(skfilters.threshold_mean(image), rel=1e-15)
    assert value == 10**15 + 500  # exact (np.mean is 0.125 above)
    assert ops.threshold(image, method="mean").mean() == 0.5


def test_a_kept_histogram_that_cannot_be_made_names_the_chosen_method():
    image = np.full((4, 4), np.nan)
    with pytest.raises(ValueError, match="threshold 'yen' needs finite values"):
        prepare_threshold(image, {"method": "yen", "value": None}, {})


def test_a_manual_threshold_reads_no_pixel_but_still_checks_the_image():
    """A lazy stack is not read for a manual value; what no operation takes is refused."""
    import dask.array as da

    reads = []
    lazy = da.zeros((4, 8, 8), chunks=(1, 8, 8)).map_blocks(
        lambda block: reads.append(1) or block, dtype=float)
    reads.clear()
    assert ops.threshold_value(lazy, method="manual", value=3) == 3.0 and reads == []
    with pytest.raises(ValueError, match="2D or 3D"):
        ops.threshold_value(np.zeros(5), method="manual", value=1)
    with pytest.raises(TypeError, match="real numbers"):
        ops.threshold_value(np.zeros((3, 3), complex), method="manual", value=1)


def _rgba():
    """An RGB image (two populations) and the same with alpha 255, as a PNG holds it."""
    rgb = np.random.default_rng(0).integers(0, 120, (64, 64, 3)).astype(np.uint8)
    rgb[20:40, 20:40] += 100
    return rgb, np.dstack([rgb, np.full((64, 64), 255, np.uint8)])


@pytest.mark.parametrize("method", AUTOMATIC_METHODS)
def test_an_rgba_image_is_thresholded_by_its_colours_alone(method):
    """Alpha is opacity: its 255s joined the histogram (Otsu 154 instead of the RGB's
    73: masks of ~210 pixels instead of ~1800) and got a mask of their own."""
    rgb, rgba = _rgba()
    expected = float(getattr(skfilters, f"threshold_{method}")(rgb.reshape(-1)))
    assert threshold_value(rgba, method=method) == pytest.approx(expected)
    assert threshold_value(rgb, method=method) == pytest.approx(expected)  # (RGB unchanged)
    for image in (rgba, rgb):
        np.testing.assert_array_equal(ops.threshold(image, method=method), rgb > expected)
    # the widgets' way: the histogram kept, then the value as a manual threshold
    prepared = prepare_threshold(rgba, {"method": method, "value": None}, {})
    assert prepared["value"] == pytest.approx(expected)
    np.testing.assert_array_equal(ops.threshold(rgba, **prepared), rgb > expected)


def test_an_rgba_stack_gets_a_mask_per_colour_and_none_for_alpha():
    rgb, rgba = _rgba()
    stack = np.stack([rgba, rgba // 2])  # (z, y, x, 4)
    np.testing.assert_array_equal(
        ops.threshold(stack, method="manual", value=60), stack[..., :3] > 60
    )
    assert threshold_histogram(stack)[0].sum() == stack[..., :3].size
    # a grey image too small for the shape rule keeps its 4 columns
    small = np.arange(32, dtype=np.uint8).reshape(8, 4)
    assert ops.threshold(small, method="otsu").shape == (8, 4)


@pytest.mark.parametrize("method", AUTOMATIC_METHODS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_automatic_values_come_from_the_finite_pixels(method, dtype):
    """NaN (and infinite) pixels were refused: "replace them first, e.g. np.nan_to_num",
    which a GUI user cannot do; Fiji ignores NaN pixels. NaN is background, +inf
    foreground, -inf background."""
    image = (np.random.default_rng(3).random((40, 50)) * 100).astype(dtype)
    image[10:25, 10:30] += 80
    image[0, :7] = np.nan
    image[1, 3], image[2, 4] = np.inf, -np.inf
    finite = image[np.isfinite(image)]
    expected = float(getattr(skfilters, f"threshold_{method}")(finite))
    assert threshold_value(image, method=method) == pytest.approx(expected, rel=1e-6)
    mask = ops.threshold(image, method=method)
    np.testing.assert_array_equal(mask, image > expected)
    assert not mask[0, :7].any() and mask[1, 3] and not mask[2, 4]
    # the widgets' way (the kept histogram) and the dock's line give the same value
    prepared = prepare_threshold(image, {"method": method, "value": None}, {})
    assert prepared["value"] == pytest.approx(expected, rel=1e-6)
    counts, centers = threshold_histogram(image, method)
    assert counts.sum() == finite.size
