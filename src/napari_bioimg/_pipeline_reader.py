"""npe2 reader: a saved pipeline opened in napari (File → Open, or dropped on it).

napari-bioimg's pipeline files (YAML or JSON, see
:mod:`napari_bioimg.pipeline.fileformat`) are run on the selected image or labels
layer by the *Pipeline* dock, as its *Run saved pipeline on layer…* does; the
file itself adds no layer (napari's ``[(None,)]``: read, nothing to add).
"""

import os
from pathlib import Path

__all__ = ["get_pipeline_reader", "run_pipeline_file"]

PIPELINE_SUFFIXES = (".yaml", ".yml", ".json")
# The format's key, which every pipeline file holds near its start.
_KEY = "napari_bioimg_pipeline"


def get_pipeline_reader(path):
    """Return :func:`run_pipeline_file` for a napari-bioimg pipeline file, else None."""
    if not isinstance(path, str | os.PathLike):
        return None
    path = Path(path)
    if path.suffix.lower() not in PIPELINE_SUFFIXES or not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            start = file.read(4096)
    except OSError:
        return None
    return run_pipeline_file if _KEY in start else None


def run_pipeline_file(path) -> list[tuple[None]]:
    """Run the pipeline in ``path`` on the selected layer of the current viewer."""
    import napari

    viewer = napari.current_viewer()
    if viewer is None:
        raise ValueError(f"{Path(path).name}: a pipeline runs on a layer of a napari viewer")
    _, dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
    dock.run_saved(path, dock.layer_to_run_on())
    return [(None,)]
