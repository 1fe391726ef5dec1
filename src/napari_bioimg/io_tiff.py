"""Read TIFF files, and folders of TIFF slices, with their voxel size (no napari, no Qt).

The voxel size comes from, in this order of preference:

* OME-TIFF: ``PhysicalSizeX/Y/Z`` and their units in the OME-XML;
* ImageJ TIFF: ``unit`` and ``spacing`` in the ImageJ description, pixel width and
  height from the X/YResolution tags (pixels per unit, so size = 1 / resolution);
* other TIFFs: X/YResolution with ResolutionUnit centimetre or inch (72 and 96 dpi,
  the defaults of screen software, are taken as "no calibration"), and ``unit`` and
  ``spacing`` from tifffile's JSON description when present;
* sequences of 2D slices exported from DICOM by ImageJ: the slice distance from
  the DICOM header that ImageJ keeps in each file's Info property.

When the distance between slices is not recorded it is guessed as Fiji does (1.0
for a single multi-page file, the pixel width for a sequence of 2D files) and
``extra["z_spacing_known"]`` is False, so that an interface can ask the user; so
it is for a guess that `napari_bioimg.pipeline` wrote (``napari_spacing=guessed``
beside ``spacing``).
"""

import glob
import logging
import math
import os
import re
import threading
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import tifffile

__all__ = [
    "LENGTH_UNITS",
    "TIFF_SUFFIXES",
    "TiffImage",
    "canonical_unit",
    "is_pattern",
    "is_tiff",
    "length_factor",
    "natural_key",
    "read_stack",
    "read_tiff",
    "tiff_paths",
]

TIFF_SUFFIXES = (".tif", ".tiff")
PathLike = str | os.PathLike

# Length of one unit in metres, to bring every axis to the unit of x.
_METRES = {"nm": 1e-9, "µm": 1e-6, "mm": 1e-3, "cm": 1e-2, "m": 1.0, "inch": 0.0254}
# The length units by their usual spelling (:func:`canonical_unit`): those a
# ``set_voxel_size`` step can name.
LENGTH_UNITS = tuple(_METRES)
_UNIT_ALIASES = {
    "nm": "nm",
    "nanometer": "nm",
    "nanometre": "nm",
    "nanometers": "nm",
    "nanometres": "nm",
    "um": "µm",
    "µm": "µm",
    "μm": "µm",
    "\\u00b5m": "µm",
    "micron": "µm",
    "microns": "µm",
    "micrometer": "µm",
    "micrometre": "µm",
    "micrometers": "µm",
    "micrometres": "µm",
    "mm": "mm",
    "millimeter": "mm",
    "millimetre": "mm",
    "millimeters": "mm",
    "millimetres": "mm",
    "cm": "cm",
    "centimeter": "cm",
    "centimetre": "cm",
    "centimeters": "cm",
    "centimetres": "cm",
    "m": "m",
    "meter": "m",
    "metre": "m",
    "meters": "m",
    "metres": "m",
    "inch": "inch",
    "inches": "inch",
    "in": "inch",
}
_NO_UNIT = {"", "pixel", "pixels", "px", "pix", "css_pixel"}  # (pint reads px as css_pixel)
_SCREEN_DPI = (72.0, 96.0)
_GLOB_CHARACTERS = re.compile(r"[*?[]")
_GENERIC_STACK_AXES = ("I", "Q")


