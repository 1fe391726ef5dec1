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


def test_view_command_on_files_docks_the_widgets_too(monkeypatch, qtbot, tmp_path):
    import napari
    import tifffile

    from napari_bioimg.cli import main

    stack = np.random.default_rng(0).integers(0, 200, (3, 20, 24)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "in.tif", stack, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "ZYX", "spacing": 2.0, "unit": "um"})
    monkeypatch.setattr(napari, "run", lambda: None)
    assert main(["view", str(tmp_path / "in.tif")]) == 0
    viewer = napari.current_viewer()
    try:
        assert [layer.name for layer in viewer.layers][:1] == ["in"]
        np.testing.assert_allclose(viewer.layers["in"].scale, (2.0, 0.5, 0.5))
        docked = OperationWidget.open_widgets(viewer)
        assert {w.operation.name for w in docked} == {"gaussian", "threshold"}
        for widget in docked:
            qtbot.waitUntil(lambda w=widget: not w.busy, timeout=20000)
            assert widget.input_layer is viewer.layers["in"]
    finally:
        viewer.close()
