"""Fixtures for the pipeline tests: a user-registered operation in its own module."""

import importlib
import sys

import pytest

from napari_bioimg.ops import unregister

USER_MODULE = "bioimg_test_user_ops"
USER_SOURCE = '''
import numpy as np

from napari_bioimg import register


@register
def add_offset(image, offset: float = 1.0, spacing=None):
    """Add a constant (a user operation for the tests)."""
    return np.asarray(image, dtype=np.float32) + np.float32(offset)
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """Name of an importable module registering ``add_offset``; its folder is on sys.path."""
    folder = tmp_path / "user_ops"
    folder.mkdir()
    (folder / f"{USER_MODULE}.py").write_text(USER_SOURCE)
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    importlib.import_module(USER_MODULE)
    yield USER_MODULE
    unregister("add_offset")
    sys.modules.pop(USER_MODULE, None)
