"""Screenshots of the teaching tools: pixel values and compare (run under xvfb-run -a)."""

from pathlib import Path

import napari
import numpy as np
import tifffile
from qtpy.QtWidgets import QApplication

from napari_bioimg import ops
from napari_bioimg._sample_data import nuclei_2d

IMAGES = Path(__file__).parent / "images"
BLOBS = Path(__file__).resolve().parents[2] / "shared" / "data" / "blobs.tif"
PLUGIN = "napari-bioimg"


def settle():
    app = QApplication.instance()
    for _ in range(20):
        app.processEvents()


def pixel_grid() -> Path:
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1500, 820)
    (image, image_kwargs, _), (labels, _, _) = nuclei_2d()
    layer = viewer.add_image(image, **image_kwargs)
    # A pixel on the edge of a nucleus: bright on one side, background on the other.
    k = int(np.bincount(labels.ravel())[1:].argmax()) + 1
    rows, cols = np.nonzero(labels == k)
    row = int(np.median(rows))
    col = int(cols[rows == row].max())
    centre = layer.data_to_world((row, col))
    viewer.scene.camera.center = (0.0, *centre)
    viewer.scene.camera.zoom = 40.0  # canvas pixels per µm: 20 per image pixel
    _, grid = viewer.window.add_plugin_dock_widget(PLUGIN, "Pixel values")
    viewer.layers.selection.active = layer
    viewer.cursor.position = tuple(centre)
    settle()
    out = IMAGES / "pixel_grid.png"
    viewer.screenshot(str(out), canvas_only=False)
    viewer.close()
    return out


def compare() -> Path:
    blobs = tifffile.imread(BLOBS)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1600, 620)
    viewer.add_image(blobs, name="blobs")
    viewer.add_image(ops.mean(blobs, radius=3), name="mean r=3")
    viewer.add_image(ops.median(blobs, radius=3), name="median r=3")
    viewer.add_image(ops.gaussian(blobs, sigma=2), name="Gaussian σ=2")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Compare side by side")
    widget.side_by_side()
    settle()
    viewer.reset_view()
    settle()
    out = IMAGES / "compare.png"
    viewer.screenshot(str(out), canvas_only=False)
    viewer.close()
    return out


def main():
    IMAGES.mkdir(parents=True, exist_ok=True)
    for make in (pixel_grid, compare):
        print(f"wrote {make()}")


if __name__ == "__main__":
    main()
