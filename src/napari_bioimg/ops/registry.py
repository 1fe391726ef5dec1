"""The registry: one declaration per operation, the single source of truth.

The napari widgets, the npe2 manifest, the pipeline format and the command line
are all generated from these declarations. ``list_operations()`` and
``get_operation(name)`` are the public way in; ``register(func)`` adds a user's
own function.
"""

import importlib
import inspect
import math
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from . import filters, morphology, threshold, transforms
from ._checks import check_nonnegative, check_positive
from ._footprint import FOOTPRINTS, reach
from .filters import GAUSSIAN_TRUNCATE

__all__ = [
    "CATEGORIES",
    "Operation",
    "Parameter",
    "get_operation",
    "list_operations",
    "register",
    "unregister",
]

ParameterKind = Literal["int", "float", "choice", "bool", "ints"]
Unit = Literal["none", "pixels", "length", "volume"]
Kind = Literal["image", "mask", "labels"]

# category -> (napari contributable menu, submenu label or None)
CATEGORIES: dict[str, tuple[str, str | None]] = {
    "denoise": ("napari/layers/filter", "Noise removal"),
    "edges": ("napari/layers/filter", "Edges and texture"),
    "background": ("napari/layers/filter", "Background"),
    "threshold": ("napari/layers/segment", None),
    "binary": ("napari/layers/segment", "Binary"),
    "transform": ("napari/layers/transform", None),
    "project": ("napari/layers/project", None),
    "custom": ("napari/layers/filter", "Custom"),
}


@dataclass(frozen=True)
class Parameter:
    """One parameter of an operation, as a widget, a pipeline and the CLI see it.

    ``unit`` tells how a number is read: ``"length"`` is pixels without spacing and
    physical units with it (radius, sigma), ``"volume"`` likewise for areas or
    volumes (min_size), ``"pixels"`` always counts pixels (step), ``"none"`` has
    no unit. ``from_data`` marks a range that a widget takes from the image
    (the manual threshold value). ``active_when=(name, value)`` says the parameter
    only matters while parameter ``name`` has ``value`` (otherwise it is None).
    ``ndim_range`` narrows an integer's range to the data: ``"axis"`` to
    ``-ndim .. ndim - 1``, ``"spatial"`` to ``1 .. number of spatial axes``.
    ``bound`` is the sign the operation itself requires (``"positive"``: a sigma,
    ``"nonnegative"``: a radius), checked with the value's type, so that a
    pipeline is refused when it is loaded rather than on every file; ``minimum``
    and ``maximum`` are only the sliders' range, unless ``strict``: the
    operation's own limits then (an interpolation order of 0 to 3), also checked.
    ``in_plane`` (per-axis ``ints``) is how a widget reads what is typed: one
    number for y and x alone, a shorter list for the last axes (``2, 2``: y and
    x), and records one value per axis (the core reads one number as every axis
    and a list from the first: what the widget records means the same to both).
    """

    name: str
    kind: ParameterKind
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    unit: Unit = "none"
    optional: bool = False
    from_data: bool = False
    active_when: tuple[str, Any] | None = None
    ndim_range: Literal["axis", "spatial"] | None = None
    bound: Literal["positive", "nonnegative"] | None = None
    description: str = ""
    strict: bool = False
    in_plane: bool = False
    # Other spellings of a choice to its own (um and micron to µm), applied first.
    spelling: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)

    def check(self, value: Any) -> Any:
        """Return ``value`` coerced to this parameter's type, or raise naming it."""
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"parameter {self.name!r} needs a value")
        if self.spelling is not None:
            value = self.spelling(value)
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(
                    f"parameter {self.name!r} must be one of {list(self.choices)}, got {value!r}"
                )
            return value
        if self.kind == "bool":
            if not isinstance(value, bool | np.bool_):
                raise TypeError(f"parameter {self.name!r} must be true or false, got {value!r}")
            return bool(value)
        if self.kind == "ints":
            if np.isscalar(value):
                return self._number(value, int)
            return [None if v is None else self._number(v, int) for v in value]
        return self._number(value, int if self.kind == "int" else float)

    def _number(self, value, cast):
        number = self._cast(value, cast)
        if self.bound == "positive":
            check_positive(number, f"parameter {self.name!r}")
        elif self.bound == "nonnegative":
            check_nonnegative(number, f"parameter {self.name!r}")
        if self.strict and not self.minimum <= number <= self.maximum:
            raise ValueError(
                f"parameter {self.name!r} must be from {self.minimum:g} to {self.maximum:g}, "
                f"got {number!r}"
            )
        return number

    def _cast(self, value, cast):
        if isinstance(value, bool) or not isinstance(
            value, int | float | np.integer | np.floating
        ):
            raise TypeError(f"parameter {self.name!r} must be a number, got {value!r}")
        if isinstance(value, float | np.floating) and not math.isfinite(value):
            if math.isnan(value):
                raise ValueError(f"parameter {self.name!r} must not be NaN")
            if cast is int or self.unit != "none":  # (a threshold may be ±inf)
                raise ValueError(f"parameter {self.name!r} must be finite, got {value!r}")
        if cast is int and (
            isinstance(value, float | np.floating) and not float(value).is_integer()
        ):
            raise TypeError(f"parameter {self.name!r} must be an integer, got {value!r}")
        if (
            cast is float and self.unit == "none" and isinstance(value, int | np.integer)
            and abs(int(value)) > 2**53 and float(value) != int(value)
        ):  # (a threshold among 64-bit integers past 2**53: as a float it would round)
            return int(value)
        try:
            return cast(value)
        except OverflowError:  # (an integer of hundreds of digits as a float)
            text = repr(value)
            shown = text if len(text) <= 20 else f"{text[:12]}... ({len(text)} digits)"
            raise ValueError(f"parameter {self.name!r} is too large, got {shown}") from None


