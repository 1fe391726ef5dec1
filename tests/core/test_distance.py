"""The distance-transform path of ball binary morphology equals the footprint.

:mod:`napari_bioimg.ops._distance` must give exactly the local maximum/minimum
over ``make_footprint(radius, "ball", spacing)`` with edges replicated, whatever
the spacing, the radius, the mask (touching the border, empty, full) and the
split between threads; the operations switch to it above a number of runs.
"""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_bioimg import ops
from napari_bioimg.ops import _distance, _kernels
from napari_bioimg.ops._footprint import make_footprint, reach
from napari_bioimg.ops._reference import reference_binary, reference_extreme

GEOMETRIES = [  # shape, spacing
    ((37, 41), (1.0, 1.0)),
    ((29, 33), (1.0, 0.6)),
    ((11, 24, 26), (1.0, 1.0, 1.0)),
    ((9, 22, 25), (2.5, 0.8, 1.0)),
    ((12, 20, 23), (0.7, 1.3, 1.1)),
    ((6, 1, 30), (1.0, 1.0, 0.9)),
    ((2, 33, 40), (1.0, 1.0, 1.0)),  # fewer planes than threads: rows split
]


def masks(shape):
    """Blobs touching the border, sparse points, an empty and a full mask."""
    rng = np.random.default_rng(7)
    yield ndi.gaussian_filter(rng.random(shape), 1.5) > 0.5
    yield rng.random(shape) > 0.97
    yield np.zeros(shape, bool)
    yield np.ones(shape, bool)


@pytest.mark.parametrize(("shape", "spacing"), GEOMETRIES)
def test_distance_path_equals_footprint(shape, spacing, monkeypatch):
    monkeypatch.setattr(_kernels, "n_threads", lambda: 3)
    monkeypatch.setattr(_kernels, "_PARALLEL_MIN_PIXELS", 0)
    for radius in (0, 1, 2.5, 4, 6.2):
        fp = make_footprint(radius, "ball", spacing)
        for mask in masks(shape):
            for which in ("max", "min"):
                np.testing.assert_array_equal(
                    _distance.ball_binary(mask, radius, spacing, which),
                    reference_extreme(mask, fp, which),
                    err_msg=f"{which} radius {radius}",
                )


def test_distance_path_on_one_thread_and_a_single_plane():
    mask = ndi.gaussian_filter(np.random.default_rng(8).random((1, 30, 40)), 1.5) > 0.5
    spacing = (1.0, 1.0, 1.0)
    for radius in (1, 3):
        np.testing.assert_array_equal(
            _distance.ball_binary(mask, radius, spacing, "max"),
            reference_binary(mask, radius, "ball", spacing, "max"),
        )


@pytest.mark.parametrize(("shape", "spacing"), [GEOMETRIES[1], GEOMETRIES[3]])
def test_operations_switch_paths_with_the_number_of_runs(shape, spacing, monkeypatch):
    runs = _kernels.row_table(make_footprint(3, "ball", spacing)).rows
    # The distance path from radius 3 on: radius 2 takes runs, 3 the distances.
    monkeypatch.setitem(_distance._BREAK_EVEN_RUNS, len(shape), runs - 1)
    monkeypatch.setitem(_distance._SCAN_BREAK_EVEN_RUNS, len(shape), runs - 1)
    for radius, expected in ((2, False), (3, True)):
        fp = make_footprint(radius, "ball", spacing)
        assert _distance.prefers_distance(fp, radius, spacing) is expected
    assert not _distance.prefers_distance(make_footprint(2, "ball", spacing))
    assert _distance.prefers_distance(make_footprint(3, "ball", spacing))
    mask = ndi.gaussian_filter(np.random.default_rng(9).random(shape), 1.5) > 0.5
    for radius in (2, 3):
        dilated = reference_binary(mask, radius, "ball", spacing, "max")
        eroded = reference_binary(mask, radius, "ball", spacing, "min")
        kwargs = dict(radius=radius, spacing=spacing)
        np.testing.assert_array_equal(ops.binary_dilation(mask, **kwargs), dilated)
        np.testing.assert_array_equal(ops.binary_erosion(mask, **kwargs), eroded)
        np.testing.assert_array_equal(
            ops.binary_opening(mask, **kwargs),
            reference_binary(eroded, radius, "ball", spacing, "max"),
        )
        np.testing.assert_array_equal(
            ops.binary_closing(mask, **kwargs),
            reference_binary(dilated, radius, "ball", spacing, "min"),
        )


