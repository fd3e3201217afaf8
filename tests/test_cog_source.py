"""The COG source with overviews made in numpy gives GDAL's own COG, byte for byte.

:func:`latcircle.output.cogsource.cog_source` hands GDAL's COG driver a source that already
has the overviews the driver would make (its levels, :func:`overview_shapes`; its pixels,
:func:`nearest_pick`, each level from the level before). The reference is GDAL making them
itself: an encoded GTiff source in ``/vsimem`` without overviews, copied by the COG driver
with its defaults. Sizes around the block size, odd ones, one row, widths and heights far
apart (one dimension reaching 1 pixel before the other is done), one and three bands, and
the overview pixels read back from GDAL's file against the numpy picks.
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
from latcircle.output.cogsource import _overviews, nearest_pick, overview_shapes
from latcircle.output.files import write_cog

CRS = "EPSG:32650"
TRANSFORM = Affine(100.0, 0.0, 182000.0, 0.0, -100.0, 3472000.0)
SHAPES = [(1, 1300), (513, 513), (600, 100), (1025, 2049), (1547, 1340), (2600, 3), (512, 512)]


class _Grid:
    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.transform = TRANSFORM


def _bands(shape: tuple[int, int], count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    bands = []
    for _ in range(count):
        band = rng.uniform(0.0, 3000.0, shape) + 1e-9  # float64: float32 rounds each value
        band[rng.random(shape) < 0.15] = np.nan
        band[: shape[0] // 3, :] = np.nan  # whole blocks of nodata, as outside a metro
        bands.append(band)
    return bands


def _route(bands: list[np.ndarray], path: Path, names: list[str]) -> None:
    gdal_route_cog(bands, path, names, crs=CRS, transform=TRANSFORM)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("count", [1, 3])
def test_write_cog_is_gdal_route_bytes(tmp_path: Path, shape: tuple[int, int], count: int) -> None:
    bands = _bands(shape, count, seed=shape[0] + count)
    names = [f"band {i} <&> ünïcode" for i in range(1, count + 1)]
    ref, got = tmp_path / "ref.tif", tmp_path / "got.tif"
    _route(bands, ref, names)
    write_cog(bands, _Grid(shape), CRS, got, nodata=float("nan"), descriptions=names)  # type: ignore[arg-type]
    assert got.read_bytes() == ref.read_bytes()


@pytest.mark.parametrize("shape", SHAPES)
def test_overview_pixels_are_gdals(tmp_path: Path, shape: tuple[int, int]) -> None:
    band = _bands(shape, 1, seed=11)[0].astype("float32")
    ref = tmp_path / "ref.tif"
    _route([band], ref, ["x"])
    levels = _overviews(band, overview_shapes(shape, block=512))
    with rasterio.open(ref) as src:
        factors = src.overviews(1)
    assert len(factors) == len(levels)
    for i, level in enumerate(levels):
        with rasterio.open(ref, overview_level=i) as ovr:
            assert ovr.shape == level.shape
            assert ovr.read(1).tobytes() == level.tobytes()  # NaN bits included


def test_overview_shapes_by_hand() -> None:
    assert overview_shapes((512, 512), block=512) == []
    assert overview_shapes((513, 10), block=512) == [(256, 5)]
    assert overview_shapes((1547, 1340), block=512) == [(773, 670), (386, 335)]
    assert overview_shapes((2600, 3), block=512) == [(1300, 1), (650, 1), (325, 1)]


def test_nearest_pick_by_hand() -> None:
    # int(0.5 + i * n_src / n_dst): ratio 2 takes 0, 2, 4, ...; 1547 -> 773 (ratio
    # 2.00129...) takes 2i up to i = 386 (0.5 + 772.4994...) and 2i + 1 from 387 (775.0006...).
    assert nearest_pick(8, 4).tolist() == [0, 2, 4, 6]
    picks = nearest_pick(1547, 773)
    assert picks[[0, 1, 386, 387, 772]].tolist() == [0, 2, 772, 775, 1545]
    assert nearest_pick(3, 1).tolist() == [0]


@pytest.mark.parametrize("shape", [(513, 700), (1300, 1100), (40, 2000)])
def test_causes_is_gdal_route_bytes(tmp_path: Path, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(shape[1])
    codes = rng.integers(0, 5, shape).astype("float32")
    codes[: shape[0] // 2, :] = 0.0  # outside the metro
    classes = [("covered", "#1a9641"), ("no_access", "#7b3294"), ("too_far", "#d7191c")]
    colours = {**dict(classes), "unreachable": "#e66101"}
    labels = {name: name for name in colours}
    write_causes(codes, _Grid(shape), CRS, tmp_path, colours=colours, labels=labels)  # type: ignore[arg-type]
    values = np.where(codes == 0, CAUSES_NODATA, codes).astype(np.uint8)
    order = ["covered", "no_access", "unreachable", "too_far"]
    colormap = {
        code: (int(colours[n][1:3], 16), int(colours[n][3:5], 16), int(colours[n][5:7], 16), 255)
        for code, n in enumerate(order, start=1)
    }
    ref = tmp_path / "ref.tif"
    gdal_route_causes(
        values,
        ref,
        colormap=colormap,
        description="status: " + ", ".join(f"{c} {n}" for c, n in enumerate(order, start=1)),
        crs=CRS,
        transform=TRANSFORM,
    )
    assert (tmp_path / "causes.tif").read_bytes() == ref.read_bytes()


def test_an_array_written_again_in_place_gives_its_new_pixels(tmp_path: Path) -> None:
    """GDAL reads the arrays by pointer: nothing of an earlier COG at that address is kept.

    The same float32 array (the same address and size, so the same MEM dataset name) is
    rewritten and written again; each file must hold the values of its own turn.
    """
    shape = (700, 600)
    band = np.empty(shape, dtype=np.float32)
    for turn in range(4):
        band[:] = np.random.default_rng(turn).uniform(0.0, 1000.0, shape)
        path = tmp_path / f"{turn}.tif"
        write_cog([band], _Grid(shape), CRS, path, nodata=float("nan"))  # type: ignore[arg-type]
        with rasterio.open(path) as src:
            assert src.read(1).tobytes() == band.tobytes()
        with rasterio.open(path, overview_level=0) as ovr:
            want = _overviews(band, overview_shapes(shape, block=512))[0]
            assert ovr.read(1).tobytes() == want.tobytes()
