import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_bioimg import ops
from napari_bioimg.ops.registry import get_operation


@pytest.fixture
def stack():
    return np.arange(4 * 6 * 8, dtype=np.uint16).reshape(4, 6, 8)


def test_crop_equals_slicing_and_copies(stack):
    result = ops.crop(stack, start=(1, 2, 3), stop=(3, 5, 7))
    np.testing.assert_array_equal(result, stack[1:3, 2:5, 3:7])
    result[...] = 0
    assert stack[1, 2, 3] != 0  # a copy, not a view
    np.testing.assert_array_equal(ops.crop(stack, start=(None, 2)), stack[:, 2:])
    with pytest.raises(ValueError, match="axis 1"):
        ops.crop(stack, start=(0, 5), stop=(4, 5))


def test_subsample_and_flip(stack):
    np.testing.assert_array_equal(ops.subsample(stack, step=2), stack[::2, ::2, ::2])
    np.testing.assert_array_equal(ops.subsample(stack, step=(1, 3, 2)), stack[:, ::3, ::2])
    np.testing.assert_array_equal(ops.flip(stack, axis=0), stack[::-1])
    np.testing.assert_array_equal(ops.flip(stack, axis=(1, 2)), stack[:, ::-1, ::-1])
    with pytest.raises(ValueError, match="step"):
        ops.subsample(stack, step=0)
    with pytest.raises(ValueError, match="axis"):
        ops.flip(stack, axis=3)


@pytest.mark.parametrize("method", ["max", "mean", "min", "sum"])
def test_projections_equal_numpy(stack, method):
    result = ops.project(stack, axis=0, method=method)
    expected = getattr(np, method)(stack.astype(np.float64), axis=0)
    np.testing.assert_allclose(result, expected, rtol=1e-6)
    assert result.dtype == (stack.dtype if method in ("max", "min") else np.float32)


def test_the_default_projection_is_along_the_axis_before_y():
    rng = np.random.default_rng(3)
    movie = rng.integers(0, 1000, (3, 5, 6, 7), dtype=np.uint16)  # t, z, y, x
    np.testing.assert_array_equal(ops.project(movie), movie.max(axis=1))  # z, per frame
    np.testing.assert_array_equal(ops.project(movie[0]), movie[0].max(axis=0))
    rgb = rng.integers(0, 255, (4, 16, 17, 3), dtype=np.uint8)  # z, y, x, colours
    np.testing.assert_array_equal(ops.project(rgb), rgb.max(axis=0))
    default = get_operation("project").parameter("axis").default
    np.testing.assert_array_equal(ops.project(movie, axis=default), ops.project(movie))


def test_resample_isotropic_keeps_positions():
    # a linear ramp along z is reproduced exactly by linear interpolation
    z = np.arange(5, dtype=np.float32)[:, None, None] * 10
    stack = np.broadcast_to(z, (5, 4, 4)).copy()
    result = ops.resample_isotropic(stack, spacing=(2.0, 0.5, 0.5), order=1)
    assert result.shape == (17, 4, 4)  # centres at 0, 0.5, ... 8.0 um
    np.testing.assert_allclose(result[:, 0, 0], np.arange(17) * 0.5 / 2.0 * 10, atol=1e-4)


def test_resample_banana_to_isotropic(banana):
    result = ops.resample_isotropic(banana[:, ::8, ::8], spacing=(8.8, 3.125, 3.125), order=1)
    assert result.shape == (int(24 * 8.8 / 3.125) + 1, 48, 48)
    assert result.dtype == banana.dtype
    np.testing.assert_array_equal(result[0], banana[0, ::8, ::8])  # the first plane stays put


def test_resample_needs_spacing_per_axis(stack):
    with pytest.raises(ValueError, match="spacing"):
        ops.resample_isotropic(stack, spacing=(1.0, -1.0, 1.0))
    with pytest.raises(ValueError, match="order"):
        ops.resample_isotropic(stack, spacing=(2.0, 1.0, 1.0), order=5)


