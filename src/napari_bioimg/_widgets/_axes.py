"""Axis names for labels in docks."""

from napari.layers import Layer

from ..ops.planes import default_axis_names, numbered

__all__ = ["axis_names"]


def axis_names(viewer, layer: Layer) -> list[str]:
    """Names of the layer's axes: its own labels, with z/y/x for napari's numbers.

    napari labels axes ``-3, -2, -1`` (or ``0, 1, 2``) unless told otherwise;
    the last three then read better as z, y and x, and so do those of a layer
    that names only some axes (an RGB image's masks: ``channel, -2, -1`` are
    ``channel, y, x``).
    """
    labels = [str(label) for label in getattr(layer, "axis_labels", ())][-layer.ndim :]
    if len(labels) != layer.ndim:
        labels = [str(label) for label in viewer.dims.axis_labels][-layer.ndim :]
    defaults = default_axis_names(layer.ndim)
    return [
        default if numbered([label]) else label
        for label, default in zip(labels, defaults, strict=True)
    ]
