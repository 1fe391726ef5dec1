"""The histogram dock: live histogram, display range and a summary of the selected image.

The histogram covers the displayed plane or the whole stack, with linear or
log counts. The layer's contrast limits are two draggable lines; buttons set
them from percentiles (:func:`~napari_bioimg.ops.percentile_range`). When an
open threshold widget reads the same layer, its current threshold
(:func:`~napari_bioimg.ops.threshold_value`) is a third line. Beside the plot,
:func:`~napari_bioimg.ops.insight` summarises the layer.

Layers over ``BIG`` pixels, and dask-backed data, are read in a worker thread
from a regular subsample (every k-th pixel along each axis); the dock then
says "sampled". An RGBA image's alpha (opacity) is not counted: the bars and
numbers are those of R, G and B. Drawing uses QPainter: matplotlib is not a
dependency.
"""

import math
from dataclasses import dataclass
from functools import partial

import napari
import numpy as np
from napari.layers import Image, Layer
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error
from qtpy.QtCore import QPointF, QRectF, Qt, Signal
from qtpy.QtGui import QColor, QPainter, QPainterPath, QPen
from qtpy.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel

from .. import ops
from ..pipeline.core import error_text
from ._axes import axis_names
from ._dock import keep_narrow, scroll_layout
from ._layers import finite_extremes as _extremes
from ._layers import (
    has_alpha,
    is_preview,
    layer_data,
    length_unit,
    set_contrast_limits,
    spatial_scale,
    subsample,
)
from ._lifetime import DockLifetime, disconnect_all, weak_callback
from .operation import OPEN_WIDGETS, OperationWidget

BIG = 20_000_000  # pixels: above this, read a subsample in a worker
SAMPLE = 4_000_000  # about this many values in a subsample
DASK_SAMPLE = 1_000_000  # lazily loaded data costs more to read
BINS = 256
FIJI_AUTO = (0.175, 99.825)  # Fiji's "Auto": 0.35 % saturated pixels, half at each end
PLANE, STACK = "current plane", "whole stack"


# --- pure helpers (run in workers; no Qt, no layers) -----------------------------------


