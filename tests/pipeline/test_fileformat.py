"""The versioned YAML/JSON pipeline format."""

import json
import sys

import numpy as np
import pytest
import yaml

from napari_bioimg.ops import unregister
from napari_bioimg.pipeline import FORMAT_VERSION, Pipeline


def example() -> Pipeline:
    pipeline = Pipeline()
    pipeline.add("gaussian", sigma=np.float64(2.5))
    pipeline.add("median", radius=1.0, footprint="box", step_id="smooth")
    pipeline.add("threshold", method="manual", value=np.uint8(40), source="input")
    pipeline.add("crop", start=(np.int64(1), None), stop=[-1, 30], source="smooth")
    pipeline.add("subsample", step=(1, 2))
    return pipeline


def test_yaml_round_trip_gives_identical_steps():
    pipeline = example()
    text = pipeline.to_yaml()
    again = Pipeline.from_yaml(text)
    assert again.steps == pipeline.steps
    assert again.to_yaml() == text
    data = yaml.safe_load(text)
    assert data["napari_bioimg_pipeline"] == FORMAT_VERSION
    assert data["steps"][0] == {
        "id": "step1", "operation": "gaussian", "source": "input", "parameters": {"sigma": 2.5}
    }
    # numpy scalars and tuples were stored as plain numbers and lists
    assert data["steps"][2]["parameters"] == {"method": "manual", "value": 40.0}
    assert data["steps"][3]["parameters"] == {"start": [1, None], "stop": [-1, 30]}
    assert "!!python" not in text


def test_json_and_yaml_files(tmp_path):
    pipeline = example()
    pipeline.save(tmp_path / "p.json")
    pipeline.save(tmp_path / "p.yaml")
    assert (tmp_path / "p.json").read_text().lstrip().startswith("{")
    assert Pipeline.load(tmp_path / "p.json") == pipeline
    assert Pipeline.load(tmp_path / "p.yaml") == pipeline


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_numbers_json_writes_in_exponent_form_load_back(tmp_path, suffix):
    """json writes 1e-05, Infinity and NaN, which YAML 1.1 reads as text."""
    pipeline = Pipeline()
    pipeline.add("set_voxel_size", y=6.5e-05, x=1e20)
    pipeline.add("threshold", method="manual", value=float("inf"))
    pipeline.add("threshold", method="manual", value=float("-inf"), source="input")
    pipeline.save(tmp_path / f"p{suffix}")
    loaded = Pipeline.load(tmp_path / f"p{suffix}")
    assert loaded == pipeline
    assert loaded[0].parameters["y"] == 6.5e-05 and loaded[1].parameters["value"] == np.inf


def test_json_files_are_strict_json(tmp_path):
    """Infinity is not JSON: other readers (JavaScript, jq) refuse it; 1e999 is read as inf."""
    pipeline = Pipeline()
    pipeline.add("threshold", method="manual", value=float("inf"))
    pipeline.add("threshold", method="manual", value=float("-inf"), source="input")
    pipeline.save(tmp_path / "p.json")
    text = (tmp_path / "p.json").read_text()

    def refuse(constant):
        raise AssertionError(f"not strict JSON: {constant}")

    data = json.loads(text, parse_constant=refuse)
    assert [step["parameters"]["value"] for step in data["steps"]] == [np.inf, -np.inf]
    # files written before hold Infinity, which still loads
    old = text.replace("-1e999", "-Infinity").replace("1e999", "Infinity")
    assert Pipeline.from_yaml(old) == pipeline


def test_hand_written_file_takes_defaults():
    pipeline = Pipeline.from_yaml(
        "napari_bioimg_pipeline: 1\n"
        "steps:\n"
        "- operation: gaussian\n"
        "- operation: threshold\n"
        "  parameters: {method: li}\n"
    )
    assert [s.id for s in pipeline] == ["step1", "step2"]
    assert pipeline[1].source == "step1"
    assert pipeline[0].parameters == {"sigma": 1.0}
    assert pipeline[1].parameters == {"method": "li", "value": None}


