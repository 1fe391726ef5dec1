"""Headless image operations: numpy, scipy, scikit-image and numba only (no napari, no Qt).

Every operation is a pure function ``op(image, *, ...) -> numpy.ndarray`` that
accepts 2D and 3D images, reads sizes in the units of ``spacing`` when given,
and never modifies its input. ``list_operations()`` and ``get_operation(name)``
describe them for generated interfaces.
"""

from .filters import (
    black_top_hat,
    difference_of_gaussian,
    gaussian,
    laplace,
    laplacian_of_gaussian,
    maximum,
    mean,
    median,
    minimum,
    sobel,
    standard_deviation,
    variance,
    white_top_hat,
)
from .morphology import (
    binary_closing,
    binary_dilation,
    binary_erosion,
    binary_opening,
    fill_holes,
    label,
    labels_to_mask,
    remove_small_objects,
)
from .registry import Operation, Parameter, get_operation, list_operations, register, unregister
from .stats import histogram, insight, percentile_range
from .threshold import threshold, threshold_value
from .transforms import (
    crop,
    flip,
    project,
    resample_isotropic,
    set_axis_role,
    set_voxel_size,
    subsample,
)

__all__ = [
    "Operation",
    "Parameter",
    "binary_closing",
    "binary_dilation",
    "binary_erosion",
    "binary_opening",
    "black_top_hat",
    "crop",
    "difference_of_gaussian",
    "fill_holes",
    "flip",
    "gaussian",
    "get_operation",
    "histogram",
    "insight",
    "label",
    "labels_to_mask",
    "laplace",
    "laplacian_of_gaussian",
    "list_operations",
    "maximum",
    "mean",
    "median",
    "minimum",
    "percentile_range",
    "project",
    "register",
    "remove_small_objects",
    "resample_isotropic",
    "set_axis_role",
    "set_voxel_size",
    "sobel",
    "standard_deviation",
    "subsample",
    "threshold",
    "threshold_value",
    "unregister",
    "variance",
    "white_top_hat",
]
