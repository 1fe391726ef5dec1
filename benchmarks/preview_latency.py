"""Preview latency of every operation widget: parameter change -> updated result layer.

Run under a virtual display: ``xvfb-run -a python benchmarks/preview_latency.py``.
Prints, per operation, the median and 95th percentile time from setting a parameter
to the preview layer being updated, on a 1024x1024 uint16 image and on the current
plane of a 64x1024x1024 uint16 stack (voxel 2.0 x 0.5 x 0.5 µm), stepping radius or
sigma through 2 to 10 in-plane pixels (1 to 5 µm; in z that is a quarter as many
planes). For the stack it also prints the first preview (whole-stack
intermediates computed then) and the time to follow a step of the dims slider.
Options: ``--repeats N``, ``--only a,b``, ``--no-stack``.
"""

import argparse
import time

import napari
import numpy as np
from qtpy.QtCore import QEventLoop, QThreadPool, QTimer
from qtpy.QtWidgets import QApplication

from napari_bioimg import ops
from napari_bioimg._manifest import generated_widgets
from napari_bioimg._sample_data import make_nuclei
from napari_bioimg._widgets.operation import OperationWidget

SIZES = (2.0, 4.0, 6.0, 8.0, 10.0)  # radius/sigma cycled through, in in-plane pixels
PIXEL = 0.5  # the layers' in-plane pixel size (µm): sliders are in µm


def test_image(shape):
    plane, _ = make_nuclei(shape[-2:], n=150, seed=1, radius=(10.0, 20.0))
    if len(shape) == 2:
        return plane
    rng = np.random.default_rng(2)
    stack = np.empty(shape, np.uint16)
    for z in range(shape[0]):
        stack[z] = np.roll(plane, int(rng.integers(-8, 8)), axis=1)
    return stack


def changes(op, ndim, pixel=1.0):
    """A cycle of parameter settings to step through (valid for ``ndim``-D data).

    Lengths are ``SIZES`` in-plane pixels, given in the layer's units (``pixel``
    per pixel), as a user sets them on the slider.
    """
    numeric = [p for p in op.parameters if p.kind in ("int", "float") and not p.from_data]
    if not numeric:
        choice = next((p for p in op.parameters if p.kind == "choice"), None)
        if choice is not None:
            return [{choice.name: c} for c in choice.choices]
        return [{}]
    p = numeric[0]
    if p.unit == "length":
        return [{p.name: v * pixel} for v in SIZES if v * pixel <= p.maximum]
    if p.ndim_range == "axis":
        return [{p.name: v} for v in range(ndim)]
    if p.ndim_range == "spatial":
        return [{p.name: v} for v in range(1, min(ndim, 3) + 1)]
    if p.kind == "int":
        values = list(range(int(p.minimum), int(p.maximum) + 1))[:5]
        return [{p.name: v} for v in values]
    return [{p.name: p.minimum + (p.maximum - p.minimum) * f} for f in (0.01, 0.02, 0.05)]


def wait(widget, app):
    """Run the event loop until the widget is idle, sleeping between events as napari's.

    (Polling with short sleeps kept the GUI thread busy enough to slow the
    kernels, which want both cores; a timer wakes the loop now and then in case
    the last event came before the check.)
    """
    timer = QTimer()
    timer.start(20)
    while widget.busy:
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    timer.stop()


def measure(viewer, layer, name, repeats, app):
    """Times in ms: parameter changes (median, p95), the first preview, and z steps.

    The first preview (choosing the input) is "cold": whole-stack intermediates
    (labels, a histogram) are computed then and kept for the next changes. For a
    stack, "z step" is the median time from moving the dims slider by one plane
    to the updated preview (None for 2D images).
    """
    op = ops.get_operation(name)
    widget = OperationWidget(viewer, op)
    start = time.perf_counter()
    widget.input_layer = layer
    wait(widget, app)
    first = time.perf_counter() - start
    settings = changes(op, layer.ndim, float(layer.scale[-1]))
    times = []
    for k in range(repeats + 1):
        setting = settings[k % len(settings)]
        if len(settings) == 1:  # nothing to change: re-run the same preview
            start = time.perf_counter()
            widget.schedule()
        else:
            start = time.perf_counter()
            widget.set_parameters(**setting)
        wait(widget, app)
        if k:  # the first is a warm-up
            times.append(time.perf_counter() - start)
    steps = []
    if layer.ndim == 3:
        z0 = viewer.dims.current_step[0]
        for k in range(repeats):
            start = time.perf_counter()
            viewer.dims.set_current_step(0, z0 + (1 if k % 2 == 0 else 0))
            wait(widget, app)
            steps.append(time.perf_counter() - start)
        viewer.dims.set_current_step(0, z0)
        wait(widget, app)
    if widget.preview_layer is not None:
        viewer.layers.remove(widget.preview_layer)
    widget.close()
    app.processEvents()
    step = np.median(steps) * 1000 if steps else None
    return np.median(times) * 1000, np.percentile(times, 95) * 1000, first * 1000, step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--only", default="")
    parser.add_argument("--no-stack", action="store_true")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else generated_widgets()  # (not set_voxel_size)
    names = [n for n in names if n not in ("crop", "subsample")]  # text entries, no slider
    names_3d_only = {"project"}
    viewer = napari.Viewer(show=False)
    app = QApplication.instance()
    cases = [("1024x1024", (1024, 1024))]
    if not args.no_stack:
        cases.append(("64x1024x1024 plane", (64, 1024, 1024)))
    print(
        f"{'operation':24s} {'data':20s} {'median ms':>10s} {'p95 ms':>8s}"
        f" {'first ms':>9s} {'z step ms':>10s}"
    )
    for label, shape in cases:
        viewer.layers.clear()
        image = test_image(shape)
        spacing = (2.0, PIXEL, PIXEL)[-len(shape) :]
        layer = viewer.add_image(image, name="image", scale=spacing)
        mask = viewer.add_labels(
            ops.threshold(image, method="otsu").astype(np.uint8), name="mask", scale=spacing
        )
        if len(shape) == 3:
            viewer.dims.set_current_step(0, shape[0] // 2)
        for name in names:
            if name in names_3d_only and len(shape) == 2:
                continue
            op = ops.get_operation(name)
            source = mask if op.input_kind == "mask" else layer
            median, p95, first, step = measure(viewer, source, name, args.repeats, app)
            flag = "" if median <= 50 and p95 <= 100 else "  (over target)"
            step_text = "" if step is None else f"{step:10.1f}"
            print(
                f"{name:24s} {label:20s} {median:10.1f} {p95:8.1f} {first:9.1f} {step_text:>10s}"
                f"{flag}",
                flush=True,
            )
    # A worker's thread ends just after its "finished" signal: let them all end
    # before the viewer (and the signals' owners) go away.
    QThreadPool.globalInstance().waitForDone()
    viewer.close()


if __name__ == "__main__":
    main()
