"""Pipeline building and running, checked against calling the ops by hand."""

import numpy as np
import pytest

from napari_bioimg import ops
from napari_bioimg.pipeline import Pipeline, Step, spacing_after


@pytest.fixture
def volume():
    rng = np.random.default_rng(0)
    return rng.integers(0, 200, (7, 40, 36)).astype(np.uint8)


def test_add_fills_defaults_and_reads_the_previous_step():
    pipeline = Pipeline()
    first = pipeline.add("gaussian", sigma=np.float32(2))
    second = pipeline.add("median")
    assert first == Step("step1", "gaussian", {"sigma": 2.0}, "input")
    assert type(first.parameters["sigma"]) is float
    assert second.parameters == {"radius": ops.get_operation("median").defaults()["radius"],
                                 "footprint": "ball"}
    assert second.source == "step1"


@pytest.mark.parametrize(
    ("name", "parameters", "message"),
    [
        ("gausian", {}, r"step 2 \(gausian\): unknown operation 'gausian'"),
        ("gaussian", {"sigmaa": 1.0}, r"step 2 \(gaussian\).*no parameter 'sigmaa'"),
        ("gaussian", {"sigma": "large"}, r"step 2 \(gaussian\).*'sigma' must be a number"),
        ("median", {"footprint": "star"}, r"step 2 \(median\).*'footprint' must be one of"),
        ("label", {"connectivity": 1.5}, r"step 2 \(label\).*'connectivity' must be an integer"),
    ],
)
def test_add_refuses_bad_names_and_values_naming_step_and_parameter(name, parameters, message):
    pipeline = Pipeline()
    pipeline.add("mean")
    with pytest.raises(ValueError, match=message):
        pipeline.add(name, **parameters)
    assert len(pipeline) == 1


def test_sources_by_id_index_and_input():
    pipeline = Pipeline()
    pipeline.add("gaussian", step_id="blur")
    assert pipeline.add("median", source="input").source == "input"
    assert pipeline.add("threshold", source="blur").source == "blur"
    assert pipeline.add("label", source=-1).source == "step3"
    with pytest.raises(ValueError, match=r"step 5 \(mean\): source 'nope'"):
        pipeline.add("mean", source="nope")
    with pytest.raises(ValueError, match=r"step 5 \(mean\): source 7"):
        pipeline.add("mean", source=7)
    with pytest.raises(ValueError, match="already used"):
        pipeline.add("mean", step_id="blur")
    with pytest.raises(ValueError, match="must be a name"):
        pipeline.add("mean", step_id="2nd step")


def test_remove_refuses_a_step_that_others_read():
    pipeline = Pipeline()
    pipeline.add("gaussian")
    pipeline.add("median")
    with pytest.raises(ValueError, match="step2 read it"):
        pipeline.remove(0)
    assert pipeline.remove("step2").operation == "median"
    assert pipeline.add("mean").id == "step2"


def test_run_equals_the_ops_called_by_hand(volume):
    spacing = (2.0, 0.5, 0.5)
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0)
    pipeline.add("median", radius=1.0, footprint="box")
    pipeline.add("threshold", method="otsu")
    pipeline.add("binary_opening", radius=1.0)
    pipeline.add("label", connectivity=1)
    results = pipeline.run(volume, spacing, all_results=True)

    blurred = ops.gaussian(volume, sigma=1.0, spacing=spacing)
    smooth = ops.median(blurred, radius=1.0, footprint="box", spacing=spacing)
    mask = ops.threshold(smooth, method="otsu")
    opened = ops.binary_opening(mask, radius=1.0, footprint="ball", spacing=spacing)
    labels = ops.label(opened, connectivity=1, spacing=spacing)
    for result, expected in zip(results, [blurred, smooth, mask, opened, labels], strict=True):
        assert result.dtype == expected.dtype
        np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(pipeline.run(volume, spacing), labels)


