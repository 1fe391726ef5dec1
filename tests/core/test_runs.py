"""Connected components through runs (ops/_runs.py) against scipy and scikit-image."""

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import morphology as skmorph

from napari_bioimg import ops
from napari_bioimg.ops._kernels import row_shares
from napari_bioimg.ops._runs import find_runs, join_runs, paint, run_sizes


def scipy_labels(mask, connectivity):
    structure = ndi.generate_binary_structure(mask.ndim, connectivity)
    return ndi.label(mask, structure)


def test_runs_of_a_small_mask_by_hand():
    mask = np.array([[0, 1, 1, 0, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], bool)
    runs = find_runs(mask)
    assert runs.shape == (1, 3, 5) and runs.count == 3
    np.testing.assert_array_equal(runs.offsets, [0, 2, 3, 3])
    np.testing.assert_array_equal(runs.starts, [1, 4, 0])
    np.testing.assert_array_equal(runs.ends, [3, 5, 5])
    background = find_runs(mask, invert=True)
    np.testing.assert_array_equal(background.starts, [0, 3, 0])
    np.testing.assert_array_equal(background.ends, [1, 4, 5])
    labels, count = join_runs(runs, 1)
    assert count == 1 and labels.tolist() == [1, 1, 1]


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 9), (9, 1), (4, 1, 7), (1, 6, 5), (6, 5, 1), (13, 31), (7, 11, 12)]
)
@pytest.mark.parametrize("density", [0.0, 0.35, 0.65, 1.0])
def test_labels_equal_scipy_for_every_connectivity(shape, density):
    rng = np.random.default_rng(sum(shape) + int(100 * density))
    mask = rng.random(shape) < density
    for connectivity in range(1, len(shape) + 1):
        expected, count = scipy_labels(mask, connectivity)
        runs = find_runs(mask)
        labels, n = join_runs(runs, connectivity)
        assert n == count
        np.testing.assert_array_equal(paint(runs, labels), expected)
        np.testing.assert_array_equal(ops.label(mask, connectivity=connectivity), expected)


def test_objects_spanning_the_stack_join_across_planes_and_diagonals():
    # A helix of single pixels: each step moves one plane and one row and one column,
    # so only the full (26-) connectivity joins it; a bar joins through every plane.
    mask = np.zeros((12, 12, 12), bool)
    for k in range(12):
        mask[k, k, (k * 5) % 12 if k % 2 else k] = True
    mask[:, 0, 11] = True
    for connectivity in (1, 2, 3):
        expected, count = scipy_labels(mask, connectivity)
        np.testing.assert_array_equal(ops.label(mask, connectivity=connectivity), expected)


def test_paint_of_one_plane_equals_that_plane_of_the_block():
    mask = np.random.default_rng(3).random((6, 20, 25)) < 0.5
    runs = find_runs(mask)
    labels, _ = join_runs(runs, 2)
    full = paint(runs, labels)
    for z in (0, 3, 5):
        np.testing.assert_array_equal(paint(runs, labels, plane=z), full[z])
    flags = labels % 2 == 0
    np.testing.assert_array_equal(
        paint(runs, flags, background=True, plane=4), ~mask[4] | (full[4] % 2 == 0)
    )


def test_run_sizes_are_the_object_sizes():
    mask = np.random.default_rng(4).random((5, 30, 30)) < 0.55
    runs = find_runs(mask)
    labels, count = join_runs(runs, 1)
    expected, _ = scipy_labels(mask, 1)
    np.testing.assert_array_equal(
        run_sizes(runs, labels, count), np.bincount(expected.ravel()) * (np.arange(count + 1) > 0)
    )


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_remove_small_objects_in_3d_equals_skimage(connectivity):
    mask = np.random.default_rng(connectivity).random((10, 24, 26)) < 0.45
    for min_size in (2, 5, 40):
        expected = skmorph.remove_small_objects(
            mask, max_size=min_size - 1, connectivity=connectivity
        )
        np.testing.assert_array_equal(
            ops.remove_small_objects(mask, min_size=min_size, connectivity=connectivity), expected
        )


def test_real_stack_labels_and_holes_equal_scipy(banana):
    mask = banana > np.percentile(banana, 70)
    for connectivity in (1, 3):
        expected, _ = scipy_labels(mask, connectivity)
        np.testing.assert_array_equal(ops.label(mask, connectivity=connectivity), expected)
    np.testing.assert_array_equal(ops.fill_holes(mask), ndi.binary_fill_holes(mask))


def test_holes_touching_only_the_first_or_last_plane_are_not_holes():
    mask = np.ones((4, 7, 7), bool)
    mask[0, 3, 3] = False  # background on the first plane: touches the border
    mask[2, 3, 3] = False  # enclosed: a hole
    mask[3, 1:3, 1:3] = False  # on the last plane
    filled = ops.fill_holes(mask)
    assert not filled[0, 3, 3] and filled[2, 3, 3] and not filled[3, 1:3, 1:3].any()
    np.testing.assert_array_equal(filled, ndi.binary_fill_holes(mask))


@pytest.mark.parametrize("threads", [2, 3, 5, 9])
def test_runs_found_by_several_threads_equal_those_of_one(monkeypatch, threads):
    # Rows written by one share spill into the first slot of the next row with
    # runs, which may belong to another share: the shares run here one after the
    # other in reverse order (the worst interleaving), with empty rows, wholly
    # empty shares and runs reaching the row's end at the shares' edges.
    from napari_bioimg.ops import _runs

    def reversed_shares(function, rows, *args):
        ranges = row_shares(rows, threads)
        for r0, r1 in reversed(ranges):
            function(*args, r0, r1)
        return ranges

    rng = np.random.default_rng(threads)
    mask = rng.random((3, 10, 70)) < 0.5
    mask[:, ::3] = False
    mask[1, 2:9] = False
    mask[:, 1::4, -5:] = True
    one = find_runs(mask)
    monkeypatch.setattr(_runs, "run_rows", reversed_shares)
    for invert in (False, True):
        many = find_runs(mask, invert=invert)
        expected = find_runs(~mask) if invert else one
        for name in ("offsets", "starts", "ends"):
            np.testing.assert_array_equal(getattr(many, name), getattr(expected, name))
    many = find_runs(mask)
    np.testing.assert_array_equal(paint(many, join_runs(many, 3)[0]), scipy_labels(mask, 3)[0])
