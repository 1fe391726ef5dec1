"""Exported scripts run on their own and write what ``napari-bioimg run`` writes."""

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from napari_bioimg import ops
from napari_bioimg.cli import main
from napari_bioimg.io_tiff import read_tiff
from napari_bioimg.pipeline import Pipeline

from ..conftest import data_path


def segmentation() -> Pipeline:
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    pipeline.add("resample_isotropic", order=1)
    pipeline.add("median", radius=1.0, step_id="smooth")
    pipeline.add("threshold", method="otsu")
    pipeline.add("fill_holes")
    pipeline.add("remove_small_objects", min_size=4.0)
    pipeline.add("label", connectivity=1)
    return pipeline


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "blobs.tif").write_bytes(data_path("blobs.tif").read_bytes())
    rng = np.random.default_rng(3)
    stack = (rng.random((5, 30, 32)) * 50).astype(np.uint16)
    stack[1:4, 8:20, 10:24] += 100
    tifffile.imwrite(folder / "stack.tif", stack, imagej=True, resolution=(4.0, 4.0),
                     metadata={"axes": "ZYX", "spacing": 0.75, "unit": "um"})
    channels = rng.integers(0, 255, (2, 24, 26)).astype(np.uint8)
    tifffile.imwrite(folder / "two channels.tif", channels, imagej=True,
                     metadata={"axes": "CYX", "Labels": ["DAPI", "GFP"]})
    return folder


def run_script(script, source, target, env=None):
    completed = subprocess.run(
        [sys.executable, str(script), str(source), str(target)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr


def test_script_writes_the_same_bytes_as_the_cli(tmp_path, inputs, capsys):
    pipeline_file = tmp_path / "segment.yaml"
    segmentation().save(pipeline_file)
    assert main(["run", str(pipeline_file), str(inputs), "--out", str(tmp_path / "cli")]) == 0
    script = tmp_path / "segment.py"
    assert main(["export-script", str(pipeline_file), "-o", str(script)]) == 0
    source = script.read_text()
    assert "step1 = ops.gaussian(image, sigma=1.0, spacing=spacing)" in source
    assert "step3 = ops.median(step2, radius=1.0, footprint=\"ball\", spacing=spacing2)" in source
    imports = {line for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports == {
        "import os", "import sys", "import traceback", "import numpy as np", "import tifffile",
        "from napari_bioimg import ops", "from napari_bioimg.io_tiff import read_stack, read_tiff",
    }

    for name in ("blobs.tif", "stack.tif", "two channels.tif"):
        target = tmp_path / "script" / name
        target.parent.mkdir(exist_ok=True)
        run_script(script, inputs / name, target)
        assert target.read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    slices = tmp_path / "slices"  # a folder of slices, as one stack: as `run --stack`
    slices.mkdir()
    for z, plane in enumerate(tifffile.imread(inputs / "stack.tif")):
        tifffile.imwrite(slices / f"s{z}.tif", plane, imagej=True, resolution=(4.0, 4.0),
                         metadata={"unit": "um"})
    assert main(["run", str(pipeline_file), str(slices), "--out", str(tmp_path / "cli"),
                 "--stack"]) == 0
    run_script(script, slices, tmp_path / "script" / "slices.tif")
    assert (tmp_path / "script" / "slices.tif").read_bytes() == (
        tmp_path / "cli" / "slices.tif"
    ).read_bytes()
    labels = tifffile.imread(tmp_path / "cli" / "stack.tif")
    assert labels.shape == (13, 30, 32)  # z resampled from 0.75 to 0.25
    # the channels keep their names (napari-bioimg names the layers after them)
    channels = read_tiff(tmp_path / "cli" / "two channels.tif")
    assert channels.extra["channel_names"] == ["DAPI", "GFP"]
    assert channels.data.shape == (2, 24, 26)
    assert labels.max() >= 1


def test_script_imports_user_operations(tmp_path, user_module):
    pipeline = Pipeline()
    pipeline.add("add_offset", offset=0.5)
    pipeline.add("gaussian", sigma=1.0)
    source = pipeline.to_python()
    assert f"import {user_module} as _module1" in source
    assert "step1 = _module1.add_offset(image.copy(), offset=0.5, spacing=spacing)" in source
    script = tmp_path / "user.py"
    script.write_text(source)
    image = np.arange(20 * 20, dtype=np.uint16).reshape(20, 20)
    tifffile.imwrite(tmp_path / "in.tif", image)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "user_ops"), *sys.path])}
    run_script(script, tmp_path / "in.tif", tmp_path / "out.tif", env=env)
    expected = Pipeline.from_yaml(pipeline.to_yaml()).run(image, (1.0, 1.0))
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif"), expected)


