"""Screenshot of the viewer with a live Gaussian preview (run under xvfb-run -a)."""

from pathlib import Path

from qtpy.QtWidgets import QApplication

from napari_bioimg._launch import launch
from napari_bioimg._widgets.operation import OperationWidget

OUT = Path(__file__).parent / "images" / "viewer.png"


def wait(widgets):
    app = QApplication.instance()
    while any(w.busy for w in widgets):
        app.processEvents()


def main():
    viewer = launch("nuclei_3d", show=True)
    viewer.window._qt_window.resize(1400, 800)
    viewer.dims.set_current_step(0, 15)
    widgets = OperationWidget.open_widgets(viewer)
    gaussian = next(w for w in widgets if w.operation.name == "gaussian")
    gaussian.set_parameters(sigma=1.0)
    wait(widgets)
    for layer in viewer.layers:
        layer.visible = layer.name.endswith(("gaussian", "threshold"))
    viewer.layers[-1].opacity = 0.5
    wait(widgets)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(OUT), canvas_only=False)
    print(f"wrote {OUT}")
    viewer.close()


if __name__ == "__main__":
    main()