HaloFunction = Callable[[dict, Sequence[float]], tuple[int, ...]]


@dataclass(frozen=True)
class Operation:
    """The declaration of one operation.

    ``halo(parameters, spacing)`` returns how many pixels each output pixel needs
    around it along each spatial axis (for chunked and current-plane processing);
    ``None`` instead of a function means the operation needs the whole image.
    ``batch`` tells whether leading axes beyond the spatial ones are processed
    as independent images. ``uses_spacing`` tells whether ``spacing`` is passed.
    ``accepts_rgb``: whether widgets offer RGB layers (not the transforms, whose
    axes and geometry have no colour axis; the crop dock handles RGB itself).
    ``prepare(image, parameters, cache=None)``, when given, turns parameters that
    depend on the whole image into pixel-wise ones (an automatic threshold into
    its value), after which the operation can be evaluated on any part of the
    image; ``cache`` is a dict the caller keeps per image (a histogram).
    ``plane(slab, z, parameters, spacing)``, when given, computes plane ``z`` of
    the 3D result from the slab of planes within the halo more cheaply than
    filtering the whole slab (one plane of output from the planes it reads); a
    hook that also takes ``store`` and ``index`` gets the caller's per-input dict
    and the plane's index in the volume, to keep intermediates between previews.
    ``output_plane(data, index, parameters, spacing, store)``, when given,
    computes one 2D plane of the result of an operation that has no halo
    (transforms, labelling), ``index`` giving the result's leading axes, from
    the planes of ``data`` it needs, or from whole-volume intermediates (the
    labels of the stack) that it keeps in ``store``, a dict the caller keeps per
    input (or None).
    """

    name: str
    function: Callable[..., Any]
    category: str
    display_name: str
    parameters: tuple[Parameter, ...]
    input_kind: Kind = "image"
    output_kind: Kind = "image"
    halo: HaloFunction | None = None
    batch: bool = True
    uses_spacing: bool = True
    needs_spacing: bool = False
    accepts_rgb: bool = False
    widget: str = "generic"
    description: str = ""
    module: str = field(default="", compare=False)
    prepare: Callable[[Any, dict], dict] | None = field(default=None, compare=False)
    plane: Callable[..., Any] | None = field(default=None, compare=False)
    output_plane: Callable[..., Any] | None = field(default=None, compare=False)

    @property
    def menu(self) -> str:
        """The napari contributable menu this operation appears in."""
        return CATEGORIES[self.category][0]

    @property
    def submenu(self) -> str | None:
        """The submenu label, if any."""
        return CATEGORIES[self.category][1]

    def parameter(self, name: str) -> Parameter:
        """Return the parameter called ``name``."""
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise ValueError(
            f"operation {self.name!r} has no parameter {name!r}; "
            f"it takes {[p.name for p in self.parameters]}"
        )

    def defaults(self) -> dict[str, Any]:
        """The default value of every parameter."""
        return {p.name: p.default for p in self.parameters}

    def bind(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Check parameter names and values; fill in defaults for the missing ones."""
        bound = self.defaults()
        for name, value in parameters.items():
            bound[name] = self.parameter(name).check(value)
        for parameter in self.parameters:  # (a manual threshold needs its value)
            if parameter.active_when is None or bound[parameter.name] is not None:
                continue
            other, when = parameter.active_when
            if bound[other] == when:
                raise ValueError(
                    f"parameter {parameter.name!r} needs a value when {other}={when!r}"
                )
        return bound

    def __call__(self, image, *, spacing: Sequence[float] | None = None, **parameters):
        """Run the operation with checked parameters (``spacing`` passed when used)."""
        bound = self.bind(parameters)
        if self.needs_spacing:
            if spacing is None:
                spacing = (1.0,) * min(np.ndim(image), 3)
            bound["spacing"] = spacing
        elif self.uses_spacing and spacing is not None:
            bound["spacing"] = spacing
        if self.name in BUILTIN_NAMES:
            return self.function(image, **bound)
        return self._call_user_function(image, bound)

    def _call_user_function(self, image, bound: dict):
        """A registered user function, given its own copy of the image, giving an image back.

        A copy, not a read-only view: numba kernels write through read-only
        arrays (``a.flat[i] = v``), refuse them with errors of their own, and a
        view can be made writable again; whatever the function does, napari
        layers and the caller's arrays never change. An answer that is no image
        (or an image without pixels) names the function.
        """
        if isinstance(image, np.ndarray):
            image = image.copy()
        result = self.function(image, **bound)
        if not hasattr(result, "shape") or len(result.shape) < 2:
            shape = getattr(result, "shape", None)
            raise TypeError(
                f"{self.name} must return an image (an array of at least 2 axes), got "
                f"{type(result).__name__}" + ("" if shape is None else f" of shape {shape}")
            )
        kind = np.dtype(getattr(result, "dtype", object)).kind
        if kind not in "biuf":  # (complex numbers, text, objects: no pixel values to show)
            raise TypeError(
                f"{self.name} must return an image of numbers (bool, integers or floats), got "
                f"dtype {np.dtype(result.dtype)}"
                + (": take np.abs() or .real of a Fourier transform" if kind == "c" else "")
            )
        if 0 in result.shape:  # (napari cannot show it: its thumbnail divides by zero)
            raise ValueError(
                f"{self.name} returned an empty image (shape {tuple(result.shape)}): "
                "no pixels to show"
            )
        if self.halo is not None and tuple(result.shape) != tuple(np.shape(image)):
            # (also on the whole image: run and run_dask, Apply and the preview agree)
            raise ValueError(
                f"{self.name} returned shape {tuple(result.shape)} for an image of shape "
                f"{tuple(np.shape(image))}: an operation registered with a halo is computed "
                "plane by plane and must keep the shape (register it without halo to "
                "change it)"
            )
        return result

    def halo_for(
        self, parameters: dict[str, Any], spacing: Sequence[float]
    ) -> tuple[int, ...] | None:
        """Halo in pixels per spatial axis for these parameters, or None (global)."""
        if self.halo is None:
            return None
        return tuple(self.halo(self.bind(parameters), spacing))


# --- halos ------------------------------------------------------------------------


def _radius_halo(factor: int = 1) -> HaloFunction:
    return lambda p, spacing: tuple(factor * e for e in reach(p["radius"], spacing))


def _sigmas_reach(p: dict, spacing: Sequence[float], *names: str) -> tuple[int, ...]:
    """The reach of the largest of the sigmas ``names``, each refused as the filter does."""
    return _sigma_reach(max(check_positive(p[name], name) for name in names), spacing)


def _sigma_reach(sigma: float, spacing: Sequence[float]) -> tuple[int, ...]:
    # scipy's gaussian_filter uses a kernel radius of int(truncate * sd + 0.5).
    return tuple(int(GAUSSIAN_TRUNCATE * sigma / s + 0.5) for s in spacing)


def _constant_halo(value: int) -> HaloFunction:
    return lambda p, spacing: (value,) * len(spacing)


# --- declarations ---------------------------------------------------------------

RADIUS = Parameter(
    "radius",
    "float",
    2.0,
    0.0,
    30.0,
    0.5,
    unit="length",
    bound="nonnegative",
    description="Radius of the neighbourhood",
)
FOOTPRINT = Parameter(
    "footprint", "choice", "ball", choices=FOOTPRINTS, description="Disk/ball or square/cube"
)
SIGMA = Parameter(
    "sigma", "float", 1.0, 0.1, 20.0, 0.1, unit="length", bound="positive",
    description="Gaussian sigma",
)
CONNECTIVITY = Parameter(
    "connectivity",
    "int",
    1,
    1,
    3,
    1,
    ndim_range="spatial",
    description="1: direct neighbours only; ndim: diagonal neighbours too",
    strict=True,
)

_REGISTRY: dict[str, Operation] = {}


def _add(operation: Operation) -> Operation:
    _REGISTRY[operation.name] = operation
    return operation


def _neighbourhood(
    name, function, category, display, radius=RADIUS, factor=1, description="", plane=None
):
    _add(
        Operation(
            name,
            function,
            category,
            display,
            (radius, FOOTPRINT),
            halo=_radius_halo(factor),
            description=description,
            plane=plane,
        )
    )


# Single-pass filters compute one plane of a stack alone (live previews).
_neighbourhood(
    "mean",
    filters.mean,
    "denoise",
    "Mean",
    description="Local mean (box/ball)",
    plane=filters.mean_plane,
)
_neighbourhood(
    "median",
    filters.median,
    "denoise",
    "Median",
    description="Local median",
    plane=filters.median_plane,
)
_neighbourhood(
    "minimum",
    filters.minimum,
    "denoise",
    "Minimum",
    description="Local minimum",
    plane=filters.minimum_plane,
)
_neighbourhood(
    "maximum",
    filters.maximum,
    "denoise",
    "Maximum",
    description="Local maximum",
    plane=filters.maximum_plane,
)
_neighbourhood(
    "variance",
    filters.variance,
    "edges",
    "Variance",
    description="Local variance",
    plane=filters.variance_plane,
)
_neighbourhood(
    "standard_deviation",
    filters.standard_deviation,
    "edges",
    "Standard deviation",
    description="Local standard deviation",
    plane=filters.standard_deviation_plane,
)
_TOP_HAT_RADIUS = Parameter(
    "radius",
    "float",
    10.0,
    0.0,
    50.0,
    0.5,
    unit="length",
    bound="nonnegative",
    description="Larger than the objects to keep",
)
_neighbourhood(
    "white_top_hat",
    filters.white_top_hat,
    "background",
    "White top-hat",
    radius=_TOP_HAT_RADIUS,
    factor=2,
    description="Subtract background under bright objects",
    plane=filters.white_top_hat_plane,
)
_neighbourhood(
    "black_top_hat",
    filters.black_top_hat,
    "background",
    "Black top-hat",
    radius=_TOP_HAT_RADIUS,
    factor=2,
    description="Dark objects on a bright background",
    plane=filters.black_top_hat_plane,
)
_add(
    Operation(
        "gaussian",
        filters.gaussian,
        "denoise",
        "Gaussian",
        (SIGMA,),
        halo=lambda p, spacing: _sigmas_reach(p, spacing, "sigma"),
        description="Gaussian blur",
        plane=filters.gaussian_plane,
    )
)
_add(
    Operation(
        "sobel",
        filters.sobel,
        "edges",
        "Sobel",
        (),
        halo=_constant_halo(1),
        description="Gradient magnitude",
        plane=filters.sobel_plane,
    )
)
_add(
    Operation(
        "laplace",
        filters.laplace,
        "edges",
        "Laplace",
        (),
        halo=_constant_halo(1),
        description="Discrete Laplacian",
        plane=filters.laplace_plane,
    )
)
_add(
    Operation(
        "laplacian_of_gaussian",
        filters.laplacian_of_gaussian,
        "edges",
        "Laplacian of Gaussian",
        (SIGMA,),
        halo=lambda p, spacing: tuple(e + 1 for e in _sigmas_reach(p, spacing, "sigma")),
        description="Gaussian blur, then Laplace",
        plane=filters.laplacian_of_gaussian_plane,
    )
)
_add(
    Operation(
        "difference_of_gaussian",
        filters.difference_of_gaussian,
        "background",
        "Difference of Gaussian",
        (
            Parameter(
                "sigma1",
                "float",
                1.0,
                0.1,
                20.0,
                0.1,
                unit="length",
                bound="positive",
                description="Sigma of the narrow Gaussian",
            ),
            Parameter(
                "sigma2",
                "float",
                3.0,
                0.1,
                40.0,
                0.1,
                unit="length",
                bound="positive",
                description="Sigma of the wide Gaussian",
            ),
        ),
        halo=lambda p, spacing: _sigmas_reach(p, spacing, "sigma1", "sigma2"),
        description="Band-pass: Gaussian(sigma1) - Gaussian(sigma2)",
        plane=filters.difference_of_gaussian_plane,
    )
)
_add(
    Operation(
        "threshold",
        threshold.threshold,
        "threshold",
        "Threshold",
        (
            Parameter(
                "method",
                "choice",
                "otsu",
                choices=threshold.METHODS,
                description="Manual value or an automatic histogram method",
            ),
            Parameter(
                "value",
                "float",
                None,
                optional=True,
                from_data=True,
                active_when=("method", "manual"),
                description="Threshold for method='manual' (foreground is above)",
            ),
        ),
        output_kind="mask",
        batch=False,
        uses_spacing=False,
        accepts_rgb=True,
        description="Binarize: pixels above the threshold",
        prepare=threshold.prepare_threshold,
    )
)
for _name, _display, _factor, _steps in (
    ("binary_erosion", "Binary erosion", 1, "e"),
    ("binary_dilation", "Binary dilation", 1, "d"),
    ("binary_opening", "Binary opening", 2, "ed"),
    ("binary_closing", "Binary closing", 2, "de"),
):
    _add(
        Operation(
            _name,
            getattr(morphology, _name),
            "binary",
            _display,
            (
                Parameter(
                    "radius",
                    "float",
                    1.0,
                    0.0,
                    30.0,
                    0.5,
                    unit="length",
                    bound="nonnegative",
                    description="Radius of the structuring element",
                ),
                FOOTPRINT,
            ),
            input_kind="mask",
            output_kind="mask",
            halo=_radius_halo(_factor),
            plane=morphology.binary_plane(_steps),
        )
    )
_add(
    Operation(
        "fill_holes",
        morphology.fill_holes,
        "binary",
        "Fill holes",
        (),
        input_kind="mask",
        output_kind="mask",
        description="Fill enclosed background",
        output_plane=morphology.fill_holes_plane,
    )
)
_add(
    Operation(
        "remove_small_objects",
        morphology.remove_small_objects,
        "binary",
        "Remove small objects",
        (
            Parameter(
                "min_size",
                "float",
                64.0,
                0.0,
                10000.0,
                1.0,
                unit="volume",
                bound="nonnegative",
                description="Smallest area/volume kept",
            ),
            CONNECTIVITY,
        ),
        input_kind="mask",
        output_kind="mask",
        output_plane=morphology.remove_small_objects_plane,
    )
)
_add(
    Operation(
        "label",
        morphology.label,
        "binary",
        "Connected components",
        (CONNECTIVITY,),
        input_kind="mask",
        output_kind="labels",
        description="Label connected objects",
        output_plane=morphology.label_plane,
    )
)
_add(
    Operation(
        "labels_to_mask",
        morphology.labels_to_mask,
        "binary",
        "Mask from labels",
        (),
        input_kind="mask",
        output_kind="mask",
        halo=_constant_halo(0),
        uses_spacing=False,
        description="Every object of a label image as foreground (labels != 0)",
    )
)
_ANY_AXIS = dict(minimum=-5, maximum=4, step=1, ndim_range="axis")
_add(
    Operation(
        "crop",
        transforms.crop,
        "transform",
        "Crop",
        (
            Parameter(
                "start",
                "ints",
                None,
                optional=True,
                unit="pixels",
                description="First index per axis (negative: from the end, as in numpy)",
            ),
            Parameter(
                "stop",
                "ints",
                None,
                optional=True,
                unit="pixels",
                description="One past the last index per axis (negative: from the end)",
            ),
        ),
        batch=False,
        uses_spacing=False,
    )
)
_add(
    Operation(
        "subsample",
        transforms.subsample,
        "transform",
        "Subsample",
        (
            Parameter(
                "step", "ints", 2, 1, 16, 1, unit="pixels", bound="positive",
                description="Keep every n-th pixel", in_plane=True,
            ),
        ),
        batch=False,
        uses_spacing=False,
    )
)
_add(
    Operation(
        "flip",
        transforms.flip,
        "transform",
        "Flip",
        (Parameter("axis", "int", -1, **_ANY_AXIS, description="Axis to reverse"),),
        batch=False,
        uses_spacing=False,
        output_plane=transforms.flip_plane,
    )
)
_add(
    Operation(
        "project",
        transforms.project,
        "project",
        "Projection",
        (
            Parameter(
                "axis", "int", -3, **_ANY_AXIS,
                description="Axis to project along (default: the one before y)",
            ),
            Parameter("method", "choice", "max", choices=transforms.PROJECTIONS),
        ),
        batch=False,
        uses_spacing=False,
        accepts_rgb=True,
    )
)
_add(
    Operation(
        "resample_isotropic",
        transforms.resample_isotropic,
        "transform",
        "Resample to isotropic",
        (
            Parameter(
                "order",
                "int",
                1,
                0,
                3,
                1,
                description="Interpolation: 0 nearest, 1 linear, 3 cubic",
                strict=True,
            ),
        ),
        needs_spacing=True,
        description="Cubic voxels of the smallest spacing",
        output_plane=transforms.resample_plane,
    )
)
_add(
    Operation(
        "set_voxel_size",
        transforms.set_voxel_size,
        "transform",
        "Set voxel size",
        (
            Parameter(
                "z",
                "float",
                None,
                1e-6,
                1e6,
                0.01,
                optional=True,
                bound="positive",
                description="Slice distance (3D data; none: keep the input's)",
            ),
            Parameter(
                "y", "float", 1.0, 1e-6, 1e6, 0.01, bound="positive", description="Pixel height"
            ),
            Parameter(
                "x", "float", 1.0, 1e-6, 1e6, 0.01, bound="positive", description="Pixel width"
            ),
            Parameter(
                "unit",
                "choice",
                None,
                choices=transforms.LENGTH_UNITS,
                optional=True,
                spelling=transforms.length_unit,
                description="Length unit of z, y and x (none: the input's; with z on 3D data)",
            ),
        ),
        uses_spacing=False,
        accepts_rgb=True,
        halo=lambda parameters, spacing: (0,) * len(spacing),  # (chunks run alone)
        widget="voxel_size",  # the Voxel size dock sets it and records it
        description="Give the result this voxel size, in this unit or the input's (pixels kept)",
    )
)
_add(
    Operation(
        "set_axis_role",
        transforms.set_axis_role,
        "transform",
        "Name the axis before y",
        (
            Parameter(
                "role", "choice", "t", choices=transforms.AXIS_ROLES,
                description="What the axis before y holds: z slices, t frames or channels",
            ),
        ),
        uses_spacing=False,
        accepts_rgb=True,
        halo=lambda parameters, spacing: (0,) * len(spacing),  # (chunks run alone)
        widget="voxel_size",  # the Voxel size dock names it and records it
        description="Frames, channels: filtered one by one; z slices: in 3D (pixels unchanged)",
    )
)
BUILTIN_NAMES = tuple(_REGISTRY)


def list_operations(category: str | None = None) -> list[Operation]:
    """All registered operations (built-in first), optionally of one category."""
    return [op for op in _REGISTRY.values() if category is None or op.category == category]


def get_operation(name: str) -> Operation:
    """Return the operation called ``name``.

    Raises
    ------
    ValueError
        Naming the unknown operation and the known ones.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown operation {name!r}; known operations: {', '.join(_REGISTRY)}"
        ) from None


