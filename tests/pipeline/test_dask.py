"""Chunked (dask) runs and dask.distributed batches give the in-memory results exactly."""

import os

import numpy as np
import pytest

from napari_bioimg import ops
from napari_bioimg.cli import main
from napari_bioimg.pipeline import Pipeline
from napari_bioimg.pipeline.batch import collect_inputs, run_batch

from ..conftest import data_path

da = pytest.importorskip("dask.array")

CHUNKS = (6, 16, 17)


@pytest.fixture
def volume():
    rng = np.random.default_rng(2)
    data = (rng.random((20, 45, 50)) * 60).astype(np.uint16)
    data[5:14, 10:30, 12:40] += 120
    return data


def lazy(array):
    return da.from_array(array, chunks=CHUNKS)


def test_gaussian_median_chunked_equals_in_memory(volume):
    spacing = (2.0, 0.5, 0.5)
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.5)
    pipeline.add("median", radius=1.0)
    result = pipeline.run_dask(lazy(volume), spacing)
    assert isinstance(result, da.Array)
    assert result.shape == volume.shape and result.npartitions > 1
    expected = pipeline.run(volume, spacing)
    computed = result.compute()
    assert computed.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(computed, expected)

    # Without the halo the chunk borders would differ: the test can see them.
    step = pipeline[0]
    naive = lazy(volume).map_blocks(
        lambda block: pipeline.operation(0)(block, spacing=spacing, **step.parameters),
        dtype=np.float32,
    ).compute()
    assert not np.array_equal(naive[5:7], expected[5:7])


@pytest.mark.parametrize("method", ["otsu", "yen", "isodata", "li", "mean", "triangle"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float16, np.float32, bool])
def test_threshold_uses_the_whole_array(volume, method, dtype):
    pipeline = Pipeline()
    pipeline.add("threshold", method=method)
    image = volume.astype(dtype)
    if dtype == np.float16:  # values between float16's steps: binned in float32 in memory
        image = (np.random.default_rng(0).random(volume.shape) * 100).astype(dtype)
    if dtype is bool:  # a mask: binned as floats (triangle of 0/1 integers gave 1: no pixel)
        image = volume > np.percentile(volume, 90)
    np.testing.assert_array_equal(pipeline.run_dask(lazy(image)).compute(), pipeline.run(image))


def test_a_bad_spacing_is_a_value_error_naming_it(volume):
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=2.0)
    for run in (pipeline.run, lambda image, spacing: pipeline.run_dask(lazy(image), spacing)):
        with pytest.raises(ValueError, match="spacing values must be positive"):
            run(volume, (0.0, 1.0, 1.0))


def test_threshold_errors_match_in_memory():
    pipeline = Pipeline()
    pipeline.add("threshold", method="otsu")
    with pytest.raises(ValueError, match=r"step 1 \(threshold\): image is constant"):
        pipeline.run_dask(lazy(np.full((8, 20, 20), 7, np.uint16)))


@pytest.mark.parametrize("step", ["binary_erosion", "fill_holes"])  # (chunked, in memory)
def test_an_error_found_while_computing_names_its_step_once(volume, step):
    """run_dask named the step of errors found building the graph only: one raised by a
    chunk, computed later, came without it (review 84)."""
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    pipeline.add(step)
    for run in (pipeline.run, lambda image: pipeline.run_dask(lazy(image)).compute()):
        with pytest.raises(ValueError, match=rf"^step 2 \({step}\): image must be binary") as e:
            run(volume)
        assert str(e.value).count("step 2") == 1


def test_chunks_merged_against_rgb_are_given_back(volume):
    """A remainder chunk 3 wide is merged before filtering (it would look like colours);
    the result came back with the merged, irregular chunks, which zarr refuses."""
    array = da.from_array(volume[:, :, :35], chunks=(6, 16, 16))  # (x chunks 16, 16, 3)
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    result = pipeline.run_dask(array)
    assert result.chunks == array.chunks
    np.testing.assert_array_equal(result.compute(), pipeline.run(volume[:, :, :35]))


