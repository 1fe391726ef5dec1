"""Time a pipeline in memory, chunked with dask, and as a batch over files.

Run from the repository root: ``python benchmarks/bench_pipeline.py``. Outputs go
to ``benchmarks/_out`` (ignored by git). The banana slices come from
``../shared/data`` and are skipped when absent.
"""

import shutil
import time
from pathlib import Path

import numpy as np

from napari_bioimg.pipeline import Pipeline
from napari_bioimg.pipeline.batch import collect_inputs, run_batch

HERE = Path(__file__).resolve().parent
OUT = HERE / "_out"
DATA = HERE.parent.parent / "shared" / "data"


def timed(label, function):
    start = time.perf_counter()
    result = function()
    print(f"{label:<40} {time.perf_counter() - start:7.2f} s")
    return result


def main():
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    pipeline.add("median", radius=1.0)
    pipeline.add("threshold", method="otsu")
    pipeline.add("binary_opening", radius=1.0)

    rng = np.random.default_rng(0)
    volume = (rng.random((48, 256, 256)) * 200).astype(np.uint16)
    spacing = (2.0, 0.5, 0.5)
    expected = timed("in memory, 48x256x256", lambda: pipeline.run(volume, spacing))
    try:
        import dask.array as da
    except ImportError:
        print("dask not installed: chunked run skipped")
    else:
        lazy = da.from_array(volume, chunks=(16, 128, 128))
        chunked = timed("dask, chunks 16x128x128 (threads)",
                        lambda: pipeline.run_dask(lazy, spacing).compute())
        assert np.array_equal(chunked, expected)

    if not (DATA / "banana").is_dir():
        print(f"{DATA / 'banana'} not found: batch runs skipped")
        return
    paths, _ = collect_inputs([DATA / "banana"])
    for workers in (1, 2):
        target = OUT / f"batch_{workers}"
        shutil.rmtree(target, ignore_errors=True)
        timed(f"batch, {len(paths)} banana slices, {workers} thread(s)",
              lambda target=target, workers=workers: run_batch(
                  pipeline, paths, target, workers=workers))


if __name__ == "__main__":
    main()
