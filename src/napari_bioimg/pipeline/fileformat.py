"""The pipeline file format, version 1 (YAML, or JSON which YAML also reads).

.. code-block:: yaml

    napari_bioimg_pipeline: 1        # format version: files of newer versions are refused
    steps:
    - id: step1                      # unique name; optional when loading (default step<n>)
      operation: gaussian            # a registry operation: napari-bioimg operations
      source: input                  # "input", or the id of an earlier step; optional
                                     # when loading (default: the previous step)
      parameters:                    # every parameter is written; missing ones take
        sigma: 2.0                   # their defaults when loading
    - id: step2
      operation: my_filter           # an operation registered with napari_bioimg.register
      module: my_lab.filters         # ...is imported from this module when loading
      source: step1
      parameters:
        size: 3

Loading checks everything and raises ``ValueError`` naming the step (number,
counted from 1, and operation) for an unknown operation, parameter or key, a
value of the wrong type, or a user operation whose module cannot be imported.
"""

import json
import math
import re
from typing import Any

import yaml

__all__ = ["dump_json", "dump_yaml", "load_yaml"]


class _Dumper(yaml.SafeDumper):
    """Block style for mappings and lists of mappings, flow style for lists of numbers."""


def _represent_list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    flow = all(not isinstance(item, dict | list) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def dump_yaml(data: dict[str, Any]) -> str:
    """Return pipeline data (plain Python objects) as YAML text, keys in order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False)


# Strict JSON has no infinity: ±inf is written as the number 1e999, which JSON
# readers (Python's, JavaScript's) read back as infinity.
_INFINITY = {"__napari_bioimg_inf__": "1e999", "__napari_bioimg_-inf__": "-1e999"}


def _mark_infinity(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _mark_infinity(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mark_infinity(item) for item in value]
    if isinstance(value, float) and math.isinf(value):
        return "__napari_bioimg_inf__" if value > 0 else "__napari_bioimg_-inf__"
    return value


def dump_json(data: dict[str, Any]) -> str:
    """Return pipeline data as indented, strict JSON text (infinity as ``1e999``).

    Raises ``ValueError`` for NaN, which strict JSON cannot hold either (the
    registry refuses NaN parameters).
    """
    text = json.dumps(_mark_infinity(data), indent=2, allow_nan=False)
    for mark, number in _INFINITY.items():
        text = text.replace(f'"{mark}"', number)
    return text + "\n"


class _Loader(yaml.SafeLoader):
    """YAML 1.1 safe loading, numbers in exponent form without a dot included.

    (YAML 1.1 reads ``1e3`` or ``1e-3``, as written by hand, as text; YAML 1.2
    and JSON read them as numbers.)
    """


# The same rule when writing: text such as "1e6" (a choice) is then quoted.
for _class in (_Loader, _Dumper):
    _class.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )


def load_yaml(text: str) -> Any:
    """Parse YAML or JSON text safely (no Python objects), with a clear error.

    JSON (text starting with ``{``) is read as JSON: YAML 1.1 reads numbers such
    as ``1e-05`` or ``1e999`` (infinity), which :func:`dump_json` writes, as text;
    files of earlier versions hold ``Infinity``, which Python's JSON reader reads too.
    """
    kind = "YAML"
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            kind = "JSON or YAML"  # YAML in flow style (or broken): read as YAML below
    try:
        return yaml.load(text, Loader=_Loader)  # (a SafeLoader)
    except yaml.YAMLError as error:
        raise ValueError(f"cannot read the pipeline: invalid {kind} ({error})") from error