def test_large_balls_take_the_distance_path():
    assert not _distance.prefers_distance(make_footprint(1, "ball", (1.0, 1.0, 1.0)))
    assert _distance.prefers_distance(make_footprint(20, "ball", (1.0, 1.0, 1.0)))
    assert _distance.prefers_distance(make_footprint(20, "ball", (1.0, 1.0)))


def test_distance_path_computes_only_the_planes_asked(monkeypatch):
    monkeypatch.setattr(_kernels, "n_threads", lambda: 2)
    monkeypatch.setattr(_kernels, "_PARALLEL_MIN_PIXELS", 0)
    mask = ndi.gaussian_filter(np.random.default_rng(10).random((14, 20, 22)), 1.5) > 0.5
    spacing = (1.0, 1.0, 1.0)
    full = _distance.ball_binary(mask, 5, spacing, "min")
    part = _distance.ball_binary(mask, 5, spacing, "min", planes=(6, 9))
    np.testing.assert_array_equal(part[6:9], full[6:9])
    assert not part[:6].any() and not part[9:].any()


# --- the scans ---------------------------------------------------------------------------

SCAN_GEOMETRIES = [  # shape, spacing, whether the scans take 3D balls of this spacing
    ((61, 83), (1.0, 1.0), True),
    ((47, 70), (0.7, 0.3), True),  # 2D: any spacing (row distances against limits)
    ((40, 66), (2.0, 0.5), True),
    ((18, 41, 53), (1.0, 1.0, 1.0), True),
    ((12, 40, 61), (2.0, 0.5, 0.5), True),  # integers in quarters
    ((14, 22, 70), (3.0, 1.0, 1.0), True),  # table look-up below radius 6, then squares
    ((10, 31, 45), (1.0, 0.7, 0.3), False),  # sums round: the envelope
    ((3, 50, 40), (1.0, 1.0, 1.0), True),  # fewer planes than threads: rows split
    ((8, 1, 60), (1.0, 1.0, 1.0), True),
]


def scan_masks(shape):
    """Blobs touching the border, sparse points, noise."""
    rng = np.random.default_rng(12)
    yield ndi.gaussian_filter(rng.random(shape), 2.0) > 0.55
    yield rng.random(shape) > 0.995
    yield rng.random(shape) > 0.5


@pytest.mark.parametrize(("shape", "spacing", "scans"), SCAN_GEOMETRIES)
def test_scans_equal_footprint(shape, spacing, scans, monkeypatch):
    monkeypatch.setattr(_kernels, "n_threads", lambda: 2)
    monkeypatch.setattr(_kernels, "_PARALLEL_MIN_PIXELS", 0)
    # Radii on either side of the break-even numbers of runs and of a block of rows.
    for radius in (1, 2, 3, 5, 7.5, 11, 16, 23):
        fp = make_footprint(radius, "ball", spacing)
        within = max(reach(radius, spacing)) <= _distance._SCAN_MAX_REACH
        expected = within and (scans or len(shape) == 2)
        assert (_distance.scan_tables(radius, spacing) is not None) == expected
        for mask in scan_masks(shape):
            for which in ("max", "min"):
                np.testing.assert_array_equal(
                    _distance.ball_binary(mask, radius, spacing, which),
                    reference_extreme(mask, fp, which),
                    err_msg=f"{which} radius {radius}",
                )