def test_spacing_follows_resampling_subsampling_and_projection(volume):
    spacing = (2.0, 0.5, 0.5)
    pipeline = Pipeline()
    pipeline.add("resample_isotropic", order=1)
    pipeline.add("gaussian", sigma=1.0)
    pipeline.add("subsample", step=[1, 2, 3])
    pipeline.add("project", axis=0, method="max")
    pipeline.add("gaussian", sigma=1.0)
    result, result_spacing = pipeline.run_with_spacing(volume, spacing)

    iso = ops.resample_isotropic(volume, spacing=spacing, order=1)
    blurred = ops.gaussian(iso, sigma=1.0, spacing=(0.5, 0.5, 0.5))
    sub = ops.subsample(blurred, step=[1, 2, 3])
    projected = ops.project(sub, axis=0, method="max")
    expected = ops.gaussian(projected, sigma=1.0, spacing=(1.0, 1.5))
    np.testing.assert_array_equal(result, expected)
    assert result_spacing == (1.0, 1.5)


@pytest.mark.parametrize(
    ("operation", "parameters", "spacing", "ndim", "expected"),
    [
        ("gaussian", {"sigma": 1.0}, (2.0, 1.0, 1.0), 3, (2.0, 1.0, 1.0)),
        ("crop", {"start": [1], "stop": None}, (2.0, 1.0), 2, (2.0, 1.0)),
        ("flip", {"axis": 0}, (2.0, 1.0), 2, (2.0, 1.0)),
        ("resample_isotropic", {"order": 1}, (2.0, 0.5, 0.25), 3, (0.25, 0.25, 0.25)),
        ("subsample", {"step": 2}, (2.0, 1.0), 3, (4.0, 2.0)),  # a batch of 2D images
        ("subsample", {"step": [3, 2]}, (2.0, 1.0, 1.0), 3, (6.0, 2.0, 1.0)),
        ("project", {"axis": -1, "method": "max"}, (2.0, 1.0, 0.5), 3, (2.0, 1.0)),
        ("project", {"axis": 0, "method": "max"}, (1.0, 0.5), 3, (1.0, 0.5)),  # time axis
        ("project", {"axis": 0, "method": "max"}, (1.0, 0.5), 2, None),
        ("resample_isotropic", {"order": 1}, None, 3, None),
    ],
)
def test_spacing_after(operation, parameters, spacing, ndim, expected):
    assert spacing_after(operation, parameters, spacing, ndim) == expected


def test_run_with_geometry_places_the_result_as_the_steps_one_by_one(volume):
    """crop moves the origin, subsample scales, project drops an axis (as Apply does)."""
    pipeline = Pipeline()
    pipeline.add("crop", start=[1, 5, 10])
    pipeline.add("subsample", step=[1, 2, 1])
    pipeline.add("project", axis=2, method="max")
    result, spacing, scale, translate, units, labels = pipeline.run_with_geometry(
        volume, (2.0, 0.5, 0.5), (2.0, 0.5, 0.5), (7.0, 100.0, 200.0), ("s", "µm", "nm"),
        ("t", "y", "x"),
    )
    np.testing.assert_array_equal(result, volume[1:, 5::2, 10:].max(axis=2))
    assert labels == ("t", "y")  # the axes keep their names, the projected one goes
    assert spacing == scale == (2.0, 1.0)
    # a side view (z rows, y columns) just below the cropped, subsampled stack (18 rows of
    # 1.0 from y 102.5): its bottom edge, a gap of 5 % of its height, half a z step
    assert translate == pytest.approx((102.5 + 17.5 + 0.9 + 1.0, 100.0 + 5 * 0.5))
    assert units == ("s", "µm")  # the projected axis' unit dropped


def test_a_unit_set_keeps_the_origin_in_any_length_unit(volume):
    """A layer at 100 Å given nm voxels stays at 100 Å: 10 nm, as the Voxel size dock
    moves it (the pipeline knew only its table's units: the origin stayed at 100 nm)."""
    pipeline = Pipeline()
    pipeline.add("set_voxel_size", z=2.0, y=0.5, x=0.5, unit="nm")
    _, spacing, scale, translate, units, _ = pipeline.run_with_geometry(
        volume, (20.0, 5.0, 5.0), (20.0, 5.0, 5.0), (100.0, 50.0, 30.0), ("Å", "Å", "Å"),
        ("z", "y", "x"),
    )
    assert spacing == scale == (2.0, 0.5, 0.5)
    assert translate == pytest.approx((10.0, 5.0, 3.0))
    assert units == ("nm", "nm", "nm")


