"""One dock-widget class per registry operation, made on demand.

The manifest points at ``napari_bioimg._widgets.factories:<operation>_widget``;
the module ``__getattr__`` makes that class from the registry, so adding an
operation never means writing a widget by hand. napari passes the viewer to
any ``__init__`` parameter annotated ``napari.viewer.Viewer``.
"""

from functools import cache

import napari

from ..ops.registry import get_operation
from .operation import OperationWidget

SUFFIX = "_widget"


@cache
def widget_class(name: str) -> type[OperationWidget]:
    """The dock-widget class of operation ``name``."""
    operation = get_operation(name)

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        OperationWidget.__init__(self, viewer, operation)

    return type(f"{name}{SUFFIX}", (OperationWidget,), {"__init__": __init__})


def __getattr__(attribute: str):
    if attribute.endswith(SUFFIX):
        try:
            return widget_class(attribute[: -len(SUFFIX)])
        except ValueError:
            pass
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


def show_operation(viewer: napari.viewer.Viewer, name: str) -> OperationWidget:
    """Dock the widget of operation ``name`` (also for functions added by ``register``)."""
    widget = OperationWidget(viewer, get_operation(name))
    viewer.window.add_dock_widget(widget, name=get_operation(name).display_name, area="right")
    return widget
