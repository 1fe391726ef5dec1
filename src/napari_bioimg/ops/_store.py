"""Whole-volume intermediates kept between live previews of one input."""

from collections.abc import Callable
from typing import Any


def kept(store: dict | None, name: str, key: Any, compute: Callable[[], Any]) -> Any:
    """``compute()``, kept in ``store[name]`` while asked for with the same ``key``.

    One value per name: the previous one is dropped before the next is computed
    (the labels or spline coefficients of a stack are large). ``store`` is the
    dict a widget keeps per input, or None to keep nothing.
    """
    held = None if store is None else store.pop(name, None)
    if held is not None and held[0] == key:
        store[name] = held
        return held[1]
    value = compute()
    if store is not None:
        store[name] = (key, value)
    return value
