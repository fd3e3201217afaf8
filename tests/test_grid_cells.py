"""``Grid.centres`` and ``Grid.to_raster`` against each inside cell taken alone, row-major.

The centre of cell ``(row, col)`` is ``c + (col + 0.5) * a``, ``f + (row + 0.5) * e`` (the
transform's own numbers, as Python floats here); the method computes them per column and
row and picks them by the mask. Bit for bit, on random masks, empty and full ones, one row,
one column, a mask given as integers, and transforms with negative and odd steps.
"""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from latcircle.engine.grid import Grid


def _by_cell(grid: Grid) -> tuple[list[float], list[float]]:
    t = grid.transform
    xs, ys = [], []
    rows, cols = grid.shape
    for r in range(rows):
        for c in range(cols):
            if grid.inside[r, c]:
                xs.append(t.c + (c + 0.5) * t.a)
                ys.append(t.f + (r + 0.5) * t.e)
    return xs, ys


@pytest.mark.parametrize(
    ("shape", "fill"),
    [((37, 53), 0.4), ((1, 90), 0.5), ((90, 1), 0.5), ((20, 30), 0.0), ((20, 30), 1.0)],
)
@pytest.mark.parametrize(
    "transform",
    [
        Affine(100.0, 0.0, 200_123.5, 0.0, -100.0, 3_456_789.25),
        Affine(0.1, 0.0, -7.3, 0.0, 0.3, 1e-3),
        Affine(33.3, 0.0, 5e6, 0.0, -17.7, -2e6),
    ],
)
def test_centres_are_each_cells_own(shape: tuple[int, int], fill: float, transform: Affine) -> None:
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    inside = rng.random(shape) < fill
    grid = Grid(transform=transform, shape=shape, inside=inside, cell_m=abs(transform.a))
    x, y = grid.centres()
    xs, ys = _by_cell(grid)
    assert x.dtype == y.dtype == np.float64
    assert x.tolist() == xs and y.tolist() == ys
    assert len(x) == grid.n_inside


def test_an_integer_mask_is_a_mask() -> None:
    inside = np.array([[0, 1, 2], [1, 0, 0]], dtype=np.uint8)
    t = Affine(10.0, 0.0, 0.0, 0.0, -10.0, 100.0)
    grid = Grid(transform=t, shape=(2, 3), inside=inside, cell_m=10.0)
    x, y = grid.centres()
    assert x.tolist() == [15.0, 25.0, 5.0] and y.tolist() == [95.0, 95.0, 85.0]


@pytest.mark.parametrize(
    ("dtype", "fill", "make"),
    [
        ("float32", np.nan, lambda rng, n: rng.random(n) * 1e3 + 1e-9),  # rounded to float32
        ("float64", np.nan, lambda rng, n: rng.random(n)),
        ("int32", -1, lambda rng, n: rng.integers(-1, 40, n)),
        ("int8", 0, lambda rng, n: rng.integers(0, 5, n).astype(np.int8)),
    ],
)
def test_to_raster_puts_each_value_on_its_cell(dtype: str, fill: float, make: object) -> None:
    """Each inside cell, in row-major order, gets its value cast as numpy casts one value."""
    rng = np.random.default_rng(11)
    shape = (23, 31)
    inside = rng.random(shape) < 0.45
    t = Affine(10.0, 0.0, 0.0, 0.0, -10.0, 230.0)
    grid = Grid(transform=t, shape=shape, inside=inside, cell_m=10.0)
    values = make(rng, int(inside.sum()))  # type: ignore[operator]
    got = grid.to_raster(values, fill=fill, dtype=dtype)
    expected = np.full(shape, fill, dtype=dtype)
    k = 0
    for r in range(shape[0]):
        for c in range(shape[1]):
            if inside[r, c]:
                expected[r, c] = np.array(values[k]).astype(dtype)
                k += 1
    assert got.dtype == np.dtype(dtype)
    assert np.array_equal(got, expected, equal_nan=True)
    # A mask given as integers is a mask too.
    other = Grid(transform=t, shape=shape, inside=inside.astype(np.uint8), cell_m=10.0)
    assert np.array_equal(other.to_raster(values, fill=fill, dtype=dtype), got, equal_nan=True)


def _random_grid(
    seed: int, shape: tuple[int, int], share: float
) -> tuple[np.random.Generator, Grid]:
    """A generator, and a 100 m grid of ``shape`` with about ``share`` of its cells inside."""
    rng = np.random.default_rng(seed)
    inside = rng.random(shape) < share
    t = Affine(100.0, 0.0, 0.0, 0.0, -100.0, 0.0)
    return rng, Grid(transform=t, shape=shape, inside=inside, cell_m=100.0)


def test_latency_band_made_in_float32_is_the_cast_raster() -> None:
    """``latency.tif`` band 1 made in float32: the float64 raster's cast, bit for bit."""
    from types import SimpleNamespace

    from latcircle.pipeline.city_rasters import scenario_latency_raster

    rng, grid = _random_grid(5, (41, 37), 0.6)
    inside = grid.inside
    lat = rng.random(grid.n_inside) * 1500.0
    # Values between float32 neighbours (rounded), their halfway points, inf, NaN, subnormal.
    lat[:6] = [np.inf, np.nan, -np.inf, 1.0 + 2.0**-24, 1.0 + 2.0**-25, 1e-310]
    metro = SimpleNamespace(grid=grid)
    scenario = SimpleNamespace(evaluations={"area": SimpleNamespace(latency_us=lat)})
    wide = scenario_latency_raster(metro, scenario)  # type: ignore[arg-type]
    narrow = scenario_latency_raster(metro, scenario, dtype="float32")  # type: ignore[arg-type]
    assert wide.dtype == np.float64 and narrow.dtype == np.float32
    assert np.array_equal(narrow.view(np.uint32), wide.astype(np.float32).view(np.uint32))
    assert np.isnan(narrow[~inside]).all() and np.isnan(narrow[inside][:3]).all()


def test_status_band_from_its_uint8_codes() -> None:
    """``latency.tif`` band 2 cast from the uint8 codes: the float32 raster, bit for bit."""
    from types import SimpleNamespace

    from latcircle.analysis.coverage import CAUSE_CODES
    from latcircle.analysis.layers import status_raster

    shape = (29, 33)
    rng, grid = _random_grid(8, shape, 0.5)
    inside = grid.inside
    codes = rng.integers(1, max(CAUSE_CODES.values()) + 1, grid.n_inside).astype(np.int8)
    area = SimpleNamespace(codes=lambda budget_ms: codes)
    metro = SimpleNamespace(grid=grid, config=SimpleNamespace(budget_ms=1.0))
    scenario = SimpleNamespace(evaluations={"area": area})
    band = status_raster(metro, scenario)  # type: ignore[arg-type]
    small = status_raster(metro, scenario, dtype="uint8")  # type: ignore[arg-type]
    expected = np.zeros(shape, dtype=np.float32)
    expected[inside] = codes.astype(np.float32)
    assert band.dtype == np.float32 and small.dtype == np.uint8
    assert np.array_equal(band.view(np.uint32), expected.view(np.uint32))
    assert np.array_equal(small.astype(np.float32).view(np.uint32), expected.view(np.uint32))
    assert np.array_equal(small, expected.astype(np.uint8))
