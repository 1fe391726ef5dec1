"""Generate ``napari.yaml`` from the registry.

Run ``python -m napari_bioimg._manifest`` after adding an operation; a test
fails while the file and the registry disagree. Headless: imports no napari.
"""

import sys
from pathlib import Path

import yaml

from ._pipeline_reader import PIPELINE_SUFFIXES
from ._sample_data import SAMPLES
from .ops.registry import BUILTIN_NAMES, CATEGORIES, get_operation

PLUGIN = "napari-bioimg"
MANIFEST = Path(__file__).with_name("napari.yaml")
FACTORIES = "napari_bioimg._widgets.factories"

# Docks that are not operations: (id suffix, python name, title, menu). The id
# suffix must differ from every operation name (both become command ids).
DOCKS = [
    (
        "histogram",
        "napari_bioimg._widgets.histogram:HistogramDock",
        "Histogram and statistics",
        "napari/layers/measure",
    ),
    (
        "orthogonal_views",
        "napari_bioimg._widgets.orthogonal:OrthogonalViews",
        "Orthogonal views",
        "napari/layers/visualize",
    ),
    (
        "voxel_size",
        "napari_bioimg._widgets.voxel_size:VoxelSizeWidget",
        "Voxel size",
        "napari/layers/transform",
    ),
    (
        "pixel_values",
        "napari_bioimg._widgets.pixel_grid:PixelGrid",
        "Pixel values",
        "napari/layers/measure",
    ),
    (
        "crop_tools",
        "napari_bioimg._widgets.crop_tools:CropWidget",
        "Crop, subsample and flip",
        "napari/layers/transform",
    ),
    (
        "compare",
        "napari_bioimg._widgets.compare:CompareWidget",
        "Compare side by side",
        "napari/layers/visualize",
    ),
    ("pipeline", "napari_bioimg._widgets.pipeline_dock:PipelineDock", "Pipeline", None),
]

READER_PATTERNS = ["*.tif", "*.tiff", "*.TIF", "*.TIFF"]
BIOIO_PATTERNS = ["*.czi", "*.nd2", "*.lif"]


def generated_widgets() -> list[str]:
    """The operations that get a generated widget.

    All but those a dock of DOCKS serves (``Operation.widget`` naming it: the
    Voxel size dock sets and records ``set_voxel_size`` on the layer itself).
    """
    docks = {key for key, *_ in DOCKS}
    return [name for name in BUILTIN_NAMES if get_operation(name).widget not in docks]


def _submenu_id(category: str) -> str:
    return f"{PLUGIN}.{category}"


def build() -> dict:
    """The manifest as a dictionary."""
    commands, widgets = [], []
    menus: dict[str, list[dict]] = {}
    submenus = []
    for name in generated_widgets():
        op = get_operation(name)
        command = f"{PLUGIN}.{name}"
        commands.append(
            {
                "id": command,
                "title": f"{op.display_name}: {op.description}"
                if op.description
                else op.display_name,
                "python_name": f"{FACTORIES}:{name}_widget",
            }
        )
        widgets.append({"command": command, "display_name": op.display_name})
        menu, label = CATEGORIES[op.category]
        if label is None:
            menus.setdefault(menu, []).append({"command": command})
            continue
        submenu = _submenu_id(op.category)
        if submenu not in menus:
            menus.setdefault(menu, []).append({"submenu": submenu})
            submenus.append({"id": submenu, "label": label})
            menus[submenu] = []
        menus[submenu].append({"command": command})
    for key, python_name, title, menu in DOCKS:
        command = f"{PLUGIN}.{key}"
        commands.append({"id": command, "title": title, "python_name": python_name})
        widgets.append({"command": command, "display_name": title})
        if menu is not None:
            menus.setdefault(menu, []).append({"command": command})
    commands.append(
        {
            "id": f"{PLUGIN}.read_tiff",
            "title": "Read TIFF with voxel size",
            "python_name": "napari_bioimg._reader:get_reader",
        }
    )
    commands.append(
        {
            "id": f"{PLUGIN}.read_pipeline",
            "title": "Run a saved pipeline on the selected layer",
            "python_name": "napari_bioimg._pipeline_reader:get_pipeline_reader",
        }
    )
    readers = [
        {
            "command": f"{PLUGIN}.read_tiff",
            "filename_patterns": READER_PATTERNS + BIOIO_PATTERNS,
            "accepts_directories": True,
        },
        {
            "command": f"{PLUGIN}.read_pipeline",
            "filename_patterns": [f"*{suffix}" for suffix in PIPELINE_SUFFIXES],
            "accepts_directories": False,
        },
    ]
    # one command per layer type: napari tells a writer no type, and labels are marked as
    # such in the file (reopened as labels)
    writing = (("image", "write_tiff", "TIFF"), ("labels", "write_labels_tiff", "labels TIFF"))
    commands.extend(
        {
            "id": f"{PLUGIN}.{function}",
            "title": f"Write {what} with voxel size",
            "python_name": f"napari_bioimg._writer:{function}",
        }
        for _, function, what in writing
    )
    writers = [
        {
            "command": f"{PLUGIN}.{function}",
            "layer_types": [kind],
            "filename_extensions": [".tif", ".tiff"],
            "display_name": "TIFF with voxel size",
        }
        for kind, function, _ in writing
    ]
    sample_data = []
    for key, title in SAMPLES.items():
        command = f"{PLUGIN}.sample.{key}"
        python_name = f"napari_bioimg._sample_data:{key}"
        commands.append({"id": command, "title": f"Sample: {title}", "python_name": python_name})
        sample_data.append({"command": command, "key": key, "display_name": title})
    return {
        "name": PLUGIN,
        "display_name": "napari-bioimg",
        "schema_version": "0.2.1",
        "contributions": {
            "commands": commands,
            "readers": readers,
            "writers": writers,
            "sample_data": sample_data,
            "widgets": widgets,
            "menus": menus,
            "submenus": submenus,
        },
    }


def render() -> str:
    """The manifest as YAML text."""
    header = "# Generated by `python -m napari_bioimg._manifest` from the registry: do not edit.\n"
    return header + yaml.safe_dump(build(), sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    """Write the manifest (``--check``: only tell whether it is up to date)."""
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        current = MANIFEST.read_text(encoding="utf-8") if MANIFEST.exists() else ""
        if current != text:
            print(f"{MANIFEST} is out of date: run python -m napari_bioimg._manifest")
            return 1
        return 0
    MANIFEST.write_text(text, encoding="utf-8")
    print(f"wrote {MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
