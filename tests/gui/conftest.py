"""GUI test settings."""

from types import SimpleNamespace

import pytest


@pytest.fixture(autouse=True)
def _no_full_collection_per_removed_layer(monkeypatch):
    """Skip the full ``gc.collect()`` that napari's canvas runs for every removed layer.

    It works around Windows OpenGL drivers (napari/_vispy/canvas.py,
    ``_clean_and_update_scenegraph``); here, under Xvfb, it only costs time: each
    collection walks every object the test session holds (0.5-1 s late in the
    suite), and closing a viewer with the orthogonal views removes a dozen layers.
    napari's own leak check at teardown still collects.
    """
    from napari._vispy import canvas

    monkeypatch.setattr(canvas, "gc", SimpleNamespace(collect=lambda *args: 0))


def newest(viewer):
    """The topmost layer that is no live preview: the result last applied or replayed.

    (An Apply puts its result under the widget's preview, which stays on top.)
    """
    from napari_bioimg._widgets._layers import is_preview

    return [layer for layer in viewer.layers if not is_preview(layer)][-1]
