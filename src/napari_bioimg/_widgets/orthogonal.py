"""Orthogonal views: XZ and YZ slices beside napari's XY canvas, linked by one position.

The main canvas is the XY view. The dock holds two more views, each a napari
``ViewerModel`` drawn by a ``QtViewer``, that show copies of the selected 3D
image layer(s) and the labels and result layers overlaying them (the copies
share the data). napari draws every layer with its ``scale``, so each view
has the physical aspect: a banana MRI with 8.8 mm between 0.39 mm pixels is
22 times taller per slice in XZ than per pixel.

One position links the views: the main viewer's ``dims.point``. A click (not
a drag) in any view moves it; the main dims slider moves the XZ/YZ planes and
their sliders move the main one. Crosshair lines (Vectors layers) show it.

All mapping lives in plain methods (:meth:`OrthogonalViews.view_axes`,
:meth:`~OrthogonalViews.aspect`, :meth:`~OrthogonalViews.position_from_click`,
:meth:`~OrthogonalViews.crosshair_lines`) that tests check without pixels.
"""

import contextlib
import weakref
from functools import partial

import napari
import numpy as np
from napari.components import ViewerModel
from napari.layers import Image, Labels, Layer, Vectors
from qtpy.QtCore import QCoreApplication, QEvent, QObject, QSize, Qt, QTimer
from qtpy.QtWidgets import QCheckBox, QDockWidget, QLabel, QSplitter, QVBoxLayout, QWidget

from ._dock import share_when_docked
from ._layers import is_preview, spatial_scale
from ._lifetime import weak_callback

NO_STACK = "(no 3D image: a z-stack, not time or channels, has XZ and YZ views)"

VIEWS = ("xy", "xz", "yz")
# (row axis, column axis, sliced axis) counted from the last axis: -3 z, -2 y, -1 x.
# YZ has z along its columns, so it sits beside XY sharing y; XZ shares x.
VIEW_AXES = {"xy": (-2, -1, -3), "xz": (-3, -1, -2), "yz": (-2, -3, -1)}
CROSSHAIR_KEY = "napari_bioimg_crosshair"
CROSSHAIR_COLOR = "yellow"
CROSSHAIR_PIXELS = 2.0  # the lines' thickness on screen, at any zoom
CLICK_TOLERANCE = 4  # canvas pixels a press may move and still be a click
# Layer attributes copied to the views whenever they change on the original.
SYNCED = (
    "data",
    "scale",
    "translate",
    "units",
    "affine",
    "rotate",
    "shear",
    "visible",
    "opacity",
    "blending",
    "colormap",
    "contrast_limits",
    "gamma",
    "interpolation2d",
    "contour",
    "selected_label",
    "show_selected_label",
    "name",
)


class _State:
    """Everything the views hold on to, kept apart from the Qt widget.

    Qt may delete the widget before Python forgets it; teardown then runs from
    a signal with only this object, and must leave nothing connected.
    """

    def __init__(self, viewer) -> None:
        self.viewer = viewer
        self.models: dict[str, ViewerModel] = {}
        self.qt_viewers: dict = {}
        self.connections: list = []  # (emitter, callback) on the main viewer and layers
        self.layer_connections: dict[int, list] = {}  # id(shown original) -> connections
        self.mouse_callbacks: list = []  # (viewer model, callback)
        self.crosshairs: dict[str, Vectors] = {}
        self.closed = False


def _disconnect(connections: list) -> None:
    while connections:
        emitter, callback = connections.pop()
        with contextlib.suppress(TypeError, ValueError, RuntimeError):
            emitter.disconnect(callback)


def _teardown(state: _State, *_args, deleted: bool = False) -> None:
    """Disconnect every callback, drop the crosshair from the main viewer, close the views.

    ``deleted``: Qt has deleted the widget (its ``destroyed`` signal, e.g. at
    interpreter exit without ``viewer.close()``): the views' own Qt widgets may be
    half gone, so their layers are left to the garbage collector (clearing them
    updated a deleted dims slider, and the exception in a Qt slot aborted Python).
    """
    if state.closed:
        return
    state.closed = True
    _disconnect(state.connections)
    for connections in state.layer_connections.values():
        _disconnect(connections)
    state.layer_connections.clear()
    for model, callback in state.mouse_callbacks:
        if callback in model.mouse_drag_callbacks:
            model.mouse_drag_callbacks.remove(callback)
    state.mouse_callbacks.clear()
    crosshair = state.crosshairs.pop("xy", None)
    if crosshair is not None and crosshair in state.viewer.layers:
        state.viewer.layers.remove(crosshair)
    state.crosshairs.clear()
    for model in state.models.values() if not deleted else ():
        model.layers.clear()
    for qt_viewer in state.qt_viewers.values():
        with contextlib.suppress(RuntimeError):  # already deleted with its parent
            qt_viewer.close()  # frees the canvas, as napari's own window does
            qt_viewer.setParent(None)  # Python owns it now: it goes with the last reference
    state.qt_viewers.clear()
    state.models.clear()


