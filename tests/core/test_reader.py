"""The TIFF reader: voxel size and units from ImageJ, OME and plain TIFFs, slice stacks."""

import sys
import types
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_bioimg import _reader
from napari_bioimg._reader import get_reader, layer_data
from napari_bioimg.io_tiff import (
    _ratio,
    canonical_unit,
    length_factor,
    natural_key,
    read_stack,
    read_tiff,
    tiff_paths,
)

# tests/core/test_reader.py -> parents[3] is the folder holding the repository.
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def shared(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (../shared/data beside the repo)")
    return path


def ramp(shape, dtype=np.uint16):
    return (np.arange(np.prod(shape)) % 251).reshape(shape).astype(dtype)


def imagej(path, data, *, pixel=None, **metadata):
    resolution = None if pixel is None else (1 / pixel, 1 / pixel)
    tifffile.imwrite(path, data, imagej=True, resolution=resolution, metadata=metadata)
    return path


def one_layer(path):
    reader = get_reader(str(path))
    assert reader is not None
    layers = reader(str(path))
    assert len(layers) == 1
    return layers[0]


# --- ImageJ -----------------------------------------------------------------------


def test_imagej_stack_scale_and_unit(tmp_path):
    data = ramp((6, 20, 24))
    path = imagej(tmp_path / "stack.tif", data, pixel=0.25, spacing=2.0, unit="um", axes="ZYX")
    image, spacing, unit, extra = read_tiff(path)
    np.testing.assert_array_equal(image, data)
    assert spacing == (2.0, 0.25, 0.25)
    assert unit == "µm"
    assert extra["axes"] == "ZYX"
    assert extra["z_spacing_known"] is True

    layer, kwargs, kind = one_layer(path)
    assert kind == "image"
    assert kwargs["scale"] == (2.0, 0.25, 0.25)
    assert kwargs["units"] == ("µm", "µm", "µm")
    assert kwargs["axis_labels"] == ("z", "y", "x")
    assert kwargs["metadata"]["z_spacing_known"] is True
    assert kwargs["name"] == "stack"


def test_imagej_display_range_of_one_channel_is_the_layer_s(tmp_path):
    """Fiji's min/max of a single-channel image (banana: 19-1963) were ignored (0-2992)."""
    data = ramp((3, 10, 12))
    path = imagej(tmp_path / "ranged.tif", data, axes="ZYX", min=19.0, max=200.0)
    _, kwargs, _ = one_layer(path)
    assert kwargs["contrast_limits"] == (19.0, 200.0)
    assert "contrast_limits" not in one_layer(imagej(tmp_path / "plain.tif", data))[1]
    # a folder of slices: their shared range, none when they differ
    folder = tmp_path / "slices"
    folder.mkdir()
    for i in range(3):
        imagej(folder / f"s{i}.tif", data[i], min=19.0, max=200.0 + 10 * (i == 2))
    assert read_stack(folder).extra["contrast_limits"] is None
    imagej(folder / "s2.tif", data[2], min=19.0, max=200.0)
    assert read_stack(folder).extra["contrast_limits"] == [(19.0, 200.0)]
    banana = read_stack(shared("banana"))
    assert banana.extra["contrast_limits"] == [(19.0, 1963.0)]
    # odd values are left to napari (a text min failed the whole file; -inf failed napari)
    for low in ("abc", float("-inf"), 500.0):
        odd = imagej(tmp_path / "odd.tif", data, axes="ZYX", min=low, max=200.0)
        assert read_tiff(odd).extra["contrast_limits"] is None


def test_imagej_layer_is_accepted_by_napari(tmp_path):
    from napari.layers import Image

    path = imagej(
        tmp_path / "a.tif", ramp((3, 8, 8)), pixel=0.5, spacing=1.5, unit="micron", axes="ZYX"
    )
    data, kwargs, _ = one_layer(path)
    layer = Image(data, **kwargs)
    np.testing.assert_allclose(layer.scale, (1.5, 0.5, 0.5))
    assert all(str(u) == "micrometer" for u in layer.units)


def test_imagej_2d(tmp_path):
    path = imagej(tmp_path / "plane.tif", ramp((16, 12)), pixel=0.1625, unit="um")
    _, spacing, unit, extra = read_tiff(path)
    assert spacing == pytest.approx((0.1625, 0.1625))
    assert unit == "µm"
    assert "z_spacing_known" not in extra


def test_imagej_stack_without_spacing_is_flagged(tmp_path):
    # ImageJ omits spacing= when the voxel depth is 1.0, its default: Fiji shows 1.0.
    path = imagej(tmp_path / "s.tif", ramp((4, 8, 8)), pixel=0.25, unit="um", axes="ZYX")
    _, spacing, _, extra = read_tiff(path)
    assert spacing == (1.0, 0.25, 0.25)
    assert extra["z_spacing_known"] is False


def test_imagej_uncalibrated_has_no_unit(tmp_path):
    path = imagej(tmp_path / "u.tif", ramp((8, 8)))
    data, kwargs, _ = one_layer(path)
    assert kwargs["scale"] == (1.0, 1.0)
    assert "units" not in kwargs


@pytest.mark.parametrize(
    ("tunit", "unit"),
    [("sec", "s"), ("min", "min"), (None, "s"), ("day", "d"), ("ns", "ns"), ("\\u00B5sec", "µs"),
     ("frames", None)],  # (an unknown unit: the interval stays, without a unit)
)
def test_imagej_frame_interval_is_the_time_scale(tmp_path, tunit, unit):
    """Fiji's frame interval (finterval, tunit: sec by default) was dropped: t of 1.0."""
    metadata = {"axes": "TYX", "finterval": 2.5, "unit": "um"}
    if tunit is not None:
        metadata["tunit"] = tunit
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, ramp((3, 8, 8)), imagej=True, metadata=metadata,
                     resolution=(2.0, 2.0))
    data, kwargs, _ = one_layer(path)
    assert kwargs["scale"] == (2.5, 0.5, 0.5)
    assert kwargs["units"] == (unit, "µm", "µm")  # (None: napari's "pixel")
    assert kwargs["axis_labels"] == ("t", "y", "x")


