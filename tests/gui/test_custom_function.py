"""Your own function as an operation: a docked widget, live preview, Apply, pipelines."""

import importlib
import subprocess
import sys
import textwrap
import time
import uuid
from typing import Annotated

import numpy as np
import pytest
from magicgui import widgets

import napari_bioimg
from napari_bioimg._widgets._recorder import recorder_for
from napari_bioimg._widgets.operation import OperationWidget
from napari_bioimg.ops.registry import get_operation, unregister
from napari_bioimg.pipeline import Pipeline

from .conftest import newest

SOURCE = '''
"""Filters written during the lecture."""
from typing import Annotated

import numpy as np

import napari_bioimg
from napari_bioimg import ops


@napari_bioimg.register
def unsharp_{suffix}(
    image: np.ndarray,
    amount: Annotated[float, {{"min": 0.0, "max": 3.0, "step": 0.1}}] = 1.0,
    radius: float = 2.0,
) -> np.ndarray:
    """Sharpen: image + amount * (image - Gaussian blur)."""
    image = np.asarray(image, dtype=np.float32)
    return image + amount * (image - ops.gaussian(image, sigma=radius))
'''


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


@pytest.fixture
def lecture_module(tmp_path, monkeypatch):
    """A module on sys.path that registers ``unsharp_<suffix>`` when imported."""
    suffix = uuid.uuid4().hex[:8]
    name = f"lecture_filters_{suffix}"
    (tmp_path / f"{name}.py").write_text(SOURCE.format(suffix=suffix), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    yield module, f"unsharp_{suffix}"
    unregister(f"unsharp_{suffix}")
    sys.modules.pop(name, None)



@pytest.fixture
def errors(monkeypatch):
    """The error notifications of the operation docks, as a list."""
    from napari_bioimg._widgets import operation as operation_module

    told = []
    monkeypatch.setattr(operation_module, "show_error", told.append)
    return told

def wait_idle(qtbot, widget):
    qtbot.waitUntil(lambda: not widget.busy, timeout=20000)


def test_a_registered_function_gets_sliders_and_a_live_preview(viewer, qtbot, blobs,
                                                               lecture_module):
    module, name = lecture_module
    function = getattr(module, name)
    viewer.add_image(blobs, name="blobs")
    widget = napari_bioimg.show(viewer, function)
    assert isinstance(widget, OperationWidget) and widget.operation.name == name
    amount = widget._controls["amount"]
    assert isinstance(amount, widgets.FloatSlider) and (amount.min, amount.max) == (0.0, 3.0)
    wait_idle(qtbot, widget)
    preview = viewer.layers[f"blobs {name}"]
    np.testing.assert_allclose(preview.data, function(blobs), rtol=1e-6)
    widget.set_parameters(amount=2.5, radius=4.0)  # the sliders change the live result
    wait_idle(qtbot, widget)
    np.testing.assert_allclose(
        viewer.layers[f"blobs {name}"].data, function(blobs, amount=2.5, radius=4.0), rtol=1e-6
    )
    assert napari_bioimg.show(viewer, name).operation is widget.operation  # by name too


def test_a_pipeline_using_it_records_the_module_and_replays(viewer, qtbot, blobs,
                                                            lecture_module):
    module, name = lecture_module
    viewer.add_image(blobs, name="blobs")
    widget = napari_bioimg.show(viewer, getattr(module, name))
    widget.set_parameters(amount=1.5)
    wait_idle(qtbot, widget)
    widget.apply()
    wait_idle(qtbot, widget)
    kept = newest(viewer)
    step = recorder_for(viewer).steps[-1]
    assert (step.operation, step.module) == (name, module.__name__)

    pipeline = recorder_for(viewer).to_pipeline()
    pipeline.append("threshold", {"method": "otsu"})
    text = pipeline.to_yaml()
    assert f"module: {module.__name__}" in text

    # A fresh session: nothing registered, the module not imported yet.
    unregister(name)
    sys.modules.pop(module.__name__)
    with pytest.raises(ValueError, match="unknown operation"):
        get_operation(name)
    loaded = Pipeline.from_yaml(text)
    replayed = loaded.run(blobs, all_results=True)
    np.testing.assert_allclose(replayed[0], kept.data, rtol=1e-6)
    np.testing.assert_array_equal(
        replayed[1], napari_bioimg.ops.threshold(kept.data, method="otsu")
    )


def test_a_missing_module_gives_a_clear_error(lecture_module):
    module, name = lecture_module
    pipeline = Pipeline()
    pipeline.append(name, {"amount": 0.5})
    text = pipeline.to_yaml().replace(module.__name__, "lecture_filters_gone")
    unregister(name)
    with pytest.raises(ValueError) as caught:
        Pipeline.from_yaml(text)
    message = str(caught.value)
    assert "step 1" in message and name in message
    assert "lecture_filters_gone" in message and "cannot be imported" in message


def test_a_function_from_a_script_is_registered_with_a_warning(viewer, monkeypatch):
    messages = []
    monkeypatch.setattr("napari_bioimg._widgets.custom.show_warning", messages.append)

    def brighten(image: np.ndarray, factor: float = 2.0) -> np.ndarray:
        return image * factor

    brighten.__module__ = "__main__"
    viewer.add_image(np.ones((8, 8)), name="ones")
    try:
        widget = napari_bioimg.show(viewer, brighten)
        assert widget.operation.function is brighten
        assert messages and "script or notebook" in messages[-1]
    finally:
        unregister("brighten")


def test_a_function_writing_into_its_input_leaves_the_layer_and_no_image_is_reported(
    viewer, qtbot, blobs, errors
):
    source = viewer.add_image(blobs.copy(), name="blobs")

    def in_place(image, k: float = 2.0):
        image *= 2
        return image

    def a_number(image, k: float = 2.0):
        return float(image.mean())

    try:
        for function in (in_place, a_number):
            widget = napari_bioimg.show(viewer, function)
            widget.input_layer = source
            wait_idle(qtbot, widget)
            widget.apply()
            wait_idle(qtbot, widget)
    finally:
        unregister("in_place")
        unregister("a_number")
    assert any("a_number must return an image" in e for e in errors), errors
    assert not any("in_place" in e for e in errors), errors  # ran again on a copy
    np.testing.assert_array_equal(source.data, blobs)  # the layer is unchanged
    kept = [layer for layer in viewer.layers if layer.name.startswith("blobs in_place")]
    assert kept and np.array_equal(kept[-1].data, blobs * 2)


def test_an_error_of_your_own_function_is_told_with_its_type(viewer, qtbot, blobs, errors):
    """A KeyError was told as 'My fn: 'gain'': no hint of what went wrong."""
    viewer.add_image(blobs, name="blobs")

    def lookup(image, gain: float = 1.0):
        if gain > 2:  # a ValueError naming the parameter, as the core's: its message
            raise ValueError(f"gain must be at most 2, got {gain}")
        return image * {"offset": 1.0}["gain"]

    try:
        widget = napari_bioimg.show(viewer, lookup)
        wait_idle(qtbot, widget)
        assert errors and errors[-1] == "Lookup: KeyError: 'gain'", errors
        widget.set_parameters(gain=3.0)
        wait_idle(qtbot, widget)
        assert errors[-1] == "Lookup: gain must be at most 2, got 3.0", errors
    finally:
        unregister("lookup")


def test_the_error_of_values_already_replaced_is_not_told(viewer, qtbot, blobs, errors):
    """A preview failing after newer values were set reported its stale error."""
    viewer.add_image(blobs, name="blobs")

    def slow(image, fail: bool = False):
        time.sleep(0.3)
        if fail:
            raise ValueError("fail was set")
        return np.asarray(image, np.float32)

    try:
        widget = napari_bioimg.show(viewer, slow)
        wait_idle(qtbot, widget)
        widget.set_parameters(fail=True)  # computing...
        widget.set_parameters(fail=False)  # ...replaced before it fails
        wait_idle(qtbot, widget)
        assert errors == []
        np.testing.assert_array_equal(viewer.layers["blobs slow"].data, blobs)
        widget.set_parameters(fail=True)  # the latest values' error is told
        wait_idle(qtbot, widget)
        assert errors == ["Slow: fail was set"]
    finally:
        unregister("slow")


def test_unticking_the_preview_while_newer_values_wait_shows_none(viewer, qtbot, blobs):
    """The values waiting for the running preview were computed and shown once unticked."""
    viewer.add_image(blobs, name="blobs")

    def slowly(image, gain: float = 1.0):
        time.sleep(0.3)
        return image * gain

    try:
        widget = napari_bioimg.show(viewer, slowly)
        wait_idle(qtbot, widget)
        widget.set_parameters(gain=2.0)
        qtbot.waitUntil(lambda: widget._worker is not None, timeout=5000)  # computing
        widget.set_parameters(gain=3.0)  # waits for it
        widget._preview.value = False
        wait_idle(qtbot, widget)
        assert "blobs slowly" not in [layer.name for layer in viewer.layers]
    finally:
        unregister("slowly")


def test_an_unfinished_exercise_is_reported_and_the_dock_stays_usable(
    viewer, qtbot, blobs, errors
):
    """NotImplementedError (a RuntimeError) out of Apply's worker left the dock busy for good:
    superqt takes it for a deleted worker and emits neither errored nor finished."""
    viewer.add_image(blobs, name="blobs")

    def exercise(image, sigma: float = 1.0):
        if sigma > 0.5:
            raise NotImplementedError("exercise: write the filter")
        return np.asarray(image, np.float32)

    try:
        widget = napari_bioimg.show(viewer, exercise)
        wait_idle(qtbot, widget)
        widget.apply()
        wait_idle(qtbot, widget)  # (timed out: busy for good)
        assert any("NotImplementedError: exercise: write the filter" in e for e in errors), errors
        assert widget._apply.enabled
        widget.set_parameters(sigma=0.3)  # the next values work
        wait_idle(qtbot, widget)
        np.testing.assert_array_equal(viewer.layers["blobs exercise"].data, blobs)
        widget.apply()
        wait_idle(qtbot, widget)
        assert any(layer.name.startswith("blobs exercise [") for layer in viewer.layers)
    finally:
        unregister("exercise")


def test_a_function_returning_an_empty_image_is_reported(viewer, qtbot, blobs, errors):
    """image[:0, :0] gave napari's traceback (its thumbnail of no pixels), no notification,
    and a preview layer of shape (0, 0) that raised again on every update."""
    viewer.add_image(blobs, name="blobs")

    def empty(image, k: int = 2):
        return image[:0, :0] if k == 1 else image * k

    try:
        widget = napari_bioimg.show(viewer, empty)
        wait_idle(qtbot, widget)
        assert viewer.layers["blobs empty"].data.shape == blobs.shape
        widget.set_parameters(k=1)
        wait_idle(qtbot, widget)
    finally:
        unregister("empty")
    assert len(errors) == 1 and "empty returned an empty image (shape (0, 0))" in errors[0]
    assert [layer.name for layer in viewer.layers] == ["blobs"]  # the preview taken away


def test_a_function_returning_complex_numbers_is_reported(viewer, qtbot, blobs, errors):
    """np.fft.fft2 gave napari's traceback when shown, and no notification."""
    viewer.add_image(blobs, name="blobs")

    def fourier(image, k: int = 1):
        return np.fft.fft2(image)

    try:
        widget = napari_bioimg.show(viewer, fourier)
        wait_idle(qtbot, widget)
        widget.apply()
        wait_idle(qtbot, widget)
    finally:
        unregister("fourier")
    assert len(errors) == 2, errors  # the preview's and Apply's
    assert all("must return an image of numbers" in e and "complex128" in e for e in errors)
    assert [layer.name for layer in viewer.layers] == ["blobs"]


def test_small_float_defaults_get_sliders_that_show_them(viewer, qtbot, blobs):
    """eps = 1e-3 sat on a 0..10 slider in steps of 0.1, shown as 0.00."""
    viewer.add_image(blobs.astype(np.float32), name="blobs")

    def tiny(image, k: float = 0.04, eps: float = 1e-3, big: float = 2.0,
             huge: Annotated[float, {"min": 0, "max": 1e6}] = 2.0):
        return image * k + eps + big + huge

    try:
        widget = napari_bioimg.show(viewer, tiny)
        wait_idle(qtbot, widget)
        eps, k, big = (widget._controls[name] for name in ("eps", "k", "big"))
        assert eps.label == "eps (×1e-03)" and (eps.min, eps.max, eps.value) == (0.0, 10.0, 1.0)
        assert (k.min, k.max, k.step) == (0.0, 1.0, 0.01) and k.label == "k"
        assert (big.min, big.max) == (0.0, 10.0) and big.label == "big"  # as before
        huge = widget._controls["huge"]  # (magicgui's slider overflowed on its step of 1e4)
        assert isinstance(huge, widgets.FloatSpinBox)  # (a slider's positions lose digits)
        assert (huge.max, huge.value, huge.label) == (1e6, 2.0, "huge")
        assert widget.parameters() == pytest.approx(
            {"k": 0.04, "eps": 1e-3, "big": 2.0, "huge": 2.0}
        )
        widget.set_parameters(eps=0.0025)  # in the function's numbers
        assert eps.value == pytest.approx(2.5) and widget.parameters()["eps"] == 0.0025
        wait_idle(qtbot, widget)
        np.testing.assert_allclose(
            viewer.layers["blobs tiny"].data, tiny(blobs.astype(np.float32), eps=0.0025),
            rtol=1e-6,
        )
        # a slider's own maximum can be set (0.3 / 0.1 was 2.9999999999999996 > 2.999999)
        widget.set_parameters(eps=0.01, huge=1e6)
        assert widget.parameters()["eps"] == 0.01 and widget.parameters()["huge"] == 1e6
        # values set (or typed) are read back as set: magicgui truncates them to its
        # ticks (4.1 read 4.099999, and the recorded step said so); dragged ticks stay
        for value in (2.01, 4.1, 8.04, 3.3, 0.1):  # (the first three were truncated)
            widget.set_parameters(big=value)
            assert widget.parameters()["big"] == value
        big.value = 2.123455  # a tick a drag reaches: as it is
        assert widget.parameters()["big"] == pytest.approx(2.123455, abs=1e-6)
    finally:
        unregister("tiny")


def test_unknown_names_are_refused(viewer):
    with pytest.raises(ValueError, match="unknown operation 'no_such_filter'"):
        napari_bioimg.show(viewer, "no_such_filter")


def test_importing_the_package_does_not_import_napari():
    code = (
        "import sys, napari_bioimg; "
        "assert 'napari' not in sys.modules and 'qtpy' not in sys.modules, 'napari imported'"
    )
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True)


