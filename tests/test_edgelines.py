"""EdgeLines: the network's lines as flat coordinates, checked against the shapely lines."""

from __future__ import annotations

import pickle

import geopandas as gpd
import numpy as np
import pytest
import shapely

from latcircle.engine.edgelines import EdgeLines
from latcircle.engine.locator import Locator
from latcircle.engine.network import Network, build_network


def _lines(n: int = 40, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array(
        [shapely.LineString(rng.random((k, 2)) * 100) for k in rng.integers(2, 7, n)],
        dtype=object,
    )


def _same(a: object, b: object) -> bool:
    return bool(shapely.equals_exact(a, b, tolerance=0.0)) and (
        shapely.to_wkb(a) == shapely.to_wkb(b)
    )


INDICES = [
    slice(None),
    slice(3, 11),
    slice(None, None, 3),
    slice(11, 3),
    slice(-5, None),
    np.array([5, 2, 2, 39, 0]),
    np.arange(40) % 3 == 0,
    np.array([], dtype=np.int64),
]


@pytest.mark.parametrize("index", INDICES, ids=range(len(INDICES)))
def test_indexing_gives_the_very_lines_of_the_object_array(index: object) -> None:
    geoms = _lines()
    flat = EdgeLines.from_geometry(geoms)
    assert flat.objects is None  # 2-D LineStrings: kept flat
    got, want = flat[index], geoms[index]
    assert len(got) == len(want)
    assert all(_same(a, b) for a, b in zip(got, want, strict=True))
    part = flat.take(index)
    coords, owner = part.coordinates()
    ref_coords, ref_owner = shapely.get_coordinates(want, return_index=True)
    assert np.array_equal(coords, ref_coords) and np.array_equal(owner, ref_owner)
    assert np.array_equal(part.num_coordinates(), shapely.get_num_coordinates(want))


def test_single_lines_ends_array_and_bounds() -> None:
    geoms = _lines()
    flat = EdgeLines.from_geometry(geoms)
    assert _same(flat[0], geoms[0]) and _same(flat[-1], geoms[-1])
    assert _same(flat[np.int64(7)], geoms[7])
    with pytest.raises(IndexError):
        flat[40]
    start, end = flat.ends()
    assert np.array_equal(start, shapely.get_coordinates(shapely.get_point(geoms, 0)))
    assert np.array_equal(end, shapely.get_coordinates(shapely.get_point(geoms, -1)))
    every = np.asarray(flat)
    assert every.dtype == object and all(_same(a, b) for a, b in zip(every, geoms, strict=True))
    assert len(shapely.STRtree(flat).geometries) == 40
    back = pickle.loads(pickle.dumps(flat))
    assert np.array_equal(back.coords, flat.coords) and np.array_equal(back.offsets, flat.offsets)


def test_concat_is_the_lines_one_after_the_other() -> None:
    geoms = _lines()
    flat = EdgeLines.from_geometry(geoms)
    joined = EdgeLines.concat([flat.take(slice(0, 17)), flat.take(slice(17, 40))])
    assert np.array_equal(joined.coords, flat.coords)
    assert np.array_equal(joined.offsets, flat.offsets)


@pytest.mark.parametrize(
    "odd",
    [
        shapely.LineString([(0, 0, 5), (1, 1, 6)]),  # Z kept: the objects themselves
        shapely.from_wkt("LINESTRING M (0 0 1, 1 1 2)"),
        shapely.from_wkt("LINESTRING EMPTY"),
        None,
        shapely.Point(1, 1),
    ],
    ids=["z", "m", "empty", "missing", "point"],
)
def test_lines_that_do_not_fit_flat_stay_objects(odd: object) -> None:
    geoms = np.array([shapely.LineString([(0, 0), (2, 0)]), odd], dtype=object)
    lines = EdgeLines.from_geometry(geoms)
    assert lines.objects is not None
    assert lines[1] is odd
    assert np.asarray(lines)[1] is odd


def test_network_keeps_flat_lines_and_locates_as_on_the_objects() -> None:
    geoms = _lines(60, seed=9)
    net = build_network(gpd.GeoDataFrame(geometry=geoms, crs="EPSG:32650"))
    assert net.geometry.objects is None
    assert all(_same(a, b) for a, b in zip(net.geometry, geoms, strict=True))
    assert np.array_equal(net.length, shapely.length(geoms))
    # The same network given its lines as an object array: the same locations, bit for bit.
    same = Network(
        x=net.x,
        y=net.y,
        u=net.u,
        v=net.v,
        length=net.length,
        geometry=EdgeLines(objects=geoms),
        node_device_us=net.node_device_us,
        component=net.component,
    )
    rng = np.random.default_rng(1)
    px, py = rng.random(500) * 100, rng.random(500) * 100
    a = Locator(net).locate(px, py, max_drop_m=1e9)
    b = Locator(same).locate(px, py, max_drop_m=1e9)
    assert np.array_equal(a.edge, b.edge)
    assert np.array_equal(a.drop, b.drop) and np.array_equal(a.t, b.t)
    assert np.array_equal(a.tie_edge, b.tie_edge)
    keep = np.arange(net.n_edges) % 2 == 1
    sub = net.subset(keep)
    assert all(_same(x, y) for x, y in zip(sub.geometry, geoms[keep], strict=True))