def test_whole_image_operations_and_spacing(volume):
    spacing = (2.0, 0.5, 0.5)
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    pipeline.add("threshold", method="manual", value=90.0)
    pipeline.add("fill_holes")
    pipeline.add("binary_dilation", radius=1.0)
    pipeline.add("label", step_id="labels")
    pipeline.add("resample_isotropic", order=1, source="step1")
    pipeline.add("crop", start=[2, 3], stop=[-2])
    pipeline.add("white_top_hat", radius=2.0)
    pipeline.add("project", axis=0, method="mean")
    results = pipeline.run_dask(lazy(volume), spacing, all_results=True)
    expected = pipeline.run(volume, spacing, all_results=True)
    for step, result, reference in zip(pipeline, results, expected, strict=True):
        computed = result.compute()
        assert computed.dtype == reference.dtype, step.operation
        np.testing.assert_array_equal(computed, reference, err_msg=step.operation)


def test_numpy_input_and_empty_pipeline(volume):
    assert Pipeline().run_dask(volume).shape == volume.shape
    pipeline = Pipeline()
    pipeline.add("maximum", radius=30.0)  # a halo wider than the array
    np.testing.assert_array_equal(pipeline.run_dask(lazy(volume)).compute(),
                                  pipeline.run(volume))


@pytest.mark.slow
def test_local_cluster_writes_the_same_files_as_one_process(tmp_path, capsys, monkeypatch):
    distributed = pytest.importorskip("distributed")
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=0.8)
    pipeline.add("threshold", method="otsu")
    pipeline.add("remove_small_objects", min_size=20.0)
    pipeline.add("label")
    pipeline_file = tmp_path / "pipeline.yaml"
    pipeline.save(pipeline_file)
    banana = sorted(data_path("banana").glob("banana00[12]?.tif"))[:6]
    inputs = [str(p) for p in banana] + [str(data_path("blobs.tif"))]
    paths, failures = collect_inputs(inputs)
    assert len(paths) == 7 and not failures
    single = run_batch(pipeline, paths, tmp_path / "single")
    assert {r.status for r in single} == {"written"}

    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        # relative paths, from a folder that is not the workers' working folder: they
        # were read and written there (the README's example failed)
        (tmp_path / "in").mkdir()
        for path in paths:
            (tmp_path / "in" / os.path.basename(path)).write_bytes(open(path, "rb").read())
        monkeypatch.chdir(tmp_path)
        status = main(["run", "pipeline.yaml", "in", "--out", "cluster",
                       "--scheduler", cluster.scheduler_address])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "[1/7] in/" in err and " -> cluster/" in err  # the paths as given
    for path in (tmp_path / "single").iterdir():
        assert path.read_bytes() == (tmp_path / "cluster" / path.name).read_bytes(), path.name
    assert len(list((tmp_path / "cluster").iterdir())) == 7


def test_running_on_a_dask_array_reads_it_no_more_than_the_operations_do():
    """Tracking the voxel size reads the array's shape, not its values."""
    import dask.array as da

    blocks = []

    def counted(block):
        blocks.append(block.shape)
        return block

    volume = np.random.default_rng(0).random((8, 64, 64)).astype(np.float32)
    lazy = da.from_array(volume, chunks=(4, 64, 64)).map_blocks(counted)
    blocks.clear()  # (dask calls it once at construction, for the result's type)
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    result = pipeline.run(lazy, spacing=(1.0, 1.0, 1.0))
    np.testing.assert_array_equal(result, ops.gaussian(volume, sigma=1.0))
    reads = len(blocks)
    blocks.clear()
    ops.gaussian(lazy, sigma=1.0)  # the operation alone, called by hand
    assert reads == len(blocks)


@pytest.mark.parametrize("operation", ["variance", "standard_deviation"])
@pytest.mark.parametrize("footprint", ["ball", "box"])
def test_variance_of_16_bit_images_equals_in_memory_bit_for_bit(operation, footprint):
    """Chunks of very different means (each chunk's mean was the sums' offset)."""
    rng = np.random.default_rng(0)
    image = np.zeros((100, 100), np.uint16)
    image[:, 50:] = rng.integers(0, 3000, (100, 50))
    image[:, 30:50] = rng.integers(0, 5, (100, 20))
    pipeline = Pipeline()
    pipeline.add(operation, radius=2.0, footprint=footprint)
    chunked = pipeline.run_dask(da.from_array(image, chunks=(100, 50))).compute()
    np.testing.assert_array_equal(chunked, pipeline.run(image))


