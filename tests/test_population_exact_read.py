"""The population read in the band's own type gives what the float64 read gave, bit for bit.

``inputs.population._read_population`` reads an all-valid band of a type float64 holds
exactly (float32, integers up to 32 bits) as it is stored, and checks, filters and widens
it there. The reference here is the read as it was written before (2026-12-07): rasterio's
masked read widened to float64 and filled with 0, ``np.nonzero`` of the positive pixels,
rasterio's pixel centres, and pyproj's transform to the local CRS; and the same refusals
(NaN, a negative count, nobody) with the same words.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
import rasterio.transform
import shapely
from rasterio.transform import from_origin

from latcircle.config.input_files import PopulationInput
from latcircle.errors import InputError
from latcircle.inputs.population import _read_population

LOCAL = pyproj.CRS.from_epsg(32650)
TRANSFORM = from_origin(114.0, 30.8, 0.01, 0.01)  # 0.01° pixels near Wuhan
SHAPE = (30, 40)


def _raster(path: Path, values: np.ndarray, *, nodata: float | None = None) -> None:
    profile = {
        "driver": "GTiff",
        "dtype": str(values.dtype),
        "count": 1,
        "width": values.shape[1],
        "height": values.shape[0],
        "crs": "EPSG:4326",
        "transform": TRANSFORM,
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)


def _boundary() -> shapely.Geometry:
    """A metro over the whole raster (its window is the whole band), in the local CRS."""
    tr = pyproj.Transformer.from_crs(4326, LOCAL, always_xy=True)
    x, y = tr.transform([113.9, 114.5, 114.5, 113.9], [30.4, 30.4, 30.9, 30.9])
    return shapely.Polygon(list(zip(x, y, strict=True)))


def _reference(path: Path) -> tuple[np.ndarray, ...]:
    """The positive pixels of the whole band, as the float64 read found them."""
    with rasterio.open(path) as src:
        values = src.read(1, masked=True).astype(np.float64).filled(0.0)
    rows, cols = np.nonzero(values > 0)
    xs, ys = rasterio.transform.xy(TRANSFORM, rows, cols, offset="center")
    tr = pyproj.Transformer.from_crs(4326, LOCAL, always_xy=True)
    lx, ly = tr.transform(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
    return np.asarray(lx, dtype=float), np.asarray(ly, dtype=float), values[rows, cols]


def _values(dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.startswith("float"):
        values = (rng.random(SHAPE) * 80).astype(dtype)
        values[rng.random(SHAPE) < 0.3] = 0
        values[2, 3] = np.asarray(1e-30, dtype=dtype)  # tiny, kept exactly
        values[4, 5] = np.asarray(0.1, dtype=dtype)  # not a float32 of a short decimal
        values[6, 7] = -0.0  # not positive, not negative
        return values
    info = np.iinfo(dtype)
    values = rng.integers(0, min(info.max, 2**31 - 1), SHAPE, endpoint=True).astype(dtype)
    values[rng.random(SHAPE) < 0.3] = 0
    values[1, 1] = info.max  # the largest value of the type, exactly
    return values


@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8", "int16", "uint16", "int32"])
@pytest.mark.parametrize("seed", [1, 2])
def test_positive_pixels_as_the_float64_read(tmp_path: Path, dtype: str, seed: int) -> None:
    values = _values(dtype, seed)
    path = tmp_path / "people.tif"
    _raster(path, values)
    got = _read_population(PopulationInput(path=path), LOCAL, _boundary())
    x, y, people = _reference(path)
    assert got.people.dtype == np.float64
    assert got.people.tobytes() == people.tobytes()
    assert got.x.tobytes() == x.tobytes()
    assert got.y.tobytes() == y.tobytes()


def test_a_band_with_nodata_goes_the_masked_way(tmp_path: Path) -> None:
    values = _values("float32", 3)
    values[0, :] = -9999.0
    path = tmp_path / "nodata.tif"
    _raster(path, values, nodata=-9999.0)
    got = _read_population(PopulationInput(path=path), LOCAL, _boundary())
    x, y, people = _reference(path)
    assert got.people.tobytes() == people.tobytes()
    assert got.x.tobytes() == x.tobytes()
    assert got.y.tobytes() == y.tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_is_refused_with_its_count(tmp_path: Path, dtype: str) -> None:
    values = _values(dtype, 4)
    values[3, 3] = values[7, 9] = np.nan
    path = tmp_path / "nan.tif"
    _raster(path, values)
    with pytest.raises(InputError, match=r"2 pixel\(s\) are NaN without nodata"):
        _read_population(PopulationInput(path=path), LOCAL, _boundary())
    values[5, 5] = -3.5  # NaN is named first, as before
    _raster(path, values)
    with pytest.raises(InputError, match="NaN without nodata"):
        _read_population(PopulationInput(path=path), LOCAL, _boundary())


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16"])
def test_a_negative_count_is_refused_with_the_smallest(tmp_path: Path, dtype: str) -> None:
    values = _values(dtype, 5)
    values[3, 3] = -1
    values[8, 2] = -7  # the smallest is named
    path = tmp_path / "negative.tif"
    _raster(path, values)
    with pytest.raises(InputError, match=r"negative people count, e\.g\. -7$"):
        _read_population(PopulationInput(path=path), LOCAL, _boundary())


@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_nobody_is_refused(tmp_path: Path, dtype: str) -> None:
    values = np.zeros(SHAPE, dtype=dtype)
    path = tmp_path / "empty.tif"
    _raster(path, values)
    with pytest.raises(InputError, match="add up to 0"):
        _read_population(PopulationInput(path=path), LOCAL, _boundary())