def test_a_script_without_its_operations_module_says_how_in_one_line(tmp_path, user_module):
    """Run away from the module, it died at ``import`` with a traceback."""
    pipeline = Pipeline()
    pipeline.add("add_offset", offset=0.5)
    script = tmp_path / "elsewhere" / "user.py"
    script.parent.mkdir()
    script.write_text(pipeline.to_python())
    tifffile.imwrite(tmp_path / "in.tif", np.zeros((8, 8), np.uint8))
    paths = [p for p in sys.path if p != str(tmp_path / "user_ops")]  # (napari_bioimg's)
    completed = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "in.tif"), str(tmp_path / "out.tif")],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
        timeout=120,
    )
    assert completed.returncode == 1
    assert completed.stderr == (
        f"cannot import the module of an operation (No module named '{user_module}'): put its "
        f"folder on PYTHONPATH (PYTHONPATH=its/folder python {script} INPUT.tif OUTPUT.tif), "
        "install it, or put this script beside it\n"
    )
    assert not (tmp_path / "out.tif").exists()


def test_user_functions_of_one_name_and_in_place_writers_run_as_in_the_pipeline(
    tmp_path, monkeypatch
):
    """Two modules' ``shift``, a function called ``process`` that writes into its
    input, and an infinite parameter: the script gives what the pipeline gives."""
    from napari_bioimg.ops import register, unregister

    folder = tmp_path / "labs"
    folder.mkdir()
    (folder / "lab_up.py").write_text(
        "def shift(image, amount: float = 1.0):\n    return image + amount\n"
    )
    (folder / "lab_down.py").write_text(
        "def shift(image, amount: float = 1.0):\n    return image - amount\n\n\n"
        "def process(image, add: float = 1.0):\n    image += add\n    return image\n"
    )
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    up, down = importlib.import_module("lab_up"), importlib.import_module("lab_down")
    register(up.shift, name="shift_up")
    register(down.shift, name="shift_down")
    register(down.process, name="add_in_place")
    try:
        image = (np.arange(12 * 14).reshape(12, 14) % 50).astype(np.float32)
        tifffile.imwrite(tmp_path / "in.tif", image)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), *sys.path])}
        shifts = Pipeline()  # two functions called shift: +30 then -10
        shifts.add("shift_up", amount=30.0)
        shifts.add("shift_down", amount=10.0)
        in_place = Pipeline()  # a writer into its input, then a step reading the input
        in_place.add("add_in_place", add=5.0)
        in_place.add("threshold", method="manual", value=float("inf"), source="step1")
        in_place.add("mean", radius=1.0, source="input")
        for name, pipeline, expected in [
            ("shifts", shifts, image + 20),
            ("in_place", in_place, ops.mean(image, radius=1.0)),  # of the untouched input
        ]:
            script = tmp_path / f"{name}.py"
            script.write_text(pipeline.to_python())
            run_script(script, tmp_path / "in.tif", tmp_path / f"{name}.tif", env=env)
            written = tifffile.imread(tmp_path / f"{name}.tif")
            np.testing.assert_array_equal(written, pipeline.run(image, (1.0, 1.0)))
            np.testing.assert_allclose(written, expected, rtol=1e-6)
    finally:
        for name in ("shift_up", "shift_down", "add_in_place"):
            unregister(name)
        for module in ("lab_up", "lab_down"):
            sys.modules.pop(module, None)


def test_a_function_reducing_a_stack_to_a_plane_keeps_the_plane_voxel_size(
    tmp_path, inputs, monkeypatch
):
    """A projection of one's own, then a Gaussian: the later step gets the plane's
    spacing (it got the stack's 3 values), in the pipeline, the CLI and the script."""
    from napari_bioimg.ops import register, unregister

    folder = tmp_path / "labs"
    folder.mkdir()
    (folder / "lab_mip.py").write_text(
        "def mip(image, gain: float = 1.0):\n    return image.max(axis=0) * gain\n"
    )
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    register(importlib.import_module("lab_mip").mip, name="my_mip")
    try:
        pipeline = Pipeline()
        pipeline.add("my_mip", gain=2.0)
        pipeline.add("gaussian", sigma=0.5)
        stack = tifffile.imread(inputs / "stack.tif")
        expected = ops.gaussian(stack.max(axis=0) * 2.0, sigma=0.5, spacing=(0.25, 0.25))
        np.testing.assert_allclose(pipeline.run(stack, (0.75, 0.25, 0.25)), expected, rtol=1e-6)
        result, spacing, scale, translate, units, _ = pipeline.run_with_geometry(
            stack, (0.75, 0.25, 0.25), (0.75, 0.25, 0.25), (1.0, 2.0, 3.0), ("um",) * 3
        )
        assert (spacing, scale, translate, units) == (
            (0.25, 0.25), (0.25, 0.25), (2.0, 3.0), ("um", "um")
        )
        pipeline_file = tmp_path / "mip.yaml"
        pipeline.save(pipeline_file)
        assert main(["run", str(pipeline_file), str(inputs / "stack.tif"), "--out",
                     str(tmp_path / "cli")]) == 0
        script = tmp_path / "mip.py"
        script.write_text(pipeline.to_python())
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), *sys.path])}
        run_script(script, inputs / "stack.tif", tmp_path / "script.tif", env=env)
        written = tmp_path / "cli" / "stack.tif"
        assert (tmp_path / "script.tif").read_bytes() == written.read_bytes()
        np.testing.assert_allclose(tifffile.imread(written), expected, rtol=1e-6)
        with tifffile.TiffFile(written) as tif:
            assert tif.pages[0].tags["XResolution"].value == (4, 1)  # 0.25 um pixels
    finally:
        unregister("my_mip")
        sys.modules.pop("lab_mip", None)


