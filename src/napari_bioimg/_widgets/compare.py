"""Compare results: side by side in napari's grid, or a curtain across two layers.

Side by side shows the chosen layers in one row of napari's grid (one camera,
so zoom and position stay linked), names on, every other layer hidden. The
curtain shows the upper of two layers left of a movable split, the lower one
right of it. Restore puts visibility, grid and camera back as they were.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import napari
import numpy as np
from magicgui import widgets
from napari.layers import Image, Labels, Layer
from napari.utils.notifications import show_error
from qtpy.QtCore import QTimer

from ._dock import DockContainer, keep_narrow
from ._layers import PREVIEW_KEY, is_preview, layer_data, reset_keeping, transform_matrix
from ._lifetime import DockLifetime, weak_callback
from .operation import OPEN_WIDGETS

__all__ = ["CURTAIN_KEY", "CompareWidget"]

CURTAIN_KEY = "napari_bioimg_curtain"
MAX_ROW = 4  # up to this many layers side by side in one row, more in a square-ish grid
# what the curtain takes over from its layer, also when changed while it is on
_DISPLAY = ("contrast_limits", "gamma", "colormap", "opacity", "blending")
# Where a layer lies: the curtain lies where its layer does (a live preview moves with
# the plane shown, a voxel size set later scales it).
_GEOMETRY = ("scale", "translate", "rotate", "shear", "affine", "units")


@dataclass
class _Saved:
    """What compare mode changes, to put back."""

    layers: list[tuple[Layer, bool, bool]] = field(default_factory=list)
    grid: dict[str, Any] = field(default_factory=dict)
    center: tuple[float, ...] = ()
    zoom: float = 1.0


@dataclass
class _Session:
    """What compare mode changed, shared with the handler that undoes it on closing."""

    saved: _Saved | None = None
    curtain: Layer | None = None
    # the upper layer's display events the curtain follows: (emitter, callback)
    following: list = field(default_factory=list)


class CompareWidget(DockContainer):
    """Pick layers; show them side by side or with a curtain; restore.

    With no choice of its own the widget takes the layers selected in the
    layer list (two or more), or else every visible image and labels layer:
    after computing mean, median and Gaussian results of an image, *Side by
    side* alone shows the four in a row.
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(labels=True)  # (the list keeps its height when a message comes)
        # napari hands plugins a proxy that re-wraps layers; compare by identity.
        self.viewer = getattr(viewer, "__wrapped__", viewer)
        self.mode: str | None = None
        self._session = _Session()
        self._pair: tuple[Layer, Layer] | None = None  # upper, lower
        self._side: list[Layer] = []  # the layers side by side
        self._custom_choice = False
        self._updating = False

        self._layers = widgets.Select(
            label="layers", choices=self._choices, allow_multiple=True,
            tooltip="The layers to compare (none chosen: the selected layers, or all visible)",
        )
        self._side_by_side = widgets.PushButton(text="Side by side")
        self._curtain_button = widgets.PushButton(text="Curtain")
        self._split = widgets.FloatSlider(
            label="curtain", min=0.0, max=1.0, step=0.01, value=0.5,
            tooltip="Where the upper layer gives way to the lower one",
        )
        self._restore = widgets.PushButton(text="Restore", enabled=False)
        self._status = widgets.Label(value="")
        keep_narrow(self._layers, self._status)  # (long names, a message naming them)
        buttons = widgets.Container(
            widgets=[self._side_by_side, self._curtain_button, self._restore],
            layout="horizontal", labels=False,
        )
        buttons.margins = (0, 0, 0, 0)
        self.extend([self._layers, buttons, self._split, self._status])

        self._layers.changed.connect(self._on_user_choice)
        self._side_by_side.clicked.connect(self.side_by_side)
        self._curtain_button.clicked.connect(self.curtain)
        self._restore.clicked.connect(self.restore)
        self._split.changed.connect(self._update_curtain)
        self._connections = [
            (self.viewer.layers.events.inserted, self._on_inserted),
            (self.viewer.layers.events.removed, self._on_removed),
            (self.viewer.layers.selection.events.changed, self._refresh_choices),
            (self.viewer.dims.events.order, self._update_curtain),  # (columns: another axis)
        ]
        for emitter, callback in self._connections:
            emitter.connect(callback)
        # Closing the dock (or deleting the widget) also ends compare mode.
        self._lifetime = DockLifetime(
            self.native, _closer(self.viewer, self._connections, self._session)
        )
        self._refresh_choices()

    # --- the choice of layers -------------------------------------------------------

    def _choices(self, _widget=None) -> list[tuple[str, Layer]]:
        return [
            (layer.name, layer) for layer in self.viewer.layers
            if isinstance(layer, Image | Labels) and not layer.metadata.get(CURTAIN_KEY)
        ]

    def _default_choice(self) -> list[Layer]:
        candidates = [layer for _, layer in self._choices()]
        selected = [layer for layer in candidates if layer in self.viewer.layers.selection]
        if len(selected) >= 2:
            return selected
        return [layer for layer in candidates if layer.visible and not is_preview(layer)]

    def reset_choices(self, *_) -> None:
        """Refresh the layer list, keeping the chosen layers (napari calls it on renames)."""
        self._refresh_choices()

    def _refresh_choices(self, event=None) -> None:
        if self.mode is not None:
            return  # our own layer changes while comparing
        self._updating = True
        try:
            reset_keeping(self._layers)
            if not self._custom_choice:
                self._layers.value = self._default_choice()
        finally:
            self._updating = False

    def _on_inserted(self, event=None) -> None:
        """A layer shown side by side gets a column of its own (a preview, a result).

        napari's grid wrapped it onto the first column, labelled with another
        layer's name; Restore puts its name display back as it was.
        """
        layer = getattr(event, "value", None)
        if self.mode != "grid" or self._session.saved is None:
            self._refresh_choices()
            return
        if layer is None or not layer.visible or any(layer is side for side in self._side):
            return
        self._session.saved.layers.append((layer, layer.visible, layer.name_overlay.visible))
        layer.name_overlay.visible = True
        self._side = [la for la in self.viewer.layers if la is layer or la in self._side]
        self._set_grid(len(self._side))
        self._status.value = f"side by side: {', '.join(la.name for la in self._side)}"

    def _on_removed(self, event=None) -> None:
        if self.mode is None:
            self._refresh_choices()
            return
        removed = getattr(event, "value", None)
        if self.mode == "curtain" and removed is not None and (
            removed in (self._pair or ()) or removed is self._session.curtain
        ):  # a compared layer (or the curtain) is gone: the curtain ends, once napari
            # is done removing (Delete of a selection holding the curtain removes it next)
            QTimer.singleShot(0, weak_callback(self._end_curtain))
            return
        if self.mode == "grid" and any(removed is layer for layer in self._side):
            self._side = [layer for layer in self._side if layer in self.viewer.layers]
            if len(self._side) < 2:
                QTimer.singleShot(0, weak_callback(self.restore))  # (once napari is done)
                return
            self._set_grid(len(self._side))  # no empty column left
        self._updating = True
        try:
            reset_keeping(self._layers)
        finally:
            self._updating = False

    def _end_curtain(self) -> None:
        if self._session.curtain is None:  # restored meanwhile, or the dock closed
            return
        if self.mode == "curtain" and self._pair is not None and not all(
            layer in self.viewer.layers for layer in (*self._pair, self._session.curtain)
        ):
            self.restore()

    def _on_user_choice(self, _value=None) -> None:
        if not self._updating:
            self._custom_choice = bool(self._layers.value)

    @property
    def chosen(self) -> list[Layer]:
        """The layers to compare, in layer-list order (bottom first)."""
        picked = list(self._layers.value) or self._default_choice()
        return [layer for layer in self.viewer.layers if any(layer is p for p in picked)]

    @chosen.setter
    def chosen(self, layers) -> None:
        self._layers.value = list(layers)
        self._custom_choice = bool(layers)

    # --- side by side -----------------------------------------------------------------

    def side_by_side(self, _value=None) -> None:
        """Show the chosen layers in napari's grid, others hidden, names on."""
        layers = self.chosen
        if len(layers) < 2:
            self._report("choose two or more layers to compare")
            return
        self.restore()
        self._save()
        for layer in self.viewer.layers:
            layer.visible = any(layer is chosen for chosen in layers)
        for layer in layers:
            layer.name_overlay.visible = True
        self._side = layers
        self._set_grid(len(layers))
        self.viewer.reset_view()
        self._enter("grid", f"side by side: {', '.join(layer.name for layer in layers)}")

    def _set_grid(self, count: int) -> None:
        """Turn napari's grid on for ``count`` layers: one row, or a square-ish grid."""
        grid = self.viewer.canvas.grid
        grid.stride = 1
        grid.shape = (1, count) if count <= MAX_ROW else (-1, -1)
        grid.enabled = True

    # --- curtain ----------------------------------------------------------------------

    def curtain(self, _value=None) -> None:
        """Show the upper of the two top chosen layers left of the split, the lower right."""
        layers = self.chosen
        if len(layers) < 2:
            self._report("choose two layers for the curtain")
            return
        upper, lower = layers[-1], layers[-2]
        self.restore()
        self._save()
        for layer in self.viewer.layers:
            layer.visible = layer is lower
        active = self.viewer.layers.selection.active
        self._pair = (upper, lower)
        self._session.curtain = self._curtain_copy(upper)
        follow = weak_callback(self._follow_display)
        for name in _DISPLAY:
            emitter = getattr(upper.events, name, None)
            if emitter is not None and hasattr(upper, name):
                emitter.connect(follow)
                self._session.following.append((emitter, follow))
        # new pixels: new data, or a live preview's plane copied in place (tuning a filter
        # with the curtain over its preview)
        redraw = weak_callback(self._follow_pixels)
        for emitter in (upper.events.data, OPEN_WIDGETS.preview_shown):
            emitter.connect(redraw)
            self._session.following.append((emitter, redraw))
        # either layer moved or scaled: the curtain's place and its columns
        place = weak_callback(self._update_curtain)
        for layer in (upper, lower):
            for name in _GEOMETRY:
                emitter = getattr(layer.events, name)
                emitter.connect(place)
                self._session.following.append((emitter, place))
        if active is not None:
            self.viewer.layers.selection.active = active
        self._enter("curtain", f"left: {upper.name} | right: {lower.name}")
        self._update_curtain()

    def _follow_display(self, _event=None) -> None:
        """Show the curtain as its layer is shown now (new contrast limits, colormap)."""
        curtain = self._session.curtain
        if self._pair is None or curtain is None or curtain not in self.viewer.layers:
            return
        for name, value in _display_of(self._pair[0]).items():
            setattr(curtain, name, value)

    def _follow_pixels(self, event=None) -> None:
        """Redraw the curtain when its layer shows new pixels."""
        # (the preview layer itself, or napari's data event: a layer's own ``source`` is
        # where it was read from)
        layer = event if isinstance(event, Layer) else getattr(event, "source", None)
        if self._pair is not None and layer is self._pair[0]:
            self._update_curtain()

    def _curtain_copy(self, source: Layer) -> Layer:
        """A layer showing the left part of ``source`` as ``source`` shows it (turned too)."""
        common = dict(
            name=f"{source.name} (curtain)", metadata={CURTAIN_KEY: True, PREVIEW_KEY: True},
            **_geometry_of(source), **_display_of(source),
        )
        view = self._left_part(source, 1, self._column_axis(source))
        if isinstance(source, Labels):
            return self.viewer.add_labels(view, **common)
        return self.viewer.add_image(view, rgb=source.rgb, **common)

    def _column_axis(self, layer: Layer) -> int:
        """The layer axis napari shows as columns (the last one if it shows none of its)."""
        axis = self.viewer.dims.displayed[-1] - (self.viewer.dims.ndim - layer.ndim)
        return axis if 0 <= axis < layer.ndim else layer.ndim - 1

    @staticmethod
    def _left_part(source: Layer, columns: int, axis: int):
        """The first ``columns`` columns (along ``axis``) of the data: a view, no copy."""
        data = layer_data(source)
        window = [slice(None)] * data.ndim  # (an RGB image's colours stay last, whole)
        window[axis] = slice(0, max(columns, 1))
        return data[tuple(window)]

    @property
    def split(self) -> float:
        """Curtain position, 0 (left edge) to 1 (right edge)."""
        return float(self._split.value)

    @split.setter
    def split(self, value: float) -> None:
        self._split.value = float(value)

    def curtain_columns(self) -> int:
        """How many columns of the upper layer the curtain shows.

        The split runs across the joint width of the two layers; the columns
        whose centres lie left of it are shown.
        """
        if self._pair is None:
            return 0
        edges = []
        for layer in self._pair:
            axis = self._column_axis(layer)
            width = layer_data(layer).shape[axis]
            for column in (-0.5, width - 0.5):
                point = np.zeros(layer.ndim)
                point[axis] = column
                edges.append(float(np.asarray(layer.data_to_world(point))[axis]))
        low, high = min(edges), max(edges)
        upper = self._pair[0]
        axis = self._column_axis(upper)
        split = _with_coordinate(upper, axis, low + self.split * (high - low))
        column = float(np.asarray(upper.world_to_data(split))[axis])
        width = layer_data(upper).shape[axis]
        return min(max(math.ceil(column - 1e-9), 0), width)

    def _update_curtain(self, _value=None) -> None:
        curtain = self._session.curtain
        if self.mode != "curtain" or curtain is None or curtain not in self.viewer.layers:
            return
        columns = self.curtain_columns()
        source = self._pair[0]
        limits = getattr(curtain, "contrast_limits", None)
        view = self._left_part(source, columns, self._column_axis(source))
        if view.ndim != curtain.data.ndim:  # (data of other axes: left as it was)
            return
        curtain.data = view
        for name, value in _geometry_of(source).items():
            # (each assignment rebuilds napari's transforms: only what changed)
            if _differs(getattr(curtain, name), value):
                setattr(curtain, name, value)
        if limits is not None:
            curtain.contrast_limits = limits
        if isinstance(curtain, Labels):  # a view of the user's labels: no painting on it
            curtain.editable = False  # (napari makes labels editable again with new data)
        curtain.visible = columns > 0

    @property
    def curtain_layer(self) -> Layer | None:
        """The layer showing the upper layer's left part, while the curtain is on."""
        return self._session.curtain

    # --- state ------------------------------------------------------------------------

    def _save(self) -> None:
        grid = self.viewer.canvas.grid
        camera = self.viewer.scene.camera
        self._session.saved = _Saved(
            layers=[(layer, layer.visible, layer.name_overlay.visible)
                    for layer in self.viewer.layers],
            grid={"enabled": grid.enabled, "shape": grid.shape, "stride": grid.stride},
            center=tuple(camera.center),
            zoom=float(camera.zoom),
        )

    def _enter(self, mode: str, message: str) -> None:
        self.mode = mode
        self._restore.enabled = True
        self._status.value = message

    def restore(self, _value=None) -> None:
        """Put visibility, names, grid and camera back as they were before comparing."""
        restore_viewer(self.viewer, self._session)
        self._pair, self._side = None, []
        self.mode = None
        self._restore.enabled = False
        self._status.value = ""
        self._refresh_choices()

    def _report(self, message: str) -> None:
        self._status.value = message
        show_error(f"Compare: {message}")