def bin_layout(low: float, high: float, dtype) -> tuple[int, tuple[float, float]]:
    """Return the number of bins and their range.

    Integers get bins of a whole number of values (one per value for narrow
    ranges): 256 bins over 300 values would hold one or two values each, a comb.
    """
    if np.dtype(dtype).kind in "iub":
        values = int(high - low) + 1
        width = -(-values // BINS)  # (ceiling)
        bins = -(-values // width)
        return bins, (low - 0.5, low - 0.5 + bins * width)
    if low == high:
        return 1, (low - 0.5, high + 0.5)
    return BINS, (float(low), float(high))


@dataclass
class Computed:
    """What a worker found: the histogram and, on a new layer, the summary."""

    counts: np.ndarray
    edges: np.ndarray
    sampled: bool
    values_range: tuple[float, float]
    stats: dict | None = None
    part_stats: dict | None = None  # of the plane (or volume) counted, when not all


def _number(value) -> str:
    """A minimum or maximum as shown: integers whole (1000001, not 1e+06)."""
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return f"{value:.6g}"


def compute(data, index, values_range, spacing, limit: int, alpha: bool = False) -> Computed:
    """Histogram of ``data[index]`` (all of it if ``index`` is None) on fixed bins.

    The bins span ``values_range``; when that is None it is first measured on
    the whole data (sampled past ``limit``) together with the summary.
    ``alpha``: the last axis holds an RGBA image's colours, alpha not counted.
    """
    stats = None
    if values_range is None:
        whole, whole_sampled = subsample(data, limit)
        stats = _summary(data, whole, whole_sampled, spacing, alpha)
        stats["shape"] = tuple(data.shape)
        finite = np.isfinite(float(stats["min"]))
        values_range = (float(stats["min"]), float(stats["max"])) if finite else (0.0, 1.0)
    part = data if index is None else data[index]
    values, sampled = subsample(part, limit)
    values = _colours(values, alpha)
    # the plane counted: its own numbers (Fiji's histogram of a slice)
    part_stats = None if index is None else _summary(part, values, sampled, alpha=alpha)
    shown = _extremes(values)  # a sample may have missed them: no pixel left out
    if shown is not None and (shown[0] < values_range[0] or shown[1] > values_range[1]):
        values_range = (min(shown[0], values_range[0]), max(shown[1], values_range[1]))
    bins, span = bin_layout(*values_range, data.dtype)
    try:
        counts, edges = ops.histogram(np.asarray(values), bins=bins, range=span)
    except ValueError:  # no finite value in this plane
        counts, edges = np.zeros(bins, np.int64), np.linspace(span[0], span[1], bins + 1)
    return Computed(counts, edges, sampled, values_range, stats, part_stats)


def _colours(values, alpha: bool):
    """``values`` (read), without an RGBA image's alpha when ``alpha``."""
    values = np.asarray(values)
    return values[..., :3] if alpha else values


def _summary(data, sample, sampled: bool, spacing=None, alpha: bool = False) -> dict:
    """:func:`ops.insight` of ``sample`` (of ``data``), NaN when no value is finite.

    The extremes of data in memory are read whole (exact, one read) when the
    rest is sampled; ``"sampled"`` and ``"extremes sampled"`` say which are.
    ``alpha``: an RGBA image's, left out.
    """
    try:
        stats = ops.insight(_colours(sample, alpha), percentiles=(), spacing=spacing)
    except ValueError:  # not one finite value: the panel says so, no bars
        nan = float("nan")
        stats = {"dtype": str(data.dtype), "min": nan, "max": nan, "mean": nan, "std": nan}
    stats["sampled"] = stats["extremes sampled"] = sampled
    if sampled and isinstance(data, np.ndarray):
        extremes = _extremes(_colours(data, alpha))
        if extremes is not None:
            stats["min"], stats["max"] = extremes
            stats["extremes sampled"] = False
    return stats


def percentiles_of(
    data, index, lower: float, upper: float, limit: int, alpha: bool = False
) -> tuple[float, float]:
    """:func:`ops.percentile_range` of ``data[index]``, sampled past ``limit``.

    ``alpha``: an RGBA image's, left out.
    """
    part = data if index is None else data[index]
    values, _ = subsample(part, limit)
    return ops.percentile_range(_colours(values, alpha), lower=lower, upper=upper)


# --- drawing --------------------------------------------------------------------------


class HistogramCanvas(QWidget):
    """Bars of a histogram, two draggable limit lines and an optional threshold line."""

    limit_dragged = Signal(int, float)  # which (0 low, 1 high), value

    MARGIN = 6
    GRAB = 6  # pixels from a line that still pick it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(220, 130)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.counts = np.zeros(0, np.int64)
        self.edges = np.zeros(1)
        self.log = False
        self.limits: tuple[float, float] | None = None
        self.threshold: float | None = None
        self.note = ""
        self._dragging: int | None = None
        self._frozen_span: tuple[float, float] | None = None

    def set_histogram(self, counts: np.ndarray, edges: np.ndarray) -> None:
        """Show these ``numpy.histogram``-style counts and edges."""
        self.counts, self.edges = counts, edges
        self.update()

    # the value axis spans the data and the limits, so every line stays visible
    def span(self) -> tuple[float, float]:
        """Return the values at the left and right of the plot."""
        if self._frozen_span is not None:
            return self._frozen_span
        values = [float(self.edges[0]), float(self.edges[-1])] if self.edges.size > 1 else []
        for extra in (*(self.limits or ()), self.threshold):
            if extra is not None and np.isfinite(extra):
                values.append(float(extra))
        if not values:
            return 0.0, 1.0
        low, high = min(values), max(values)
        return (low, high) if high > low else (low - 0.5, low + 0.5)

    def _plot_rect(self) -> QRectF:
        m = self.MARGIN
        return QRectF(m, m, max(self.width() - 2 * m, 1), max(self.height() - 2 * m - 14, 1))

    def x_of(self, value: float) -> float:
        """Return the widget x coordinate of ``value``."""
        low, high = self.span()
        rect = self._plot_rect()
        return rect.left() + (value - low) / (high - low) * rect.width()

    def value_at(self, x: float) -> float:
        """Return the value under widget x coordinate ``x``."""
        low, high = self.span()
        rect = self._plot_rect()
        return low + (x - rect.left()) / rect.width() * (high - low)

    def heights(self) -> np.ndarray:
        """Bar heights as drawn: counts, or log10(1 + counts)."""
        counts = self.counts.astype(float)
        return np.log10(1 + counts) if self.log else counts

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Draw bars, lines and the value range."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self._plot_rect()
        painter.fillRect(self.rect(), QColor(38, 41, 48))
        heights = self.heights()
        top = heights.max() if heights.size else 0
        if top > 0:
            path = QPainterPath(QPointF(self.x_of(self.edges[0]), rect.bottom()))
            for i, h in enumerate(heights):
                y = rect.bottom() - h / top * rect.height()
                path.lineTo(QPointF(self.x_of(self.edges[i]), y))
                path.lineTo(QPointF(self.x_of(self.edges[i + 1]), y))
            path.lineTo(QPointF(self.x_of(self.edges[-1]), rect.bottom()))
            path.closeSubpath()
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(190, 190, 190))
            painter.drawPath(path)
        if self.limits is not None:
            low, high = self.limits
            painter.setPen(QPen(QColor(80, 200, 255, 60), 1))
            painter.setBrush(QColor(80, 200, 255, 30))
            painter.drawRect(
                QRectF(
                    QPointF(self.x_of(low), rect.top()), QPointF(self.x_of(high), rect.bottom())
                )
            )
            painter.setPen(QPen(QColor(80, 200, 255), 2))
            for value in self.limits:
                x = self.x_of(value)
                painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        if self.threshold is not None and np.isfinite(self.threshold):
            painter.setPen(QPen(QColor(255, 80, 80), 2, Qt.PenStyle.DashLine))
            x = self.x_of(self.threshold)
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        painter.setPen(QColor(220, 220, 220))
        low, high = self.span()
        baseline = self.height() - 4
        painter.drawText(QPointF(rect.left(), baseline), f"{low:.6g}")
        text = f"{high:.6g}"
        width = painter.fontMetrics().horizontalAdvance(text)
        painter.drawText(QPointF(rect.right() - width, baseline), text)
        if self.note:
            width = painter.fontMetrics().horizontalAdvance(self.note)
            painter.drawText(QPointF(rect.center().x() - width / 2, baseline), self.note)
        painter.end()

    def _line_near(self, x: float) -> int | None:
        if self.limits is None:
            return None
        distances = [abs(self.x_of(v) - x) for v in self.limits]
        which = int(np.argmin(distances))
        return which if distances[which] <= self.GRAB else None

    def mousePressEvent(self, event) -> None:  # noqa: N802
        """Pick the limit line under the pointer."""
        which = self._line_near(event.position().x())
        if event.button() == Qt.MouseButton.LeftButton and which is not None:
            self._dragging = which
            self._frozen_span = self.span()  # the axis stays still under the pointer
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        """Drag the picked line; otherwise show a resize cursor near a line."""
        x = event.position().x()
        if self._dragging is not None:
            self.limit_dragged.emit(self._dragging, self.value_at(x))
        elif self._line_near(x) is not None:
            self.setCursor(Qt.CursorShape.SizeHorCursor)
        else:
            self.unsetCursor()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        """Drop the line."""
        self._dragging = None
        self._frozen_span = None
        self.update()


# --- the dock -------------------------------------------------------------------------


class HistogramDock(QWidget):
    """Histogram, display range and summary of the selected image layer.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose selected image layer the dock follows.
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = getattr(viewer, "__wrapped__", viewer)
        self._layer: Layer | None = None
        self._layer_connections: list = []
        self._threshold_widget: OperationWidget | None = None
        self._threshold_connections: list = []
        self._alive = True
        self._data_generation = 0
        self._worker = None
        self._pending = False
        self._threshold_worker = None
        self._threshold_pending = False
        self._percentile_worker = None
        self._values_range: tuple[float, float] | None = None
        self._index = None
        self.counts = np.zeros(0, np.int64)
        self.edges = np.zeros(1)
        self.sampled = False
        self.stats: dict | None = None
        self.part_stats: dict | None = None  # min, max, mean, std of the plane counted
        self.threshold: float | None = None
        self._build()

        schedule = weak_callback(self.schedule_if_plane_changed)
        self._connections = [
            (self.viewer.layers.selection.events.active, weak_callback(self._on_active)),
            (self.viewer.layers.events.removed, weak_callback(self._on_removed)),
            (self.viewer.dims.events.point, schedule),
            (self.viewer.dims.events.ndisplay, schedule),
            (self.viewer.dims.events.order, schedule),
            # a threshold widget opened or closed: follow it (or stop)
            (OPEN_WIDGETS.changed, weak_callback(self.follow_threshold_widget)),
            (OPEN_WIDGETS.threshold_computed, weak_callback(self._on_threshold_computed)),
        ]
        for emitter, callback in self._connections:
            emitter.connect(callback)
        self.destroyed.connect(partial(disconnect_all, self._connections))
        self.destroyed.connect(partial(disconnect_all, self._layer_connections))
        self.destroyed.connect(partial(disconnect_all, self._threshold_connections))
        self._lifetime = DockLifetime(self, self.close_dock, watch_destroyed=False)
        self._on_active()

    def _build(self) -> None:
        self.canvas = HistogramCanvas(self)
        self.canvas.limit_dragged.connect(self.drag_limit)
        self._scope = QComboBox()
        self._scope.addItems([PLANE, STACK])
        self._scope.setToolTip("Count the displayed plane or every plane")
        self._scope.currentTextChanged.connect(self._on_option)
        self._log = QCheckBox("log counts")
        self._log.toggled.connect(self._on_log)
        self._title = QElidingLabel("(select an image layer)")
        self._title.setElideMode(Qt.TextElideMode.ElideMiddle)  # (file names end in ch1, ch2)
        self._status = QLabel("")
        keep_narrow(self._title, self._status)
        options = QHBoxLayout()
        options.addWidget(self._scope)
        options.addWidget(self._log)

        self._p95 = QPushButton("0–95 %")
        self._p95.setToolTip("Display range from the 0th to the 95th percentile")
        self._auto = QPushButton("Auto 0.35 %")
        self._auto.setToolTip("Like Fiji's Auto: 0.175th to 99.825th percentile")
        self._lower = QDoubleSpinBox()
        self._upper = QDoubleSpinBox()
        for spin, value in ((self._lower, 1.0), (self._upper, 99.0)):
            spin.setRange(0.0, 100.0)
            spin.setDecimals(3)
            spin.setSingleStep(0.5)
            spin.setValue(value)
            spin.setToolTip("Percentile (0 to 100)")
            spin.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
            spin.setMinimumWidth(60)
        self._set = QPushButton("Set")
        self._set.setToolTip("Display range from these two percentiles")
        self._p95.clicked.connect(self._on_p95)
        self._auto.clicked.connect(self._on_auto)
        self._set.clicked.connect(self._on_set)
        presets = QHBoxLayout()
        presets.addWidget(self._p95)
        presets.addWidget(self._auto)
        custom = QHBoxLayout()
        custom.addWidget(QLabel("%"))
        custom.addWidget(self._lower)
        custom.addWidget(self._upper)
        custom.addWidget(self._set)

        left = QVBoxLayout()
        left.addWidget(self._title)
        left.addLayout(options)
        left.addWidget(self.canvas, 1)
        left.addLayout(presets)
        left.addLayout(custom)
        left.addWidget(self._status)

        self._insight: dict[str, QLabel] = {}
        form = QFormLayout()
        keys = ("shape", "dtype", "values of", "min", "max", "mean", "std", "voxel size",
                "threshold")
        for key in keys:
            label = QLabel("–")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)  # a 5D shape, "(sampled)": as narrow as one number
            self._insight[key] = label
            form.addRow(key, label)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addStretch(1)

        layout = scroll_layout(self, QHBoxLayout)
        layout.addLayout(left, 3)
        layout.addLayout(right, 1)

    # --- lifetime ---------------------------------------------------------------------

    def close_dock(self) -> None:
        """Disconnect from the viewer, its layers and threshold widgets; stop workers."""
        self._alive = False
        disconnect_all(self._connections)
        disconnect_all(self._layer_connections)
        disconnect_all(self._threshold_connections)
        for worker in (self._worker, self._threshold_worker, self._percentile_worker):
            if worker is not None:
                worker.quit()

    # --- the followed layer -------------------------------------------------------------

    @property
    def layer(self) -> Image | None:
        """The image layer shown."""
        return self._layer

    @layer.setter
    def layer(self, layer: Image | None) -> None:
        self.set_layer(layer)

    def set_layer(self, layer: Image | None) -> None:
        """Follow ``layer`` (None: nothing)."""
        if layer is self._layer:
            return
        disconnect_all(self._layer_connections)
        self._layer = layer
        self._values_range = None
        self.stats = None
        self.threshold = None
        self.canvas.threshold = None
        if layer is not None:
            events = layer.events
            for emitter, method in (
                (events.data, self._on_data),
                (events.contrast_limits, self._on_contrast_limits),
                (events.scale, self._show_insight),
                (events.units, self._show_insight),
                (events.name, self._show_title),
                # the layer moved under the dims point: another of its planes is shown
                *((getattr(events, name), self.schedule_if_plane_changed)
                  for name in ("scale", "translate", "rotate", "shear", "affine")),
            ):
                callback = weak_callback(method)
                emitter.connect(callback)
                self._layer_connections.append((emitter, callback))
        self._show_title()
        self._on_contrast_limits()
        self.follow_threshold_widget(force=True)
        self.schedule()

    def _on_active(self, event=None) -> None:
        active = self.viewer.layers.selection.active
        if isinstance(active, Image) and not is_preview(active):
            self.set_layer(active)
        elif self._layer is None:
            images = [
                la for la in self.viewer.layers if isinstance(la, Image) and not is_preview(la)
            ]
            if images:
                self.set_layer(images[-1])

    def _on_removed(self, event=None) -> None:
        if self._layer is not None and self._layer not in self.viewer.layers:
            self.set_layer(None)
            self._on_active()

    def _on_data(self, event=None) -> None:
        self._values_range = None
        self._data_generation += 1  # a result of the old data must not be shown
        self.schedule()

    def _on_contrast_limits(self, event=None) -> None:
        layer = self._layer
        limits = None if layer is None else tuple(float(v) for v in layer.contrast_limits)
        self.canvas.limits = limits
        self.canvas.update()

    def _show_title(self, event=None) -> None:
        layer = self._layer
        self._title.setText("(select an image layer)" if layer is None else layer.name)

    # --- options --------------------------------------------------------------------------

    @property
    def scope(self) -> str:
        """``"current plane"`` or ``"whole stack"``."""
        return self._scope.currentText()

    @scope.setter
    def scope(self, value: str) -> None:
        if value not in (PLANE, STACK):
            raise ValueError(f"scope must be {PLANE!r} or {STACK!r}, got {value!r}")
        self._scope.setCurrentText(value)

    @property
    def log(self) -> bool:
        """True when the bars show log10(1 + count)."""
        return self._log.isChecked()

    @log.setter
    def log(self, value: bool) -> None:
        self._log.setChecked(bool(value))

    def _on_option(self, _value=None) -> None:
        self.schedule()

    def _on_log(self, checked: bool) -> None:
        self.canvas.log = checked
        self.canvas.update()

    # --- what to count --------------------------------------------------------------------

    def plane_index(self) -> tuple | None:
        """Index of the displayed plane in the layer's data, or None for all of it.

        None for 2D layers, stacks shown in 3D and when the scope is the whole stack;
        in 3D display the volume shown (a time-lapse's current frame).
        """
        layer = self._layer
        dims = self.viewer.dims
        if layer is None or self.scope == STACK or layer.ndim <= len(dims.displayed):
            return None
        offset = dims.ndim - layer.ndim
        displayed = {axis - offset for axis in dims.displayed}
        position = layer.world_to_data(dims.point)
        shape = layer_data(layer).shape
        index = tuple(
            slice(None)
            if axis in displayed
            else int(np.clip(np.round(position[axis]), 0, shape[axis] - 1))
            for axis in range(layer.ndim)
        )
        return None if all(isinstance(i, slice) for i in index) else index

    def _heavy(self, data, index) -> bool:
        if not isinstance(data, np.ndarray):
            return True
        return math.prod(data.shape) > BIG and (index is None or self._values_range is None)

    def _limit(self, data) -> int:
        return SAMPLE if isinstance(data, np.ndarray) else DASK_SAMPLE

    # --- computing ------------------------------------------------------------------------

    def schedule_if_plane_changed(self, event=None) -> None:
        """Recompute only when the counted plane changed (not on every pointer move)."""
        if self._layer is None or self.plane_index() == self._index:
            return
        self.schedule()

    def schedule(self, _value=None) -> None:
        """Recompute the histogram (and the summary on a new layer or data)."""
        if not self._alive:
            return
        layer = self._layer
        if layer is None:
            self._index = None
            self._show(Computed(np.zeros(0, np.int64), np.zeros(1), False, (0.0, 1.0)), None)
            return
        if self._worker is not None:
            self._pending = True
            return
        data = layer_data(layer)
        index = self.plane_index()
        self._index = index
        args = (data, index, self._values_range, spatial_scale(layer), self._limit(data),
                has_alpha(layer))
        if not self._heavy(data, index):
            try:
                self._show(compute(*args), layer)
            except (ValueError, TypeError, MemoryError) as error:
                self._report(error)
            return
        self._status.setText("computing…")
        worker = create_worker(compute, *args, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(partial(self._show_if_current, self._data_generation, layer))
        worker.errored.connect(self._report)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        worker.start()

    def _show_if_current(self, data_generation: int, layer: Layer, result: Computed) -> None:
        """Show ``result`` unless its layer is not followed or its data changed since.

        (It would put back the old data's range and statistics; the next run shows.)
        """
        if self._alive and layer is self._layer and data_generation == self._data_generation:
            self._show(result, layer)

    def _on_worker_finished(self) -> None:
        self._worker = None
        if self._alive and self._pending:
            self._pending = False
            self.schedule()

    def _show(self, result: Computed, layer: Layer | None) -> None:
        self.counts, self.edges, self.sampled = result.counts, result.edges, result.sampled
        if layer is not None:
            self._values_range = result.values_range
        if result.stats is not None:
            self.stats = result.stats
        self.part_stats = result.part_stats
        self.canvas.note = "sampled" if self.sampled else ""
        self.canvas.set_histogram(self.counts, self.edges)
        self._show_insight()
        self._status.setText("")

    def _show_insight(self, event=None) -> None:
        stats, layer = self.stats, self._layer
        if stats is None or layer is None:
            for label in self._insight.values():
                label.setText("–")
            return
        self._insight["shape"].setText(" × ".join(str(n) for n in stats["shape"]))
        self._insight["dtype"].setText(stats["dtype"])
        # min to std of what the bars count: the plane shown (as Fiji's histogram of
        # a slice), or all of it (they read the whole stack while the bars one plane)
        part = self.part_stats if self.part_stats is not None else stats
        self._insight["values of"].setText(self._counted_text())
        sampled = " (sampled)" if part.get("sampled") else ""
        extremes = " (sampled)" if part.get("extremes sampled", part.get("sampled")) else ""
        self._insight["min"].setText(f"{_number(part['min'])}{extremes}")
        self._insight["max"].setText(f"{_number(part['max'])}{extremes}")
        self._insight["mean"].setText(f"{part['mean']:.6g}{sampled}")
        self._insight["std"].setText(f"{part['std']:.6g}{sampled}")
        spacing = " × ".join(f"{s:.4g}" for s in spatial_scale(layer))
        self._insight["voxel size"].setText(f"{spacing} {length_unit(layer)}")
        threshold = "–" if self.threshold is None else f"{self.threshold:.6g}"
        self._insight["threshold"].setText(threshold)

    def _counted_text(self) -> str:
        """What the bars and the statistics count: the plane shown, or everything."""
        index = self._index
        if self.part_stats is None or not index:
            return "all" if self._layer is None or self._layer.ndim <= 2 else "whole stack"
        names = axis_names(self.viewer, self._layer)
        # (as the Pixel values dock: "axis 0 2" of a numbered 4D stack read as two numbers)
        shown = [f"{names[axis]}={i}" for axis, i in enumerate(index) if isinstance(i, int)]
        return ", ".join(shown) or "plane shown"

    def _report(self, error: Exception) -> None:
        if self._alive:
            self._status.setText(f"error: {error_text(error)}")
            show_error(f"Histogram: {error_text(error)}")

    @property
    def busy(self) -> bool:
        """True while a worker computes a histogram, percentiles or a threshold."""
        return any(
            w is not None for w in (self._worker, self._threshold_worker, self._percentile_worker)
        )

    # --- display range --------------------------------------------------------------------

    def drag_limit(self, which, value: float) -> None:
        """Move contrast limit ``which`` (0 or "low", 1 or "high") to ``value``.

        The other limit stays; a limit never passes the other one.
        """
        layer = self._layer
        if layer is None:
            return
        which = {"low": 0, "high": 1}.get(which, which)
        low, high = (float(v) for v in layer.contrast_limits)
        gap = self._min_gap()
        if which == 0:
            low = min(float(value), high - gap)
        else:
            high = max(float(value), low + gap)
        self._set_contrast_limits(low, high)

    def _min_gap(self) -> float:
        if self.edges.size > 1:
            return float(self.edges[-1] - self.edges[0]) / 1000 or 1e-6
        return 1e-6

    def _set_contrast_limits(self, low: float, high: float) -> None:
        layer = self._layer
        if high <= low:  # e.g. percentiles of an image that is mostly one value
            high = low + (1.0 if np.dtype(layer.dtype).kind in "iub" else self._min_gap())
        set_contrast_limits(layer, low, high)

    def set_limits_from_percentiles(self, lower: float, upper: float):
        """Set the contrast limits to two percentiles of the counted values.

        The values are those of the histogram (the plane or the stack, sampled
        when big). Returns the limits, or None when a worker computes them.
        """
        layer = self._layer
        if layer is None:
            return None
        if not 0 <= lower < upper <= 100:
            show_error(f"Percentiles must satisfy 0 ≤ lower < upper ≤ 100, got {lower}, {upper}")
            return None
        data = layer_data(layer)
        index = self.plane_index()
        args = (data, index, lower, upper, self._limit(data), has_alpha(layer))
        if not self._heavy(data, index):
            try:
                limits = percentiles_of(*args)
            except ValueError as error:
                self._report(error)
                return None
            self._set_contrast_limits(*limits)
            return limits
        worker = create_worker(percentiles_of, *args, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(partial(self._apply_percentiles, layer))
        worker.errored.connect(self._report)
        worker.finished.connect(self._on_percentile_finished)
        self._percentile_worker = worker
        worker.start()
        return None

    def _apply_percentiles(self, layer: Layer, limits) -> None:
        if self._alive and layer is self._layer:
            self._set_contrast_limits(*limits)

    def _on_percentile_finished(self) -> None:
        self._percentile_worker = None

    def _on_p95(self) -> None:
        self.set_limits_from_percentiles(0.0, 95.0)

    def _on_auto(self) -> None:
        self.set_limits_from_percentiles(*FIJI_AUTO)

    def _on_set(self) -> None:
        self.set_limits_from_percentiles(self._lower.value(), self._upper.value())

    # --- threshold line -------------------------------------------------------------------

    @property
    def threshold_widget(self) -> OperationWidget | None:
        """The open threshold widget reading the shown layer, if any."""
        return self._threshold_widget

    def follow_threshold_widget(self, force: bool = False) -> None:
        """Find the open threshold widget reading this layer and follow its parameters."""
        if not self._alive:
            return
        layer = self._layer
        found = None
        if layer is not None:
            for widget in OperationWidget.open_widgets(self.viewer, "threshold"):
                if widget.input_layer is layer:
                    found = widget
                    break
        if found is self._threshold_widget and not force:
            return
        disconnect_all(self._threshold_connections)
        self._threshold_widget = found
        if found is None:
            self._set_threshold(None)
            return
        callback = weak_callback(self.update_threshold)
        found.changed.connect(callback)
        self._threshold_connections.append((found.changed, callback))
        self.update_threshold()

    def update_threshold(self, _value=None) -> None:
        """Compute the followed widget's threshold (in a worker; latest wins)."""
        widget, layer = self._threshold_widget, self._layer
        if not self._alive or widget is None or layer is None:
            return
        if widget.input_layer is not layer:  # its input changed: follow another one
            self.follow_threshold_widget()
            return
        if self._threshold_worker is not None:
            self._threshold_pending = True
            return
        parameters = widget.parameters()
        method, value = parameters.get("method", "otsu"), parameters.get("value")
        if method == "manual":
            self._set_threshold(None if value is None else float(value))
            return
        computed = widget.computed_threshold(parameters)
        if computed is not None:  # (its preview computed it: no second pass over the stack)
            self._set_threshold(computed)
            return
        if widget.previewing:  # its preview computes it and tells (_on_threshold_computed)
            return
        worker = create_worker(
            ops.threshold_value,
            layer_data(layer),
            method=method,
            value=value,
            _start_thread=False,
            _ignore_errors=True,
        )
        worker.returned.connect(partial(self._threshold_found, layer))
        worker.errored.connect(partial(self._threshold_failed, layer))
        worker.finished.connect(self._on_threshold_finished)
        self._threshold_worker = worker
        worker.start()

    def _on_threshold_computed(self, widget: OperationWidget) -> None:
        """The followed widget's preview computed its threshold (or failed: no line)."""
        if not self._alive or widget is not self._threshold_widget:
            return
        if widget.input_layer is not self._layer:
            self.follow_threshold_widget()
            return
        parameters = widget.parameters()
        if parameters.get("method", "otsu") == "manual":
            return
        self._set_threshold(widget.computed_threshold(parameters))

    def _threshold_found(self, layer: Layer, value: float) -> None:
        if self._alive and layer is self._layer and not self._threshold_pending:
            self._set_threshold(value)

    def _threshold_failed(self, layer: Layer, error: Exception) -> None:
        # the threshold widget reports its own errors; the line just goes away
        if self._alive and layer is self._layer:
            self._set_threshold(None)

    def _on_threshold_finished(self) -> None:
        self._threshold_worker = None
        if self._alive and self._threshold_pending:
            self._threshold_pending = False
            self.update_threshold()

    def _set_threshold(self, value: float | None) -> None:
        self.threshold = value
        self.canvas.threshold = value
        self.canvas.update()
        self._show_insight()
