"""The numbers behind the picture: a table of pixel values around the mouse cursor.

For teaching that an image is an array: the selected layer's values in a square
around the cursor, on the plane the dims sliders show, each cell shaded as the
canvas shades it (colormap, contrast limits and gamma; labels in their colours).
"""

import math

import napari
import numpy as np
from napari.layers import Image, Labels, Layer
from qtpy.QtCore import QRect, Qt
from qtpy.QtGui import QBrush, QColor, QFont, QPainter, QPen
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..io_tiff import physical_unit
from ._axes import axis_names
from ._dock import keep_narrow, share_when_docked
from ._layers import is_preview, layer_data
from ._lifetime import DockLifetime, disconnect_all, disconnector

__all__ = ["PixelGrid", "format_value", "window_at"]

DEFAULT_SIZE = 11
MAX_SIZE = 31


def format_value(value) -> str:
    """Short text for one pixel value.

    Integers as they are; floats with 3 significant digits, in scientific
    notation when tiny or huge; ``NaN`` and ``inf`` spelled out.

    Examples
    --------
    >>> [format_value(v) for v in (np.uint16(4095), 12.3456, 1.5e-7, np.nan, -np.inf)]
    ['4095', '12.3', '1.50e-07', 'NaN', '-inf']
    """
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | np.integer):
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if 1e-3 <= magnitude < 1e5:
        decimals = max(0, 2 - math.floor(math.log10(magnitude)))
        return f"{value:.{decimals}f}"
    return f"{value:.2e}"


def window_at(
    layer: Layer, world_position, displayed: tuple[int, int], size: int
) -> tuple[np.ndarray, tuple[int, int], tuple[int, ...] | None]:
    """The ``size`` x ``size`` values of ``layer`` around ``world_position``.

    Parameters
    ----------
    layer : napari Image or Labels layer
    world_position : sequence of float
        A point in world coordinates (all viewer axes); it picks the plane too.
    displayed : pair of int
        The layer's data axes shown as rows and columns.
    size : int
        Side of the square (odd).

    Returns
    -------
    values : numpy.ndarray
        The part of the square inside the data, rows x columns (x channels
        for RGB); empty when the point is outside.
    origin : (int, int)
        Data row and column of ``values[0, 0]``.
    centre : tuple of int or None
        Data index of the pixel under the point, None when outside.
    """
    data = layer_data(layer)
    ndim = layer.ndim
    position = np.asarray(layer.world_to_data(world_position), dtype=float)
    # (np.round, as napari picks the plane and get_value's pixel: halves to even)
    centre = tuple(int(np.round(p)) for p in position[-ndim:])
    row_axis, col_axis = displayed
    half = size // 2
    empty = np.empty((0, 0) + data.shape[ndim:], dtype=data.dtype)
    inside = all(0 <= c < n for c, n in zip(centre, data.shape[:ndim], strict=True))
    index: list = list(centre)
    bounds = []
    for axis in (row_axis, col_axis):
        low = max(centre[axis] - half, 0)
        high = min(centre[axis] + half + 1, data.shape[axis])
        index[axis] = slice(low, max(low, high))
        bounds.append(low)
    planes_inside = all(
        0 <= centre[a] < data.shape[a] for a in range(ndim) if a not in (row_axis, col_axis)
    )
    if not planes_inside:
        return empty, (centre[row_axis] - half, centre[col_axis] - half), None
    values = np.asarray(data[tuple(index)])
    if row_axis > col_axis:
        values = np.swapaxes(values, 0, 1)
    if values.shape[0] == 0 or values.shape[1] == 0:
        return empty, (bounds[0], bounds[1]), None
    return values, (bounds[0], bounds[1]), centre if inside else None