def test_functions_from_main_cannot_be_exported():
    from napari_bioimg.ops import register, unregister

    def local_filter(image, size: int = 1):
        return image

    local_filter.__module__ = "__main__"
    register(local_filter)
    try:
        pipeline = Pipeline()
        pipeline.add("local_filter")
        with pytest.raises(ValueError, match=r"step 1 \(local_filter\): cannot export"):
            pipeline.to_python()
    finally:
        unregister("local_filter")


def test_rgb_images_keep_their_colours_and_spacing_in_the_cli_and_scripts(tmp_path, capsys):
    from napari_bioimg.pipeline import read_image

    folder = tmp_path / "in"
    folder.mkdir()
    rgb = np.random.default_rng(4).integers(0, 255, (40, 50, 3)).astype(np.uint8)
    tifffile.imwrite(folder / "rgb.tif", rgb, imagej=True, photometric="rgb",
                     resolution=(2.0, 2.0), metadata={"unit": "um"})
    pipeline = Pipeline()
    pipeline.add("subsample", step=2)  # both spatial axes, as napari shows them
    pipeline.add("flip")  # the last of them: x
    pipeline.save(tmp_path / "p.yaml")
    out = tmp_path / "cli"
    assert main(["run", str(tmp_path / "p.yaml"), str(folder), "--out", str(out)]) == 0
    image, spacing, unit, channel_axis, _ = read_image(tmp_path / "cli" / "rgb.tif")
    np.testing.assert_array_equal(image, rgb[::2, ::2][:, ::-1])
    assert (spacing, unit, channel_axis) == ((1.0, 1.0), "µm", None)
    script = tmp_path / "p.py"
    assert main(["export-script", str(tmp_path / "p.yaml"), "-o", str(script)]) == 0
    run_script(script, folder / "rgb.tif", tmp_path / "script.tif")
    assert (tmp_path / "script.tif").read_bytes() == (tmp_path / "cli" / "rgb.tif").read_bytes()


def same_file_by_cli_and_script(tmp_path, pipeline, source):
    """Run ``pipeline`` on ``source`` with ``napari-bioimg run`` and as an exported script;
    both write the same bytes. Returns the CLI's file."""
    pipeline_file = tmp_path / "pipeline.yaml"
    pipeline.save(pipeline_file)
    assert main(["run", str(pipeline_file), str(source), "--out", str(tmp_path / "cli")]) == 0
    script = tmp_path / "pipeline.py"
    assert main(["export-script", str(pipeline_file), "-o", str(script)]) == 0
    run_script(script, source, tmp_path / source.name)
    written = tmp_path / "cli" / source.name
    assert (tmp_path / source.name).read_bytes() == written.read_bytes()
    return written


def test_a_set_voxel_size_step_is_written_by_the_cli_and_the_script(tmp_path, inputs):
    from napari_bioimg.pipeline.io import read_image

    pipeline = Pipeline()
    pipeline.add("set_voxel_size", z=2.0, y=0.5, x=0.5)
    pipeline.add("gaussian", sigma=1.0)
    written = same_file_by_cli_and_script(tmp_path, pipeline, inputs / "stack.tif")
    result, spacing, unit, _, _ = read_image(written)
    assert spacing == pytest.approx((2.0, 0.5, 0.5)) and unit == "µm"  # the unit stays
    stack = tifffile.imread(inputs / "stack.tif")
    np.testing.assert_allclose(
        result, ops.gaussian(stack, sigma=1.0, spacing=(2.0, 0.5, 0.5)), rtol=1e-6
    )


