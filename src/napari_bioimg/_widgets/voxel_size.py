"""The voxel size dock: show and set the physical spacing of layers, resample to cubes.

napari keeps the voxel size in ``layer.scale`` and ``layer.units``; every size
parameter of the operations is read in those units, so a wrong slice distance
makes every 3D result wrong. The dock shows the spacing of the selected layers,
sets it on several at once, warns when the reader guessed the slice distance
(``layer.metadata["z_spacing_known"] is False``), and resamples to isotropic
voxels with the core's :func:`~napari_bioimg.ops.resample_isotropic`.
"""

from functools import partial

import napari
import numpy as np
from napari.layers import Image, Labels, Layer
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from .. import ops
from ..io_tiff import LENGTH_UNITS, canonical_unit, length_factor
from ..ops._checks import check_choice
from ..ops.planes import CHANNEL_LABELS, NOT_SPATIAL, is_batch_label, output_axes, output_geometry
from ..ops.registry import get_operation
from ..ops.transforms import AXIS_ROLES, length_unit
from ..pipeline.core import for_kind, translate_in
from ._dock import keep_narrow, scroll_layout
from ._layers import add_result, is_preview, layer_data, spatial_scale
from ._lifetime import DockLifetime, disconnect_all, weak_callback
from ._recorder import layer_key, record_applied, recorder_for

AXES = ("z", "y", "x")
# What the axis before y holds: its axis label (the operations filter frames and
# channels one by one, and only a z axis is spatial).
ROLES = {"z (slices)": "z", "t (frames)": "t", "channel": "channel"}
UNITS = ("pixel", "nm", "µm", "mm", "cm", "m")
GUESSED_Z = (
    "The slice distance (z) of {names} was not in the file: {values} is a guess (the "
    "pixel width, as Fiji sets it). Enter the real value and press Apply."
)


def unit_text(layer: Layer) -> str:
    """Return the abbreviated unit of the last axis ("µm", "mm"), "pixel" without one."""
    units = getattr(layer, "units", None)
    if units is None:
        return "pixel"
    return format(units[-1], "~") or "pixel"


def validate_spacing(spacing) -> tuple[float, ...]:
    """Return the spacing as floats; ValueError names the first value not positive."""
    values = []
    for axis, value in zip(AXES[-len(spacing) :], spacing, strict=True):
        number = float(value)
        if not (np.isfinite(number) and number > 0):
            raise ValueError(f"the {axis} spacing must be a positive number, got {value!r}")
        values.append(number)
    return tuple(values)


def _last_unit(layer: Layer):
    """The pint unit of the layer's last axis, or None."""
    units = getattr(layer, "units", None)
    return None if units is None else units[-1]


def validate_unit(unit: str) -> str:
    """Return ``unit`` if pint knows it as a length (or "pixel"), else raise ValueError."""
    import pint

    registry = pint.get_application_registry()
    text = unit.strip()
    try:
        parsed = registry.Unit(text)
    except (pint.errors.UndefinedUnitError, ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"unknown unit {unit!r}") from error
    if parsed != registry.pixel and parsed.dimensionality != registry.meter.dimensionality:
        raise ValueError(f"{unit!r} is not a length unit")
    return text