def test_hand_written_numbers_in_exponent_form_are_numbers():
    """YAML 1.1 read 1e3 as the text '1e3' ("must be a number, got '1e3'")."""
    pipeline = Pipeline.from_yaml(
        "napari_bioimg_pipeline: 1\n"
        "steps:\n"
        "- operation: gaussian\n"
        "  parameters: {sigma: 2e-1}\n"
        "- operation: remove_small_objects\n"
        "  parameters: {min_size: 1E3}\n"
        "- operation: median\n"
        "  parameters: {radius: 1.5e+0}\n"
    )
    assert [step.parameters[name] for step, name in zip(
        pipeline, ("sigma", "min_size", "radius"), strict=True
    )] == [0.2, 1000.0, 1.5]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"operation": "gausian"}, r"step 2 \(gausian\): unknown operation 'gausian'"),
        ({"operation": "gaussian", "parameters": {"radius": 1}},
         r"step 2 \(gaussian\): operation 'gaussian' has no parameter 'radius'"),
        ({"operation": "gaussian", "parameters": {"sigma": [1, 2]}},
         r"step 2 \(gaussian\): parameter 'sigma' must be a number"),
        ({"operation": "gaussian", "paramters": {}}, r"step 2 \(gaussian\): unknown keys"),
        ({"operation": "gaussian", "source": "step9"}, r"step 2 \(gaussian\): source 'step9'"),
        ({"parameters": {}}, r"step 2: must be a mapping with an 'operation' key"),
        ({"operation": "label", "parameters": {"connectivity": float("inf")}},
         r"step 2 \(label\): parameter 'connectivity' must be finite"),
        ({"operation": "my_filter", "module": ["a"]},
         r"step 2 \(my_filter\): 'module' must be a module name"),
        ({"operation": "my_filter", "module": ".relative"},
         r"step 2 \(my_filter\): operation 'my_filter' comes from module '.relative'"),
        ({"operation": "my_filter", "module": "__main__"},
         r"step 2 \(my_filter\): operation 'my_filter' was registered in a script or notebook"),
        ({"operation": "my_filter", "module": "no_such_module_xyz"},
         r"step 2 \(my_filter\): operation 'my_filter' comes from module "
         r"'no_such_module_xyz', which cannot be imported"),
    ],
)
def test_bad_steps_are_refused_naming_the_step(step, message):
    data = {"napari_bioimg_pipeline": 1, "steps": [{"operation": "mean"}, step]}
    with pytest.raises(ValueError, match=message):
        Pipeline.from_dict(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: []", "not a napari-bioimg pipeline"),
        ("napari_bioimg_pipeline: 2\nsteps: []", "format version 2.*upgrade"),
        ("napari_bioimg_pipeline: one\nsteps: []", "must be a format version number"),
        ("napari_bioimg_pipeline: 1\nstep: []", "unknown pipeline keys"),
        ("napari_bioimg_pipeline: 1\nsteps: {a: 1}", "'steps' must be a list"),
        ("napari_bioimg_pipeline: 1\nsteps: {}", "'steps' must be a list"),
        ("napari_bioimg_pipeline: 1\nsteps: 0", "'steps' must be a list"),
        ('{"napari_bioimg_pipeline": 1, "steps": [}', "invalid JSON"),
        ("napari_bioimg_pipeline: [1\n", "invalid YAML"),
        ("!!python/object:os.system {}", "invalid YAML"),
    ],
)
def test_bad_files_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        Pipeline.from_yaml(text)


# A .json file missing a comma after "gaussian", and a YAML file missing a "}".
BROKEN_JSON = """{
  "napari_bioimg_pipeline": 1,
  "steps": [
    {
      "id": "step1",
      "operation": "gaussian"
      "source": "input",
      "parameters": {"sigma": 2.0}
    }
  ]
}
"""
BROKEN_YAML = """napari_bioimg_pipeline: 1
steps:
- operation: gaussian
  parameters: {sigma: 1
- operation: median
"""


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        # JSON's own message for a .json file, which YAML (flow style) cannot read either
        ("bad.json", BROKEN_JSON, "invalid JSON at line 7, column 7: Expecting ',' delimiter"),
        ("bad.json", "{napari_bioimg_pipeline: 1, steps: [}\n",
         "invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes"),
        ("bad.yaml", BROKEN_YAML,
         "invalid YAML at line 5, column 12: expected ',' or '}', but got ':' "
         "(while parsing a flow mapping from line 4, column 15)"),
        ("bad.yaml", "napari_bioimg_pipeline: 1\nsteps: [\x07]\n",
         "invalid YAML at line 2, column 9: unacceptable character #x0007: "
         "special characters are not allowed"),
    ],
    ids=["json-comma", "json-unquoted", "yaml-brace", "yaml-character"],
)
def test_syntax_errors_are_one_line_naming_where(tmp_path, name, text, message):
    """They ran over 8 lines in "<unicode string>", a .json file's with YAML's message."""
    assert load_error(tmp_path / name, text) == message


