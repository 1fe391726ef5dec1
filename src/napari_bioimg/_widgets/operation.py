"""The generic operation widget, generated from a registry entry.

Every parameter change schedules a computation in a worker thread; while one
runs, newer requests replace older pending ones (latest wins) and results of
stale requests are dropped. Only the main thread touches layers. When a stack
is shown in 2D, the preview computes just the displayed plane from the slab
of planes that the operation's halo needs.
"""

import contextlib
import inspect
import math
import weakref
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import napari
import numpy as np
from magicgui import widgets
from napari.layers import Image, Labels, Layer
from napari.qt.threading import GeneratorWorker, create_worker
from napari.utils.notifications import show_error, show_info
from psygnal import Signal
from qtpy.QtCore import QTimer
from qtpy.QtGui import QFontMetrics

from ..ops._checks import check_header
from ..ops.planes import (
    compute_plane,
    compute_slabs,
    count_slabs,
    output_axes,
    output_geometry,
    output_shape,
    plane_previewable,
    volume_previewable,
)
from ..ops.registry import Operation
from ..pipeline.core import error_text, for_kind, result_kind
from ..pipeline.spacing import trailing
from ._axes import axis_names
from ._dock import DockContainer, keep_narrow
from ._layers import (
    PREVIEW_KEY,
    NonzeroView,
    accepts,
    add_result,
    bring_into_view,
    connect_edits,
    finite_extremes,
    fit_axes,
    for_display,
    has_alpha,
    keeping_point,
    layer_data,
    length_unit,
    oriented,
    pint_units,
    reset_all_keeping,
    reset_keeping,
    result_axes,
    set_contrast_limits,
    spatial_scale,
    transform_matrix,
)
from ._lifetime import DockLifetime, disconnect_all, weak_callback
from ._params import (
    data_factor,
    data_range,
    factor_text,
    from_shown,
    hold,
    in_plane_values,
    ints_tooltip,
    make_widget,
    read_value,
    set_range,
    set_size_range,
    shown_in_pixels,
    size_factor,
    slider_factor,
    to_shown,
    unit_label,
)
from ._recorder import LAST, record_applied, recorder_for

# Automatic thresholds kept per widget (one per method tried on the current input).
PREPARE_CACHE_SIZE = 16
# Layer.refresh(extent=False) (napari >= 0.5.x): redraw new values of the same shape
# without the viewer's dims update that recomputing the extent brings.
_REFRESH_KEEPING_EXTENT = (
    {"extent": False} if "extent" in inspect.signature(Layer.refresh).parameters else {}
)
# Pixels beside the widest label: a slider long enough to move (~120) and its value box.
_SLIDER_AND_VALUE_WIDTH = 230


def _cache_key(parameters: dict) -> str:
    """The key of a setting's whole-image numbers in the widget's prepare cache."""
    return repr(sorted(parameters.items()))


class _OpenWidgets:
    """Announces changes of the operation widgets to the docks that follow them.

    ``changed``: a widget opens, closes or reads another layer; ``preview_shown``
    (with the layer): a preview layer shows new pixels (a plane copied in place
    sends no napari data event); ``threshold_computed`` (with the widget): a
    threshold widget's preview has its automatic value, or failed
    (:meth:`OperationWidget.computed_threshold`). The docks that follow widgets
    listen: the histogram's threshold line, the curtain.
    """

    changed = Signal()
    preview_shown = Signal(object)
    threshold_computed = Signal(object)


OPEN_WIDGETS = _OpenWidgets()


@dataclass
class Request:
    """A snapshot of what to compute, taken on the main thread."""

    generation: int
    layer: Layer
    parameters: dict[str, Any]
    spacing: tuple[float, ...] | None
    index: tuple[int, ...] | None  # the displayed plane, or None for the whole data
    extra: dict[str, Any] = field(default_factory=dict)
    # in 3D display, the time point (and channel) shown: the leading axes' indices
    volume: tuple[int, ...] | None = None
    # the input's shape, scale, translate, units and axis labels when asked: the
    # result lies as computed, also if the layer changes meanwhile (see _snapshot)
    geometry: dict[str, Any] = field(default_factory=dict)


