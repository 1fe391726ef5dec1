"""Start napari with the plugin's sample data and its main widgets docked."""

import napari
from napari.layers import Image

from ._sample_data import SAMPLES
from .ops.registry import get_operation

DOCKED = ("gaussian", "threshold")


def launch(sample: str = "nuclei_3d", *, show: bool = True, paths=()) -> napari.Viewer:
    """Open a viewer with the Gaussian and Threshold widgets docked.

    On ``paths`` (files or folders, read by napari-bioimg's reader) when given,
    else on the ``sample`` data.
    """
    if not paths and sample not in SAMPLES:
        raise ValueError(f"sample must be one of {tuple(SAMPLES)}, got {sample!r}")
    viewer = napari.Viewer(title="napari-bioimg", show=show)
    if paths:
        for path in paths:
            viewer.open(path, plugin="napari-bioimg")
    else:
        viewer.open_sample("napari-bioimg", sample)
    images = [layer for layer in viewer.layers if isinstance(layer, Image)]
    if images:
        viewer.layers.selection.active = images[0]
    for name in DOCKED:
        viewer.window.add_plugin_dock_widget("napari-bioimg", get_operation(name).display_name)
    return viewer


def main(sample: str = "nuclei_3d") -> None:
    """Launch and run the Qt event loop until the window closes."""
    launch(sample)
    napari.run()