class TiffImage(NamedTuple):
    """Pixels with their calibration, as returned by `read_tiff` and `read_stack`.

    Unpacks as ``data, spacing, unit, extra = read_tiff(path)``.

    Attributes
    ----------
    data : numpy.ndarray
        The pixels, axes as in ``extra["axes"]``.
    spacing : tuple of float
        Pixel size along every axis of ``data`` except the channel axis and the RGB
        samples axis, in ``unit``: napari's ``scale``. Axes that are not spatial
        (time, ...) get 1.0.
    unit : str or None
        Unit of the spatial axes (``"µm"``, ``"nm"``, ``"mm"``, ...), None when the
        file has no calibration (sizes then in pixels).
    extra : dict
        ``axes`` (tifffile letters: ``Z``, ``Y``, ``X``, ``C`` channels, ``S`` RGB
        samples, ``T`` time), ``channel_axis`` (int or None), ``rgb`` (bool),
        ``channel_names`` (list of str or None), ``z_spacing_known`` (bool, only when
        there is a ``Z`` axis), ``spacing_source`` (where the sizes were read),
        ``contrast_limits`` and ``colormaps`` (per channel, from ImageJ, or None),
        ``luts`` (ImageJ's channel LUTs as they are, ``(3, 256)`` uint8 arrays, or None),
        ``path`` or ``paths``.
    """

    data: np.ndarray
    spacing: tuple[float, ...]
    unit: str | None
    extra: dict[str, Any]

    @property
    def scale_axes(self) -> str:
        """The axis letters that ``spacing`` describes (all but channels and RGB)."""
        axes, channel_axis = self.extra["axes"], self.extra["channel_axis"]
        channel = None if channel_axis is None else channel_axis % len(axes)
        return "".join(
            a for i, a in enumerate(axes) if i != channel and not (a == "S" and self.extra["rgb"])
        )

    @property
    def spatial_spacing(self) -> tuple[float, ...]:
        """Pixel size along the Z, Y and X axes only (``spacing`` of the ops functions)."""
        return tuple(s for a, s in zip(self.scale_axes, self.spacing, strict=True) if a in "ZYX")

    @property
    def frame_interval(self) -> tuple[float, str] | None:
        """``(interval, unit)`` between the frames of a time-lapse (ImageJ's ``finterval``).

        None without a ``T`` axis or without a known time unit.
        """
        unit = self.extra.get("time_unit")
        if unit is None or "T" not in self.scale_axes:
            return None
        return self.spacing[self.scale_axes.index("T")], unit


@dataclass
class _Calibration:
    """Pixel sizes by axis letter, in ``unit``, and where they came from."""

    sizes: dict[str, float] = field(default_factory=dict)
    unit: str | None = None
    source: str = "none"
    channel_names: list[str] | None = None
    contrast_limits: list[tuple[float, float]] | None = None
    colormaps: list[str | None] | None = None
    luts: list[np.ndarray] | None = None  # ImageJ's own, one per channel
    layer: str | None = None  # "labels": written from a labels layer (``napari_layer``)
    z_guessed: bool = False  # sizes["Z"] written as a guess (``napari_spacing=guessed``)
    dicom: dict[str, float] = field(default_factory=dict)
    time_unit: str | None = None  # of sizes["T"], the frame interval


# --- units ------------------------------------------------------------------------


# ImageJ's time units (``tunit``) as pint reads them.
_TIME_UNITS = {"sec": "s", "s": "s", "second": "s", "seconds": "s", "min": "min",
               "minute": "min", "minutes": "min", "ms": "ms", "msec": "ms", "h": "h",
               "hr": "h", "hour": "h", "hours": "h", "us": "µs", "µs": "µs", "usec": "µs"}


def _time_unit(text) -> str | None:
    """ImageJ's ``tunit`` as pint reads it ("s", "min", "day"); None if it is no time."""
    text = str(text).strip().replace("\\u00B5", "µ").replace("\\u00b5", "µ")
    if text.lower() in _TIME_UNITS:
        return _TIME_UNITS[text.lower()]
    if not text.isalpha():  # (one word: pint's parser fails in many ways on other text)
        return None
    try:
        import pint
    except ImportError:  # (a headless install without napari: the table's units only)
        return None
    try:
        unit = pint.get_application_registry().parse_units(text)
    except (pint.errors.PintError, ValueError):
        return None
    return format(unit, "~") if unit.dimensionality == {"[time]": 1} else None


def canonical_unit(unit: str | None) -> str | None:
    r"""Return the usual spelling of a length unit, or None for "pixel"/missing.

    ImageJ writes micrometres as ``micron``, ``um`` or ``\u00B5m``; OME as ``µm``.
    Unknown units are returned stripped but otherwise unchanged.

    Examples
    --------
    >>> canonical_unit("micron")
    'µm'
    >>> canonical_unit("pixel") is None
    True
    """
    if unit is None:
        return None
    text = str(unit).strip()
    if text.lower() in _NO_UNIT:
        return None
    if text in _UNIT_ALIASES:
        return _UNIT_ALIASES[text]
    # Names in any case (Micron, METERS), symbols in capitals (UM, MM) but not in mixed
    # case: Mm is a megametre.
    lower = text.lower()
    known = lower in _UNIT_ALIASES and (len(lower) > 3 or text.isupper())
    return _UNIT_ALIASES[lower] if known else text


def physical_unit(unit) -> str | None:
    """A unit as abbreviated text ("µm"); None for none or napari's "pixel"."""
    if unit is None:
        return None
    text = format(unit, "~") if hasattr(unit, "dimensionality") else str(unit)
    return None if text in ("", "pixel", "px", "None") else text


