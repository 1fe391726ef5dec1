"""Files in, files out: how ``napari-bioimg run`` and exported scripts handle TIFFs.

Reading uses :func:`napari_bioimg.io_tiff.read_tiff` (and ``read_stack`` for a
folder of slices), the reader napari uses,
so that a pipeline sees the voxel size (OME, ImageJ or resolution tags) that
the user saw when recording it. Like napari, which shows each channel as its
own layer, :func:`process_image` runs the pipeline on every channel separately
and stacks the results along a first channel axis.

Writing (:func:`write_image`) never changes values, and writes the same bytes
for the same data (no date or time in the file):

* ``uint8``, ``uint16`` and ``float32`` results are ImageJ hyperstacks
  (``YX``, ``ZYX``, ``TZYX``, with ``C`` for channels) with ``spacing``,
  ``unit`` and the resolution tags, as Fiji reads them, and the channels'
  LUTs and display ranges when given;
* masks (bool) are written as ``uint8`` 0/1, which the binary operations read
  back as masks;
* labels and other integers within 0..65535 are written as ``uint16`` (what
  Fiji uses for label images); anything else (``int32`` labels beyond 65535,
  negative integers, ``float64``) as a plain TIFF of its own dtype whose x/y
  pixel size is in the resolution tags (centimetre units, which every reader
  understands) and whose ``spacing``/``unit``, exact ``voxel_size`` (every
  spatial axis, also without a unit) and ``channel_names`` are in a JSON
  description.

A slice distance that is a guess (Fiji's, where the input file had none) is
written with its value, which Fiji reads, and marked ``napari_spacing=guessed``,
so that napari-bioimg reads it as the guess it is (:func:`read_image_guess`).

:func:`read_image`, :func:`process_image`, :func:`colours_kept`,
:func:`result_axes` and :func:`write_image` are self-contained so that exported scripts
(:mod:`napari_bioimg.pipeline.script`) carry a copy of them: a script and
``napari-bioimg run`` write identical bytes.
"""

import os

import numpy as np
import tifffile

from napari_bioimg.io_tiff import read_stack, read_tiff
from napari_bioimg.ops._checks import looks_rgb

__all__ = [
    "colours_kept", "read_image", "in_pixels", "process_image", "result_axes", "write_image",
]


def read_image(path):
    """Read a TIFF file, or a folder of TIFF slices as one stack, and its voxel size.

    Parameters
    ----------
    path : str or os.PathLike
        An OME, ImageJ or plain TIFF file, or a folder of slices (stacked in
        natural order, as napari-bioimg opens a folder in napari).

    Returns
    -------
    image : numpy.ndarray
        The pixels, axes as stored.
    spacing : tuple of float
        Voxel size of the spatial axes, ``(z, y, x)`` or ``(y, x)``.
    unit : str or None
        Unit of ``spacing`` (``"µm"``, ``"mm"``...), None when uncalibrated.
    channel_axis : int or None
        The axis holding channels (not RGB colours), if any.
    frame_interval : tuple of (float, str) or None
        ``(interval, unit)`` between the frames of a time-lapse (ImageJ's
        ``finterval``), None without frames or a time unit.
    """
    return read_image_guess(path)[:5]


def read_image_guess(path):
    """:func:`read_image`, whether z was guessed, the layer kind, the channels' names and display.

    The guess is Fiji's: 1.0 in a multi-page file, the pixel width for a folder
    of slices; always False for 2D images. The kind is ``"labels"`` for integer
    data written from a labels layer (napari-bioimg opens it as one), else
    ``"image"``. The channel names (``["DAPI", "GFP"]``, OME or ImageJ's
    ``Labels``) are None when the file names none; so are the channels' ImageJ
    LUTs (``(3, 256)`` uint8 arrays) and display ranges (``Ranges``: one
    ``(min, max)`` per channel) when it has none, or no channels.
    """
    image = read_stack(path) if os.path.isdir(path) else read_tiff(path)
    guessed = len(image.spatial_spacing) == 3 and not image.extra.get("z_spacing_known", True)
    labels = image.extra.get("layer") == "labels" and image.data.dtype.kind in "iub"
    return (
        image.data, image.spatial_spacing, image.unit, image.extra["channel_axis"],
        image.frame_interval, guessed, "labels" if labels else "image",
        image.extra.get("channel_names"), image.extra.get("luts"),
        image.extra.get("contrast_limits") if image.extra["channel_axis"] is not None else None,
    )


