import numpy as np
import pytest

from napari_bioimg import ops
from napari_bioimg.ops.planes import (
    compute_plane,
    compute_slabs,
    count_slabs,
    iter_slabs,
    output_geometry,
    slab_halo,
)

CASES = [
    ("median", {"radius": 2}),
    ("gaussian", {"sigma": 1.5}),
    ("gaussian", {"sigma": 6.0}),
    ("difference_of_gaussian", {"sigma1": 1.0, "sigma2": 3.0}),
    ("white_top_hat", {"radius": 2}),
    ("laplacian_of_gaussian", {"sigma": 1.0}),
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
# Plane hooks whose plane is the full result's, bit for bit.
EXACT_PLANES = {
    *("mean", "median", "minimum", "maximum", "white_top_hat", "black_top_hat"),
    *("gaussian", "difference_of_gaussian", "laplacian_of_gaussian", "sobel", "laplace"),
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