def _shades(layer: Layer, values: np.ndarray) -> np.ndarray:
    """RGBA (0..1) of each value as the canvas shows it; alpha 0 for no shading."""
    if isinstance(layer, Labels):
        return np.asarray(layer.colormap.map(np.asarray(values)), dtype=float).reshape(
            (*values.shape[:2], 4)
        )
    low, high = (float(c) for c in layer.contrast_limits)
    span = high - low if high > low else 1.0
    with np.errstate(invalid="ignore"):
        normalized = np.clip((values.astype(float) - low) / span, 0.0, 1.0) ** layer.gamma
    if getattr(layer, "rgb", False):
        channels = normalized[..., :3]
        colours = np.concatenate([channels, np.ones((*channels.shape[:2], 1))], axis=-1)
    else:
        flat = np.nan_to_num(normalized.ravel(), nan=0.0)
        colours = np.asarray(layer.colormap.map(flat), dtype=float).reshape((*values.shape, 4))
    invalid = ~np.isfinite(normalized).reshape(*values.shape[:2], -1).all(axis=-1)
    colours[invalid, 3] = 0.0
    return colours


# The widest the table makes its dock (beyond, its columns scroll): the canvas keeps
# most of a 1280-px window.
_MAX_TABLE_WIDTH = 480


class _CentreDelegate(QStyledItemDelegate):
    """Draws a frame around the cell under the cursor."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.centre: tuple[int, int] | None = None

    def paint(self, painter: QPainter, option, index) -> None:
        super().paint(painter, option, index)
        if self.centre == (index.row(), index.column()):
            painter.save()
            painter.setPen(QPen(QColor(255, 64, 64), 3))
            rect: QRect = option.rect.adjusted(1, 1, -2, -2)
            painter.drawRect(rect)
            painter.restore()


class PixelGrid(QWidget):
    """Pixel values of the selected layer around the mouse cursor.

    The table follows the cursor and the dims sliders; its headers are the
    data row and column indices, the framed cell is the pixel under the cursor.
    :meth:`values_at` gives the numbers for any world position.
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        # napari hands plugins a proxy that re-wraps layers; compare by identity.
        self.viewer = getattr(viewer, "__wrapped__", viewer)
        self.layer: Layer | None = None
        self._layer_connections: list = []

        self._size = QSpinBox()
        self._size.setRange(3, MAX_SIZE)
        self._size.setSingleStep(2)
        self._size.setValue(DEFAULT_SIZE)
        self._size.setToolTip("Number of pixels per side (odd)")
        self._title = QLabel()
        keep_narrow(self._title)  # (a long name, a message naming it)
        self._position = QLabel()
        self._position.setWordWrap(True)
        self._position.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._table = QTableWidget()
        self._table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self._table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self._table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._delegate = _CentreDelegate(self._table)
        self._table.setItemDelegate(self._delegate)
        font = QFont(self._table.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        self._table.setFont(font)
        self._table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._table.setSizeAdjustPolicy(QTableWidget.SizeAdjustPolicy.AdjustToContents)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("size"))
        controls.addWidget(self._size)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self._title)
        layout.addLayout(controls)
        layout.addWidget(self._table)
        layout.addWidget(self._position)
        layout.addStretch(1)
        share_when_docked(self)  # a fair share of its column's height

        self._size.valueChanged.connect(self._on_size)
        self._connections = [
            (self.viewer.cursor.events.position, self.refresh),
            (self.viewer.dims.events.current_step, self.refresh),
            (self.viewer.dims.events.ndisplay, self.refresh),
            (self.viewer.dims.events.order, self.refresh),
            (self.viewer.layers.selection.events.active, self._on_active),
            (self.viewer.layers.selection.events.changed, self._on_active),  # (several)
        ]
        for emitter, callback in self._connections:
            emitter.connect(callback)
        # closing the dock (napari keeps the widget) or deleting it lets go of the viewer
        self._lifetime = DockLifetime(
            self, disconnector(self._connections, self._layer_connections)
        )
        self.shown_values: np.ndarray = np.empty((0, 0))
        self._resize_table()
        self._on_active()

    # --- state --------------------------------------------------------------------

    @property
    def window_size(self) -> int:
        """Side of the square of pixels (odd)."""
        return self._size.value()

    @window_size.setter
    def window_size(self, value: int) -> None:
        self._size.setValue(int(value))

    def _on_size(self, value: int) -> None:
        if value % 2 == 0:  # keep a centre pixel
            self._size.setValue(value + 1)
            return
        self._resize_table()
        self.refresh()

    def _resize_table(self) -> None:
        n = self.window_size
        self._table.setMinimumWidth(0)
        self._table.clear()
        self._table.setRowCount(n)
        self._table.setColumnCount(n)
        for row in range(n):
            for col in range(n):
                item = QTableWidgetItem("")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self._table.setItem(row, col, item)

    def _on_active(self, event=None) -> None:
        disconnect_all(self._layer_connections)
        self._table.setMinimumWidth(0)
        selection = self.viewer.layers.selection
        active = selection.active
        if active is None:  # several selected: the topmost image or labels layer of them
            shown = [la for la in self.viewer.layers if la in selection and not is_preview(la)]
            active = next((la for la in reversed(shown) if isinstance(la, Image | Labels)), None)
        self.layer = active if isinstance(active, Image | Labels) else None
        if self.layer is not None:
            # (labels_update: painting and filling, which change the data in place;
            # set_data: a layer refreshed, as undo and redo of them do)
            for name in ("data", "contrast_limits", "colormap", "gamma", "scale", "translate",
                         "labels_update", "set_data", "name"):
                emitter = getattr(self.layer.events, name, None)
                if emitter is not None:
                    emitter.connect(self.refresh)
                    self._layer_connections.append((emitter, self.refresh))
        self.refresh()

    def _displayed_axes(self, layer: Layer) -> tuple[int, int] | None:
        """The layer axes shown as rows and columns, or None (3D view, axis not in layer)."""
        if self.viewer.dims.ndisplay != 2:
            return None
        offset = self.viewer.dims.ndim - layer.ndim
        axes = tuple(a - offset for a in self.viewer.dims.displayed[-2:])
        return axes if min(axes) >= 0 else None

    def cursor_world_position(self) -> tuple[float, ...]:
        """The cursor on the displayed axes, the dims point on the others."""
        point = list(self.viewer.dims.point)
        cursor = tuple(self.viewer.cursor.position)
        if len(cursor) == len(point):
            for axis in self.viewer.dims.displayed:
                point[axis] = cursor[axis]
        return tuple(point)

    # --- values -----------------------------------------------------------------------

    def values_at(self, world_position) -> tuple[np.ndarray, tuple[int, int]]:
        """Values of the selected layer around ``world_position`` on its plane.

        Returns
        -------
        values : numpy.ndarray
            Rows x columns of the part of the square inside the data (empty
            outside, or in a 3D view).
        origin : (int, int)
            Data row and column of ``values[0, 0]``.
        """
        layer = self.layer
        if layer is None:
            return np.empty((0, 0)), (0, 0)
        axes = self._displayed_axes(layer)
        if axes is None:
            return np.empty((0, 0)), (0, 0)
        values, origin, _ = window_at(layer, world_position, axes, self.window_size)
        return values, origin

    def refresh(self, event=None) -> None:
        """Redraw the table for the current cursor, plane and layer."""
        layer = self.layer
        n = self.window_size
        self._delegate.centre = None
        if layer is None:
            self._show_message("Select an image or labels layer.")
            return
        axes = self._displayed_axes(layer)
        if axes is None:
            self._show_message(
                f"{layer.name}: pixel values follow the cursor in the 2D view."
                if self.viewer.dims.ndisplay != 2
                else f"{layer.name} has no pixels on the axes shown (a plane seen from aside)."
            )
            return
        world = self.cursor_world_position()
        values, origin, centre = window_at(layer, world, axes, n)
        self.shown_values = values
        position = np.asarray(layer.world_to_data(world), dtype=float)
        centre_rc = [int(np.round(position[a])) for a in axes]
        first = (centre_rc[0] - n // 2, centre_rc[1] - n // 2)
        self._title.setText(f"<b>{layer.name}</b> ({np.dtype(layer.dtype).name})")
        self._table.setVerticalHeaderLabels([str(first[0] + r) for r in range(n)])
        self._table.setHorizontalHeaderLabels([str(first[1] + c) for c in range(n)])
        shades = _shades(layer, values) if values.size else None
        offset = (origin[0] - first[0], origin[1] - first[1])
        default = QBrush()
        for row in range(n):
            for col in range(n):
                item = self._table.item(row, col)
                r, c = row - offset[0], col - offset[1]
                if values.size and 0 <= r < values.shape[0] and 0 <= c < values.shape[1]:
                    value = values[r, c]
                    text = (
                        ",".join(format_value(v) for v in value)
                        if np.ndim(value) else format_value(value)
                    )
                    item.setText(text)
                    self._paint(item, shades[r, c])
                else:
                    item.setText("")
                    item.setBackground(default)
                    item.setForeground(default)
        self._delegate.centre = (n // 2, n // 2)
        self._fit_width()
        if self._table.horizontalScrollBar().maximum() > 0:  # (wide cells scroll: keep it shown)
            self._table.scrollToItem(
                self._table.item(n // 2, n // 2), QAbstractItemView.ScrollHint.PositionAtCenter
            )
        self._table.viewport().update()
        self._position.setText(self._describe(layer, centre, values, origin))

    def _fit_width(self) -> None:
        """Widen the table to show every column, up to :data:`_MAX_TABLE_WIDTH`.

        Never narrower while on one layer (the dock would jump as values change);
        wider columns scroll (an RGB layer's ``r,g,b`` cells needed 884 px, which
        squeezed the canvas to a strip, and the dock kept that width after).
        """
        table = self._table
        table.resizeColumnsToContents()
        needed = (
            table.verticalHeader().sizeHint().width()
            + table.horizontalHeader().length()
            + 2 * table.frameWidth()
            + 4
        )
        needed = min(needed, _MAX_TABLE_WIDTH)
        if needed > table.minimumWidth():
            table.setMinimumWidth(needed)

    def _paint(self, item: QTableWidgetItem, rgba: np.ndarray) -> None:
        if rgba[3] <= 0:
            item.setBackground(QBrush())
            item.setForeground(QBrush())
            return
        r, g, b = (float(v) for v in rgba[:3])
        item.setBackground(QBrush(QColor.fromRgbF(r, g, b)))
        light = 0.299 * r + 0.587 * g + 0.114 * b > 0.5
        item.setForeground(QBrush(QColor(Qt.GlobalColor.black if light else Qt.GlobalColor.white)))

    def _describe(self, layer: Layer, centre, values, origin) -> str:
        if centre is None:
            return "cursor outside the data"
        labels = axis_names(self.viewer, layer)
        value = np.asarray(layer_data(layer)[centre])
        text = "value " + (
            ",".join(format_value(v) for v in value) if value.ndim else format_value(value[()])
        )
        index = ", ".join(f"{a}={i}" for a, i in zip(labels, centre, strict=True))
        text += f"<br>pixel: {index}"
        units = getattr(layer, "units", None)
        scaled = not np.allclose(layer.scale, 1.0) or (
            units is not None and any(str(u) != "pixel" for u in units)
        )
        if scaled:
            world = layer.data_to_world(np.asarray(centre, dtype=float))
            # (no unit, napari's "pixel", beside scaled numbers: they are not pixels)
            unit_text = [
                physical_unit(u) or ""
                for u in (units if units is not None else [None] * layer.ndim)
            ]
            physical = ", ".join(
                f"{a}={float(w):g} {u}".rstrip()
                for a, w, u in zip(labels, world, unit_text, strict=True)
            )
            text += f"<br>position: {physical}"
        return text

    def _show_message(self, message: str) -> None:
        self.shown_values = np.empty((0, 0))
        self._title.setText(message)
        self._position.setText("")
        for row in range(self._table.rowCount()):
            for col in range(self._table.columnCount()):
                item = self._table.item(row, col)
                item.setText("")
                item.setBackground(QBrush())
        self._table.viewport().update()

    def cell_text(self, row: int, col: int) -> str:
        """The text shown in one cell (row and column of the table)."""
        return self._table.item(row, col).text()