def test_a_guessed_slice_distance_is_written_as_a_guess_by_the_cli_and_the_script(tmp_path):
    """A stack without spacing read with Fiji's guess of z (1 µm, noted) was written with
    spacing=1.0 as if known: read back, z was no guess and a second run noted nothing. The
    guess stays one (its value kept, marked), scaled by a resampling too, unless a step
    sets z; so does the pixel width a set_axis_role step takes as z, and a folder's."""
    from napari_bioimg.pipeline.batch import process_file
    from napari_bioimg.pipeline.io import read_image_guess

    rng = np.random.default_rng(7)
    stack = (rng.random((4, 20, 22)) * 200).astype(np.uint8)
    (tmp_path / "in").mkdir()
    noz = tmp_path / "in" / "noz.tif"
    tifffile.imwrite(noz, stack, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "ZYX", "unit": "um"})  # no 'spacing'
    floats = tmp_path / "in" / "floats.tif"  # float64: a plain TIFF, a JSON description
    tifffile.imwrite(floats, stack.astype(np.float64), photometric="minisblack")
    frames = tmp_path / "in" / "frames.tif"
    tifffile.imwrite(frames, stack, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "TYX", "unit": "um"})
    smooth = Pipeline()
    smooth.add("gaussian", sigma=1.0)
    z_set = Pipeline()
    z_set.add("set_voxel_size", z=3.0, y=0.5, x=0.5)
    z_set.add("gaussian", sigma=1.0)
    resample = Pipeline()
    resample.add("resample_isotropic", order=1)
    as_z = Pipeline()
    as_z.add("set_axis_role", role="z")
    as_z.add("gaussian", sigma=1.0)
    for name, pipeline, source, spacing, guessed in [
        ("smooth", smooth, noz, (1.0, 0.5, 0.5), True),
        ("z_set", z_set, noz, (3.0, 0.5, 0.5), False),
        ("resample", resample, noz, (0.5, 0.5, 0.5), True),
        ("floats", smooth, floats, (1.0, 1.0, 1.0), True),
        ("as_z", as_z, frames, (0.5, 0.5, 0.5), True),
    ]:
        (tmp_path / name).mkdir()
        written = same_file_by_cli_and_script(tmp_path / name, pipeline, source)
        read = read_image_guess(written)
        assert (read[1], read[5]) == (pytest.approx(spacing), guessed), name
    again = process_file(smooth, tmp_path / "smooth" / "cli" / "noz.tif", tmp_path / "2.tif")
    assert "gaussian sigma read a guessed z of 1 µm" in again.message
    with tifffile.TiffFile(tmp_path / "smooth" / "cli" / "noz.tif") as tif:
        assert tif.imagej_metadata["spacing"] == 1.0  # (what Fiji reads: its own guess)
    slices = tmp_path / "slices"  # a folder: the pixel width, Fiji's guess
    slices.mkdir()
    for z, plane in enumerate(stack):
        tifffile.imwrite(slices / f"s{z}.tif", plane, imagej=True, resolution=(2.0, 2.0),
                         metadata={"unit": "um"})
    assert process_file(smooth, slices, tmp_path / "slices.tif").status == "written"
    read = read_image_guess(tmp_path / "slices.tif")
    assert (read[1], read[5]) == ((0.5, 0.5, 0.5), True)


def test_channel_names_of_a_result_imagej_cannot_hold_are_kept_by_the_cli_and_the_script(
    tmp_path,
):
    """An OME int16 file of channels DAPI and GFP through a minimum (negative values
    kept: no ImageJ TIFF) was written without the names: napari showed [ch0], [ch1]."""
    from napari_bioimg._reader import get_reader
    from napari_bioimg.pipeline.io import read_image_guess

    planes = (np.random.default_rng(8).random((2, 20, 22)) * 2000 - 1000).astype(np.int16)
    (tmp_path / "in").mkdir()
    source = tmp_path / "in" / "ch_ome.tif"
    tifffile.imwrite(source, planes, ome=True, metadata={
        "axes": "CYX", "Channel": {"Name": ["DAPI", "GFP"]},
        "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5,
    })
    pipeline = Pipeline()
    pipeline.add("minimum", radius=1.0)
    written = same_file_by_cli_and_script(tmp_path, pipeline, source)
    with tifffile.TiffFile(written) as tif:
        assert not tif.is_imagej and tif.pages[0].dtype == np.int16
    assert read_image_guess(written)[7] == ["DAPI", "GFP"]
    assert [layer[1]["name"] for layer in get_reader(str(written))(str(written))] == [
        ["ch_ome [DAPI]", "ch_ome [GFP]"]
    ]


