import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi
from skimage import measure
from skimage import morphology as skmorph

from napari_bioimg import ops

from ..conftest import data_path


def brute_force(mask, footprint, operation):
    """Reference with edge replication: pad, apply scipy with the footprint, crop."""
    pad = [s // 2 for s in footprint.shape]
    padded = np.pad(mask, [(p, p) for p in pad], mode="edge")
    result = operation(padded, structure=footprint)
    return result[tuple(slice(p, p + n) for p, n in zip(pad, mask.shape, strict=True))]


def lecture_mask():
    mask = np.zeros((5, 5), bool)
    mask[1:4, 1:4] = True
    return mask


def test_lecture_5x5_erosion_and_dilation():
    mask = lecture_mask()
    eroded = ops.binary_erosion(mask, radius=1)
    expected = np.zeros((5, 5), bool)
    expected[2, 2] = True
    np.testing.assert_array_equal(eroded, expected)
    dilated = ops.binary_dilation(mask, radius=1)
    expected = np.ones((5, 5), bool)
    expected[[0, 0, 4, 4], [0, 4, 0, 4]] = False  # the disk does not reach the corners
    np.testing.assert_array_equal(dilated, expected)
    np.testing.assert_array_equal(
        ops.binary_dilation(mask, radius=1, footprint="box"), np.ones((5, 5), bool)
    )


@pytest.fixture(scope="module")
def blob_mask(blobs):
    return blobs > 128


@pytest.mark.parametrize("radius", [1, 2, 4, 7])
@pytest.mark.parametrize("footprint", ["ball", "box"])
def test_erosion_dilation_equal_brute_force(blob_mask, radius, footprint):
    fp = skmorph.disk(radius) if footprint == "ball" else np.ones((2 * radius + 1,) * 2)
    fp = fp.astype(bool)
    kwargs = dict(radius=radius, footprint=footprint)
    np.testing.assert_array_equal(
        ops.binary_erosion(blob_mask, **kwargs), brute_force(blob_mask, fp, ndi.binary_erosion)
    )
    np.testing.assert_array_equal(
        ops.binary_dilation(blob_mask, **kwargs), brute_force(blob_mask, fp, ndi.binary_dilation)
    )


def test_opening_closing_equal_skimage_away_from_border(blob_mask):
    fp = skmorph.disk(3)
    inner = (slice(8, -8), slice(8, -8))
    np.testing.assert_array_equal(
        ops.binary_opening(blob_mask, radius=3)[inner], skmorph.opening(blob_mask, fp)[inner]
    )
    np.testing.assert_array_equal(
        ops.binary_closing(blob_mask, radius=3)[inner], skmorph.closing(blob_mask, fp)[inner]
    )


def test_anisotropic_ball_is_exact_in_physical_units():
    stack = np.zeros((11, 31, 31), bool)
    stack[5, 15, 15] = True
    spacing = (2.0, 0.5, 0.7)
    grown = ops.binary_dilation(stack, radius=3.0, spacing=spacing)
    z, y, x = np.ogrid[-5:6, -15:16, -15:16]
    expected = (z * 2.0) ** 2 + (y * 0.5) ** 2 + (x * 0.7) ** 2 <= 9.0 + 1e-9
    np.testing.assert_array_equal(grown, expected)


def test_ball_with_spacing_4_1_1_reaches_one_plane_and_four_pixels():
    stack = np.zeros((9, 21, 21), bool)
    stack[4, 10, 10] = True
    grown = ops.binary_dilation(stack, radius=4, spacing=(4, 1, 1))
    z, y, x = np.nonzero(grown)
    assert (z.min(), z.max(), y.min(), y.max(), x.min(), x.max()) == (3, 5, 6, 14, 6, 14)


def test_morphology_properties(blob_mask):
    eroded = ops.binary_erosion(blob_mask, radius=2)
    dilated = ops.binary_dilation(blob_mask, radius=2)
    assert np.all(eroded <= blob_mask) and np.all(blob_mask <= dilated)
    opened = ops.binary_opening(blob_mask, radius=2)
    np.testing.assert_array_equal(ops.binary_opening(opened, radius=2), opened)  # idempotent
    closed = ops.binary_closing(blob_mask, radius=2)
    assert np.all(blob_mask <= closed)  # extensive
    np.testing.assert_array_equal(ops.binary_closing(closed, radius=2), closed)


def test_fill_holes():
    ring = np.zeros((7, 7), bool)
    ring[1:6, 1:6] = True
    ring[3, 3] = False
    filled = ops.fill_holes(ring)
    assert filled[3, 3] and filled.sum() == 25
    assert not ring[3, 3]  # input unchanged


def test_label_reproduces_imagej_labelling(blobs):
    imagej = tifffile.imread(data_path("blobs_labels_imagej.tif"))
    labels = ops.label(blobs > 128, connectivity=2)
    assert labels.dtype == np.int32
    assert labels.max() == imagej.max() == 63
    # the same partition: each of our labels maps onto exactly one ImageJ label
    pairs = set(zip(labels[labels > 0].tolist(), imagej[labels > 0].tolist(), strict=True))
    assert len(pairs) == 63
    np.testing.assert_array_equal(labels > 0, imagej > 0)


def test_connectivity_one_and_two_differ_on_diagonals():
    mask = np.eye(4, dtype=bool)
    assert ops.label(mask, connectivity=1).max() == 4
    assert ops.label(mask, connectivity=2).max() == 1
    with pytest.raises(ValueError, match="connectivity"):
        ops.label(mask, connectivity=3)


@pytest.mark.parametrize("min_size", [1, 10, 100, 400])
def test_remove_small_objects_equals_skimage(blobs, min_size):
    mask = blobs > 128
    expected = skmorph.remove_small_objects(mask, max_size=min_size - 1)
    np.testing.assert_array_equal(ops.remove_small_objects(mask, min_size=min_size), expected)


def test_remove_small_objects_in_physical_units(blobs):
    mask = blobs > 128
    # pixels of 0.5 x 0.5 um: an area of 25 um^2 is 100 pixels
    np.testing.assert_array_equal(
        ops.remove_small_objects(mask, min_size=25.0, spacing=(0.5, 0.5)),
        ops.remove_small_objects(mask, min_size=100),
    )
    sizes = np.bincount(
        measure.label(ops.remove_small_objects(mask, min_size=100), connectivity=1).ravel()
    )[1:]
    assert sizes.min() >= 100


def test_non_binary_input_is_refused(blobs):
    with pytest.raises(ValueError, match="binary"):
        ops.binary_erosion(blobs, radius=1)


@pytest.mark.parametrize("shape", [(3, 4), (48, 40), (12, 20, 16)])
@pytest.mark.parametrize("density", [0.3, 0.6, 0.9])
def test_fill_holes_equals_scipy_on_random_masks(shape, density):
    mask = np.random.default_rng(len(shape) * 10 + int(density * 10)).random(shape) < density
    np.testing.assert_array_equal(ops.fill_holes(mask), ndi.binary_fill_holes(mask))


@pytest.mark.parametrize("ndim", [2, 3])
def test_label_numbers_objects_as_scikit_image(ndim):
    rng = np.random.default_rng(7)
    for trial in range(10):
        mask = rng.random((9, 14, 17)[-ndim:]) > (0.4 + 0.04 * trial)
        for connectivity in range(1, ndim + 1):
            expected = measure.label(mask, connectivity=connectivity)
            np.testing.assert_array_equal(ops.label(mask, connectivity=connectivity), expected)


def test_labels_to_mask_keeps_every_object_and_only_them():
    labels = np.array([[0, 3, 0], [-1, 0, 7]], np.int16)  # (napari allows negative labels)
    expected = np.array([[False, True, False], [True, False, True]])
    np.testing.assert_array_equal(ops.labels_to_mask(labels), expected)
    # the labelling of a mask gives the mask back: the two steps undo each other
    mask = np.random.default_rng(3).random((6, 9, 11)) > 0.6
    back = ops.get_operation("labels_to_mask")(ops.label(mask))
    assert back.dtype == bool
    np.testing.assert_array_equal(back, mask)
    # a mask is copied, never returned
    copy = ops.labels_to_mask(mask)
    np.testing.assert_array_equal(copy, mask)
    assert not np.shares_memory(copy, mask)
    with pytest.raises(TypeError, match="threshold"):  # the zeros of grey levels are no background
        ops.labels_to_mask(np.ones((4, 4), np.float32))
    with pytest.raises(TypeError, match="got dtype float16:"):  # (as given, not as read)
        ops.labels_to_mask(np.ones((4, 4), np.float16))


@pytest.mark.parametrize(
    ("name", "parameters"),
    [("binary_opening", {"radius": 1.0}), ("fill_holes", {}), ("label", {"connectivity": 2}),
     ("remove_small_objects", {"min_size": 5.0})],
)
def test_the_masks_of_an_rgb_image_are_processed_colour_by_colour(name, parameters):
    colours = np.random.default_rng(6).integers(0, 255, (30, 40, 3)).astype(np.uint8)
    masks = ops.threshold(colours, method="otsu")
    assert masks.shape == (30, 40, 3)
    function = getattr(ops, name)
    result = function(masks, **parameters)
    for colour in range(3):
        np.testing.assert_array_equal(result[..., colour], function(masks[..., colour],
                                                                    **parameters))
    with pytest.raises(TypeError, match="RGB"):  # a colour image itself: refused
        function(colours, **parameters)
