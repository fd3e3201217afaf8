"""The catalogue of bad inputs: each is one clear line, exit code 2, and nothing written.

Every case starts from the tiny city (tests/conftest.py), breaks one thing, and runs
``latcircle run``. The table in docs/bad-inputs.md lists the same cases; a test keeps the two
in step (run this file as a script to print the table afresh).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from latcircle.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad-inputs.md"


@dataclass(frozen=True)
class Case:
    """One bad input: what to break, which file the message names, and what it says."""

    id: str
    what: str
    breaks: Callable[[Path], Path]  # folder of the tiny city -> config to run
    names: str  # a file name the message must contain
    says: str  # text the message must contain
    out: str = "out"  # the --out folder, beside the city's folder


def _yaml(edit: Callable[[str], str]) -> Callable[[Path], Path]:
    def apply(folder: Path) -> Path:
        bad = folder / "bad.yaml"
        bad.write_text(edit((folder / "tiny.yaml").read_text(encoding="utf-8")), encoding="utf-8")
        return bad

    return apply


def _file(name: str, content: str | bytes) -> Callable[[Path], Path]:
    def apply(folder: Path) -> Path:
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
        return folder / "tiny.yaml"

    return apply


def _gpkg(name: str, frame: Callable[[], gpd.GeoDataFrame], **kw: object) -> Callable[[Path], Path]:
    def apply(folder: Path) -> Path:
        (folder / name).unlink(missing_ok=True)
        frame().to_file(folder / name, driver="GPKG", **kw)
        return folder / "tiny.yaml"

    return apply


def _population(values: np.ndarray, *, x0: float = 230_000.0) -> Callable[[Path], Path]:
    def apply(folder: Path) -> Path:
        with rasterio.open(
            folder / "population.tif",
            "w",
            driver="GTiff",
            width=values.shape[1],
            height=values.shape[0],
            count=1,
            dtype="float32",
            crs="EPSG:32650",
            transform=Affine(500.0, 0, x0, 0, -500.0, 3_390_000.0),
        ) as dst:
            dst.write(values.astype("float32"), 1)
        return folder / "tiny.yaml"

    return apply


def _no_crs_shapefile(folder: Path) -> Path:
    shp = folder / "boundary_nocrs.shp"
    with warnings.catch_warnings():  # the missing CRS is the point of this fixture
        warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
        gpd.GeoDataFrame(geometry=[shapely.box(230_000, 3_380_000, 240_000, 3_390_000)]).to_file(
            shp
        )
    return _yaml(lambda t: t.replace("boundary: boundary.gpkg", "boundary: boundary_nocrs.shp"))(
        folder
    )


def _utm(geoms: list[shapely.Geometry], **cols: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:32650")


SITES_HEAD = "id,name,tier,online_year,device_latency_us,lon,lat\n"
ON_ROAD = "114.2,30.53"  # a lon/lat inside the tiny city, near its roads


def _bomb(key: str, depth: int) -> Callable[[Path], Path]:
    """An alias bomb: ten aliases per level, ``depth`` levels deep, as the value of ``key``."""

    def apply(folder: Path) -> Path:
        anchors = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in range(1, depth):
            anchors.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
        kept = [
            line
            for line in (folder / "tiny.yaml").read_text(encoding="utf-8").splitlines()
            if not line.startswith(f"{key}:")
        ]
        bad = folder / "bad.yaml"
        bad.write_text("\n".join([*anchors, *kept, f"{key}: *a{depth - 1}"]) + "\n", "utf-8")
        return bad

    return apply


def _sites_rows(rows: list[str]) -> Callable[[Path], Path]:
    return _file("sites.csv", SITES_HEAD + "".join(r + "\n" for r in rows))


def _with_weights(weights: list[str]) -> Callable[[Path], Path]:
    def apply(folder: Path) -> Path:
        ks = folder / "key_sites.csv"
        lines = ks.read_text(encoding="utf-8").splitlines()
        lines = [lines[0] + ",weight"] + [
            f"{r},{w}" for r, w in zip(lines[1:], weights, strict=True)
        ]
        ks.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return _yaml(
            lambda t: t.replace(
                "category_field: category}", "category_field: category, weight_field: weight}"
            )
        )(folder)

    return apply


def _topology_zoo(folder: Path) -> Path:
    """A GraphML as the Internet Topology Zoo writes it: Latitude/Longitude, no x/y."""
    (folder / "zoo.graphml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
        '<key attr.name="Latitude" attr.type="double" for="node" id="d0"/>\n'
        '<key attr.name="Longitude" attr.type="double" for="node" id="d1"/>\n'
        '<graph edgedefault="undirected">\n'
        '<node id="0"><data key="d0">30.5</data><data key="d1">114.2</data></node>\n'
        '<node id="1"><data key="d0">30.6</data><data key="d1">114.3</data></node>\n'
        '<edge source="0" target="1"/>\n</graph></graphml>\n',
        encoding="utf-8",
    )
    return _yaml(
        lambda t: t.replace(
            "network: {path: roads.gpkg, kind: road}", "network: {path: zoo.graphml, kind: fibre}"
        )
    )(folder)


def _huge_yaml(folder: Path) -> Path:
    big = folder / "huge.yaml"
    with big.open("wb") as fh:  # sparse: 60 MB on paper, nothing on disk
        fh.truncate(60_000_000)
    return big


def _fifo(folder: Path) -> Path:
    fifo = folder / "fifo.yaml"
    os.mkfifo(fifo)
    return fifo


def _many_large_sites(n: int) -> Callable[[Path], Path]:
    return _sites_rows([f"S{i},s{i},large,2024,20,{ON_ROAD}" for i in range(n)])


def _not_latcircles(folder: Path) -> Path:
    mine = folder.parent / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work\n", encoding="utf-8")
    return folder / "tiny.yaml"


CASES = [
    # --- the config file
    Case(
        "yaml-typo-key",
        "a misspelt key",
        _yaml(lambda t: t.replace("grid:", "gird:")),
        "bad.yaml",
        "gird: unknown key (did you mean 'grid'?)",
    ),
    Case(
        "yaml-not-mapping",
        "a YAML file that is a list, not a mapping",
        _yaml(lambda t: "- just\n- a list\n"),
        "bad.yaml",
        "expected a mapping of keys, got list",
    ),
    Case(
        "yaml-syntax",
        "broken YAML",
        _yaml(lambda t: t.replace("name: Tiny", "name: [Tiny")),
        "bad.yaml",
        "not valid YAML",
    ),
    Case(
        "missing-key",
        "a required key left out",
        _yaml(lambda t: t.replace("network: {path: roads.gpkg, kind: road}\n", "")),
        "bad.yaml",
        "network: required key is missing",
    ),
    Case(
        "wrong-type",
        "a number where a list is expected",
        _yaml(lambda t: t + "thresholds_ms: 1.0\n"),
        "bad.yaml",
        "thresholds_ms: Input should be a valid list",
    ),
    Case(
        "bad-network-kind",
        "network kind not road or fibre",
        _yaml(lambda t: t.replace("kind: road", "kind: copper")),
        "bad.yaml",
        "network.kind",
    ),
    Case(
        "missing-file",
        "an input file that does not exist",
        _yaml(lambda t: t.replace("boundary: boundary.gpkg", "boundary: nowhere.gpkg")),
        "bad.yaml",
        "boundary.path: file not found",
    ),
    Case(
        "zero-threshold",
        "a threshold of 0",
        _yaml(lambda t: t + "thresholds_ms: [0, 1.0]\n"),
        "bad.yaml",
        "thresholds_ms.0",
    ),
    Case(
        "negative-threshold",
        "a negative threshold",
        _yaml(lambda t: t + "thresholds_ms: [0.5, -1, 1.0]\n"),
        "bad.yaml",
        "thresholds_ms.1",
    ),
    Case(
        "budget-not-threshold",
        "a budget that is not one of the thresholds",
        _yaml(lambda t: t + "budget_ms: 2.0\n"),
        "bad.yaml",
        "budget_ms 2.0 must be one of",
    ),
    Case(
        "unknown-preset",
        "an unknown latency preset",
        _yaml(lambda t: t + "model: {preset: warp}\n"),
        "bad.yaml",
        "model.preset",
    ),
    Case(
        "negative-parameter",
        "a negative equipment latency",
        _yaml(lambda t: t + "model: {equipment_us: -5}\n"),
        "bad.yaml",
        "model.equipment_us",
    ),
    Case(
        "route-factor-below-1",
        "a route factor below 1 (cable shorter than the route)",
        _yaml(lambda t: t + "model: {route_factor: 0.8}\n"),
        "bad.yaml",
        "model.route_factor",
    ),
    Case(
        "id-escapes-folder",
        "a city id with ../ that would escape outputs/",
        _yaml(lambda t: t.replace("id: tiny", "id: ../../etc")),
        "bad.yaml",
        "id: String should match pattern",
    ),
    Case(
        "grid-too-large",
        "a grid that would exhaust memory",
        _yaml(lambda t: t.replace("grid: {cell_m: 250}", "grid: {cell_m: 1}")),
        "bad.yaml",
        "100,020,001 cells (about 9.0 GB of working memory), over the limit",
    ),
    Case(
        "unknown-crs",
        "a CRS nobody knows",
        _yaml(
            lambda t: t.replace("sites: {path: sites.csv,", "sites: {path: sites.csv, crs: mars2,")
        ),
        "sites.csv",
        "crs: unknown CRS 'mars2'",
    ),
    # --- vector files
    Case(
        "unreadable-file",
        "a boundary file that is not a GeoPackage",
        _file("boundary.gpkg", b"\x00garbage" * 100),
        "boundary.gpkg",
        "cannot read boundary file",
    ),
    Case(
        "empty-layer",
        "a boundary layer with no features",
        _gpkg("boundary.gpkg", lambda: _utm([], name=[])),
        "boundary.gpkg",
        "no features in the file",
    ),
    Case(
        "no-crs",
        "a boundary shapefile without .prj",
        _no_crs_shapefile,
        "boundary_nocrs.shp",
        "the file has no CRS",
    ),
    Case(
        "boundary-is-line",
        "a boundary drawn as a line",
        _gpkg(
            "boundary.gpkg",
            lambda: _utm([shapely.LineString([(230_000, 3_380_000), (240_000, 3_390_000)])]),
        ),
        "boundary.gpkg",
        "boundary must be polygons, got ['LineString']",
    ),
    Case(
        "network-no-edges",
        "a network layer with no features",
        _gpkg("roads.gpkg", lambda: _utm([], highway=[])),
        "roads.gpkg",
        "no features in the file",
    ),
    Case(
        "network-points",
        "a network of points, not lines",
        _gpkg("roads.gpkg", lambda: _utm([shapely.Point(230_000, 3_380_000)])),
        "roads.gpkg",
        "network must be lines, got ['Point']",
    ),
    Case(
        "districts-no-name-field",
        "districts without the configured name field",
        _gpkg(
            "districts.gpkg",
            lambda: _utm([shapely.box(230_000, 3_380_000, 235_000, 3_390_000)], label=["W"]),
        ),
        "districts.gpkg",
        "name: no such field",
    ),
    # --- point files
    Case(
        "duplicate-site-id",
        "two sites with one id",
        _file(
            "sites.csv", SITES_HEAD + f"A,a,large,2024,20,{ON_ROAD}\nA,b,large,2024,20,{ON_ROAD}\n"
        ),
        "sites.csv",
        "id: duplicate site id 'A'",
    ),
    Case(
        "non-numeric-device",
        "a device latency that is not a number",
        _file("sites.csv", SITES_HEAD + f"A,a,large,2024,fast,{ON_ROAD}\n"),
        "sites.csv",
        "device_latency_us: must be a number >= 0, got 'fast'",
    ),
    Case(
        "negative-device",
        "a negative device latency",
        _file("sites.csv", SITES_HEAD + f"A,a,large,2024,-3,{ON_ROAD}\n"),
        "sites.csv",
        "device_latency_us: must be a number >= 0, got '-3'",
    ),
    Case(
        "bad-year",
        "an online year that is not a year",
        _file("sites.csv", SITES_HEAD + f"A,a,large,soon,20,{ON_ROAD}\n"),
        "sites.csv",
        "online_year: not a year in row 1: 'soon'",
    ),
    Case(
        "bad-coordinate",
        "a coordinate that is not a number",
        _file("sites.csv", SITES_HEAD + "A,a,large,2024,20,north,30.53\n"),
        "sites.csv",
        "lon: not a number in row 1",
    ),
    Case(
        "no-coordinate-column",
        "a CSV without the configured lon column",
        _file("sites.csv", "id,x_coord,y_coord\nA,114.2,30.53\n"),
        "sites.csv",
        "lon: no such column (lon)",
    ),
    Case(
        "lat-lon-swapped",
        "latitude and longitude swapped",
        _file("sites.csv", SITES_HEAD + "A,a,large,2024,20,30.53,114.2\n"),
        "sites.csv",
        "not longitude/latitude",
    ),
    Case(
        "empty-csv",
        "a sites file with a header only",
        _file("sites.csv", SITES_HEAD),
        "sites.csv",
        "no features in the file",
    ),
    Case(
        "sites-off-network",
        "every site farther than the max drop from the network",
        _file("sites.csv", SITES_HEAD + "A,a,large,2024,20,114.6,30.9\n"),
        "sites.csv",
        "no compute site lies within 1000 m (max drop) of the network",
    ),
    Case(
        "key-sites-outside",
        "every key site outside the metro",
        _file("key_sites.csv", "name,category,lon,lat\nfar,campus,115.5,31.5\n"),
        "key_sites.csv",
        "no key site lies inside the metro boundary",
    ),
    Case(
        "wrong-delimiter",
        "a CSV whose delimiter is not , ; tab or pipe",
        _file(
            "key_sites.csv", "name category lon lat\nx campus 114.2 30.53\ny campus 114.21 30.53\n"
        ),
        "key_sites.csv",
        "cannot tell the CSV delimiter",
    ),
    Case(
        "undecodable-csv",
        "a CSV in neither UTF-8 nor GBK",
        _file("key_sites.csv", b"name,category,lon,lat\n\x81\x20,campus,114.2,30.53\n"),
        "key_sites.csv",
        "neither UTF-8 nor GBK/GB18030",
    ),
    # --- the population raster
    Case(
        "population-no-overlap",
        "a population raster far from the metro",
        _population(np.ones((4, 4)), x0=800_000.0),
        "population.tif",
        "does not overlap the metro",
    ),
    Case(
        "population-negative",
        "negative people counts",
        _population(np.full((20, 20), -5.0)),
        "population.tif",
        "negative people count",
    ),
    Case(
        "population-nan",
        "NaN people counts without a nodata value",
        _population(np.full((20, 20), np.nan)),
        "population.tif",
        "are NaN without nodata",
    ),
    # --- issue 11: non-finite and absurd values, hostile files, memory, outputs
    Case(
        "budget-infinite",
        "an infinite budget (would count places without access as covered)",
        _yaml(lambda t: t + "budget_ms: .inf\n"),
        "bad.yaml",
        "budget_ms: Input should be a finite number",
    ),
    Case(
        "threshold-nan",
        "a NaN threshold",
        _yaml(lambda t: t + "thresholds_ms: [.nan, 1.0]\n"),
        "bad.yaml",
        "thresholds_ms.0: Input should be a finite number",
    ),
    Case(
        "parameter-infinite",
        "an infinite model parameter",
        _yaml(lambda t: t + "model: {k_us_per_km: .inf}\n"),
        "bad.yaml",
        "model.k_us_per_km: Input should be a finite number",
    ),
    Case(
        "target-share-nan",
        "a NaN target share",
        _yaml(lambda t: t + "targets: [{year: 2027, share: .nan}]\n"),
        "bad.yaml",
        "targets.0.share: Input should be a finite number",
    ),
    Case(
        "threshold-absurd",
        "a threshold of 1e300 ms",
        _yaml(lambda t: t + "thresholds_ms: [1.0, 1.0e+300]\n"),
        "bad.yaml",
        "thresholds_ms.1: Input should be less than or equal to 100000",
    ),
    Case(
        "too-many-thresholds",
        "tens of thousands of thresholds",
        _yaml(
            lambda t: (
                t
                + "thresholds_ms: ["
                + ", ".join(f"{1 + i / 1000:g}" for i in range(20_000))
                + "]\n"
            )
        ),
        "bad.yaml",
        "YAML holds more than 20,000 values",
    ),
    Case(
        "thresholds-over-64",
        "a hundred thresholds (at most 64)",
        _yaml(
            lambda t: (
                t + "thresholds_ms: [" + ", ".join(f"{1 + i / 1000:g}" for i in range(100)) + "]\n"
            )
        ),
        "bad.yaml",
        "thresholds_ms: List should have at most 64 items",
    ),
    Case(
        "cell-degenerate",
        "a degenerate grid cell (1e-300 m)",
        _yaml(lambda t: t.replace("grid: {cell_m: 250}", "grid: {cell_m: 1.0e-300}")),
        "bad.yaml",
        "grid.cell_m: Input should be greater than or equal to 1",
    ),
    Case(
        "lone-surrogate",
        "a lone surrogate in a string (no UTF-8 file can hold it)",
        _yaml(lambda t: t.replace("name: Tiny test city (synthetic)", 'name: "x \\ud800 y"')),
        "bad.yaml",
        "name: lone surrogate U+D800",
    ),
    Case(
        "nul-in-path",
        "a NUL character in an input path",
        _yaml(lambda t: t.replace("boundary: boundary.gpkg", 'boundary: "bound\\0ary.gpkg"')),
        "bad.yaml",
        "boundary: a NUL character in a path",
    ),
    Case(
        "path-too-long",
        "an input path over the OS limit",
        _yaml(lambda t: t.replace("boundary: boundary.gpkg", f"boundary: {'x' * 5000}.gpkg")),
        "bad.yaml",
        "boundary.path: unusable path: File name too long",
    ),
    Case(
        "yaml-deeply-nested",
        "YAML nested 5,000 levels deep",
        _yaml(lambda t: t + "notes: " + "[" * 5000 + "]" * 5000 + "\n"),
        "bad.yaml",
        "YAML nested more than 64 levels deep",
    ),
    Case(
        "yaml-huge",
        "a 60 MB config",
        _huge_yaml,
        "huge.yaml",
        "60,000,000 bytes: too large for a city config (at most 1,000,000)",
    ),
    Case(
        "config-fifo",
        "a config that is a FIFO (reading would block)",
        _fifo,
        "fifo.yaml",
        "not a regular file",
    ),
    Case(
        "config-dev-zero",
        "/dev/zero as the config (endless)",
        lambda folder: Path("/dev/zero"),
        "/dev/zero",
        "not a regular file",
    ),
    Case(
        "alias-bomb-string",
        "a YAML alias bomb where a string is expected",
        _bomb("name", 8),
        "bad.yaml",
        "YAML holds more than 20,000 values",
    ),
    Case(
        "alias-bomb-list",
        "a YAML alias bomb where a list is expected",
        _bomb("thresholds_ms", 7),
        "bad.yaml",
        "YAML holds more than 20,000 values",
    ),
    Case(
        "coordinate-nan",
        "a NaN coordinate",
        _sites_rows(["A,a,large,2024,20,nan,30.53"]),
        "sites.csv",
        "lon: not a number in row 1: 'nan'",
    ),
    Case(
        "coordinate-inf",
        "an infinite coordinate",
        _sites_rows(["A,a,large,2024,20,114.2,inf"]),
        "sites.csv",
        "lat: not a number in row 1: 'inf'",
    ),
    Case(
        "coordinate-1e300",
        "a coordinate of 1e300",
        _sites_rows(["A,a,large,2024,20,1e300,30.53"]),
        "sites.csv",
        "sites coordinates are not longitude/latitude degrees (bounds 1e+300",
    ),
    Case(
        "weights-all-zero",
        "key-site weights that are all 0 (no share exists)",
        _with_weights(["0", "0", "0", "0"]),
        "key_sites.csv",
        "weight: the key-site weights add up to 0",
    ),
    Case(
        "weights-overflow",
        "key-site weights that overflow when summed (NaN shares)",
        _with_weights(["1e308", "1e308", "1e308", "1"]),
        "key_sites.csv",
        "weight: the key-site weights add up past the largest number a float holds",
    ),
    Case(
        "population-all-nodata",
        "a population raster with no people over the metro",
        _population(np.zeros((20, 20))),
        "population.tif",
        "population: the people counts over the metro add up to 0",
    ),
    Case(
        "graphml-topology-zoo",
        "a Topology Zoo GraphML (Latitude/Longitude, no x/y)",
        _topology_zoo,
        "zoo.graphml",
        "cannot read as an osmnx GraphML (nodes with x and y, edges, a crs graph attribute)",
    ),
    Case(
        "population-unknown-crs",
        "an unknown CRS declared on the population raster (found by the config fuzzer)",
        _yaml(
            lambda t: t.replace(
                "population: {path: population.tif}",
                "population: {path: population.tif, crs: mars2}",
            )
        ),
        "population.tif",
        "crs: unknown CRS 'mars2'",
    ),
    Case(
        "boundary-wrong-crs",
        "a wrong crs declared on the boundary (blamed on the boundary, not the key sites)",
        _yaml(
            lambda t: t.replace(
                "boundary: boundary.gpkg", "boundary: {path: boundary.gpkg, crs: 'EPSG:3857'}"
            )
        ),
        "boundary.gpkg",
        "crs: the boundary does not overlap the network (roads.gpkg) at all",
    ),
    Case(
        "interconnect-too-large",
        # One site over the limit (4,096 fit: test_interconnect_limit_is_exactly_4096_sites);
        # each site costs its own failure run before the check (0.7 ms of CPU).
        "4,097 large sites: an interconnect table too large for memory",
        _many_large_sites(4097),
        "sites.csv",
        "tier: 4,097 sites of tiers large, medium make 8,390,656 interconnect pairs",
    ),
    Case(
        "out-not-latcircles",
        "--out naming a folder latcircle did not write (it would be replaced whole)",
        _not_latcircles,
        "mine",
        "output folder exists and was not written by latcircle",
        out="mine",
    ),
]


def test_interconnect_limit_is_exactly_4096_sites() -> None:
    """128 bytes a pair, 2 GiB: 4,096 sites fit exactly (4096² x 128 = 2³¹), 4,097 do not."""
    from latcircle.analysis.interconnect import _check_pair_memory
    from latcircle.errors import InputError

    _check_pair_memory(4096, Path("sites.csv"), ["large"])  # exactly at the limit: accepted
    with pytest.raises(InputError, match="4,097 sites of tiers large make 8,390,656 "):
        _check_pair_memory(4097, Path("sites.csv"), ["large"])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tiny_city: Path, tmp_path: Path, capsys) -> None:
    config = case.breaks(tiny_city.parent)
    out = tmp_path / case.out
    before = _snapshot(tmp_path)
    code = main(["run", str(config), "--out", str(out)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("latcircle: error: ")
    assert case.names in lines[0] and case.says in lines[0], lines[0]
    assert _snapshot(tmp_path) == before  # nothing written, nothing removed
    # The catalogue shows this very message (not just the case's name).
    row = f"| `{case.id}` | {case.what} | `{_shorten(lines[0], tiny_city.parent, out)}` |"
    assert row in DOC.read_text(encoding="utf-8").splitlines(), row


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def _shorten(line: str, city: Path, out: Path) -> str:
    """The message as the docs table shows it: paths relative, markdown-safe."""
    line = line.replace(str(city) + "/", "").replace(str(out), out.name)
    return line.replace("`", "'").replace("|", "\\|")


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_docs_table_lists_every_case() -> None:
    text = DOC.read_text(encoding="utf-8")
    for case in CASES:
        assert f"`{case.id}`" in text, f"docs/bad-inputs.md lacks {case.id}"


def test_self_intersecting_boundary_is_repaired_and_reported(
    tiny_city: Path, tmp_path: Path
) -> None:
    bowtie = shapely.Polygon(
        [(230_000, 3_380_000), (240_000, 3_390_000), (240_000, 3_380_000), (230_000, 3_390_000)]
    )
    assert not bowtie.is_valid
    _gpkg("boundary.gpkg", lambda: _utm([bowtie]))(tiny_city.parent)
    assert main(["-q", "run", str(tiny_city), "--out", str(tmp_path / "out")]) == 0
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert any("repaired" in note for note in run["notes"])
    # The repaired bow-tie is two triangles: half the square.
    assert run["grid"]["cells_inside"] == pytest.approx(0.5 * 40 * 40, rel=0.05)


def test_semicolon_csv_is_read(tiny_city: Path, tmp_path: Path) -> None:
    ks = tiny_city.parent / "key_sites.csv"
    ks.write_text(ks.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    assert main(["-q", "run", str(tiny_city), "--out", str(tmp_path / "out")]) == 0


def test_gbk_csv_is_read(tiny_city: Path, tmp_path: Path) -> None:
    ks = tiny_city.parent / "key_sites.csv"
    ks.write_bytes(ks.read_text(encoding="utf-8").replace("on road west", "武汉大学").encode("gbk"))
    assert main(["-q", "run", str(tiny_city), "--out", str(tmp_path / "out")]) == 0
    names = set(gpd.read_file(tmp_path / "out" / "isochrones.gpkg", layer="key_sites")["name"])
    assert "武汉大学" in names


def test_some_key_sites_outside_are_counted_not_silent(tiny_city: Path, tmp_path: Path) -> None:
    ks = tiny_city.parent / "key_sites.csv"
    ks.write_text(ks.read_text(encoding="utf-8") + "far away,campus,115.5,31.5\n", encoding="utf-8")
    assert main(["-q", "run", str(tiny_city), "--out", str(tmp_path / "out")]) == 0
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert "key_sites: 1 of 5 outside the metro ignored" in run["notes"]


def markdown_table() -> str:
    """Return the docs table: run every case and record its message."""
    import tempfile

    from tests.conftest import _write_tiny_city

    rows = ["| case | what is wrong | message (file path shortened) |", "|---|---|---|"]
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            config = case.breaks(_write_tiny_city(folder / "tiny").parent)
            import contextlib
            import io

            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                main(["run", str(config), "--out", str(folder / case.out)])
            line = _shorten(err.getvalue().strip(), folder / "tiny", folder / case.out)
            rows.append(f"| `{case.id}` | {case.what} | `{line}` |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())


def test_a_bug_while_reading_is_not_bad_input(
    tiny_city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Only reader errors mean a bad file: a bug under a reader exits 1, not 2."""

    def broken(*_args: object, **_kw: object) -> None:
        raise TypeError("a bug, not a bad file")

    monkeypatch.setattr(gpd, "read_file", broken)
    assert main(["-q", "run", str(tiny_city), "--out", str(tmp_path / "out")]) == 1
    assert "internal error: TypeError: a bug, not a bad file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- latcircle tiers and LEO (docs/bad-inputs.md, "latcircle tiers and LEO") ----------------


