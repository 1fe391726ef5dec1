"""Reproducible pipelines: recorded registry steps, saved as YAML, run headless.

``Pipeline`` records steps (:meth:`Pipeline.add`), runs them on numpy arrays
(:meth:`Pipeline.run`) or chunk by chunk on dask arrays
(:meth:`Pipeline.run_dask`), saves them (:meth:`Pipeline.to_yaml`, file format
in :mod:`napari_bioimg.pipeline.fileformat`) and exports a standalone script
(:meth:`Pipeline.to_python`). :mod:`napari_bioimg.pipeline.batch` runs a
pipeline over many TIFF files, as the ``napari-bioimg run`` command does.
Nothing here imports napari or Qt.
"""

from .core import FORMAT_VERSION, INPUT, Pipeline, Step
from .io import process_image, read_image, result_axes, write_image
from .spacing import spacing_after

__all__ = [
    "FORMAT_VERSION",
    "INPUT",
    "Pipeline",
    "Step",
    "process_image",
    "read_image",
    "result_axes",
    "spacing_after",
    "write_image",
]