def test_imagej_hyperstack_channels(tmp_path):
    data = ramp((5, 3, 16, 16))
    path = imagej(tmp_path / "hyper.tif", data, pixel=0.2, spacing=0.8, unit="um", axes="ZCYX")
    image, spacing, unit, extra = read_tiff(path)
    assert extra["channel_axis"] == 1
    assert spacing == pytest.approx((0.8, 0.2, 0.2))

    ((array, kwargs, kind),) = layer_data(read_tiff(path), "hyper")
    assert kind == "image" and array.shape == data.shape
    assert kwargs["channel_axis"] == 1
    assert kwargs["name"] == ["hyper [ch0]", "hyper [ch1]", "hyper [ch2]"]
    assert kwargs["scale"] == [spacing] * 3
    assert kwargs["units"] == [("µm",) * 3] * 3
    assert [m["axes"] for m in kwargs["metadata"]] == ["ZYX"] * 3


def test_hyperstack_splits_into_layers_with_scale(tmp_path):
    from napari.layers.utils.stack_utils import split_channels

    path = imagej(
        tmp_path / "h.tif", ramp((4, 3, 10, 10)), pixel=0.2, spacing=0.8, unit="um", axes="ZCYX"
    )
    ((array, kwargs, _),) = get_reader(str(path))(str(path))
    kwargs = dict(kwargs)
    layers = split_channels(array, kwargs.pop("channel_axis"), **kwargs)
    assert len(layers) == 3
    for data, meta, _ in layers:
        assert data.shape == (4, 10, 10)
        assert tuple(meta["scale"]) == pytest.approx((0.8, 0.2, 0.2))
        assert tuple(meta["units"]) == ("µm", "µm", "µm")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("um", "µm"),
        ("micron", "µm"),
        ("\\u00B5m", "µm"),
        ("nm", "nm"),
        ("mm", "mm"),
        ("pixel", None),
    ],
)
def test_imagej_unit_spellings(tmp_path, written, expected):
    path = imagej(tmp_path / "u.tif", ramp((8, 8)), pixel=0.5, unit=written)
    assert read_tiff(path).unit == expected


def test_canonical_unit():
    assert canonical_unit("µm") == canonical_unit("μm") == canonical_unit("micron") == "µm"
    assert canonical_unit(None) is None
    assert canonical_unit(" pixels ") is None
    assert canonical_unit("Å") == "Å"
    # names in any case, symbols as written (Mm: a megametre)
    assert canonical_unit("MICRON") == canonical_unit("Micrometres") == "µm"
    assert canonical_unit("Meters") == "m" and canonical_unit("centimetres") == "cm"
    assert canonical_unit("Mm") == "Mm" and canonical_unit("mm") == "mm"
    assert canonical_unit("UM") == "µm" and canonical_unit("MM") == "mm"  # (files in capitals)


