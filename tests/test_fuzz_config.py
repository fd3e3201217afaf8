"""A config fuzzer: random mutations of the tiny city's config (issue 11).

Hypothesis sets, replaces or deletes up to three keys of a valid config (numbers of every
size and sign, inf and NaN, hostile and random text, lists, mappings, nothing) and runs
``latcircle run``. Every outcome must be one of two:

* exit 0, with the complete outputs in the output folder;
* exit 2, with exactly one line on stderr, and nothing written (no output folder, no
  temporary folder).

Never exit 1 (an internal error), never a hang (an alarm fails the example after 60 s).
Bounded: 25 examples, no deadline per example, no example database; about half a minute.
"""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import _write_tiny_city
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from latcircle.cli import main

#: Keys the fuzzer touches: those of the tiny city and the optional ones around them.
KEYS = [
    ("id",),
    ("name",),
    ("notes",),
    ("synthetic",),
    ("budget_ms",),
    ("thresholds_ms",),
    ("year",),
    ("targets",),
    ("grid", "cell_m"),
    ("grid", "max_cells"),
    ("model", "preset"),
    ("model", "k_us_per_km"),
    ("model", "route_factor"),
    ("model", "max_drop_m"),
    ("model", "equipment_us"),
    ("boundary",),
    ("network", "kind"),
    ("network", "highway"),
    ("sites", "lon"),
    ("sites", "note"),
    ("sites", "crs"),
    ("key_sites", "weight_field"),
    ("key_sites", "name_field"),
    ("districts", "name_field"),
    ("population", "band"),
    ("population", "crs"),
    ("unknown_key",),
]

HOSTILE = [
    "",
    "{{ 7*7 }}",
    "{% 3",
    "$x^2$",
    "<img src=x onerror=alert(1)>",
    "a\x00b",
    "../../etc",
    "EPSG:3857",
    "gcj02",
    "road",
    "fibre",
    "round_trip",
    "large",
    "name",
]

FLOATS = st.floats(allow_nan=True, allow_infinity=True)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    FLOATS,
    st.sampled_from([0, 1, 2027, 0.25, 1.0, 1e-300, 1e300, -1.0, 250.0]),
    st.sampled_from(HOSTILE),
    st.text(max_size=12),
)
VALUES = st.one_of(
    LEAVES,
    st.lists(st.one_of(FLOATS, st.sampled_from([0.25, 0.5, 1.0])), max_size=5),
    st.lists(st.fixed_dictionaries({"year": st.integers(1990, 2110), "share": FLOATS}), max_size=2),
    st.dictionaries(st.sampled_from(["path", "kind", "crs", "x"]), LEAVES, max_size=2),
)
#: Values that make sense for a key (so that many examples run through to the outputs).
PLAUSIBLE: dict[tuple[str, ...], list[Any]] = {
    ("id",): ["tiny", "other-city"],
    ("name",): HOSTILE,
    ("notes",): HOSTILE,
    ("synthetic",): [True, False],
    ("budget_ms",): [0.25, 0.5, 1.0],
    ("thresholds_ms",): [[1.0], [0.5, 1.0], [0.25, 0.5, 0.75, 1.0, 2.0]],
    ("year",): [2024, 2027, 2030, None],
    ("targets",): [
        [],
        [{"year": 2027, "share": 0.7, "basis": "population", "source": "{{ 7*7 }}"}],
        [{"year": 2030, "share": 1.0, "basis": "area"}],
    ],
    ("grid", "cell_m"): [100.0, 500.0, 1000.0, 10_000.0],
    ("grid", "max_cells"): [1, 100, 10**6],
    ("model", "preset"): ["end_to_end", "round_trip", "round_trip_end_to_end"],
    ("model", "k_us_per_km"): [5.0, 10.0],
    ("model", "route_factor"): [1.0, 1.5, 100],
    ("model", "max_drop_m"): [1.0, 100.0, 1e6],
    ("model", "equipment_us"): [0, 1000],
    ("boundary",): ["districts.gpkg", "roads.gpkg", "sites.csv", "population.tif"],
    ("network", "kind"): ["fibre"],
    ("network", "highway"): [["residential"], ["motorway"], []],
    ("sites", "lon"): ["lat", "name"],
    ("sites", "note"): HOSTILE,
    ("sites", "crs"): ["gcj02", "bd09", "EPSG:4326", "wgs84"],
    ("key_sites", "weight_field"): ["lon", "name", "category"],
    ("key_sites", "name_field"): ["category", None],
    ("districts", "name_field"): ["fid", "geometry"],
    ("population", "band"): [1, 2],
    ("population", "crs"): ["gcj02", "EPSG:32650"],
}