def test_a_resampling_that_cannot_fit_in_memory_is_refused_naming_the_target():
    with pytest.raises(ValueError, match="resampling to 0.0001"):  # petabytes
        ops.resample_isotropic(np.zeros((4, 6, 6)), spacing=(2.0, 1.0, 1.0), target=1e-4)
    batch = np.zeros((3, 4, 6, 6), np.float32)
    assert ops.resample_isotropic(batch, spacing=(2.0, 1.0, 1.0)).shape == (3, 7, 6, 6)


def test_projecting_a_2d_image_is_refused():
    with pytest.raises(ValueError, match="3 axes"):
        ops.project(np.zeros((4, 4)), axis=0)


def _scipy_resample(image, spacing, order):
    """The reference: ``ndi.affine_transform`` with the diagonal matrix, as #2 defined it."""
    from scipy import ndimage as ndi

    from napari_bioimg.ops.transforms import isotropic_shape

    target = min(spacing)
    out_shape = isotropic_shape(image.shape, spacing, target)
    if image.dtype == bool:
        result = ndi.affine_transform(
            image.astype(np.uint8), [target / s for s in spacing], output_shape=out_shape, order=0
        )
        return result.astype(bool)
    # (integers interpolated in float64 and rounded once: through float32, values such as
    # 117.49999999999997 rounded to 118)
    work = image.astype(np.float64) if image.dtype.kind in "iu" and order else image
    result = ndi.affine_transform(
        work, [target / s for s in spacing], output_shape=out_shape, order=order, mode="nearest"
    )
    if image.dtype.kind in "iu" and order:
        info = np.iinfo(image.dtype)
        return np.clip(np.rint(result), info.min, info.max).astype(image.dtype)
    return result.astype(image.dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, bool])
@pytest.mark.parametrize("order", [0, 1, 2, 3])
@pytest.mark.parametrize(
    "spacing", [(2.0, 0.5, 0.5), (8.8, 0.39, 0.39), (0.7, 0.3, 0.3), (1.0, 0.7, 0.3), (1.3, 0.5)]
)
def test_resample_equals_scipy(dtype, order, spacing):
    rng = np.random.default_rng(3)
    shape = (7, 19, 23)[-len(spacing) :]
    image = rng.random(shape) > 0.5 if dtype is bool else (rng.random(shape) * 200).astype(dtype)
    result = ops.resample_isotropic(image, spacing=spacing, order=order)
    expected = _scipy_resample(image, spacing, order)
    assert result.shape == expected.shape and result.dtype == expected.dtype
    one_axis = sum(s != min(spacing) for s in spacing) == 1
    if order == 0 or dtype is bool or (one_axis and order == 1):
        # the same pixels, or the same two weights per pixel: bit for bit
        np.testing.assert_array_equal(result, expected)
    else:  # separable passes round differently from scipy's sum over the neighbourhood
        tolerance = 1 if np.dtype(dtype).kind in "iu" else 1e-4
        np.testing.assert_allclose(result.astype(float), expected.astype(float), atol=tolerance)


def test_resampled_integers_are_rounded_once_as_scipy_in_float64(banana):
    """The review's banana columns: 117.49999999999997 gave 118 (rounded via float32)."""
    column = banana[:, 180:200, 190:200]
    spacing = (8.8, 0.390625, 0.390625)
    result = ops.resample_isotropic(column, spacing=spacing, order=1)
    np.testing.assert_array_equal(result, _scipy_resample(column, spacing, 1))


def test_resample_of_a_batch_resamples_each_block():
    rng = np.random.default_rng(4)
    batch = (rng.random((2, 5, 8, 9)) * 100).astype(np.uint16)
    result = ops.resample_isotropic(batch, spacing=(2.0, 1.0, 1.0))
    for t in range(2):
        np.testing.assert_array_equal(result[t], _scipy_resample(batch[t], (2.0, 1.0, 1.0), 1))


