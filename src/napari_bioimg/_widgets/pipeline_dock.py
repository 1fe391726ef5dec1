"""The Pipeline dock: the applied steps, replay on another layer, save YAML or a script."""

from pathlib import Path

import napari
import numpy as np
from magicgui import widgets
from napari.layers import Image, Labels
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import QApplication, QFileDialog

from ..pipeline import INPUT, Pipeline
from ._layers import (
    add_result,
    is_preview,
    layer_data,
    reset_all_keeping,
    reset_keeping,
    spatial_scale,
)
from ._lifetime import DockLifetime
from ._recorder import recorder_for


class PipelineDock(widgets.Container):
    """Lists recorded steps; removes one; re-runs the chain; saves YAML or Python."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = getattr(viewer, "__wrapped__", viewer)
        self.recorder = recorder_for(self.viewer)
        # choices read from the recorder: napari resets every widget's choices (when
        # the dock is added, when layers come and go), which must not empty the list
        self._steps = widgets.Select(label="steps", choices=self._step_choices,
                                     allow_multiple=False)
        self._remove = widgets.PushButton(text="Remove step")
        self._target = widgets.ComboBox(label="run on", choices=self._images, nullable=True)
        self._run = widgets.PushButton(text="Run pipeline on layer")
        self._save_yaml = widgets.PushButton(text="Save pipeline (YAML)…")
        self._save_script = widgets.PushButton(text="Save Python script…")
        self._copy_script = widgets.PushButton(text="Copy Python script")
        self.extend(
            [
                self._steps,
                self._remove,
                self._target,
                self._run,
                self._save_yaml,
                self._save_script,
                self._copy_script,
            ]
        )
        self._remove.clicked.connect(self._remove_selected)
        self._steps.changed.connect(self._on_step_selected)
        self._run.clicked.connect(lambda: self.run_on(self._target.value))
        self._save_yaml.clicked.connect(lambda: self._ask_and_save("yaml"))
        self._save_script.clicked.connect(lambda: self._ask_and_save("py"))
        self._copy_script.clicked.connect(self._copy_clicked)
        self.recorder.changed.connect(self.refresh)
        self.viewer.layers.events.inserted.connect(self._refresh_target)
        self.viewer.layers.events.removed.connect(self._refresh_target)
        self._lifetime = DockLifetime(self.native, self._disconnect)
        self._worker = None
        self.refresh()

    def _disconnect(self) -> None:
        self.recorder.changed.disconnect(self.refresh)
        self.viewer.layers.events.inserted.disconnect(self._refresh_target)
        self.viewer.layers.events.removed.disconnect(self._refresh_target)

    def _images(self, _widget=None):
        return [
            (layer.name, layer)
            for layer in self.viewer.layers
            if isinstance(layer, Image | Labels) and not is_preview(layer)
        ]

    def _step_choices(self, _widget=None) -> list[tuple[str, int]]:
        choices = []
        for index, step in enumerate(self.recorder.steps):
            values = ", ".join(f"{k}={v!r}" for k, v in step.parameters.items())
            line = f"{index + 1}. {step.operation}({values}) on '{step.input_layer}'"
            choices.append((line, index))
        return choices

    def reset_choices(self, *_) -> None:
        """Refresh the pickers, keeping what they show (napari calls it on renames)."""
        reset_all_keeping(self)

    def _refresh_target(self, event=None) -> None:
        reset_keeping(self._target)

    def refresh(self) -> None:
        """Show the recorded steps."""
        self._steps.reset_choices()
        self._on_step_selected()

    def pipeline(self) -> Pipeline:
        """The recorded steps as a pipeline."""
        return self.recorder.to_pipeline()

    def output_pipeline(self, upto: int | None = None) -> tuple[Pipeline, list[int]]:
        """The steps that make step ``upto``'s result, and the numbers (from 1) of the others.

        ``upto``: default the step selected in the list, else the last one. Steps
        that do not lead to it (a side branch applied meanwhile) are left out:
        saved, they would be computed and thrown away.
        """
        recorded = self.pipeline().steps
        if upto is None:
            upto = self._selected_step()
        steps = recorded if upto is None else recorded[: upto + 1]
        needed = {steps[-1].id} if steps else set()
        for step in reversed(steps):
            if step.id in needed:
                needed.add(step.source)
        kept = [step for step in steps if step.id in needed]
        left = [n + 1 for n, step in enumerate(recorded) if step.id not in needed]
        return Pipeline(kept), left

    def _remove_selected(self) -> None:
        for index in sorted(self._steps.value, reverse=True):
            try:
                self.recorder.remove(index)
            except ValueError as error:  # a later step reads it
                show_error(f"Pipeline: {error}")
                return

    @property
    def busy(self) -> bool:
        """True while a replay runs."""
        return self._worker is not None

    def run_on(self, layer, upto: int | None = None) -> None:
        """Replay the pipeline on ``layer`` (in a worker) and add the result as a layer.

        ``upto``: the index of the step whose result is made (default: the step
        selected in the list, else the last one), e.g. the end of the main chain
        when a side branch was applied last.
        """
        if layer is None or not self.recorder.steps:
            show_info("Record steps with Apply, and choose a layer to run them on.")
            return
        if self._worker is not None:
            show_info("Pipeline: a run is going on; wait for its result")
            return
        pipeline, _ = self.output_pipeline(upto)
        worker = create_worker(
            _run_in_memory,
            pipeline,
            layer_data(layer),  # (a lazy stack is read in the worker, not the viewer's thread)
            spatial_scale(layer),
            tuple(layer.scale),
            tuple(layer.translate),
            tuple(layer.units),
            tuple(layer.axis_labels),
            _start_thread=False,
            _ignore_errors=True,
            _progress={"desc": f"Pipeline on {layer.name}"},
        )
        worker.returned.connect(
            lambda out, source=layer, ran=pipeline: self._show(source, ran, *out)
        )
        worker.errored.connect(lambda error: show_error(f"Pipeline: {error}"))
        worker.finished.connect(self._finished)
        self._worker = worker
        worker.start()

    def _finished(self) -> None:
        self._worker = None

    def _selected_step(self) -> int | None:
        chosen = self._steps.value  # (a list, also for a single choice)
        return chosen[0] if len(chosen) == 1 else None

    def _on_step_selected(self, _value=None) -> None:
        upto = self._selected_step()
        self._run.text = (
            "Run pipeline on layer" if upto is None else f"Run up to step {upto + 1} on layer"
        )

    def _show(self, source, pipeline, result, _spacing, scale, translate, units, labels) -> None:
        if source not in self.viewer.layers:
            return
        kind = self._result_kind(source, pipeline)
        add_result(
            self.viewer,
            result,
            kind,
            source,
            f"{source.name} pipeline",
            scale=scale,
            translate=translate,
            units=units,
            axis_labels=labels,
        )

    @staticmethod
    def _result_kind(source, pipeline: Pipeline) -> str:
        """"labels" or "image", as applying the steps one by one gave it.

        Transforms and projections keep their input's kind (the flip of a mask is a
        mask); other operations give their declared one.
        """
        kinds = {INPUT: "labels" if isinstance(source, Labels) else "image"}
        for index, step in enumerate(pipeline):
            op = pipeline.operation(index)
            if op.category in ("transform", "project"):
                kinds[step.id] = kinds[step.source]
            else:
                kinds[step.id] = "image" if op.output_kind == "image" else "labels"
        return kinds[pipeline.steps[-1].id]

    def save(self, path: str | Path) -> None:
        """Save the pipeline as YAML (``.yaml``/``.yml``/``.json``) or a script (``.py``).

        The steps that make the selected step's result (else the last one's),
        as "Run pipeline on layer" runs them; a notification says what was left out.
        """
        path = Path(path)
        pipeline, left = self.output_pipeline()
        if path.suffix.lower() == ".py":
            path.write_text(pipeline.to_python(), encoding="utf-8")
        else:
            pipeline.save(path)
        show_info(f"Saved {path.name}: {_what(pipeline, left)}")

    def copy_script(self) -> str:
        """Copy the Python script (as :meth:`save` writes it) to the clipboard and return it."""
        pipeline, left = self.output_pipeline()
        script = pipeline.to_python()
        QApplication.clipboard().setText(script)
        show_info(f"Copied the script: {_what(pipeline, left)}")
        return script

    def _copy_clicked(self) -> None:
        try:
            self.copy_script()
        except ValueError as error:  # a function that cannot be imported
            show_error(f"Could not copy the script: {error}")

    def _ask_and_save(self, kind: str) -> None:
        filters = "Pipeline (*.yaml *.yml *.json)" if kind == "yaml" else "Python (*.py)"
        path, _ = QFileDialog.getSaveFileName(self.native, "Save", f"pipeline.{kind}", filters)
        if path:
            try:
                self.save(path)
            except (OSError, ValueError) as error:
                show_error(f"Could not save {path}: {error}")


def _run_in_memory(pipeline: Pipeline, data, *geometry):
    """:meth:`Pipeline.run_with_geometry` on ``data`` read into memory."""
    return pipeline.run_with_geometry(np.asarray(data), *geometry)


def _what(pipeline: Pipeline, left: list[int]) -> str:
    """What a saved pipeline makes, and which recorded steps it leaves out."""
    text = f"{len(pipeline)} step{'s' * (len(pipeline) != 1)}"
    if left:
        numbers = ", ".join(str(n) for n in left)
        which = f"steps {numbers} do" if len(left) > 1 else f"step {numbers} does"
        text += (
            f"; {which} not lead to its result (select the step whose result you want,"
            " then save)"
        )
    return text