@dataclass(frozen=True)
class TiersCase:
    """A bad input to ``latcircle tiers`` (or a city's LEO gateways): argv built in a folder."""

    id: str
    what: str
    argv: Callable[[Path], list[str]]  # folder -> the command (without --out)
    names: str
    says: str


_ZOO = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
    '{keys}<graph edgedefault="undirected">\n{nodes}'
    '<edge source="0" target="1"/><edge source="1" target="2"/>\n</graph></graphml>\n'
)


def _national(folder: Path, *, coords: bool = True, leo_model: str = "", gw: str = "") -> Path:
    """A three-node backbone on the equator, one hub, two places and a tiers config."""
    keys = (
        '<key attr.name="Latitude" attr.type="double" for="node" id="d0"/>\n'
        '<key attr.name="Longitude" attr.type="double" for="node" id="d1"/>\n'
        if coords
        else ""
    )
    nodes = "".join(
        f'<node id="{i}"><data key="d0">0.0</data><data key="d1">{i}.0</data></node>\n'
        if coords
        else f'<node id="{i}"/>\n'
        for i in range(3)
    )
    (folder / "zoo.graphml").write_text(_ZOO.format(keys=keys, nodes=nodes), encoding="utf-8")
    (folder / "hubs.csv").write_text("id,name,kind,lon,lat\nh,H,hub,0,0\n", encoding="utf-8")
    (folder / "places.csv").write_text("name,lon,lat\nnear,1,0.5\nfar,2,6\n", encoding="utf-8")
    text = "name: t\nbackbone: [zoo.graphml]\nhubs: hubs.csv\ncities: places.csv\n"
    if gw:
        (folder / "gw.csv").write_text(f"id,lon,lat\n{gw}\n", encoding="utf-8")
        text += "gateways: gw.csv\n"
    if leo_model:
        text += f"leo_model: {leo_model}\n"
    (folder / "tiers.yaml").write_text(text, encoding="utf-8")
    return folder / "tiers.yaml"


