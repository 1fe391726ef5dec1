"""napari-bioimg: classic microscopy image processing for napari.

``napari_bioimg.ops`` is the headless core (no napari, no Qt); ``register`` turns
your own function into an operation with a generated widget.
"""

from importlib.metadata import PackageNotFoundError, version

from .ops.registry import register

try:
    __version__ = version("napari-bioimg")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__", "register"]


def __getattr__(name: str):
    # ``show`` needs napari and Qt: imported on first use, so that importing
    # napari_bioimg (pipelines, the command line) stays headless.
    if name == "show":
        from ._widgets.custom import show

        return show
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
