"""Reading and writing TIFFs with their voxel size."""

import numpy as np
import pytest
import tifffile

from napari_bioimg.pipeline import process_image, read_image, write_image

from ..conftest import data_path


@pytest.mark.parametrize(
    ("data", "spacing", "unit", "dtype", "imagej", "axes"),
    [
        (np.arange(12, dtype=np.uint8).reshape(3, 4), (0.5, 0.25), "µm", np.uint8, True, "YX"),
        (np.ones((2, 3, 4), np.float32), (2.0, 0.5, 0.5), "µm", np.float32, True, "ZYX"),
        (np.ones((2, 3, 4), bool), (2.0, 0.5, 0.5), "mm", np.uint8, True, "ZYX"),
        (np.arange(24, dtype=np.int32).reshape(2, 3, 4), (2.0, 0.5, 0.5), None, np.uint16, True,
         "ZYX"),
        (np.ones((2, 3, 4, 5), np.uint16), (2.0, 0.5, 0.5), "µm", np.uint16, True, "TZYX"),
        (np.ones((3, 4, 5), np.uint16), (0.5, 0.5), "µm", np.uint16, True, "TYX"),
        (np.arange(24, dtype=np.int32).reshape(2, 3, 4) * 10000, (2.0, 0.5, 0.5), "µm", np.int32,
         False, "ZYX"),
        (np.full((3, 4), -1.5), (0.5, 0.5), "µm", np.float64, False, "YX"),
        (np.full((2, 3, 4), -1, np.int32), (2.0, 0.7, 0.5), None, np.int32, False, "ZYX"),
        (np.full((3, 4), 0.25), (0.7, 0.5), None, np.float64, False, "YX"),
        # a (T, Z) batch of 2D images: two spatial axes, read back as two
        (np.ones((2, 5, 3, 4), np.float32), (0.5, 0.5), "nm", np.float32, False, "QTYX"),
    ],
)
def test_write_then_read(tmp_path, data, spacing, unit, dtype, imagej, axes):
    path = tmp_path / "out.tif"
    write_image(path, data, spacing, unit)
    image, read_spacing, read_unit, channel_axis, _ = read_image(path)
    assert image.dtype == dtype
    np.testing.assert_array_equal(image, data.astype(dtype))
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej == imagej
        assert tif.series[0].axes == axes
    assert channel_axis is None
    assert read_unit == unit
    # ImageJ keeps it in its description and tags; plain TIFFs (dtypes ImageJ cannot
    # hold) in their JSON description, with or without a unit
    assert read_spacing == pytest.approx(spacing)


def test_writing_is_deterministic(tmp_path):
    data = np.random.default_rng(0).random((3, 20, 30)).astype(np.float32)
    write_image(tmp_path / "a.tif", data, (2.0, 0.3, 0.3), "µm")
    write_image(tmp_path / "b.tif", data, (2.0, 0.3, 0.3), "µm")
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()


def test_channels_are_processed_separately_and_written_as_imagej_channels(tmp_path):
    # ImageJ stores ZCYX; napari shows each channel as its own ZYX layer.
    stack = np.random.default_rng(1).integers(0, 100, (4, 2, 10, 12)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "in.tif", stack, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "ZCYX", "spacing": 3.0, "unit": "um"})
    image, spacing, unit, channel_axis, _ = read_image(tmp_path / "in.tif")
    assert (spacing, unit, channel_axis) == ((3.0, 0.5, 0.5), "µm", 1)

    def project(array, spacing):
        return array.max(axis=0), spacing[1:]

    result, result_spacing = process_image(project, image, spacing, channel_axis)
    np.testing.assert_array_equal(result, stack.max(axis=0))  # (C, Y, X)
    assert result_spacing == (0.5, 0.5)
    write_image(tmp_path / "out.tif", result, result_spacing, unit, channel_axis=0)
    again, _, _, again_channel_axis, _ = read_image(tmp_path / "out.tif")
    assert again_channel_axis == 0
    np.testing.assert_array_equal(again, result)