def in_pixels(spacing, unit) -> bool:
    """Whether a file's sizes are pixels: no unit and pixels of 1 in the plane.

    (A slice distance alone leaves y and x in pixels.)
    """
    return unit is None and set(spacing[-2:]) <= {1.0}


def process_image(process, image, spacing, channel_axis=None):
    """Run ``process(image, spacing) -> (result, spacing)`` on each channel.

    Returns
    -------
    result : numpy.ndarray
        The result, with the channels stacked along a new first axis when
        ``channel_axis`` is given.
    spacing : tuple of float or None
        The voxel size of the result.
    """
    if channel_axis is None:
        return process(image, spacing)
    results = [
        process(np.take(image, channel, axis=channel_axis), spacing)
        for channel in range(image.shape[channel_axis])
    ]
    return np.stack([result for result, _ in results]), results[0][1]


def colours_kept(image, result, channel_axis=None) -> bool:
    """Whether ``result`` keeps the colours of an RGB(A) ``image`` last (also once small).

    The shape rule (:func:`~napari_bioimg.ops._checks.looks_rgb`) is read on the
    input: a subsampled thumbnail of 8 pixels is still in colour. An RGBA
    image's threshold has R, G and B only (alpha gets no mask).
    """
    return (
        channel_axis is None and looks_rgb(np.asarray(image)) and np.ndim(result) >= 3
        and np.shape(result)[-1] in (np.shape(image)[-1], 3)
    )


def result_axes(result, spacing, channel_axis=None, frame_interval=None, role=None, rgb=None):
    """``(result, channel_axis, frame_interval)`` to write ``result`` with (:func:`write_image`).

    ``channel_axis`` and ``frame_interval`` are the input file's
    (:func:`read_image`); ``role`` is what a ``set_axis_role`` step last named
    the axis before y (``"z"``, ``"t"`` or ``"channel"``; None: no such step).
    Channels of the file come first in the result (:func:`process_image`). An
    axis named channel (the third-last) is moved first and written as channels,
    the frames of a ``t, channel, y, x`` result keeping their interval; the
    interval is written only where frames remain (a ``T`` axis). Colour images
    keep their colours: an axis of them named channel stays a leading axis
    (``rgb``: whether the result holds colours last; None guesses from its shape).
    """
    if channel_axis is not None:
        return result, 0, frame_interval
    rgb = looks_rgb(result) if rgb is None else bool(rgb)
    leading = None if spacing is None else np.ndim(result) - rgb - len(spacing)
    if role != "channel" or rgb or not leading:
        return result, None, frame_interval if role != "channel" else None
    moved = np.moveaxis(result, -3, 0)  # (the axis before y: channels first)
    return moved, 0, frame_interval if leading >= 2 else None