def length_factor(from_unit, to_unit) -> float | None:
    """What one ``from_unit`` is in ``to_unit`` (any spelling; 1000 from mm to µm).

    Units of :data:`LENGTH_UNITS` by a table; other lengths (ångström, foot) by
    pint, when it is installed (napari brings it). None unless both are lengths:
    not for pixels.

    >>> length_factor("millimeter", "µm")
    1000.0
    >>> length_factor("pixel", "µm") is None
    True
    """
    source, target = canonical_unit(from_unit), canonical_unit(to_unit)
    return None if source is None or target is None else _conversion(source, target)


def _pint_length_factor(from_unit: str, to_unit: str) -> float | None:
    """What one ``from_unit`` is in ``to_unit`` by pint; None if either is no length."""
    if not (from_unit.isalpha() and to_unit.isalpha()):  # (pint's parser fails in many ways)
        return None
    try:
        import pint
    except ImportError:  # (a headless install without napari: the table's units only)
        return None
    registry = pint.get_application_registry()
    try:
        source, target = registry.Unit(from_unit), registry.Unit(to_unit)
    except (pint.errors.PintError, ValueError, TypeError, AttributeError):
        return None
    length = registry.meter.dimensionality
    if source.dimensionality != length or target.dimensionality != length:
        return None
    return float(f"{(1 * source).to(target).magnitude:.12g}")


def _conversion(from_unit: str | None, to_unit: str | None) -> float | None:
    """Factor turning a length in ``from_unit`` into ``to_unit``, None if unknown."""
    if from_unit == to_unit:
        return 1.0
    if from_unit in _METRES and to_unit in _METRES:
        # (rounded to 12 digits: 1e-3 / 1e-6 is 1000.0000000000001)
        return float(f"{_METRES[from_unit] / _METRES[to_unit]:.12g}")
    if from_unit is None or to_unit is None:
        return None
    return _pint_length_factor(from_unit, to_unit)


