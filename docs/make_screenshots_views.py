"""Screenshots of the orthogonal views and the histogram dock for the README.

Run from the project root (needs a display; on a server use Xvfb)::

    xvfb-run -a python docs/make_screenshots_views.py

It opens the banana MRI stack of ../shared/data/banana (25 slices 8.8 mm
apart, 0.39 mm pixels) once with the plugin's reader, which finds the voxel
size, and once without a scale, and writes docs/images/orthogonal_banana_with_scale.png,
orthogonal_banana_without_scale.png and histogram.png.
"""

from pathlib import Path

import napari
import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication

from napari_bioimg import ops

ROOT = Path(__file__).resolve().parents[1]
BANANA = ROOT.parent / "shared" / "data" / "banana"
IMAGES = ROOT / "docs" / "images"
PLUGIN = "napari-bioimg"
SIZE = (1500, 860)


def settle(viewer: napari.Viewer, rounds: int = 30) -> None:
    for _ in range(rounds):
        QApplication.processEvents()


def window_shot(viewer: napari.Viewer, path: Path) -> None:
    settle(viewer)
    viewer.window._qt_window.grab().save(str(path))
    print(f"wrote {path.relative_to(ROOT)}")


def orthogonal(with_scale: bool) -> None:
    viewer = napari.Viewer(show=True)
    layer = viewer.open(BANANA, plugin=PLUGIN)[0]
    if not with_scale:  # as napari's own reader opens it: one unit per pixel and slice
        layer.scale = (1.0, 1.0, 1.0)
        layer.units = ("pixel",) * 3
    layer.contrast_limits = ops.percentile_range(layer.data, lower=0.175, upper=99.825)
    mask = ops.threshold(layer.data, method="otsu")
    viewer.add_labels(
        mask.astype(np.uint8),
        scale=layer.scale,
        units=layer.units,
        name="banana threshold",
        opacity=0.3,
    )
    viewer.layers.selection = {layer}
    # the crosshair through the middle of the banana in its middle slice
    y, x = np.argwhere(ops.fill_holes(mask[12])).mean(axis=0)
    viewer.dims.set_point(0, 12 * layer.scale[0])
    viewer.dims.set_point(1, y * layer.scale[1])
    viewer.dims.set_point(2, x * layer.scale[2])
    dock, views = viewer.window.add_plugin_dock_widget(PLUGIN, "Orthogonal views")
    viewer.window._qt_window.resize(*SIZE)
    viewer.window._qt_window.resizeDocks([dock], [720], Qt.Orientation.Horizontal)
    settle(viewer)
    viewer.reset_view()
    views.reset_views()
    name = "with" if with_scale else "without"
    print(f"{name} scale: XZ aspect {views.aspect('xz'):.2f}, XZ extent {views.view_extent('xz')}")
    window_shot(viewer, IMAGES / f"orthogonal_banana_{name}_scale.png")
    viewer.close()


def histogram() -> None:
    viewer = napari.Viewer(show=True)
    layer = viewer.open(BANANA, plugin=PLUGIN)[0]
    viewer.dims.set_point(0, 12 * layer.scale[0])
    viewer.layers.selection = {layer}
    threshold_dock, threshold = viewer.window.add_plugin_dock_widget(PLUGIN, "Threshold")
    threshold.input_layer = layer
    threshold.set_parameters(method="li")
    dock, panel = viewer.window.add_plugin_dock_widget(PLUGIN, "Histogram and statistics")
    panel.log = True
    panel.set_limits_from_percentiles(0.175, 99.825)  # the "Auto 0.35 %" button
    panel.follow_threshold_widget()
    viewer.window._qt_window.resize(*SIZE)
    settle(viewer)
    viewer.window._qt_window.resizeDocks([dock], [620], Qt.Orientation.Horizontal)
    viewer.window._qt_window.resizeDocks(
        [threshold_dock, dock], [230, 600], Qt.Orientation.Vertical
    )
    app = QApplication.instance()
    for _ in range(200):  # the threshold preview and line come from workers
        app.processEvents()
        if panel.threshold is not None and not threshold.busy and not panel.busy:
            break
        QApplication.instance().thread().msleep(50)
    viewer.reset_view()
    print(f"histogram: {len(panel.counts)} bins, threshold {panel.threshold}")
    window_shot(viewer, IMAGES / "histogram.png")
    viewer.close()


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    orthogonal(with_scale=True)
    orthogonal(with_scale=False)
    histogram()


if __name__ == "__main__":
    main()