def test_resolution_rationals():
    # tifffile gives X/YResolution as (numerator, denominator); pixel size = 1 / that.
    assert _ratio((2560000, 1000000)) == 2.56
    assert 1 / _ratio((2560000, 1000000)) == 0.390625
    assert _ratio((4, 1)) == 4.0
    assert _ratio(2.5) == 2.5
    assert _ratio((1, 0)) is None
    assert _ratio((0, 1)) is None
    assert _ratio(None) is None


# --- OME-TIFF ---------------------------------------------------------------------


def ome(path, data, **metadata):
    tifffile.imwrite(path, data, ome=True, metadata=metadata)
    return path


def test_ome_scale_and_unit(tmp_path):
    data = ramp((7, 12, 14))
    path = ome(
        tmp_path / "cells.ome.tif",
        data,
        axes="ZYX",
        PhysicalSizeX=0.108,
        PhysicalSizeY=0.108,
        PhysicalSizeZ=0.5,
        PhysicalSizeXUnit="µm",
        PhysicalSizeYUnit="µm",
        PhysicalSizeZUnit="µm",
    )
    image, spacing, unit, extra = read_tiff(path)
    np.testing.assert_array_equal(image, data)
    assert spacing == (0.5, 0.108, 0.108)
    assert unit == "µm"
    assert extra["z_spacing_known"] is True
    assert extra["spacing_source"] == "OME"
    _, kwargs, _ = one_layer(path)
    assert kwargs["name"] == "cells"
    assert kwargs["scale"] == (0.5, 0.108, 0.108)
    assert kwargs["units"] == ("µm", "µm", "µm")


@pytest.mark.parametrize(
    ("xy_unit", "z_unit", "z_in_xy_unit"),
    # (Å: a length outside the table, converted by pint; was kept as 1 Å slices)
    [("nm", "µm", 1000.0), ("Å", "nm", 10.0), ("nm", "Å", 0.1)],
)
def test_ome_mixed_units_are_converted(tmp_path, xy_unit, z_unit, z_in_xy_unit):
    path = ome(
        tmp_path / "m.ome.tif",
        ramp((3, 8, 8)),
        axes="ZYX",
        PhysicalSizeX=250.0,
        PhysicalSizeY=250.0,
        PhysicalSizeZ=1.0,
        PhysicalSizeXUnit=xy_unit,
        PhysicalSizeYUnit=xy_unit,
        PhysicalSizeZUnit=z_unit,
    )
    _, spacing, unit, _ = read_tiff(path)
    assert unit == xy_unit
    assert spacing == pytest.approx((z_in_xy_unit, 250.0, 250.0))


def test_length_factor_reaches_every_length_and_no_other_unit():
    """The table's units, and the lengths pint knows (the Voxel size dock offers them)."""
    assert length_factor("mm", "micron") == 1000.0
    assert length_factor("Å", "nm") == 0.1 and length_factor("nm", "angstrom") == 10.0
    assert length_factor("foot", "mm") == pytest.approx(304.8)
    assert length_factor("ft", "ft") == 1.0
    for other in ("pixel", "px", "s", "kg", "µm²", "µm)", "", None):
        assert length_factor(other, "µm") is None and length_factor("µm", other) is None


def test_ome_default_unit_and_missing_z(tmp_path):
    # The OME schema's default unit is µm; a missing PhysicalSizeZ is unknown.
    path = ome(tmp_path / "d.ome.tif", ramp((3, 8, 8)), axes="ZYX", PhysicalSizeX=0.3)
    _, spacing, unit, extra = read_tiff(path)
    assert unit == "µm"
    assert spacing == pytest.approx((1.0, 0.3, 0.3))
    assert extra["z_spacing_known"] is False


def test_ome_channels_are_named(tmp_path):
    path = ome(
        tmp_path / "c.ome.tif",
        ramp((2, 3, 8, 8)),
        axes="ZCYX",
        PhysicalSizeX=0.2,
        PhysicalSizeY=0.2,
        PhysicalSizeZ=1.0,
        Channel={"Name": ["DAPI", "GFP", "RFP"]},
    )
    ((_, kwargs, _),) = get_reader(str(path))(str(path))
    assert kwargs["channel_axis"] == 1
    assert kwargs["name"] == ["c [DAPI]", "c [GFP]", "c [RFP]"]
    assert kwargs["scale"] == [(1.0, 0.2, 0.2)] * 3