def test_scans_on_empty_and_full_masks_and_planes():
    spacing = (1.0, 1.0, 1.0)
    for shape in ((9, 30, 35), (30, 35)):
        sp = spacing[: len(shape)]
        for mask in (np.zeros(shape, bool), np.ones(shape, bool)):
            for which in ("max", "min"):
                np.testing.assert_array_equal(_distance.ball_binary(mask, 12, sp, which), mask)
    mask = ndi.gaussian_filter(np.random.default_rng(13).random((16, 30, 40)), 2) > 0.55
    full = _distance.ball_binary(mask, 9, spacing, "max")
    part = _distance.ball_binary(mask, 9, spacing, "max", planes=(7, 10))
    np.testing.assert_array_equal(part[7:10], full[7:10])
    assert not part[:7].any() and not part[10:].any()


def test_scan_tables_are_exact_integers_or_none():
    cap, a, b, limits, square, gcap = _distance.scan_tables(20, (1.0, 1.0, 1.0))
    assert (cap, int(a[-1]), int(limits[0]), int(square)) == (21, 401, 400, 1)
    assert list(b[:4]) == [0, 1, 4, 9]
    # Spacing (2, 0.5, 0.5): squares in quarters, a[dz] = 16 dz^2.
    cap, a, b, limits, square, gcap = _distance.scan_tables(3, (2.0, 0.5, 0.5))
    assert (cap, list(a[:2]), list(b[:3]), int(square)) == (2, [0, 16], [0, 1, 4], 16)
    assert _distance.scan_tables(3, (1.0, 0.7, 0.3)) is None
    assert _distance.scan_tables(_distance._SCAN_MAX_REACH + 1, (1.0, 1.0)) is None


def test_operations_take_the_scans_from_their_break_even():
    for spacing in ((1.0, 1.0), (1.0, 1.0, 1.0)):
        even = _distance._SCAN_BREAK_EVEN_RUNS[len(spacing)]
        for radius in (1, 2, 3, 5, 8, 20):
            fp = make_footprint(radius, "ball", spacing)
            runs = _kernels.row_table(fp).rows
            assert _distance.prefers_distance(fp, radius, spacing) == (runs > even)
    # Spacings the scans do not take keep the envelope's break-even.
    fp = make_footprint(5, "ball", (1.0, 0.7, 0.3))
    assert not _distance.prefers_distance(fp, 5, (1.0, 0.7, 0.3))