def test_spacing_of_an_rgb_image_follows_its_spatial_axes():
    rgb = np.zeros((40, 50, 3), np.uint8)
    pipeline = Pipeline()
    pipeline.add("subsample", step=[2, 5])
    result, spacing = pipeline.run_with_spacing(rgb, (0.5, 0.25))
    assert result.shape == (20, 10, 3) and spacing == (1.0, 1.25)


def test_run_errors_name_the_step():
    pipeline = Pipeline()
    pipeline.add("gaussian")
    pipeline.add("threshold", method="otsu")
    with pytest.raises(ValueError, match=r"step 2 \(threshold\): image is constant"):
        pipeline.run(np.zeros((8, 8)))


def test_empty_pipeline_returns_its_input():
    image = np.ones((4, 4))
    assert Pipeline().run(image) is image
    assert Pipeline().run_with_spacing(image, (1.0, 2.0)) == (image, (1.0, 2.0))


def test_pipeline_from_steps_and_equality():
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=3.0)
    pipeline.add("threshold", method="li", step_id="mask")
    copy = Pipeline(pipeline.steps)
    assert copy == pipeline
    assert copy is not pipeline
    assert repr(copy) == "Pipeline(gaussian -> threshold)"
    copy.add("label")
    assert copy != pipeline


def test_set_voxel_size_gives_the_steps_after_it_that_voxel_size(banana):
    stack = banana[:, ::8, ::8]
    pipeline = Pipeline()
    pipeline.append("set_voxel_size", {"z": 8.8, "y": 3.12, "x": 3.12})
    pipeline.append("gaussian", {"sigma": 6.0})
    guessed = (3.12, 3.12, 3.12)
    result, spacing = pipeline.run_with_spacing(stack, guessed)
    assert spacing == (8.8, 3.12, 3.12)
    np.testing.assert_array_equal(result, ops.gaussian(stack, sigma=6.0, spacing=spacing))
    # z=None keeps the input's slice distance; a 2D image takes y and x
    only_xy = Pipeline()
    only_xy.append("set_voxel_size", {"y": 0.5, "x": 0.25})
    assert only_xy.run_with_spacing(stack, guessed)[1] == (3.12, 0.5, 0.25)
    assert only_xy.run_with_spacing(stack[0], (1.0, 1.0))[1] == (0.5, 0.25)
    assert only_xy.run_with_spacing(stack, None)[1] == (1.0, 0.5, 0.25)
    # the geometry of the replayed layer: the new scale, same origin and units
    geometry = pipeline.run_with_geometry(stack, guessed, guessed, (1.0, 2.0, 3.0), ("mm",) * 3)
    assert geometry[2:] == ((8.8, 3.12, 3.12), (1.0, 2.0, 3.0), ("mm",) * 3, None)
    # the pixels are copied, never shared with the input
    copy = ops.set_voxel_size(stack, z=8.8)
    assert np.array_equal(copy, stack) and not np.shares_memory(copy, stack)