def test_channel_colours_and_display_ranges_are_kept_by_the_cli_and_the_script(tmp_path):
    """BBBC022's red, green and blue channels with their display ranges were written in
    grey without ranges (Fiji showed grey). The LUTs stay, as a composite; the ranges
    only where the values keep their scale (a smoothing), not after a top-hat."""
    from napari_bioimg._reader import get_reader

    source = data_path("BBBC022_IXMtest_A02_s9.tif")
    with tifffile.TiffFile(source) as tif:
        luts, ranges = tif.imagej_metadata["LUTs"], tif.imagej_metadata["Ranges"]
    smooth = Pipeline()
    smooth.add("crop", start=[0, 0], stop=[120, 160])  # (smaller: quicker)
    smooth.add("gaussian", sigma=1.0)
    top_hat = Pipeline()
    top_hat.add("crop", start=[0, 0], stop=[120, 160])
    top_hat.add("white_top_hat", radius=3.0)
    for name, pipeline, kept in (("smooth", smooth, ranges), ("top_hat", top_hat, None)):
        (tmp_path / name).mkdir()
        written = same_file_by_cli_and_script(tmp_path / name, pipeline, source)
        with tifffile.TiffFile(written) as tif:
            metadata = tif.imagej_metadata
        assert metadata["mode"] == "composite", name
        assert all(np.array_equal(a, b) for a, b in zip(metadata["LUTs"], luts, strict=True))
        assert metadata.get("Ranges") == kept, name
        [(_, meta, _)] = get_reader(str(written))(str(written))
        assert meta["colormap"] == ["red", "green", "blue"]
        assert meta.get("contrast_limits") == (
            None if kept is None else [(124.0, 1875.0), (156.0, 1794.0), (124.0, 4095.0)]
        )


def test_a_voxel_size_in_another_unit_is_written_in_it_by_the_cli_and_the_script(
    tmp_path, inputs
):
    """µm pixels set in nm: the result is written in nm (it kept the file's µm, so
    that 750 nm slices were written as 750 µm), a later step's sizes read in nm."""
    from napari_bioimg.pipeline.io import read_image

    pipeline = Pipeline()
    pipeline.add("set_voxel_size", z=750.0, y=250.0, x=250.0, unit="nm")
    pipeline.add("gaussian", sigma=500.0)  # nm: two pixels
    written = same_file_by_cli_and_script(tmp_path, pipeline, inputs / "stack.tif")
    result, spacing, unit, _, _ = read_image(written)
    assert unit == "nm" and spacing == pytest.approx((750.0, 250.0, 250.0))
    stack = tifffile.imread(inputs / "stack.tif")
    np.testing.assert_allclose(
        result, ops.gaussian(stack, sigma=2.0, spacing=(3.0, 1.0, 1.0)), rtol=1e-6
    )


def test_a_plane_calibrated_in_a_unit_is_written_in_it_by_the_cli_and_the_script(
    tmp_path, inputs
):
    """An uncalibrated image given 0.5 µm pixels (no z: the step names the unit): the
    script had a syntax error, the unit line written inside the guessed-z note."""
    from napari_bioimg.pipeline.io import read_image

    pipeline = Pipeline()
    pipeline.add("set_voxel_size", y=0.5, x=0.5, unit="µm")
    pipeline.add("gaussian", sigma=1.0)
    compile(pipeline.to_python("calibrate.py"), "calibrate.py", "exec")
    written = same_file_by_cli_and_script(tmp_path, pipeline, inputs / "blobs.tif")
    result, spacing, unit, _, _ = read_image(written)
    assert unit == "µm" and spacing == pytest.approx((0.5, 0.5))
    blobs = tifffile.imread(inputs / "blobs.tif")
    np.testing.assert_allclose(
        result, ops.gaussian(blobs, sigma=2.0), rtol=1e-6
    )


def test_an_axis_named_frames_is_filtered_frame_by_frame_by_the_cli_and_the_script(
    tmp_path, inputs
):
    """A movie in a plain stack (read as z): naming the axis t is a step of its own."""
    from napari_bioimg.pipeline.io import read_image

    pipeline = Pipeline()
    pipeline.add("set_axis_role", role="t")
    pipeline.add("gaussian", sigma=1.0)
    written = same_file_by_cli_and_script(tmp_path, pipeline, inputs / "stack.tif")
    result, spacing, _, _, _ = read_image(written)
    stack, stack_spacing, _, _, _ = read_image(inputs / "stack.tif")
    np.testing.assert_allclose(
        result, ops.gaussian(stack, sigma=1.0, spacing=stack_spacing[-2:]), rtol=1e-6
    )
    assert len(spacing) == 2  # frames: no voxel size along them