_MODEL = (
    "{{name: m, altitude_km: {h}, min_elevation_deg: {e}, processing_ms: {p}, handover_ms: 0.5}}"
)


def _model(h: float = 550, e: float = 25, p: float = 1.0) -> str:
    return _MODEL.format(h=h, e=e, p=p)


def _tiers_config(**kw: str | bool) -> Callable[[Path], list[str]]:
    def argv(folder: Path) -> list[str]:
        return ["tiers", "--config", str(_national(folder, **kw))]  # type: ignore[arg-type]

    return argv


def _city_far_gateway(folder: Path) -> list[str]:
    from tests.conftest import _write_tiny_city

    (folder / "gw.csv").write_text("id,lon,lat\nfar,175.0,-40.0\n", encoding="utf-8")
    cfg = _write_tiny_city(folder / "tiny", extra_yaml=f"tiers: {{gateways: {folder}/gw.csv}}\n")
    return ["run", str(cfg)]


TIERS_CASES = [
    TiersCase(
        "tiers-gateway-outside-footprint",
        "a LEO gateway no place could use (outside every footprint)",
        _tiers_config(gw="moon,60.0,0.0"),
        "gw.csv",
        "gateway moon at 0.0000 N 60.0000 E is outside the LEO 550 km footprint (1,881 km) of "
        "every place",
    ),
    TiersCase(
        "city-gateway-outside-footprint",
        "a city's LEO gateway on the other side of the Earth",
        _city_far_gateway,
        "gw.csv",
        "outside the LEO 550 km footprint (1,881 km)",
    ),
    TiersCase(
        "leo-elevation-zero",
        "a LEO minimum elevation of 0°",
        _tiers_config(leo_model=_model(e=0)),
        "tiers.yaml",
        "leo_model: LEO min_elevation_deg must be in (0, 90), not 0",
    ),
    TiersCase(
        "leo-elevation-ninety",
        "a LEO minimum elevation of 90°",
        _tiers_config(leo_model=_model(e=90)),
        "tiers.yaml",
        "leo_model: LEO min_elevation_deg must be in (0, 90), not 90",
    ),
    TiersCase(
        "leo-altitude-low",
        "a LEO shell at 150 km (below 160 km nothing stays in orbit)",
        _tiers_config(leo_model=_model(h=150)),
        "tiers.yaml",
        "leo_model: LEO altitude_km must be within 160-2000 km, not 150",
    ),
    TiersCase(
        "leo-negative-latency",
        "a negative LEO processing latency",
        _tiers_config(leo_model=_model(p=-1)),
        "tiers.yaml",
        "leo_model: LEO processing_ms must be finite and >= 0, not -1",
    ),
    TiersCase(
        "leo-negative-measured",
        "a negative measured LEO median",
        _tiers_config(
            leo_model=_model()[:-1] + ", measured: {name: x, p50_ms: -3, published: [], "
            "source: s, date: d}}"
        ),
        "tiers.yaml",
        "leo_model: measured LEO latency x: latencies must be finite and >= 0",
    ),
    TiersCase(
        "backbone-without-coordinates",
        "a backbone GraphML whose nodes carry no coordinates",
        _tiers_config(coords=False),
        "zoo.graphml",
        "Latitude/Longitude: no node carries coordinates",
    ),
]