# --- plain TIFF, RGB and channels last ----------------------------------------------


def test_rgb_uint8(tmp_path):
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, ramp((20, 30, 3), np.uint8), photometric="rgb")
    data, kwargs, _ = one_layer(path)
    assert data.shape == (20, 30, 3)
    assert kwargs["rgb"] is True
    assert kwargs["scale"] == (1.0, 1.0)
    assert "channel_axis" not in kwargs


@pytest.mark.parametrize("photometric", ["rgb", "minisblack"])
def test_channels_last_uint16_become_layers(tmp_path, photometric):
    path = tmp_path / "c3.tif"
    data = ramp((20, 30, 3))
    tifffile.imwrite(path, data, photometric=photometric)
    image = read_tiff(path)
    np.testing.assert_array_equal(image.data, data)
    assert image.extra["channel_axis"] == 2
    assert image.extra["rgb"] is False
    ((_, kwargs, _),) = layer_data(image, "c3")
    assert kwargs["channel_axis"] == 2
    assert kwargs["scale"] == [(1.0, 1.0)] * 3


def test_plain_multipage_tiff_is_a_z_stack(tmp_path):
    path = tmp_path / "pages.tif"
    tifffile.imwrite(path, ramp((5, 8, 8)))
    _, spacing, unit, extra = read_tiff(path)
    assert extra["axes"] == "ZYX"
    assert spacing == (1.0, 1.0, 1.0)
    assert unit is None
    assert extra["z_spacing_known"] is False


def test_pages_appended_one_by_one_are_one_stack(tmp_path):
    """Each append=True call (or TiffWriter.write) is a series of its own: only the first
    plane was read, silently; ImageJ opens them all as a stack."""
    planes = ramp((6, 8, 9))
    appended = tmp_path / "appended.tif"
    for plane in planes:
        tifffile.imwrite(appended, plane, append=True, resolution=(2.0, 2.0),
                         resolutionunit="CENTIMETER")
    written = tmp_path / "written.tif"
    with tifffile.TiffWriter(written) as writer:
        for plane in planes:
            writer.write(plane)
    for path in (appended, written):
        data, spacing, _, extra = read_tiff(path)
        np.testing.assert_array_equal(data, planes)
        assert extra["axes"] == "ZYX" and extra["z_spacing_known"] is False
    # calibrated as the same planes written at once
    tifffile.imwrite(tmp_path / "at once.tif", planes, resolution=(2.0, 2.0),
                     resolutionunit="CENTIMETER")
    at_once = read_tiff(tmp_path / "at once.tif")
    assert read_tiff(appended)[1:3] == at_once[1:3] and at_once.spacing[1:] == (5.0, 5.0)


def test_other_series_are_named_in_a_warning(tmp_path):
    path = tmp_path / "two images.tif"
    with tifffile.TiffWriter(path) as writer:
        writer.write(ramp((8, 9)))
        writer.write(ramp((4, 5)))  # e.g. a thumbnail
    with pytest.warns(UserWarning, match=r"two images.tif holds 2 images: only the first, of "
                      r"shape \(8, 9\), is read"):
        data = read_tiff(path).data
    np.testing.assert_array_equal(data, ramp((8, 9)))


@pytest.mark.parametrize(
    ("resolution", "unit_tag", "size", "unit"),
    [
        ((10000, 10000), "CENTIMETER", 1.0, "µm"),
        ((300, 300), "INCH", 25400 / 300, "µm"),
        ((20, 20), "CENTIMETER", 0.5, "mm"),
        ((72, 72), "INCH", 1.0, None),  # screen default: no calibration
    ],
)
def test_plain_tiff_resolution_units(tmp_path, resolution, unit_tag, size, unit):
    path = tmp_path / "r.tif"
    tifffile.imwrite(path, ramp((8, 8)), resolution=resolution, resolutionunit=unit_tag)
    image = read_tiff(path)
    assert image.spacing == pytest.approx((size, size))
    assert image.unit == unit


# --- stacks of slices -------------------------------------------------------------


def write_slices(folder, names, *, pixel=0.5, unit="um", shape=(12, 10), info=None):
    folder.mkdir(exist_ok=True)
    for value, name in enumerate(names):
        metadata = {"unit": unit}
        if info is not None:
            metadata["Info"] = info(value)
        imagej(folder / name, np.full(shape, value, np.uint16), pixel=pixel, **metadata)
    return folder