def load_error(path, text: str) -> str:
    """The ValueError loading a pipeline file of ``text`` gives."""
    path.write_text(text)
    with pytest.raises(ValueError) as caught:
        Pipeline.load(path)
    return str(caught.value)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("twice.yaml",
         "napari_bioimg_pipeline: 1\nsteps:\n- operation: mean\nsteps:\n- operation: gaussian\n",
         "invalid YAML at line 4, column 1: duplicate key 'steps', first at line 2"),
        ("twice.yaml",
         "napari_bioimg_pipeline: 1\nsteps:\n- operation: gaussian\n  parameters: {sigma: 1}\n"
         "  parameters: {sigma: 2}\n",
         "invalid YAML at line 5, column 3: duplicate key 'parameters', first at line 4"),
        ("twice.yaml",
         "napari_bioimg_pipeline: 1\nsteps:\n- operation: gaussian\n  parameters:\n"
         "    sigma: 1\n    sigma: 2\n",
         "invalid YAML at line 6, column 5: duplicate key 'sigma', first at line 5"),
        ("twice.yaml",
         "napari_bioimg_pipeline: 1\nsteps:\n"
         "- {operation: gaussian, parameters: {sigma: 1, sigma: 2}}\n",
         "invalid YAML at line 3, column 48: duplicate key 'sigma', first at line 3, column 38"),
        ("twice.json",
         '{"napari_bioimg_pipeline": 1, "steps": [{"operation": "gaussian",\n'
         '  "parameters": {"sigma": 1, "sigma": 2}}]}\n',
         "invalid JSON: duplicate key 'sigma'"),
    ],
    ids=["yaml-steps", "yaml-parameters", "yaml-sigma", "yaml-flow-sigma", "json-sigma"],
)
def test_keys_given_twice_are_refused(tmp_path, name, text, message):
    """YAML and json.loads kept the last one silently: two steps: blocks kept the second."""
    assert load_error(tmp_path / name, text) == message


def test_merge_keys_may_be_replaced():
    """``<<: *anchor`` keys are defaults, which the mapping's own keys replace."""
    pipeline = Pipeline.from_yaml(
        "napari_bioimg_pipeline: 1\nsteps:\n- operation: median\n"
        "  parameters: &box {radius: 1.0, footprint: box}\n"
        "- operation: median\n  parameters:\n    <<: *box\n    radius: 2.0\n"
    )
    assert pipeline[1].parameters == {"radius": 2.0, "footprint": "box"}


def test_user_operation_records_its_module(user_module):
    pipeline = Pipeline()
    pipeline.add("gaussian")
    step = pipeline.add("add_offset", offset=2)
    assert step.module == user_module
    assert pipeline[0].module is None
    text = pipeline.to_yaml()
    assert f"module: {user_module}" in text
    np.testing.assert_array_equal(
        pipeline.run(np.zeros((4, 4), np.uint8)), np.full((4, 4), 2, np.float32)
    )

    # In a fresh session the operation is not registered: loading imports its module.
    unregister("add_offset")
    sys.modules.pop(user_module)
    loaded = Pipeline.from_yaml(text)
    assert loaded == pipeline
    assert user_module in sys.modules


def test_parameters_must_be_a_mapping():
    data = {"napari_bioimg_pipeline": 1, "steps": [{"operation": "gaussian", "parameters": [1]}]}
    with pytest.raises(ValueError, match=r"step 1 \(gaussian\): parameters must be a mapping"):
        Pipeline.from_dict(data)


def test_append_takes_parameters_named_like_add_arguments():
    pipeline = Pipeline()
    step = pipeline.append("gaussian", {"sigma": 2.0}, "input", step_id="blur")
    assert step == pipeline[0]
    assert (step.id, step.source, step.parameters) == ("blur", "input", {"sigma": 2.0})


def test_yaml_in_flow_style_still_loads():
    """Text starting with { is JSON first, then YAML (flow style)."""
    pipeline = Pipeline.from_yaml(
        "{napari_bioimg_pipeline: 1, steps: [{operation: gaussian, parameters: {sigma: 2}}]}"
    )
    assert pipeline[0].parameters == {"sigma": 2.0}


def test_text_that_looks_like_a_number_stays_text():
    """A choice "1e6" was written unquoted and read back as the number 1e6."""
    from napari_bioimg.pipeline.fileformat import dump_yaml, load_yaml

    data = {"choice": "1e6", "other": "2E-3", "number": 1e6, "word": "otsu"}
    assert load_yaml(dump_yaml(data)) == data
