"""The bad-input catalogue, continued: issue 22 §4 and issue 26 §6, for every command.

Like tests/test_bad_inputs.py, each case breaks one thing in the tiny city (or the fibre test
city of tests/test_fibre.py) and checks one line naming the file, the field and the problem,
exit code 2, and nothing written (a failed write leaves the previous outputs as they were);
here a case also says which command it runs (``run``, ``plan``, ``tiers``) with which options.
The table "More bad inputs" in docs/bad-inputs.md lists the same cases word for word (run this
file as a script to print it afresh). Warnings (not refusals) are tested below the table.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import X0, Y0, _write_tiny_city, to_lonlat
from test_fibre import write_city, write_ofds_geojson, write_ofds_json

from latcircle.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad-inputs.md"
UTM50 = "EPSG:32650"

#: What a case does before the run: (the tiny city's folder, pytest's monkeypatch) -> the
#: arguments after ``latcircle`` ("OUT" stands for the output folder).
Breaks = Callable[[Path, pytest.MonkeyPatch], list[str]]


@dataclass(frozen=True)
class Case:
    """One bad input: what to break and run, which file the message names, what it says."""

    id: str
    what: str
    breaks: Breaks
    names: str
    says: str


def _run(*args: str) -> Breaks:
    """Run the tiny city's config (``CFG``) with these arguments, as is."""
    return lambda folder, _mp: [a.replace("CFG", str(folder / "tiny.yaml")) for a in args]


def _yaml(old: str, new: str, *args: str) -> Breaks:
    def apply(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
        config = folder / "tiny.yaml"
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace(old, new) if old else text + new, encoding="utf-8")
        return [a.replace("CFG", str(config)) for a in args]

    return apply


