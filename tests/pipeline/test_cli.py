"""The napari-bioimg command line."""

import subprocess
import sys

import numpy as np
import pytest
import tifffile

from napari_bioimg.cli import main
from napari_bioimg.pipeline import Pipeline, read_image

from ..conftest import data_path


@pytest.fixture
def pipeline_file(tmp_path):
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    pipeline.add("threshold", method="otsu")
    pipeline.add("label")
    path = tmp_path / "pipeline.yaml"
    pipeline.save(path)
    return path


@pytest.fixture
def folder(tmp_path):
    """Three banana slices and a corrupt .tif (random bytes)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("banana0010.tif", "banana0011.tif", "banana0012.tif"):
        (folder / name).write_bytes((data_path("banana") / name).read_bytes())
    (folder / "corrupt.tif").write_bytes(np.random.default_rng(0).bytes(4000))
    return folder


def test_run_writes_the_good_files_and_names_the_bad_one(tmp_path, pipeline_file, folder, capsys):
    out = tmp_path / "out"
    status = main(["run", str(pipeline_file), str(folder), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "banana0010.tif", "banana0011.tif", "banana0012.tif"
    ]
    assert f"failed {folder / 'corrupt.tif'}: cannot read it" in err
    assert "3 written, 0 skipped, 1 failed" in err
    assert f"failed: {folder / 'corrupt.tif'}" in err

    # the result keeps the input's voxel size, and equals the pipeline run in memory
    labels, spacing, unit, _, _ = read_image(out / "banana0010.tif")
    image, input_spacing, _, _, _ = read_image(folder / "banana0010.tif")
    assert (spacing, unit) == (input_spacing, "mm")
    expected = Pipeline.load(pipeline_file).run(image, input_spacing)
    np.testing.assert_array_equal(labels, expected)


def test_existing_outputs_are_kept_unless_overwrite(tmp_path, pipeline_file, folder, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "banana0010.tif").write_bytes(b"keep me")
    inputs = [str(folder / "banana0010.tif"), str(folder / "banana0011.tif")]
    assert main(["run", str(pipeline_file), *inputs, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert (out / "banana0010.tif").read_bytes() == b"keep me"
    assert f"skipped {folder / 'banana0010.tif'}: output exists (use --overwrite)" in err
    assert "1 written, 1 skipped, 0 failed" in err

    assert main(["run", str(pipeline_file), *inputs, "--out", str(out), "--overwrite"]) == 0
    assert "2 written, 0 skipped, 0 failed" in capsys.readouterr().err
    assert tifffile.imread(out / "banana0010.tif").shape == (384, 384)


def test_globs_missing_files_and_threads(tmp_path, pipeline_file, folder, capsys):
    pattern = str(folder / "banana001[01].tif")
    status = main(["run", str(pipeline_file), pattern, str(tmp_path / "missing.tif"),
                   "--out", str(tmp_path / "out"), "--workers", "2"])
    err = capsys.readouterr().err
    assert status == 1
    assert "2 written, 0 skipped, 1 failed" in err
    assert f"failed {tmp_path / 'missing.tif'}: no such file or folder" in err
    sequential = tmp_path / "sequential"
    main(["run", str(pipeline_file), pattern, "--out", str(sequential)])
    for path in sequential.iterdir():
        assert path.read_bytes() == (tmp_path / "out" / path.name).read_bytes()


def test_output_folder_equal_to_input_folder_is_refused(pipeline_file, folder, capsys):
    status = main(["run", str(pipeline_file), str(folder / "banana0010.tif"),
                   "--out", str(folder), "--overwrite"])
    assert status == 1
    assert "its output would replace the input" in capsys.readouterr().err


def test_an_output_inside_a_stack_folder_is_refused(tmp_path, capsys):
    """The projection was written into the slices' folder: the next run read 26 slices."""
    stack = tmp_path / "banana"
    stack.mkdir()
    for name in ("banana0010.tif", "banana0011.tif", "banana0012.tif"):
        (stack / name).write_bytes((data_path("banana") / name).read_bytes())
    before = sorted(p.name for p in stack.iterdir())
    pipeline = Pipeline()
    pipeline.add("project", method="max")
    pipeline_file = tmp_path / "project.yaml"
    pipeline.save(pipeline_file)
    status = main(["run", str(pipeline_file), str(stack), "--stack", "--out", str(stack)])
    assert status == 1
    err = capsys.readouterr().err
    assert "its output would be written into the stack folder it reads" in err
    assert sorted(p.name for p in stack.iterdir()) == before
    other = tmp_path / "other"  # a second stack's folder as the first's output: refused
    other.mkdir()
    (other / "a.tif").write_bytes((stack / "banana0010.tif").read_bytes())
    status = main(["run", str(pipeline_file), str(other), str(stack), "--stack", "--out",
                   str(stack)])
    assert status == 1
    assert f"into the stack folder {stack}" in capsys.readouterr().err
    assert sorted(p.name for p in stack.iterdir()) == before
    assert main(["run", str(pipeline_file), str(stack), "--stack", "--out",
                 str(stack / "results")]) == 0  # a subfolder, which the stack never reads
    assert (stack / "results" / "banana.tif").exists()
    assert main(["run", str(pipeline_file), str(stack), "--stack", "--out",
                 str(tmp_path / "out")]) == 0  # elsewhere: written
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out" / "banana.tif"),
                                  tifffile.imread(stack / "results" / "banana.tif"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("napari_bioimg_pipeline: 1\nsteps:\n- operation: blur\n", "step 1 (blur): unknown"),
        ("not: a pipeline\n", "not a napari-bioimg pipeline"),
        # refused once, before any file (it failed on every file, exit 1)
        (
            "napari_bioimg_pipeline: 1\nsteps:\n- operation: gaussian\n"
            "  parameters: {sigma: -1}\n",
            "step 1 (gaussian): parameter 'sigma' must be positive, got -1.0",
        ),
        (  # the operation's own limits (every file failed)
            "napari_bioimg_pipeline: 1\nsteps:\n- operation: resample_isotropic\n"
            "  parameters: {order: 7}\n",
            "step 1 (resample_isotropic): parameter 'order' must be from 0 to 3, got 7",
        ),
        (
            "napari_bioimg_pipeline: 1\nsteps:\n- operation: label\n"
            "  parameters: {connectivity: 0}\n",
            "parameter 'connectivity' must be from 1 to 3, got 0",
        ),
        (  # (a traceback: OverflowError)
            "napari_bioimg_pipeline: 1\nsteps:\n- operation: gaussian\n"
            f"  parameters: {{sigma: 1{'0' * 400}}}\n",
            "step 1 (gaussian): parameter 'sigma' is too large, got 100000000000... (401 digits)",
        ),
        (  # a manual threshold without a number failed on every file
            "napari_bioimg_pipeline: 1\nsteps:\n- operation: threshold\n"
            "  parameters: {method: manual, value: .nan}\n",
            "step 1 (threshold): parameter 'value' must not be NaN",
        ),
        (
            "napari_bioimg_pipeline: 1\nsteps:\n- operation: threshold\n"
            "  parameters: {method: manual}\n",
            "step 1 (threshold): parameter 'value' needs a value when method='manual'",
        ),
    ],
)
def test_bad_pipeline_exits_2(tmp_path, folder, capsys, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    assert main(["run", str(path), str(folder), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "cannot load the pipeline" in err and message in err
    assert not (tmp_path / "out").exists()


def test_broken_pipeline_file_is_one_line(tmp_path, folder, capsys):
    """A .json missing a comma: JSON's reason and where, not 8 lines of YAML's."""
    path = tmp_path / "bad.json"
    path.write_text('{"napari_bioimg_pipeline": 1,\n "steps": [\n  {"operation": "gaussian"\n'
                    '   "parameters": {"sigma": 2}}]}\n')
    assert load_told(path, folder, capsys) == (
        "invalid JSON at line 4, column 4: Expecting ',' delimiter"
    )


def load_told(path, folder, capsys) -> str:
    """What run says (exit status 2, one line) of the pipeline file ``path`` it cannot load."""
    assert main(["run", str(path), str(folder), "--out", str(path.parent / "out")]) == 2
    err = capsys.readouterr().err
    start = f"napari-bioimg run: error: cannot load the pipeline {path}: "
    assert err.startswith(start) and err.endswith("\n") and err.count("\n") == 1, err
    assert not (path.parent / "out").exists()
    return err[len(start):-1]


def test_a_missing_module_says_how_to_make_it_importable(tmp_path, folder, capsys):
    """It said "register the function first", which the command line cannot do."""
    path = tmp_path / "p.yaml"
    path.write_text("napari_bioimg_pipeline: 1\nsteps:\n- operation: my_dog\n"
                    "  module: bioimg_no_such_lab_module\n")
    assert load_told(path, folder, capsys) == (
        "step 1 (my_dog): operation 'my_dog' comes from module 'bioimg_no_such_lab_module', "
        "which cannot be imported (No module named 'bioimg_no_such_lab_module'): put its "
        "folder on PYTHONPATH (PYTHONPATH=its/folder napari-bioimg run ..., or python -m "
        "napari_bioimg run ... in that folder), install it, or import it first in Python"
    )


def test_run_finds_a_module_beside_the_pipeline_file(tmp_path, monkeypatch):
    """The console script does not search the current folder (python -m does): a
    module kept beside the pipeline file could not be imported."""
    from napari_bioimg.ops import unregister

    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "bioimg_beside_ops.py").write_text(
        "import numpy as np\nfrom napari_bioimg import register\n\n\n@register\n"
        "def beside_offset(image, offset: float = 1.0):\n"
        "    return np.asarray(image, dtype=np.float32) + np.float32(offset)\n"
    )
    (lab / "p.yaml").write_text(
        "napari_bioimg_pipeline: 1\nsteps:\n- operation: beside_offset\n"
        "  module: bioimg_beside_ops\n  parameters: {offset: 2.5}\n"
    )
    image = np.arange(64, dtype=np.uint8).reshape(8, 8)
    tifffile.imwrite(tmp_path / "in.tif", image)
    monkeypatch.chdir(tmp_path)  # (not the pipeline's folder)
    path = list(sys.path)
    try:
        status = main(["run", str(lab / "p.yaml"), "in.tif", "--out", "out"])
        assert status == 0
        assert sys.path == path  # (the folder is searched while loading only)
        np.testing.assert_array_equal(
            tifffile.imread(tmp_path / "out" / "in.tif"), image + np.float32(2.5)
        )
    finally:
        unregister("beside_offset")
        sys.modules.pop("bioimg_beside_ops", None)


def test_a_module_importable_elsewhere_is_not_taken_from_beside_the_file(
    tmp_path, user_module
):
    from napari_bioimg.ops import unregister

    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / f"{user_module}.py").write_text("raise RuntimeError('the copy beside the file')\n")
    pipeline = Pipeline()
    pipeline.add("add_offset", offset=2.0)
    pipeline.save(lab / "p.yaml")
    unregister("add_offset")  # (a fresh session: loading imports the module)
    sys.modules.pop(user_module)
    tifffile.imwrite(tmp_path / "in.tif", np.zeros((8, 8), np.uint8))
    assert main(["run", str(lab / "p.yaml"), str(tmp_path / "in.tif"),
                 "--out", str(tmp_path / "out")]) == 0
    assert sys.modules[user_module].__file__ == str(tmp_path / "user_ops" / f"{user_module}.py")


def test_operations_and_help(capsys):
    assert main(["operations", "gaussian"]) == 0
    assert "sigma (float, length) = 1.0" in capsys.readouterr().out
    assert main(["operations", "blur"]) == 2
    assert main([]) == 2
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--scheduler" in capsys.readouterr().out


def test_console_entry_point_runs_headless(tmp_path, pipeline_file):
    # A fresh interpreter: the command must not import napari or Qt.
    code = (
        "import sys; from napari_bioimg.cli import main; status = main(sys.argv[1:]); "
        "assert not any(m.split('.')[0] in ('napari', 'qtpy', 'PyQt5', 'PyQt6') "
        "for m in sys.modules), 'napari or Qt imported'; sys.exit(status)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, "run", str(pipeline_file), str(data_path("blobs.tif")),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "out" / "blobs.tif").exists()


def test_stack_reads_a_folder_of_slices_as_one_stack(tmp_path, pipeline_file, capsys):
    """As napari-bioimg opens the folder in napari: the banana's 8.8 mm slices."""
    from napari_bioimg.io_tiff import read_stack

    slices = tmp_path / "banana"
    slices.mkdir()
    for number in (11, 10, 12, 9):  # natural order, whatever the listing order
        name = f"banana{number:04d}.tif"
        (slices / name).write_bytes((data_path("banana") / name).read_bytes())
    out = tmp_path / "out"
    assert main(["run", str(pipeline_file), str(slices), "--out", str(out), "--stack"]) == 0
    assert [p.name for p in out.iterdir()] == ["banana.tif"]
    stack = read_stack(slices)
    expected = Pipeline.load(pipeline_file).run(stack.data, spacing=stack.spacing)
    labels, spacing, unit, _, _ = read_image(out / "banana.tif")
    np.testing.assert_array_equal(labels, expected)  # 3D labels, not four 2D ones
    assert labels.shape == (4, 384, 384)
    assert spacing == pytest.approx(stack.spacing) and unit == "mm"
    assert spacing[0] == pytest.approx(8.8)

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", str(pipeline_file), str(empty), "--out", str(out), "--stack"]) == 1
    assert "no TIFF files" in capsys.readouterr().err


def test_stack_outputs_are_named_after_the_whole_folder_name(tmp_path, pipeline_file,
                                                             monkeypatch, capsys):

    stacks = tmp_path / "stacks"
    for name in ("exp.1", "exp.2"):
        (stacks / name).mkdir(parents=True)
        for z in range(3):
            tifffile.imwrite(stacks / name / f"s{z}.tif", np.full((20, 24), z * 40, np.uint8))
    out = tmp_path / "out"
    assert main(["run", str(pipeline_file), str(stacks / "exp.1"), str(stacks / "exp.2"),
                 "--out", str(out), "--stack"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["exp.1.tif", "exp.2.tif"]
    monkeypatch.chdir(stacks / "exp.1")  # "." is the folder itself
    assert main(["run", str(pipeline_file), ".", "--out", str(tmp_path / "here"),
                 "--stack"]) == 0
    assert [p.name for p in (tmp_path / "here").iterdir()] == ["exp.1.tif"]


def test_files_without_a_voxel_size_get_a_note_about_sizes(tmp_path, pipeline_file):
    """Sizes recorded in µm were silently taken as pixels (napari's Save writes no scale)."""
    blobs = tifffile.imread(data_path("blobs.tif"))
    folder = tmp_path / "in"
    folder.mkdir()
    tifffile.imwrite(folder / "plain.tif", blobs)  # no voxel size
    tifffile.imwrite(folder / "calibrated.tif", blobs, imagej=True, resolution=(2.0, 2.0),
                     metadata={"unit": "um"})
    result = subprocess.run(
        [sys.executable, "-m", "napari_bioimg", "run", str(pipeline_file), str(folder),
         "--out", str(tmp_path / "cli")], capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    plain = next(line for line in lines if "plain.tif ->" in line)
    calibrated = next(line for line in lines if "calibrated.tif ->" in line)
    assert "no voxel size in the file: gaussian sigma taken as pixels" in plain
    assert "note" not in calibrated
    script = tmp_path / "segment.py"
    script.write_text(Pipeline.load(pipeline_file).to_python())
    for name, noted in (("plain.tif", True), ("calibrated.tif", False)):
        ran = subprocess.run([sys.executable, str(script), str(folder / name),
                              str(tmp_path / name)], capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stderr
        assert ("gaussian sigma taken as pixels" in ran.stderr) is noted


def test_the_note_reads_the_input_and_the_steps_before_a_set_voxel_size(tmp_path):
    """The note read the result's spacing (a subsample hid it), any set_voxel_size step
    silenced it, and a result without spacing (a projection to 1D + t) crashed the run."""
    from napari_bioimg.pipeline.batch import process_file, uncalibrated_note

    blobs = tifffile.imread(data_path("blobs.tif"))
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, blobs)
    subsampled = Pipeline()
    subsampled.add("gaussian", sigma=2.0)
    subsampled.add("subsample", step=2)
    assert "gaussian sigma" in process_file(subsampled, plain, tmp_path / "a.tif").message
    set_after = Pipeline()
    set_after.add("gaussian", sigma=2.0)
    set_after.add("set_voxel_size", y=0.5, x=0.5)
    assert "gaussian sigma" in uncalibrated_note(set_after)
    set_before = Pipeline()
    set_before.add("set_voxel_size", y=0.5, x=0.5)
    set_before.add("gaussian", sigma=2.0)
    assert uncalibrated_note(set_before) == ""
    stack = tmp_path / "z only.tif"  # a slice distance but no unit: y and x in pixels
    tifffile.imwrite(stack, np.stack([blobs] * 3), imagej=True,
                     metadata={"axes": "ZYX", "spacing": 4.0})
    result = process_file(subsampled, stack, tmp_path / "z.tif")
    assert result.status == "written" and "gaussian sigma" in result.message
    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, np.stack([blobs] * 3), imagej=True, metadata={"axes": "TYX"})
    projection = Pipeline()
    projection.add("project", axis=-1, method="max")
    result = process_file(projection, movie, tmp_path / "p.tif")
    assert result.status == "written", result.message


def test_an_output_never_replaces_another_input(tmp_path, pipeline_file, capsys):
    """--out the input folder with --overwrite: x.ome.tif's result replaced the input x.tif."""
    folder = tmp_path / "in"
    folder.mkdir()
    blobs = data_path("blobs.tif").read_bytes()
    (folder / "cell.tif").write_bytes(blobs)
    (folder / "cell.ome.tif").write_bytes(data_path("mitosis_mod.tif").read_bytes())
    status = main(["run", str(pipeline_file), str(folder), "--out", str(folder), "--overwrite"])
    err = capsys.readouterr().err
    assert status == 1
    assert (folder / "cell.tif").read_bytes() == blobs
    assert f"failed {folder / 'cell.ome.tif'}: its output would replace the input " in err
    assert sorted(p.name for p in folder.iterdir()) == ["cell.ome.tif", "cell.tif"]


def test_a_stack_that_cannot_be_read_names_the_slice(tmp_path, pipeline_file, capsys):
    folder = tmp_path / "slices"
    folder.mkdir()
    (folder / "a.tif").write_bytes(data_path("blobs.tif").read_bytes())
    (folder / "b.tif").write_bytes(b"not a tiff at all")
    assert main(["run", str(pipeline_file), str(folder), "--stack", "--out",
                 str(tmp_path / "out")]) == 1
    assert f"cannot read the slice {folder / 'b.tif'}: not a TIFF file" in capsys.readouterr().err


def test_out_must_be_a_folder_and_a_script_never_replaces_its_input(tmp_path, pipeline_file,
                                                                     capsys):
    source = tmp_path / "blobs.tif"
    source.write_bytes(data_path("blobs.tif").read_bytes())
    assert main(["run", str(pipeline_file), str(source), "--out", str(source)]) == 2
    assert f"--out must be a folder: {source} is a file" in capsys.readouterr().err
    script = tmp_path / "segment.py"
    script.write_text(Pipeline.load(pipeline_file).to_python())
    ran = subprocess.run([sys.executable, str(script), str(source), str(source)],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode != 0 and "is the input: write the result to another file" in ran.stderr
    assert source.read_bytes() == data_path("blobs.tif").read_bytes()
    missing, junk = tmp_path / "missing.tif", tmp_path / "junk.tif"
    junk.write_bytes(b"not a tiff at all")
    for given, told in ((missing, f"{missing}: no such file or folder"),
                        (junk, f"cannot read {junk}: not a TIFF file")):
        ran = subprocess.run([sys.executable, str(script), str(given), str(tmp_path / "o.tif")],
                             capture_output=True, text=True, timeout=120)
        assert ran.returncode == 1 and told in ran.stderr, ran.stderr  # (not a traceback)
        assert "Traceback" not in ran.stderr


def test_the_notes_name_only_steps_that_make_the_result(tmp_path):
    """A median on a side branch (from the input, its result not used) was named in the
    note of sizes taken as pixels, by run and by the script, which leaves it out."""
    from napari_bioimg.pipeline.batch import guessed_z_note, process_file, uncalibrated_note

    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    pipeline.add("threshold", method="otsu")
    pipeline.add("median", radius=2.0, source="input")  # (a side branch)
    pipeline.add("binary_opening", radius=1.0, source="step2")
    assert uncalibrated_note(pipeline).count("sigma") == 1
    for note in (uncalibrated_note(pipeline), guessed_z_note(pipeline, "1 µm")):
        assert "gaussian sigma" in note and "binary_opening radius" in note
        assert "median" not in note
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, tifffile.imread(data_path("blobs.tif")))
    result = process_file(pipeline, plain, tmp_path / "out.tif")
    assert result.status == "written" and "median" not in result.message
    script = tmp_path / "steps.py"
    script.write_text(pipeline.to_python())
    ran = subprocess.run([sys.executable, str(script), str(plain), str(tmp_path / "s.tif")],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0 and "gaussian sigma" in ran.stderr, ran.stderr
    assert "median" not in ran.stderr


def test_a_guessed_slice_distance_gets_a_note_from_run_and_scripts(tmp_path):
    """A stack calibrated in the plane only: the sizes in 3D read Fiji's guess of z."""
    from napari_bioimg.pipeline.batch import process_file

    blobs = tifffile.imread(data_path("blobs.tif"))
    stack = np.stack([blobs, blobs[::-1], blobs[:, ::-1]])
    guessed = tmp_path / "guessed.tif"
    tifffile.imwrite(guessed, stack, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "ZYX", "unit": "um"})  # no 'spacing'
    known = tmp_path / "known.tif"
    tifffile.imwrite(known, stack, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "ZYX", "unit": "um", "spacing": 3.0})
    smooth = Pipeline()
    smooth.add("gaussian", sigma=1.0)
    z_set = Pipeline()
    z_set.add("set_voxel_size", z=3.0)
    z_set.add("gaussian", sigma=1.0)
    flat = Pipeline()
    flat.add("flip", axis=-1)  # reads no size
    frames = Pipeline()  # frames are filtered in 2D: no z read (a false note, review 56)
    frames.add("set_axis_role", role="t")
    frames.add("gaussian", sigma=1.0)
    z_again = Pipeline()
    z_again.add("set_axis_role", role="z")
    z_again.add("gaussian", sigma=1.0)
    note = "gaussian sigma read a guessed z of 1"
    assert note in process_file(smooth, guessed, tmp_path / "a.tif").message
    assert note in process_file(z_again, guessed, tmp_path / "a.tif", overwrite=True).message
    for pipeline, path in ((smooth, known), (z_set, guessed), (flat, guessed),
                           (frames, guessed)):
        result = process_file(pipeline, path, tmp_path / "b.tif", overwrite=True)
        assert result.status == "written" and result.message == ""
    script = tmp_path / "smooth.py"
    script.write_text(smooth.to_python())
    for path, noted in ((guessed, True), (known, False)):
        ran = subprocess.run([sys.executable, str(script), str(path), str(tmp_path / "c.tif")],
                             capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stderr
        assert (note in ran.stderr) is noted


def test_naming_frames_z_gets_a_note_of_the_pixel_width_taken_as_z(tmp_path):
    """set_axis_role z on a time-lapse gives it the pixel width as slice distance: a
    guess, which the sizes in 3D read (it was written and used without a word)."""
    from napari_bioimg.pipeline.batch import process_file

    blobs = tifffile.imread(data_path("blobs.tif"))
    frames = tmp_path / "frames.tif"
    tifffile.imwrite(frames, np.stack([blobs, blobs[::-1], blobs[:, ::-1]]), imagej=True,
                     resolution=(2.0, 2.0), metadata={"axes": "TYX", "unit": "um"})
    as_z = Pipeline()
    as_z.add("set_axis_role", role="z")
    as_z.add("gaussian", sigma=1.0)
    note = ("gaussian sigma read the pixel width 0.5 µm as z, as set_axis_role named the "
            "axis z (add a set_voxel_size step with z)")
    assert note in process_file(as_z, frames, tmp_path / "a.tif").message
    smooth_first = Pipeline()  # (the frames smoothed one by one: no z read)
    smooth_first.add("gaussian", sigma=1.0)
    smooth_first.add("set_axis_role", role="z")
    z_set = Pipeline()
    z_set.add("set_axis_role", role="z")
    z_set.add("set_voxel_size", z=3.0, y=0.5, x=0.5)
    z_set.add("gaussian", sigma=1.0)
    for pipeline in (smooth_first, z_set):
        result = process_file(pipeline, frames, tmp_path / "b.tif", overwrite=True)
        assert result.status == "written" and result.message == "", result.message
    for pipeline, noted in ((as_z, True), (smooth_first, False)):
        script = tmp_path / "as_z.py"
        script.write_text(pipeline.to_python())
        ran = subprocess.run([sys.executable, str(script), str(frames), str(tmp_path / "c.tif")],
                             capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stderr
        assert (note in ran.stderr) is noted, ran.stderr


def test_stack_with_a_quoted_pattern_reads_each_folder(tmp_path, pipeline_file, capsys):
    """`run p.yaml "exp/*" --stack` said "no TIFF files in 'exp/*'": a pattern named files
    only, though the help tells to quote patterns (review 84)."""
    slices = sorted(data_path("banana").glob("banana00[12]?.tif"))[:4]
    for folder, names in (("cell2", slices[:2]), ("cell10", slices[2:])):
        (tmp_path / "exp" / folder).mkdir(parents=True)
        for path in names:
            (tmp_path / "exp" / folder / path.name).write_bytes(path.read_bytes())
    (tmp_path / "exp" / "notes").mkdir()  # (no slices: not a stack)
    (tmp_path / "exp" / "notes" / "a.txt").write_text("x")
    out = tmp_path / "out"
    pattern = str(tmp_path / "exp" / "*")
    assert main(["run", str(pipeline_file), pattern, "--out", str(out), "--stack"]) == 0, (
        capsys.readouterr().err
    )
    assert sorted(p.name for p in out.iterdir()) == ["cell10.tif", "cell2.tif"]
    assert read_image(out / "cell2.tif")[0].shape == (2, 384, 384)  # (a stack each)
    capsys.readouterr()
    assert main(["run", str(pipeline_file), str(tmp_path / "exp" / "z*"), "--out", str(out),
                 "--stack"]) == 1
    assert "no folders of TIFF slices or TIFF files match" in capsys.readouterr().err