def test_envelope_where_the_scans_do_not_apply(monkeypatch):
    # Reaches beyond _SCAN_MAX_REACH (and 3D spacings whose sums round) keep the
    # envelope: forced here for every geometry, 2D included.
    monkeypatch.setattr(_kernels, "n_threads", lambda: 2)
    monkeypatch.setattr(_kernels, "_PARALLEL_MIN_PIXELS", 0)
    monkeypatch.setattr(_distance, "_SCAN_MAX_REACH", 0)
    _distance._scan_tables.cache_clear()
    try:
        for shape, spacing, _ in SCAN_GEOMETRIES:
            for radius in (2, 6.2):
                assert _distance.scan_tables(radius, spacing) is None
                fp = make_footprint(radius, "ball", spacing)
                for mask in scan_masks(shape):
                    for which in ("max", "min"):
                        np.testing.assert_array_equal(
                            _distance.ball_binary(mask, radius, spacing, which),
                            reference_extreme(mask, fp, which),
                        )
    finally:
        _distance._scan_tables.cache_clear()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_row_union_equals_its_definition(dtype):
    # orows[k, x] = exists dx: G[k, x + dx] <= limits[|dx|], checked pixel by pixel,
    # for rows shorter and longer than the reach, rows all in, all out and mixed.
    rng = np.random.default_rng(14)
    for nx in (1, 3, 17, 64):
        for reach_x in (0, 1, 5, 20, 40):
            limits = np.sort(rng.integers(0, 200, reach_x + 1))[::-1].astype(dtype)
            rows = [rng.integers(0, 230, nx), np.full(nx, limits[0]), np.full(nx, limits[0] + 1),
                    np.where(rng.random(nx) < 0.1, 0, 250), rng.integers(0, 230, nx)]
            G = np.array(rows, dtype)
            expected = _row_union_by_definition(G, limits)
            buf = np.empty(len(rows) * (nx + reach_x + 1) + 8, np.uint8)
            for flip in (0, 1):
                out = np.empty(G.shape, np.uint8)
                _distance._union_rows(G, _distance.union_thresholds(limits), reach_x,
                                      buf, np.empty_like(buf), out, np.uint8(flip),
                                      np.empty(len(rows), np.int64),
                                      np.zeros(nx // _distance._GAP_SHARE + 9, np.int64))
                np.testing.assert_array_equal(out.astype(bool), expected ^ bool(flip),
                                              err_msg=f"nx {nx} reach {reach_x}")


def _row_union_by_definition(G, limits):
    n, nx = G.shape
    reach_x = len(limits) - 1
    expected = np.zeros(G.shape, bool)
    for k, x, dx in np.ndindex(n, nx, 2 * reach_x + 1):
        xs = x + dx - reach_x
        if 0 <= xs < nx and G[k, xs] <= limits[abs(dx - reach_x)]:
            expected[k, x] = True
    return expected


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_row_union_of_rows_with_few_gaps(dtype):
    # Rows mostly within limits[0] with a few pixels beyond it (gaps, at the ends too):
    # resolved pixel by pixel, or by the whole union once a row has too many or they
    # cost too much; any order of such rows, written in place over G as the 2D scans do.
    rng = np.random.default_rng(16)
    for nx in (9, 64, 200, 333):
        for reach_x in (0, 1, 5, 20, 40):
            limits = np.sort(rng.integers(0, 200, reach_x + 1))[::-1].astype(dtype)
            limits[0] = max(int(limits[0]), 1)
            rows = []
            for gaps in (1, 2, 3, nx // 64, nx // 32, nx // 32 + 1, nx // 8, 0):
                row = rng.integers(0, int(limits[0]) + 1, nx)
                beyond = int(limits[0]) + 1 + rng.integers(0, 40)
                row[rng.choice(nx, min(gaps, nx), replace=False)] = beyond
                rows.append(row)
            rows.append(np.where(np.arange(nx) % max(1, nx - 1) == 0, 250, 0))  # gaps at both ends
            G = np.array(rows * 3, dtype)[rng.permutation(3 * len(rows))]
            expected = _row_union_by_definition(G, limits)
            buf = np.empty(len(G) * (nx + reach_x + 1) + 8, np.uint8)
            for flip in (0, 1):
                for in_place in (False, True) if dtype == np.uint8 else (False,):
                    out = G.copy() if in_place else np.empty(G.shape, np.uint8)
                    below = _distance.union_thresholds(limits)
                    _distance._union_rows(out if in_place else G, below,
                                          reach_x, buf, np.empty_like(buf), out, np.uint8(flip),
                                          np.empty(len(G), np.int64),
                                          np.zeros(nx // _distance._GAP_SHARE + 9, np.int64))
                    np.testing.assert_array_equal(out.astype(bool), expected ^ bool(flip),
                                                  err_msg=f"nx {nx} reach {reach_x} {in_place}")


def test_narrow_images_and_balls_wider_than_them():
    # The union's doubling steps reach past rows of a few pixels.
    for shape in ((50, 7), (6, 90), (1, 40), (40, 1)):
        mask = np.random.default_rng(15).random(shape) > 0.9
        for radius in (9, 16.5):
            fp = make_footprint(radius, "ball", (1.0, 1.0))
            for which in ("max", "min"):
                np.testing.assert_array_equal(
                    _distance.ball_binary(mask, radius, (1.0, 1.0), which),
                    reference_extreme(mask, fp, which),
                )
