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
