"""``python -m napari_bioimg``: the command line (``view`` opens napari)."""

import sys

from .cli import main

sys.exit(main())