#: A mutation: a key, and a new value for it (``DELETE`` removes it).
DELETE = object()


def _mutation(key: tuple[str, ...]) -> st.SearchStrategy[tuple[tuple[str, ...], Any]]:
    plausible = PLAUSIBLE.get(key, [])
    choices = [st.sampled_from(plausible)] if plausible else []
    return st.tuples(st.just(key), st.one_of(*choices, st.just(DELETE), VALUES))


MUTATIONS = st.lists(st.sampled_from(KEYS).flatmap(_mutation), min_size=1, max_size=2)

#: What a successful default run writes at least.
OUTPUTS = {
    ".latcircle-run",
    "coverage.csv",
    "isochrones.gpkg",
    "latency.tif",
    "run.json",
    "map.html",
    "report.html",
}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    config = _write_tiny_city(tmp_path_factory.mktemp("fuzz") / "tiny")
    return config, yaml.safe_load(config.read_text(encoding="utf-8"))


def _mutate(base: dict[str, Any], mutations: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    raw = yaml.safe_load(yaml.safe_dump(base))  # a deep copy
    for key, value in mutations:
        parent = raw
        for part in key[:-1]:
            if not isinstance(parent.get(part), dict):
                parent[part] = {"path": parent[part]} if isinstance(parent.get(part), str) else {}
            parent = parent[part]
        if value is DELETE:
            parent.pop(key[-1], None)
        else:
            parent[key[-1]] = value
    return raw


@contextlib.contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def hang(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"latcircle run took over {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


_COUNTER = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutations=MUTATIONS)
# Found by this fuzzer: a 1 m max drop leaves every band empty, and folium's tooltip
# refused an empty layer (exit 1).
@example(mutations=[(("model", "max_drop_m"), 1.0)])
# And an unknown CRS on the population raster was an internal error.
@example(mutations=[(("population", "crs"), "{{ 7*7 }}")])
def test_mutated_config_is_run_or_refused(
    city: tuple[Path, dict[str, Any]], mutations: list[tuple[tuple[str, ...], Any]]
) -> None:
    config, base = city
    n = next(_COUNTER)
    bad = config.parent / f"fuzz{n}.yaml"
    bad.write_text(yaml.safe_dump(_mutate(base, mutations), allow_unicode=True), encoding="utf-8")
    workdir = config.parent.parent / f"run{n}"
    workdir.mkdir()
    out = workdir / "out"
    err = io.StringIO()
    with _alarm(60), contextlib.redirect_stderr(err):
        code = main(["-q", "run", str(bad), "--out", str(out)])
    lines = err.getvalue().strip().splitlines()
    assert code in (0, 2), (mutations, err.getvalue())
    if code == 0:
        assert {p.name for p in out.iterdir()} >= OUTPUTS, mutations
    else:
        assert len(lines) == 1 and lines[0].startswith("latcircle: error: "), (mutations, lines)
        assert list(workdir.iterdir()) == [], mutations  # nothing written


# --------------------------------------------------------------------------- input files
# Issue 22: the fuzzer also mutates the network, an OFDS network and a candidates file.
# Deterministic (derandomize) and small (a few examples each, outputs without map and report).

#: Values that break numbers and texts in files.
FILE_VALUES = [
    float("nan"),
    float("inf"),
    float("-inf"),
    1e300,
    -1e300,
    0.0,
    -1.0,
    1e12,
    2027,
    1999,
    "",
    "x",
    "{{ 7*7 }}",
    "a\x00b",
    True,
    None,
]
#: What a successful run without map and report writes at least.
RUN_OUTPUTS = {".latcircle-run", "coverage.csv", "isochrones.gpkg", "latency.tif", "run.json"}
PLAN_OUTPUTS = {"plan.csv", "plan.json", "sites-planned.csv", "curve.csv", "plan.gpkg"}
FILE_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _outcome(argv: list[str], workdir: Path, wanted: set[str], what: object) -> None:
    """Exit 0 with ``wanted`` in the output folder, or 2 with one line and nothing written."""
    out = workdir / "out"
    err = io.StringIO()
    with _alarm(120), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["-q", *argv, "--out", str(out)])
    lines = err.getvalue().strip().splitlines()
    assert code in (0, 2), (what, err.getvalue())
    if code == 0:
        assert {p.name for p in out.iterdir()} >= wanted, what
    else:
        assert len(lines) == 1 and lines[0].startswith("latcircle: error: "), (what, lines)
        assert list(workdir.iterdir()) == [], what


