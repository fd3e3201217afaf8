"""Line ends off the node their u/v id names: joined and counted within 1 m, refused beyond.

Every expected value is worked out by hand from the lines below (nodes on a plain cross of
100 m arms), never read back from the code under test.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from latcircle.engine.network import ID_END_TOLERANCE_M, build_network
from latcircle.errors import InputError

UTM50 = "EPSG:32650"


def _cross(west_start_x: float) -> gpd.GeoDataFrame:
    """Node 1 at the origin; arms to nodes 2 (east), 3 (north) and 4 (west).

    The east and north arms start exactly at the origin, so node 1 sits there (two of its
    three lines end there). The west arm names node 1 too but starts at
    ``(west_start_x, 0)``: its gap to node 1 is ``|west_start_x|`` metres.
    """
    geoms = [
        shapely.LineString([(0.0, 0.0), (100.0, 0.0)]),
        shapely.LineString([(0.0, 0.0), (0.0, 100.0)]),
        shapely.LineString([(west_start_x, 0.0), (-100.0, 0.0)]),
    ]
    return gpd.GeoDataFrame({"u": [1, 1, 1], "v": [2, 3, 4]}, geometry=geoms, crs=UTM50)


def test_the_tolerance_is_one_metre() -> None:
    assert ID_END_TOLERANCE_M == 1.0  # the documented assumption (docs/networks.md)


def test_exact_ends_count_nothing() -> None:
    net = build_network(_cross(0.0))
    assert (net.stats["id_ends_joined"], net.stats["id_end_gap_max_m"]) == (0.0, 0.0)
    assert net.n_nodes == 4


def test_an_end_exactly_at_the_tolerance_is_joined_and_counted() -> None:
    net = build_network(_cross(-1.0))  # 1 m west of node 1: exactly the tolerance
    assert net.stats["id_ends_joined"] == 1.0
    assert net.stats["id_end_gap_max_m"] == 1.0
    assert net.n_nodes == 4  # no node of its own: joined to node 1
    origin = int(np.flatnonzero((net.x == 0.0) & (net.y == 0.0))[0])
    west = int(np.flatnonzero(net.x == -100.0)[0])
    # The west arm joins node 1 (at the origin) to node 4; its length stays its own 99 m.
    assert {int(net.u[2]), int(net.v[2])} == {origin, west}
    assert net.length[2] == 99.0
    assert net.stats["components"] == 1.0


def test_an_end_just_beyond_the_tolerance_is_refused() -> None:
    beyond = float(np.nextafter(-1.0, -2.0))  # one float step past 1 m
    with pytest.raises(InputError) as err:
        build_network(_cross(beyond), source="roads.gpkg")
    msg = str(err.value)
    assert msg.startswith("roads.gpkg: u: 1 line end(s) lie over 1 m"), msg
    assert "row 2 (u = 1)" in msg, msg
    assert "\n" not in msg


def test_an_id_naming_a_node_kilometres_away_is_refused() -> None:
    # A 1 km square with corners 1-4 and a spur from corner 1 south to node 5; the square's
    # last line (row 3) says v = 1 but ends at (0, 3000), 3 km from (0, 0), where node 1's
    # other two lines (rows 0 and 4) both start: the vote puts node 1 there.
    corners = [(0.0, 0.0), (1000.0, 0.0), (1000.0, 1000.0), (0.0, 1000.0)]
    geoms = [shapely.LineString([corners[i], corners[i + 1]]) for i in range(3)]
    geoms.append(shapely.LineString([(0.0, 1000.0), (0.0, 3000.0)]))
    geoms.append(shapely.LineString([(0.0, 0.0), (0.0, -1000.0)]))
    lines = gpd.GeoDataFrame(
        {"u": [1, 2, 3, 4, 1], "v": [2, 3, 4, 1, 5]}, geometry=geoms, crs=UTM50
    )
    with pytest.raises(InputError) as err:
        build_network(lines, source="roads.gpkg")
    msg = str(err.value)
    assert msg.startswith("roads.gpkg: v: 1 line end(s) lie over 1 m"), msg
    assert "the farthest 3,000 m: row 3 (v = 1)" in msg, msg


def test_text_ids_are_named_as_text() -> None:
    lines = _cross(-5.0)
    lines["u"], lines["v"] = ["a", "a", "a"], ["b", "c", "d"]
    with pytest.raises(InputError, match=r"the farthest 5 m: row 2 \(u = 'a'\)"):
        build_network(lines, source="roads.gpkg")


def test_lines_missing_an_id_are_not_checked_against_the_ids() -> None:
    # The west arm lacks its u: it takes both nodes from its endpoints (counted apart as
    # ids_from_endpoints), so its start 5 m off node 1 is a node of its own, not a repair.
    lines = _cross(-5.0)
    lines["u"] = [1.0, 1.0, np.nan]
    net = build_network(lines)
    assert net.stats["ids_from_endpoints"] == 1.0
    assert net.stats["id_ends_joined"] == 0.0
    assert net.n_nodes == 5


def test_a_run_counts_and_notes_the_joined_end(tiny_city, tmp_path, capsys) -> None:
    # The tiny city's roads with ids from their own endpoints, then one road's first point
    # moved 0.5 m east (its id unchanged): exactly one end lies 0.5 m off its node.
    import json

    from latcircle.cli import main

    folder = tiny_city.parent
    roads = gpd.read_file(folder / "roads.gpkg")
    geoms = roads.geometry.to_numpy()
    ends = np.concatenate([shapely.get_coordinates(shapely.get_point(geoms, i)) for i in (0, -1)])
    _, node = np.unique(ends, axis=0, return_inverse=True)
    roads["u"], roads["v"] = node.ravel()[: len(roads)], node.ravel()[len(roads) :]
    coords = shapely.get_coordinates(geoms[5]).copy()
    coords[0, 0] += 0.5
    roads.loc[5, "geometry"] = shapely.LineString(coords)
    roads.to_file(folder / "roads.gpkg", driver="GPKG")
    out = tmp_path / "out"
    assert main(["run", str(tiny_city), "--out", str(out), "--no-map", "--no-report"]) == 0
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["network"]["id_ends_joined"] == 1.0
    assert run["network"]["id_end_gap_max_m"] == pytest.approx(0.5, abs=1e-6)
    note = "network: 1 line end(s) off the node their u/v id names joined to it (largest gap 0.5 m"
    assert any(n.startswith(note) for n in run["notes"]), run["notes"]
    assert note in " ".join(capsys.readouterr().err.split())  # the log line too


def test_the_report_lists_the_joined_ends() -> None:
    from latcircle.present.report import _network_rows

    rows = dict(map(tuple, _network_rows(build_network(_cross(-0.5)).stats)))
    assert rows["line ends off their id's node, joined (largest gap 0.5 m)"] == "1"
    # None joined: no row (the count is in run.json either way).
    assert not any(
        "id's node" in k for k in dict(map(tuple, _network_rows(build_network(_cross(0.0)).stats)))
    )