def test_set_voxel_size_with_a_unit_gives_it_to_the_result(banana):
    """The unit is part of the step: the result's unit for `run`, scripts and replays
    (the numbers were read in the input's unit: 8800 µm slices on a mm file became 8.8 m)."""
    stack = banana[:4, ::8, ::8]
    pipeline = Pipeline()
    pipeline.append("set_voxel_size", {"z": 8800.0, "y": 3120.0, "x": 3120.0, "unit": "µm"})
    pipeline.append("gaussian", {"sigma": 6000.0}, step_id="blur")
    assert pipeline.result_unit("mm") == "µm" and pipeline.result_unit(None) == "µm"
    result, spacing = pipeline.run_with_spacing(stack, (8.8, 3.12, 3.12))
    assert spacing == (8800.0, 3120.0, 3120.0)
    expected = ops.gaussian(stack, sigma=6.0, spacing=(8.8, 3.12, 3.12))  # (the same, in mm)
    np.testing.assert_array_equal(result, expected)
    geometry = pipeline.run_with_geometry(stack, (8.8, 3.12, 3.12), (8.8, 3.12, 3.12),
                                          (1.0, 50.0, 50.0), ("millimeter",) * 3)
    # the origin stays where it was (in µm now), as the Voxel size dock keeps it
    assert geometry[2:5] == ((8800.0, 3120.0, 3120.0), (1000.0, 5e4, 5e4), ("µm",) * 3)
    # a (t, y, x) series: the unit goes to y and x only; a later step without unit keeps it
    series = Pipeline()
    series.append("set_voxel_size", {"y": 0.5, "x": 0.5, "unit": "µm"})
    series.append("set_voxel_size", {"y": 0.25, "x": 0.25})
    geometry = series.run_with_geometry(stack, (3.12, 3.12), (2.0, 3.12, 3.12), (5.0, 1.0, 1.0),
                                        ("s", "mm", "mm"))
    assert geometry[2] == (2.0, 0.25, 0.25) and geometry[4] == ("s", "µm", "µm")
    assert geometry[3] == (5.0, 1000.0, 1000.0)  # (t: seconds, kept)
    assert series.result_unit("mm") == "µm"
    # a branch that does not pass through the step keeps the input's unit
    branch = Pipeline()
    branch.append("set_voxel_size", {"y": 0.5, "x": 0.5, "unit": "nm"})
    branch.append("median", {"radius": 1.0}, source="input")
    assert branch.result_unit("mm") == "mm"
    assert Pipeline().result_unit("mm") == "mm"


def test_a_unit_on_a_stack_needs_the_slice_distance():
    """z kept from the input would be read in the new unit (8.8 mm as 8.8 µm)."""
    pipeline = Pipeline()
    pipeline.append("set_voxel_size", {"y": 390.0, "x": 390.0, "unit": "µm"})
    with pytest.raises(ValueError, match=r"step 1 \(set_voxel_size\).*'z' needs a value"):
        pipeline.run_with_spacing(np.zeros((3, 8, 8)), (8.8, 0.39, 0.39))
    with pytest.raises(ValueError, match=r"step 1 \(set_voxel_size\).*'z' needs a value"):
        pipeline.run_dask(np.zeros((3, 8, 8)), (8.8, 0.39, 0.39))
    assert pipeline.run_with_spacing(np.zeros((8, 8)), (0.39, 0.39))[1] == (390.0, 390.0)
    with pytest.raises(ValueError, match="'unit' must be one of"):
        Pipeline().append("set_voxel_size", {"unit": "parsec"})  # (refused at load)
    # other spellings, as files write them, are µm (Greek mu looks the same)
    for spelling in ("um", "micron", "\u03bcm", "UM", "micrometres"):
        step = Pipeline().append("set_voxel_size", {"z": 1.0, "unit": spelling})
        assert step.parameters["unit"] == "µm", spelling
    assert ops.set_voxel_size(np.zeros((4, 4)), unit="micron").shape == (4, 4)


@pytest.mark.parametrize(
    ("parameters", "error", "name"),
    [({"z": 0.0}, ValueError, "z"), ({"y": -1.0}, ValueError, "y"),
     ({"x": float("inf")}, ValueError, "x"), ({"x": "big"}, TypeError, "x")],
)
def test_set_voxel_size_refuses_values_that_are_not_positive(parameters, error, name):
    with pytest.raises(error, match=name):
        ops.set_voxel_size(np.zeros((4, 4)), **parameters)
    # refused when the step is added, not on every file the pipeline later reads
    with pytest.raises(ValueError, match=f"step 1 \\(set_voxel_size\\).*'{name}'"):
        Pipeline().append("set_voxel_size", parameters)


def test_replayed_geometry_reads_the_spatial_axes_the_spacing_names():
    """A (t, y, x) series with a 2-value spacing: t keeps its scale."""
    series = np.zeros((4, 20, 30), np.float32)
    for operation, parameters, expected in [
        ("resample_isotropic", {}, (0.1, 0.5, 0.5)),
        ("set_voxel_size", {"z": 2.0, "y": 0.3, "x": 0.3}, (0.1, 0.3, 0.3)),
    ]:
        pipeline = Pipeline()
        pipeline.append(operation, parameters)
        _, spacing, scale, _, _, _ = pipeline.run_with_geometry(
            series, (0.5, 1.0), (0.1, 0.5, 1.0), (0, 0, 0), ("s", "µm", "µm")
        )
        assert scale == expected and spacing == expected[1:]


