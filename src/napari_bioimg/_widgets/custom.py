"""Your own function as a napari dock: sliders, live preview, Apply, recorded steps.

``napari_bioimg.register`` stays headless (a pipeline or the command line can
use the function without napari); :func:`show` docks its generated widget.
"""

from collections.abc import Callable

import napari
from napari.utils.notifications import show_warning

from ..ops.registry import get_operation, list_operations, register
from .factories import show_operation
from .operation import OperationWidget

__all__ = ["show"]


def _operation_name(function: Callable | str, **register_options) -> str:
    if isinstance(function, str):
        return get_operation(function).name  # raises naming the known operations
    if not callable(function):
        raise TypeError(f"expected a function or an operation name, got {function!r}")
    for operation in list_operations():
        if operation.function is function and not register_options:
            return operation.name
    # Not registered yet, or redefined (a notebook cell run again): register
    # this version under its name, replacing an older one.
    register(function, **register_options)
    return register_options.get("name") or function.__name__


def show(
    viewer: napari.viewer.Viewer, function: Callable | str, **register_options
) -> OperationWidget:
    """Dock the widget of an operation: your function (registered if needed) or a name.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
    function : callable or str
        A function as :func:`napari_bioimg.register` takes it, or the name of a
        registered operation (built-in ones too).
    **register_options
        Passed to :func:`napari_bioimg.register` (``name``, ``category``,
        ``output_kind``, ``halo``) when the function gets registered here.

    Returns
    -------
    OperationWidget
        The docked widget: one slider per parameter, live preview, Apply (which
        records the step, with the function's module, for pipelines).

    Examples
    --------
    >>> import napari, napari_bioimg
    >>> from my_filters import unsharp_mask  # doctest: +SKIP
    >>> widget = napari_bioimg.show(napari.Viewer(), unsharp_mask)  # doctest: +SKIP
    """
    name = _operation_name(function, **register_options)
    operation = get_operation(name)
    if operation.module == "__main__":
        show_warning(
            f"{name} is defined in a script or notebook: a pipeline using it replays only "
            "where the function is registered again. Put it in a module (a .py file "
            "that registers it) to replay pipelines anywhere."
        )
    return show_operation(viewer, name)