def write_image(
    path, image, spacing=None, unit=None, channel_axis=None, rgb=None, frame_interval=None,
    labels=False, channel_names=None, z_guessed=False, luts=None, ranges=None,
):
    """Write ``image`` with its voxel size: an ImageJ TIFF when the dtype allows.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (replaced if it exists).
    image : array_like
        At least 2D. bool is written as uint8 0/1, integers within 0..65535
        as uint16 (see the module documentation).
    spacing : sequence of float, optional
        Voxel size of the trailing spatial axes, ``(y, x)`` or ``(z, y, x)``.
    unit : str, optional
        Unit of ``spacing``.
    channel_axis : {None, 0}
        0 when the first axis holds channels.
    rgb : bool, optional
        Whether the last axis holds colours; None guesses from the shape
        (:func:`~napari_bioimg.ops._checks.looks_rgb`), as napari does.
    frame_interval : tuple of (float, str), optional
        Time between the frames of a time-lapse (one leading axis before the
        spatial ones) and its unit, ``(60.0, "s")``: ImageJ's ``finterval``.
    labels : bool
        Mark the image as a labels layer (``napari_layer=labels`` in its
        description), which napari-bioimg's reader opens as one; the masks of
        an RGB image's colours are written as channels (one labels layer,
        channels first, as the widgets show them).
    channel_names : sequence of str, optional
        One name per channel (``channel_axis`` 0), written as ImageJ's
        ``Labels`` where Fiji reads them as channel names: an ImageJ file of
        one plane per channel (no z or time); as ``channel_names`` in the JSON
        description of a file ImageJ cannot hold. Left out of other ImageJ
        files, or when their number is not the number of channels.
    z_guessed : bool
        The slice distance (``spacing[0]`` of a 3D ``spacing``) is a guess, not
        the file's: written with ``napari_spacing=guessed`` beside it, which
        napari-bioimg's reader reads as not known (Fiji reads the value).
    luts : sequence of array_like, optional
        ImageJ's LUT of each channel (``(3, 256)`` uint8), written with the
        channels of an ImageJ file, shown as a composite (as Fiji showed the input).
    ranges : sequence of (float, float), optional
        The display range of each channel, ImageJ's ``Ranges``, written with the
        channels of an ImageJ file.
    """
    data = np.asarray(image)
    if data.ndim < 2:
        raise ValueError(f"cannot write a {data.ndim}D result (shape {data.shape}) as an image")
    if data.dtype == bool:
        data = data.astype(np.uint8)
    elif data.dtype.kind in "iu" and data.dtype.itemsize > 1 and data.dtype != np.uint16:
        if data.size and data.min() >= 0 and data.max() <= 65535:
            data = data.astype(np.uint16)
    channels = channel_axis is not None
    # Colour samples last, as napari guesses them (unless told).
    rgb = not channels and (looks_rgb(data) if rgb is None else bool(rgb))
    if labels and rgb:  # a mask per colour: channels first, as napari shows them
        data, channels, rgb = np.moveaxis(data, -1, 0), True, False
    planes_ndim = data.ndim - rgb - channels
    if spacing is not None and not 2 <= len(spacing) <= planes_ndim:
        spacing = None
    spatial = min(planes_ndim, 3) if spacing is None else len(spacing)
    leading = planes_ndim - spatial
    imagej = (
        data.dtype in (np.uint8, np.uint16, np.float32)
        and (data.dtype == np.uint8 or not rgb)
        and leading <= 1
    )
    before = "Q" * max(leading - 1, 0) + "T" * min(leading, 1)
    count = data.shape[0] if channels else 0  # (channels first, until ImageJ's order)
    if channels and imagej and data.ndim >= 3:
        data = np.moveaxis(data, 0, -3)  # ImageJ's order is TZCYX
        axes = before + "Z" * (spatial == 3) + "CYX"
    else:
        axes = "C" * channels + before + "ZYX"[3 - spatial :] + "S" * rgb
    metadata = {"axes": axes}
    if labels:
        metadata["napari_layer"] = "labels"
    named = channels and channel_names is not None and len(channel_names) == count
    if named and imagej and axes == "CYX":
        # (ImageJ's Labels name planes: channel names only when each channel is one)
        metadata["Labels"] = [str(name) for name in channel_names]
    elif named and not imagej:
        metadata["channel_names"] = [str(name) for name in channel_names]
    if channels and imagej and luts is not None and len(luts) == count:
        metadata["mode"] = "composite"  # (each channel in its colour, as Fiji showed them)
        metadata["LUTs"] = [np.asarray(lut, dtype=np.uint8) for lut in luts]
    if channels and imagej and ranges is not None and len(ranges) == count:
        metadata["Ranges"] = tuple(float(value) for pair in ranges for value in pair)
    options = {"photometric": "rgb" if rgb else "minisblack"}
    if spatial == 3 and spacing is not None:
        metadata["spacing"] = float(spacing[0])
        if z_guessed:  # (a second run notes the guess again, napari's Voxel size dock too)
            metadata["napari_spacing"] = "guessed"

    def ascii_text(text: str) -> str:  # ImageJ descriptions are ASCII, with \u00B5 escapes
        return "".join(c if c.isascii() else f"\\u{ord(c):04X}" for c in text)

    if frame_interval is not None and imagej and "T" in axes:
        metadata["finterval"] = float(frame_interval[0])
        metadata["tunit"] = ascii_text(frame_interval[1])  # (µs)
    if unit and spacing is not None:  # (no sizes, no unit: they would read as 1 µm)
        metadata["unit"] = ascii_text(unit) if imagej else unit
    if spacing is not None and not imagej:
        # The exact voxel size, also without a unit (the resolution tags then say NONE).
        metadata["voxel_size"] = [float(v) for v in spacing]
    if spacing is not None:
        x, y = float(spacing[-1]), float(spacing[-2])
        metres = {"nm": 1e-9, "µm": 1e-6, "mm": 1e-3, "cm": 1e-2, "m": 1.0, "inch": 0.0254}
        if not imagej and unit in metres:
            x, y = x * metres[unit] / 1e-2, y * metres[unit] / 1e-2
            options["resolutionunit"] = "CENTIMETER"
        elif not imagej:
            options["resolutionunit"] = "NONE"
        options["resolution"] = (1 / x, 1 / y)
    tifffile.imwrite(path, data, imagej=imagej, metadata=metadata, **options)
