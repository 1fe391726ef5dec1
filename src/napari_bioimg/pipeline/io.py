"""TIFF input and output that keep the voxel size (spacing) and its unit.

Reading (:func:`read_tiff`) takes the voxel size from, in this order: OME
metadata (``PhysicalSizeX/Y/Z`` and their unit); ImageJ metadata (``spacing``
for z, ``unit``) with the ``XResolution``/``YResolution`` tags for x and y; the
resolution tags of TIFFs whose ``ResolutionUnit`` is NONE (as napari-bioimg and
tifffile write them) with ``spacing``/``unit`` from a tifffile JSON
description. Other TIFFs (e.g. 72 dpi from a scanner) get 1 pixel.

Writing (:func:`write_tiff`) never changes values, and writes the same bytes
for the same data (no date or time in the file):

* ``uint8``, ``uint16`` and ``float32`` results are ImageJ hyperstacks
  (``YX``, ``ZYX``, ``TYX``, ``TZYX``) with ``spacing``, ``unit`` and the
  resolution tags, as Fiji reads them;
* masks (bool) are written as ``uint8`` 0/1, which the binary operations read
  back as masks;
* labels and other integers that fit in 0..65535 are written as ``uint16``
  (what Fiji uses for label images); others (``int32`` labels beyond 65535,
  ``float64``, negative integers) as plain TIFFs of their own dtype, with the
  resolution tags and a JSON description holding ``spacing`` and ``unit``.

The two functions are self-contained so that exported scripts
(:mod:`napari_bioimg.pipeline.script`) carry a copy of them: a script and the
``napari-bioimg run`` command write byte-identical files.
"""

import re
from xml.etree import ElementTree

import numpy as np
import tifffile

__all__ = ["read_tiff", "write_tiff"]


def read_tiff(path):
    """Read the first image series of a TIFF file and its voxel size.

    Parameters
    ----------
    path : str or os.PathLike
        The TIFF (ImageJ, OME or plain) file.

    Returns
    -------
    image : numpy.ndarray
        The pixels, axes as stored (e.g. ``ZYX``; colour samples last).
    spacing : tuple of float
        One value per trailing spatial axis: ``(z, y, x)`` when the axis before
        y is z (or an unnamed stack of planes), else ``(y, x)``; 1.0 where the
        file says nothing.
    unit : str or None
        The unit of ``spacing`` (e.g. ``"micron"``, ``"mm"``), if known.
    """
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        image = series.asarray()
        axes = series.axes.rstrip("S")
        tags = tif.pages[0].tags
        sizes = {"X": 1.0, "Y": 1.0, "Z": 1.0}
        unit = None
        if tif.is_ome:
            pixels = ElementTree.fromstring(tif.ome_metadata).find(".//{*}Pixels")
            attributes = {} if pixels is None else pixels.attrib
            for axis in sizes:
                if f"PhysicalSize{axis}" in attributes:
                    sizes[axis] = float(attributes[f"PhysicalSize{axis}"])
                    unit = attributes.get(f"PhysicalSize{axis}Unit", "µm")
        else:
            metadata = tif.imagej_metadata or (tif.shaped_metadata or [{}])[0]
            resolution_unit = tags["ResolutionUnit"].value if "ResolutionUnit" in tags else 1
            if tif.is_imagej or resolution_unit == 1:
                for axis in "XY":
                    name = f"{axis}Resolution"
                    if name in tags and tags[name].value[0] > 0:
                        sizes[axis] = tags[name].value[1] / tags[name].value[0]
            if metadata.get("spacing"):
                sizes["Z"] = float(metadata["spacing"])
            if metadata.get("unit"):
                # ImageJ escapes non-ASCII characters: \u00B5m is µm.
                unit = re.sub(
                    r"\\u([0-9A-Fa-f]{4})", lambda m: chr(int(m[1], 16)), metadata["unit"]
                )
    stacked = len(axes) >= 3 and axes[-3] in "ZIQ"
    spacing = (sizes["Z"], sizes["Y"], sizes["X"]) if stacked else (sizes["Y"], sizes["X"])
    return image, spacing, unit


def write_tiff(path, image, spacing=None, unit=None):
    """Write ``image`` with its voxel size: an ImageJ TIFF when the dtype allows.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (replaced if it exists).
    image : array_like
        Result to write; bool is written as uint8 0/1, integers within
        0..65535 as uint16 (see the module documentation).
    spacing : sequence of float, optional
        Voxel size per trailing spatial axis, ``(y, x)`` or ``(z, y, x)``.
    unit : str, optional
        Unit of ``spacing``.
    """
    data = np.asarray(image)
    if data.ndim < 2:
        raise ValueError(f"cannot write a {data.ndim}D result (shape {data.shape}) as an image")
    if data.dtype == bool:
        data = data.astype(np.uint8)
    elif data.dtype.kind in "iu" and data.dtype.itemsize > 1 and data.dtype != np.uint16:
        if data.size and data.min() >= 0 and data.max() <= 65535:
            data = data.astype(np.uint16)
    # Colour samples last, as napari guesses them.
    rgb = data.ndim >= 3 and data.shape[-1] in (3, 4) and min(data.shape[-3:-1]) > 8
    planes_ndim = data.ndim - rgb
    if spacing is not None and not 2 <= len(spacing) <= planes_ndim:
        spacing = None
    spatial = min(planes_ndim, 3) if spacing is None else len(spacing)
    leading = planes_ndim - spatial
    axes = "Q" * max(leading - 1, 0) + "T" * min(leading, 1) + "ZYX"[3 - spatial :] + "S" * rgb
    options = {"photometric": "rgb" if rgb else "minisblack", "metadata": {"axes": axes}}
    if spacing is not None:
        options["resolution"] = (1 / spacing[-1], 1 / spacing[-2])
        if spatial == 3:
            options["metadata"]["spacing"] = float(spacing[0])
    imagej = (
        data.dtype in (np.uint8, np.uint16, np.float32)
        and (data.dtype == np.uint8 or not rgb)
        and leading <= 1
    )
    if unit:
        # ImageJ descriptions are ASCII, with \u00B5 escapes as Fiji writes them.
        escaped = "".join(c if c.isascii() else f"\\u{ord(c):04X}" for c in unit)
        options["metadata"]["unit"] = escaped if imagej else unit
    if not imagej:
        options["resolutionunit"] = 1  # NONE: read_tiff trusts these resolution tags
    tifffile.imwrite(path, data, imagej=imagej, **options)
