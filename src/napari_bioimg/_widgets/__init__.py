"""napari widgets generated from the registry, and the docks (napari and Qt only here)."""
