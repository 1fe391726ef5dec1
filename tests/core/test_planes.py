import numpy as np
import pytest

from napari_bioimg import ops
from napari_bioimg.ops.planes import (
    compute_plane,
    compute_slabs,
    count_slabs,
    iter_slabs,
    output_geometry,
    output_shape,
    slab_halo,
)

CASES = [
    ("median", {"radius": 2}),
    ("gaussian", {"sigma": 1.5}),
    ("gaussian", {"sigma": 6.0}),
    ("difference_of_gaussian", {"sigma1": 1.0, "sigma2": 3.0}),
    ("white_top_hat", {"radius": 2}),
    ("laplacian_of_gaussian", {"sigma": 1.0}),
    ("laplacian_of_gaussian", {"sigma": 4.0}),
    ("threshold", {"method": "otsu"}),
    # single-pass filters computing one plane alone (ball and box paths)
    ("mean", {"radius": 3}),
    ("minimum", {"radius": 2, "footprint": "box"}),
    ("maximum", {"radius": 2}),
    ("median", {"radius": 3, "footprint": "box"}),
    ("variance", {"radius": 2}),
    ("standard_deviation", {"radius": 2, "footprint": "box"}),
    ("white_top_hat", {"radius": 2, "footprint": "box"}),
    ("black_top_hat", {"radius": 3}),
    ("sobel", {}),
    ("laplace", {}),
]
# Mask operations, on the hyperstack thresholded.
MASK_CASES = [
    ("binary_erosion", {"radius": 2}),
    ("binary_dilation", {"radius": 1, "footprint": "box"}),
    ("binary_opening", {"radius": 2}),
    ("binary_closing", {"radius": 10}),  # the distance path (whole slab)
]
# Plane hooks whose plane is the full result's, bit for bit (the others: variance and
# standard deviation, and the Laplacian of Gaussian, whose plane blurs a combination
# of planes, to float32 rounding).
EXACT_PLANES = {
    *("mean", "median", "minimum", "maximum", "white_top_hat", "black_top_hat"),
    *("gaussian", "difference_of_gaussian", "sobel", "laplace"),
}


@pytest.fixture(scope="module")
def hyperstack():
    return np.random.default_rng(0).integers(0, 255, (2, 12, 30, 30)).astype(np.uint8)


@pytest.mark.parametrize(("name", "params"), CASES)
@pytest.mark.parametrize("spacing", [(2.0, 1.0, 1.0), (1.0, 1.0)])
def test_plane_and_slabs_equal_the_full_result(hyperstack, name, params, spacing):
    op = ops.get_operation(name)
    full = op(hyperstack, spacing=spacing, **params)
    for index in [(0, 0), (1, 5), (1, 11)]:
        plane = compute_plane(op, hyperstack, params, index, spacing)
        assert plane.dtype == full.dtype
        if op.plane is not None and name not in EXACT_PLANES:  # up to float32 rounding
            np.testing.assert_allclose(plane, full[index], rtol=1e-5, atol=1e-3)
        else:
            np.testing.assert_array_equal(plane, full[index])
    pieces = list(iter_slabs(op, hyperstack, params, spacing, planes=5))
    assert len(pieces) == count_slabs(op, hyperstack, params, spacing, planes=5)
    if slab_halo(op, params, hyperstack, spacing) is None:
        assert len(pieces) == 1 and pieces[0][0] is None
        np.testing.assert_array_equal(pieces[0][1], full)
    else:
        assembled = np.zeros_like(full)
        for region, piece in pieces:
            assembled[region] = piece
        np.testing.assert_array_equal(assembled, full)
    generator = compute_slabs(op, hyperstack, params, spacing, planes=5)
    steps = 0
    try:
        while True:
            next(generator)
            steps += 1
    except StopIteration as stop:
        np.testing.assert_array_equal(stop.value, full)
    assert steps == len(pieces)


def test_output_geometry_keeps_results_overlaid():
    shape, scale, translate = (10, 20, 30), (2.0, 0.5, 0.5), (1.0, 0.0, 0.0)
    crop = ops.get_operation("crop")
    assert output_geometry(crop, {"start": [2, 4, None]}, shape, scale, translate) == (
        scale,
        (5.0, 2.0, 0.0),
    )
    sub = ops.get_operation("subsample")
    assert output_geometry(sub, {"step": [1, 5, 5]}, shape, scale, translate)[0] == (2.0, 2.5, 2.5)
    proj = ops.get_operation("project")
    assert output_geometry(proj, {"axis": 0}, shape, scale, translate) == ((0.5, 0.5), (0.0, 0.0))
    # along y: a side view (z rows, x columns) just below the stack, not over it
    side_scale, side_translate = output_geometry(proj, {"axis": 1}, shape, scale, translate)
    assert side_scale == (2.0, 0.5)
    height = shape[1] * 0.5
    assert side_translate == pytest.approx((-0.25 + height * 1.05 + 1.0, 0.0))
    iso = ops.get_operation("resample_isotropic")
    assert output_geometry(iso, {}, shape, scale, translate)[0] == (0.5, 0.5, 0.5)