def test_the_masks_of_an_rgb_image_chunk_by_chunk():
    colours = np.random.default_rng(0).integers(0, 255, (40, 50, 3)).astype(np.uint8)
    pipeline = Pipeline()
    pipeline.add("threshold", method="otsu")
    pipeline.add("binary_opening", radius=1.0)
    pipeline.add("label")
    chunked = pipeline.run_dask(da.from_array(colours, chunks=(20, 25, 1)), spacing=(1.0, 1.0))
    np.testing.assert_array_equal(chunked.compute(), pipeline.run(colours, spacing=(1.0, 1.0)))


@pytest.mark.parametrize("method", ["otsu", "triangle", "mean"])
@pytest.mark.parametrize(
    ("dtype", "first"), [(np.uint64, 2**63 + 10), (np.int64, 2**62), (np.int64, -(2**62))]
)
def test_64_bit_values_past_2_to_the_53_threshold_as_in_memory(method, dtype, first):
    """Past 2**53 the level is an exact integer, from the offsets to the minimum."""
    image = np.full((20, 30), first, dtype)
    image[:10] += 100
    image[5, :4] += 40
    pipeline = Pipeline()
    pipeline.add("threshold", method=method)
    chunked = pipeline.run_dask(da.from_array(image, chunks=(10, 15)))  # (OverflowError)
    expected = pipeline.run(image)
    np.testing.assert_array_equal(chunked.compute(), expected)
    np.testing.assert_array_equal(expected[:, 0], np.arange(20) < 10)  # (the +100 rows)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize(("dtype", "first"), [(np.uint64, 2**63 + 10), (np.int64, -(2**62))])
def test_a_manual_integer_level_past_2_to_the_53_stays_exact(tmp_path, suffix, dtype, first):
    """As a float (the registry's cast), first + 1 rounded to first: a value equal to
    the level was taken as above it."""
    image = np.arange(12, dtype=dtype).reshape(3, 4) + dtype(first)
    level = first + 5
    pipeline = Pipeline()
    pipeline.add("threshold", method="manual", value=level)
    assert pipeline[0].parameters["value"] == level
    pipeline.save(tmp_path / f"p{suffix}")
    loaded = Pipeline.load(tmp_path / f"p{suffix}")
    expected = np.arange(12).reshape(3, 4) > 5  # (compared as integers)
    for kept in (pipeline, loaded):
        np.testing.assert_array_equal(kept.run(image), expected)
        chunked = kept.run_dask(da.from_array(image, chunks=(2, 2)))
        np.testing.assert_array_equal(chunked.compute(), expected)


def halves(image, k: int = 2):
    """A subsampling function, wrongly registered with a halo (module-level: importable)."""
    return image[..., ::k, ::k]


def test_a_function_registered_with_a_halo_must_keep_the_shape_chunkwise(volume):
    """run_dask announced the input's shape and computed chunks of half its size."""
    ops.register(halves, halo=1)
    try:
        pipeline = Pipeline()
        pipeline.add("halves", k=2)
        with pytest.raises(ValueError, match=r"halves returned shape .*register it without"):
            pipeline.run_dask(lazy(volume)).compute()
        same = Pipeline()
        same.add("halves", k=1)
        np.testing.assert_array_equal(same.run_dask(lazy(volume)).compute(), volume)
    finally:
        ops.unregister("halves")


@pytest.mark.parametrize(
    ("steps", "chunks"),
    [
        ([("median", {"radius": 1.0})], (16, 20, 32)),  # 67 = 2 x 32 + 3: a 3-wide remainder
        ([("gaussian", {"sigma": 1.0})], (20, 20, 3)),  # every chunk 3 wide
        ([("threshold", {"method": "otsu"}), ("binary_dilation", {"radius": 1.0})],
         (16, 20, 32)),
        ([("threshold", {"method": "otsu"}), ("binary_opening", {"radius": 1.0})], (16, 20, 4)),
    ],
)
def test_chunks_three_or_four_wide_are_no_rgb_colours(steps, chunks):
    """A block 3 or 4 pixels wide was taken for RGB by the operations' shape rule:
    filters refused it, mask operations ran on its columns one by one."""
    rng = np.random.default_rng(0)
    volume = (rng.random((16, 40, 67)) * 200).astype(np.uint16)
    volume[4:12, 10:30, 20:50] += 100
    pipeline = Pipeline()
    for name, parameters in steps:
        pipeline.add(name, **parameters)
    chunked = pipeline.run_dask(da.from_array(volume, chunks=chunks), spacing=(2.0, 1.0, 1.0))
    expected = pipeline.run(volume, spacing=(2.0, 1.0, 1.0))
    np.testing.assert_array_equal(chunked.compute(), expected)
    # (merged for the filtering, then given back: the input's chunks, as zarr wants them)
    assert chunked.chunks == da.from_array(volume, chunks=chunks).chunks


