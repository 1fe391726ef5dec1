"""The writer: layers saved from napari keep their voxel size (napari's TIFF writer drops it)."""

import numpy as np
import pytest
import tifffile

from napari_bioimg.pipeline import read_image


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def save(viewer, layer, path):
    viewer.layers.selection = {layer}
    assert viewer.layers.save(str(path), selected=True, plugin="napari-bioimg") == [str(path)]
    return read_image(path)[:4]


def test_image_and_labels_layers_keep_their_voxel_size(viewer, tmp_path, banana):
    stack = banana[:, ::8, ::8]
    image = viewer.add_image(stack, name="stack", scale=(8.8, 3.125, 3.125), units="mm")
    data, spacing, unit, channel_axis = save(viewer, image, tmp_path / "stack.tif")
    np.testing.assert_array_equal(data, stack)
    assert spacing == pytest.approx((8.8, 3.125, 3.125)) and unit == "mm"
    assert channel_axis is None
    labels = viewer.add_labels((stack > stack.mean()).astype(np.uint16), name="mask",
                               scale=(8.8, 3.125, 3.125), units="mm")
    data, spacing, unit, _ = save(viewer, labels, tmp_path / "mask.tif")
    np.testing.assert_array_equal(data, labels.data)
    assert spacing == pytest.approx((8.8, 3.125, 3.125)) and unit == "mm"


def test_frames_channels_and_plain_layers(viewer, tmp_path):
    rng = np.random.default_rng(0)
    movie = viewer.add_image(rng.integers(0, 255, (4, 20, 30)).astype(np.uint8), name="movie",
                             scale=(60.0, 0.5, 0.5), units=("s", "µm", "µm"),
                             axis_labels=("t", "y", "x"))
    _, spacing, unit, _ = save(viewer, movie, tmp_path / "movie.tif")
    assert spacing == pytest.approx((0.5, 0.5)) and unit == "µm"  # t is not a voxel size
    # the frame interval is kept (ImageJ's finterval) and read back as the t scale, in s
    from napari_bioimg._reader import get_reader

    [(_, kwargs, _)] = get_reader(str(tmp_path / "movie.tif"))(str(tmp_path / "movie.tif"))
    assert tuple(kwargs["scale"]) == pytest.approx((60.0, 0.5, 0.5))
    assert tuple(kwargs["units"]) == ("s", "µm", "µm")
    assert tuple(kwargs["axis_labels"]) == ("t", "y", "x")
    masks = viewer.add_labels(rng.integers(0, 2, (3, 20, 30)).astype(np.uint8), name="masks",
                              scale=(1.0, 0.5, 0.5), units=("pixel", "µm", "µm"),
                              axis_labels=("channel", "y", "x"))
    data, spacing, unit, channel_axis = save(viewer, masks, tmp_path / "masks.tif")
    np.testing.assert_array_equal(data, masks.data)
    assert (spacing, unit, channel_axis) == ((0.5, 0.5), "µm", 0)
    [reopened] = viewer.open(str(tmp_path / "masks.tif"), plugin="napari-bioimg")
    assert reopened._type_string == "labels"  # one labels layer, its channels first
    np.testing.assert_array_equal(reopened.data, masks.data)
    assert tuple(reopened.axis_labels) == ("channel", "y", "x")
    np.testing.assert_allclose(reopened.scale, (1.0, 0.5, 0.5))
    assert "layer" not in reopened.metadata  # (the file's mark, not metadata)
    masks.axis_labels = ("c", "y", "x")  # (filtered as channels: saved as channels)
    _, _, _, channel_axis = save(viewer, masks, tmp_path / "masks_c.tif")
    assert channel_axis == 0
    plain = viewer.add_image(rng.random((20, 30)).astype(np.float32), name="plain")
    data, spacing, unit, _ = save(viewer, plain, tmp_path / "plain.tif")
    np.testing.assert_array_equal(data, plain.data)
    assert (spacing, unit) == ((1.0, 1.0), None)


def test_what_the_shape_alone_would_get_wrong(viewer, tmp_path):
    """A TYX without a scale became ZYX; a grey 3-wide stack RGB; nm beside µm was µm."""
    rng = np.random.default_rng(1)
    movie = viewer.add_image(rng.integers(0, 255, (4, 20, 30)).astype(np.uint8), name="movie",
                             axis_labels=("t", "y", "x"))
    save(viewer, movie, tmp_path / "movie.tif")
    import tifffile

    with tifffile.TiffFile(tmp_path / "movie.tif") as tif:
        assert tif.series[0].axes == "TYX"
    thin = viewer.add_image(rng.integers(0, 255, (20, 64, 3)).astype(np.uint8), name="thin",
                            rgb=False, scale=(2.0, 0.5, 0.5), units="µm")
    data, spacing, unit, _ = save(viewer, thin, tmp_path / "thin.tif")
    assert data.shape == (20, 64, 3) and spacing == pytest.approx((2.0, 0.5, 0.5))
    mixed = viewer.add_image(rng.random((3, 10, 12)).astype(np.float32), name="mixed",
                             scale=(0.3, 100.0, 100.0), units=("µm", "nm", "nm"))
    _, spacing, unit, _ = save(viewer, mixed, tmp_path / "mixed.tif")
    assert unit == "nm" and spacing == pytest.approx((300.0, 100.0, 100.0))