def test_a_function_making_an_rgb_image_grey_keeps_both_axes_geometry():
    """The colour axis counted as an axis: the grey result lost y's scale and translate."""
    from napari_bioimg.ops import register, unregister

    def to_grey(image, gain: float = 1.0):
        return image.mean(axis=-1) * gain

    register(to_grey)
    try:
        pipeline = Pipeline()
        pipeline.add("to_grey")
        rgb = np.random.default_rng(0).integers(0, 255, (40, 50, 3)).astype(np.uint8)
        result, spacing, scale, translate, units, _ = pipeline.run_with_geometry(
            rgb, (0.5, 0.5), (0.5, 0.5), (10.0, 20.0), ("um", "um")
        )
        np.testing.assert_allclose(result, rgb.mean(axis=-1))
        assert (spacing, scale, translate, units) == (
            (0.5, 0.5), (0.5, 0.5), (10.0, 20.0), ("um", "um")
        )
    finally:
        unregister("to_grey")


def test_a_function_making_a_grey_image_rgb_gets_a_leading_axis_as_apply_does():
    """Replay took the new colour axis for the input's: 2 scale values for 3 axes."""
    from napari_bioimg.ops import register, unregister

    def to_rgb(image, gain: float = 1.0):
        return np.stack([image * gain] * 3, axis=-1)

    register(to_rgb)
    try:
        pipeline = Pipeline()
        pipeline.add("to_rgb")
        grey = np.random.default_rng(0).integers(0, 255, (40, 50)).astype(np.uint8)
        result, spacing, scale, translate, units, _ = pipeline.run_with_geometry(
            grey, (0.5, 0.5), (0.5, 0.5), (10.0, 20.0), ("um", "um")
        )
        assert result.shape == (40, 50, 3)
        assert (scale, translate, units) == ((1.0, 0.5, 0.5), (0.0, 10.0, 20.0),
                                             ("pixel", "um", "um"))
    finally:
        unregister("to_rgb")


def test_set_axis_role_names_frames_or_a_new_z_axis(volume):
    frames = Pipeline()
    frames.add("set_axis_role", role="t")
    frames.add("gaussian", sigma=1.0)
    result, spacing = frames.run_with_spacing(volume, (2.0, 0.5, 0.5))
    np.testing.assert_allclose(result, ops.gaussian(volume, sigma=1.0, spacing=(0.5, 0.5)))
    assert spacing == (0.5, 0.5)
    *_, units, labels = frames.run_with_geometry(
        volume, (2.0, 0.5, 0.5), (2.0, 0.5, 0.5), (0.0,) * 3, ("µm",) * 3, ("-3", "-2", "-1")
    )
    assert labels == ("t", "y", "x") and units == ("pixel", "µm", "µm")
    stack = Pipeline()  # a movie read as frames, named a z-stack: z is the pixel width
    stack.add("set_axis_role", role="z")
    assert stack.run_with_spacing(volume, (0.5, 0.5))[1] == (0.5, 0.5, 0.5)
    assert spacing_after("set_axis_role", {"role": "channel"}, (2.0, 0.5, 0.5), 4) == (0.5, 0.5)
    copy = ops.set_axis_role(volume, role="t")
    assert np.array_equal(copy, volume) and not np.shares_memory(copy, volume)
    with pytest.raises(ValueError, match="role"):
        ops.set_axis_role(volume, role="time")
    with pytest.raises(ValueError, match="2D"):
        ops.set_axis_role(volume[0], role="t")


def test_axis_role_is_the_last_naming_on_the_way_to_the_result():
    pipeline = Pipeline()
    assert pipeline.axis_role() is None
    pipeline.add("set_axis_role", role="channel", step_id="channels")
    pipeline.add("gaussian", sigma=1.0)
    assert pipeline.axis_role() == "channel"
    pipeline.add("set_axis_role", role="z")
    pipeline.add("median", radius=1.0)
    assert pipeline.axis_role() == "z"
    # a branch from the first naming: the result reads that one only
    pipeline.add("mean", radius=1.0, source="channels")
    assert pipeline.axis_role() == "channel"
    pipeline.add("minimum", radius=1.0, source="input")
    assert pipeline.axis_role() is None
    # a projection of the named axis (or of y, x) after it: no named axis is left there
    for axis, role in ((-3, None), (-1, None), (-4, "channel"), (0, None)):
        named = Pipeline()
        named.add("set_axis_role", role="channel")
        named.add("project", axis=axis)
        assert named.axis_role() == role, axis


