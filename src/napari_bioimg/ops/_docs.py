"""Shared docstring paragraphs of the operations, and ``fill_doc`` to put them in.

As ``scipy.ndimage``'s ``docfiller``: a docstring names a paragraph by a
``%(name)s`` placeholder alone on its line, indented as the paragraph's first
line should be; :func:`fill_doc` replaces it with the paragraph, every line
indented by that much, so the rendered ``__doc__`` reads as if written out.
Paragraphs are written here unindented (a parameter's description, or an
exception's, four spaces in).
"""

import re
import textwrap

__all__ = ["docdict", "fill_doc"]

_IMAGE_TYPE_ERROR = """\
TypeError
    If ``image`` holds no real numbers or looks like an RGB(A) image
    (colours last), or a parameter has the wrong type."""

_MASK_TYPE_ERROR = """\
TypeError
    If ``image`` holds no real numbers or is an RGB(A) image that is not a
    mask, or a parameter has the wrong type."""

docdict: dict[str, str] = {
    # --- neighbourhood filters -----------------------------------------------
    "image": """\
image : array_like
    2D or 3D image; leading axes (time, channels) before the spatial ones
    are filtered one block at a time.""",
    "radius": """\
radius : float, default 2.0
    Radius of the neighbourhood, in the units of ``spacing`` when given,
    else in pixels (0: the pixel alone).""",
    "radius_top_hat": """\
radius : float, default 10.0
    Radius of the footprint, larger than the objects to keep, in the units
    of ``spacing`` when given, else in pixels.""",
    "footprint": """\
footprint : {"ball", "box"}, default "ball"
    Disk/ball (offsets within Euclidean distance ``radius``) or
    square/cube (within ``radius`` along each axis).""",
    "spacing": """\
spacing : sequence of float, optional
    Pixel size per spatial axis (2 or 3 positive values, as napari's
    ``scale``); the spatial axes are then the last ``len(spacing)``.
    Default: sizes in pixels, spatial axes the last ``min(ndim, 3)``.""",
    "spacing_axes": """\
spacing : sequence of float, optional
    Only selects the spatial axes: the last ``len(spacing)`` (2 or 3
    positive values), else the last ``min(ndim, 3)``.""",
    "raises_footprint": _IMAGE_TYPE_ERROR
    + """
ValueError
    If ``image`` is empty or has fewer than two axes, ``spacing`` has
    the wrong length or a non-positive value, ``radius`` is negative
    or not finite, ``footprint`` is unknown, or the footprint or the result
    does not fit in memory.""",
    "raises_sigma": _IMAGE_TYPE_ERROR
    + """
ValueError
    If ``image`` is empty or has fewer than two axes, ``spacing`` has
    the wrong length or a non-positive value, a sigma is not positive
    or not finite, or the result does not fit in memory.""",
    "raises_spacing": _IMAGE_TYPE_ERROR
    + """
ValueError
    If ``image`` is empty or has fewer than two axes, ``spacing`` has
    the wrong length or a non-positive value, or the result does not
    fit in memory.""",
    # --- binary morphology ---------------------------------------------------
    "mask": """\
image : array_like of bool (or 0/1)
    The mask, 2D or 3D; leading axes before the spatial ones are a batch,
    and the masks of an RGB(A) image (colours last) are processed one
    colour at a time.""",
    "radius_binary": """\
radius : float, default 1.0
    Radius of the structuring element, in the units of ``spacing`` when
    given, else in pixels (0: the mask unchanged).""",
    "mask_type_error": _MASK_TYPE_ERROR,
    "raises_binary": _MASK_TYPE_ERROR
    + """
ValueError
    If ``image`` is not binary (only 0 and 1), is empty or has fewer than
    two axes, ``spacing`` has the wrong length or a non-positive value,
    ``radius`` is negative or not finite, ``footprint`` is unknown, or the
    footprint or the result does not fit in memory.""",
    # --- thresholds, statistics, transforms ----------------------------------
    "manual_value": """\
value : float, optional
    The threshold for ``method="manual"``, in the image's intensity units;
    ignored by the automatic methods.""",
    "real_numbers_error": """\
TypeError
    If ``image`` holds no real numbers.""",
    "image_three_axes": """\
image : array_like
    Image with at least three axes (besides an RGB(A) image's colours).""",
    "returns_copy": """\
numpy.ndarray
    A copy of ``image``, same shape and dtype.""",
}

_PLACEHOLDER = re.compile(r"^([ \t]*)%\((\w+)\)s[ \t]*$", re.MULTILINE)


def fill_doc(func):
    """Fill the ``%(name)s`` placeholders of ``func``'s docstring from :data:`docdict`.

    Each placeholder stands alone on its line; the paragraph replacing it is
    indented as that line. Sets ``func.__doc__`` and returns ``func`` itself,
    so apply it innermost (below ``functools.wraps``-based decorators, which
    then copy the filled docstring).

    Raises
    ------
    KeyError
        If a placeholder names no paragraph of :data:`docdict`.
    """
    doc = func.__doc__
    if doc:

        def paragraph(match: re.Match) -> str:
            indent, name = match.groups()
            return textwrap.indent(docdict[name], indent, lambda line: line.strip() != "")

        func.__doc__ = _PLACEHOLDER.sub(paragraph, doc)
    return func
