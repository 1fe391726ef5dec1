"""Global thresholds: manual and scikit-image's automatic histogram methods.

Foreground is strictly above the threshold (``image > value``), as in scikit-image.
A threshold is computed over the whole array (all planes and time points), like
Fiji's "stack histogram" option.
"""

import numpy as np
from skimage import filters as skfilters

from ._checks import as_image, check_choice

__all__ = ["AUTOMATIC_METHODS", "METHODS", "threshold", "threshold_value"]

AUTOMATIC_METHODS = ("otsu", "li", "yen", "triangle", "isodata", "mean", "minimum")
METHODS = ("manual", *AUTOMATIC_METHODS)


def threshold_value(image, *, method: str = "otsu", value: float | None = None) -> float:
    """Return the threshold of ``image`` by ``method``.

    Parameters
    ----------
    image : array_like
        Image of any dimensionality.
    method : str
        ``"manual"`` (returns ``value``) or one of ``otsu``, ``li``, ``yen``,
        ``triangle``, ``isodata``, ``mean``, ``minimum``: the same number as
        ``skimage.filters.threshold_<method>``.
    value : float, optional
        The threshold for ``method="manual"``; ignored by the automatic methods.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For an unknown method, a missing manual value, or an image that an
        automatic method cannot threshold (constant, or holding NaN).
    """
    check_choice(method, "method", METHODS)
    array = as_image(image, allow_rgb=True)
    if method == "manual":
        if value is None or isinstance(value, bool):
            raise ValueError("value must be a number when method='manual'")
        if not isinstance(value, int | float | np.integer | np.floating):
            raise TypeError(f"value must be a number, got {type(value).__name__}")
        if np.isnan(value):
            raise ValueError("value must not be NaN")
        return float(value)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(
            f"image holds NaN or infinite values: the automatic threshold {method!r} "
            "needs finite data (replace them first, e.g. np.nan_to_num)"
        )
    if array.dtype == bool:
        array = array.view(np.uint8)
    low, high = array.min(), array.max()
    if low == high:
        raise ValueError(
            f"image is constant (every pixel is {low}): the automatic threshold "
            f"{method!r} needs at least two different values"
        )
    function = getattr(skfilters, f"threshold_{method}")
    try:
        return float(function(array))
    except RuntimeError as error:  # e.g. "minimum" on a histogram with one peak
        raise ValueError(f"method {method!r} failed on this image: {error}") from error


def threshold(image, *, method: str = "otsu", value: float | None = None) -> np.ndarray:
    """Binarize: ``image > threshold_value(image, method=method, value=value)``.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> threshold(np.array([[0, 1], [2, 3]]), method="manual", value=1)
    array([[False, False],
           [ True,  True]])
    """
    array = as_image(image, allow_rgb=True)
    return array > threshold_value(array, method=method, value=value)