def test_threshold_is_prepared_globally_then_applied_per_plane(hyperstack):
    op = ops.get_operation("threshold")
    value = ops.threshold_value(hyperstack, method="li")
    plane = compute_plane(op, hyperstack, {"method": "li"}, (1, 4))
    np.testing.assert_array_equal(plane, hyperstack[1, 4] > value)


@pytest.mark.parametrize(("name", "params"), MASK_CASES)
def test_mask_plane_hooks_equal_the_full_result(hyperstack, name, params):
    op = ops.get_operation(name)
    mask = hyperstack > 120
    full = op(mask, spacing=(2.0, 1.0, 1.0), **params)
    for index in [(0, 0), (1, 5), (1, 11)]:
        plane = compute_plane(op, mask, params, index, (2.0, 1.0, 1.0))
        np.testing.assert_array_equal(plane, full[index])


# Operations with no halo whose plane hook reads only what the plane needs, or
# keeps whole-block intermediates in a store: (name, parameters, input).
GLOBAL_CASES = [
    ("flip", {"axis": 0}, "image"),
    ("flip", {"axis": -1}, "image"),
    ("flip", {"axis": 1}, "image"),
    ("resample_isotropic", {"order": 0}, "image"),
    ("resample_isotropic", {"order": 1}, "image"),
    ("resample_isotropic", {"order": 3}, "image"),
    ("label", {"connectivity": 1}, "mask"),
    ("label", {"connectivity": 3}, "mask"),
    ("fill_holes", {}, "mask"),
    ("remove_small_objects", {"min_size": 20.0, "connectivity": 1}, "mask"),
    ("remove_small_objects", {"min_size": 3.0, "connectivity": 2}, "mask"),
]