@pytest.mark.parametrize("case", TIERS_CASES, ids=[c.id for c in TIERS_CASES])
def test_bad_tiers_input(case: TiersCase, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    argv = case.argv(folder)
    out = tmp_path / "out"
    before = _snapshot(tmp_path)
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("latcircle: error: ")
    assert case.names in lines[0] and case.says in lines[0], lines[0]
    assert _snapshot(tmp_path) == before  # nothing written
    row = f"| `{case.id}` | {case.what} | `{_shorten_tiers(lines[0], folder)}` |"
    assert row in DOC.read_text(encoding="utf-8").splitlines(), row


def _shorten_tiers(line: str, folder: Path) -> str:
    line = line.replace(str(folder / "tiny") + "/", "").replace(str(folder) + "/", "")
    return line.replace("`", "'").replace("|", "\\|")


def tiers_markdown_table() -> str:
    """Return the docs table of the tiers cases (run each and record its message)."""
    import contextlib
    import io
    import tempfile

    rows = ["| case | what is wrong | message (file path shortened) |", "|---|---|---|"]
    for case in TIERS_CASES:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "in"
            folder.mkdir()
            argv = case.argv(folder)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                main([*argv, "--out", str(Path(tmp) / "out")])
            line = _shorten_tiers(err.getvalue().strip(), folder)
            rows.append(f"| `{case.id}` | {case.what} | `{line}` |")
    return "\n".join(rows)