def _geometry_of(source: Layer) -> dict[str, Any]:
    """Where ``source`` lies: its scale, translate, rotate, shear, affine and units."""
    geometry = {name: getattr(source, name) for name in _GEOMETRY[:-1]}
    if getattr(source, "units", None) is not None:
        geometry["units"] = source.units
    return geometry


def _differs(value, other) -> bool:
    if isinstance(value, tuple | list):  # (units)
        return tuple(value) != tuple(other)
    return not np.array_equal(transform_matrix(value), transform_matrix(other))


def _display_of(source: Layer) -> dict[str, Any]:
    """How ``source`` is shown (:data:`_DISPLAY`), for its curtain to show it so."""
    shown = {}
    for name in _DISPLAY:
        if not hasattr(source, name) or (name == "colormap" and getattr(source, "rgb", False)):
            continue  # (an RGB image's colours are its own)
        value = getattr(source, name)
        if name == "colormap" and isinstance(source, Labels):
            value = value.model_copy(deep=True)  # (label colours: not shared)
        shown[name] = value
    return shown


def _with_coordinate(layer: Layer, axis: int, world: float) -> np.ndarray:
    """A world point on the layer's axes whose coordinate along ``axis`` is ``world``."""
    point = np.asarray(layer.data_to_world(np.zeros(layer.ndim)), dtype=float)
    point[axis] = world
    return point


def restore_viewer(viewer, session: _Session) -> None:
    """Undo what compare mode changed (safe to call when nothing was changed)."""
    saved, curtain = session.saved, session.curtain
    for emitter, callback in session.following:
        emitter.disconnect(callback)
    session.following.clear()
    session.saved = session.curtain = None
    if curtain is not None and curtain in viewer.layers:
        viewer.layers.remove(curtain)
    if saved is None:
        return
    for layer, visible, name_visible in saved.layers:
        if layer in viewer.layers:
            layer.visible = visible
            layer.name_overlay.visible = name_visible
    grid = viewer.canvas.grid
    grid.stride = saved.grid["stride"]
    grid.shape = saved.grid["shape"]
    grid.enabled = saved.grid["enabled"]
    viewer.scene.camera.center = saved.center
    viewer.scene.camera.zoom = saved.zoom


def _closer(viewer, connections, session: _Session):
    # A plain function over the viewer and the session, not the widget: when Qt
    # deletes the widget its Python attributes may already be gone.
    def close() -> None:
        for emitter, callback in connections:
            emitter.disconnect(callback)
        connections.clear()
        restore_viewer(viewer, session)

    return close
