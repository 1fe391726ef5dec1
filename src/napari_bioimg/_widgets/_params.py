"""magicgui widgets for registry parameters: sliders, drop-downs, check boxes."""

import math

import numpy as np
from magicgui import widgets
from magicgui.widgets.bases import ValueWidget

from ..ops.registry import Parameter
from ._layers import finite_extremes, subsample

_POWERS = {2: "²", 3: "³"}


# Beyond this magnitude magicgui's float sliders lose digits (their int32 positions):
# parameters without unit spanning more get a spin box.
_SLIDER_LIMIT = 1e5

# A size's number box takes values beyond its slider's end, up to this many times the
# registry's range (a top-hat slider ends at 50 px, Fiji's rolling balls reach 200 px);
# the slider then grows to hold the value typed.
TYPED_BEYOND = 10
_BOX_MAXIMUM = 1e9  # (what the box takes while typing; more than TYPED_BEYOND shows as that)


def make_widget(parameter: Parameter, axes=None) -> ValueWidget:
    """A widget for ``parameter`` with the registry's range, step and default.

    An axis parameter is a drop-down of the input's axes by name (``axes``: a
    callable giving ``(name, axis)`` pairs, axes counted from the last, -1 = x).
    """
    label = parameter.name.replace("_", " ")
    tooltip = parameter.description or None
    if parameter.ndim_range == "axis":
        axes = axes or (lambda _widget=None: [("z", -3), ("y", -2), ("x", -1)])
        return widgets.ComboBox(choices=axes, label=label, tooltip=tooltip)
    if parameter.kind == "choice":
        return widgets.ComboBox(
            value=parameter.default, choices=parameter.choices, label=label, tooltip=tooltip
        )
    if parameter.kind == "bool":
        return widgets.CheckBox(value=parameter.default, label=label, tooltip=tooltip)
    if parameter.kind == "ints":
        text = "" if parameter.default is None else str(parameter.default)
        return widgets.LineEdit(value=text, label=label, tooltip=ints_tooltip(parameter))
    if parameter.kind == "int":
        return widgets.Slider(
            value=parameter.default,
            min=int(parameter.minimum),
            max=int(parameter.maximum),
            step=int(parameter.step or 1),
            label=label,
            tooltip=tooltip,
        )
    minimum = 0.0 if parameter.minimum is None else parameter.minimum
    maximum = 1.0 if parameter.maximum is None else parameter.maximum
    default = minimum if parameter.default is None else parameter.default
    step = parameter.step or (maximum - minimum) / 100
    if _plain(parameter) and max(abs(minimum), abs(maximum)) > _SLIDER_LIMIT:
        # (a slider to 1e6 overflowed on its step, or rounded a default of 2 to 0)
        return widgets.FloatSpinBox(
            value=default, min=minimum, max=maximum, step=step, label=label, tooltip=tooltip
        )
    factor = slider_factor(parameter)  # (the widget's parameters() takes it back)
    slider = widgets.FloatSlider(
        value=to_shown(default, factor),
        min=to_shown(minimum, factor),
        max=to_shown(maximum, factor),
        step=to_shown(step, factor),
        label=label + factor_text(factor),
        tooltip=tooltip,
    )
    if is_size(parameter):
        type_beyond(slider, maximum * TYPED_BEYOND)
    return slider


def is_size(parameter: Parameter) -> bool:
    """A size slider (radius, sigma, min_size): its box takes values past its end."""
    return (
        parameter.kind == "float" and parameter.unit in ("length", "volume")
        and not (parameter.strict or parameter.from_data) and parameter.maximum is not None
    )


def type_beyond(slider: widgets.FloatSlider, limit: float) -> None:
    """Let ``slider``'s number box take values up to ``limit``, past the slider's end.

    magicgui's box shares its slider's range: a radius of 100 typed in a box
    ending at 50 lost its last keystroke and the radius stayed 10, saying
    nothing. The box now takes any number (a larger one shows as ``limit``), and
    the slider grows to hold it (:func:`hold`).
    """
    backend = slider._widget
    box = backend._readout_widget
    backend.typed_limit = limit
    set_max = backend._mgui_set_max

    def set_max_and_box(value):  # (magicgui gives the box the slider's end again)
        set_max(value)
        _open_box(backend, box)

    backend._mgui_set_max = set_max_and_box
    _open_box(backend, box)
    box.editingFinished.disconnect(backend._on_readout_change)

    def typed() -> None:
        hold(slider, min(box.value(), backend.typed_limit))
        box.setValue(slider.value)  # (past the limit: the box shows the value taken)

    box.editingFinished.connect(typed)