def test_a_multiscale_layer_is_refused(viewer, tmp_path, blobs):
    from napari_bioimg._writer import write_tiff

    with pytest.raises(TypeError, match="multiscale"):
        write_tiff(str(tmp_path / "m.tif"), [blobs, blobs[::2, ::2]], {"multiscale": True})
    # napari's save(..., plugin=) hid a ValueError's message ("not a valid writer")
    layer = viewer.add_image([blobs, blobs[::2, ::2]], multiscale=True)
    viewer.layers.selection = {layer}
    with pytest.raises(TypeError, match="multiscale layer is not written"):
        viewer.layers.save(str(tmp_path / "m.tif"), selected=True, plugin="napari-bioimg")
    assert not (tmp_path / "m.tif").exists()


@pytest.mark.parametrize("order", ["tcyx", "ctyx", "tczyx"])
def test_channels_anywhere_before_y_are_written_as_channels_of_frames(viewer, tmp_path, order):
    """A (t, c, y, x) layer was written as a plain QTYX TIFF: channels read back as t."""
    shape = {"t": 3, "c": 2, "z": 4, "y": 10, "x": 12}
    scale = {"t": 10.0, "c": 1.0, "z": 2.0, "y": 0.5, "x": 0.5}
    units = {"t": "s", "c": "pixel", "z": "µm", "y": "µm", "x": "µm"}
    data = np.random.default_rng(1).integers(0, 200, [shape[a] for a in order]).astype(np.uint8)
    layer = viewer.add_image(data, scale=[scale[a] for a in order],
                             units=[units[a] for a in order], axis_labels=tuple(order))
    save(viewer, layer, tmp_path / "movie.tif")
    with tifffile.TiffFile(tmp_path / "movie.tif") as tif:
        assert tif.is_imagej
        assert tif.series[0].axes == ("TZCYX" if "z" in order else "TCYX")
        assert tif.imagej_metadata["finterval"] == 10.0
        stored = tif.asarray()
    # the file holds the layer's pixels, channels moved after t (and z): ImageJ's order
    np.testing.assert_array_equal(stored, np.moveaxis(data, order.index("c"), -3))
    from napari_bioimg._reader import get_reader

    read = get_reader(str(tmp_path / "movie.tif"))(str(tmp_path / "movie.tif"))
    assert len(read) == 1
    [(channels, kwargs, _)] = read
    assert kwargs["channel_axis"] is not None
    kept = [a for a in order if a != "c"]
    for channel_scale in kwargs["scale"]:  # (one per channel)
        assert tuple(channel_scale) == pytest.approx([scale[a] for a in kept])
    for channel_labels in kwargs["axis_labels"]:
        assert tuple(channel_labels) == tuple(kept)


def test_saved_labels_reopen_as_labels_and_images_as_images(viewer, tmp_path, blobs):
    """A saved mask came back as an Image layer, which mask operations do not offer."""
    mask = viewer.add_labels((blobs > 128).astype(np.uint8), name="mask", scale=(0.5, 0.5),
                             units="µm")
    cells = viewer.add_labels(np.arange(70000, dtype=np.uint32).reshape(280, 250) % 66000,
                              name="cells")  # (uint32 values within uint16: written so)
    image = viewer.add_image(blobs, name="blobs")
    for layer in (mask, cells, image):
        save(viewer, layer, tmp_path / f"{layer.name}.tif")
    opened = {}
    for name in ("mask", "cells", "blobs"):
        [layer] = viewer.open(str(tmp_path / f"{name}.tif"), plugin="napari-bioimg")
        opened[name] = layer
    assert opened["mask"]._type_string == "labels" and opened["cells"]._type_string == "labels"
    assert opened["blobs"]._type_string == "image"
    np.testing.assert_array_equal(opened["mask"].data, mask.data)
    np.testing.assert_array_equal(opened["cells"].data, cells.data)
    np.testing.assert_allclose(opened["mask"].scale, (0.5, 0.5))
    _, erosion = viewer.window.add_plugin_dock_widget("napari-bioimg", "Binary erosion")
    assert opened["mask"].name in erosion.input_names  # (an Image layer was not offered)
    big = viewer.add_labels(np.full((20, 30), 70000, np.uint32), name="big")
    save(viewer, big, tmp_path / "big.tif")  # (not an ImageJ dtype: the JSON description)
    [reopened] = viewer.open(str(tmp_path / "big.tif"), plugin="napari-bioimg")
    assert reopened._type_string == "labels" and reopened.data.dtype == np.uint32


def test_a_mirrored_layer_and_a_guessed_z_are_saved_as_sizes(viewer, tmp_path, banana):
    """A negative scale failed to save ("argument out of range") or lost z; a guessed
    slice distance was saved as known (run marks it, this writer did not; review 90)."""
    from napari_bioimg.pipeline.io import read_image_guess

    stack = banana[:4, ::8, ::8]
    for scale in ((2.0, -0.5, 0.5), (-2.0, 0.5, 0.5)):
        mirrored = viewer.add_image(stack, scale=scale, units="µm", name="mirrored")
        data, spacing, unit, _ = save(viewer, mirrored, tmp_path / "mirrored.tif")
        np.testing.assert_array_equal(data, stack)
        assert spacing == pytest.approx((2.0, 0.5, 0.5)) and unit == "µm"
        viewer.layers.remove(mirrored)
    guessed = viewer.add_image(stack, scale=(0.5, 0.5, 0.5), units="µm", name="guessed",
                               metadata={"z_spacing_known": False})
    save(viewer, guessed, tmp_path / "guessed.tif")
    assert read_image_guess(tmp_path / "guessed.tif")[5] is True  # (z guessed, still)
    known = viewer.add_image(stack, scale=(0.5, 0.5, 0.5), units="µm", name="known")
    save(viewer, known, tmp_path / "known.tif")
    assert read_image_guess(tmp_path / "known.tif")[5] is False