def _ratio(value) -> float | None:
    """Turn a TIFF RATIONAL (a (numerator, denominator) pair, or a number) into a float."""
    if value is None:
        return None
    if isinstance(value, tuple | list):
        if len(value) != 2 or not value[1]:
            return None
        value = value[0] / value[1]
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def _positive(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


# --- metadata of one file ---------------------------------------------------------


def _resolution_sizes(page: tifffile.TiffPage) -> tuple[float | None, float | None]:
    """Pixel height and width from the Y/XResolution tags (pixels per unit)."""
    sizes = []
    for name in ("YResolution", "XResolution"):
        tag = page.tags.get(name)
        resolution = _ratio(tag.value) if tag is not None else None
        sizes.append(_shortest(1.0 / resolution) if resolution else None)
    return sizes[0], sizes[1]


def _shortest(value: float) -> float:
    """Return the shortest decimal within a few ulps of ``value``.

    The rational resolution tag gave 0.65 back as 0.6499999999999999; 1/3 stays 1/3.
    """
    for digits in range(1, 18):
        candidate = float(f"{value:.{digits}g}")
        if abs(candidate - value) <= 4 * math.ulp(value):
            return candidate
    return value


def _ome_calibration(xml: str) -> _Calibration:
    calibration = _Calibration(source="OME")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return _Calibration()
    pixels = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return _Calibration()
    interval = _positive(pixels.get("TimeIncrement"))  # (seconds: the schema's default)
    time_unit = _time_unit(pixels.get("TimeIncrementUnit", "s")) if interval else None
    found = {}
    for letter in "XYZ":
        size = _positive(pixels.get(f"PhysicalSize{letter}"))
        if size is not None:
            # µm is the OME schema's default unit.
            found[letter] = (size, canonical_unit(pixels.get(f"PhysicalSize{letter}Unit", "µm")))
    if time_unit is not None:  # the frame interval of a time-lapse, as ImageJ's finterval
        calibration.sizes["T"], calibration.time_unit = interval, time_unit
    if not found:
        return calibration if time_unit is not None else _Calibration()
    # Square pixels when only one of the in-plane sizes is given.
    if "X" in found and "Y" not in found:
        found["Y"] = found["X"]
    elif "Y" in found and "X" not in found:
        found["X"] = found["Y"]
    unit = found.get("X", next(iter(found.values())))[1]
    for letter, (size, size_unit) in found.items():
        factor = _conversion(size_unit, unit)
        calibration.sizes[letter] = size * (factor if factor is not None else 1.0)
    calibration.unit = unit
    names = [
        channel.get("Name") or f"C{i}"
        for i, channel in enumerate(e for e in pixels if e.tag.rsplit("}", 1)[-1] == "Channel")
    ]
    calibration.channel_names = names or None
    return calibration


_DICOM_TAG = r"^{tag}\s[^:\n]*:\s*([-+0-9.eE]+)"


def _dicom_values(info: str) -> dict[str, float]:
    """Slice spacing and location (mm) from a DICOM header kept in ImageJ's Info."""
    values = {}
    for key, tag in (("spacing", "0018,0088"), ("location", "0020,1041")):
        match = re.search(_DICOM_TAG.format(tag=tag), info, flags=re.MULTILINE)
        if match:
            try:
                values[key] = float(match.group(1))
            except ValueError:
                continue
    if "spacing" in values and not values["spacing"] > 0:
        del values["spacing"]
    return values


def _label_lut(metadata: dict | None) -> bool:
    """Whether ImageJ shows the file with a label LUT (glasbey: labels from Fiji).

    Fiji's and MorphoLibJ's label images are saved with a glasbey LUT, which
    ImageJ names in the file's ``CurrentLUT`` property; integer ones open as
    labels layers, as napari-bioimg's own ``napari_layer=labels`` files do.
    """
    properties = (metadata or {}).get("Properties")
    lut = properties.get("CurrentLUT") if isinstance(properties, dict) else None
    return "glasbey" in str(lut or "").lower()


def _imagej_luts(luts, n_channels: int) -> list[str | None] | None:
    """Name the napari colormap matching each ImageJ LUT, when it is a plain ramp."""
    if luts is None or len(luts) != n_channels:
        return None
    names = {
        (1, 0, 0): "red",
        (0, 1, 0): "green",
        (0, 0, 1): "blue",
        (1, 1, 1): "gray",
        (1, 0, 1): "magenta",
        (0, 1, 1): "cyan",
        (1, 1, 0): "yellow",
    }
    ramp = np.arange(256)
    colormaps = []
    for lut in luts:
        lut = np.asarray(lut)
        end = tuple(int(v) for v in (lut[:, -1] == 255)) if lut.shape == (3, 256) else None
        plain = end is not None and all(
            np.array_equal(channel, ramp if on else np.zeros(256))
            for channel, on in zip(lut, end, strict=True)
        )
        colormaps.append(names.get(end) if plain else None)
    return colormaps if any(colormaps) else None


def _imagej_calibration(metadata: dict, page: tifffile.TiffPage) -> _Calibration:
    calibration = _Calibration(source="ImageJ")
    unit = canonical_unit(metadata.get("unit"))
    height, width = _resolution_sizes(page)
    if unit is None and height in (None, 1.0) and width in (None, 1.0):
        calibration.source = "none"
    for letter, size in (("Y", height), ("X", width)):
        if size is not None:
            calibration.sizes[letter] = size
    # ImageJ writes yunit and zunit only when they differ from unit.
    y_factor = _conversion(canonical_unit(metadata.get("yunit")) or unit, unit) or 1.0
    z_factor = _conversion(canonical_unit(metadata.get("zunit")) or unit, unit) or 1.0
    if "Y" in calibration.sizes:
        calibration.sizes["Y"] *= y_factor
    spacing = _positive(metadata.get("spacing"))
    if spacing is not None:
        calibration.sizes["Z"] = spacing * z_factor
    calibration.unit = unit
    interval = _positive(metadata.get("finterval"))  # (frames apart; ImageJ's unit: sec)
    if interval is not None:
        calibration.sizes["T"] = interval
        calibration.time_unit = _time_unit(metadata.get("tunit", "sec"))
    n_channels = int(metadata.get("channels", 1) or 1)
    labels = metadata.get("Labels")
    if n_channels > 1 and labels is not None and len(labels) == n_channels:
        if int(metadata.get("images", n_channels)) == n_channels:
            calibration.channel_names = [str(label) for label in labels]
    ranges = metadata.get("Ranges")
    if ranges is None and n_channels == 1 and "min" in metadata and "max" in metadata:
        ranges = (metadata["min"], metadata["max"])  # (a single channel's display range)
    if ranges is not None and len(ranges) == 2 * n_channels:
        try:
            limits = [(float(ranges[2 * i]), float(ranges[2 * i + 1])) for i in range(n_channels)]
        except (TypeError, ValueError):  # not numbers: napari's own
            limits = []
        if limits and all(
            math.isfinite(low) and math.isfinite(high) and low < high for low, high in limits
        ):
            calibration.contrast_limits = limits
    if n_channels > 1:
        calibration.colormaps = _imagej_luts(metadata.get("LUTs"), n_channels)
        luts = [np.asarray(lut) for lut in metadata.get("LUTs") or ()]
        if len(luts) == n_channels and all(lut.shape == (3, 256) for lut in luts):
            calibration.luts = luts  # (any LUT, to write it again: napari_bioimg.pipeline)
    info = metadata.get("Info")
    if isinstance(info, str) and ("0018,0088" in info or "0020,1041" in info):
        calibration.dicom = _dicom_values(info)
    return calibration


def _tiff_calibration(page: tifffile.TiffPage, shaped: dict | None = None) -> _Calibration:
    """Calibration of a plain TIFF from its resolution tags (centimetre or inch).

    tifffile's JSON description (``shaped`` metadata) may add ``unit`` and ``spacing``
    (the slice distance; its ``channel_names`` are read by the caller), as
    `napari_bioimg.pipeline` writes them for dtypes that
    ImageJ cannot hold, and its ``voxel_size`` (every spatial axis, exact, with or
    without a unit), which then wins over the tags.
    """
    shaped = shaped or {}
    written = shaped.get("voxel_size")  # napari_bioimg.pipeline's own, unit or not
    if isinstance(written, list) and 2 <= len(written) <= 3:
        sizes = [_positive(v) for v in written]
        if all(v is not None for v in sizes):
            unit = canonical_unit(shaped.get("unit"))
            return _Calibration(dict(zip("ZYX"[3 - len(sizes) :], sizes, strict=True)), unit,
                                "TIFF description")
    height, width = _resolution_sizes(page)
    unit_tag = page.tags.get("ResolutionUnit")
    resolution_unit = int(unit_tag.value) if unit_tag is not None else 2  # TIFF default: inch
    if height is None or width is None or resolution_unit not in (2, 3):
        return _Calibration()
    unit = "inch" if resolution_unit == 2 else "cm"
    if unit == "inch" and any(math.isclose(1.0 / width, dpi) for dpi in _SCREEN_DPI):
        return _Calibration()
    target = canonical_unit(shaped.get("unit"))
    if target not in _METRES:
        # Bring the sizes to a unit that reads well: µm below 0.1 mm, else mm.
        target = "µm" if width * _METRES[unit] < 1e-4 else "mm"
    factor = _METRES[unit] / _METRES[target]
    # (rounded again after the conversion: 0.65e-4 cm read 0.6499999999999999 µm)
    sizes = {"Y": _shortest(height * factor), "X": _shortest(width * factor)}
    spacing = _positive(shaped.get("spacing"))
    if spacing is not None and canonical_unit(shaped.get("unit")) == target:
        sizes["Z"] = spacing
    return _Calibration(sizes, target, "TIFF resolution")


# --- axes -------------------------------------------------------------------------


def _normalise_axes(axes: str, shape: tuple[int, ...], generic: bool, planar=False) -> str:
    """Read generic page stacks as Z, and channels-last generic data as samples.

    ``planar``: the file says its only spatial axes are Y and X (a ``voxel_size``
    of two values, as napari_bioimg.pipeline writes a batch of 2D images).
    """
    axes = axes.upper()
    if (
        generic
        and len(axes) == 3
        and axes[0] in _GENERIC_STACK_AXES
        and axes[1:] == "YX"
        and shape[-1] in (3, 4)
        and min(shape[:2]) > 8
    ):
        # tifffile reads a (Y, X, 3) minisblack array as 3-pixel-wide pages; napari
        # and most writers mean channels last.
        return "YXS"
    generic_axes = [a for a in axes if a in _GENERIC_STACK_AXES]
    if "Z" not in axes and len(generic_axes) == 1 and not planar:
        axes = axes.replace(generic_axes[0], "Z")
    return axes


def _layout(axes: str, dtype: np.dtype, shape: tuple[int, ...]) -> tuple[int | None, bool]:
    """Return (channel_axis, rgb) for data with these axes."""
    rgb = False
    channel_axis = axes.index("C") if "C" in axes else None
    if "S" in axes:
        index = axes.index("S")
        if index == len(axes) - 1 and shape[index] in (3, 4) and dtype == np.uint8:
            rgb = True
        elif channel_axis is None:
            channel_axis = index
    return channel_axis, rgb


def _assemble(
    data: np.ndarray,
    axes: str,
    calibration: _Calibration,
    *,
    z_default: float,
    extra: dict[str, Any],
) -> TiffImage:
    channel_axis, rgb = _layout(axes, data.dtype, data.shape)
    names, luts = calibration.channel_names, calibration.luts
    if channel_axis is None or len(names or ()) != data.shape[channel_axis]:
        names = None  # (one name per channel, or none: napari names each layer)
    if channel_axis is None or len(luts or ()) != data.shape[channel_axis]:
        luts = None
    spacing = []
    for index, letter in enumerate(axes):
        if index == channel_axis or (rgb and letter == "S"):
            continue
        if letter == "Z":
            spacing.append(calibration.sizes.get("Z", z_default))
        else:
            spacing.append(calibration.sizes.get(letter, 1.0))
    extra = {
        "axes": axes,
        "channel_axis": channel_axis,
        "rgb": rgb,
        "channel_names": names,
        "spacing_source": calibration.source,
        "contrast_limits": calibration.contrast_limits,
        "colormaps": calibration.colormaps if channel_axis is not None else None,
        "luts": luts,
        **extra,
    }
    if calibration.layer == "labels":
        extra["layer"] = "labels"
    if "Z" in axes:
        extra.setdefault("z_spacing_known", "Z" in calibration.sizes and not calibration.z_guessed)
    if "T" in axes and calibration.time_unit is not None:
        extra["time_unit"] = calibration.time_unit  # (sizes["T"]: the frame interval)
    return TiffImage(data, tuple(float(s) for s in spacing), calibration.unit, extra)


# --- public readers ---------------------------------------------------------------


def _series_data(tif: tifffile.TiffFile, name: str) -> tuple[np.ndarray, str]:
    """The pixels of a file's first image series and their axes (tifffile's letters).

    Images appended one by one (``tifffile.imwrite(..., append=True)``, a
    ``TiffWriter`` writing page after page) are series of one page each, which
    ImageJ opens as one stack: series of one same-shaped plane each are stacked
    along a first axis. Other files holding several series (an OME file of
    several images, a thumbnail) give the first, with a warning.
    """
    series = tif.series
    if not series:  # (a damaged file: "list index out of range" said nothing)
        raise ValueError(f"{name} holds no image: not a TIFF, or a damaged one")
    first = series[0]
    if len(series) > 1 and not tif.is_ome and all(
        s.shape == first.shape and s.dtype == first.dtype and s.axes == first.axes
        for s in series
    ) and first.axes in ("YX", "YXS"):
        return np.stack([s.asarray() for s in series]), "Q" + first.axes
    if len(series) > 1:
        warnings.warn(
            f"{name} holds {len(series)} images: only the first, of shape {first.shape}, "
            "is read", stacklevel=3,
        )
    return first.asarray(), first.axes


def _check_imagej_planes(tif: tifffile.TiffFile, data: np.ndarray, axes: str) -> None:
    """Refuse an ImageJ stack holding fewer planes than its header says: a file cut short.

    tifffile reads what is left (one plane of ten) with a log line; the stack
    opened, and ran, as one plane.
    """
    if not tif.is_imagej or not tif.imagej_metadata:
        return
    wanted = tif.imagej_metadata.get("images")
    planes = math.prod(n for n, a in zip(data.shape, axes, strict=True) if a not in "YXS")
    if isinstance(wanted, int) and planes < wanted:
        raise ValueError(f"cut short: its ImageJ header counts {wanted} planes, it holds {planes}")


class _TiffLog(logging.Filter):
    """Holds back what tifffile logs while this thread reads a file: said once, with ours."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread:  # (another thread's read)
            return True
        self.records.append(record)
        return False

    @contextmanager
    def kept(self):
        """Hold tifffile's warnings: told in a ValueError raised, else logged after.

        tifffile's errors of a damaged file ("corrupted IFD structure", "failed
        to read 294912 bytes") say so (the callers name the file).
        """
        logger = logging.getLogger("tifffile")
        logger.addFilter(self)
        try:
            yield
        except MemoryError:
            raise
        except Exception as error:  # (zlib.error, a codec's own: a damaged strip)
            text = str(error)
            if not isinstance(error, ValueError):
                text = f"damaged: {type(error).__name__}: {text}"
            elif (isinstance(error, tifffile.TiffFileError) and not text.startswith("not a TIFF")
                    or text.startswith("failed to read")):
                text = f"damaged or cut short: {text}"
            if self.records:
                # (a damaged file: tifffile's "invalid offset to first page" says where)
                said = re.sub(r"^<[^>]*>\s*", "", self.records[0].getMessage())  # (<TiffPages @8>)
                text += f" (tifffile: {said})"
            if text == str(error):
                raise
            raise ValueError(text) from error
        finally:
            logger.removeFilter(self)
        for record in self.records:
            logger.handle(record)


def _read_one(path: Path) -> tuple[np.ndarray, str, _Calibration]:
    with _TiffLog().kept(), tifffile.TiffFile(path) as tif:
        data, series_axes = _series_data(tif, Path(path).name)
        _check_imagej_planes(tif, data, series_axes)
        page = tif.pages[0]
        generic = False
        if tif.is_ome and tif.ome_metadata:
            calibration = _ome_calibration(tif.ome_metadata)
        elif tif.is_imagej and tif.imagej_metadata is not None:
            calibration = _imagej_calibration(tif.imagej_metadata, page)
        else:
            generic = True
            shaped = tif.shaped_metadata[0] if tif.is_shaped and tif.shaped_metadata else None
            calibration = _tiff_calibration(page, shaped)
        planar = generic and len((shaped or {}).get("voxel_size") or ()) == 2
        described = tif.imagej_metadata if tif.is_imagej else shaped if generic else None
        calibration.layer = (described or {}).get("napari_layer")
        names = (shaped or {}).get("channel_names") if generic else None
        if isinstance(names, list):  # (napari_bioimg.pipeline's, where ImageJ cannot hold them)
            calibration.channel_names = [str(name) for name in names]
        # (a result of napari_bioimg.pipeline whose input's slice distance was guessed)
        calibration.z_guessed = (described or {}).get("napari_spacing") == "guessed"
        if calibration.layer is None and tif.is_imagej and _label_lut(described):
            calibration.layer = "labels"
        axes = _normalise_axes(series_axes, data.shape, generic, planar)
    if len(axes) != data.ndim:  # pragma: no cover - tifffile keeps them in step
        raise ValueError(f"{path}: axes {axes!r} do not match the data shape {data.shape}")
    return data, axes, calibration


def read_tiff(path: PathLike) -> TiffImage:
    """Read the first image series of a TIFF file with its pixel size.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.tif``/``.tiff`` file: OME-TIFF, ImageJ TIFF (hyperstacks included) or
        plain TIFF.

    Returns
    -------
    TiffImage
        ``(data, spacing, unit, extra)``; see `TiffImage`. A Z axis without a recorded
        slice distance gets 1.0 (as in Fiji) and ``extra["z_spacing_known"] = False``.

    Examples
    --------
    >>> data, spacing, unit, extra = read_tiff("stack.tif")  # doctest: +SKIP
    >>> spacing, unit, extra["axes"]  # doctest: +SKIP
    ((2.0, 0.25, 0.25), 'µm', 'ZYX')
    """
    path = Path(path)
    data, axes, calibration = _read_one(path)
    return _assemble(data, axes, calibration, z_default=1.0, extra={"path": str(path)})


def natural_key(path: PathLike) -> tuple:
    """Sort key putting ``img2.tif`` before ``img10.tif`` (case-insensitive)."""
    parts = re.split(r"(\d+)", Path(path).name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def is_tiff(path: PathLike) -> bool:
    """Tell whether ``path`` has a TIFF suffix (the file need not exist)."""
    return Path(path).suffix.lower() in TIFF_SUFFIXES


def is_pattern(text: str) -> bool:
    """Whether ``text`` is a glob pattern (``exp/*.tif``), not the name of a file or folder."""
    return bool(_GLOB_CHARACTERS.search(text)) and not os.path.exists(text)


def tiff_paths(source: PathLike | Iterable[PathLike]) -> list[Path]:
    """List the TIFF files named by a folder, a glob pattern, a file or a list of files.

    Folders are not searched recursively and hidden files (``._name.tif``, left by
    macOS) are skipped. The result is in natural order (``2`` before ``10``).

    Raises
    ------
    FileNotFoundError
        If nothing matches.
    ValueError
        If a listed file is not a TIFF.
    """
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if os.path.isdir(text):
            paths = [
                p
                for p in Path(text).iterdir()
                if p.is_file() and is_tiff(p) and not p.name.startswith(".")
            ]
        elif is_pattern(text):
            paths = [Path(p) for p in glob.glob(text) if is_tiff(p) and os.path.isfile(p)]
        elif os.path.exists(text):
            paths = [Path(text)]
        else:
            raise FileNotFoundError(f"no such file or folder: {text!r}")
    else:
        paths = [Path(p) for p in source]
    not_tiff = [str(p) for p in paths if not is_tiff(p)]
    if not_tiff:
        raise ValueError(f"not TIFF files: {', '.join(not_tiff[:3])}")
    if not paths:
        raise FileNotFoundError(f"no TIFF files in {source!r}")
    return sorted(paths, key=natural_key)


def _slice_distance(calibrations: Sequence[_Calibration], unit: str | None) -> float | None:
    """Distance between slices from DICOM headers (mm) kept by ImageJ, in ``unit``."""
    factor = _conversion("mm", unit)
    if factor is None:
        return None
    spacing = calibrations[0].dicom.get("spacing")
    locations = [c.dicom.get("location") for c in calibrations]
    if len(locations) > 1 and all(loc is not None for loc in locations):
        steps = np.abs(np.diff(np.asarray(locations, dtype=float)))
        step = float(np.median(steps))
        regular = steps.min() > 0 and steps.max() <= 1.01 * steps.min()
        # The locations tell which slices are there (every other one, say); the
        # Spacing Between Slices attribute is exact when they agree with it.
        if regular and not (spacing and math.isclose(step, spacing, rel_tol=0.01)):
            return step * factor
    return spacing * factor if spacing else None


def _read_slice(path: Path) -> tuple[np.ndarray, str, _Calibration]:
    """:func:`_read_one` for one slice of a stack: errors name the file."""
    try:
        return _read_one(path)
    except Exception as error:
        raise ValueError(f"cannot read the slice {path}: {error}") from error


def read_stack(source: PathLike | Iterable[PathLike]) -> TiffImage:
    """Read TIFF slices (a folder, a glob pattern or a list of files) as one stack.

    The files are sorted in natural order and stacked along a new first axis: Z when
    the files are 2D (with or without channels), T when they already hold a Z axis.
    Pixel sizes come from the files when they all agree (as in Fiji's Image Sequence
    import). The slice distance is read from DICOM headers kept by ImageJ (Slice
    Location, else Spacing Between Slices); otherwise it is set to the pixel width,
    as Fiji does, and ``extra["z_spacing_known"]`` is False.

    Parameters
    ----------
    source : str, os.PathLike or iterable of them
        A folder, a glob pattern (``"data/slice*.tif"``), one file, or files.

    Returns
    -------
    TiffImage
        ``(data, spacing, unit, extra)`` with ``extra["paths"]`` listing the files.

    Raises
    ------
    ValueError
        If the files differ in shape, axes or dtype.
    """
    paths = tiff_paths(source)
    if len(paths) == 1:
        image = read_tiff(paths[0])
        image.extra["paths"] = [str(paths[0])]
        return image
    first, axes, calibration = _read_slice(paths[0])
    planes = np.empty((len(paths), *first.shape), dtype=first.dtype)
    planes[0] = first
    calibrations = [calibration]
    for index, path in enumerate(paths[1:], start=1):
        data, other_axes, other = _read_slice(path)
        if data.shape != first.shape or data.dtype != first.dtype or other_axes != axes:
            raise ValueError(
                f"{path.name} holds {other_axes} {data.shape} {data.dtype} but "
                f"{paths[0].name} holds {axes} {first.shape} {first.dtype}: "
                "all slices of a stack must match"
            )
        planes[index] = data
        calibrations.append(other)
    same = all(c.sizes == calibration.sizes and c.unit == calibration.unit for c in calibrations)
    stacked = _Calibration(
        sizes=dict(calibration.sizes) if same else {},
        unit=calibration.unit if same else None,
        source=calibration.source if same else "none (slices differ)",
        channel_names=calibration.channel_names,
        # the slices' display range when they share one
        contrast_limits=calibration.contrast_limits
        if all(c.contrast_limits == calibration.contrast_limits for c in calibrations) else None,
        colormaps=calibration.colormaps,
        luts=calibration.luts,
        z_guessed=any(c.z_guessed for c in calibrations),
    )
    new_axis = "T" if "Z" in axes else "Z"
    extra: dict[str, Any] = {"paths": [str(p) for p in paths]}
    if new_axis == "Z":
        distance = _slice_distance(calibrations, stacked.unit) if same else None
        if distance is not None:
            stacked.sizes["Z"] = distance
            stacked.source += " + DICOM slice distance"
        # Fiji's Image Sequence import: voxel depth = pixel width when unknown.
        z_default = stacked.sizes.get("X", 1.0)
    else:
        z_default = 1.0
    return _assemble(planes, new_axis + axes, stacked, z_default=z_default, extra=extra)