def import_operation(name: str, module: str | None) -> Operation:
    """Return ``name``, importing ``module`` first when it registers the operation."""
    if name not in _REGISTRY and module:
        if module == "__main__":
            raise ValueError(
                f"operation {name!r} was registered in a script or notebook (module "
                "'__main__'), which a pipeline cannot import: register the function "
                "first, or move it to an importable module"
            )
        try:
            importlib.import_module(module)
        except (ImportError, TypeError, ValueError) as error:  # (relative, empty names)
            missing = getattr(error, "name", None)  # (the module itself, not one it imports)
            if missing and f"{module}.".startswith(f"{missing}."):
                # (registering is no answer on the command line, where the current
                # folder is on sys.path only for python -m)
                hint = (
                    ": put its folder on PYTHONPATH (PYTHONPATH=its/folder napari-bioimg "
                    "run ..., or python -m napari_bioimg run ... in that folder), install "
                    "it, or import it first in Python"
                )
            else:
                hint = "; install it or register the function first"
            raise ValueError(
                f"operation {name!r} comes from module {module!r}, which cannot be "
                f"imported ({error}){hint}"
            ) from error
    return get_operation(name)


# --- user functions ---------------------------------------------------------------


def _parameter_from(signature_parameter: inspect.Parameter, hint: Any) -> Parameter:
    name = signature_parameter.name
    default = signature_parameter.default
    if default is inspect.Parameter.empty:
        raise TypeError(f"parameter {name!r} needs a default value to become a slider")
    options: dict[str, Any] = {}
    if typing.get_origin(hint) is typing.Annotated:
        hint, *extras = typing.get_args(hint)
        for extra in extras:
            if isinstance(extra, dict):
                options.update(extra)
    if typing.get_origin(hint) is Literal:
        choices = tuple(typing.get_args(hint))
        if default not in choices:
            raise ValueError(
                f"parameter {name!r}: the default {default!r} is not one of its choices "
                f"{', '.join(map(repr, choices))}"
            )
        return Parameter(name, "choice", default, choices=choices)
    if hint is bool:
        if not isinstance(default, bool | np.bool_):
            raise TypeError(f"parameter {name!r}: the default {default!r} is not a bool")
        return Parameter(name, "bool", bool(default))
    if hint in (int, float):
        kind = "int" if hint is int else "float"
        number = isinstance(default, int | float | np.integer | np.floating) and not (
            isinstance(default, bool | np.bool_)
        )
        if not number or not math.isfinite(default) or (
            kind == "int" and not float(default).is_integer()
        ):
            # (a pipeline saving it could not be loaded: 2.5 is no int)
            raise TypeError(
                f"parameter {name!r}: the default {default!r} is not "
                f"{'an integer' if kind == 'int' else 'a finite number'}"
            )
        default = int(default) if kind == "int" else float(default)
        span = max(10.0, 4 * abs(float(default)))
        if kind == "float" and 0 < abs(default) < 1:  # 0.04: 0..1, 1e-3: 0..0.01
            span = 10.0 ** math.ceil(math.log10(4 * abs(float(default))))
        minimum = options.get("min", 0 if default >= 0 else -span)
        maximum = options.get("max", span if kind == "float" else math.ceil(span))
        step = options.get("step", 1 if kind == "int" else (maximum - minimum) / 100)
        if not minimum <= default <= maximum:
            raise ValueError(
                f"parameter {name!r}: the default {default!r} is outside its range "
                f"{minimum!r} to {maximum!r}"
            )
        return Parameter(
            name, kind, default, minimum, maximum, step, unit=options.get("unit", "none")
        )
    raise TypeError(
        f"parameter {name!r} needs an int, float, bool or Literal annotation, got {hint!r}"
    )