def test_natural_order():
    names = ["img10.tif", "img2.tif", "IMG1.tif", "img1b.tif"]
    assert sorted(names, key=natural_key) == ["IMG1.tif", "img1b.tif", "img2.tif", "img10.tif"]


def test_folder_of_slices_is_one_stack(tmp_path):
    # Written out of order, and with names that sort wrongly as plain strings.
    names = ["s10.tif", "s1.tif", "s2.tif", "s9.tif"]
    folder = write_slices(tmp_path / "slices", names)
    (tmp_path / "slices" / "notes.txt").write_text("not an image")
    image, spacing, unit, extra = read_stack(folder)
    assert image.shape == (4, 12, 10)
    # s1, s2, s9, s10 hold the values written for them: 1, 2, 3, 0.
    assert [int(plane[0, 0]) for plane in image] == [1, 2, 3, 0]
    # Fiji's Image Sequence import: unknown voxel depth = pixel width.
    assert spacing == (0.5, 0.5, 0.5)
    assert unit == "µm"
    assert extra["z_spacing_known"] is False

    data, kwargs, _ = one_layer(folder)
    assert data.shape == (4, 12, 10)
    assert kwargs["name"] == "slices"
    assert kwargs["metadata"]["z_spacing_known"] is False
    assert kwargs["units"] == ("µm", "µm", "µm")


def test_list_and_glob_of_slices(tmp_path):
    folder = write_slices(tmp_path / "f", ["cell_3.tif", "cell_1.tif", "cell_2.tif"])
    files = [str(folder / n) for n in ("cell_2.tif", "cell_3.tif", "cell_1.tif")]
    by_list = get_reader(files)(files)
    pattern = str(folder / "cell_*.tif")
    by_glob = get_reader(pattern)(pattern)
    for ((data, kwargs, _),) in (by_list, by_glob):
        assert [int(p[0, 0]) for p in data] == [1, 2, 0]
        assert kwargs["name"] == "cell"
        assert kwargs["scale"] == (0.5, 0.5, 0.5)


def test_slices_must_match(tmp_path):
    folder = write_slices(tmp_path / "f", ["a1.tif", "a2.tif"])
    imagej(folder / "a3.tif", np.zeros((5, 5), np.uint16))
    with pytest.raises(ValueError, match="a3.tif"):
        read_stack(folder)


def test_slices_with_different_calibration_are_uncalibrated(tmp_path):
    folder = write_slices(tmp_path / "f", ["a1.tif", "a2.tif"])
    imagej(folder / "a3.tif", np.zeros((12, 10), np.uint16), pixel=0.7, unit="um")
    _, spacing, unit, _ = read_stack(folder)
    assert spacing == (1.0, 1.0, 1.0)
    assert unit is None


def test_dicom_slice_spacing_kept_by_imagej(tmp_path):
    # ImageJ keeps a DICOM header in the Info property of TIFFs saved from DICOM.
    def info(index):
        return (
            "0018,0088  Spacing Between Slices: 3.5\n"
            f"0020,1041  Slice Location: {-20 + 3.5 * index}\n"
            "7FE0,0010  Pixel Data: 1234\n"
        )

    folder = write_slices(
        tmp_path / "dcm", ["i1.tif", "i2.tif", "i3.tif", "i4.tif"], pixel=0.8, unit="mm", info=info
    )
    _, spacing, unit, extra = read_stack(folder)
    assert spacing == (3.5, 0.8, 0.8)
    assert unit == "mm"
    assert extra["z_spacing_known"] is True
    # Every other slice: the locations win over the attribute.
    _, spacing, _, _ = read_stack(sorted(folder.glob("*.tif"))[::2])
    assert spacing[0] == pytest.approx(7.0)


def test_tiff_paths_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        tiff_paths(tmp_path)
    with pytest.raises(ValueError, match="not TIFF"):
        tiff_paths([tmp_path / "a.png"])
    with pytest.raises(FileNotFoundError, match="no such file or folder: .*nosuchdir"):
        tiff_paths(str(tmp_path / "nosuchdir"))  # not "not TIFF files"


# --- what get_reader declines -----------------------------------------------------


@pytest.mark.parametrize("name", ["image.png", "table.csv", "noext"])
def test_non_tiff_paths_return_none(tmp_path, monkeypatch, name):
    monkeypatch.setattr(_reader, "_bioio_available", lambda: False)
    assert get_reader(str(tmp_path / name)) is None