def _output_planes(shape):
    first = [0] * (len(shape) - 2)
    middle = [n // 2 for n in shape[:-2]]
    last = [n - 1 for n in shape[:-2]]
    return [tuple(first), tuple(middle), tuple(last)]


@pytest.mark.parametrize(("name", "params", "kind"), GLOBAL_CASES)
@pytest.mark.parametrize("spacing", [(2.0, 1.0, 1.0), (1.0, 1.0), (1.0, 0.4)])
def test_output_plane_hooks_equal_the_full_result(hyperstack, name, params, kind, spacing):
    op = ops.get_operation(name)
    assert op.output_plane is not None
    if params.get("connectivity", 1) > len(spacing):
        pytest.skip("connectivity beyond the spatial axes is refused (tested in test_morphology)")
    data = hyperstack > 120 if kind == "mask" else hyperstack
    full = op(data, spacing=spacing, **params)
    store = {}
    for index in _output_planes(full.shape):
        for kept in (store, None):  # with and without a store to keep intermediates in
            plane = compute_plane(op, data, params, index, spacing, kept)
            assert plane.dtype == full.dtype
            np.testing.assert_array_equal(plane, full[index])


def test_remove_small_objects_plane_reuses_the_runs_for_every_size(hyperstack):
    op = ops.get_operation("remove_small_objects")
    mask = hyperstack[0] > 100
    store = {}
    compute_plane(op, mask, {"min_size": 2.0}, (3,), (2.0, 1.0, 1.0), store)
    runs, joins = store["runs"][1], store["joins"][1]
    for min_size in (1.0, 6.0, 40.0, 400.0):
        plane = compute_plane(op, mask, {"min_size": min_size}, (3,), (2.0, 1.0, 1.0), store)
        assert store["joins"][1] is joins  # not labelled again
        expected = ops.remove_small_objects(mask, min_size=min_size, spacing=(2.0, 1.0, 1.0))
        np.testing.assert_array_equal(plane, expected[3])
    plane = compute_plane(
        op, mask, {"min_size": 6.0, "connectivity": 3}, (3,), (2.0, 1.0, 1.0), store
    )
    # A new connectivity joins the same runs again; one joining is kept, the latest.
    assert store["runs"][1] is runs and store["joins"][0] == ((), 3)
    expected = ops.remove_small_objects(
        mask, min_size=6.0, connectivity=3, spacing=(2.0, 1.0, 1.0)
    )
    np.testing.assert_array_equal(plane, expected[3])


def test_output_plane_of_a_resampled_stack_is_indexed_in_the_result():
    op = ops.get_operation("resample_isotropic")
    stack = np.random.default_rng(5).integers(0, 1000, (6, 10, 11)).astype(np.uint16)
    full = op(stack, spacing=(2.0, 0.5, 0.5))
    assert full.shape[0] == 21 and output_shape(op, {}, stack.shape, (2.0, 0.5, 0.5)) == full.shape
    for k in (0, 7, 20):
        np.testing.assert_array_equal(compute_plane(op, stack, {}, (k,), (2.0, 0.5, 0.5)), full[k])


@pytest.mark.parametrize(
    "dtype",
    [np.uint8, np.uint16, np.int16, np.float16, np.float32, np.float64, np.dtype(">u2")],
)
@pytest.mark.parametrize("spacing", [(2.0, 0.5, 0.5), (1.7, 0.6, 0.5), (0.5, 2.0, 1.0)])
def test_spline_planes_of_a_resampled_stack_need_no_prefiltered_stack(dtype, spacing):
    # (float16: the compiled kernel has no float16, it read numba's error)
    # Orders 2 and 3 read z coefficients as weighted sums of the input planes; they
    # are stored as float32 as the whole resampling stores them, so the planes are
    # the same (float64 data keeps float64 coefficients: equal to rounding).
    op = ops.get_operation("resample_isotropic")
    stack = (np.random.default_rng(6).random((9, 12, 13)) * 200).astype(dtype)
    for order in (2, 3):
        full = op(stack, spacing=spacing, order=order)
        for k in range(full.shape[0]):
            plane = compute_plane(op, stack, {"order": order}, (k,), spacing)
            if dtype == np.float64:
                np.testing.assert_allclose(plane, full[k], rtol=1e-13, atol=1e-12)
            elif dtype == np.float16:  # within one float16 step (sums in another order)
                np.testing.assert_allclose(plane, full[k], rtol=2**-10, atol=0)
            else:
                np.testing.assert_array_equal(plane, full[k])


def test_spline_planes_of_a_long_stack_weigh_only_the_planes_within_reach():
    # 90 planes: a coefficient weighs the planes within reach of it (the rest
    # weigh below 1e-20), near the ends through the mirrored boundary.
    op = ops.get_operation("resample_isotropic")
    stack = (np.random.default_rng(8).random((90, 4, 5)) * 4000).astype(np.uint16)
    for order in (2, 3):
        full = op(stack, spacing=(1.5, 0.5, 0.5), order=order)
        for k in (0, 1, 100, 180, full.shape[0] - 1):
            plane = compute_plane(op, stack, {"order": order}, (k,), (1.5, 0.5, 0.5))
            np.testing.assert_array_equal(plane, full[k])


def test_difference_of_gaussian_plane_blurs_again_only_the_sigma_that_changed(hyperstack):
    op = ops.get_operation("difference_of_gaussian")
    spacing = (2.0, 1.0, 1.0)
    store = {}
    compute_plane(op, hyperstack, {"sigma1": 1.0, "sigma2": 3.0}, (1, 4), spacing, store)
    wide = store["sigma2 plane"][1]
    for sigma1 in (0.5, 2.0, 4.0):  # sigma2 kept: its plane is not blurred again
        params = {"sigma1": sigma1, "sigma2": 3.0}
        plane = compute_plane(op, hyperstack, params, (1, 4), spacing, store)
        assert store["sigma2 plane"][1] is wide
        np.testing.assert_array_equal(plane, op(hyperstack, spacing=spacing, **params)[1, 4])
    params = {"sigma1": 4.0, "sigma2": 1.5}  # now sigma1's plane is reused
    narrow = store["sigma1 plane"][1]
    plane = compute_plane(op, hyperstack, params, (1, 4), spacing, store)
    assert store["sigma1 plane"][1] is narrow
    np.testing.assert_array_equal(plane, op(hyperstack, spacing=spacing, **params)[1, 4])
    # another plane (or batch) is blurred anew
    plane = compute_plane(op, hyperstack, params, (0, 4), spacing, store)
    assert store["sigma1 plane"][0] == ((0, 4), 4.0, spacing)
    np.testing.assert_array_equal(plane, op(hyperstack, spacing=spacing, **params)[0, 4])


def test_output_geometry_of_an_rgb_image_ignores_its_colour_axis():
    shape, scale, translate = (30, 40, 3), (0.5, 0.25), (1.0, 2.0)
    sub = ops.get_operation("subsample")
    assert output_geometry(sub, {"step": [2, 4]}, shape, scale, translate) == (
        (1.0, 1.0),
        translate,
    )
    crop = ops.get_operation("crop")
    assert output_geometry(crop, {"start": [2, 4], "stop": [20, 30]}, shape, scale, translate) == (
        scale,
        (2.0, 3.0),
    )


@pytest.mark.parametrize("name", ["mean", "label", "fill_holes", "remove_small_objects", "flip"])
def test_plane_index_reads_negatives_as_numpy_and_refuses_out_of_range(name):
    op = ops.get_operation(name)
    volume = np.random.default_rng(0).random((7, 14, 15)).astype(np.float32)
    data = volume > 0.5 if op.input_kind == "mask" else volume
    full = op(data)
    np.testing.assert_array_equal(compute_plane(op, data, {}, (-1,)), full[-1])
    for index in (7, -8):  # (past the end crashed the process in the labelling hooks)
        with pytest.raises(IndexError, match="out of range"):
            compute_plane(op, data, {}, (index,))


@pytest.mark.parametrize(
    ("name", "parameters", "message"),
    [("laplacian_of_gaussian", {"sigma": 0.0}, "'sigma' must be positive"),
     ("difference_of_gaussian", {"sigma2": -1.0}, "'sigma2' must be positive"),
     ("gaussian", {"sigma": -1.0}, "'sigma' must be positive")],
)
def test_plane_previews_refuse_what_the_filters_refuse(name, parameters, message):
    op = ops.get_operation(name)
    volume = np.random.default_rng(0).random((7, 14, 15)).astype(np.float32)
    with pytest.raises(ValueError, match=message):
        op(volume, **parameters)
    with pytest.raises(ValueError, match=message):
        compute_plane(op, volume, parameters, (3,))


@pytest.mark.parametrize("halo", [0, 1])
def test_a_function_registered_with_a_halo_must_keep_the_shape(halo):
    """Its plane preview showed a subsampled plane at the input's scale, and Apply failed
    with numpy's "could not broadcast input array from shape (8,48,48) into (8,96,96)"."""

    def halves(image, k: int = 2):
        return image[..., ::k, ::k]

    ops.register(halves, halo=halo)
    op = ops.get_operation("halves")
    try:
        stack = np.random.default_rng(1).random((10, 12, 12)).astype(np.float32)
        message = r"halves returned shape \((\d+, )?6, 6\) for an image of shape \((\d+, )?12, 12"
        with pytest.raises(ValueError, match=message + ".*register it without halo"):
            compute_plane(op, stack, {"k": 2}, (4,))
        with pytest.raises(ValueError, match=message):
            list(iter_slabs(op, stack, {"k": 2}))
        np.testing.assert_array_equal(compute_plane(op, stack, {"k": 1}, (4,)), stack[4])
    finally:
        ops.unregister("halves")


@pytest.mark.parametrize(
    "name", ["minimum", "maximum", "median", "white_top_hat", "black_top_hat"]
)
@pytest.mark.parametrize("dtype", [np.float16, np.dtype(">u2"), np.dtype(">f4")])
def test_planes_of_dtype_keeping_filters_have_the_whole_results_dtype(name, dtype):
    """float16 and big-endian data: the planes came back float32 / native (review 69)."""
    op = ops.get_operation(name)
    stack = (np.random.default_rng(4).random((5, 40, 40)) * 100).astype(dtype)
    for radius in (1.0, 6.0):  # (small and large footprints take different paths)
        full = op(stack, spacing=(1.0, 1.0, 1.0), radius=radius)
        plane = compute_plane(op, stack, {"radius": radius}, (2,), (1.0, 1.0, 1.0))
        assert plane.dtype == full.dtype == dtype
        np.testing.assert_array_equal(plane, full[2])


@pytest.mark.parametrize("shape", [(64, 64, 4), (3, 20, 30, 4), (30, 40, 3)])
def test_an_rgb_images_threshold_in_slabs_is_its_whole_threshold(shape):
    """Slabs of 8 rows no longer look RGB: Apply thresholded an RGBA image's alpha too
    (a fourth mask), as grey columns."""
    image = np.random.default_rng(0).integers(0, 255, shape).astype(np.uint8)
    op = ops.get_operation("threshold")
    parameters = {"method": "otsu", "value": None}
    expected = ops.threshold(image, method="otsu")
    assert expected.shape[-1] == 3  # (R, G and B: alpha gets no mask)
    np.testing.assert_array_equal(_run_slabs(op, image, parameters), expected)


def _run_slabs(op, image, parameters):
    slabs = compute_slabs(op, image, parameters)
    try:
        while True:
            next(slabs)
    except StopIteration as stop:
        return stop.value
