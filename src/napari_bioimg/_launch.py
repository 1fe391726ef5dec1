"""Start napari with the plugin's sample data and its main widgets docked."""

import napari
from napari.layers import Image

from .ops.registry import get_operation

SAMPLES = ("nuclei_2d", "nuclei_3d")
DOCKED = ("gaussian", "threshold")


def launch(sample: str = "nuclei_3d", *, show: bool = True) -> napari.Viewer:
    """Open a viewer on ``sample`` with the Gaussian and Threshold widgets docked."""
    if sample not in SAMPLES:
        raise ValueError(f"sample must be one of {SAMPLES}, got {sample!r}")
    viewer = napari.Viewer(title="napari-bioimg", show=show)
    viewer.open_sample("napari-bioimg", sample)
    viewer.layers.selection.active = next(
        layer for layer in viewer.layers if isinstance(layer, Image)
    )
    for name in DOCKED:
        viewer.window.add_plugin_dock_widget("napari-bioimg", get_operation(name).display_name)
    return viewer


def main(sample: str = "nuclei_3d") -> None:
    """Launch and run the Qt event loop until the window closes."""
    launch(sample)
    napari.run()