@pytest.mark.parametrize("name", ["movie.czi", "x.ND2", "scan.lif"])
def test_a_czi_without_bioio_says_what_to_install(tmp_path, monkeypatch, name):
    """The manifest claims CZI, ND2 and LIF: without bioio napari said only that the
    reader "refused the file" (review 83)."""
    monkeypatch.setattr(_reader, "_bioio_available", lambda: False)
    reader = get_reader(str(tmp_path / name))
    with pytest.raises(ImportError, match=rf'^{name}: .* pip install "napari-bioimg\[formats\]"'):
        reader(str(tmp_path / name))


def test_folder_without_tiffs_and_mixed_lists_return_none(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    assert get_reader(str(tmp_path)) is None
    assert get_reader([str(tmp_path / "a.tif"), str(tmp_path / "a.png")]) is None
    assert get_reader([]) is None
    assert get_reader(str(tmp_path / "nothing*.tif")) is None


def test_bioio_fallback(tmp_path, monkeypatch):
    sizes = namedtuple("PhysicalPixelSizes", "Z Y X")

    class FakeBioImage:
        def __init__(self, path):
            self.path = path
            self.physical_pixel_sizes = sizes(1.2, 0.3, 0.3)
            self.channel_names = ["DAPI", "Actin"]

        def get_image_data(self, order):
            assert order == "TCZYX"
            return ramp((1, 2, 4, 8, 8))

    monkeypatch.setitem(sys.modules, "bioio", types.SimpleNamespace(BioImage=FakeBioImage))
    monkeypatch.setattr(_reader, "_bioio_available", lambda: True)
    path = str(tmp_path / "scan.czi")
    reader = get_reader(path)
    assert reader is _reader.read_bioio
    ((data, kwargs, _),) = reader(path)
    assert data.shape == (2, 4, 8, 8)
    assert kwargs["channel_axis"] == 0
    assert kwargs["name"] == ["scan [DAPI]", "scan [Actin]"]
    assert kwargs["scale"] == [(1.2, 0.3, 0.3)] * 2
    assert kwargs["units"] == [("µm",) * 3] * 2


# --- the shared real images -------------------------------------------------------


def test_banana_folder():
    folder = shared("banana")
    data, kwargs, kind = one_layer(folder)
    assert kind == "image"
    assert data.shape == (25, 384, 384)
    assert data.dtype == np.uint16
    assert kwargs["name"] == "banana"
    assert kwargs["scale"][1:] == (0.390625, 0.390625)
    assert kwargs["units"] == ("mm", "mm", "mm")
    # The files are ImageJ exports of DICOM slices: their Info keeps "Spacing
    # Between Slices: 8.8" (mm), which the reader uses as the slice distance.
    assert kwargs["scale"][0] == pytest.approx(8.8)
    assert kwargs["metadata"]["z_spacing_known"] is True
    first = tifffile.imread(folder / "banana0002.tif")
    np.testing.assert_array_equal(data[0], first)


def test_banana_without_dicom_header_falls_back_to_pixel_width(tmp_path):
    # The same slices re-saved with only their ImageJ calibration.
    folder = tmp_path / "banana"
    folder.mkdir()
    for path in sorted(shared("banana").glob("banana*.tif"))[:5]:
        imagej(folder / path.name, tifffile.imread(path), pixel=0.390625, unit="mm")
    _, spacing, unit, extra = read_stack(folder)
    assert spacing == (0.390625, 0.390625, 0.390625)
    assert unit == "mm"
    assert extra["z_spacing_known"] is False


def test_bbbc022_channels():
    path = shared("BBBC022_IXMtest_A02_s9.tif")
    ((data, kwargs, _),) = get_reader(str(path))(str(path))
    assert data.shape == (3, 395, 695)
    assert kwargs["channel_axis"] == 0
    assert kwargs["scale"] == [(1.0, 1.0)] * 3
    # Fiji shows the channels with their LUTs and display ranges.
    assert kwargs["colormap"] == ["red", "green", "blue"]
    assert kwargs["contrast_limits"][2] == (124.0, 4095.0)


def test_blobs_is_uncalibrated():
    data, kwargs, _ = one_layer(shared("blobs.tif"))
    assert data.shape == (254, 256)
    assert kwargs["scale"] == (1.0, 1.0)
    assert "units" not in kwargs


def test_plain_tiff_with_json_spacing(tmp_path):
    # What napari_bioimg.pipeline writes for dtypes ImageJ cannot hold (int32 labels).
    path = tmp_path / "labels.tif"
    data = np.arange(3 * 8 * 8, dtype=np.int32).reshape(3, 8, 8) * 1000
    tifffile.imwrite(
        path,
        data,
        photometric="minisblack",
        metadata={"axes": "ZYX", "spacing": 2.0, "unit": "µm"},
        resolution=(1 / 5e-5, 1 / 5e-5),
        resolutionunit="CENTIMETER",
    )
    image, spacing, unit, extra = read_tiff(path)
    np.testing.assert_array_equal(image, data)
    assert spacing == pytest.approx((2.0, 0.5, 0.5))
    assert unit == "µm"
    assert extra["z_spacing_known"] is True


@pytest.mark.parametrize(
    ("dtype", "scale"), [(np.uint16, 1), (np.float32, 1), (np.int32, 100_000), (np.float64, 1)]
)
@pytest.mark.parametrize("unit", ["µm", "mm", "nm"])
def test_pipeline_output_reads_back_with_its_voxel_size(tmp_path, dtype, scale, unit):
    io = pytest.importorskip("napari_bioimg.pipeline.io")
    data = (np.arange(4 * 9 * 10).reshape(4, 9, 10) * scale).astype(dtype)
    path = tmp_path / "out.tif"
    io.write_image(path, data, spacing=(2.0, 0.25, 0.25), unit=unit)
    image, spacing, read_unit, extra = read_tiff(path)
    np.testing.assert_array_equal(image, data.astype(image.dtype))
    assert read_unit == unit
    assert spacing == pytest.approx((2.0, 0.25, 0.25))
    assert extra["z_spacing_known"] is True


def test_an_ome_time_lapse_keeps_its_frame_interval(tmp_path):
    """OME's TimeIncrement was not read: frames of 2.5 s came as t scale 1.0 without unit."""
    frames = np.zeros((3, 8, 9), np.uint8)
    path = tmp_path / "movie.ome.tif"
    tifffile.imwrite(path, frames, ome=True, metadata={
        "axes": "TYX", "TimeIncrement": 2.5, "TimeIncrementUnit": "s",
        "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5,
    })
    image = read_tiff(path)
    assert image.frame_interval == (2.5, "s")
    assert image.spacing == (2.5, 0.5, 0.5) and image.unit == "µm"
    path = tmp_path / "fast.ome.tif"  # (no pixel size; milliseconds)
    tifffile.imwrite(path, frames, ome=True, metadata={
        "axes": "TYX", "TimeIncrement": 100, "TimeIncrementUnit": "ms",
    })
    assert read_tiff(path).frame_interval == (100.0, "ms")


@pytest.mark.parametrize("size", [0.65, 0.41, 0.390625, 1 / 3, 6.5e-8])
def test_pixel_sizes_come_back_exactly(tmp_path, size):
    """Through the rational resolution tags 0.65 came back as 0.6499999999999999."""
    from napari_bioimg.pipeline.io import write_image

    write_image(tmp_path / "sized.tif", np.zeros((4, 5), np.uint8), (size, size), "µm")
    assert read_tiff(tmp_path / "sized.tif").spacing == (size, size)


@pytest.mark.parametrize("size", [0.65, 0.41, 0.325, 12.5])
def test_pixel_sizes_in_centimetre_resolution_tags_come_back_exactly(tmp_path, size):
    """Plain TIFFs in centimetres (as most writers save microscopy): 0.65 µm read
    0.6499999999999999, rounded before the conversion to µm rather than after (review 78)."""
    resolution = (1 / (size * 1e-4),) * 2
    tifffile.imwrite(tmp_path / "cm.tif", np.zeros((4, 5), np.uint8), resolution=resolution,
                     resolutionunit="CENTIMETER")
    image = read_tiff(tmp_path / "cm.tif")
    assert (image.spacing, image.unit) == ((size, size), "µm")


def test_a_damaged_file_holding_no_image_says_so(tmp_path):
    """A file cut after its header failed with "list index out of range" (review 78)."""
    (tmp_path / "broken.tif").write_bytes(b"II*\0garbage")
    with pytest.raises(ValueError, match="broken.tif holds no image: not a TIFF, or a damaged"):
        read_tiff(tmp_path / "broken.tif")


@pytest.mark.parametrize(("source", "size"), [("banana/banana0002.tif", 30000),
                                             ("blobs.tif", 100)])
def test_a_file_cut_short_is_named(tmp_path, source, size):
    """tifffile's "failed to read 294912 bytes, got 17528" and "corrupted IFD structure"
    named no file (review 83): a folder's slice or a dropped file, which one?"""
    cut = tmp_path / "cut.tif"
    cut.write_bytes(shared(source).read_bytes()[:size])
    with pytest.raises(ValueError, match=r"^damaged or cut short: "):
        read_tiff(cut)  # (its callers name the file: "cannot read the slice ...")
    with pytest.raises(ValueError, match=r"^cut\.tif: damaged or cut short: "):
        get_reader(str(cut))(str(cut))  # (napari's notification names none)


def test_an_imagej_stack_cut_short_or_a_damaged_strip_is_refused(tmp_path):
    """A 10-plane ImageJ stack cut to 90 % opened as one plane (tifffile reads what is
    left, logging it); a corrupt zlib strip raised zlib's own error (review 90)."""
    stack = np.arange(4 * 64 * 64, dtype=np.uint16).reshape(4, 64, 64)
    tifffile.imwrite(tmp_path / "full.tif", stack, imagej=True, metadata={"axes": "ZYX"})
    whole = (tmp_path / "full.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(whole[: len(whole) - 5000])
    with pytest.raises(ValueError, match="^cut short: its ImageJ header counts 4 planes, it "
                                         "holds 1"):
        read_tiff(tmp_path / "cut.tif")
    np.testing.assert_array_equal(read_tiff(tmp_path / "full.tif").data, stack)
    plane = np.random.default_rng(0).integers(0, 9, (64, 64)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "z.tif", plane, compression="zlib")
    with tifffile.TiffFile(tmp_path / "z.tif") as tif:
        offset, count = tif.pages[0].dataoffsets[0], tif.pages[0].databytecounts[0]
    damaged = bytearray((tmp_path / "z.tif").read_bytes())
    damaged[offset + 2 : offset + count] = bytes(count - 2)  # (a zeroed strip)
    (tmp_path / "zc.tif").write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="^zc.tif: damaged: error: Error -3 while decompress"):
        get_reader(str(tmp_path / "zc.tif"))(str(tmp_path / "zc.tif"))


def test_tifffile_warnings_are_told_once(tmp_path, caplog, monkeypatch):
    """tifffile logged "invalid offset to first page" before our message (two messages for
    one damaged file); its reason is now part of ours. A file that reads keeps its log."""
    import logging

    (tmp_path / "broken.tif").write_bytes(b"II*\0garbage")
    with caplog.at_level(logging.WARNING), pytest.raises(ValueError) as raised:
        read_tiff(tmp_path / "broken.tif")
    assert "holds no image" in str(raised.value)
    assert str(raised.value).endswith("(tifffile: invalid offset to first page 1651663207)")
    assert caplog.records == []
    tifffile.imwrite(tmp_path / "fine.tif", np.zeros((4, 5), np.uint8))
    original = tifffile.TiffFile.__init__

    def warning_too(self, *args, **kwargs):  # (tifffile warns about a file that reads)
        logging.getLogger("tifffile").warning("something odd")
        original(self, *args, **kwargs)

    monkeypatch.setattr(tifffile.TiffFile, "__init__", warning_too)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert read_tiff(tmp_path / "fine.tif").data.shape == (4, 5)
    assert [r.getMessage() for r in caplog.records] == ["something odd"]


def test_fiji_labels_saved_with_a_glasbey_lut_open_as_labels():
    """ImageJ's labelling of blobs (glasbey_on_dark LUT) opened as a grey image (review 80);
    Fiji's and MorphoLibJ's label images are saved with that LUT."""
    path = shared("blobs_labels_imagej.tif")
    [(data, _, kind)] = get_reader(str(path))(str(path))
    assert kind == "labels" and data.dtype == np.uint16 and int(data.max()) == 63
    [(_, _, kind)] = get_reader(str(shared("blobs.tif")))(str(shared("blobs.tif")))
    assert kind == "image"


def test_only_integer_images_with_a_glasbey_lut_are_labels(tmp_path):
    labels = np.zeros((12, 14), np.uint8)
    labels[2:5, 3:7] = 1
    for dtype, lut, expected in (
        (np.uint8, "glasbey_inverted", "labels"), (np.uint8, "Fire", "image"),
        (np.float32, "glasbey", "image"),
    ):
        tifffile.imwrite(tmp_path / "x.tif", labels.astype(dtype), imagej=True,
                         metadata={"Properties": {"CurrentLUT": lut}})
        [(_, _, kind)] = get_reader(str(tmp_path / "x.tif"))(str(tmp_path / "x.tif"))
        assert kind == expected, (dtype, lut)
