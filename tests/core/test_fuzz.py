"""Hypothesis: every operation returns its documented dtype and shape or a documented error."""

import os
import re

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from napari_bioimg import ops

FLOAT32_OUT = {
    "mean", "variance", "standard_deviation", "gaussian", "sobel", "laplace",
    "difference_of_gaussian", "laplacian_of_gaussian",
}
SAME_DTYPE = {"median", "minimum", "maximum", "white_top_hat", "black_top_hat", "crop",
              "subsample", "flip", "resample_isotropic"}
BOOL_OUT = {"threshold", "binary_erosion", "binary_dilation", "binary_opening",
            "binary_closing", "fill_holes", "remove_small_objects", "labels_to_mask"}
BUILTINS = [op for op in ops.list_operations() if op.module == ""]
DTYPES = [np.bool_, np.uint8, np.uint16, np.int32, np.float32, np.float64]


def expected_dtype(name, image, params):
    if name in FLOAT32_OUT or (name == "project" and params["method"] in ("mean", "sum")):
        return np.float32
    if name in BOOL_OUT:
        return np.bool_
    if name == "label":
        return np.int32
    return image.dtype


@st.composite
def cases(draw):
    op = draw(st.sampled_from(BUILTINS))
    ndim = draw(st.sampled_from([2, 3]))
    shape = draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=1, max_side=7))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    if op.input_kind == "mask" and draw(st.booleans()):
        image = draw(hnp.arrays(np.bool_, shape)).astype(dtype)
    elif dtype.kind == "f":
        image = draw(hnp.arrays(dtype, shape, elements=st.floats(
            allow_nan=True, allow_infinity=True, width=dtype.itemsize * 8)))
    else:
        image = draw(hnp.arrays(dtype, shape))
    params = {}
    for parameter in op.parameters:
        if parameter.kind == "choice":
            params[parameter.name] = draw(st.sampled_from(parameter.choices))
        elif parameter.name in ("radius", "sigma", "sigma1", "sigma2"):
            params[parameter.name] = draw(st.floats(-0.5, 3.0))
        elif parameter.name == "value":
            params["value"] = draw(st.floats(-10, 300))
        elif parameter.name == "axis":
            params["axis"] = draw(st.integers(-ndim, ndim - 1))
        elif parameter.kind in ("int", "float") and parameter.minimum is not None:
            params[parameter.name] = draw(st.integers(int(parameter.minimum), 4))
    spacing = draw(st.one_of(st.none(), st.tuples(*[st.floats(0.2, 3.0)] * ndim)))
    return op, image, params, spacing


# The same 300 examples on every run (derandomize): an example drawn once in a
# while (an int32 image spanning 8 million values thresholded by "minimum" ran for
# minutes) stopped one CI run and hung another. Wider random searches by hand, e.g.
#   NAPARI_BIOIMG_FUZZ_EXAMPLES=4000 pytest tests/core/test_fuzz.py --hypothesis-seed=7
# (seeds 1-12 with 4000 examples each passed on 2026-12-02).
EXPLORE = os.environ.get("NAPARI_BIOIMG_FUZZ_EXAMPLES")


@settings(max_examples=int(EXPLORE or 300), derandomize=not EXPLORE, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_documented_result_or_documented_error(case):
    op, image, params, spacing = case
    before = image.copy()
    try:
        with np.errstate(all="ignore"):
            result = op(image, spacing=spacing, **params)
    except (ValueError, TypeError) as error:
        # documented errors name what is wrong: a parameter, or the image (not numpy's
        # own "operands could not be broadcast", which would be a bug)
        assert re.search(r"parameter '\w+'|image|\b\w+ must\b", str(error)), str(error)
    else:
        assert isinstance(result, np.ndarray)
        assert result.dtype == expected_dtype(op.name, image, params), (op.name, result.dtype)
        if op.name not in ("crop", "subsample", "project", "resample_isotropic"):
            assert result.shape == image.shape
    np.testing.assert_array_equal(image, before)  # the input is never modified