def _roads_with(coords: list[tuple[float, float]]) -> Breaks:
    """The tiny city's roads plus one more line (feature 137 of the file)."""

    def apply(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
        with warnings.catch_warnings():  # shapely warns of the NaN: the point of the case
            warnings.simplefilter("ignore", RuntimeWarning)
            extra = shapely.LineString(coords)
        roads = gpd.read_file(folder / "roads.gpkg")
        more = gpd.GeoDataFrame({"highway": ["x"]}, geometry=[extra], crs=roads.crs)
        pd.concat([roads, more]).to_file(folder / "roads.gpkg", driver="GPKG")
        return ["run", str(folder / "tiny.yaml"), "--out", "OUT"]

    return apply


def _uv_loop(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
    """Ids on every road; feature 6 (a 1 km road) says u = v."""
    roads = gpd.read_file(folder / "roads.gpkg")
    roads["u"], roads["v"] = np.arange(len(roads)), np.arange(1, len(roads) + 1)
    roads.loc[5, "v"] = roads.loc[5, "u"]
    roads.to_file(folder / "roads.gpkg", driver="GPKG")
    return ["run", str(folder / "tiny.yaml"), "--out", "OUT"]


def _uv_far(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
    """Ids from the roads' own endpoints; feature 6's v then names feature 1's start node."""
    roads = gpd.read_file(folder / "roads.gpkg")
    geoms = roads.geometry.to_numpy()
    ends = np.concatenate([shapely.get_coordinates(shapely.get_point(geoms, i)) for i in (0, -1)])
    _, node = np.unique(ends, axis=0, return_inverse=True)
    roads["u"], roads["v"] = node.ravel()[: len(roads)], node.ravel()[len(roads) :]
    roads.loc[5, "v"] = roads.loc[0, "u"]
    roads.to_file(folder / "roads.gpkg", driver="GPKG")
    return ["run", str(folder / "tiny.yaml"), "--out", "OUT"]


def _districts_null(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
    districts = gpd.read_file(folder / "districts.gpkg")
    districts.loc[1, "name"] = None
    districts.to_file(folder / "districts.gpkg", driver="GPKG")
    return ["run", str(folder / "tiny.yaml"), "--out", "OUT"]


def _table_without_shapes(name: str) -> Breaks:
    """Replace the tiny city's ``name`` GeoPackage by a table of the same rows, no shapes."""

    def apply(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
        path = folder / name
        rows = pd.DataFrame(gpd.read_file(path).drop(columns="geometry"))
        path.unlink()
        pyogrio.write_dataframe(rows, path, layer=path.stem)
        return ["run", str(folder / "tiny.yaml"), "--out", "OUT"]

    return apply


def _one_cross(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
    """Two long roads that cross without a shared node: no junction at all."""
    lines = [
        shapely.LineString([(X0, Y0 + 5000), (X0 + 6000, Y0 + 5000)]),
        shapely.LineString([(X0 + 3000, Y0), (X0 + 3000, Y0 + 10_000)]),
    ]
    gpd.GeoDataFrame({"highway": ["x", "x"]}, geometry=lines, crs=UTM50).to_file(
        folder / "roads.gpkg", driver="GPKG"
    )
    return ["plan", str(folder / "tiny.yaml"), "--out", "OUT"]


def _candidates(cost: str) -> Breaks:
    def apply(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
        lon, lat = to_lonlat(X0 + 2000.0, Y0 + 2000.0)
        (folder / "cands.csv").write_text(
            f"id,name,tier,cost,device_latency_us,lon,lat\nC1,c,medium,{cost},20,{lon},{lat}\n",
            encoding="utf-8",
        )
        return [
            "plan",
            str(folder / "tiny.yaml"),
            "--candidates",
            str(folder / "cands.csv"),
            "--out",
            "OUT",
        ]

    return apply


def _backbone_csv(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
    (folder / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    return ["tiers", "--backbone", str(folder / "x.csv"), "--out", "OUT"]


def _backbone_huge(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
    """25,001 separate links: 50,002 nodes, two over the limit (written as GeoJSON text)."""
    k = np.arange(25_001)
    lon, lat = 80.0 + (k % 500) * 0.08, 20.0 + (k // 500) * 0.4
    feats = [
        f'{{"type":"Feature","properties":{{}},"geometry":{{"type":"LineString",'
        f'"coordinates":[[{a:.4f},{b:.4f}],[{a + 0.01:.4f},{b + 0.01:.4f}]]}}}}'
        for a, b in zip(lon, lat, strict=True)
    ]
    (folder / "huge.geojson").write_text(
        '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}", encoding="utf-8"
    )
    return ["tiers", "--backbone", str(folder / "huge.geojson"), "--out", "OUT"]


def _fibre(edit: Callable[[dict | list], object], *, geojson: bool = False, **kw: str) -> Breaks:
    """The fibre test city (OFDS), its network edited as JSON."""

    def apply(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
        fibre = folder.parent / "fibre"
        fibre.mkdir()
        if geojson:
            path = write_ofds_geojson(fibre / "spans.geojson")
        else:
            path = write_ofds_json(fibre / "network.json", device={"KOF": 30.0})
        data = json.loads(path.read_text(encoding="utf-8"))
        result = edit(data)
        path.write_text(result if isinstance(result, str) else json.dumps(data), "utf-8")
        return ["run", str(write_city(fibre / "city", path, **kw)), "--out", "OUT"]

    return apply


def _text(edit: Callable[[str], str]) -> Callable[[dict | list], str]:
    return lambda data: edit(json.dumps(data))


def _span(i: int, key: str, value: object) -> Callable[[dict | list], None]:
    return lambda data: data["networks"][0]["spans"][i].__setitem__(key, value)  # type: ignore[index,call-overload]


def _node_location(data: dict | list, node_id: str, value: object) -> None:
    """Set the ``location.coordinates`` of OFDS node ``node_id`` to ``value``."""
    nodes = data["networks"][0]["nodes"]  # type: ignore[call-overload,index]
    next(n for n in nodes if n["id"] == node_id)["location"]["coordinates"] = value


def _csv_row(name: str, row: int, edit: Callable[[str], str]) -> Breaks:
    def apply(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        lines[row] = edit(lines[row])
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        return ["run", str(folder / "tiny.yaml"), "--out", "OUT"]

    return apply


def _boundary(geom: shapely.Geometry, crs: str) -> Breaks:
    def apply(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
        gpd.GeoDataFrame({"name": ["B"]}, geometry=[geom], crs=crs).to_file(
            folder / "boundary.gpkg", driver="GPKG"
        )
        return ["run", str(folder / "tiny.yaml"), "--out", "OUT"]

    return apply


def _folder_as_file(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
    (folder / "adir.gpkg").mkdir()
    return _yaml("boundary: boundary.gpkg", "boundary: adir.gpkg", "run", "CFG", "--out", "OUT")(
        folder, _mp
    )


def _disk_full(folder: Path, mp: pytest.MonkeyPatch) -> list[str]:
    """A first run writes outputs; during the second the GeoPackage writer finds no room."""
    out = folder.parent / "out"
    assert main(["-q", "run", str(folder / "tiny.yaml"), "--out", str(out)]) == 0
    real = gpd.GeoDataFrame.to_file

    def full(self: gpd.GeoDataFrame, path: object, *args: object, **kw: object) -> None:
        if str(path).endswith("isochrones.gpkg"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(self, path, *args, **kw)

    mp.setattr(gpd.GeoDataFrame, "to_file", full)
    return ["run", str(folder / "tiny.yaml"), "--out", "OUT", "--year", "2030"]


#: Targets the tiny city's population meets in 2028 (70 %) but not in 2027 (75 %).
_FAILS_2027 = (
    "targets: [{year: 2027, share: 0.75, basis: population}, "
    "{year: 2028, share: 0.70, basis: population}]\n"
)


def _parquet_not_utf8(name: str, column: str, row: int, raw: bytes) -> Breaks:
    """The tiny city's ``name`` layer as GeoParquet, row ``row`` of ``column`` not UTF-8.

    pyarrow writes (and reads) the bytes unchecked, as another tool's file may hold them.
    """

    def apply(folder: Path, _mp: pytest.MonkeyPatch) -> list[str]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / f"{name}.parquet"
        gpd.read_file(folder / f"{name}.gpkg").to_parquet(path)
        table = pq.read_table(path)
        texts = [str(v).encode("utf-8") for v in table.column(column).to_pylist()]
        texts[row - 1] = raw
        offsets = np.cumsum([0, *map(len, texts)]).astype(np.int32)
        buffers = [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(texts))]
        bad = pa.Array.from_buffers(pa.string(), len(texts), buffers)
        table = table.set_column(table.schema.get_field_index(column), column, bad)
        geo = table.schema.metadata[b"geo"]  # the pandas metadata would name the old type
        pq.write_table(table.replace_schema_metadata({b"geo": geo}), path)
        config = folder / "tiny.yaml"
        text = config.read_text(encoding="utf-8").replace(f"{name}.gpkg", f"{name}.parquet")
        config.write_text(text, encoding="utf-8")
        return ["run", str(config), "--out", "OUT"]

    return apply


CASES = [
    # --- issue 22 §4: readers
    Case(
        "network-coordinate-nan",
        "a network line with a NaN coordinate",
        _roads_with([(X0, Y0), (np.nan, Y0 + 5)]),
        "roads.gpkg",
        "geometry: network feature 137 has a coordinate that is not a finite number",
    ),
    Case(
        "network-coordinate-inf",
        "a network line with an infinite coordinate",
        _roads_with([(X0, Y0), (np.inf, Y0 + 5)]),
        "roads.gpkg",
        "geometry: network feature 137 has a coordinate that is not a finite number",
    ),
    Case(
        "network-coordinate-1e300",
        "a network line with a coordinate of 1e300 m",
        _roads_with([(X0, Y0), (1e300, Y0 + 5)]),
        "roads.gpkg",
        "network feature 137 has a coordinate (1e+300, 3.38e+06) beyond 40,075,017 m",
    ),
    Case(
        "network-text-not-utf8",
        "a GeoParquet network whose highway text is not UTF-8",
        _parquet_not_utf8("roads", "highway", 3, b"resid\xffential"),
        "roads.parquet",
        "highway: row 3 is not UTF-8 text: b'resid\\xffential'",
    ),
    Case(
        "districts-name-not-utf8",
        "a GeoParquet district whose name is not UTF-8",
        _parquet_not_utf8("districts", "name", 2, b"East \xe6\xad"),
        "districts.parquet",
        "name: row 2 is not UTF-8 text: b'East \\xe6\\xad'",
    ),
    Case(
        "districts-name-null",
        "a district whose name is NULL",
        _districts_null,
        "districts.gpkg",
        "name: districts feature 2 has no name (NULL or blank)",
    ),
    Case(
        "boundary-no-geometry",
        "a boundary GeoPackage that is a table without shapes",
        _table_without_shapes("boundary.gpkg"),
        "boundary.gpkg",
        "boundary: the layer has no geometry (a table without shapes)",
    ),
    Case(
        "districts-no-geometry",
        "a districts GeoPackage that is a table without shapes",
        _table_without_shapes("districts.gpkg"),
        "districts.gpkg",
        "districts: the layer has no geometry (a table without shapes)",
    ),
    Case(
        "crs-other-body",
        "a CRS on another celestial body (+proj=longlat +a=1)",
        _yaml(
            "sites: {path: sites.csv,",
            "sites: {path: sites.csv, crs: '+proj=longlat +a=1',",
            "run",
            "CFG",
            "--out",
            "OUT",
        ),
        "sites.csv",
        "crs: CRS '+proj=longlat +a=1' is not on the Earth",
    ),
    Case(
        "disk-full-gpkg",
        "a full disk while the GeoPackage is written (the old outputs stay)",
        _disk_full,
        "isochrones.gpkg",
        "cannot write (disk full: No space left on device); previous outputs intact",
    ),
    Case(
        "add-site-far",
        "--add-site 2,700 km outside the metro",
        _run("run", "CFG", "--out", "OUT", "--add-site", "100,10"),
        "--add-site",
        "site 1 (100,10) lies 2,706 km outside the metro's extent",
    ),
    # --- issue 22 §4 and issue 26 §6: the planner
    Case(
        "plan-year-1999",
        "a target year before any data",
        _run("plan", "CFG", "--out", "OUT", "--target", "0.7", "--year", "1999"),
        "tiny.yaml",
        "--year: Input should be greater than or equal to 2000 (got 1999)",
    ),
    Case(
        "plan-no-junction",
        "automatic candidates on roads that cross without a junction",
        _one_cross,
        "roads.gpkg",
        "plan.candidates: the network has no junction",
    ),
    Case(
        "plan-spacing-tiny",
        "plan.auto_spacing_m of 1e-300",
        _yaml("", "plan: {auto_spacing_m: 1.0e-300}\n", "plan", "CFG", "--out", "OUT"),
        "tiny.yaml",
        "plan.auto_spacing_m: Input should be greater than or equal to 10 (got 1e-300)",
    ),
    Case(
        "plan-tile-tiny",
        "plan.access_tile_m of 1e-300",
        _yaml("", "plan: {access_tile_m: 1.0e-300}\n", "plan", "CFG", "--out", "OUT"),
        "tiny.yaml",
        "plan.access_tile_m: Input should be greater than or equal to 10 (got 1e-300)",
    ),
    Case(
        "plan-cost-overflow",
        "a site cost of 1e308 (sums overflow)",
        _yaml("", "plan: {site_cost: 1.0e+308}\n", "plan", "CFG", "--out", "OUT"),
        "tiny.yaml",
        "plan.site_cost: Input should be less than or equal to 1000000000000 (got 1e+308)",
    ),
    Case(
        "candidates-cost-overflow",
        "a candidate's cost of 1e308",
        _candidates("1e308"),
        "cands.csv",
        "cost: must be a number >= 0 and <= 1e+12, got '1e308' in row 1",
    ),
    Case(
        "plan-max-cost-negative",
        "--max-cost -5",
        _run("plan", "CFG", "--out", "OUT", "--max-cost", "-5"),
        "tiny.yaml",
        "--max-cost: must be a finite number >= 0, got -5",
    ),
    Case(
        "plan-max-cost-nan",
        "--max-cost nan",
        _run("plan", "CFG", "--out", "OUT", "--max-cost", "nan"),
        "tiny.yaml",
        "--max-cost: must be a finite number >= 0, got nan",
    ),
    Case(
        "plan-max-sites-negative",
        "--max-sites -1",
        _run("plan", "CFG", "--out", "OUT", "--max-sites", "-1"),
        "tiny.yaml",
        "--max-sites: must be a whole number >= 0, got -1",
    ),
    Case(
        "plan-max-sites-0-names-2027",
        "--max-sites 0 where 2027 fails and 2028 would not",
        _yaml("", _FAILS_2027, "plan", "CFG", "--out", "OUT", "--max-sites", "0"),
        "tiny.yaml",
        "the 2027 target fails: best population share by 2027 70.00% (0 builds) against 75.0%",
    ),
    Case(
        "plan-max-cost-1-names-2027",
        "--max-cost 1 where 2027 fails and 2028 would not",
        _yaml("", _FAILS_2027, "plan", "CFG", "--out", "OUT", "--max-cost", "1"),
        "tiny.yaml",
        "the 2027 target fails: best population share by 2027 70.00% (0 builds) against 75.0%",
    ),
    Case(
        "plan-spurs-off",
        "an unreachable target with fibre spurs off: the message does not offer spurs",
        _yaml(
            "",
            "plan: {access: false}\n",
            "plan",
            "CFG",
            "--out",
            "OUT",
            "--target",
            "0.9",
            "--year",
            "2027",
            "--basis",
            "population",
        ),
        "tiny.yaml",
        "30.00% has no access (fibre spurs are off: plan.access is false)",
    ),
    Case(
        "plan-candidates-folder",
        "--candidates naming a folder",
        lambda folder, _mp: (
            ["plan", str(folder / "tiny.yaml"), "--candidates", str(folder), "--out", "OUT"]
        ),
        "tiny.yaml",
        "--candidates: a folder, not a file",
    ),
    # --- issue 22 §4: tiers
    Case(
        "tiers-backbone-csv",
        "a CSV table (no geometry) as the backbone",
        _backbone_csv,
        "x.csv",
        "geometry: no geometry: expected a GraphML backbone or a line file",
    ),
    Case(
        "tiers-backbone-huge",
        "a backbone of 50,002 nodes (the limit is 50,000)",
        _backbone_huge,
        "huge.geojson",
        "nodes: 50,002 nodes, over the limit of 50,000",
    ),
    Case(
        "tiers-backbone-folder",
        "a folder as the backbone",
        lambda folder, _mp: ["tiers", "--backbone", str(folder), "--out", "OUT"],
        "tiny",
        "a folder, not a file",
    ),
    # --- issue 22 §4: OFDS
    Case(
        "ofds-deep-nesting",
        "OFDS JSON nested 100,000 levels deep",
        _fibre(lambda d: '{"networks": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "network.json",
        "cannot read the OFDS file: nested too deeply",
    ),
    Case(
        "ofds-coordinate-nan",
        "an OFDS route with a NaN coordinate",
        _fibre(_text(lambda t: t.replace("-0.21,", "NaN,", 1))),
        "network.json",
        "networks[0].spans[0].route.coordinates[1]: not a finite number: nan",
    ),
    Case(
        "ofds-node-location-nan",
        "an OFDS node drawn into a span without a route, its location NaN (found by the fuzzer)",
        _fibre(lambda data: _node_location(data, "CCT", float("nan"))),
        "network.json",
        "node 'CCT': location.coordinates: must be [longitude, latitude], got a number",
    ),
    Case(
        "ofds-route-type-empty",
        "an OFDS GeoJSON span whose geometry type is empty (found by the fuzzer)",
        _fibre(lambda d: d["features"][0]["geometry"].__setitem__("type", ""), geojson=True),  # type: ignore[call-overload,index]
        "spans.geojson",
        "features[0].geometry.type: not a GeoJSON geometry type: ''",
    ),
    Case(
        "ofds-route-one-position",
        "an OFDS route that is a line of one position",
        _fibre(_span(0, "route", {"type": "LineString", "coordinates": [[-0.19, 5.61]]})),
        "network.json",
        "networks[0].spans[0].route.coordinates: a line needs two positions or more, got one",
    ),
    Case(
        "ofds-coordinate-1e400",
        "an OFDS route with a coordinate of 1e400",
        _fibre(_text(lambda t: t.replace("-0.21,", "1e400,", 1))),
        "network.json",
        "networks[0].spans[0].route.coordinates[1]: not a finite number: inf",
    ),
    Case(
        "ofds-coordinate-string",
        "an OFDS route with a coordinate as a string",
        _fibre(_text(lambda t: t.replace("-0.21,", '"-0.21",', 1))),
        "network.json",
        "networks[0].spans[0].route.coordinates[1]: not a number: '-0.21'",
    ),
    Case(
        "ofds-span-not-object",
        "an OFDS span that is a list, not an object",
        _fibre(lambda d: d["networks"][0]["spans"].__setitem__(1, [1, 2])),  # type: ignore[call-overload,index]
        "network.json",
        "networks[0].spans[1]: must be an object, got a list",
    ),
    Case(
        "ofds-top-level-list",
        "an OFDS file whose top level is a list",
        _fibre(lambda d: "[" + json.dumps(d) + "]"),
        "network.json",
        "not an OFDS network: the top level is a list, not an object",
    ),
    Case(
        "ofds-duplicate-node-id",
        "two OFDS nodes with one id",
        _fibre(lambda d: d["networks"][0]["nodes"].append(dict(d["networks"][0]["nodes"][0]))),  # type: ignore[call-overload,index]
        "network.json",
        "networks[0].nodes[6].id: duplicate node id 'ACC' (networks[0].nodes[0])",
    ),
    Case(
        "ofds-boolean-latency",
        "an OFDS node latency of true (not 1 µs)",
        _fibre(
            lambda d: d["networks"][0]["nodes"][5].__setitem__("deviceLatency_us", True),  # type: ignore[call-overload,index]
            network_yaml=", node_latency_field: deviceLatency_us",
        ),
        "network.json",
        "deviceLatency_us: node 'KOF': not a number: True",
    ),
    Case(
        "ofds-bad-ready-date",
        "an OFDS ready-for-service date in the year 1000",
        _fibre(_span(5, "readyForServiceDate", "1000-01-01")),
        "network.json",
        "networks[0].spans[5].readyForServiceDate: year 1000 is not from 1990 to 2100",
    ),
    Case(
        "ofds-bad-ready-date-geojson",
        "an OFDS GeoJSON span's date that is not a date (named by its feature)",
        _fibre(
            lambda d: d["features"][5]["properties"].__setitem__("readyForServiceDate", "soon"),  # type: ignore[call-overload,index]
            geojson=True,
        ),
        "spans.geojson",
        "features[5].properties.readyForServiceDate: not a date (YYYY-MM-DD): 'soon'",
    ),
    # --- the hidden suite's kinds
    Case(
        "yaml-duplicate-key",
        "a key given twice in the YAML (PyYAML keeps the last silently)",
        _yaml("", "grid: {cell_m: 500}\n", "run", "CFG", "--out", "OUT"),
        "tiny.yaml",
        "grid: duplicate key on line 11 (first on line 10)",
    ),
    Case(
        "empty-path",
        "an empty path string",
        _yaml("boundary: boundary.gpkg", 'boundary: ""', "run", "CFG", "--out", "OUT"),
        "tiny.yaml",
        "boundary: empty path: name the file",
    ),
    Case(
        "folder-as-file",
        "a folder where a file is expected",
        _folder_as_file,
        "tiny.yaml",
        "boundary.path: a folder, not a file",
    ),
    Case(
        "csv-row-too-long",
        "a CSV row with more fields than the header",
        _csv_row("sites.csv", 1, lambda r: r + ",extra,more"),
        "sites.csv",
        "row 1: 9 field(s) where the header has 7",
    ),
    Case(
        "csv-row-too-short",
        "a CSV row with fewer fields than the header",
        _csv_row("key_sites.csv", 2, lambda r: ",".join(r.split(",")[:2])),
        "key_sites.csv",
        "row 2: 2 field(s) where the header has 4",
    ),
    Case(
        "uv-contradict-geometry",
        "a road whose u and v ids are one node while its ends lie 1 km apart",
        _uv_loop,
        "roads.gpkg",
        "u: feature 6 has u = v = 5 but its ends lie 1,000 m apart",
    ),
    Case(
        "uv-id-far-from-end",
        "a road whose v id names a node kilometres from where the road ends",
        _uv_far,
        "roads.gpkg",
        "v: 1 line end(s) lie over 1 m (an assumed tolerance) from the node their id names",
    ),
    Case(
        "boundary-polar",
        "a boundary near the North Pole (no UTM zone)",
        _boundary(shapely.box(10, 85, 20, 89), "EPSG:4326"),
        "boundary.gpkg",
        "geometry: no UTM zone holds the metro's centroid (15.0000, 87.0000)",
    ),
    Case(
        "boundary-sliver",
        "a 3,000 km sliver as the boundary",
        _boundary(shapely.box(X0, Y0, X0 + 3_000_000, Y0 + 10), UTM50),
        "boundary.gpkg",
        "geometry: the boundary spans 2,929 km by 314 km, over the 1,000 km a metro may span",
    ),
]


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def _shorten(line: str, root: Path) -> str:
    """The message as the docs table shows it: temporary paths cut, markdown-safe."""
    for sub in ("tiny", "fibre/city", "fibre", "out"):
        line = line.replace(str(root / sub) + "/", "").replace(str(root / sub), sub)
    return line.replace("`", "'").replace("|", "\\|")


def _row(case: Case, line: str) -> str:
    return f"| `{case.id}` | {case.what} | `{line}` |"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_more(
    case: Case, tiny_city: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = case.breaks(tiny_city.parent, monkeypatch)
    capsys.readouterr()
    out = tmp_path / "out"
    before = _snapshot(tmp_path)
    code = main([a.replace("OUT", str(out)) for a in args])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("latcircle: error: ")
    assert case.names in lines[0] and case.says in lines[0], lines[0]
    assert _snapshot(tmp_path) == before  # nothing written, nothing removed
    row = _row(case, _shorten(lines[0], tmp_path))
    assert row in DOC.read_text(encoding="utf-8").splitlines(), row


def markdown_table() -> str:
    """Return the docs table: run every case and record its message."""
    import tempfile

    rows = ["| case | what is wrong | message (file path shortened) |", "|---|---|---|"]
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
            root = Path(tmp)
            city = _write_tiny_city(root / "tiny")
            args = case.breaks(city.parent, mp)
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                main([a.replace("OUT", str(root / "out")) for a in args])
            rows.append(_row(case, _shorten(err.getvalue().strip(), root)))
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())


# --------------------------------------------------------------------------- not refusals


def _flat(text: str) -> str:
    """Rich wraps lines at the console's width: compare words, not line breaks."""
    return " ".join(text.split())


@pytest.mark.parametrize(
    "flags",
    [
        ["--max-cost", "-5"],
        ["--max-cost", "nan"],
        ["--max-cost", "inf"],
        ["--max-sites", "-1"],
        ["--target", "0.7", "--year", "1999"],
        ["--target", "0.7"],
    ],
    ids=["cost-negative", "cost-nan", "cost-inf", "sites-negative", "year-1999", "no-year"],
)
def test_plan_flags_are_checked_before_the_city_is_read(
    flags: list[str], tiny_city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import latcircle.pipeline.plan as pipeline  # where plan_city looks prepare up

    def read(*_a: object, **_k: object) -> None:
        raise AssertionError("the city was read before the options were checked")

    monkeypatch.setattr(pipeline, "prepare", read)
    assert main(["plan", str(tiny_city), "--out", str(tmp_path / "p"), *flags]) == 2
    assert capsys.readouterr().err.startswith("latcircle: error: ")
    assert not (tmp_path / "p").exists()


def test_plan_above_target_says_nothing_to_build(tiny_city: Path, tmp_path: Path, capsys) -> None:
    """The tiny city covers 3 of its 4 key sites (75 %: 'far east' has no access) by hand."""
    out = tmp_path / "plan"
    assert main(["plan", str(tiny_city), "--out", str(out)]) == 0
    said = (
        "nothing to build: 2027 and 2028 already met on key_sites (2027: 75.00% against "
        "70.0%; 2028: 75.00% against 75.0%)"
    )
    assert said in _flat(capsys.readouterr().out)
    assert said in json.loads((out / "plan.json").read_text(encoding="utf-8"))["notes"]
    assert len(pd.read_csv(out / "plan.csv")) == 0  # an empty plan, written all the same


def test_plan_warns_on_a_target_year_in_the_past(tiny_city: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "plan"
    args = ["plan", str(tiny_city), "--out", str(out), "--target", "0.5", "--year", "2020"]
    assert main(args) == 0
    said = (
        "target year 2020 is in the past (plans are made in 2026) and before the first compute "
        "site comes online (2024): no site counts; the plan shows what that year would have "
        "needed"
    )
    assert said in _flat(capsys.readouterr().err)
    assert said in json.loads((out / "plan.json").read_text(encoding="utf-8"))["notes"]


def test_plan_year_warnings_at_the_boundaries(tiny_city: Path) -> None:
    """At PLAN_NOW_YEAR and at the first site's year: no warning; one year before: one."""
    from latcircle.analysis.metro import prepare
    from latcircle.analysis.plan import Goal
    from latcircle.analysis.plan.checks import PLAN_NOW_YEAR, year_warnings
    from latcircle.config import load_config

    metro = prepare(load_config(tiny_city))  # sites online 2024 and 2027
    at = [Goal(PLAN_NOW_YEAR, 0.7, "key_sites"), Goal(2024, 0.7, "key_sites")]
    assert year_warnings(metro, [at[0]]) == []
    assert year_warnings(metro, [at[1]], now_year=2024) == []
    assert len(year_warnings(metro, [Goal(PLAN_NOW_YEAR - 1, 0.7, "key_sites")])) == 1
    assert (
        "before the first compute site"
        in year_warnings(metro, [Goal(2023, 0.7, "key_sites")], now_year=2000)[0]
    )


@pytest.mark.parametrize(("beyond_m", "refused"), [(-0.01, False), (0.01, True)])
def test_add_site_at_the_extent_plus_the_max_drop(
    beyond_m: float, refused: bool, tiny_city: Path
) -> None:
    """The tiny city's extent is its 10 km square; the max drop is 1,000 m (by hand)."""
    from latcircle.analysis.metro import prepare
    from latcircle.analysis.plan import add_sites
    from latcircle.config import load_config
    from latcircle.errors import InputError

    metro = prepare(load_config(tiny_city))
    lon, lat = to_lonlat(X0 + 10_000 + 1000 + beyond_m, Y0 + 5000)
    if refused:
        with pytest.raises(InputError, match="outside the metro's extent"):
            add_sites(metro, [(float(lon), float(lat), "edge")])
    else:
        assert len(add_sites(metro, [(float(lon), float(lat), "edge")]).inputs.sites) == 3


def test_sites_file_far_away_is_warned_with_a_count(tiny_city: Path, tmp_path: Path) -> None:
    """The documented choice: a far site in a sites file is counted and named, not refused."""
    sites = tiny_city.parent / "sites.csv"
    sites.write_text(sites.read_text("utf-8") + "F,far,large,2024,20,100,10\n", "utf-8")
    out = tmp_path / "out"
    assert main(["-q", "run", str(tiny_city), "--out", str(out), "--no-map"]) == 0
    notes = json.loads((out / "run.json").read_text("utf-8"))["notes"]
    assert "sites: 1 site(s) outside the metro kept (they may still serve it): F" in notes
    assert any(n.startswith("sites: 1 site(s) beyond the 1000 m max drop") for n in notes)


def test_gdal_failure_on_a_full_disk_says_disk_full(
    tiny_city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """GDAL's own words for a full disk; the probe beside the file finds no room."""
    import tempfile

    import pyogrio.errors

    import latcircle.output.files as files

    out = tmp_path / "out"
    assert main(["-q", "run", str(tiny_city), "--out", str(out), "--no-map"]) == 0
    before = _snapshot(tmp_path)

    def commit(*_a: object, **_k: object) -> None:
        raise pyogrio.errors.DataSourceError("Failed to commit transaction")

    def no_room(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", commit)
    monkeypatch.setattr(tempfile, "TemporaryFile", no_room)
    assert main(["run", str(tiny_city), "--out", str(out), "--no-map"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"latcircle: error: {out / 'isochrones.gpkg'}: cannot write (disk full: "
        "No space left on device); previous outputs intact"
    )
    assert _snapshot(tmp_path) == before
    assert files.PROBE_BYTES == 1 << 20


def test_gdal_failure_with_room_left_is_a_bug(
    tiny_city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Room left (the probe writes): the library's error is not bad input but exit 1."""
    import pyogrio.errors

    def commit(*_a: object, **_k: object) -> None:
        raise pyogrio.errors.DataSourceError("Failed to commit transaction")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", commit)
    assert main(["run", str(tiny_city), "--out", str(tmp_path / "out"), "--no-map"]) == 1
    assert "internal error: DataSourceError" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_docs_list_every_case() -> None:
    text = DOC.read_text(encoding="utf-8")
    for case in CASES:
        assert f"`{case.id}`" in text, f"docs/bad-inputs.md lacks {case.id}"


def test_far_candidates_are_warned_with_a_count(tiny_city: Path, tmp_path: Path, capsys) -> None:
    """Like a sites file, a candidates file's far sites are counted and named, not refused."""
    lon, lat = to_lonlat(X0 + 2000.0, Y0 + 2000.0)
    cands = tiny_city.parent / "cands.csv"
    cands.write_text(
        "id,name,tier,cost,device_latency_us,lon,lat\n"
        f"C1,near,medium,3,20,{lon},{lat}\nF,far,medium,3,20,100,10\n",
        encoding="utf-8",
    )
    out = tmp_path / "plan"
    assert main(["plan", str(tiny_city), "--candidates", str(cands), "--out", str(out)]) == 0
    said = (
        "plan.candidates: 1 of 2 candidate(s) lie outside the metro's extent plus the 1000 m "
        "max drop and can gain nothing: F"
    )
    assert said in _flat(capsys.readouterr().err)
    assert said in json.loads((out / "plan.json").read_text(encoding="utf-8"))["notes"]