def test_the_frame_interval_and_named_channels_are_written_by_the_cli_and_the_script(tmp_path):
    """A time-lapse keeps its frame interval; an axis named channel is written as channels."""
    from napari_bioimg.pipeline.io import read_image

    movie = (np.random.default_rng(5).random((3, 20, 24)) * 200).astype(np.uint8)
    source = tmp_path / "movie.tif"
    tifffile.imwrite(source, movie, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "TYX", "finterval": 30.0, "unit": "um"})
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    (tmp_path / "frames").mkdir()
    written = same_file_by_cli_and_script(tmp_path / "frames", pipeline, source)
    _, spacing, _, channel_axis, frames = read_image(written)
    assert (spacing, channel_axis, frames) == ((0.5, 0.5), None, (30.0, "s"))
    with tifffile.TiffFile(written) as tif:
        assert tif.series[0].axes == "TYX"

    pipeline = Pipeline()
    pipeline.add("set_axis_role", role="channel")
    pipeline.add("gaussian", sigma=1.0)
    (tmp_path / "channels").mkdir()
    written = same_file_by_cli_and_script(tmp_path / "channels", pipeline, source)
    result, spacing, _, channel_axis, frames = read_image(written)
    assert (spacing, channel_axis, frames) == ((0.5, 0.5), 0, None)
    with tifffile.TiffFile(written) as tif:
        assert tif.series[0].axes == "CYX"
    expected = ops.gaussian(movie, sigma=1.0, spacing=(0.5, 0.5))  # frame by frame
    np.testing.assert_allclose(result, expected, rtol=1e-6)

    pipeline = Pipeline()  # every second frame: twice the interval (it stayed 30 s)
    pipeline.add("subsample", step=[2, 1, 1])
    pipeline.add("gaussian", sigma=1.0)
    (tmp_path / "every_second").mkdir()
    written = same_file_by_cli_and_script(tmp_path / "every_second", pipeline, source)
    result, spacing, _, channel_axis, frames = read_image(written)
    assert (result.shape, spacing, frames) == ((2, 20, 24), (0.5, 0.5), (60.0, "s"))
    np.testing.assert_allclose(result, expected[::2], rtol=1e-6)
    assert Pipeline.load(tmp_path / "every_second" / "pipeline.yaml").frame_step() == 2


@pytest.mark.parametrize("where", ["missing/folder/p.py", "."])
def test_a_script_that_cannot_be_written_is_an_error_line(tmp_path, capsys, where):
    """A missing folder, or a folder given as the file, gave Python's traceback."""
    pipeline_file = tmp_path / "p.yaml"
    segmentation().save(pipeline_file)
    assert main(["export-script", str(pipeline_file), "-o", str(tmp_path / where)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("napari-bioimg export-script: error: cannot write")
    assert "Traceback" not in error


def test_masks_and_labels_written_by_the_cli_and_scripts_open_as_labels(tmp_path, inputs):
    """They opened as images in napari, which mask operations do not offer."""
    from napari_bioimg._reader import get_reader

    def kind(path):
        return get_reader(str(path))(str(path))[0][2]

    for name in ("segment", "smooth", "flip"):
        (tmp_path / name).mkdir()

    written = same_file_by_cli_and_script(tmp_path / "segment", segmentation(),
                                          inputs / "blobs.tif")
    assert kind(written) == "labels"
    smooth = Pipeline()
    smooth.add("gaussian", sigma=1.0)
    assert kind(same_file_by_cli_and_script(tmp_path / "smooth", smooth,
                                            inputs / "blobs.tif")) == "image"
    flipped = Pipeline()  # (a transform keeps the kind of its input: an image here)
    flipped.add("threshold", method="otsu")
    flipped.add("flip", axis=0)
    assert kind(same_file_by_cli_and_script(tmp_path / "flip", flipped,
                                            inputs / "blobs.tif")) == "labels"


def test_labels_files_are_resampled_by_nearest_neighbours_and_stay_labels(tmp_path):
    """A file written from a labels layer (napari_layer=labels) went through run and
    scripts as an image: a resampling recorded with order 1 made up label numbers
    between two others, and its flip was written as an image. Now as in napari: the
    order is 0 on labels (and on a crop of them), and transforms keep them labels."""
    from napari_bioimg._reader import get_reader
    from napari_bioimg.pipeline.io import read_image_guess, write_image

    labels = np.zeros((4, 20, 22), np.uint16)
    labels[1:3, 3:9, 4:10] = 7
    labels[0:2, 10:17, 12:20] = 300
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "cells.tif", labels, (2.0, 0.5, 0.5), "µm", labels=True)
    write_image(folder / "image.tif", labels, (2.0, 0.5, 0.5), "µm")  # the same, unmarked
    assert read_image_guess(folder / "cells.tif")[6] == "labels"
    assert read_image_guess(folder / "image.tif")[6] == "image"

    resample = Pipeline()
    resample.add("crop", start=[0, 1, 1], stop=[4, 19, 21])
    resample.add("resample_isotropic", order=1)
    assert resample.for_input("labels")[1].parameters["order"] == 0
    assert resample.for_input("image") == resample
    nearest = ops.resample_isotropic(labels[:, 1:19, 1:21], order=0, spacing=(2.0, 0.5, 0.5))
    linear = ops.resample_isotropic(labels[:, 1:19, 1:21], order=1, spacing=(2.0, 0.5, 0.5))
    assert set(np.unique(linear)) - {0, 7, 300}  # (order 1 makes up numbers)
    flip = Pipeline()
    flip.add("flip", axis=-1)
    for name, pipeline in (("resample", resample), ("flip", flip)):
        for source in ("cells.tif", "image.tif"):
            out = tmp_path / f"{name}-{source[:-4]}"
            out.mkdir()
            written = same_file_by_cli_and_script(out, pipeline, folder / source)
            layer = get_reader(str(written))(str(written))[0]
            assert layer[2] == ("labels" if source == "cells.tif" else "image"), (name, source)
            if name == "resample":
                expected = nearest if source == "cells.tif" else linear
                np.testing.assert_array_equal(layer[0], expected)
            else:
                np.testing.assert_array_equal(layer[0], labels[..., ::-1])
    np.testing.assert_array_equal(  # the Python API, as the command
        resample.for_input("labels").run(labels, (2.0, 0.5, 0.5)), nearest
    )


def test_masks_of_an_rgb_image_are_written_as_channels_and_open_as_one_labels_layer(tmp_path):
    """They were written as an RGB TIFF of 0/1 colours: read back as a (y, x, 3) labels
    layer with a 2D scale, which napari cannot add. Now as the widgets show them: one
    labels layer, colours first, axis named channel."""
    from napari.components import ViewerModel

    from napari_bioimg._reader import get_reader

    colours = np.random.default_rng(6).integers(0, 255, (40, 50, 3)).astype(np.uint8)
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "rgb.tif", colours, photometric="rgb")
    pipeline = Pipeline()
    pipeline.add("threshold", method="otsu")
    written = same_file_by_cli_and_script(tmp_path, pipeline, tmp_path / "in" / "rgb.tif")
    [(data, meta, kind)] = get_reader(str(written))(str(written))
    assert kind == "labels" and meta["axis_labels"] == ("channel", "y", "x")
    expected = np.moveaxis(ops.threshold(colours, method="otsu"), -1, 0)
    np.testing.assert_array_equal(np.asarray(data).astype(bool), expected)
    layer = ViewerModel().add_labels(data, **meta)
    assert layer.data.shape == (3, 40, 50)


