"""The Pipeline dock: the applied steps, replay on another layer, save YAML or a script."""

from pathlib import Path

import napari
import numpy as np
from magicgui import widgets
from napari.layers import Image, Labels
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import QApplication, QFileDialog

from ..pipeline import Pipeline
from ..pipeline.core import told
from ._dock import DockContainer, keep_narrow
from ._layers import (
    add_result,
    is_preview,
    layer_data,
    reset_all_keeping,
    reset_keeping,
    spatial_scale,
)
from ._lifetime import DockLifetime
from ._recorder import layer_key, recorder_for


class PipelineDock(DockContainer):
    """Lists recorded steps; removes one; re-runs the chain; saves YAML or Python."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(stretch=False)  # the list of steps takes the height
        self.viewer = getattr(viewer, "__wrapped__", viewer)
        self.recorder = recorder_for(self.viewer)
        # choices read from the recorder: napari resets every widget's choices (when
        # the dock is added, when layers come and go), which must not empty the list
        self._steps = widgets.Select(label="steps", choices=self._step_choices,
                                     allow_multiple=False)
        self._remove = widgets.PushButton(text="Remove step")
        self._target = widgets.ComboBox(label="run on", choices=self._images, nullable=True)
        keep_narrow(self._target)
        self._run = widgets.PushButton(text="Run pipeline on layer")
        self._run_saved = widgets.PushButton(text="Run saved pipeline on layer…")
        self._save_yaml = widgets.PushButton(text="Save pipeline (YAML)…")
        self._save_script = widgets.PushButton(text="Save Python script…")
        self._copy_script = widgets.PushButton(text="Copy Python script")
        self.extend(
            [
                self._steps,
                self._remove,
                self._target,
                self._run,
                self._run_saved,
                self._save_yaml,
                self._save_script,
                self._copy_script,
            ]
        )
        self._remove.clicked.connect(self._remove_selected)
        self._steps.changed.connect(self._on_step_selected)
        self._run.clicked.connect(lambda: self.run_on(self._target.value))
        self._run_saved.clicked.connect(self._ask_and_run_saved)
        self._save_yaml.clicked.connect(lambda: self._ask_and_save("yaml"))
        self._save_script.clicked.connect(lambda: self._ask_and_save("py"))
        self._copy_script.clicked.connect(self._copy_clicked)
        self.recorder.changed.connect(self.refresh)
        self.viewer.layers.events.inserted.connect(self._refresh_target)
        self.viewer.layers.events.removed.connect(self._refresh_target)
        self._worker = None
        self._alive = True
        self._lifetime = DockLifetime(self.native, self._disconnect)
        self.refresh()
        self._refresh_target()

    def _disconnect(self) -> None:
        """Leave no callback behind when the dock is closed, and stop a run going on."""
        self._alive = False
        if self._worker is not None:
            show_info("Pipeline: run stopped, its dock was closed")
            self._worker.quit()
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
        names = {layer_key(layer): layer.name for layer in self.viewer.layers}
        choices = []
        for index, step in enumerate(self.recorder.steps):
            values = ", ".join(f"{k}={v!r}" for k, v in step.parameters.items())
            source = names.get(step.extra.get("on", step.reads), step.input_layer)  # (now)
            line = f"{index + 1}. {step.operation}({values}) on '{source}'"
            if step.extra.get("edited"):
                line += " [result edited by hand]"
            elif step.reads != step.makes and not step.extra.get("layerless") and (
                step.makes not in names
            ):
                line += " [result layer removed]"
            choices.append((line, index))
        return choices

    def reset_choices(self, *_) -> None:
        """Refresh the pickers, keeping what they show (napari calls it on renames)."""
        reset_all_keeping(self)

    def _refresh_target(self, event=None) -> None:
        reset_keeping(self._target)
        if self._target.value is None and self._target.choices:
            # (it started empty) the selected image or labels layer, else the topmost
            self._target.value = self.layer_to_run_on() or self._target.choices[-1]

    def layer_to_run_on(self):
        """The selected image or labels layer (not a preview), else the one chosen here."""
        active = self.viewer.layers.selection.active
        return active if any(active is la for _, la in self._images()) else self._target.value

    def refresh(self) -> None:
        """Show the recorded steps (in order: a changed line stays in its place)."""
        reset_keeping(self._steps)
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
        recorded = self.pipeline()
        if upto is None:
            upto = self._selected_step()
        kept = recorded.making(-1 if upto is None else upto)
        needed = {step.id for step in kept}
        left = [n + 1 for n, step in enumerate(recorded) if step.id not in needed]
        return kept, left

    def _remove_selected(self) -> None:
        for index in sorted(self._steps.value, reverse=True):
            try:
                self.recorder.remove(index)
            except ValueError as error:  # a later step reads it
                show_error(f"Pipeline: {error}")
                return
            # (kept by its number, the selection would move to the next step)
            self._steps.native.clearSelection()

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
        pipeline, left = self.output_pipeline(upto)
        if edited := self.recorder.edited(left):
            show_info(f"Pipeline: {_edits(edited)}")
        if upto is None:
            upto = self._selected_step()
        self._start(pipeline, layer, self.recorder.steps[-1 if upto is None else upto])

    def run_saved(self, path: str | Path, layer) -> None:
        """Run the pipeline saved in ``path`` (YAML or JSON) on ``layer``, as :meth:`run_on`.

        The recorded steps stay as they are: the result is not linked to them.
        """
        if layer is None:
            show_info("Choose a layer to run the saved pipeline on.")
            return
        try:
            pipeline = Pipeline.load(path)
        except (OSError, ValueError) as error:
            show_error(f"Could not load {Path(path).name}: {error}")
            return
        if not len(pipeline):
            show_info(f"{Path(path).name} holds no step")
            return
        self._start(pipeline, layer, None, f"{layer.name} {Path(path).stem}")

    def _start(self, pipeline: Pipeline, layer, end, name: str = "") -> None:
        """Run ``pipeline`` on ``layer`` in a worker; ``end``: the recorded step it ends with."""
        if self._worker is not None:
            show_info("Pipeline: a run is going on; wait for its result")
            return
        worker = create_worker(
            _run_in_memory,
            self._for_kinds(layer, pipeline),
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
            lambda out, source=layer, ran=pipeline: self._show(
                source, ran, end, name or f"{source.name} pipeline", *out
            )
        )
        worker.errored.connect(self._report)
        worker.finished.connect(self._finished)
        self._worker = worker
        worker.start()

    def _finished(self) -> None:
        self._worker = None

    def _report(self, error: Exception) -> None:
        if self._alive:  # (its dock closed meanwhile: nothing to say)
            show_error(f"Pipeline: {told(error)}")

    def _selected_step(self) -> int | None:
        chosen = self._steps.value  # (a list, also for a single choice)
        return chosen[0] if len(chosen) == 1 else None

    def _on_step_selected(self, _value=None) -> None:
        upto = self._selected_step()
        self._run.text = (
            "Run pipeline on layer" if upto is None else f"Run up to step {upto + 1} on layer"
        )

    def _show(
        self, source, pipeline, end, name, result, _spacing, scale, translate, units, labels
    ) -> None:
        if not self._alive:  # (its dock closed meanwhile)
            return
        if source not in self.viewer.layers:
            show_info(f"Pipeline: result dropped, {source.name!r} was removed")
            return
        kind = self._result_kind(source, pipeline)
        made = add_result(
            self.viewer,
            result,
            kind,
            source,
            name,
            scale=scale,
            translate=translate,
            units=units,
            axis_labels=labels,
        )
        if end is not None:
            self.recorder.link_replay(source, made, end)

    @staticmethod
    def _kinds(source, pipeline: Pipeline) -> dict[str, str]:
        """"labels" or "image" for the input and each step's result, as Apply gave them.

        Transforms and maximum or minimum projections keep their input's kind
        (:func:`keeps_kind`); other operations give their declared one.
        """
        return pipeline.kinds("labels" if isinstance(source, Labels) else "image")

    @classmethod
    def _result_kind(cls, source, pipeline: Pipeline) -> str:
        """"labels" or "image", as applying the steps one by one gave it."""
        return cls._kinds(source, pipeline)[pipeline.steps[-1].id]

    @classmethod
    def _for_kinds(cls, source, pipeline: Pipeline) -> Pipeline:
        """``pipeline`` with each step's parameters for the kind it reads, as Apply runs it."""
        return pipeline.for_input("labels" if isinstance(source, Labels) else "image")

    def save(self, path: str | Path) -> None:
        """Save the pipeline as YAML (``.yaml``/``.yml``/``.json``) or a script (``.py``).

        The steps that make the selected step's result (else the last one's),
        as "Run pipeline on layer" runs them; a notification says what was left out.
        """
        path = Path(path)
        pipeline, left = self.output_pipeline()
        if path.suffix.lower() == ".py":
            path.write_text(pipeline.to_python(path.name), encoding="utf-8")
        else:
            pipeline.save(path)
        show_info(f"Saved {path.name}: {_what(pipeline, left, self.recorder.edited(left))}")

    def copy_script(self) -> str:
        """Copy the Python script (as :meth:`save` writes it) to the clipboard and return it."""
        pipeline, left = self.output_pipeline()
        script = pipeline.to_python()
        QApplication.clipboard().setText(script)
        show_info(f"Copied the script: {_what(pipeline, left, self.recorder.edited(left))}")
        return script

    def _copy_clicked(self) -> None:
        try:
            self.copy_script()
        except ValueError as error:  # a function that cannot be imported
            show_error(f"Could not copy the script: {error}")

    def _ask_and_run_saved(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.native, "Run a saved pipeline", "", "Pipeline (*.yaml *.yml *.json)"
        )
        if path:
            self.run_saved(path, self._target.value)

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


def _edits(edited: list[int]) -> str:
    """Which steps' results were edited by hand, which no pipeline repeats."""
    numbers = ", ".join(str(n) for n in edited)
    which = f"steps {numbers} were" if len(edited) > 1 else f"step {numbers} was"
    return f"the result of {which} edited by hand after Apply: the pipeline does not repeat edits"


def _what(pipeline: Pipeline, left: list[int], edited: list[int] = ()) -> str:
    """What a saved pipeline makes, which recorded steps it leaves out, and hand edits."""
    text = f"{len(pipeline)} step{'s' * (len(pipeline) != 1)}"
    if left:
        numbers = ", ".join(str(n) for n in left)
        which = f"steps {numbers} do" if len(left) > 1 else f"step {numbers} does"
        text += (
            f"; {which} not lead to its result (select the step whose result you want,"
            " then save)"
        )
    if edited:
        text += f"; {_edits(edited)}"
    return text