def test_channel_names_are_written_where_fiji_reads_them(tmp_path):
    from napari_bioimg.pipeline.io import read_image_guess

    planes = np.arange(2 * 6 * 7, dtype=np.uint16).reshape(2, 6, 7)
    write_image(tmp_path / "two.tif", planes, (0.5, 0.5), "µm", 0, channel_names=["DAPI", "GFP"])
    assert read_image_guess(tmp_path / "two.tif")[7] == ["DAPI", "GFP"]
    with tifffile.TiffFile(tmp_path / "two.tif") as tif:
        assert tif.imagej_metadata["Labels"] == ["DAPI", "GFP"]
    # ImageJ's Labels name planes: a z-stack of channels, or a count that is not the
    # channels', would name slices wrongly, so the names are left out
    stack = np.zeros((2, 3, 6, 7), np.uint16)
    write_image(tmp_path / "stack.tif", stack, (2.0, 0.5, 0.5), "µm", 0, channel_names=["a", "b"])
    write_image(tmp_path / "three.tif", planes, (0.5, 0.5), "µm", 0, channel_names=["a", "b", "c"])
    for name in ("stack.tif", "three.tif"):
        assert read_image_guess(tmp_path / name)[7] is None
        with tifffile.TiffFile(tmp_path / name) as tif:
            assert "Labels" not in tif.imagej_metadata


def test_channel_names_are_written_where_imagej_cannot_hold_the_image(tmp_path):
    """float64, negative or int32 results were written without their channel names (a
    JSON description of axes and sizes only): napari named the layers [ch0], [ch1]."""
    from napari_bioimg._reader import get_reader
    from napari_bioimg.pipeline.io import read_image_guess

    planes = np.linspace(-1, 1, 2 * 6 * 7).reshape(2, 6, 7)
    labels = np.arange(2 * 3 * 6 * 7, dtype=np.int32).reshape(2, 3, 6, 7) * 2000
    for name, data, spacing in [
        ("float64.tif", planes, (0.5, 0.5)),
        ("int16.tif", (planes * 100).astype(np.int16), (0.5, 0.5)),
        ("int32.tif", labels, (2.0, 0.5, 0.5)),  # a z-stack of channels, too
    ]:
        write_image(tmp_path / name, data, spacing, "µm", 0, channel_names=["DAPI", "GFP"])
        with tifffile.TiffFile(tmp_path / name) as tif:
            assert not tif.is_imagej
        assert read_image_guess(tmp_path / name)[7] == ["DAPI", "GFP"], name
    path = str(tmp_path / "float64.tif")
    assert [layer[1]["name"] for layer in get_reader(path)(path)] == [
        ["float64 [DAPI]", "float64 [GFP]"]
    ]
    write_image(tmp_path / "three.tif", planes, (0.5, 0.5), "µm", 0, channel_names=["a"] * 3)
    assert read_image_guess(tmp_path / "three.tif")[7] is None  # (not one per channel)


def test_real_image_voxel_size():
    image, spacing, unit, channel_axis, _ = read_image(data_path("banana") / "banana0010.tif")
    assert image.shape == (384, 384)
    assert spacing == pytest.approx((0.390625, 0.390625))
    assert unit == "mm"
    assert channel_axis is None


def test_one_dimensional_result_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot write a 1D result"):
        write_image(tmp_path / "x.tif", np.arange(5))


def test_result_axes_keep_frames_and_write_a_named_channel_axis_as_channels():
    from napari_bioimg.pipeline import result_axes

    movie = np.arange(4 * 5 * 6).reshape(4, 5, 6).astype(np.uint8)
    frames = (30.0, "s")

    def axes(result, spacing, channel_axis=None, role=None):
        out, channel, interval = result_axes(result, spacing, channel_axis, frames, role)
        return out.shape, channel, interval

    assert axes(movie, (0.5, 0.5)) == ((4, 5, 6), None, frames)
    assert axes(movie, (0.5, 0.5), role="t") == ((4, 5, 6), None, frames)
    # named channels: written as channels, and their axis holds no frames
    assert axes(movie, (0.5, 0.5), role="channel") == ((4, 5, 6), 0, None)
    # a z axis named back: no frames left to write (write_image writes T only if any)
    assert axes(movie, (2.0, 0.5, 0.5), role="z") == ((4, 5, 6), None, frames)
    # the channels of the file come first
    assert axes(movie, (0.5, 0.5), channel_axis=2) == ((4, 5, 6), 0, frames)
    # a projection of the named axis leaves none
    assert axes(movie[0], (0.5, 0.5), role="channel") == ((5, 6), None, None)
    # frames of channels (t, z named channel, y, x): channels first, the frames keep their
    # interval (it was written as QTYX)
    hyper = np.arange(2 * 3 * 5 * 6).reshape(2, 3, 5, 6)
    out, channel, interval = result_axes(hyper, (0.5, 0.5), None, frames, "channel")
    np.testing.assert_array_equal(out, np.moveaxis(hyper, 1, 0))
    assert (channel, interval) == (0, frames)
    # colours stay colours (the colour axis was taken for x)
    rgb = np.zeros((4, 20, 30, 3), np.uint8)
    assert axes(rgb, (0.5, 0.5), role="channel") == ((4, 20, 30, 3), None, None)


