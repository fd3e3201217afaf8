"""The COGs latcircle writes are the bytes GDAL's default way of making them gives.

:func:`latcircle.output.files.write_cog` and ``causes.tif`` make their COGs from a VRT over
the bands' arrays with the overviews already made in numpy
(:mod:`latcircle.output.cogsource`), float64 bands cast to float32 by numpy, and GDAL's
block cache held small (``COG_ENV``). None of this may change a byte: the reference here is
GDAL's default route (an encoded GTiff source in ``/vsimem``, the whole stack cast at once,
the COG driver making the overviews itself), on a raster large enough for two overview
levels, with whole blocks outside the metro (NaN, code 0) and values that float32 rounds.
More sizes are in ``tests/test_cog_source.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from affine import Affine
from cog_reference import gdal_route_causes, gdal_route_cog

from latcircle.output.causes import CAUSES_NODATA, write_causes
from latcircle.output.files import write_cog

SHAPE = (1300, 1100)  # > 1024 rows: two overview levels (650 × 550, 325 × 275)
CRS = "EPSG:32650"
TRANSFORM = Affine(100.0, 0.0, 182000.0, 0.0, -100.0, 3472000.0)


class _Grid:
    """The two attributes write_cog and write_causes read of a grid."""

    shape = SHAPE
    transform = TRANSFORM


def _bands() -> list[np.ndarray]:
    rng = np.random.default_rng(23)
    latency = rng.uniform(0.0, 3000.0, SHAPE) + 1e-9  # float64: float32 rounds every value
    latency[rng.random(SHAPE) < 0.1] = np.nan
    codes = rng.integers(0, 5, SHAPE).astype("float32")
    r_star = np.where(rng.random(SHAPE) < 0.3, np.nan, rng.uniform(1.0, 2.0, SHAPE))
    outside = np.zeros(SHAPE, dtype=bool)  # outside the metro, as on Wuhan's grid
    outside[:700, :] = True
    outside[:, :500] = True
    latency[outside], codes[outside], r_star[outside] = np.nan, 0.0, np.nan
    return [latency, codes, r_star]


def _route(bands: list[np.ndarray], path: Path, names: list[str]) -> None:
    gdal_route_cog(bands, path, names, crs=CRS, transform=TRANSFORM)


def test_latency_cog_is_gdal_default_bytes(tmp_path: Path) -> None:
    bands = _bands()
    names = ["latency", "status", "r star"]
    ref = tmp_path / "ref.tif"
    _route(bands, ref, names)
    got = tmp_path / "got.tif"
    made: list[str] = []

    def r_star() -> np.ndarray:  # a band made when written
        made.append("r*")
        return bands[2]

    write_cog(
        [bands[0], bands[1], r_star],
        _Grid(),  # type: ignore[arg-type]
        CRS,
        got,
        nodata=float("nan"),
        descriptions=names,
    )
    assert made == ["r*"]
    assert got.read_bytes() == ref.read_bytes()
    with rasterio.open(got) as src:
        assert src.overviews(1) == [2, 4]
        np.testing.assert_array_equal(src.read(1), bands[0].astype("float32"))


def test_causes_cog_is_gdal_default_bytes(tmp_path: Path) -> None:
    codes = _bands()[1]
    classes = [
        ("covered", "#1a9641"),
        ("no_access", "#7b3294"),
        ("unreachable", "#e66101"),
        ("too_far", "#d7191c"),
    ]
    colours = dict(classes)
    labels = {name: name.replace("_", " ") for name, _ in classes}
    write_causes(codes, _Grid(), CRS, tmp_path, colours=colours, labels=labels)  # type: ignore[arg-type]
    values = np.where(codes == 0, CAUSES_NODATA, codes).astype(np.uint8)
    # By hand: code 1-4 in the order of the causes, each in its colour, opaque.
    description = "status: 1 covered, 2 no_access, 3 unreachable, 4 too_far"
    colormap = {
        code: (int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16), 255)
        for code, (_, c) in enumerate(classes, start=1)
    }
    ref = tmp_path / "ref.tif"
    gdal_route_causes(
        values, ref, colormap=colormap, description=description, crs=CRS, transform=TRANSFORM
    )
    assert (tmp_path / "causes.tif").read_bytes() == ref.read_bytes()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_block_cast_matches_whole_cast(tmp_path: Path, dtype: str) -> None:
    """A band of fewer rows than one block, and of a row count no block divides."""
    rng = np.random.default_rng(7)
    for rows in (3, 1025):
        shape = (rows, 700)
        band = rng.uniform(0.0, 1.0, shape).astype(dtype) + np.array(1e-9, dtype=dtype)

        class G:
            pass

        G.shape = shape  # type: ignore[attr-defined]
        G.transform = TRANSFORM  # type: ignore[attr-defined]
        out = tmp_path / f"b{rows}.tif"
        write_cog(band, G(), CRS, out, nodata=float("nan"))  # type: ignore[arg-type]
        with rasterio.open(out) as src:
            np.testing.assert_array_equal(src.read(1), band.astype("float32"))
