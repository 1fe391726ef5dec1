"""Small helpers between napari layers and the headless core."""

import math
from contextlib import contextmanager
from typing import Any

import numpy as np
from magicgui.widgets import ComboBox, Select
from napari.layers import Image, Labels, Layer

from ..io_tiff import physical_unit
from ..ops.planes import CHANNEL, numbered, spatial_count
from ..pipeline.spacing import trailing

PREVIEW_KEY = "napari_bioimg_preview"
COLOUR_FIRST = "napari_bioimg_colour_first"


def colour_first(layer: Layer) -> bool:
    """Whether ``layer`` holds the masks of an RGB image, their colour axis first.

    Headless (``Pipeline.run``, ``napari-bioimg run``) the same masks have their
    colours last, as the image: per-axis values recorded on them leave it out.
    """
    return bool(layer.metadata.get(COLOUR_FIRST, False))


def is_preview(layer: Layer) -> bool:
    """Tell whether ``layer`` is a live preview made by an operation widget."""
    return bool(layer.metadata.get(PREVIEW_KEY, False))


def painted_by_hand(layer: Layer) -> bool:
    """Whether ``layer`` holds painting napari can undo (a Labels layer's undo history).

    An undo history that lost its first items (napari keeps the last 100) counts
    as painted for good: undoing what it keeps does not give the pixels back.
    """
    history = getattr(layer, "_undo_history", None)
    if history is None:
        return False
    return len(history) > 0 or getattr(layer, "_history_lost", False)


def connect_edits(layer: Layer, callback) -> list[tuple]:
    """Call ``callback(event)`` whenever ``layer``'s pixels change; return the connections.

    New data (``data``), painting, filling and erasing (``paint``,
    ``labels_update``), and an undo or redo of them: napari then sends only
    ``set_data``, as it does for every new slice, so that an undo is told by
    the undo and redo histories having moved (napari's private deques, read
    with care: a napari without them loses only the undo).
    """
    connections = []
    last = [_history_state(layer)]  # (None: no undo history, nothing to tell apart)

    def moved() -> bool:
        now = _history_state(layer)
        changed, last[0] = now != last[0], now
        return changed

    def changed(event=None) -> None:
        moved()
        callback(event)

    def refreshed(event=None) -> None:
        if moved():  # (an undo or redo; not a new slice)
            callback(event)

    for name, handler in (("data", changed), ("paint", changed), ("labels_update", changed),
                          ("set_data", refreshed)):
        emitter = getattr(layer.events, name, None)
        if emitter is not None and (name != "set_data" or last[0] is not None):
            emitter.connect(handler)
            connections.append((emitter, handler))
    return connections


def _history_state(layer: Layer):
    """The lengths of a Labels layer's undo and redo histories, None without them."""
    undo, redo = getattr(layer, "_undo_history", None), getattr(layer, "_redo_history", None)
    if undo is None or redo is None:
        return None
    if undo.maxlen is not None and len(undo) >= undo.maxlen:
        layer._history_lost = True  # (the oldest strokes can no longer be undone)
    return (len(undo), len(redo))


