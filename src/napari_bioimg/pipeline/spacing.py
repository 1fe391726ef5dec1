"""How each operation changes the voxel size (spacing) of its result.

Kept free of any import so that :mod:`napari_bioimg.pipeline.script` can copy
:func:`spacing_after` into exported scripts verbatim: the script and the
pipeline then track spacing with the very same code.
"""

__all__ = ["spacing_after", "spacing_of_result", "trailing"]


def spacing_after(operation, parameters, spacing, ndim):
    """Return the spacing of the result of ``operation`` on an ``ndim``-D image.

    Parameters
    ----------
    operation : str
        Operation name from the registry.
    parameters : dict
        The step's parameters (as bound by ``Operation.bind``).
    spacing : sequence of float or None
        Voxel size of the input, one value per trailing spatial axis.
    ndim : int
        Number of axes of the input array, not counting an RGB image's colour
        axis (:func:`napari_bioimg.ops._checks.image_axes`): the axes that the
        transforms' per-axis values address.

    Returns
    -------
    tuple of float or None
        ``resample_isotropic`` gives cubic voxels of ``min(spacing)``;
        ``subsample`` multiplies each spatial spacing by its step; ``project``
        drops the projected axis (``None`` when fewer than two spatial axes
        remain); ``set_voxel_size`` gives its ``(y, x)``, or ``(z, y, x)`` on 3D
        data (its ``z`` None: the input's, 1.0 without one; ValueError with a
        ``unit``, which would read the input's ``z`` in it); ``set_axis_role``
        drops z for frames or channels, or adds the pixel width as z; every other
        operation keeps the spacing.

    Examples
    --------
    >>> spacing_after("resample_isotropic", {"order": 1}, (2.0, 0.5, 0.5), 3)
    (0.5, 0.5, 0.5)
    >>> spacing_after("subsample", {"step": [1, 2]}, (0.5, 0.5), 2)
    (0.5, 1.0)
    >>> spacing_after("project", {"axis": 0, "method": "max"}, (2.0, 0.5, 0.5), 3)
    (0.5, 0.5)
    >>> spacing_after("set_voxel_size", {"z": None, "y": 0.39, "x": 0.39}, (0.39,) * 3, 3)
    (0.39, 0.39, 0.39)
    >>> spacing_after("set_voxel_size", {"z": 8.8, "y": 0.39, "x": 0.39}, None, 3)
    (8.8, 0.39, 0.39)
    """
    if operation == "set_axis_role":  # (frames/channels are no voxel size; z: the pixel width)
        n = min(ndim, 3) if spacing is None else len(spacing)
        spacing = (1.0,) * n if spacing is None else tuple(float(v) for v in spacing)
        if parameters.get("role", "t") != "z":
            return spacing[-2:]
        return spacing if n >= 3 or ndim < 3 else (spacing[-1], *spacing)
    if operation == "set_voxel_size":
        n = min(ndim, 3) if spacing is None else len(spacing)
        z = parameters.get("z")
        if z is None and n >= 3 and parameters.get("unit") is not None:
            raise ValueError(
                "parameter 'z' needs a value with 'unit' on 3D data (the slice distance "
                "kept would be read in the new unit)"
            )
        if z is None:
            z = 1.0 if spacing is None or n < 3 else spacing[-3]
        values = (float(z), float(parameters.get("y", 1.0)), float(parameters.get("x", 1.0)))
        return values[3 - n :]
    if spacing is None:
        return None
    spacing = tuple(float(s) for s in spacing)
    first_spatial = ndim - len(spacing)
    if first_spatial < 0:  # the operation itself refuses such a spacing
        return spacing
    if operation == "resample_isotropic":
        return (min(spacing),) * len(spacing)
    if operation == "subsample":
        step = parameters.get("step", 2)
        # One step for all axes, or one per axis with missing trailing axes
        # meaning 1, as in ``ops.subsample``.
        steps = [step] * ndim if isinstance(step, int) else list(step) + [1] * (ndim - len(step))
        spatial_steps = steps[first_spatial : first_spatial + len(spacing)]
        return tuple(s * n for s, n in zip(spacing, spatial_steps, strict=True))
    if operation == "project":
        axis = parameters.get("axis", -3)
        if not -ndim <= axis < ndim:
            return spacing
        axis = axis % ndim - first_spatial
        if axis < 0:  # a leading batch axis: the spatial axes stay
            return spacing
        remaining = spacing[:axis] + spacing[axis + 1 :]
        return remaining if len(remaining) >= 2 else None
    return spacing


def spacing_of_result(spacing, axes):
    """The spacing of a registered function's result of ``axes`` image axes.

    A function may reduce a stack to a plane (a projection of its own): the
    result keeps the voxel size of the trailing axes it has (numpy's and
    napari's alignment), None under two; more axes than the input's are new
    leading axes, not spatial ones: the spacing stays.

    >>> spacing_of_result((2.0, 0.5, 0.5), 2)
    (0.5, 0.5)
    >>> spacing_of_result((0.5, 0.5), 3)
    (0.5, 0.5)
    """
    if spacing is None or axes >= len(spacing):
        return spacing
    return tuple(spacing)[len(spacing) - axes :] if axes >= 2 else None


def trailing(values, ndim, fill):
    """Per-axis ``values`` for ``ndim`` axes aligned at the end, ``fill`` for new leading ones.

    >>> trailing((2.0, 0.5, 0.25), 2, 1.0)
    (0.5, 0.25)
    >>> trailing((0.5, 0.25), 3, 1.0)
    (1.0, 0.5, 0.25)
    """
    values = tuple(values)
    return (fill,) * (ndim - len(values)) + values[max(len(values) - ndim, 0) :]