class OperationWidget(DockContainer):
    """Input picker, one control per parameter, live preview and Apply.

    ``changed`` (magicgui's) fires on every control change; other docks find
    the open widgets of a viewer with :meth:`open_widgets`.
    """

    _open: "weakref.WeakSet[OperationWidget]" = weakref.WeakSet()

    def __init__(self, viewer: napari.viewer.Viewer, operation: Operation) -> None:
        super().__init__(labels=True)
        # napari hands plugins a proxy that re-wraps every layer on access; the
        # widget compares layers by identity, so it keeps the viewer itself.
        self.viewer = getattr(viewer, "__wrapped__", viewer)
        self.operation = operation
        self._generation = 0
        self._worker = None
        self._pending = False
        self._apply_worker = None
        self.preview_layer: Layer | None = None
        # The preview layer's array when the widget made it (see _replace_preview_data).
        self._preview_array: np.ndarray | None = None
        # Numbers of one input's data, valid while it is the data read (see _prepared).
        self._cache_owner: weakref.ref | None = None
        self._prepare_cache: dict = {}  # parameters -> prepared parameters, latest last
        self._data_store: dict = {}  # the data's own numbers (a histogram)
        self._mask_view: NonzeroView | None = None
        self._layer_connections: list = []

        self._input = widgets.ComboBox(label="input", choices=self._layer_choices, nullable=True)
        self._controls = {p.name: make_widget(p, self._axis_choices) for p in operation.parameters}
        self._size_factors: dict[str, float] = {}  # layer units per pixel of size sliders
        self._fitted_for: tuple | None = None  # the voxel size the sliders were fit to
        self._start_queued = False  # a preview to start at the next turn of the event loop
        self._size_pixels: dict[str, float] = {}  # their sizes in pixels, as last set
        # values per unit shown of sliders without unit shown divided by 10^k (eps ×1e-02)
        self._fixed_factors = {
            p.name: f for p in operation.parameters if (f := slider_factor(p)) != 1.0
        }
        # layer units per unit shown (size sliders in px, data values divided by 10^k)
        self._size_to_layer: dict[str, float] = dict(self._fixed_factors)
        self._preview = widgets.CheckBox(value=True, text="live preview")
        self._apply = widgets.PushButton(text="Apply")
        self._cancel = widgets.PushButton(text="Cancel", enabled=False)
        self._status = widgets.Label(value="")
        keep_narrow(self._input, self._status)  # (a long name or error)
        self.extend(
            [
                self._input,
                *self._controls.values(),
                self._preview,
                self._apply,
                self._cancel,
                self._status,
            ]
        )
        self.native.setToolTip(operation.description)

        self._input.changed.connect(self._on_input_changed)
        for parameter in operation.parameters:
            control = self._controls[parameter.name]
            control.changed.connect(self._update_enabled)
            control.changed.connect(self.schedule)
            if parameter.kind == "float" and parameter.unit in ("length", "volume"):
                control.changed.connect(partial(self._remember_size, parameter.name))
        self._update_enabled()
        self._preview.changed.connect(self._on_preview_toggled)
        self._apply.clicked.connect(self.apply)
        self._cancel.clicked.connect(self.cancel)
        self._connections = [
            (self.viewer.layers.events.inserted, self._refresh_choices),
            (self.viewer.layers.events.removed, self._refresh_choices),
            (self.viewer.dims.events.current_step, self._on_dims),
            (self.viewer.dims.events.ndisplay, self._on_dims),
            (self.viewer.dims.events.order, self._on_dims),  # (rolled: no plane alone)
        ]
        for emitter, callback in self._connections:
            emitter.connect(callback)
        self._alive = True
        OperationWidget._open.add(self)
        self._lifetime = DockLifetime(self.native, self._disconnect)
        self._select_default_input()
        self._fit_width()
        OPEN_WIDGETS.changed.emit()

    def _disconnect(self) -> None:
        """Leave no callback behind when the dock is closed."""
        self._alive = False
        self._pending = False
        OperationWidget._open.discard(self)
        for emitter, callback in self._connections:
            emitter.disconnect(callback)
        disconnect_all(self._layer_connections)
        self._forget_data()
        if self._apply_worker is not None:
            show_info(f"{self.operation.display_name}: Apply stopped, its dock was closed")
        for worker in (self._worker, self._apply_worker):
            if worker is not None:
                worker.quit()
        # the preview goes with its dock (Apply keeps results), as a closed ImageJ dialog's
        self._drop_preview()
        OPEN_WIDGETS.changed.emit()

    # --- inputs and parameters ------------------------------------------------------

    def _layer_choices(self, _widget=None) -> list[tuple[str, Layer]]:
        op = self.operation
        labels = op.category in ("project", "transform")  # (a flip of labels is labels)
        # a projection takes an axis away: stacks only (napari's ndim counts no colours)
        axes = 3 if op.category == "project" else 2
        return [
            (layer.name, layer)
            for layer in self.viewer.layers
            if accepts(layer, op.input_kind, op.accepts_rgb, labels=labels) and layer.ndim >= axes
        ]

    def reset_choices(self, *_) -> None:
        """Refresh the pickers, keeping the chosen layer (napari calls it on renames).

        Not once closed: napari still calls it when the closing dock removes its
        preview, and at exit Qt may have deleted the drop-downs' parts already.
        """
        if self._alive:
            self._refresh_choices()

    def _refresh_choices(self, event=None) -> None:
        reset_all_keeping(self)
        if self._input.value is None:  # the input was removed: take another layer
            self._select_default_input()

    def _select_default_input(self) -> None:
        active = self.viewer.layers.selection.active
        choices = [layer for _, layer in self._layer_choices()]
        if active in choices:
            self._input.value = active
        elif choices:
            self._input.value = choices[-1]
        else:
            self._on_input_changed()

    @classmethod
    def open_widgets(cls, viewer, operation: str | None = None) -> list["OperationWidget"]:
        """The open operation widgets of ``viewer`` (of one operation, if named)."""
        viewer = getattr(viewer, "__wrapped__", viewer)
        return [
            w
            for w in list(cls._open)
            if w._alive and w.viewer is viewer and operation in (None, w.operation.name)
        ]

    @property
    def input_names(self) -> list[str]:
        """Names of the layers the input picker offers."""
        return [layer.name for layer in self._input.choices if layer is not None]

    @property
    def input_layer(self) -> Layer | None:
        """The layer the operation reads."""
        return self._input.value

    @input_layer.setter
    def input_layer(self, layer: Layer) -> None:
        self._input.value = layer

    def parameters(self) -> dict[str, Any]:
        """Current parameter values, as the core expects them."""
        values = {p.name: read_value(p, self._controls[p.name]) for p in self.operation.parameters}
        for name, to_layer in self._size_to_layer.items():
            if to_layer == self._fixed_factors.get(name) and values[name] is not None:
                values[name] = from_shown(values[name], to_layer)  # (0.1 ×1e-02: 0.001)
            elif to_layer != 1.0 and values[name] is not None:
                values[name] *= to_layer
        layer = self.input_layer
        for p in self.operation.parameters:
            if p.active_when is not None and values[p.active_when[0]] != p.active_when[1]:
                values[p.name] = None
            elif p.in_plane and layer is not None:
                # (recorded per axis: the core would read one step as every axis)
                values[p.name] = in_plane_values(values[p.name], layer.ndim)
        return values

    def _axis_choices(self, _widget=None) -> list[tuple[str, int]]:
        """The input's axes by name (``"t"``, ``"z"``...), counted from the last (-1 = x)."""
        layer = self.input_layer if hasattr(self, "_input") else None
        names = axis_names(self.viewer, layer) if layer is not None else ["z", "y", "x"]
        return [(name, axis - len(names)) for axis, name in enumerate(names)]

    def _update_enabled(self, _value=None) -> None:
        for p in self.operation.parameters:
            if p.active_when is not None:
                name, wanted = p.active_when
                control, active = self._controls[p.name], self._controls[name].value == wanted
                control.enabled = active
                # (magicgui disables a slider's handle only: its number box stays editable)
                control.native.setEnabled(active)

    def set_parameters(self, **values) -> None:
        """Set controls by parameter name, sizes in layer units (each schedules a preview).

        Axes count from the first (0) or the last (-1) of the input's axes.
        """
        for name, value in values.items():
            axis = self.operation.parameter(name).ndim_range == "axis"
            if axis and self.input_layer is not None and value >= 0:
                value -= self.input_layer.ndim  # (the drop-down's axes count from the last)
            hold(self._controls[name], self._shown(name, value))  # (a size past the slider)

    def _shown(self, name: str, value):
        """``value`` of parameter ``name`` as its control shows it (sizes in its unit)."""
        to_layer = self._size_to_layer.get(name, 1.0)
        if to_layer == self._fixed_factors.get(name):
            return to_shown(value, to_layer)
        return value / to_layer if to_layer != 1.0 else value

    def _show_computed_threshold(self, request: Request) -> None:
        """Show an automatic method's threshold on the (greyed) value slider, as Fiji does.

        Switching to manual then starts from it. Shown without a new preview; the
        docks that follow the widget are told (``OPEN_WIDGETS.threshold_computed``).
        """
        if "value" not in self._controls or request.parameters.get("method") in (None, "manual"):
            return
        computed = self.computed_threshold(request.parameters)
        if computed is None:
            return
        control = self._controls["value"]
        shown = min(max(self._shown("value", computed), control.min), control.max)
        with control.changed.blocked():
            control.value = shown
        OPEN_WIDGETS.threshold_computed.emit(self)

    def computed_threshold(self, parameters: dict) -> float | None:
        """The automatic threshold of ``parameters`` on the input, if a preview computed it.

        The histogram's threshold line reads it rather than computing it again
        over the whole stack. None when not (yet) computed for the input's data.
        """
        layer = self.input_layer
        if layer is None or self._cache_owner is None:
            return None
        if self._cache_owner() is not self._input_array(layer):
            return None  # (numbers of data the layer no longer holds)
        computed = self._prepare_cache.get(_cache_key(parameters))
        value = None if computed is None else computed.get("value")
        return None if value is None else float(value)

    @property
    def previewing(self) -> bool:
        """Whether the live preview is on (its results come without asking)."""
        return bool(self._alive and self._preview.value)

    def _on_input_changed(self, _value=None) -> None:
        layer = self.input_layer
        nsp = len(spatial_scale(layer)) if layer is not None else 2  # (t, channels: batch)
        self._fit_sizes(layer)
        self._fit_data_ranges(layer)
        for parameter in self.operation.parameters:
            control = self._controls[parameter.name]
            if parameter.ndim_range == "axis":
                reset_keeping(control)
                # axes count from the last (a projection's default, -3, is the axis
                # before y: z of a t,z,y,x stack); a 2D layer has no third-last axis
                ndim = layer.ndim if layer is not None else 2
                control.value = max(parameter.default, -ndim)
            elif parameter.ndim_range is not None and layer is not None:
                control.min, control.max = 1, nsp
                control.value = min(max(control.value, 1), nsp)
            elif parameter.kind == "ints" and layer is not None:
                # per-axis numbers for more axes than the new input has (a stack's crop
                # bounds, then a plane): the default again, not an error for each preview
                with contextlib.suppress(ValueError):
                    value = read_value(parameter, control)
                    if isinstance(value, list) and len(value) > layer.ndim:
                        control.value = "" if parameter.default is None else str(
                            parameter.default
                        )
        self._name_axes()
        self._drop_preview()
        self._status.value = ""  # (an error of the previous input)
        self._forget_data()  # a new input: its numbers are computed afresh
        self._watch(layer)
        OPEN_WIDGETS.changed.emit()
        self.schedule()

    def _name_axes(self) -> None:
        """Per-axis boxes say in their tooltips which axes their numbers are for."""
        layer = self.input_layer
        names = axis_names(self.viewer, layer) if layer is not None else None
        for parameter in self.operation.parameters:
            if parameter.kind == "ints":
                self._controls[parameter.name].tooltip = ints_tooltip(parameter, names)

    def _forget_data(self) -> None:
        """Drop what was kept about the input's data (histogram, labels of the stack)."""
        self._cache_owner, self._prepare_cache, self._data_store = None, {}, {}

    def _watch(self, layer: Layer | None) -> None:
        """Follow edits of ``layer``'s data (painting, or data replaced) and its geometry."""
        disconnect_all(self._layer_connections)
        if layer is None:
            return
        # (painting, and its undo: a preview of the painted labels follows both)
        self._layer_connections += connect_edits(layer, weak_callback(self._on_data_edited))
        moved = weak_callback(self._on_geometry)  # the preview overlays the input
        for name, callback in (
            ("scale", moved), ("translate", moved), ("units", moved), ("rotate", moved),
            ("shear", moved), ("affine", moved), ("axis_labels", weak_callback(self._on_renamed)),
            ("name", weak_callback(self._on_input_named)),
        ):
            emitter = getattr(layer.events, name, None)
            if emitter is not None:
                emitter.connect(callback)
                self._layer_connections.append((emitter, callback))

    def _on_data_edited(self, event=None) -> None:
        self._forget_data()
        if getattr(event, "type", None) == "data":  # new data (not a brush stroke)
            self._fit_data_ranges(self.input_layer)  # (docks follow the value: not blocked)
        self.schedule()

    def _fit_data_ranges(self, layer: Layer | None) -> None:
        """Sliders over the data's values (a manual threshold) span the layer's finite range.

        Values beyond a slider's few decimals (1e-5, 1e7) are shown divided by a
        power of ten, named in the label and multiplied back by :meth:`parameters`.
        """
        if layer is None:
            return
        for parameter in self.operation.parameters:
            if not parameter.from_data:
                continue
            control = self._controls[parameter.name]
            current = control.value * self._size_to_layer.get(parameter.name, 1.0)
            low, high = data_range(layer_data(layer), has_alpha(layer))
            factor = data_factor(low, high)
            self._size_to_layer[parameter.name] = factor
            # a power of ten: values read back as shown (3e-05, not 2.9999999999999997e-05)
            self._fixed_factors[parameter.name] = factor
            control.label = parameter.name.replace("_", " ") + factor_text(factor)
            self._fit_width()
            low, high, current = low / factor, high / factor, current / factor
            set_range(control, low, high, (high - low) / 200)
            low, high = control.min, control.max  # (as the slider rounded them)
            # a value beyond the new range (all or nothing) starts from its middle
            control.value = current if low < current < high else (low + high) / 2

    def _fit_width(self) -> None:
        """Keep the dock wide enough for its labels (with units) and usable sliders.

        napari gives a dock its minimum width: in the default window a slider
        shrank to its handle and "radius (mm)" lost its unit.
        """
        metrics = QFontMetrics(self.native.font())
        labels = [self._input.label, *(control.label for control in self._controls.values())]
        widest = max(metrics.horizontalAdvance(text) for text in labels)
        self.contents.setMinimumWidth(widest + _SLIDER_AND_VALUE_WIDTH)

    def _fit_sizes(self, layer: Layer | None) -> None:
        """Units in the labels; size sliders over their pixel range in the layer's unit.

        The size in pixels stays as it was (a new layer, or a new voxel size).
        Pixels too small or large for the sliders' numbers (sizes in m) are shown
        as pixels and converted to the layer's unit by :meth:`parameters`.
        """
        unit = length_unit(layer)
        spacing = spatial_scale(layer) if layer is not None else None
        self._fitted_for = None if spacing is None else (unit, tuple(spacing))
        nsp = len(spacing) if spacing is not None else 2
        in_pixels = shown_in_pixels(spacing)
        for parameter in self.operation.parameters:
            if parameter.from_data:  # (its range and label: _fit_data_ranges)
                continue
            control = self._controls[parameter.name]
            factor = size_factor(parameter, spacing)
            fixed = self._fixed_factors.get(parameter.name, 1.0)
            control.label = unit_label(
                parameter, "px" if in_pixels and factor is not None else unit, nsp
            ) + factor_text(fixed)
            shown = 1.0 if in_pixels or factor is None else factor
            self._size_to_layer[parameter.name] = factor if in_pixels and factor else fixed
            previous = self._size_factors.get(parameter.name, 1.0)
            if factor is not None and shown != previous:
                # the size in pixels as the user set it (the slider rounds what it shows)
                pixels = self._size_pixels.get(parameter.name, control.value / previous)
                with control.changed.blocked():  # (one preview, scheduled by the caller)
                    set_size_range(parameter, control, shown, pixels)
                self._size_factors[parameter.name] = shown
                self._size_pixels[parameter.name] = pixels
        self._fit_width()

    def _remember_size(self, name: str, value) -> None:
        self._size_pixels[name] = value / self._size_factors.get(name, 1.0)

    def _on_renamed(self, event=None) -> None:
        """The input's axes were named (a z axis became frames): sizes, axes, numbers anew."""
        self._forget_data()
        nsp = len(spatial_scale(self.input_layer)) if self.input_layer is not None else 2
        for parameter in self.operation.parameters:
            control = self._controls[parameter.name]
            if parameter.ndim_range == "axis":
                reset_keeping(control)
            elif parameter.ndim_range == "spatial":  # (connectivity: up to the spatial axes)
                control.max = nsp
        self._name_axes()
        self._on_geometry()

    def _on_input_named(self, event=None) -> None:
        """The preview follows its input's new name ("<input> <operation>")."""
        layer, preview = self.input_layer, self.preview_layer
        if layer is not None and preview is not None and preview in self.viewer.layers:
            preview.name = f"{layer.name} {self.operation.name}"

    def _on_geometry(self, event=None) -> None:
        self._fit_sizes(self.input_layer)
        if self._preview.value:
            self.schedule()

    def _on_preview_toggled(self, on: bool) -> None:
        if on:
            self.schedule()
        else:
            # as Fiji's Preview box: the image alone again, not values the sliders left
            self._generation += 1  # (a preview computing now is not shown)
            self._pending = False  # (nor are newer values waiting for it)
            self._drop_preview()
            self._status.value = ""
            self._forget_data()  # free what was kept of the stack (runs, blurred planes)

    def _on_dims(self, event=None) -> None:
        if self._preview.value and self.input_layer is not None and self.input_layer.ndim > 2:
            self.schedule()

    # --- requests ---------------------------------------------------------------

    def _spacing(self, layer: Layer) -> tuple[float, ...] | None:
        if not (self.operation.uses_spacing or self.operation.needs_spacing):
            return None
        return spatial_scale(layer)

    def _displayed_index(self, layer: Layer, parameters: dict) -> tuple[int, ...] | None:
        """Indices of the non-displayed axes when only one plane needs computing."""
        data = layer_data(layer)
        if self.viewer.dims.ndisplay != 2 or data.ndim < 3 or getattr(layer, "rgb", False):
            return None  # (an RGB image's last axis is its colour: computed whole)
        if tuple(self.viewer.dims.displayed)[-2:] != (
            self.viewer.dims.ndim - 2,
            self.viewer.dims.ndim - 1,
        ):
            return None  # axes rolled: compute everything
        if not plane_previewable(self.operation, parameters, data, self._spacing(layer)):
            return None
        position = layer.world_to_data(self.viewer.dims.point)
        shape = data.shape
        if self.operation.output_plane is not None:  # the result's own pixel grid
            nsp = len(spatial_scale(layer))
            scale, translate = output_geometry(
                self.operation, parameters, shape, layer.scale, layer.translate, nsp
            )
            position = [
                (p * s + t - t_out) / s_out
                for p, s, t, s_out, t_out in zip(
                    position, layer.scale, layer.translate, scale, translate, strict=True
                )
            ]
            shape = output_shape(self.operation, parameters, shape, layer.scale, nsp)
        return tuple(
            int(np.clip(np.round(p), 0, n - 1))
            for p, n in zip(position[: data.ndim - 2], shape[:-2], strict=True)
        )

    def _make_request(self, whole: bool = False) -> Request | None:
        layer = self.input_layer
        if layer is None:
            return None
        # (as the core says it: a stack of no planes failed later, an IndexError of planes)
        check_header(self._input_array(layer))
        if self._fitted_for != (length_unit(layer), tuple(spatial_scale(layer))):
            # a new voxel size whose own event has not come yet (napari's dims, moved
            # first, ask for a preview): the sizes kept in pixels, not the old numbers
            self._fit_sizes(layer)
        parameters = self.operation.bind(self.parameters())  # raises naming the parameter
        parameters = for_kind(parameters, "labels" if isinstance(layer, Labels) else "image")
        index = None if whole else self._displayed_index(layer, parameters)
        volume = None if whole or index is not None else self._displayed_volume(layer)
        return Request(
            self._generation, layer, parameters, self._spacing(layer), index, volume=volume,
            geometry=_snapshot(layer),
        )

    def _displayed_volume(self, layer: Layer) -> tuple[int, ...] | None:
        """In 3D display, the indices of the axes before the shown volume (time, channel).

        None when there are none, or the displayed axes are not the last three.
        """
        data = layer_data(layer)
        lead = layer.ndim - 3
        dims = self.viewer.dims
        if dims.ndisplay != 3 or lead < 1 or tuple(dims.displayed)[-3:] != tuple(
            range(dims.ndim - 3, dims.ndim)
        ):
            return None
        if not volume_previewable(self.operation):  # (a projection along t: all of it)
            return None
        position = layer.world_to_data(dims.point)
        return tuple(
            int(np.clip(np.round(p), 0, n - 1))
            for p, n in zip(position[:lead], data.shape[:lead], strict=True)
        )

    def _input_array(self, layer: Layer):
        data = layer_data(layer)
        if self.operation.input_kind == "mask" and np.dtype(data.dtype) != bool:
            if self._mask_view is None or self._mask_view.data is not data:
                self._mask_view = NonzeroView(data)  # one view per data: stable cache keys
            return self._mask_view
        return data

    # --- preview ------------------------------------------------------------------

    def schedule(self, _value=None) -> None:
        """Ask for a preview with the current state; the latest request wins."""
        if not self._alive or not self._preview.value:
            return
        self._generation += 1
        if self._worker is None:
            if not self._start_queued:
                # one turn of the event loop later: a viewer closing (its layers removed
                # one by one, each moving the dims) has taken the input away by then
                self._start_queued = True
                QTimer.singleShot(0, weak_callback(self._queued_start))
        else:
            self._pending = True
            if self._worker_in_slabs:  # a whole volume: stop it at the next slab
                self._worker.quit()

    def _queued_start(self) -> None:
        self._start_queued = False
        if not self._alive or self._worker is not None:
            return
        try:
            layer, on = self.input_layer, self._preview.value
        except RuntimeError:  # (its Qt widgets deleted: the viewer closed meanwhile)
            return
        if on and layer is not None and layer in self.viewer.layers:
            self._start_preview()

    def _start_preview(self) -> None:
        try:
            request = self._make_request()
        except (ValueError, TypeError) as error:
            self._preview_failed(error)
            return
        if request is None:
            return
        data = self._input_array(request.layer)
        part = _shown_part(data, request)
        slabs = self._slab_count(request, part)
        if slabs > 1:  # a whole volume: in slabs, with progress, stopped by newer requests
            args = (self.operation, part, request.parameters, request.spacing)
            worker = create_worker(
                _slabs_in_worker,
                *args,
                _start_thread=False,
                _ignore_errors=True,
                _progress={"total": slabs, "desc": f"Preview of {self.operation.display_name}"},
            )
        else:
            worker = create_worker(
                self._compute, request, data, _start_thread=False, _ignore_errors=True
            )
        worker.returned.connect(lambda result, r=request: self._show_preview(r, result))
        worker.errored.connect(lambda error, r=request: self._preview_failed(error, r))
        worker.finished.connect(self._on_preview_finished)
        self._worker = worker
        self._status.value = "computing…"
        worker.start()

    @property
    def _worker_in_slabs(self) -> bool:
        """Whether the running preview computes a whole volume slab by slab."""
        return isinstance(self._worker, GeneratorWorker)

    def _slab_count(self, request: Request, data) -> int:
        """How many slabs a whole-volume preview takes (1: computed in one piece)."""
        if request.index is not None or self.operation.prepare is not None:
            return 1
        return count_slabs(self.operation, data, request.parameters, request.spacing)

    def _store(self, data) -> dict:
        """The dict of numbers kept for ``data`` (emptied when the data read changes)."""
        if self._cache_owner is None or self._cache_owner() is not data:
            self._cache_owner = weakref.ref(data)
            self._prepare_cache, self._data_store = {}, {}
        return self._data_store

    def _prepared(self, data, parameters: dict) -> dict:
        """Whole-image numbers (an automatic threshold), kept per input and setting.

        A few settings are kept, so that going back and forth between methods
        costs nothing the second time; the caches empty when the data read changes.
        """
        self._store(data)
        key = _cache_key(parameters)
        value = self._prepare_cache.pop(key, None)
        if value is None:  # (the data read only when the kept histogram does not serve)
            value = self.operation.prepare(data, parameters, self._data_store)
        self._prepare_cache[key] = value  # most recent last
        while len(self._prepare_cache) > PREPARE_CACHE_SIZE:
            del self._prepare_cache[next(iter(self._prepare_cache))]
        return value

    def _compute(self, request: Request, data) -> np.ndarray:
        if self.operation.prepare is not None:
            parameters = self._prepared(data, request.parameters)  # (of the whole data)
            # pixel-wise now: the part shown alone is read (one plane of a lazy stack)
            part = _shown_part(data, request) if request.index is None else data[request.index]
            return np.asarray(self.operation(np.asarray(part), **parameters))
        if request.index is None:
            part = np.asarray(_shown_part(data, request))
            return np.asarray(
                self.operation(part, spacing=request.spacing, **request.parameters)
            )
        return compute_plane(
            self.operation,
            data,
            request.parameters,
            request.index,
            request.spacing,
            self._store(data),
        )

    def _on_preview_finished(self) -> None:
        self._worker = None
        if not self._alive:
            return
        if self._pending:
            self._pending = False
            if self._preview.value:
                self._start_preview()
        elif not self._status.value.startswith("error"):
            self._status.value = ""

    def _preview_failed(self, error: Exception, request: Request | None = None) -> None:
        """Report the error and take the preview away: it showed the previous values.

        Not the error of a stale ``request``: the newer one pending tells its own.
        """
        if not self._alive:
            return
        if request is not None and (
            request.generation != self._generation or request.layer is not self.input_layer
        ):
            return
        self._report(error)
        self._drop_preview()
        OPEN_WIDGETS.threshold_computed.emit(self)  # (none: a line that waits goes)

    def _drop_preview(self) -> None:
        if self.preview_layer is not None and self.preview_layer in self.viewer.layers:
            with keeping_point(self.viewer):  # (a resampled preview's finer z steps)
                self.viewer.layers.remove(self.preview_layer)
        self.preview_layer = self._preview_array = None

    def _show_preview(self, request: Request, result: np.ndarray) -> None:
        if not self._alive:
            return
        layer = request.layer
        if request.generation != self._generation or layer is not self.input_layer:
            return  # stale: a newer request is pending or the input changed
        if layer not in self.viewer.layers:
            return
        shown = request.index if request.index is not None else request.volume
        if shown is not None:  # one plane, or one volume of a time-lapse: its place
            result = result.reshape((1,) * len(shown) + result.shape)
        scale, translate, units, labels = self._result_geometry(request, result)
        if shown is not None:
            translate = tuple(
                t + s * (shown[axis] if axis < len(shown) else 0)
                for axis, (t, s) in enumerate(zip(translate, scale, strict=True))
            )
        self._update_preview_layer(
            layer, result, scale, translate, request.index is not None, units, labels,
            request.parameters,
        )
        self._show_computed_threshold(request)

    def _replace_preview_data(self, layer: Layer, data: np.ndarray, plane: bool) -> None:
        """Show ``data`` in the preview layer, in place when it is one plane.

        Assigning ``layer.data`` re-runs the viewer's dims and extent updates and
        the layer's own (~15 ms on every preview) although a plane keeps its
        shape: a plane preview of a stack, or the preview of a 2D image, is
        copied into an array the widget made for the layer (never a view of the
        input) and redrawn without recomputing the extent, which the shape
        fixes (docks do not follow preview layers). Whole volumes are assigned:
        copying them would cost more than the updates.
        """
        rgb = int(bool(getattr(layer, "rgb", False)))
        one_plane = plane or math.prod(data.shape[: data.ndim - 2 - rgb]) == 1
        own = self._preview_array
        if one_plane and layer.data is own and (own.shape, own.dtype) == (data.shape, data.dtype):
            np.copyto(own, data)
            layer.refresh(**_REFRESH_KEEPING_EXTENT)
            return
        self._preview_array = np.array(data) if one_plane else None
        layer.data = data if self._preview_array is None else self._preview_array

    def _result_kind(self, source: Layer, parameters: dict) -> str:
        """"image" or "labels": the maximum or minimum projection of labels is labels."""
        kind = "labels" if isinstance(source, Labels) else "image"
        return result_kind(self.operation, parameters, kind)

    def _update_preview_layer(
        self, source: Layer, result, scale, translate, plane=False, units=None, labels=None,
        parameters=None,
    ) -> None:
        kind = self._result_kind(source, parameters or {})
        name = f"{source.name} {self.operation.name}"
        current = self.preview_layer
        data, shown_scale, shown_translate = for_display(result, kind, source, scale, translate)
        fits = (
            current is not None
            and current in self.viewer.layers
            and current.ndim == data.ndim - bool(getattr(current, "rgb", False))
            and isinstance(current, Image) == (kind == "image")
        )
        if fits:
            self._replace_preview_data(current, data, plane)
            # Axes renamed (a projection along another axis) are set in place:
            # replacing the layer costs napari's garbage collection (~150 ms).
            axes = result_axes(source, len(scale), len(shown_scale), units, labels)
            if "units" in axes and tuple(current.units) == pint_units(axes["units"]):
                del axes["units"]
            for attribute, value in axes.items():
                if tuple(getattr(current, attribute)) != tuple(value):
                    setattr(current, attribute, value)
            scale = shown_scale
            translate, orientation = oriented(source, shown_scale, shown_translate)
            for attribute, value in orientation.items():  # (the input turned since)
                shown = transform_matrix(getattr(current, attribute))
                if not np.allclose(shown, transform_matrix(value)):
                    setattr(current, attribute, value)
            # Each geometry assignment re-runs napari's dims and transform updates
            # (~15 ms each), even with equal values: assign only what changed.
            if not np.array_equal(current.scale, scale):
                current.scale = scale
            if not np.array_equal(current.translate, translate):
                current.translate = translate
                bring_into_view(self.viewer, current)  # (now a side view, below)
            current.name = name
            if kind == "image":
                _reset_contrast_limits(current, result)
            OPEN_WIDGETS.preview_shown.emit(current)
            return
        if current is not None and current in self.viewer.layers:
            self.viewer.layers.remove(current)
        selection = self.viewer.layers.selection
        active, selected = selection.active, set(selection)
        # marked as a preview from its insertion on, so that docks following new
        # layers (the histogram) never take it for the user's
        self.preview_layer = add_result(
            self.viewer, result, kind, source, name, scale=scale, translate=translate,
            units=units, axis_labels=labels, metadata={PREVIEW_KEY: True},
        )
        # napari selects a new layer: give the user's selection back, even an empty one
        selection.clear()
        selection.update(selected)
        if active is not None:
            selection.active = active

    def _result_geometry(self, request: Request, result: np.ndarray) -> tuple:
        """Scale, translate, units and axis labels of the result (of a plane: of its stack).

        The units and labels are the input's, less a projected axis' (labels:
        None when a registered function changed the axes).
        """
        scale, translate = self._geometry(request)
        units, labels = (
            output_axes(self.operation, request.parameters, request.geometry[kind], kind)
            for kind in ("units", "labels")
        )
        if request.index is None:  # (a registered function may add or drop axes)
            scale, translate, units = fit_axes(result, request.layer, scale, translate, units)
            labels = trailing(labels, len(scale), None)  # (as a replay names them)
        return scale, translate, units, labels

    def _geometry(self, request: Request) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Scale and translate of the result, so that it overlays its input (as asked)."""
        g = request.geometry
        return output_geometry(
            self.operation, request.parameters, g["shape"], g["scale"], g["translate"], g["nsp"]
        )

    def _report(self, error: Exception) -> None:
        if not self._alive:
            return
        text = self._axis_named(error)
        self._status.value = f"error: {text}"
        show_error(f"{self.operation.display_name}: {text}")

    def _axis_named(self, error: Exception) -> str:
        """:func:`error_text`, naming the axis the error is about (``axis 0``: channel)."""
        text, axis, layer = error_text(error), getattr(error, "axis", None), self.input_layer
        if not isinstance(axis, int) or layer is None or not -layer.ndim <= axis < layer.ndim:
            return text
        return text.replace(f"axis {axis}", axis_names(self.viewer, layer)[axis], 1)

    # --- apply ----------------------------------------------------------------------

    def apply(self, _value=None) -> None:
        """Compute the whole data (with progress) and keep it as a new layer."""
        if self._apply_worker is not None:
            show_info(f"{self.operation.display_name}: Apply is running (Cancel it first)")
            return
        try:
            request = self._make_request(whole=True)
        except (ValueError, TypeError) as error:
            self._report(error)
            return
        if request is None:
            show_info("Choose an input layer first.")
            return
        data = self._input_array(request.layer)
        args = (self.operation, data, request.parameters, request.spacing)
        worker = create_worker(
            _slabs_in_worker,
            *args,
            _start_thread=False,
            _ignore_errors=True,
            _progress={
                "total": count_slabs(*args),
                "desc": f"{self.operation.display_name} on {request.layer.name}",
            },
        )
        recorder = recorder_for(self.viewer)
        after = recorder.start_reading(request.layer)  # (steps recorded meanwhile come after)
        worker.returned.connect(lambda result, r=request: self._keep(r, result, after))
        worker.errored.connect(self._report)
        worker.finished.connect(lambda: recorder.done_reading(request.layer))
        worker.finished.connect(self._on_apply_finished)
        self._apply_worker = worker
        self._apply.enabled, self._cancel.enabled = False, True
        worker.start()

    def _keep(self, request: Request, result: np.ndarray, after=LAST) -> Layer | None:
        layer = request.layer
        if not self._alive:
            return None
        if layer not in self.viewer.layers:
            self._status.value = f"Apply dropped: {layer.name!r} was removed"
            show_info(f"{self.operation.display_name}: {self._status.value}")
            return None
        scale, translate, units, labels = self._result_geometry(request, result)
        kind = self._result_kind(layer, request.parameters)
        kept = add_result(
            self.viewer,
            result,
            kind,
            layer,
            f"{layer.name} {self.operation.name}",
            scale=scale,
            translate=translate,
            units=units,
            axis_labels=labels,
        )
        preview, layers = self.preview_layer, self.viewer.layers
        if preview in layers and layers.index(kept) > layers.index(preview):
            # under the live preview, which stays on top following the sliders (else the
            # picture froze at the applied values)
            layers.move(layers.index(kept), layers.index(preview))
        record_applied(
            self.viewer, self.operation, request.parameters, layer, kept, request.spacing, after
        )
        return kept

    def cancel(self, _value=None) -> None:
        """Stop a running Apply between two slabs."""
        if self._apply_worker is not None:
            self._apply_worker.quit()
            self._status.value = "Apply cancelled"

    def _on_apply_finished(self) -> None:
        self._apply_worker = None
        if self._alive:
            self._apply.enabled, self._cancel.enabled = True, False

    def close(self) -> None:
        """Disconnect from the viewer, stop workers, and close the widget."""
        self._lifetime.close()
        super().close()

    @property
    def busy(self) -> bool:
        """True while a preview or an Apply is computing (or about to start)."""
        return self._worker is not None or self._start_queued or self.applying

    @property
    def applying(self) -> bool:
        """True while an Apply is computing."""
        return self._apply_worker is not None


def _snapshot(layer: Layer) -> dict[str, Any]:
    """What places a result over ``layer``, as it is now (see :attr:`Request.geometry`)."""
    return {
        "shape": layer_data(layer).shape,
        "scale": tuple(layer.scale),
        "translate": tuple(layer.translate),
        "units": tuple(layer.units),
        "labels": tuple(layer.axis_labels),
        "nsp": len(spatial_scale(layer)),
    }


def _reset_contrast_limits(layer: Image, result) -> None:
    """The preview's contrast limits from the values just computed.

    napari measures the slice it shows; a hidden layer (its eye unticked, or
    under the Compare curtain) shows none, and napari fell back to 0..1: white
    once shown again. ``result`` is what was computed (the plane shown, or all).
    """
    if layer.visible or getattr(layer, "rgb", False):
        layer.reset_contrast_limits()
        return
    extremes = finite_extremes(result)
    if extremes is None:
        return
    low, high = (float(v) for v in extremes)
    if low == high:
        high = low + 1.0  # (napari's limits of a constant image)
    set_contrast_limits(layer, low, high)


class OperationError(Exception):
    """An operation's RuntimeError (or NotImplementedError) raised in a worker."""

    tells_its_type = True  # (its message starts with the error's type)


def _slabs_in_worker(*args):
    """:func:`compute_slabs` for a ``GeneratorWorker``.

    superqt takes a RuntimeError out of a worker's generator for a deleted
    worker: it emits neither ``errored`` nor ``finished``, so the dock stayed
    busy for good (a user's function raising NotImplementedError). Such errors
    leave as :class:`OperationError`, named.
    """
    try:
        return (yield from compute_slabs(*args))
    except RuntimeError as error:
        raise OperationError(f"{type(error).__name__}: {error}") from error


def _shown_part(data, request: Request):
    """The volume shown in 3D display (one time point), or all ``data`` (views, lazily)."""
    if request.volume is None:
        return data
    if isinstance(data, NonzeroView):  # (converted in the worker, as planes are)
        return NonzeroView(data.data[request.volume])
    return data[request.volume]