def layer_data(layer: Layer):
    """The layer's full-resolution data (the first level of a multiscale layer)."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def has_alpha(layer: Layer) -> bool:
    """Whether ``layer`` is an RGBA image: its 4th colour is opacity, no intensity.

    Its values are counted and thresholded without it (``data[..., :3]``).
    """
    return bool(getattr(layer, "rgb", False)) and layer_data(layer).shape[-1] == 4


def spatial_scale(layer: Layer) -> tuple[float, ...]:
    """The voxel size of the spatial (last 2 or 3) axes.

    An axis labelled ``"channel"`` (``"c"``) or time (``"t"``, as the reader labels a
    time-lapse) and those before it are not spatial: the channels of a mask and
    the frames of a time-lapse are filtered and measured one by one, as
    ``napari-bioimg run`` does with the file. A negative scale (napari's way to
    mirror a layer) is a voxel of its size: the sizes are positive.
    """
    nsp = spatial_count(layer.axis_labels, layer.ndim)
    return tuple(abs(float(s)) for s in layer.scale[layer.ndim - max(nsp, 2) :])


def length_unit(layer: Layer | None) -> str:
    """Abbreviated unit of the layer's last axis ("µm"), "px" without a scale.

    A scale without a unit (napari's "pixel") gives "scale units": sizes are then
    in the scale's numbers, not in pixels.
    """
    if layer is None:
        return "px"
    units = getattr(layer, "units", None)
    text = None if units is None else physical_unit(units[-1])
    if text is not None:
        return text
    # (not a time-lapse's t, a mask's channels)
    return "px" if np.allclose(spatial_scale(layer), 1.0) else "scale units"


def accepts(layer: Layer, input_kind: str, accepts_rgb: bool, labels: bool = False) -> bool:
    """Tell whether ``layer`` can feed an operation reading ``input_kind`` data.

    ``labels``: label layers too (a projection: of labels by max or min, labels).
    """
    if is_preview(layer):
        return False
    if input_kind == "mask":
        return isinstance(layer, Labels) or (
            isinstance(layer, Image) and np.dtype(layer.dtype) == bool
        )
    if labels and isinstance(layer, Labels):
        return True
    return isinstance(layer, Image) and (accepts_rgb or not layer.rgb)


def add_result(viewer, data: np.ndarray, kind: str, source: Layer, name: str, **geometry) -> Layer:
    """Add ``data`` as an Image or Labels layer that overlays ``source``.

    ``geometry``: ``scale``, ``translate``, ``units`` and ``axis_labels`` of the
    result (default the source's, for a result on the same axes), and other
    layer keywords. The axis labels name the same axes as the source's (a
    projection drops one: a time-lapse's ``t`` stays ``t``, and frames stay
    frames in the next operation).
    """
    scale = geometry.pop("scale", source.scale)
    translate = geometry.pop("translate", source.translate)
    ndim = len(scale)
    data, scale, translate = for_display(data, kind, source, scale, translate)
    axes = result_axes(
        source, ndim, len(scale), geometry.pop("units", None), geometry.pop("axis_labels", None)
    )
    translate, orientation = oriented(source, scale, translate)
    if len(scale) > ndim or (colour_first(source) and len(scale) == source.ndim):
        # (the masks of an RGB image, and what keeps their axes: colours first here,
        # last headless, where the steps recorded on them replay)
        geometry["metadata"] = {**geometry.get("metadata", {}), COLOUR_FIRST: True}
    kwargs = dict(name=name, scale=scale, translate=translate, **orientation, **axes, **geometry)
    if kind == "image":
        rgb = bool(getattr(source, "rgb", False)) and data.ndim == len(scale) + 1 >= 3
        if isinstance(source, Image) and not source.rgb:
            # a channel's look (green, additive) stays: the result does not hide the others
            kwargs.setdefault("colormap", source.colormap)
            kwargs.setdefault("blending", source.blending)
        layer = viewer.add_image(data, rgb=rgb, **kwargs)
    else:
        if isinstance(source, Labels):  # the same labels keep their colours (a crop, a flip)
            kwargs.setdefault("colormap", source.colormap.model_copy(deep=True))  # (not shared)
        layer = viewer.add_labels(data, **kwargs)
    bring_into_view(viewer, layer)
    return layer


def bring_into_view(viewer, layer: Layer) -> None:
    """Reset the view when ``layer`` lies partly outside the other layers, as shown.

    Only a projection along y or x does (a side view, placed just below its
    stack, was off-screen until the view was reset by hand): every other result
    overlays its input, and the user's zoom stays. Previews are not counted
    among the others (a preview of the side view would hide it).
    """
    ndim, displayed = viewer.dims.ndim, list(viewer.dims.displayed)
    low, high = np.full(ndim, np.inf), np.full(ndim, -np.inf)
    for other in viewer.layers:
        if other is layer or is_preview(other):
            continue
        extent = np.asarray(other.extent.world, dtype=float)
        offset = ndim - other.ndim
        low[offset:] = np.minimum(low[offset:], extent[0])
        high[offset:] = np.maximum(high[offset:], extent[1])
    extent, offset = np.asarray(layer.extent.world, dtype=float), ndim - layer.ndim
    for axis in displayed:
        own = axis - offset
        if not 0 <= own < layer.ndim or not np.isfinite(low[axis]):
            continue
        half = abs(float(layer.scale[own])) / 2  # (a tolerance of half a pixel; mirrored too)
        if extent[0, own] < low[axis] - half or extent[1, own] > high[axis] + half:
            viewer.reset_view()
            return


def result_axes(source: Layer, ndim: int, shown: int, units=None, labels=None) -> dict:
    """The ``units`` and ``axis_labels`` keywords of a result of ``ndim`` spatial axes.

    ``shown``: the number of axes of the layer (one more than ``ndim`` for the
    masks of an RGB image, colour first). ``units`` and ``labels`` default to the
    source's when it has the same axes (callers that drop one pass them).
    """
    axes = {}
    source_units = getattr(source, "units", None)
    if units is None and source_units is not None and len(source_units) == ndim:
        units = tuple(source_units)
    if labels is None and len(source.axis_labels) == ndim:
        labels = tuple(source.axis_labels)
    labels = named_axes(labels, ndim)
    if shown > ndim:  # the masks of an RGB image, colour first
        axes["axis_labels"] = (CHANNEL, *(labels or source.axis_labels[-ndim:]))
        units = None if units is None else ("pixel", *units)
    elif labels is not None:
        axes["axis_labels"] = labels
    if units is not None:
        # napari ignores every layer's units when one layer's differ: keep them all
        axes["units"] = tuple(units)
    return axes


def pint_units(units) -> tuple:
    """``units`` (names, symbols or pint units) as the pint units napari gives a layer."""
    import pint

    registry = pint.get_application_registry()
    return tuple(
        u if isinstance(u, pint.Unit) else registry.parse_expression(u or "pixel").units
        for u in units
    )


def set_contrast_limits(layer, low: float, high: float) -> None:
    """Set an image layer's contrast limits, widening its range to hold them."""
    limits_range = layer.contrast_limits_range
    if low < limits_range[0] or high > limits_range[1]:
        layer.contrast_limits_range = (min(low, limits_range[0]), max(high, limits_range[1]))
    layer.contrast_limits = (low, high)


def transform_matrix(value) -> np.ndarray:
    """A layer's scale/translate/rotate/shear (arrays) or affine (a transform) as an array."""
    return np.asarray(getattr(value, "affine_matrix", value), dtype=float)


def named_axes(labels, ndim: int) -> tuple | None:
    """The axis ``labels`` to give a layer of ``ndim`` axes, or None to let napari name them.

    None for napari's own numbers (``-3``, ``0``), a function's new axes (None
    labels) and a count that does not fit.
    """
    if labels is None or len(labels) != ndim or None in labels:
        return None
    return None if numbered(labels) else tuple(labels)


def oriented(source: Layer, scale, translate) -> tuple[tuple, dict]:
    """The translate, and the rotate/shear/affine, of a result on ``source``'s axes.

    Geometry is computed along the data axes (a crop's origin moves by start x
    scale); a rotated, sheared or affine-transformed source turns that offset
    with it, and its transforms (the identity ones too, to reset a layer made
    when the source was turned) are passed on, so that the result overlays it.
    Results with other axes (a projection) keep the axis-aligned geometry.
    """
    if len(scale) != source.ndim:
        return tuple(translate), {}
    linear = np.asarray(source._transforms["data2physical"].linear_matrix, dtype=float)
    linear = linear / np.asarray(source.scale, dtype=float)  # (rotate @ shear)
    affine = np.asarray(source.affine.affine_matrix, dtype=float)
    orientation = {"rotate": source.rotate, "shear": source.shear, "affine": affine}
    if np.allclose(linear, np.eye(source.ndim)) and np.allclose(affine, np.eye(source.ndim + 1)):
        return tuple(translate), orientation
    origin = np.asarray(source.translate, dtype=float)
    moved = origin + linear @ (np.asarray(translate, dtype=float) - origin)
    return tuple(float(t) for t in moved), orientation


def fit_axes(data: np.ndarray, source: Layer, scale, translate, units) -> tuple:
    """``(scale, translate, units)`` for a result with other axes than its input.

    A registered function may reduce a stack to a plane or make a stack of a
    plane: the result keeps the input's trailing axes (numpy's alignment, as
    napari's), new leading axes get unit steps. Results with the input's axes
    (and an RGB image's colours, or the masks made of them) are left alone.
    """
    n = len(scale)
    if data.ndim == n or (data.ndim == n + 1 and getattr(source, "rgb", False)):
        return tuple(scale), tuple(translate), units
    units = None if units is None else trailing(units, data.ndim, "pixel")
    return trailing(scale, data.ndim, 1.0), trailing(translate, data.ndim, 0.0), units


def for_display(data: np.ndarray, kind: str, source: Layer, scale, translate) -> tuple:
    """``(data, scale, translate)`` of a result as a layer over ``source``.

    Masks become 0/1 labels; the masks of an RGB image (one per colour) get
    their colour axis first, as a slider, over the image.
    """
    scale, translate = tuple(scale), tuple(translate)
    if kind == "image":
        return data, scale, translate
    if getattr(source, "rgb", False) and data.ndim == len(scale) + 1:
        return as_labels(np.moveaxis(data, -1, 0)), (1.0, *scale), (0.0, *translate)
    return as_labels(data), scale, translate


def as_labels(data: np.ndarray) -> np.ndarray:
    """Masks become 0/1 uint8 label images; label images stay as they are."""
    return data.astype(np.uint8) if data.dtype == bool else data


class NonzeroView:
    """``data != 0`` computed lazily: only the planes that are sliced are converted.

    Label layers feed mask operations through this view, so that a preview of
    one plane of a big stack converts just its slab, in the worker thread.
    """

    def __init__(self, data) -> None:
        self.data = data
        self.shape = tuple(data.shape)
        self.ndim = len(self.shape)
        self.dtype = np.dtype(bool)

    def __getitem__(self, key) -> np.ndarray:
        return np.asarray(self.data[key]) != 0

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        mask = np.asarray(self.data) != 0
        return mask if dtype is None else mask.astype(dtype)


def _same(a, b) -> bool:
    return a is b or (not isinstance(a, Layer) and not isinstance(b, Layer) and a == b)


def reset_keeping(widget) -> None:
    """Reset a picker's choices (magicgui ComboBox or Select), keeping what it shows.

    napari resets the choices of docked widgets on layer-list changes, a rename
    included, and magicgui then emits passing values (another layer, None) while
    it refills the list: docks switched to another layer. Here the value stays
    while it is still offered, and ``changed`` fires once, only if it changed.
    """
    before = widget.value
    with widget.changed.blocked():
        if isinstance(widget, ComboBox | Select):
            widget.native.clear()  # (magicgui appends new choices after the kept ones)
        widget.reset_choices()
        offered = list(widget.choices)
        if isinstance(before, list | tuple):
            kept = [v for v in before if any(_same(v, c) for c in offered)]
            if kept:  # (magicgui refuses [] as a value; a single-choice list takes one)
                widget.value = kept if getattr(widget, "_allow_multiple", True) else kept[0]
        elif before is not None and any(_same(before, c) for c in offered):
            widget.value = before
    after = widget.value
    if isinstance(before, list | tuple):
        unchanged = len(after) == len(before) and all(map(_same, after, before))
    else:
        unchanged = _same(after, before)
    if not unchanged:
        widget.changed.emit(after)


def reset_all_keeping(container) -> None:
    """``container.reset_choices()`` with :func:`reset_keeping` for every picker."""
    from magicgui.widgets.bases import CategoricalWidget

    for widget in container:
        if isinstance(widget, CategoricalWidget):
            reset_keeping(widget)
        elif hasattr(widget, "reset_choices"):
            widget.reset_choices()


def subsample(data, limit: int) -> tuple[Any, bool]:
    """Every k-th value along each axis so that about ``limit`` values remain.

    Axes of at most 4 values (an RGB(A) image's colours, a few channels) stay
    whole: stepping them dropped colours. Returns the (possibly lazy) array and
    whether it was subsampled.
    """
    size = math.prod(data.shape)
    if size <= limit or data.ndim == 0:
        return data, False
    long_axes = [n > 4 for n in data.shape]
    step = math.ceil((size / limit) ** (1 / max(sum(long_axes), 1)))
    index = tuple(slice(None, None, step) if long else slice(None) for long in long_axes)
    return data[index], True


def finite_extremes(values) -> tuple[float, float] | None:
    """Finite minimum and maximum of ``values`` (None: no finite value).

    Integers exactly, as Python ints (a float of 2**62 + 1 is 2**62).

    Float stacks plane by plane: a finite-value copy of a whole stack would double it.
    """
    values = np.asarray(values)
    if values.size == 0:
        return None
    if values.dtype.kind in "iu":
        return int(values.min()), int(values.max())
    if values.dtype.kind != "f":
        return float(values.min()), float(values.max())
    low, high = np.inf, -np.inf
    for piece in values if values.ndim > 2 else [values]:
        finite = piece[np.isfinite(piece)]
        if finite.size:
            low, high = min(low, float(finite.min())), max(high, float(finite.max()))
    return None if low > high else (low, high)


@contextmanager
def keeping_point(viewer):
    """Keep the sliders' world positions across a change of the layers.

    napari keeps each slider's step number: when the step changes (a preview
    resampled to 0.39 mm slices removed from 8.8 mm ones), the same number is
    another place, clamped to the last plane (plane 12 of 25 became 24).
    """
    dims = viewer.dims
    ndim, point, sliced = dims.ndim, tuple(dims.point), tuple(dims.not_displayed)
    yield
    if dims.ndim != ndim:
        return
    for axis in sliced:
        low, high = (float(v) for v in dims.range[axis][:2])
        value = min(max(float(point[axis]), low), high)
        if not math.isclose(float(dims.point[axis]), value):
            dims.set_point(axis, value)
