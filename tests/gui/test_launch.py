import numpy as np

from napari_bioimg._launch import launch
from napari_bioimg._widgets.operation import OperationWidget


def test_launch_opens_sample_data_with_widgets_docked(qtbot):
    viewer = launch("nuclei_3d", show=False)
    try:
        image, labels = viewer.layers[0], viewer.layers[1]
        assert image.data.ndim == 3 and np.unique(labels.data).size > 2
        assert image.scale[0] > image.scale[1]  # anisotropic voxels
        docked = OperationWidget.open_widgets(viewer)
        assert {w.operation.name for w in docked} == {"gaussian", "threshold"}
        for widget in docked:
            qtbot.waitUntil(lambda w=widget: not w.busy, timeout=20000)
        assert any(layer.name.endswith("gaussian") for layer in viewer.layers)
    finally:
        viewer.close()


def test_view_command_opens_napari_on_the_sample(monkeypatch, qtbot):
    import napari

    from napari_bioimg.cli import main

    ran = []
    monkeypatch.setattr(napari, "run", lambda: ran.append(True))
    assert main(["view", "--sample", "nuclei_2d"]) == 0
    viewer = napari.current_viewer()
    try:
        assert ran and viewer.layers[0].data.ndim == 2
        for widget in OperationWidget.open_widgets(viewer):
            qtbot.waitUntil(lambda w=widget: not w.busy, timeout=20000)
    finally:
        viewer.close()
