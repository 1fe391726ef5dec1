"""Shared fixtures: the real microscopy images in ../shared/data."""

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def data_path(name: str) -> Path:
    """Path of a shared test image, skipping the test when the folder is absent."""
    path = DATA / name
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (clone ../shared beside the repo)")
    return path


@pytest.fixture(scope="session")
def blobs() -> np.ndarray:
    import tifffile

    return tifffile.imread(data_path("blobs.tif"))


@pytest.fixture(scope="session")
def mitosis() -> np.ndarray:
    import tifffile

    return tifffile.imread(data_path("mitosis_mod.tif"))


@pytest.fixture(scope="session")
def banana() -> np.ndarray:
    import tifffile

    files = sorted(data_path("banana").glob("banana*.tif"))
    return np.stack([tifffile.imread(f) for f in files])