def max_projection(image):
    """A projection of the user's own (module-level: importable)."""
    return np.asarray(image).max(axis=-3)


def test_a_function_dropping_an_axis_gives_the_next_steps_the_plane_voxel_size():
    """run_dask kept the stack's three sizes after it: the next Gaussian refused them
    ("spacing must have 2 or 3 values"), while Pipeline.run gave the plane's two."""
    ops.register(max_projection)
    try:
        pipeline = Pipeline()
        pipeline.add("max_projection")
        pipeline.add("gaussian", sigma=1.0)
        stack = np.random.default_rng(0).random((8, 64, 64)).astype(np.float32)
        expected = ops.gaussian(stack.max(axis=0), sigma=1.0, spacing=(0.5, 0.5))
        np.testing.assert_array_equal(pipeline.run(stack, (2.0, 0.5, 0.5)), expected)
        chunked = pipeline.run_dask(da.from_array(stack, chunks=(8, 32, 32)),
                                    spacing=(2.0, 0.5, 0.5))
        np.testing.assert_allclose(chunked.compute(), expected, rtol=1e-6)
    finally:
        ops.unregister("max_projection")


@pytest.mark.parametrize("address", ["tcp://127.0.0.1", "loacl", "http://127.0.0.1:8786"])
def test_a_bad_scheduler_address_is_one_line_and_makes_no_folder(tmp_path, capsys, address):
    """A full traceback ended in "missing port number" (review 84)."""
    pytest.importorskip("distributed")
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    pipeline.save(tmp_path / "p.yaml")
    status = main(["run", str(tmp_path / "p.yaml"), str(data_path("blobs.tif")),
                   "--out", str(tmp_path / "out"), "--scheduler", address])
    err = capsys.readouterr().err
    assert status != 0 and "Traceback" not in err
    assert f"--scheduler {address!r} is no scheduler address" in err and "tcp://HOST:PORT" in err
    assert not (tmp_path / "out").exists()
    # (no half-made client left as dask's scheduler: later computations hung on it)
    import dask

    assert dask.config.get("scheduler", None) is None
    assert float(da.ones((4, 4), chunks=2).sum().compute()) == 16.0


def test_no_output_folder_without_a_scheduler(tmp_path, capsys, monkeypatch):
    """The output folder was made before connecting: a scheduler that did not answer
    (a one-line timeout after 30 s) left it empty, though the README says a folder is
    made only when something is written."""
    distributed = pytest.importorskip("distributed")

    def unreachable(address, *args, **kwargs):
        raise OSError(f"Timed out trying to connect to {address} after 30 s")

    monkeypatch.setattr(distributed, "Client", unreachable)
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    pipeline.save(tmp_path / "p.yaml")
    status = main(["run", str(tmp_path / "p.yaml"), str(data_path("blobs.tif")),
                   "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"])
    assert status != 0 and "Timed out trying to connect" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("dtype", "method"), [(np.uint8, "otsu"), (np.uint8, "manual"), (np.float32, "li"),
                          (np.float32, "yen")],
)
@pytest.mark.parametrize("chunks", [(20, 25, 1), (16, 16, 4), (40, 50, 2)])
def test_an_rgba_image_gets_the_masks_of_its_colours_chunk_by_chunk(dtype, method, chunks):
    """Its alpha (255, opacity) joined the histogram and got a mask of its own."""
    from skimage import filters as skfilters

    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 120, (40, 50, 3)).astype(dtype)
    rgb[10:30, 10:30] += 100
    rgba = np.concatenate([rgb, np.full((40, 50, 1), 255, dtype)], axis=-1)
    parameters = {"value": 90} if method == "manual" else {}
    level = 90 if method == "manual" else getattr(skfilters, f"threshold_{method}")(
        rgb.reshape(-1))
    pipeline = Pipeline()
    pipeline.add("threshold", method=method, **parameters)
    pipeline.add("binary_opening", radius=1.0)
    opened = np.stack([ops.binary_opening(rgb[..., c] > level, radius=1.0) for c in range(3)], -1)
    np.testing.assert_array_equal(pipeline.run(rgba), opened)
    np.testing.assert_array_equal(pipeline.run_dask(da.from_array(rgba, chunks=chunks)), opened)