def test_an_rgb_time_lapse_named_channel_keeps_its_colours(tmp_path):
    from napari_bioimg.pipeline import Pipeline
    from napari_bioimg.pipeline.batch import process_file

    movie = np.random.default_rng(0).integers(0, 255, (4, 20, 30, 3)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", movie, imagej=True, photometric="rgb",
                     metadata={"axes": "TYXS"})
    pipeline = Pipeline()
    pipeline.add("set_axis_role", role="channel")
    pipeline.add("flip")
    assert process_file(pipeline, tmp_path / "rgb.tif", tmp_path / "out.tif").status == "written"
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert tif.series[0].axes == "TYXS"
        np.testing.assert_array_equal(tif.asarray(), movie[:, :, ::-1])
    # a result too small for the shape rule keeps the input's colours (was CYX: 7
    # "channels" of 8 x 3 pixels)
    pipeline = Pipeline()
    pipeline.add("set_axis_role", role="channel")
    pipeline.add("subsample", step=3)
    assert process_file(pipeline, tmp_path / "rgb.tif", tmp_path / "small.tif").status == (
        "written")
    with tifffile.TiffFile(tmp_path / "small.tif") as tif:
        assert tif.series[0].axes.endswith("YXS")
        np.testing.assert_array_equal(tif.asarray().reshape(-1, 7, 10, 3), movie[::3, ::3, ::3])


def test_the_frame_interval_is_read_and_written_back(tmp_path):
    movie = np.arange(4 * 6 * 7, dtype=np.uint16).reshape(4, 6, 7)
    tifffile.imwrite(tmp_path / "movie.tif", movie, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "TYX", "finterval": 0.5, "tunit": "min", "unit": "um"})
    image, spacing, unit, channel_axis, frames = read_image(tmp_path / "movie.tif")
    assert (spacing, unit, channel_axis, frames) == ((0.5, 0.5), "µm", None, (0.5, "min"))
    write_image(tmp_path / "out.tif", image, spacing, unit, frame_interval=frames)
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        metadata = tif.imagej_metadata
    assert (metadata["finterval"], metadata["tunit"]) == (0.5, "min")
    assert read_image(tmp_path / "out.tif")[4] == (0.5, "min")
    # no frames, or frames without interval: None
    assert read_image(data_path("blobs.tif"))[4] is None
    tifffile.imwrite(tmp_path / "plain.tif", movie, imagej=True, metadata={"axes": "TYX"})
    assert read_image(tmp_path / "plain.tif")[4] is None


def test_a_failing_function_of_yours_is_told_with_its_type_and_step(tmp_path):
    """run said "processing failed: 'gain'" for a KeyError('gain'): neither the error's
    type nor the step (review 81)."""
    from napari_bioimg import ops
    from napari_bioimg.pipeline import Pipeline
    from napari_bioimg.pipeline.batch import process_file

    def needs_gain(image, factor: float = 1.0):
        return image * {"factor": factor}["gain"]

    ops.register(needs_gain)
    try:
        pipeline = Pipeline()
        pipeline.add("gaussian", sigma=1.0)
        pipeline.add("needs_gain")
        write_image(tmp_path / "in.tif", np.zeros((8, 9), np.uint8), (0.5, 0.5), "µm")
        result = process_file(pipeline, tmp_path / "in.tif", tmp_path / "out.tif")
    finally:
        ops.unregister("needs_gain")
    assert result.status == "failed"
    assert result.message == "processing failed: KeyError: 'gain' (in step 2 (needs_gain))"