def test_a_frame_interval_in_microseconds_and_a_kymograph_are_written_truthfully(tmp_path):
    """µs (ImageJ's tunit=us, read as µs) was written unescaped into the ASCII ImageJ
    description: run wrote nothing, scripts died. A projection along y of a movie (a
    kymograph: no two spatial axes left, no voxel size) was written with the unit µm
    and sizes 1, claiming 1 µm pixels."""
    from napari_bioimg.pipeline.io import read_image

    movie = np.random.default_rng(1).random((4, 32, 40)).astype(np.float32)
    source = tmp_path / "movie.tif"
    tifffile.imwrite(source, movie, imagej=True, resolution=(1 / 0.65, 1 / 0.65),
                     metadata={"axes": "TYX", "finterval": 50.0, "tunit": "us", "unit": "um"})
    assert read_image(source)[4] == (50.0, "µs")
    smooth = Pipeline()
    smooth.add("gaussian", sigma=1.0)
    (tmp_path / "smooth").mkdir()
    written = same_file_by_cli_and_script(tmp_path / "smooth", smooth, source)
    _, spacing, unit, _, frames = read_image(written)
    assert frames == (50.0, "µs") and unit == "µm" and spacing == pytest.approx((0.65, 0.65))

    kymograph = Pipeline()
    kymograph.add("project", axis=-2, method="max")
    (tmp_path / "kymograph").mkdir()
    written = same_file_by_cli_and_script(tmp_path / "kymograph", kymograph, source)
    result, spacing, unit, _, _ = read_image(written)
    np.testing.assert_array_equal(result, movie.max(axis=1))
    assert unit is None  # (sizes in pixels, said so)


def test_a_script_given_a_corrupt_compressed_tiff_says_so_in_one_line(tmp_path):
    """It died with a zlib.error traceback (napari-bioimg run reported it in one line)."""
    image = np.random.default_rng(0).integers(0, 255, (128, 128)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "full.tif", image, compression="zlib")
    data = (tmp_path / "full.tif").read_bytes()
    (tmp_path / "truncated.tif").write_bytes(data[: len(data) // 2])
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    script = tmp_path / "p.py"
    script.write_text(pipeline.to_python())
    completed = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "truncated.tif"), str(tmp_path / "o.tif")],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 1
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"cannot read {tmp_path / 'truncated.tif'}")
    assert not (tmp_path / "o.tif").exists()


