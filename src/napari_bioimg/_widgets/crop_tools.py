"""Crop to a drawn rectangle or to the view, subsample and flip, from one dock.

Every result keeps its physical position (scale and translate from
:func:`~napari_bioimg.ops.planes.output_geometry`), so it overlays the original,
and every Apply is recorded like any other operation, for pipelines.
"""

import math
import weakref
from functools import partial

import napari
import numpy as np
from magicgui import widgets
from napari.layers import Image, Labels, Layer, Shapes
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info

from ..ops.planes import output_geometry
from ..ops.registry import Operation, get_operation
from ..pipeline.core import error_text
from ._axes import axis_names
from ._dock import DockContainer, keep_narrow
from ._layers import add_result, is_preview, layer_data, reset_keeping, spatial_scale
from ._lifetime import DockLifetime, disconnect_all, disconnector, weak_callback
from ._recorder import LAST, record_applied, recorder_for

__all__ = ["REGIONS", "CropWidget"]

REGIONS = ("rectangle", "view", "z range only")
RECTANGLE_LAYER = "crop rectangle"
# Rectangle corners come back from world_to_data with rounding noise: napari keeps
# Shapes data in float32 (a corner on pixel 123's centre reads 123.0000031).
_TOLERANCE = 1e-4


def _compute(operation: Operation, parameters: list[dict], arrays: list) -> list[np.ndarray]:
    # (a crop of a lazy stack reads only its region: ops.crop slices it first)
    return [np.asarray(operation(a, **p)) for a, p in zip(arrays, parameters, strict=True)]