def test_an_rgb_image_is_transformed_along_the_axes_napari_shows():
    """Per-axis values address the axes before the colours, which stay whole."""
    rgb = np.random.default_rng(2).integers(0, 255, (40, 50, 3)).astype(np.uint8)
    np.testing.assert_array_equal(ops.subsample(rgb, step=2), rgb[::2, ::2])
    np.testing.assert_array_equal(ops.subsample(rgb, step=[1, 3]), rgb[:, ::3])
    np.testing.assert_array_equal(ops.flip(rgb), rgb[:, ::-1])  # axis -1: x, not blue-red
    np.testing.assert_array_equal(ops.flip(rgb, axis=0), rgb[::-1])
    np.testing.assert_array_equal(ops.crop(rgb, start=[5, 6], stop=[20, 30]), rgb[5:20, 6:30])
    with pytest.raises(ValueError, match="start has 3 values but the image has 2 axes"):
        ops.crop(rgb, start=[0, 0, 1])
    with pytest.raises(ValueError, match="axis"):
        ops.flip(rgb, axis=2)
    with pytest.raises(ValueError, match="3 axes"):
        ops.project(rgb, axis=0)
    stack = np.random.default_rng(3).integers(0, 255, (5, 20, 30, 3)).astype(np.uint8)
    np.testing.assert_array_equal(ops.project(stack, axis=-1, method="max"), stack.max(axis=2))
    np.testing.assert_array_equal(ops.project(stack, axis=0, method="min"), stack.min(axis=0))


@pytest.mark.parametrize("order", [0, 1, 3])
@pytest.mark.parametrize(
    ("value", "dtype"),
    [(2**24 + 1, np.int32), (2**31 - 1, np.int32), (-(2**31), np.int32), (2**32 - 1, np.uint32)],
)
def test_resampling_32_bit_integers_keeps_their_values(value, dtype, order):
    """Rounded and clipped in float32 they became 2**24, or wrapped to the other end."""
    constant = np.full((3, 4, 5), value, dtype)
    result = ops.resample_isotropic(constant, spacing=(2.0, 1.0, 1.0), order=order)
    assert result.dtype == dtype and result.shape == (5, 4, 5)
    assert (result == value).all()


def test_resampling_int32_equals_scipy_in_float64():
    image = np.random.default_rng(0).integers(-(2**31), 2**31 - 1, (5, 12, 13)).astype(np.int32)
    for order in (1, 2, 3):
        result = ops.resample_isotropic(image, spacing=(2.0, 1.0, 1.0), order=order)
        reference = ndi.affine_transform(
            image.astype(np.float64), np.diag([0.5, 1.0, 1.0]), output_shape=result.shape,
            order=order, mode="nearest",
        )
        expected = np.clip(np.rint(reference), -(2**31), 2**31 - 1).astype(np.int32)
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize(
    ("value", "dtype"), [(2**53 + 1, np.int64), (2**63 - 1, np.int64), (2**64 - 1, np.uint64)]
)
def test_nearest_resampling_of_64_bit_integers_copies_the_values(value, dtype):
    """Order 0 (labels) multiplied by a float weight: 2**53 + 1 became 2**53, wrapped."""
    constant = np.full((3, 4, 5), value, dtype)
    result = ops.resample_isotropic(constant, spacing=(2.0, 1.0, 1.0), order=0)
    assert result.dtype == dtype and (result == value).all()


def test_crop_reads_only_its_window_of_a_lazy_array():
    """ops.crop read the whole array first (as_image): the Crop dock sliced lazy stacks
    itself, and run_dask / scripts read everything for a small region (review 81)."""

    class Lazy:
        def __init__(self, data):
            self.data, self.shape, self.dtype, self.ndim = data, data.shape, data.dtype, data.ndim
            self.read = []

        def __getitem__(self, key):
            self.read.append(key)
            return self.data[key]

        def __array__(self, *args, **kwargs):
            raise AssertionError("the whole array was read")

    data = np.arange(4 * 50 * 60, dtype=np.uint16).reshape(4, 50, 60)
    lazy = Lazy(data)
    result = ops.crop(lazy, start=[1, 10, 20], stop=[3, 15, 30])
    np.testing.assert_array_equal(result, data[1:3, 10:15, 20:30])
    assert lazy.read == [(slice(1, 3), slice(10, 15), slice(20, 30))]
    assert result.flags.owndata  # (a copy, as of an array)
    with pytest.raises(ValueError, match="crop along axis 1 is empty"):
        ops.crop(lazy, start=[0, 40], stop=[4, 40])