def register(
    function: Callable | None = None,
    *,
    name: str | None = None,
    category: str = "custom",
    output_kind: Kind = "image",
    halo: int | None = None,
):
    """Turn a type-annotated function into an operation (usable as a decorator).

    The function takes the image first, then parameters with defaults annotated
    ``int``, ``float``, ``bool`` or ``Literal[...]``; ranges may be given as
    ``Annotated[float, {"min": 0, "max": 5, "step": 0.1}]``. A ``spacing``
    parameter, if present, receives the layer's voxel size. ``halo`` (pixels
    each output pixel reads around it; 0: plane by plane) lets previews and
    Apply compute the function plane by plane or in slabs; it must then keep
    the image's shape. Without it, the function always gets the whole image.

    Parameters
    ----------
    function : callable, optional
        The function; omitted when used as ``@register(...)``.
    name : str, optional
        The operation's name in pipelines and the CLI (default: the function's).
    category : str
        One of :data:`CATEGORIES`: the napari menu it appears in.
    output_kind : {"image", "mask", "labels"}
        What it returns: an image, or a mask or labels shown as a labels layer.
    halo : int, optional
        A whole number of pixels >= 0 (see above); None: the whole image.

    Returns
    -------
    callable
        ``function`` itself, registered (or the decorator, without ``function``).

    Raises
    ------
    TypeError
        For a parameter without a default or annotation, or a default not of it.
    ValueError
        For a built-in name, an unknown category or output kind, a bad halo, or a
        default outside its range or choices.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_bioimg.ops import filters
    >>> @register
    ... def my_dog(image: np.ndarray, sigma1: float = 1.0, sigma2: float = 3.0) -> np.ndarray:
    ...     return filters.gaussian(image, sigma=sigma1) - filters.gaussian(image, sigma=sigma2)
    >>> get_operation("my_dog").parameters[0].name
    'sigma1'
    >>> unregister("my_dog")
    """

    def decorate(func: Callable) -> Callable:
        hints = typing.get_type_hints(func, include_extras=True)
        signature = inspect.signature(func)
        listed = list(signature.parameters.values())
        if not listed:
            raise TypeError(f"{func.__name__} must take the image as its first argument")
        parameters = tuple(
            _parameter_from(p, hints.get(p.name, type(p.default)))
            for p in listed[1:]
            if p.name != "spacing"
        )
        if halo is not None and (
            isinstance(halo, bool) or not isinstance(halo, int | np.integer) or halo < 0
        ):
            raise ValueError(f"halo must be a whole number of pixels >= 0, got {halo!r}")
        op_name = name or func.__name__
        if op_name in BUILTIN_NAMES:
            raise ValueError(f"name {op_name!r} is a built-in operation; choose another name")
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {list(CATEGORIES)}, got {category!r}")
        if output_kind not in typing.get_args(Kind):
            raise ValueError(
                f"output_kind must be one of {list(typing.get_args(Kind))}, got {output_kind!r}"
            )
        _add(
            Operation(
                op_name,
                func,
                category,
                op_name.replace("_", " ").capitalize(),
                parameters,
                output_kind=output_kind,
                halo=None if halo is None else _constant_halo(int(halo)),
                uses_spacing="spacing" in signature.parameters,
                description=(inspect.getdoc(func) or "").split("\n")[0],
                module=func.__module__,
            )
        )
        return func

    return decorate if function is None else decorate(function)


def unregister(name: str) -> None:
    """Remove a user-registered operation (built-in ones stay)."""
    if name in BUILTIN_NAMES:
        raise ValueError(f"{name!r} is a built-in operation and cannot be removed")
    _REGISTRY.pop(name, None)