class _CloseWatcher(QObject):
    """Tear down when napari closes its main canvas (viewer.close(), the window's X)."""

    def __init__(self, state: _State, parent: QObject) -> None:
        super().__init__(parent)
        self._state = state

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        """Watch for the Close event of the main QtViewer."""
        if event.type() == QEvent.Type.Close:
            _teardown(self._state)
        return False


def _deferred(function):
    """Call ``function`` once the current Qt event is handled."""

    def call(*_args):
        QTimer.singleShot(0, function)

    return call


def _click_callback(widget: "OrthogonalViews", name: str):
    """A napari drag callback that moves the shared position on a click in view ``name``."""
    ref = weakref.ref(widget)

    def on_press(model, event):
        if event.button != 1 or event.modifiers:
            return
        start, start_pos = tuple(event.position), np.asarray(event.pos, dtype=float)
        yield
        moved = False
        while event.type == "mouse_move":
            moved = moved or np.abs(np.asarray(event.pos) - start_pos).max() > CLICK_TOLERANCE
            yield
        owner = ref()
        if owner is not None and not moved:
            owner.click(name, start)

    return on_press


class OrthogonalViews(QWidget):
    """XZ and YZ views linked to the main XY canvas by one position.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The main viewer; its canvas is the XY view.
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        from napari.qt import QtViewer

        self.viewer = getattr(viewer, "__wrapped__", viewer)
        self._state = _State(self.viewer)
        self._syncing = False
        self._drawing = False  # adding a crosshair to the main viewer fires layer events
        self._main_crosshair_removed = False  # by the user (or viewer.close): not re-added
        self._pending_crosshair: Vectors | None = None  # to add at the next turn of the loop
        self._fitted_main = False  # the main view fitted to its canvas once docked
        self._batch = False  # the main layer list is in a batched update (e.g. clear)
        self._rebuild_pending = False
        self._docked = False
        self._watching_dock = False
        self._anchors: list[Layer] = []
        self._shown: list[Layer] = []
        self._copies: dict[str, dict[int, Layer]] = {"xz": {}, "yz": {}}
        self._fitted_box: np.ndarray | None = None  # (the world box the views were fitted to)
        self._main_shows_yx = True  # napari's canvas shows y and x (not rolled, not 3D)
        self._fits: dict[str, tuple] = {}  # view -> (camera center, zoom) its last fit gave

        self._crosshair_box = QCheckBox("crosshair")
        self._crosshair_box.setChecked(True)
        self._crosshair_box.setToolTip("Lines through the current position in every view")
        self._crosshair_box.toggled.connect(self._on_crosshair_toggled)
        self._info = QLabel(NO_STACK)
        self._info.setWordWrap(True)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for name in ("xz", "yz"):
            model = ViewerModel(title=name.upper())
            qt_viewer = QtViewer(model)
            qt_viewer.setMinimumSize(160, 120)
            self._state.models[name] = model
            self._state.qt_viewers[name] = qt_viewer
            panel = QWidget()
            box = QVBoxLayout(panel)
            box.setContentsMargins(0, 0, 0, 0)
            box.addWidget(QLabel(name.upper()))
            box.addWidget(qt_viewer, 1)
            splitter.addWidget(panel)
        layout = QVBoxLayout(self)
        layout.addWidget(self._crosshair_box)
        layout.addWidget(self._info)
        layout.addWidget(splitter, 1)
        share_when_docked(self)  # a fair share of its column's height

        main = self.viewer
        rebuild = weak_callback(self.rebuild)
        self._state.connections = [
            (main.dims.events.point, weak_callback(self._on_main_point)),
            # after napari's own handling of the insertion: adding the crosshair from
            # inside it corrupted the layer list's rows (a stack opened after the dock)
            (main.layers.events.inserted, _deferred(weak_callback(self._on_inserted))),
            (main.layers.events.removed, weak_callback(self._on_removed)),
            (main.layers.events.moved, rebuild),
            (main.layers.selection.events.changed, rebuild),
            # an axis named t or z in the Voxel size dock: a stack no more, or again
            (main.dims.events.axis_labels, rebuild),
            # rolled axes or 3D display: the main crosshair, drawn in y and x, hides
            (main.dims.events.order, weak_callback(self._on_main_display)),
            (main.dims.events.ndisplay, weak_callback(self._on_main_display)),
            (main.layers.events.begin_batch, weak_callback(self._on_begin_batch)),
            (main.layers.events.end_batch, weak_callback(self._on_end_batch)),
        ]
        for name in ("xz", "yz"):
            model = self._state.models[name]
            self._state.connections += [
                (model.dims.events.point, partial(weak_callback(self._on_view_point), name)),
                # the model's canvas size, which napari sets from the vispy canvas' resize
                # and reset_view reads: a callback on that resize would run before napari's
                # (vispy calls the newest first) and fit the view to the old size
                (model.canvas.events.size, partial(weak_callback(self._on_view_resized), name)),
            ]
        for name in VIEWS:
            self._state.connections.append((
                self.view_model(name).scene.camera.events.zoom,
                partial(weak_callback(self._on_zoom), name),
            ))
        for emitter, callback in self._state.connections:
            emitter.connect(callback)
        for name in VIEWS:
            model = self.view_model(name)
            callback = _click_callback(self, name)
            model.mouse_drag_callbacks.append(callback)
            self._state.mouse_callbacks.append((model, callback))
        self.destroyed.connect(partial(_teardown, self._state, deleted=True))
        qt_main = getattr(getattr(main, "window", None), "_qt_viewer", None)
        if qt_main is not None:
            qt_main.installEventFilter(_CloseWatcher(self._state, self))
        self.rebuild()

    # --- lifetime ---------------------------------------------------------------------

    def event(self, event) -> bool:
        """Tear down when napari takes the widget out of its dock (the dock's close button)."""
        if event.type() == QEvent.Type.ParentChange:
            if self.parent() is not None:
                self._docked = True
                QTimer.singleShot(0, weak_callback(self.keep_docked))
            elif self._docked:
                self.close_dock()
        return super().event(event)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """At most 40 % of the window's width.

        Docked at its canvases' own hint, the dock took 800 of 1400 px and left the
        main canvas a 250-px strip.
        """
        hint = super().sizeHint()
        window = self.window()
        share = int(0.4 * window.width()) if window is not None and window is not self else 420
        width = min(hint.width(), max(share, self.minimumSizeHint().width()))
        return QSize(width, hint.height())

    def _fit_main_view(self) -> None:
        if not self.closed and self._shown:
            self.viewer.reset_view()

    def dock_widget(self) -> QDockWidget | None:
        """The QDockWidget holding the views, if docked."""
        parent = self.parent()
        while parent is not None and not isinstance(parent, QDockWidget):
            parent = parent.parent()
        return parent

    def keep_docked(self) -> None:
        """Stop the dock from floating, which would crash napari.

        A floating dock moves the views' OpenGL canvases to a new window; unless
        napari was started with shared OpenGL contexts (Qt's
        AA_ShareOpenGLContexts, set before the application starts) their
        drawing then fails and the process aborts. napari's title bar has a float
        button that floats whatever the dock's features say, so it is hidden too.
        """
        dock = self.dock_widget()
        if dock is None or self.closed:
            return
        if QCoreApplication.testAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts):
            return
        floatable = QDockWidget.DockWidgetFeature.DockWidgetFloatable
        if dock.features() & floatable:
            dock.setFeatures(dock.features() & ~floatable)
        button = getattr(dock.titleBarWidget(), "float_button", None)
        if button is not None:
            button.hide()
        if not self._watching_dock:  # napari rebuilds its title bar when the dock moves
            self._watching_dock = True
            dock.dockLocationChanged.connect(_deferred(weak_callback(self.keep_docked)))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Fit the views once they have their real size.

        The main view too, once: the dock made its canvas narrower.
        """
        super().showEvent(event)
        QTimer.singleShot(0, weak_callback(self.reset_views))
        if not self._fitted_main:
            self._fitted_main = True
            QTimer.singleShot(0, weak_callback(self._fit_main_view))

    def reset_views(self) -> None:
        """Fit the shown layers in the XZ and YZ views."""
        if not self.closed:
            for name in self._state.models:
                self._fit(name)
            self._fitted_box = self._box() if self._shown else None

    def _fit(self, name: str) -> None:
        """Fit view ``name`` to its canvas and remember where that put the camera."""
        camera = self._state.models[name].scene.camera
        self._state.models[name].reset_view()
        self._fits[name] = (np.asarray(camera.center, dtype=float), float(camera.zoom))

    def moved_by_hand(self, name: str) -> bool:
        """True when view ``name`` was zoomed or panned since it was last fitted.

        Half a screen pixel of pan, or a zoom off by more than rounding, counts.
        Only the displayed axes of the center: napari's 2D camera drops the other.
        """
        if name not in self._fits:
            return False
        model = self._state.models[name]
        shown = -model.dims.ndisplay
        center, zoom = self._fits[name][0][shown:], self._fits[name][1]
        camera = model.scene.camera
        now = np.asarray(camera.center, dtype=float)[shown:]
        return (
            now.shape != center.shape
            or not np.isclose(camera.zoom, zoom, rtol=1e-4)
            or float(np.max(np.abs(now - center), initial=0.0)) * camera.zoom > 0.5
        )

    def _on_view_resized(self, name: str, event=None) -> None:
        """Fit view ``name`` to its new canvas size, unless the user framed it by hand.

        Its pane changes size after the dock was shown (napari's resizeDocks, the
        splitter or the dock's edge dragged, the window resized): the stack stayed
        framed for the old size, too small or cut off.
        """
        if not self.closed and not self.moved_by_hand(name):
            self._fit(name)

    def close_dock(self) -> None:
        """Disconnect every callback, remove the crosshair and close the views."""
        _teardown(self._state)

    @property
    def closed(self) -> bool:
        """True once the dock let go of the viewer."""
        return self._state.closed

    # --- the model: views, axes, aspect, positions ------------------------------------------

    def view_model(self, name: str):
        """The viewer model drawing view ``name``: the main viewer for "xy"."""
        if name == "xy":
            return self.viewer
        return self._state.models[name]

    def view_axes(self, name: str) -> tuple[int, int, int]:
        """(row, column, sliced) axes of view ``name`` as indices of the main dims."""
        ndim = self.viewer.dims.ndim
        return tuple(ndim + axis for axis in VIEW_AXES[name])

    def spacing(self) -> tuple[float, float, float]:
        """The (z, y, x) voxel size of the first shown layer (1, 1, 1 without one)."""
        if not self._shown:
            return (1.0, 1.0, 1.0)
        return tuple(float(s) for s in self._shown[0].scale[-3:])

    def aspect(self, name: str) -> float:
        """Height over width of one voxel as view ``name`` draws it (from the layer scale)."""
        spacing = dict(zip((-3, -2, -1), self.spacing(), strict=True))
        row, column, _ = VIEW_AXES[name]
        return spacing[row] / spacing[column]

    def _extent(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World ``(z, y, x)`` extent (2, 3) and step of the shown layers, and a factor.

        In the viewer's world units: napari gives a subset of layers in its own
        (a mm stack shown beside a µm result: the world is in µm, the stack's
        extent in mm). ``factor`` turns the shown layers' lengths into world ones.
        """
        extent = self.viewer.layers.get_extent(self._shown)
        factor = _factors(extent.units, self.viewer.layers.units)
        return extent.world[:, -3:] * factor, np.asarray(extent.step[-3:]) * factor, factor

    def _box(self, extent=None) -> np.ndarray:
        """World (z, y, x) box of the shown layers, from pixel edge to pixel edge.

        ``extent``: :meth:`_extent`'s answer, when the caller has it already.
        """
        world, step, _ = self._extent() if extent is None else extent
        return np.stack([world[0] - step / 2, world[1] + step / 2])

    def view_extent(self, name: str) -> tuple[float, float]:
        """World (height, width) of the shown layers in view ``name``."""
        if not self._shown:
            return (0.0, 0.0)
        box = self._box()
        row, column, _ = (axis + 3 for axis in VIEW_AXES[name])
        return float(box[1][row] - box[0][row]), float(box[1][column] - box[0][column])

    def position_from_click(self, name: str, position) -> tuple[float, ...]:
        """The main dims point after a click at world ``position`` in view ``name``.

        The click sets the two axes the view displays; the axis it slices, and
        any leading (time, channel) axes, keep their values.
        """
        point = list(self.viewer.dims.point)
        position = tuple(position)
        axes = VIEW_AXES[name][:2]
        if name == "xy":  # napari's canvas: the axes it displays (rolled: maybe x and z)
            axes = tuple(a - len(point) for a in self.viewer.dims.displayed[-2:])
        for axis in axes:
            if len(position) >= -axis and len(point) >= -axis:
                point[axis] = float(position[axis])
        return tuple(point)

    def click(self, name: str, position) -> None:
        """Move the shared position as a click at world ``position`` in view ``name`` does."""
        if self.closed or (name == "xy" and self.viewer.dims.ndisplay == 3):
            return
        self.viewer.dims.point = self.position_from_click(name, position)

    def point(self, name: str) -> tuple[float, ...]:
        """The dims point of view ``name`` (its trailing axes align with the main ones)."""
        return tuple(self.view_model(name).dims.point)

    def crosshair_lines(self, name: str, extent=None) -> np.ndarray:
        """The two crosshair lines of view ``name`` in world (z, y, x) coordinates.

        Line 0 runs along the view's columns at the current row; line 1 along
        its rows at the current column; both lie in the displayed plane.
        ``extent``: :meth:`_extent`'s answer, when the caller has it already.
        """
        position = np.asarray(self.viewer.dims.point[-3:], dtype=float)
        # pixel centre to pixel centre: the lines leave the views' slider ranges alone
        extent = (self._extent() if extent is None else extent)[0]
        row, column, _ = (axis + 3 for axis in VIEW_AXES[name])
        lines = np.stack([position, position, position, position]).reshape(2, 2, 3)
        lines[0, :, column] = extent[:, column]
        lines[1, :, row] = extent[:, row]
        return lines

    # --- which layers --------------------------------------------------------------------

    def shown_layers(self) -> list[Layer]:
        """The layers the XZ and YZ views show, in the main viewer's order.

        The selected 3D images, i.e. with a z axis, not a time-lapse's t or a
        mask's channels (the last ones while only other layers are
        selected), every 3D labels layer overlapping them, and the results and
        previews named after them ("<name> <operation>").
        """
        candidates = [
            layer
            for layer in self.viewer.layers
            if isinstance(layer, Image | Labels)
            and len(spatial_scale(layer)) >= 3  # a z axis (a time-lapse's t is none)
            and not layer.metadata.get(CROSSHAIR_KEY)
        ]
        selected = self.viewer.layers.selection
        anchors = [la for la in candidates if isinstance(la, Image) and la in selected]
        if not anchors:
            anchors = [la for la in self._anchors if la in candidates]
        if not anchors:
            images = [la for la in candidates if isinstance(la, Image) and not is_preview(la)]
            anchors = images[-1:] or [la for la in candidates if la in selected][:1]
        self._anchors = anchors
        names = tuple(f"{la.name} " for la in anchors)
        return [
            la
            for la in candidates
            if la in anchors
            or la.name.startswith(names)
            or (isinstance(la, Labels) and any(_overlap(la, a) for a in anchors))
        ]

    def rebuild(self, event=None) -> None:
        """Show copies of :meth:`shown_layers` in the XZ and YZ views.

        Copies of layers still shown are kept (their drawing is the slow part);
        a change of order rebuilds everything.
        """
        if self.closed or self._drawing:
            return
        if self._batch:
            self._rebuild_pending = True
            return
        shown = self.shown_layers()
        if [id(la) for la in shown] == [id(la) for la in self._shown]:
            self._update_crosshairs()
            return
        kept = [la for la in self._shown if la in shown]
        if kept != [la for la in shown if la in kept]:  # reordered: start again
            kept = []
        keep = {id(la) for la in kept}
        for key in [key for key in self._state.layer_connections if key not in keep]:
            _disconnect(self._state.layer_connections.pop(key))
        first_time = not self._shown
        self._shown = shown
        for name in ("xz", "yz"):
            model = self._state.models[name]
            copies = self._copies[name]
            # napari's canvas runs a full garbage collection after each removal, and after
            # a batch: one batch when several copies go
            several = len([key for key in copies if key not in keep]) > 1
            batch = model.layers.batched_update() if several else contextlib.nullcontext()
            with self._quiet(), batch:
                for key in [key for key in copies if key not in keep]:
                    model.layers.remove(copies.pop(key))
                for index, layer in enumerate(shown):
                    if id(layer) not in copies:
                        copy = Layer.create(*layer.as_layer_data_tuple())
                        model.layers.insert(index, copy)
                        copies[id(layer)] = copy
                self._order_axes(model)
        for layer in shown:
            if id(layer) not in keep:
                self._follow(layer)
        self._info.setText(", ".join(la.name for la in shown) or NO_STACK)
        self._update_crosshairs()
        self._on_main_point()
        if first_time or not kept:
            self.reset_views()

    def _on_inserted(self) -> None:
        """Rebuild for a new layer, and keep the main crosshair above it."""
        if self.closed:
            return
        self.rebuild()
        crosshair = self._state.crosshairs.get("xy")
        layers = self.viewer.layers
        if crosshair is not None and crosshair in layers and layers[-1] is not crosshair:
            self._drawing = True  # (moving it is no change of the layers shown)
            try:
                layers.move(layers.index(crosshair), len(layers))
            finally:
                self._drawing = False

    def _on_begin_batch(self, event=None) -> None:
        self._batch = True

    def _on_end_batch(self, event=None) -> None:
        self._batch = False
        if self._rebuild_pending:
            self._rebuild_pending = False
            self.rebuild()

    def _on_removed(self, event=None) -> None:
        if self._drawing:  # the crosshair redrawn (new scale) or put away: not the user
            return
        crosshair = self._state.crosshairs.get("xy")
        if crosshair is not None and crosshair not in self.viewer.layers:
            self._state.crosshairs.pop("xy")
            self._main_crosshair_removed = True
        self.rebuild()

    def _order_axes(self, model: ViewerModel) -> None:
        ndim = model.dims.ndim
        if ndim < 3:
            return
        order = list(range(ndim))
        z, y, x = ndim - 3, ndim - 2, ndim - 1
        rows, columns, sliced = (y, z, x) if model is self._state.models["xz"] else (x, y, z)
        order[-3:] = rows, columns, sliced
        model.dims.order = tuple(order)
        labels = list(self.viewer.dims.axis_labels[-ndim:])
        if len(labels) == ndim:
            model.dims.axis_labels = labels

    def _follow(self, layer: Layer) -> None:
        """Copy every change of ``layer``'s data, geometry and look to its copies."""
        copies = [self._copies[name][id(layer)] for name in ("xz", "yz")]
        connections = self._state.layer_connections.setdefault(id(layer), [])
        for attribute in SYNCED:
            emitter = getattr(layer.events, attribute, None)
            if emitter is None or not hasattr(layer, attribute):
                continue
            callback = partial(_copy_attribute, layer, copies, attribute)
            emitter.connect(callback)
            connections.append((emitter, callback))
        for attribute in ("labels_update", "paint"):
            emitter = getattr(layer.events, attribute, None)
            if emitter is not None:
                callback = partial(_refresh_copies, copies)
                emitter.connect(callback)
                connections.append((emitter, callback))
        # A layer refreshed in place (undo or redo of painting, a live preview's plane
        # copied in): napari's set_data, also sent for every new slice of the main view,
        # whose copies need nothing then (their planes did not move).
        refreshed = partial(_refresh_copies_in_place, self.viewer, layer, copies,
                            [_layer_point(self.viewer, layer)])
        layer.events.set_data.connect(refreshed)
        connections.append((layer.events.set_data, refreshed))
        rebuild = weak_callback(self.rebuild)  # (its axis before y named t: not shown)
        layer.events.axis_labels.connect(rebuild)
        connections.append((layer.events.axis_labels, rebuild))
        crosshairs = weak_callback(self._update_crosshairs)
        layer.events.data.connect(crosshairs)
        connections.append((layer.events.data, crosshairs))
        geometry = weak_callback(self._on_geometry)
        for attribute in ("scale", "translate", "units"):
            emitter = getattr(layer.events, attribute, None)
            if emitter is not None:
                # last: napari calls the newest callbacks first, and the copies must have
                # taken the new value (and the main viewer its new point) before
                emitter.connect(geometry, position="last")
                connections.append((emitter, geometry))

    def _on_geometry(self, event=None) -> None:
        """A shown layer's voxel size or place changed: slice and fit the views anew.

        The views' points were in the old world coordinates (a stack given its slice
        distance showed an empty XZ view, framed for the old size, until moved).
        """
        if self.closed:
            return
        self._update_crosshairs()
        self._on_main_point()
        with self._quiet():
            for model in self._state.models.values():
                _reslice(model)
        # refit only for a new box of the user's stack: not for a live preview's moves
        # (a crop preview), nor when the box stays, so that a zoom in XZ/YZ is kept
        source = getattr(event, "source", None)
        box = self._box() if self._shown else None
        preview = source is not None and hasattr(source, "metadata") and is_preview(source)
        if not preview and box is not None and (
            self._fitted_box is None or box.shape != self._fitted_box.shape
            or not np.allclose(box, self._fitted_box)
        ):
            self.reset_views()

    # --- keeping positions in step ---------------------------------------------------------

    @contextlib.contextmanager
    def _quiet(self):
        """Ignore the point events the views send while the dock itself moves them."""
        previous, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = previous

    def _on_main_point(self, event=None) -> None:
        if self.closed or self._batch:  # the rebuild after the batch catches up
            return
        point = self.viewer.dims.point
        with self._quiet():
            for name, model in self._state.models.items():
                n = model.dims.ndim
                if n > len(point) or not model.layers or n < 3:
                    continue
                # only the sliced and leading axes choose what a view shows: moving the
                # others would re-slice every layer of the view for nothing
                sliced = n + VIEW_AXES[name][2]
                axes = [*range(n - 3), sliced]
                wanted = point[-n:]
                if any(not np.isclose(model.dims.point[a], wanted[a]) for a in axes):
                    model.dims.point = wanted
        self._update_crosshairs()

    def _on_view_point(self, name: str, event=None) -> None:
        """A view's own slider moved: move the main point along that view's sliced axis."""
        if self._syncing or self.closed:
            return
        model = self._state.models[name]
        sliced = VIEW_AXES[name][2]
        if model.dims.ndim < 3:
            return
        value = float(model.dims.point[sliced])
        if not np.isclose(value, self.viewer.dims.point[sliced]):
            self.viewer.dims.set_point(self.viewer.dims.ndim + sliced, value)

    # --- crosshair ---------------------------------------------------------------------

    @property
    def crosshair(self) -> bool:
        """True when the crosshair lines are drawn."""
        return self._crosshair_box.isChecked()

    @crosshair.setter
    def crosshair(self, value: bool) -> None:
        self._crosshair_box.setChecked(bool(value))

    def _on_crosshair_toggled(self, checked: bool) -> None:
        self._main_crosshair_removed = False
        self._update_crosshairs()

    def main_shows_yx(self) -> bool:
        """Whether napari's canvas shows y and x in 2D, where its crosshair is drawn.

        Rolled (z against x) or in 3D, a crosshair drawn in y and x would lie on
        the wrong axes: it hides until the canvas shows y and x again.
        """
        dims = self.viewer.dims
        return dims.ndisplay == 2 and tuple(dims.displayed) == (dims.ndim - 2, dims.ndim - 1)

    def _on_main_display(self, event=None) -> None:
        shows = self.main_shows_yx()
        if self.closed or shows == self._main_shows_yx:
            return
        self._main_shows_yx = shows
        layer = self._state.crosshairs.get("xy")
        if layer is not None:
            layer.visible = shows

    def crosshair_layer(self, name: str) -> Vectors | None:
        """The Vectors layer drawing the crosshair of view ``name``, if drawn."""
        return self._state.crosshairs.get(name)

    def _update_crosshairs(self, event=None) -> None:
        if self.closed or self._drawing or self._batch:
            return
        self._drawing = True
        try:
            with self._quiet():
                self._draw_crosshairs()
        finally:
            self._drawing = False

    def _draw_crosshairs(self) -> None:
        wanted = self.crosshair and bool(self._shown) and self.viewer.dims.ndim >= 3
        extent = self._extent() if wanted else None  # (once for the three views)
        for name in VIEWS:
            layer = self._state.crosshairs.get(name)
            model = self.view_model(name)
            if (name == "xy" and layer is not None and layer not in model.layers
                    and layer is not self._pending_crosshair):
                self._state.crosshairs.pop(name)  # someone removed it: stay away
                self._main_crosshair_removed = True
                layer = None
            if not wanted or (name == "xy" and self._main_crosshair_removed):
                if layer is not None and layer in model.layers:
                    model.layers.remove(layer)
                self._state.crosshairs.pop(name, None)
                continue
            self._draw_crosshair(name, model, layer, extent)

    def _draw_crosshair(self, name: str, model, layer: Vectors | None, extent) -> None:
        """Lines in world units / the smallest spacing, so they are equally thick both ways.

        Their width is :data:`CROSSHAIR_PIXELS` on screen (:meth:`_on_zoom` keeps it).
        The main viewer gets a 2D layer (y, x) shown on every slice, which leaves
        the z slider's step alone; the views get a 3D layer in their plane.
        Vectors rather than Shapes: with napari 0.9 a Shapes layer whose data was
        replaced crashes the OpenGL drawing (Mesa) once it is removed.
        """
        unit = float(np.min(np.asarray(self.spacing()) * extent[2]))  # (world units)
        lines = self.crosshair_lines(name, extent) / unit
        width = self._crosshair_width(name, unit)
        if name == "xy":
            lines = lines[:, :, 1:]
        vectors = np.stack([lines[:, 0], lines[:, 1] - lines[:, 0]], axis=1)  # start, direction
        # the world's units (the lines are in them): mixed units would make napari drop them
        world = self.viewer.layers.units or self._shown[0].units
        units = tuple(world[-lines.shape[-1] :])
        if layer is None or layer not in model.layers or not np.isclose(layer.scale[-1], unit):
            if layer is not None and layer in model.layers:
                model.layers.remove(layer)
            layer = Vectors(
                vectors,
                vector_style="line",
                edge_color=CROSSHAIR_COLOR,
                edge_width=width,
                scale=(unit,) * lines.shape[-1],
                units=units,
                name="crosshair",
                opacity=0.8,
                visible=name != "xy" or self._main_shows_yx,
                metadata={CROSSHAIR_KEY: True},
            )
            self._state.crosshairs[name] = layer
            if name == "xy":
                self._pending_crosshair = layer
                if getattr(self.viewer.layers.events.inserted, "_emitting", False):
                    # Inside napari's insertion of a layer (whose events, the selection
                    # napari gives it too, called this): adding one then corrupted the
                    # layer list's rows. At the next turn of the event loop.
                    QTimer.singleShot(0, weak_callback(self._add_pending_crosshair))
                else:
                    self._add_pending_crosshair()
            else:
                model.add_layer(layer)
            return
        if tuple(layer.units) != units:
            layer.units = units
        if not np.allclose(np.asarray(layer.data), vectors):
            layer.data = vectors
        if not np.isclose(layer.edge_width, width):
            layer.edge_width = width

    def _crosshair_width(self, name: str, unit: float) -> float:
        """The edge width giving :data:`CROSSHAIR_PIXELS` screen pixels in view ``name``.

        In the data units of a crosshair scaled by ``unit``. A width in world units
        vanished when zoomed out (under a pixel) and grew fat when zoomed in.
        """
        zoom = float(self.view_model(name).scene.camera.zoom)  # screen pixels per world unit
        return CROSSHAIR_PIXELS / (unit * zoom) if unit * zoom > 0 else 1.0

    def _on_zoom(self, name: str, event=None) -> None:
        """View ``name`` was zoomed: keep its crosshair as thick on screen."""
        layer = self._state.crosshairs.get(name)
        if self.closed or layer is None:
            return
        width = self._crosshair_width(name, float(layer.scale[-1]))
        if not np.isclose(layer.edge_width, width, rtol=1e-6, atol=0.0):
            layer.edge_width = width

    def _add_pending_crosshair(self) -> None:
        layer, self._pending_crosshair = self._pending_crosshair, None
        if self.closed or layer is None or self._state.crosshairs.get("xy") is not layer:
            return
        self._drawing = True  # (its insertion changes no layer shown)
        try:
            self._add_keeping_selection(layer)
        finally:
            self._drawing = False

    def _add_keeping_selection(self, layer: Layer) -> None:
        """Add to the main viewer without taking the selection from the user's layers."""
        selection = self.viewer.layers.selection
        selected, active = set(selection), selection.active
        self.viewer.layers.append(layer)
        selection.clear()
        selection.update(selected)
        selection.active = active


def _factors(own, world) -> np.ndarray:
    """Per (z, y, x) axis, what one unit of ``own`` is in ``world`` (pint units; 1 if unknown)."""
    factor = np.ones(3)
    if world is not None and own is not None:
        for axis in range(-min(3, len(world), len(own)), 0):
            if own[axis] != world[axis] and own[axis].dimensionality == (
                world[axis].dimensionality
            ):
                factor[axis] = float((1 * own[axis]).to(world[axis]).magnitude)
    return factor


def _overlap(layer: Layer, other: Layer) -> bool:
    """True when the two layers' spatial (z, y, x) world boxes intersect.

    Each layer's extent is in its own units: ``other``'s is read in ``layer``'s
    (labels in mm over a stack in µm).
    """
    a = layer.extent.world[:, -3:]
    b = other.extent.world[:, -3:] * _factors(other.units, layer.units)
    return bool(np.all(a[0] <= b[1]) and np.all(b[0] <= a[1]))


def _reslice(model: ViewerModel) -> None:
    """Slice ``model``'s layers anew at the same point.

    napari re-slices only for a new point: a layer given new units or a new scale
    whose point stayed (clamped to the same value) kept its old slice, empty. The
    point moves by one step along the sliced axis and back.
    """
    hidden = list(model.dims.not_displayed)
    if not hidden:
        return
    axis = hidden[-1]
    point, step = model.dims.point[axis], model.dims.range[axis].step
    low, high = model.dims.range[axis].start, model.dims.range[axis].stop
    other = point - step if point - step >= low else point + step
    if other > high or other == point:
        return
    model.dims.set_point(axis, other)
    model.dims.set_point(axis, point)


def _copy_attribute(original: Layer, copies: list, attribute: str, event=None) -> None:
    value = getattr(original, attribute)
    for copy in copies:
        with contextlib.suppress(ValueError, TypeError):
            setattr(copy, attribute, value)


def _layer_point(viewer, layer: Layer) -> tuple:
    """The viewer's point on ``layer``'s own axes (a 3D layer under a time-lapse: no t)."""
    return tuple(viewer.dims.point[-layer.ndim:])


def _refresh_copies_in_place(viewer, layer: Layer, copies: list, last: list, event=None) -> None:
    """Refresh ``copies`` when their layer was refreshed at the same point (in place).

    The point on the layer's own axes: napari does not slice a layer anew for an
    axis it lacks (a time slider moved), so the point of the last slice would be
    left behind and the next undo taken for a new slice.
    """
    point = _layer_point(viewer, layer)
    if point == last[0]:
        _refresh_copies(copies)
    last[0] = point


def _refresh_copies(copies: list, event=None) -> None:
    for copy in copies:
        copy.refresh()