def test_a_function_reducing_a_stack_to_a_plane_is_shown_applied_and_replayed(
    viewer, qtbot, banana, errors
):
    """A projection of one's own on a stack ended in a traceback (3 scale values for 2D)."""
    stack = banana[:, ::4, ::4]
    source = viewer.add_image(stack, name="banana", scale=(8.8, 1.56, 1.56),
                              translate=(0.0, 5.0, 7.0), axis_labels=("z", "y", "x"))
    viewer.dims.set_current_step(0, 10)

    def my_mip(image, gain: float = 1.0):
        return image.max(axis=0) * gain

    try:
        widget = napari_bioimg.show(viewer, my_mip)
        widget.input_layer = source
        widget.set_parameters(gain=2.0)
        wait_idle(qtbot, widget)
        expected = stack.max(axis=0) * 2.0
        preview = widget.preview_layer
        np.testing.assert_array_equal(preview.data, expected)  # the whole result
        np.testing.assert_allclose(preview.scale, (1.56, 1.56))
        np.testing.assert_allclose(preview.translate, (5.0, 7.0))
        widget.apply()
        wait_idle(qtbot, widget)
        kept = newest(viewer)
        np.testing.assert_array_equal(kept.data, expected)
        np.testing.assert_allclose(kept.scale, (1.56, 1.56))
        _, pipeline_dock = viewer.window.add_plugin_dock_widget("napari-bioimg", "Pipeline")
        pipeline_dock.run_on(source)
        qtbot.waitUntil(lambda: not pipeline_dock.busy, timeout=20000)
        replayed = newest(viewer)
        assert replayed is not kept
        np.testing.assert_array_equal(replayed.data, expected)
        np.testing.assert_allclose(replayed.scale, (1.56, 1.56))
        np.testing.assert_allclose(replayed.translate, (5.0, 7.0))
        assert tuple(kept.axis_labels) == tuple(replayed.axis_labels) == ("y", "x")
    finally:
        unregister("my_mip")
    assert errors == []
    np.testing.assert_array_equal(source.data, stack)