class VoxelSizeWidget(QWidget):
    """Spacing (z, y, x) and unit of the selected layers; Apply; Resample to isotropic.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose selected layers the dock reads and sets.
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        # napari hands plugins a proxy that re-wraps layers; compare the real ones.
        self.viewer = getattr(viewer, "__wrapped__", viewer)
        self._workers: list = []

        self._names = QLabel("")
        self._spins: dict[str, QDoubleSpinBox] = {}
        self._exact: dict[str, tuple[float, float]] = {}  # axis: (value shown, exact value)
        form = QFormLayout()
        form.addRow("layers", self._names)
        for axis in AXES:
            spin = QDoubleSpinBox()
            spin.setDecimals(9)  # (sizes in m: 1e-7)
            spin.setRange(0.0, 1e9)
            spin.setValue(1.0)
            spin.setToolTip(f"Distance between pixel centres along {axis}")
            self._spins[axis] = spin
            form.addRow(axis, spin)
        self._unit = QComboBox()
        self._unit.setEditable(True)
        self._unit.addItems(UNITS)
        form.addRow("unit", self._unit)
        self._role = QComboBox()
        self._role.addItems(list(ROLES))
        self._role.setToolTip(
            "What the axis before y holds: slices (filtered in 3D), time frames or "
            "channels (filtered one by one). napari's own reader names axes by number."
        )
        self._role_label = QLabel("axis before y")
        form.addRow(self._role_label, self._role)
        self._hint = QLabel("")
        self._hint.setStyleSheet("color: orange")
        self._hint.setVisible(False)
        self._apply = QPushButton("Apply to selected layers")
        self._resample = QPushButton("Resample to isotropic")
        self._resample.setToolTip(
            "New layer with cubic voxels of the smallest spacing (linear interpolation; "
            "nearest for labels)"
        )
        self._status = QLabel("")
        keep_narrow(self._names, self._hint, self._status)  # (long names, messages)
        buttons = QHBoxLayout()
        buttons.addWidget(self._apply)
        buttons.addWidget(self._resample)
        layout = scroll_layout(self)
        layout.addLayout(form)
        layout.addWidget(self._hint)
        layout.addLayout(buttons)
        layout.addWidget(self._status)
        layout.addStretch(1)

        self._apply.clicked.connect(self._on_apply_clicked)
        self._resample.clicked.connect(self._on_resample_clicked)
        self._role.activated.connect(self._on_role_chosen)
        refresh = weak_callback(self.refresh)
        self._connections = [
            (self.viewer.layers.selection.events.changed, refresh),
            (self.viewer.layers.events.removed, refresh),
        ]
        for emitter, callback in self._connections:
            emitter.connect(callback)
        self._layer_connections: list = []  # the selected layers' scale and units
        # Plain functions holding only the lists: the widget itself may already be gone.
        self.destroyed.connect(partial(disconnect_all, self._connections))
        self.destroyed.connect(partial(disconnect_all, self._layer_connections))
        self._lifetime = DockLifetime(self, self.close_dock, watch_destroyed=False)
        self.refresh()

    # --- lifetime ---------------------------------------------------------------------

    def close_dock(self) -> None:
        """Disconnect from the viewer and stop running workers."""
        disconnect_all(self._connections)
        disconnect_all(self._layer_connections)
        for worker in self._workers:
            worker.quit()

    def _on_apply_clicked(self) -> None:
        self.apply()

    def _on_resample_clicked(self) -> None:
        self.resample()

    # --- reading the selection ----------------------------------------------------------

    @property
    def layers(self) -> list[Layer]:
        """The selected layers the dock reads and sets (previews excluded), in list order."""
        selected = self.viewer.layers.selection
        return [
            layer for layer in self.viewer.layers if layer in selected and not is_preview(layer)
        ]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """The (z, y, x) spacing in the spin boxes.

        A box still showing a layer's value gives that value exactly (6.5/60 is
        not 0.108333333): changing z alone leaves y and x as they were.
        """
        values = []
        for axis in AXES:
            typed = self._spins[axis].value()
            shown, exact = self._exact.get(axis, (None, None))
            values.append(exact if typed == shown else typed)
        return tuple(values)

    @property
    def unit(self) -> str:
        """The unit in the unit box."""
        return self._unit.currentText().strip()

    @property
    def hint(self) -> str:
        """The warning about a guessed slice distance, or "" when none is shown."""
        return self._hint.text() if not self._hint.isHidden() else ""

    def set_values(self, spacing=None, unit: str | None = None) -> None:
        """Fill the controls: ``spacing`` as (z, y, x) or (y, x); ``unit`` as text."""
        if spacing is not None:
            for axis, value in zip(AXES[-len(spacing) :], spacing, strict=True):
                self._spins[axis].setValue(float(value))
                self._exact[axis] = (self._spins[axis].value(), float(value))
        if unit is not None:
            self._unit.setCurrentText(unit)

    def refresh(self, event=None) -> None:
        """Show the spacing and unit of the first selected layer, and the z hint.

        Follows the selected layers' scale and units (set elsewhere, e.g. in the
        console), so that Apply never puts back values the dock showed before.
        """
        disconnect_all(self._layer_connections)
        shown = weak_callback(self._show_selection)
        for layer in self.layers:
            for emitter in (layer.events.scale, layer.events.units, layer.events.axis_labels):
                emitter.connect(shown)
                self._layer_connections.append((emitter, shown))
        self._show_selection()

    def _show_selection(self, event=None) -> None:
        layers = self.layers
        self._names.setText(", ".join(layer.name for layer in layers) or "(select layers)")
        self._apply.setEnabled(bool(layers))
        self._resample.setEnabled(any(_resamplable(la) for la in layers))
        has_z = any(len(spatial_scale(layer)) >= 3 for layer in layers)
        self._spins["z"].setEnabled(has_z or not layers)
        stacks = [layer for layer in layers if layer.ndim >= 3]
        self._role.setVisible(bool(stacks))
        self._role_label.setVisible(bool(stacks))
        if stacks:
            self._role.setCurrentText(
                {v: k for k, v in ROLES.items()}[_role_of(stacks[0])]
            )
        if layers:
            first = max(layers, key=lambda layer: len(spatial_scale(layer)))
            scale = list(spatial_scale(first))  # (not a time-lapse's t, a mask's channels)
            self.set_values(scale, unit_text(first))
        guessed = [  # (a z axis: not once it is named frames)
            la for la in layers
            if la.metadata.get("z_spacing_known") is False and len(spatial_scale(la)) >= 3
        ]
        values = sorted({f"{float(la.scale[-3]):.4g}" for la in guessed})
        self._hint.setText(
            GUESSED_Z.format(names=", ".join(la.name for la in guessed), values=" / ".join(values))
            if guessed else ""
        )
        self._hint.setVisible(bool(guessed))

    # --- setting the spacing --------------------------------------------------------------

    def _on_role_chosen(self, _index=None) -> None:
        self.set_axis_role(ROLES[self._role.currentText()])

    def set_axis_role(self, role: str) -> list[Layer]:
        """Name the axis before y of the selected stacks ``"z"``, ``"t"`` or ``"channel"``.

        A time-lapse opened by napari's own reader has numbered axes, read as
        z: a ball filter then mixes frames. The layer gets the geometry of the
        ``set_axis_role`` operation (a new z axis: the pixel width, flagged as a
        guess; frames and channels: no length unit), and the step is recorded,
        so that replays and headless runs filter as here. Layers with another
        axis of that kind (a second t) are left alone, named in a notification.
        Returns the layers changed.
        """
        check_choice(role, "role", AXIS_ROLES)
        operation = get_operation("set_axis_role")
        parameters = {"role": role}
        changed, refused = [], []
        for layer in self.layers:
            if not isinstance(layer, Image | Labels) or layer.ndim < 3 or _role_of(layer) == role:
                continue
            if any(_holds(label, role) for label in layer.axis_labels[:-3]):
                refused.append(layer.name)
                continue
            nsp = len(spatial_scale(layer))
            scale, _ = output_geometry(
                operation, parameters, layer_data(layer).shape, layer.scale, layer.translate, nsp
            )
            labels = output_axes(operation, parameters, layer.axis_labels, "labels")
            units = output_axes(operation, parameters, layer.units, "units")
            layer.axis_labels = labels
            layer.units = units
            if role == "z" and nsp < 3:  # the slice distance is a guess: the dock says so
                layer.metadata["z_spacing_known"] = False
            layer.scale = scale
            # each naming is a step of its own: a second one reads the first one's geometry
            self._record(layer, operation.name, parameters, replace=False)
            changed.append(layer)
        if refused:
            show_error(f"{', '.join(refused)}: another axis already holds {role}")
        self._show_selection()
        return changed

    def apply(self, spacing=None, unit: str | None = None) -> bool:
        """Set the spacing (default: the controls) on every selected layer.

        The last three axes of a layer (two for a 2D layer) get the spacing;
        leading axes (time, channel) keep theirs. Zero, negative or unknown
        values give a notification and change no layer.

        Returns
        -------
        bool
            True when the layers were changed.
        """
        layers = self.layers
        if not layers:
            show_info("Select the layers whose voxel size to set.")
            return False
        spacing = self.spacing if spacing is None else tuple(spacing)
        unit = self.unit if unit is None else unit
        needed = 3 if any(len(spatial_scale(layer)) >= 3 for layer in layers) else 2
        try:
            if len(spacing) < needed:
                raise ValueError(f"give {needed} spacings (z, y, x) for a 3D layer")
            values = validate_spacing(spacing[-needed:])
            unit = validate_unit(unit)
        except (ValueError, TypeError) as error:
            show_error(f"Voxel size not changed: {error}")
            return False
        # The unit recorded with the numbers (a replay or run gives it to the result),
        # when the step can name it; else a change of length unit is warned about.
        recorded = length_unit(unit)
        recorded = recorded if recorded in LENGTH_UNITS else None
        unit = recorded or unit  # (the usual spelling: micron is shown as µm)
        converted = []  # (layers whose length unit changed and cannot be recorded)
        # The plane shown stays: napari keeps the world point, which in the new sizes
        # lies elsewhere in the stack (often past its end: the last plane, blank).
        anchor = layers[0]
        plane = np.asarray(anchor.world_to_data(self.viewer.dims.point), dtype=float)
        for layer in layers:
            n = min(len(spatial_scale(layer)), len(values))
            scale = np.array(layer.scale, dtype=float)
            scale[-n:] = np.copysign(values[-n:], scale[-n:])  # (a mirrored layer stays so)
            before, shown = _last_unit(layer), unit_text(layer)
            old_units = list(getattr(layer, "units", None) or ())
            layer.scale = scale
            if getattr(layer, "units", None) is not None:
                layer.units = (*layer.units[:-n], *([unit] * n))
            after = _last_unit(layer)
            factor = None if before is None or after is None else length_factor(
                str(before), str(after))
            # the origin stays where it was (50 mm is 50000 µm), axis by axis (z in nm),
            # as a pipeline's set_voxel_size step moves it
            if old_units and after is not None:
                translate = translate_in(str(after), layer.translate, old_units, n)
            else:
                translate = tuple(layer.translate)
            if not np.allclose(translate, layer.translate):
                layer.translate = translate
            if n == 3:
                layer.metadata["z_spacing_known"] = True
            if isinstance(layer, Image | Labels):
                changed = canonical_unit(None if before is None else str(before)) != recorded
                # (set again in the unit the step it replaces gave: that step's unit stays)
                replaced = self._replaceable(layer, "set_voxel_size")
                changed = changed or (
                    replaced is not None and replaced.parameters.get("unit") == recorded
                )
                if recorded is None and factor is not None and not np.isclose(factor, 1.0):
                    converted.append((layer.name, shown))
                sizes = values[-n:]
                z = sizes[-3] if len(sizes) == 3 else None
                parameters = {"z": z, "y": sizes[-2], "x": sizes[-1]}
                if recorded is not None and changed:  # (its own unit: the input's, as before)
                    parameters["unit"] = recorded
                self._record(layer, "set_voxel_size", parameters)
        self._keep_plane(anchor, plane)
        self._status.setText(f"set on {len(layers)} layer(s)")
        if converted:
            names = ", ".join(f"{name!r} ({was})" for name, was in converted)
            show_warning(
                f"Voxel size of {names} set in {unit_text(layers[0])}: a pipeline step "
                f"names only {', '.join(LENGTH_UNITS)}, so it records the numbers, which a "
                "replay or run reads in its input's unit. Set it in one of those units, or "
                "the layer's own, for the pipeline to replay it."
            )
        self.refresh()
        return True

    def _keep_plane(self, layer: Layer, plane: np.ndarray) -> None:
        """Move the viewer's point back to data point ``plane`` of ``layer``.

        The sliders' planes, and the displayed axes' point too: napari clamped the
        old y and x to the new extent, the image's last row and column, where the
        Orthogonal views then sliced (two black panes, the crosshair in a corner).
        """
        dims = self.viewer.dims
        world = np.asarray(layer.data_to_world(plane), dtype=float)
        offset = dims.ndim - layer.ndim
        axes = [a for a in range(offset, dims.ndim) if np.isfinite(world[a - offset])]
        if axes:
            dims.set_point(axes, [float(world[a - offset]) for a in axes])

    def _record(self, layer: Layer, name: str, parameters: dict, replace: bool = True) -> None:
        """Record the voxel size (or axis name) set on ``layer`` as a step ``name``.

        Later steps on the layer read it, so replaying the pipeline (in napari or
        headless) uses the voxel size set here. Setting it again before any step
        reads the layer replaces the step (not while an Apply that read it runs);
        the values of the layer's last recorded step add nothing; others are recorded
        even when the layer has them already (the user confirms them, e.g. after
        removing the step). ``replace=False`` always adds the step (axis namings:
        each one's geometry follows the previous one).
        """
        recorder = recorder_for(self.viewer)
        key = layer_key(layer)
        sets = [s for s in recorder.steps if s.operation == name and s.makes == key]
        if sets and sets[-1].parameters == parameters:
            return  # recorded already
        replaced = self._replaceable(layer, name) if replace else None
        if replaced is not None:
            recorder.remove(next(i for i, s in enumerate(recorder.steps) if s is replaced))
        record_applied(self.viewer, get_operation(name), parameters, layer, layer)

    def _replaceable(self, layer: Layer, name: str):
        """Return the step ``name`` that setting ``layer`` again replaces, or None.

        Its last one, when no step read the layer since (nor an Apply reading it runs).
        """
        recorder = recorder_for(self.viewer)
        key = layer_key(layer)
        sets = [s for s in recorder.steps if s.operation == name and s.makes == key]
        touching = [step for step in recorder.steps if key in (step.reads, step.makes)]
        if sets and touching[-1] is sets[-1] and not recorder.is_read(layer):
            return sets[-1]
        return None

    # --- resampling -----------------------------------------------------------------------

    def resample(self, order: int = 1) -> list:
        """Resample each selected image or labels layer to cubic voxels, in a worker.

        Labels use nearest-neighbour interpolation whatever ``order`` says. The new
        layer has the isotropic scale and the input's translate. Returns the
        started workers (tests wait on them with :attr:`busy`).
        """
        started = []
        for layer in self.layers:
            if not _resamplable(layer):
                continue
            spacing = spatial_scale(layer)  # (a time-lapse's t, a mask's channels: batch)
            kind = "labels" if isinstance(layer, Labels) else "image"
            layer_order = for_kind({"order": order}, kind)["order"]
            worker = create_worker(
                ops.resample_isotropic,
                layer_data(layer),
                spacing=spacing,
                order=layer_order,
                _start_thread=False,
                _ignore_errors=True,
            )
            recorder = recorder_for(self.viewer)
            after = recorder.start_reading(layer)
            worker.returned.connect(partial(self._keep, layer, spacing, layer_order, after))
            worker.errored.connect(lambda error: show_error(f"Resample to isotropic: {error}"))
            worker.finished.connect(partial(recorder.done_reading, layer))
            worker.finished.connect(partial(self._forget, worker))
            self._workers.append(worker)
            started.append(worker)
            self._status.setText("resampling…")
            worker.start()
        if not started:
            show_info("Resample to isotropic: select a grey image or a labels layer")
        return started

    def _keep(self, layer: Layer, spacing, order: int, after, result: np.ndarray) -> None:
        if layer not in self.viewer.layers:
            return
        target = min(spacing)
        scale = (*layer.scale[: layer.ndim - len(spacing)], *([target] * len(spacing)))
        kind = "labels" if isinstance(layer, Labels) else "image"
        kept = add_result(self.viewer, result, kind, layer, f"{layer.name} isotropic", scale=scale)
        if kind == "image":
            kept.contrast_limits = layer.contrast_limits
        record_applied(
            self.viewer, get_operation("resample_isotropic"), {"order": order}, layer, kept,
            spacing, after,
        )
        self._status.setText(f"{kept.name}: {result.shape}, voxel {target:g}")

    def _forget(self, worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)

    @property
    def busy(self) -> bool:
        """True while a resampling runs."""
        return bool(self._workers)


def _kind(label) -> str:
    """``"t"``, ``"channel"`` or ``"z"``: what an axis of this label holds."""
    label = str(label).lower()
    if label in CHANNEL_LABELS:
        return "channel"
    return "t" if label in NOT_SPATIAL else "z"


def _holds(label, role: str) -> bool:
    """Whether an axis of this label is named ``role`` already (z: only "z" itself)."""
    return str(label).lower() == "z" if role == "z" else _kind(label) == role


def _role_of(layer: Layer) -> str:
    """What the axis before y of ``layer`` holds.

    napari's numbers: z; the ``axis 0`` that a projection leaves of a numbered
    stack's frames: frames.
    """
    label = layer.axis_labels[-3]
    kind = _kind(label)
    return "t" if kind == "z" and is_batch_label(label) else kind


def _resamplable(layer: Layer) -> bool:
    """Grey images and labels (RGB images are not resampled)."""
    return isinstance(layer, Image | Labels) and not getattr(layer, "rgb", False)