def _open_box(backend, box) -> None:
    """Let the box take every keystroke, as wide as the numbers it can hold.

    (A box's maximum refuses a keystroke that passes it: 600 typed where 500 is
    the most read 60.)
    """
    box.setMaximum(max(backend.typed_limit, backend._mgui_get_max()))
    width = box.sizeHint().width()  # (one for numbers up to 1e9 widened the dock)
    box.setMaximum(_BOX_MAXIMUM)
    box.setFixedWidth(width)


def hold(control: ValueWidget, value) -> None:
    """Set ``control`` to ``value``; a size slider grows to hold a value past its end.

    Up to the limit its box takes (:func:`type_beyond`); beyond, magicgui's error.
    """
    limit = getattr(getattr(control, "_widget", None), "typed_limit", None)
    if limit is not None and control.max < value <= max(limit, control.max):
        control.max = value
    control.value = value


def ints_tooltip(parameter: Parameter, names=None) -> str:
    """How a per-axis box reads its numbers, with the input's axes ``names`` in order."""
    order = f": {', '.join(names)}" if names else ""
    if parameter.in_plane:
        return (
            f"{parameter.description}: one number for y and x (the other axes whole, as "
            f"Fiji's Reduce in the plane), or one per axis separated by commas{order}; "
            "fewer numbers are for the last axes (2, 2: y and x)"
        )
    return (
        f"{parameter.description} (one number, or one per axis separated by commas, "
        f"from the first{order})"
    )


def in_plane_values(value, ndim: int):
    """One value per axis of what was typed in an ``in_plane`` box, for ``ndim`` axes.

    One number is for y and x, fewer numbers than axes for the last ones; the
    axes before them get 1 (kept whole): 2 on a ``z, y, x`` stack is ``[1, 2, 2]``.
    """
    if value is None:
        return None
    values = [value, value] if np.isscalar(value) else list(value)
    return [1] * (ndim - len(values)) + values


def _plain(parameter: Parameter) -> bool:
    """A float without unit whose range is the registry's (not a size, not data values)."""
    return parameter.kind == "float" and not parameter.from_data and parameter.unit == "none"


def to_shown(value: float, factor: float) -> float:
    """``value`` as a slider divided by ``factor`` shows it (0.3 / 0.1: 3.0, not 2.9999...)."""
    return value if factor == 1.0 else float(f"{value / factor:.12g}")


def from_shown(value: float, factor: float) -> float:
    """The value a slider divided by a power of ten ``factor`` shows as ``value``."""
    if factor == 1.0:
        return value
    return float(f"{value / round(1 / factor) if factor < 1 else value * factor:.12g}")


def slider_factor(parameter: Parameter) -> float:
    """The power of ten a float slider without unit shows its values divided by (1: none).

    magicgui's sliders show two decimals: a parameter of 0..0.01 (``eps = 1e-3``)
    read 0.00 and its steps could not be told apart; such ranges are shown from
    10 to 100 (``eps (×1e-03)``: 0..10). Larger ranges stay as they are (a factor
    would hide small values of a wide range); those beyond 1e5 get a spin box.
    Sizes in a unit and data values get factors of their own.
    """
    if not _plain(parameter):
        return 1.0
    low = 0.0 if parameter.minimum is None else parameter.minimum
    high = 1.0 if parameter.maximum is None else parameter.maximum
    largest = max(abs(low), abs(high))
    return 10.0 ** (math.floor(math.log10(largest)) - 1) if 0 < largest < 1 else 1.0


def read_value(parameter: Parameter, widget: ValueWidget):
    """The widget's value as the core expects it (``ints`` text parsed)."""
    if isinstance(widget, widgets.FloatSlider):
        return _untruncated(widget)
    if parameter.kind != "ints":
        return widget.value
    text = str(widget.value).strip().strip("()[]")
    if not text:
        return None
    values = []
    for item in text.split(","):
        item = item.strip()
        if item.lower() in ("", "none", ":"):
            values.append(None)
            continue
        try:
            values.append(int(item))
        except ValueError:
            raise ValueError(
                f"parameter {parameter.name!r} takes whole numbers separated by commas, "
                f"got {text!r}"
            ) from None
    return values[0] if len(values) == 1 else values