def _with_failing_side_branch() -> Pipeline:
    """gaussian -> threshold, with a projection of the 2D input applied in between."""
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=1.0, step_id="smooth")
    pipeline.add("project", source="input", step_id="side")  # a 2D image has no z: fails
    pipeline.add("threshold", method="otsu", source="smooth", step_id="mask")
    return pipeline


def test_keeps_intensities_tells_whether_the_input_display_range_fits_the_result():
    def pipeline(*steps):
        made = Pipeline()
        for operation, parameters in steps:
            made.add(operation, **parameters)
        return made

    kept = [
        pipeline(("flip", {}), ("resample_isotropic", {}), ("project", {"method": "max"})),
        pipeline(("gaussian", {"sigma": 1.0}), ("project", {"method": "mean"})),
        pipeline(("median", {"radius": 1.0})),
        pipeline(),
    ]
    new_values = [
        pipeline(("white_top_hat", {"radius": 2.0})),
        pipeline(("project", {"method": "sum"})),
        pipeline(("gaussian", {"sigma": 1.0}), ("sobel", {})),
        pipeline(("threshold", {"method": "otsu"}), ("flip", {})),
    ]
    assert all(p.keeps_intensities() for p in kept)
    assert not any(p.keeps_intensities() for p in new_values)
    side = pipeline(("white_top_hat", {"radius": 2.0}), ("gaussian", {"sigma": 1.0}))
    side.add("flip", source="input")  # (the top-hat is a side branch: the flip is the result)
    assert side.keeps_intensities()


def test_making_keeps_the_steps_a_result_needs():
    pipeline = _with_failing_side_branch()
    assert [step.id for step in pipeline.making()] == ["smooth", "mask"]
    assert [step.id for step in pipeline.making("side")] == ["side"]
    assert [step.id for step in pipeline.making(0)] == ["smooth"]
    assert pipeline.making("mask").steps == (pipeline[0], pipeline[2])
    assert len(Pipeline().making()) == 0


def test_a_side_branch_is_not_run_for_the_last_result(blobs):
    """Its result would be thrown away: it must not fail the file (nor cost time)."""
    pipeline = _with_failing_side_branch()
    expected = ops.threshold(ops.gaussian(blobs, sigma=1.0), method="otsu")
    np.testing.assert_array_equal(pipeline.run(blobs), expected)
    result, _ = pipeline.run_with_spacing(blobs, (0.5, 0.5))  # sigma 1 µm: 2 px
    np.testing.assert_array_equal(
        result, ops.threshold(ops.gaussian(blobs, sigma=2.0), method="otsu")
    )
    np.testing.assert_array_equal(pipeline.run_dask(blobs).compute(), expected)
    # every result asked for: the side branch runs, and its error names it
    with pytest.raises(ValueError, match="step 2.*project"):
        pipeline.run(blobs, all_results=True)


def test_mask_operations_on_a_stack_cropped_three_pixels_wide():
    """Known limit: it looks RGB; its masks work column by column, the spacing's x dropped.

    (The erosion refused the 3-value spacing of the stack, which the README said works.)
    """
    stack = np.random.default_rng(3).integers(0, 200, (12, 40, 36)).astype(np.uint8)
    pipeline = Pipeline()
    pipeline.add("crop", start=(None, None, 10), stop=(None, None, 13))
    pipeline.add("threshold", method="otsu")
    pipeline.add("binary_erosion", radius=1.0)
    result = pipeline.run(stack, spacing=(2.0, 0.5, 0.5))
    mask = ops.threshold(stack[:, :, 10:13], method="otsu")
    expected = np.stack(
        [ops.binary_erosion(mask[..., c], radius=1.0, spacing=(2.0, 0.5)) for c in range(3)], -1
    )
    np.testing.assert_array_equal(result, expected)
    assert result.any() and not result.all()