NETWORK_EDITS = st.lists(
    st.tuples(
        st.sampled_from(["coord", "geom", "u", "v", "highway"]),
        st.integers(0, 200),
        st.sampled_from([*FILE_VALUES, "point", "empty", "null", "reverse", "multi"]),
    ),
    min_size=1,
    max_size=3,
)


def _edit_network(roads: Any, edits: list[tuple[str, int, Any]]) -> Any:
    import numpy as np
    import shapely

    roads = roads.copy()
    for kind, row, value in edits:
        i = row % len(roads)
        line = roads.geometry.iloc[i]
        if kind in ("coord", "geom") and (line is None or line.geom_type != "LineString"):
            continue  # an earlier edit made it a point, empty or null: nothing to edit
        if line is not None and line.is_empty and kind in ("coord", "geom"):
            continue
        if kind == "coord" and isinstance(value, float):
            xy = shapely.get_coordinates(line)
            xy[-1, row % 2] = value
            roads.loc[roads.index[i], "geometry"] = shapely.LineString(xy)
        elif kind == "geom":
            shapes = {
                "point": line.interpolate(0.5, normalized=True),
                "empty": shapely.LineString(),
                "null": None,
                "reverse": line.reverse(),
                "multi": shapely.MultiLineString([line, line.reverse()]),
            }
            roads.loc[roads.index[i], "geometry"] = shapes.get(value, line)
        elif kind in ("u", "v"):
            if kind not in roads:
                roads["u"], roads["v"] = np.arange(len(roads)), np.arange(1, len(roads) + 1)
                roads = roads.astype({"u": object, "v": object})
            roads.loc[roads.index[i], kind] = value
        else:
            roads.loc[roads.index[i], "highway"] = None if value is None else str(value)
    return roads


@FILE_SETTINGS
@given(edits=NETWORK_EDITS)
def test_mutated_network_is_run_or_refused(
    city: tuple[Path, dict[str, Any]], edits: list[tuple[str, int, Any]]
) -> None:
    import warnings

    import geopandas as gpd

    config, _ = city
    n = next(_COUNTER)
    folder = config.parent.parent / f"net{n}"
    folder.mkdir()
    roads = gpd.read_file(config.parent / "roads.gpkg")
    with warnings.catch_warnings():  # NaN coordinates: the point of the example
        warnings.simplefilter("ignore", RuntimeWarning)
        _edit_network(roads, edits).to_file(folder / "roads.gpkg", driver="GPKG")
    bad = folder / "net.yaml"
    text = config.read_text(encoding="utf-8").replace(
        "path: roads.gpkg", f"path: {folder}/roads.gpkg"
    )
    bad.write_text(
        text.replace("boundary: boundary.gpkg", f"boundary: {config.parent}/boundary.gpkg"), "utf-8"
    )
    for name in ("districts.gpkg", "sites.csv", "population.tif", "key_sites.csv"):
        text = bad.read_text("utf-8").replace(f"path: {name}", f"path: {config.parent / name}")
        bad.write_text(text, "utf-8")
    workdir = folder / "run"
    workdir.mkdir()
    _outcome(["run", str(bad), "--no-map", "--no-report"], workdir, RUN_OUTPUTS, edits)