def _untruncated(slider: widgets.FloatSlider) -> float:
    """A float slider's value, less magicgui's truncation of the values set on it.

    magicgui keeps ``int(value * precision)`` ticks: 33.3 set (or typed in its box)
    reads back 33.299999, and a recorded step said so. Any value in the tick's
    span, up to one tick away from zero, gives that tick: the shortest decimal
    there is the value meant; a value dragged to a tick is that tick itself.
    """
    value = slider.value
    tick = 1.0 / getattr(slider._widget, "_precision", 1e6)
    size, sign = abs(value), math.copysign(1.0, value)
    tolerance = 1e-9 * max(1.0, size)
    for decimals in range(16):
        candidate = round(size, decimals)
        if size - tolerance <= candidate <= size + tick + tolerance:
            return sign * candidate
    return value


def unit_label(parameter: Parameter, unit: str, ndim: int) -> str:
    """The label of a size parameter with its unit: ``radius (µm)``."""
    name = parameter.name.replace("_", " ")
    if parameter.unit == "length":
        return f"{name} ({unit})"
    if parameter.unit == "volume":
        return f"{name} ({unit}{_POWERS.get(ndim, '')})"
    if parameter.unit == "pixels":
        return f"{name} (px)"
    return name


def data_range(data, alpha: bool = False) -> tuple[float, float]:
    """Finite minimum and maximum of ``data`` (sampled for very large arrays).

    ``alpha``: the last axis holds an RGBA image's colours, alpha left out.
    """
    array = np.asarray(subsample(data, 16_000_000)[0])  # (an RGB image's colours whole)
    if alpha:
        array = array[..., :3]
    extremes = None if array.dtype == bool else finite_extremes(array)
    if extremes is None:
        return 0.0, 1.0
    low, high = extremes
    return (low, high) if high > low else (low, low + 1.0)


def data_factor(low: float, high: float) -> float:
    """A power of ten that brings a data range within a slider's precision (1: none).

    magicgui's float sliders round their ends to a few decimals: a range of
    3e-6..1e-4 became 3e-7..1e-5 and most of the data could not be reached. Data
    whose largest magnitude is outside 1e-2..1e5 are shown divided by this factor
    (their largest value between 100 and 1000).
    """
    largest = max(abs(low), abs(high))
    if largest == 0 or 1e-2 <= largest <= 1e5:
        return 1.0
    return 10.0 ** (math.floor(math.log10(largest)) - 2)


def factor_text(factor: float) -> str:
    """`` (×1e-07)`` for a slider shown divided by ``factor``, empty for 1."""
    return "" if factor == 1.0 else f" (×{factor:.0e})"


def size_factor(parameter: Parameter, spacing) -> float | None:
    """How many layer units one pixel of a size parameter is (None: not a size).

    A length slider spans the registry's range in pixels, shown in the layer's
    unit (a radius of 30 px is 1.95 µm at 65 nm pixels); a volume, in voxels.
    """
    if parameter.kind != "float" or parameter.unit not in ("length", "volume") or not spacing:
        return None
    pixel = float(spacing[-1])
    return pixel if parameter.unit == "length" else float(np.prod(spacing))


def shown_in_pixels(spacing) -> bool:
    """Whether size sliders show pixels: the layer's numbers are beyond their precision.

    Pixels of more than 1e4 or less than 1e-3 layer units (sizes in m or km);
    the widget converts what they show to layer units.
    """
    return bool(spacing) and not 1e-3 <= float(spacing[-1]) <= 1e4


def set_range(control, low: float, high: float, step: float) -> None:
    """Give a slider the range ``low..high`` and then its ``step``.

    (magicgui's float slider takes a minimum above its current maximum as a tenth
    of it, and a step set before a wider range as ten times bigger: the maximum
    goes first, and the step last.)
    """
    control.max = max(high, control.min)
    control.min = low
    control.max = high
    control.step = step


def set_size_range(parameter: Parameter, control, factor: float, pixels: float) -> None:
    """Scale a size slider to ``factor`` layer units per pixel, showing ``pixels`` pixels.

    A slider grown to hold a size typed past its end keeps holding it.
    """
    step = (parameter.step or (parameter.maximum - parameter.minimum) / 100) * factor
    backend = control._widget
    if hasattr(backend, "typed_limit"):
        backend.typed_limit = parameter.maximum * TYPED_BEYOND * factor
    high = max(parameter.maximum, min(pixels, parameter.maximum * TYPED_BEYOND))
    set_range(control, parameter.minimum * factor, high * factor, step)
    control.value = min(max(pixels * factor, control.min), control.max)