class CropWidget(DockContainer):
    """Crop, subsample and flip the chosen layer (optionally all layers of its shape).

    Crop keeps the pixels whose centres lie inside the region: the last
    rectangle of the rectangle layer (the selected one, if any), the part of the
    image in view, and in 3D the z range (first and last plane, inclusive).
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(labels=True)
        # napari hands plugins a proxy that re-wraps layers; compare by identity.
        self.viewer = getattr(viewer, "__wrapped__", viewer)
        self._worker = None
        self._told_rotated: set = set()  # rectangles said to be rotated (once each)

        self._layer = widgets.ComboBox(label="layer", choices=self._image_choices, nullable=True)
        self._same_shape = widgets.CheckBox(
            text="all layers of this shape", value=False,
            tooltip="Crop, subsample or flip every image and labels layer of the same shape",
        )
        self._region = widgets.RadioButtons(
            label="crop to", choices=REGIONS, value="rectangle", orientation="horizontal"
        )
        self._shapes = widgets.ComboBox(
            label="rectangle in", choices=self._shapes_choices, nullable=True
        )
        self._draw = widgets.PushButton(text="Draw rectangle")
        self._z_first = widgets.SpinBox(label="first z", min=0, max=0)
        self._z_last = widgets.SpinBox(label="last z", min=0, max=0)
        self._crop = widgets.PushButton(text="Crop")
        self._steps = widgets.Container(labels=True, layout="vertical")
        self._subsample = widgets.PushButton(text="Subsample")
        # Callable choices: napari calls reset_choices on docked containers when
        # layers change, which would empty a fixed list.
        self._flip_axis = widgets.ComboBox(label="flip axis", choices=self._axis_choices)
        self._flip = widgets.PushButton(text="Flip")
        self._status = widgets.Label(value="")
        keep_narrow(self._layer, self._shapes, self._status)  # (a long name or message)
        self.extend([
            self._layer, self._same_shape,
            widgets.Label(value="<b>Crop</b>"), self._region, self._shapes, self._draw,
            self._z_first, self._z_last, self._crop,
            widgets.Label(value="<b>Subsample</b> (keep every n-th pixel)"), self._steps,
            self._subsample,
            widgets.Label(value="<b>Flip</b>"), self._flip_axis, self._flip,
            self._status,
        ])

        self._layer.changed.connect(self._on_layer)
        self._draw.clicked.connect(self.draw_rectangle)
        self._crop.clicked.connect(self.crop)
        self._subsample.clicked.connect(self.subsample)
        self._flip.clicked.connect(self.flip)
        self._connections = [
            (self.viewer.layers.events.inserted, self._refresh_choices),
            (self.viewer.layers.events.removed, self._refresh_choices),
        ]
        for emitter, callback in self._connections:
            emitter.connect(callback)
        # the chosen layer's axis names (a stack named frames in the Voxel size dock)
        self._layer_connections: list = []
        # closing the dock (napari keeps the widget) or deleting it lets go of the viewer
        # and stops a crop going on (its result would land from a dock no longer there)
        self._alive = True
        disconnect, owner = disconnector(self._connections, self._layer_connections), (
            weakref.ref(self)
        )

        def close(*_args) -> None:  # (a plain function: see disconnector)
            disconnect()
            if (widget := owner()) is not None:
                widget._stop()

        self._lifetime = DockLifetime(self.native, close)
        active = self.viewer.layers.selection.active
        if active is not None and active in [layer for _, layer in self._image_choices()]:
            self._layer.value = active
        self._on_layer()

    # --- choices ----------------------------------------------------------------

    def _image_choices(self, _widget=None) -> list[tuple[str, Layer]]:
        return [
            (layer.name, layer) for layer in self.viewer.layers
            if isinstance(layer, Image | Labels) and not is_preview(layer)
        ]

    def _shapes_choices(self, _widget=None) -> list[tuple[str, Layer]]:
        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Shapes)]

    def _axis_choices(self, _widget=None) -> list[tuple[str, int]]:
        layer = self.layer if hasattr(self, "_layer") else None
        if layer is None:
            return []
        return [(name, axis) for axis, name in enumerate(axis_names(self.viewer, layer))]

    def reset_choices(self, *_) -> None:
        """Refresh the pickers, keeping the chosen layers (napari calls it on renames)."""
        self._refresh_choices()

    def _refresh_choices(self, event=None) -> None:
        reset_keeping(self._layer)
        reset_keeping(self._shapes)
        reset_keeping(self._flip_axis)
        if self._shapes.value is None:
            shapes = [layer for _, layer in self._shapes_choices()]
            if shapes:
                self._shapes.value = shapes[-1]

    @property
    def layer(self) -> Layer | None:
        """The layer to crop, subsample or flip."""
        return self._layer.value

    @layer.setter
    def layer(self, layer: Layer) -> None:
        self._layer.value = layer

    @property
    def rectangle_layer(self) -> Shapes | None:
        """The Shapes layer whose rectangle the crop uses."""
        return self._shapes.value

    @rectangle_layer.setter
    def rectangle_layer(self, layer: Shapes) -> None:
        self._shapes.value = layer

    def _on_layer(self, _value=None) -> None:
        """Planes, steps and flip axes of the chosen layer (again when its axes are named)."""
        layer = self.layer
        disconnect_all(self._layer_connections)
        if layer is not None:
            callback = weak_callback(self._on_layer)
            layer.events.axis_labels.connect(callback)
            self._layer_connections.append((layer.events.axis_labels, callback))
        ndim = layer.ndim if layer is not None else 2
        stack = layer is not None and len(spatial_scale(layer)) >= 3  # (z: not t, channels)
        depth = layer_data(layer).shape[ndim - 3] if stack else 1
        for spin in (self._z_first, self._z_last):
            spin.visible = stack
            spin.max = max(depth - 1, 0)
        self._z_first.value, self._z_last.value = 0, max(depth - 1, 0)
        names = axis_names(self.viewer, layer) if layer is not None else []
        self._steps.clear()
        self._steps.extend([
            widgets.SpinBox(
                label=f"step {name}", min=1, max=64,
                value=2 if axis >= ndim - 2 else 1,
            )
            for axis, name in enumerate(names)
        ])
        self._flip_axis.reset_choices()
        if names:
            self._flip_axis.value = len(names) - 1

    # --- settings, as plain values ------------------------------------------------

    @property
    def region(self) -> str:
        """What to crop to: one of :data:`REGIONS`."""
        return self._region.value

    @region.setter
    def region(self, value: str) -> None:
        self._region.value = value

    @property
    def z_range(self) -> tuple[int, int]:
        """First and last plane kept (inclusive) along z."""
        return int(self._z_first.value), int(self._z_last.value)

    @z_range.setter
    def z_range(self, value: tuple[int, int]) -> None:
        self._z_first.value, self._z_last.value = value

    @property
    def steps(self) -> list[int]:
        """Subsampling step per axis of the layer."""
        return [int(spin.value) for spin in self._steps]

    @steps.setter
    def steps(self, values) -> None:
        for spin, value in zip(self._steps, values, strict=True):
            spin.value = int(value)

    @property
    def flip_axis(self) -> int:
        """The data axis that Flip reverses."""
        return int(self._flip_axis.value)

    @flip_axis.setter
    def flip_axis(self, axis: int) -> None:
        self._flip_axis.value = int(axis)

    @property
    def all_same_shape(self) -> bool:
        """Whether every image and labels layer of the same shape is processed too."""
        return bool(self._same_shape.value)

    @all_same_shape.setter
    def all_same_shape(self, value: bool) -> None:
        self._same_shape.value = bool(value)

    # --- regions ----------------------------------------------------------------------

    def draw_rectangle(self, _value=None) -> Shapes:
        """Make (or reuse) the rectangle layer and put it in rectangle-drawing mode."""
        shapes = self.rectangle_layer
        if shapes is None or shapes not in self.viewer.layers:
            zoom = float(self.viewer.scene.camera.zoom) or 1.0
            ndim = self.viewer.dims.ndim
            # The layers' own units, lest napari drop units for mixed ones.
            units = self.viewer.layers.extent.units
            extra = {"units": units} if units is not None and len(units) == ndim else {}
            # The layers' step as its scale, as napari's own new-shapes button: at
            # scale 1 the dims slider of a stack with 8.8 mm slices had 212 positions.
            step = tuple(float(v) for v in self.viewer.layers.extent.step)
            shapes = self.viewer.add_shapes(
                name=RECTANGLE_LAYER, ndim=ndim, edge_color="yellow", scale=step,
                face_color="transparent", edge_width=2.0 / zoom / step[-1], **extra,
            )
            self.rectangle_layer = shapes
        self.viewer.layers.selection.active = shapes
        shapes.mode = "add_rectangle"
        self.region = "rectangle"
        return shapes

    def _displayed_axes(self, layer: Layer) -> tuple[int, ...]:
        offset = self.viewer.dims.ndim - layer.ndim
        return tuple(a - offset for a in self.viewer.dims.displayed[-2:] if a - offset >= 0)

    def _bounds_from_world(self, layer: Layer, corners) -> tuple[dict, dict]:
        """Start and stop along the displayed axes of the pixels inside ``corners``."""
        data = np.array([layer.world_to_data(c) for c in corners], dtype=float)
        shape = layer_data(layer).shape
        # float32 corners far from the origin (stage coordinates) are coarser still:
        # half a float32 step of the largest coordinate along the axis, in pixels
        world = np.abs(np.asarray(corners, dtype=float))
        offset = world.shape[1] - layer.ndim
        starts, stops = {}, {}
        for axis in self._displayed_axes(layer):
            low, high = data[:, axis].min(), data[:, axis].max()
            coarse = np.finfo(np.float32).eps / 2 * world[:, axis + offset].max()
            tolerance = _TOLERANCE + coarse / abs(float(layer.scale[axis]))
            starts[axis] = min(max(math.ceil(low - tolerance), 0), shape[axis])
            stops[axis] = min(max(math.floor(high + tolerance) + 1, 0), shape[axis])
        return starts, stops

    def rectangle_bounds(self, layer: Layer, shapes: Shapes) -> tuple[dict, dict]:
        """Start and stop of the displayed axes for the rectangle in ``shapes``.

        The selected rectangle, or else the last one drawn.
        """
        rectangles = [i for i, kind in enumerate(shapes.shape_type) if kind == "rectangle"]
        if not rectangles:
            raise ValueError(f"draw a rectangle in {shapes.name!r} first")
        selected = [i for i in rectangles if i in shapes.selected_data]
        index = (selected or rectangles)[-1]
        corners = [shapes.data_to_world(v) for v in np.asarray(shapes.data[index])]
        corners = self._full_world(corners)
        starts, stops = self._bounds_from_world(layer, corners)
        self._tell_if_rotated(layer, corners, starts, stops)
        return starts, stops

    def _tell_if_rotated(self, layer: Layer, corners, starts: dict, stops: dict) -> None:
        """Say once per rectangle when it is rotated against ``layer``'s pixel grid.

        A crop keeps whole rows and columns: the rectangle's bounding box, which
        holds pixels outside the rectangle (as Fiji's Crop of a rotated rectangle).
        """
        data = np.array([layer.world_to_data(c) for c in corners], dtype=float)
        for axis in self._displayed_axes(layer):
            values = data[:, axis]
            low, high = values.min(), values.max()
            inner = np.minimum(values - low, high - values)  # 0 at the box's sides
            if inner.max() > _TOLERANCE * max(high - low, 1.0):
                key = (layer.name, data.round(3).tobytes())
                if key not in self._told_rotated:
                    self._told_rotated.add(key)
                    size = " × ".join(str(stops[a] - starts[a]) for a in sorted(starts))
                    show_info(
                        f"Crop: the rectangle is rotated against {layer.name!r}'s pixels; "
                        f"its bounding box ({size} pixels) is kept"
                    )
                return

    def view_bounds(self, layer: Layer) -> tuple[dict, dict]:
        """Start and stop of the displayed axes for the part of the canvas in view."""
        if self.viewer.dims.ndisplay != 2:
            raise ValueError("cropping to the view needs the 2D view")
        camera = self.viewer.scene.camera
        size = np.asarray(self.viewer.canvas.viewbox_size(self.viewer.layers), dtype=float)
        half = size / 2 / camera.zoom
        centre = np.asarray(camera.center[-2:], dtype=float)
        corners = [centre + half * np.array(sign) for sign in ((-1, -1), (-1, 1), (1, -1), (1, 1))]
        displayed = self.viewer.dims.displayed[-2:]
        return self._bounds_from_world(layer, self._full_world(corners, displayed))

    def _full_world(self, corners, axes=None) -> list[np.ndarray]:
        """Corners as full world points, the dims point filling the axes they lack.

        ``axes`` names the world axes of the corner values; without it they are
        the last ones (a layer's world coordinates are right-aligned).
        """
        point = np.asarray(self.viewer.dims.point, dtype=float)
        full = []
        for corner in corners:
            corner = np.asarray(corner, dtype=float)
            where = list(axes) if axes is not None else slice(len(point) - len(corner), None)
            world = point.copy()
            world[where] = corner
            full.append(world)
        return full

    def crop_parameters(self, layer: Layer | None = None) -> dict[str, list[int]]:
        """The ``start`` and ``stop`` of the crop for the current settings (plain ints).

        Of the chosen layer, or of ``layer`` (another one of its shape: its own
        pixels in the region, whatever its translate or scale).
        """
        layer = self.layer if layer is None else layer
        if layer is None:
            raise ValueError("choose a layer first")
        shape = layer_data(layer).shape[: layer.ndim]
        start, stop = [0] * len(shape), list(shape)
        has_z = len(spatial_scale(layer)) >= 3  # (not a time-lapse's t, a mask's channels)
        if has_z:
            first, last = sorted(self.z_range)
            if layer is not self.layer and self.layer is not None:  # the same planes in space
                first, last = sorted(_planes_in(self.layer, layer, first, last))
            start[-3], stop[-3] = max(first, 0), min(last + 1, shape[-3])
        if self.region == "rectangle":
            shapes = self.rectangle_layer
            if shapes is None or shapes not in self.viewer.layers:
                raise ValueError("draw a rectangle first (Draw rectangle)")
            starts, stops = self.rectangle_bounds(layer, shapes)
        elif self.region == "view":
            starts, stops = self.view_bounds(layer)
        else:
            if not has_z:
                raise ValueError(f"{layer.name!r} has no z range to crop (it is 2D)")
            starts, stops = {}, {}
        for axis in starts:
            start[axis], stop[axis] = starts[axis], stops[axis]
        names = axis_names(self.viewer, layer)
        for axis, (a, b) in enumerate(zip(start, stop, strict=True)):
            if b <= a:
                raise ValueError(
                    f"the region holds no pixel of {layer.name!r} along {names[axis]}"
                )
        return {"start": [int(v) for v in start], "stop": [int(v) for v in stop]}

    # --- actions ----------------------------------------------------------------------

    def crop(self, _value=None):
        """Crop the layer(s) to the region; returns the worker (None on error)."""
        return self._run("crop", self.crop_parameters)  # (each layer's own pixels)

    def subsample(self, _value=None):
        """Keep every n-th pixel per axis; the scale grows by the step."""
        return self._run("subsample", lambda _layer: {"step": self.steps})

    def flip(self, _value=None):
        """Reverse the chosen axis."""
        return self._run("flip", lambda _layer: {"axis": self.flip_axis})

    def _targets(self, layer: Layer) -> list[Layer]:
        if not self.all_same_shape:
            return [layer]
        shape = layer_data(layer).shape
        return [other for _, other in self._image_choices() if layer_data(other).shape == shape]

    def _run(self, name: str, parameters_of):
        if self.busy:
            return None
        operation = get_operation(name)
        try:
            if self.layer is None:
                raise ValueError("choose a layer first")
            targets = self._targets(self.layer)
            parameters = [operation.bind(parameters_of(layer)) for layer in targets]
        except (ValueError, TypeError) as error:
            self._report(error)
            return None
        arrays = [layer_data(layer) for layer in targets]
        # where each result goes, as the layers are now (a voxel size set meanwhile
        # comes after the step: the result keeps the size it was computed with)
        placed = [
            output_geometry(operation, p, array.shape, layer.scale, layer.translate)
            for layer, p, array in zip(targets, parameters, arrays, strict=True)
        ]
        worker = create_worker(
            _compute, operation, parameters, arrays, _start_thread=False, _ignore_errors=True
        )
        recorder = recorder_for(self.viewer)
        after = [recorder.start_reading(layer) for layer in targets][0]
        worker.returned.connect(
            lambda results: self._keep(operation, parameters, targets, placed, results, after)
        )
        worker.errored.connect(self._report)
        for layer in targets:
            worker.finished.connect(partial(recorder.done_reading, layer))
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._status.value = f"{operation.display_name}…"
        worker.start()
        return worker

    def _stop(self) -> None:
        """The dock closed: stop a crop going on, drop its result."""
        self._alive = False
        if self._worker is not None:
            show_info("Crop: stopped, its dock was closed")
            self._worker.quit()

    def _keep(self, operation: Operation, parameter_list: list, sources: list, placed: list,
              results: list, after=LAST) -> None:
        if not self._alive:
            return
        kept = []
        for source, parameters, (scale, translate), result in zip(
            sources, parameter_list, placed, results, strict=True
        ):
            if source not in self.viewer.layers:
                continue
            kind = "labels" if isinstance(source, Labels) else "image"
            layer = add_result(
                self.viewer, result, kind, source, f"{source.name} {operation.name}",
                scale=scale, translate=translate,
            )
            if kind == "image":
                if not source.rgb:
                    layer.colormap = source.colormap
                layer.contrast_limits = source.contrast_limits
                layer.gamma = source.gamma
            record_applied(self.viewer, operation, parameters, source, layer, after=after)
            after = recorder_for(self.viewer).last()  # (the next layer's step after this one)
            kept.append(layer.name)
        self._status.value = f"made {', '.join(kept)}" if kept else ""

    def _report(self, error: Exception) -> None:
        if not self._alive:
            return
        self._status.value = f"error: {error_text(error)}"
        show_error(f"Crop: {error_text(error)}")

    def _on_finished(self) -> None:
        self._worker = None

    @property
    def busy(self) -> bool:
        """True while a crop, subsample or flip computes."""
        return self._worker is not None


def _planes_in(chosen: Layer, other: Layer, first: int, last: int) -> tuple[int, int]:
    """The planes of ``other`` at the world z of planes ``first`` and ``last`` of ``chosen``."""
    planes = []
    for plane in (first, last):
        point = np.zeros(chosen.ndim)
        point[-3] = plane
        world = np.asarray(chosen.data_to_world(point), dtype=float)
        planes.append(int(round(float(np.asarray(other.world_to_data(world))[-3]))))
    return planes[0], planes[1]