def _json_paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document (keys and list positions), in document order."""
    out = [at]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _json_paths(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _json_paths(v, (*at, i))
    return out


OFDS_VALUES = st.one_of(
    st.sampled_from(FILE_VALUES),
    st.sampled_from([[], {}, [1, 2], {"id": "X"}, "2027-13-45", "ACC", [[[[[[[[]]]]]]]]]),
    st.just(DELETE),
)


@FILE_SETTINGS
@given(
    picks=st.lists(st.tuples(st.integers(0, 10_000), OFDS_VALUES), min_size=1, max_size=3),
    geojson=st.booleans(),
)
# Found by this fuzzer (another seed): a node's location.coordinates set to NaN was an
# internal error (``len()`` of a float) when a span without a route was drawn from it.
@example(picks=[(0, [1, 2]), (3681, float("nan"))], geojson=True)
# And a span geometry's type emptied (shapely's GeometryTypeError was an internal error).
@example(picks=[(3199, "")], geojson=True)
def test_mutated_ofds_is_run_or_refused(
    tmp_path_factory: pytest.TempPathFactory, picks: list[tuple[int, Any]], geojson: bool
) -> None:
    import json

    from test_fibre import write_city, write_ofds_geojson, write_ofds_json

    folder = tmp_path_factory.mktemp("ofds")
    if geojson:
        path = write_ofds_geojson(folder / "spans.geojson")
    else:
        path = write_ofds_json(folder / "network.json", device={"KOF": 30.0})
    data = json.loads(path.read_text(encoding="utf-8"))
    for index, value in picks:
        places = [p for p in _json_paths(data) if p]
        if not places:  # everything deleted: the empty document is the case
            break
        at = places[index % len(places)]
        parent = data
        for key in at[:-1]:
            parent = parent[key]
        if value is DELETE:
            del parent[at[-1]]
        else:  # a copy: the strategy's lists are shared, and one put inside itself loops
            parent[at[-1]] = copy.deepcopy(value)
    path.write_text(json.dumps(data), encoding="utf-8")
    net_yaml = ", node_latency_field: deviceLatency_us" if not geojson else ""
    config = write_city(folder / "city", path, network_yaml=net_yaml)
    workdir = folder / "run"
    workdir.mkdir()
    _outcome(["run", str(config), "--no-map", "--no-report"], workdir, RUN_OUTPUTS, picks)


CANDIDATE_COLUMNS = [
    "id",
    "name",
    "tier",
    "cost",
    "device_latency_us",
    "earliest_year",
    "lon",
    "lat",
]


@FILE_SETTINGS
@given(
    cells=st.lists(
        st.tuples(
            st.integers(0, 2), st.sampled_from(CANDIDATE_COLUMNS), st.sampled_from(FILE_VALUES)
        ),
        min_size=1,
        max_size=3,
    ),
    ragged=st.booleans(),
)
def test_mutated_candidates_are_planned_or_refused(
    city: tuple[Path, dict[str, Any]], cells: list[tuple[int, str, Any]], ragged: bool
) -> None:
    from conftest import X0, Y0, to_lonlat

    config, _ = city
    n = next(_COUNTER)
    folder = config.parent.parent / f"cand{n}"
    folder.mkdir()
    rows = []
    for k in range(3):
        lon, lat = to_lonlat(X0 + 1500.0 + 2000 * k, Y0 + 2500.0 + 2500 * k)
        rows.append(
            {
                "id": f"C{k}",
                "name": f"c{k}",
                "tier": "medium",
                "cost": "3",
                "device_latency_us": "20",
                "earliest_year": "",
                "lon": f"{float(lon):.9f}",
                "lat": f"{float(lat):.9f}",
            }
        )
    for row, column, value in cells:
        rows[row][column] = "" if value is None else str(value)
    lines = [",".join(CANDIDATE_COLUMNS)] + [
        ",".join(r[c] for c in CANDIDATE_COLUMNS) for r in rows
    ]
    if ragged:
        lines[1] += ",extra"
    (folder / "cands.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    workdir = folder / "run"
    workdir.mkdir()
    args = ["plan", str(config), "--candidates", str(folder / "cands.csv")]
    args += ["--target", "0.75", "--year", "2027", "--basis", "population"]
    _outcome(args, workdir, PLAN_OUTPUTS, (cells, ragged))
