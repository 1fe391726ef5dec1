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
value of the wrong type, or a user operation whose module cannot be imported;
text that is not YAML or JSON, or that gives a key twice in a mapping, is refused
in one line naming the line and column and the parser's reason (JSON's for a
``.json`` file).
"""

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["dump_json", "dump_yaml", "load_yaml", "read_file"]


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
    and JSON read them as numbers.) A key given twice in a mapping is refused:
    PyYAML keeps the last one silently (two ``steps:`` blocks, a ``sigma`` set twice).
    """

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, yaml.Mark] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # (``<<: *defaults``, whose keys the mapping's own replace)
                key = self.construct_object(key_node, deep=deep)
                try:
                    mark = first.get(key)
                except TypeError:
                    continue  # (an unhashable key, which the base class refuses)
                at = key_node.start_mark
                if mark is not None:
                    where = f"line {mark.line + 1}" + (
                        f", column {mark.column + 1}" if mark.line == at.line else ""
                    )
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}, first at {where}", at
                    )
                first[key] = at
        return super().construct_mapping(node, deep=deep)


# The same rule when writing: text such as "1e6" (a choice) is then quoted.
for _class in (_Loader, _Dumper):
    _class.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )


def _yaml_reason(error: yaml.YAMLError, text: str) -> str:
    """`` at line 5, column 12: <PyYAML's problem>``, where it started in parentheses."""
    if isinstance(error, yaml.reader.ReaderError):  # (a character YAML refuses: no mark)
        before = text[: error.position]
        line, column = before.count("\n"), error.position - before.rfind("\n") - 1
        return f" at line {line + 1}, column {column + 1}: {str(error).splitlines()[0]}"
    mark, problem = getattr(error, "problem_mark", None), getattr(error, "problem", None)
    if mark is None or not problem:
        return ": " + " ".join(str(error).replace('in "<unicode string>", ', "").split())
    reason = f" at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    context, start = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and start is not None and (start.line, start.column) != (mark.line, mark.column):
        reason += f" ({context} from line {start.line + 1}, column {start.column + 1})"
    return reason


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (``json.loads`` keeps the last one)."""
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise ValueError(f"invalid JSON: duplicate key {key!r}")
        mapping[key] = value
    return mapping


def load_yaml(text: str, *, json_file: bool = False) -> Any:
    """Parse YAML or JSON text safely (no Python objects), with a one-line error.

    JSON (text starting with ``{``) is read as JSON: YAML 1.1 reads numbers such
    as ``1e-05`` or ``1e999`` (infinity), which :func:`dump_json` writes, as text;
    files of earlier versions hold ``Infinity``, which Python's JSON reader reads too.
    Text that JSON refuses is read as YAML (flow style, ``{steps: [...]}``).

    Parameters
    ----------
    text : str
        The file's text.
    json_file : bool
        Whether the text is a ``.json`` file's: read as JSON first whatever it
        starts with, and, when YAML cannot read it either, the error is JSON's
        (as it is for text starting with ``{"``).

    Returns
    -------
    object
        Plain Python data: dict, list, str, int, float, bool, None.

    Raises
    ------
    ValueError
        One line with the parser's reason and where:
        ``invalid JSON at line 7, column 7: Expecting ',' delimiter``; also for a
        key given twice in a mapping (``invalid YAML at line 9, column 1:
        duplicate key 'steps', first at line 2``; JSON's give no line).
    """
    json_error = None
    if json_file or text.lstrip().startswith("{"):
        try:
            return json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as error:
            json_error = error  # YAML in flow style (or broken): read as YAML below
    try:
        return yaml.load(text, Loader=_Loader)  # (a SafeLoader)
    except yaml.YAMLError as error:
        if json_error is not None and (json_file or re.match(r'\s*\{\s*"', text)):
            raise ValueError(
                f"invalid JSON at line {json_error.lineno}, column {json_error.colno}: "
                f"{json_error.msg}"
            ) from json_error
        raise ValueError(f"invalid YAML{_yaml_reason(error, text)}") from error


def read_file(path: str | Path) -> Any:
    """The data of a pipeline file (:func:`load_yaml`; JSON's errors for a ``.json`` file)."""
    path = Path(path)
    return load_yaml(path.read_text(encoding="utf-8"), json_file=path.suffix.lower() == ".json")