def test_labels_made_in_the_pipeline_are_resampled_by_nearest_neighbours_by_both(
    tmp_path, inputs
):
    """run resampled labels made by a label step with order 0 (as napari), while the
    script took the recorded order 1 on an image input: the two files differed."""
    pipeline = Pipeline()
    pipeline.add("threshold", method="otsu")
    pipeline.add("label", connectivity=1)
    pipeline.add("resample_isotropic", order=1)
    from napari_bioimg.pipeline.io import write_image

    stack = (np.random.default_rng(0).random((4, 30, 32)) * 1000).astype(np.uint16)
    write_image(inputs / "noise.tif", stack, (2.0, 0.5, 0.5), "µm")  # many labels side by side
    written = same_file_by_cli_and_script(tmp_path, pipeline, inputs / "noise.tif")
    labels = ops.label(ops.threshold(stack, method="otsu"), connectivity=1)
    expected = ops.resample_isotropic(labels, order=0, spacing=(2.0, 0.5, 0.5))
    assert not np.array_equal(
        expected, ops.resample_isotropic(labels, order=1, spacing=(2.0, 0.5, 0.5))
    )
    np.testing.assert_array_equal(tifffile.imread(written), expected)


def test_a_side_branch_is_left_out_of_the_script_as_run_leaves_it_out(tmp_path, inputs):
    """A projection of the 2D input, applied between the smoothing and its threshold,
    would fail (and its result be thrown away): neither the CLI nor the script runs it."""
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0, step_id="smooth")
    pipeline.add("project", source="input", step_id="side")
    pipeline.add("threshold", method="otsu", source="smooth", step_id="mask")
    written = same_file_by_cli_and_script(tmp_path, pipeline, inputs / "blobs.tif")
    blobs = tifffile.imread(inputs / "blobs.tif")
    np.testing.assert_array_equal(
        tifffile.imread(written) > 0, ops.threshold(ops.gaussian(blobs, sigma=1.0), method="otsu")
    )
    source = (tmp_path / "pipeline.py").read_text()
    assert "ops.project" not in source
    assert "step3 = ops.threshold(step1, " in source  # (numbered as in the file)


def test_a_script_names_the_failing_step_in_one_line_and_makes_the_output_folder(tmp_path):
    """A NaN image given to otsu died with a traceback without the step (run says
    "processing failed: step 2 (threshold): ..."); an output in a folder not yet made
    died in tifffile, where run makes its output folder (review 78)."""
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    pipeline.add("threshold", method="otsu")
    script = tmp_path / "p.py"
    script.write_text(pipeline.to_python())
    image = np.random.default_rng(0).random((20, 24))
    tifffile.imwrite(tmp_path / "good.tif", image.astype(np.float32))
    tifffile.imwrite(tmp_path / "nan.tif", np.full_like(image, np.nan))  # (no finite value)

    def run(source, target):
        return subprocess.run([sys.executable, str(script), str(source), str(target)],
                              capture_output=True, text=True, timeout=120)

    completed = run(tmp_path / "nan.tif", tmp_path / "o.tif")
    assert completed.returncode == 1
    lines = [x for x in completed.stderr.strip().splitlines() if not x.startswith("note:")]
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith(f"processing {tmp_path / 'nan.tif'} failed at line ")
    assert "(step2 = ops.threshold(step1, method=\"otsu\"" in lines[0]
    assert "NaN" in lines[0]
    assert not (tmp_path / "o.tif").exists()
    target = tmp_path / "new" / "folder" / "o.tif"
    completed = run(tmp_path / "good.tif", target)
    assert completed.returncode == 0, completed.stderr
    good = tifffile.imread(tmp_path / "good.tif")
    expected = ops.threshold(ops.gaussian(good, sigma=1.0), method="otsu")
    np.testing.assert_array_equal(tifffile.imread(target).astype(bool), expected)


def test_an_rgba_image_gets_masks_for_its_colours_only_in_the_cli_and_scripts(tmp_path):
    """A PNG-like RGBA image (alpha 255): the alpha joined the histogram (a level of 154
    for the RGB's 73) and was written as a fourth, all-foreground mask."""
    from skimage import filters as skfilters

    rgb = np.random.default_rng(0).integers(0, 120, (40, 50, 3)).astype(np.uint8)
    rgb[10:30, 10:30] += 100
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "rgba.tif", np.dstack([rgb, np.full((40, 50), 255,
                     np.uint8)]), photometric="rgb")
    pipeline = Pipeline()
    pipeline.add("threshold", method="otsu")
    written = same_file_by_cli_and_script(tmp_path, pipeline, tmp_path / "in" / "rgba.tif")
    expected = np.moveaxis(rgb > skfilters.threshold_otsu(rgb.reshape(-1)), -1, 0)
    np.testing.assert_array_equal(tifffile.imread(written).astype(bool), expected)
