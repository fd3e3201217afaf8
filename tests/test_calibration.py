"""Calibration against measured latency (issue 24 §3): paths, fit, intervals, bad input.

Measurements are generated on the tiny city's 1 km road grid, where every shortest path
is known by hand: a point on a north-south road at ``(x_i, y)`` and a node ``(x_s, y_s)``
are ``|x_i − x_s| + |y − y_s|`` apart along the roads (Manhattan), and two points on
north-south roads ``min_k (|y_1 − k| + |k − y_2|) + |x_1 − x_2|`` (``k`` a road crossing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import X0, Y0, to_lonlat

from latcircle.analysis.calibration import calibrate
from latcircle.analysis.metro import prepare
from latcircle.cli import main
from latcircle.config import C_M_PER_US, GROUP_INDEX_G652, load_config
from latcircle.inputs.measurements import read_measurements

K_US_PER_M = GROUP_INDEX_G652 / C_M_PER_US
SITES = {"A": (1000.0, 5000.0), "B": (5000.0, 5000.0)}
SITE_US = 20.0
TRUE_R, TRUE_E = 1.3, 80.0


def _probes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points beside north-south roads: road column, height (>= 150 m from a crossing), drop."""
    col = rng.integers(0, 7, n).astype(float) * 1000.0
    y = rng.integers(0, 10, n) * 1000.0 + rng.uniform(150.0, 850.0, n)
    drop = rng.uniform(0.0, 60.0, n)
    return col, y, drop


def _along(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
    """Road length between points on north-south roads (or nodes), by hand."""
    k = np.arange(11)[:, None] * 1000.0
    via = (np.abs(y1 - k) + np.abs(k - y2)).min(axis=0) + np.abs(x1 - x2)
    return np.where(x1 == x2, np.abs(y1 - y2), via)


def make_measurements(
    n: int = 300, *, seed: int = 1, outliers: float = 0.1, noise_us: float = 3.0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Measurements from TRUE_R, TRUE_E plus noise and one-sided outliers; also path lengths."""
    rng = np.random.default_rng(seed)
    col, y, drop = _probes(rng, n)
    to_site = rng.random(n) < 0.8
    site = np.where(rng.random(n) < 0.5, "A", "B")
    sx = np.array([SITES[s][0] for s in site])
    sy = np.array([SITES[s][1] for s in site])
    col2, y2, drop2 = _probes(rng, n)
    length = np.where(to_site, _along(col, y, sx, sy), _along(col, y, col2, y2))
    total = length + drop + np.where(to_site, 0.0, drop2)
    device = np.where(to_site, SITE_US, 0.0)
    one_way = TRUE_E + device + K_US_PER_M * TRUE_R * total + rng.normal(0, noise_us, n)
    bad = rng.random(n) < outliers
    one_way = one_way + np.where(bad, rng.uniform(60.0, 400.0, n), 0.0)
    rtt = rng.random(n) < 0.5
    lon, lat = to_lonlat(X0 + col + drop, Y0 + y)  # east of the road, ``drop`` away
    lon2, lat2 = to_lonlat(X0 + col2 - drop2, Y0 + y2)  # west of it
    df = pd.DataFrame(
        {
            "a_lon": lon,
            "a_lat": lat,
            "b_site": np.where(to_site, site, ""),
            "b_lon": np.where(to_site, np.nan, lon2),
            "b_lat": np.where(to_site, np.nan, lat2),
            "latency_us": np.where(rtt, 2 * one_way, one_way),
            "kind": np.where(rtt, "rtt", "one_way"),
        }
    )
    return df, length


def _write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False, float_format="%.10f")
    return path


def test_paths_match_hand_lengths(tiny_city: Path, tmp_path: Path) -> None:
    df, length = make_measurements(200, outliers=0.0)
    table = read_measurements(_write(df, tmp_path / "m.csv"))
    cal = calibrate(prepare(load_config(tiny_city)), table, replicates=50)
    assert (cal.pairs["status"] != "no_access").all()
    np.testing.assert_allclose(cal.pairs["length_m"], length, atol=1e-3)


def test_path_and_site_device_columns_are_the_hand_sums(tiny_city: Path, tmp_path: Path) -> None:
    """``path_m`` = road length + both drops; ``site_device_us`` = S of the site end (or 0).

    The drops and the site's device latency are the ones these measurements were made with
    (probes ``drop`` east and ``drop2`` west of their roads; sites on nodes, S = 20 µs).
    """
    rng = np.random.default_rng(1)  # make_measurements' own draws, in its order
    _col, _y, drop = _probes(rng, 200)
    to_site = rng.random(200) < 0.8
    rng.random(200)  # the site each pair goes to
    _col2, _y2, drop2 = _probes(rng, 200)
    df, length = make_measurements(200, outliers=0.0)
    assert (df["b_site"] != "").to_numpy().tolist() == to_site.tolist()
    table = read_measurements(_write(df, tmp_path / "m.csv"))
    cal = calibrate(prepare(load_config(tiny_city)), table, replicates=20)
    want = length + drop + np.where(to_site, 0.0, drop2)
    assert (~to_site).sum() > 20 and drop2[~to_site].max() > 10.0  # the drops matter
    np.testing.assert_allclose(cal.pairs["path_m"], want, rtol=0, atol=1e-3)
    np.testing.assert_allclose(cal.pairs["site_device_us"], np.where(to_site, SITE_US, 0.0))


def test_recovers_known_parameters_with_outliers(tiny_city: Path, tmp_path: Path) -> None:
    df, _ = make_measurements(300, outliers=0.1)
    table = read_measurements(_write(df, tmp_path / "m.csv"))
    cal = calibrate(prepare(load_config(tiny_city)), table)
    r, e = cal.route_factor, cal.equipment_us
    assert r.low <= TRUE_R <= r.high, r
    assert e.low <= TRUE_E <= e.high, e


def test_engine_exact_against_the_latency_field(tiny_city: Path, tmp_path: Path) -> None:
    """A (point, site) pair's model latency is the run's latency with only that site online."""
    df, _ = make_measurements(120, outliers=0.0, noise_us=0.0)
    df = df[df["b_site"] != ""].reset_index(drop=True)
    metro = prepare(load_config(tiny_city))
    cal = calibrate(metro, read_measurements(_write(df, tmp_path / "m.csv")), replicates=20)
    # At the fitted parameters the model is E + S + k·r·path; the engine at the same r and E:
    import dataclasses

    from latcircle.analysis.coverage import Samples, evaluate
    from latcircle.engine.latency import arc_matrix, attach_sites, solve

    params = dataclasses.replace(
        metro.params,
        route_factor=cal.route_factor.estimate,
        equipment_us=cal.equipment_us.estimate,
    )
    sites = metro.inputs.sites
    att = attach_sites(
        metro.locator,
        sites.geometry.x.to_numpy(),
        sites.geometry.y.to_numpy(),
        sites["device_latency_us"].to_numpy(),
        params,
    )
    import pyproj

    tr = pyproj.Transformer.from_crs("EPSG:4326", metro.inputs.crs, always_xy=True)
    x, y = tr.transform(df["a_lon"].to_numpy(), df["a_lat"].to_numpy())
    loc = metro.locator.locate(np.asarray(x), np.asarray(y), max_drop_m=params.max_drop_m)
    samples = Samples("key_sites", np.ones(len(x)), loc, np.zeros(len(x), int))
    arcs = arc_matrix(metro.network, params)
    for i, sid in enumerate(sites["site_id"]):
        field = solve(metro.network, att, params, online=np.arange(len(sites)) == i, arcs=arcs)
        lat = evaluate(field, samples).latency_us
        mine = (df["b_site"] == sid).to_numpy()
        np.testing.assert_allclose(cal.pairs["model_us"][mine], lat[mine], rtol=0, atol=1e-6)


def test_cli_writes_the_calibration(tiny_city: Path, tmp_path: Path) -> None:
    df, _ = make_measurements(150)
    out = tmp_path / "cal"
    code = main(
        [
            "-q",
            "calibrate",
            str(tiny_city),
            "--measurements",
            str(_write(df, tmp_path / "m.csv")),
            "--out",
            str(out),
            "--replicates",
            "200",
        ]
    )
    assert code == 0
    import json

    record = json.loads((out / "calibration.json").read_text())
    for name in ("route_factor", "equipment_us"):
        assert set(record[name]) == {"estimate", "low", "high"}
        assert record[name]["low"] <= record[name]["estimate"] <= record[name]["high"]
    assert record["pairs"]["outlier"] == len(record["outliers"]) > 0
    pairs = pd.read_csv(out / "pairs.csv")
    assert len(pairs) == 150 and set(pairs["status"]) <= {"fitted", "outlier"}
    text = (out / "calibrated.yaml").read_text()
    import yaml

    model = yaml.safe_load(text)["model"]
    assert model["route_factor"] == pytest.approx(record["route_factor"]["estimate"], abs=1e-4)
    assert (out / "residuals.png").read_bytes()[:4] == b"\x89PNG"
    # Same inputs, same bytes.
    again = tmp_path / "cal2"
    main(
        [
            "-q",
            "calibrate",
            str(tiny_city),
            "--measurements",
            str(tmp_path / "m.csv"),
            "--out",
            str(again),
            "--replicates",
            "200",
        ]
    )
    for name in ("calibration.json", "pairs.csv", "calibrated.yaml", "residuals.png"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_off_network_pairs_are_listed(tiny_city: Path, tmp_path: Path) -> None:
    df, _ = make_measurements(60, outliers=0.0)
    lon, lat = to_lonlat(X0 + 9000.0, Y0 + 5000.0)  # the roadless east: no access
    far = df.iloc[:3].copy()
    far["a_lon"], far["a_lat"] = float(lon), float(lat)
    table = read_measurements(_write(pd.concat([df, far]), tmp_path / "m.csv"))
    cal = calibrate(prepare(load_config(tiny_city)), table, replicates=20)
    assert list(cal.pairs["status"].iloc[-3:]) == ["no_access"] * 3
    assert cal.info["pairs"]["no_access"] == 3 and cal.info["pairs"]["fitted"] == 60


def _bad(kind: str) -> pd.DataFrame:
    df, _ = make_measurements(60, outliers=0.0)
    if kind == "nan":
        df.loc[7, "latency_us"] = np.nan
    elif kind == "negative":
        df.loc[3, "latency_us"] = -12.0
    elif kind == "few":
        df = df.iloc[:6]
    elif kind == "same_length":
        df = pd.DataFrame(
            {
                "a_site": ["A"] * 12,
                "b_site": ["B"] * 12,
                "latency_us": np.linspace(120, 130, 12),
                "kind": "one_way",
            }
        )
    elif kind == "one_way_as_rtt":  # one-way values halved: slower than light is not enough
        df["latency_us"] = np.where(df["kind"] == "rtt", df["latency_us"] / 2, df["latency_us"])
        df["kind"] = "rtt"
    elif kind == "rtt_as_one_way":  # 4 in 5 RTT rows labelled one_way: two populations
        rtt = np.flatnonzero(df["kind"] == "rtt")
        df.loc[rtt[np.arange(len(rtt)) % 5 != 0], "kind"] = "one_way"
    elif kind == "ms_as_us":
        df["latency_us"] = df["latency_us"] / 1000.0
    elif kind == "unknown_kind":
        df.loc[2, "kind"] = "two-way"
    elif kind == "unknown_site":
        df.loc[df["b_site"] != "", "b_site"] = "Z"
    return df


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("nan", "not a finite number in row(s) 8"),
        ("negative", "a latency must be positive: 4"),
        ("few", "at least 10"),
        ("same_length", "same path length"),
        ("one_way_as_rtt", "the fit is impossible"),
        ("rtt_as_one_way", "no consistent fit"),
        ("ms_as_us", "faster than light"),
        ("unknown_kind", "expected one_way or rtt"),
        ("unknown_site", "unknown site id 'Z'"),
    ],
)
def test_bad_measurements_one_line_exit_2_nothing_written(
    tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, words: str
) -> None:
    path = _write(_bad(kind), tmp_path / "m.csv")
    out = tmp_path / "cal"
    code = main(
        [
            "calibrate",
            str(tiny_city),
            "--measurements",
            str(path),
            "--out",
            str(out),
            "--replicates",
            "50",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and words in err, err
    assert str(path) in err
    assert not out.exists()


def test_lad_equals_the_primal_linear_programme() -> None:
    """The dual LAD (two constraints) against the textbook primal (one per point)."""
    from scipy import sparse
    from scipy.optimize import linprog

    from latcircle.analysis._robustfit import _lad

    rng = np.random.default_rng(5)
    x = rng.uniform(0, 300, 80)
    z = 50 + 1.4 * x + rng.standard_t(2, 80) * 4
    n = len(x)
    a_eq = sparse.hstack(
        [
            sparse.csr_matrix(np.column_stack([np.ones(n), x])),
            sparse.identity(n),
            -sparse.identity(n),
        ]
    )
    cost = np.r_[0.0, 0.0, np.ones(2 * n)]
    bounds = [(None, None)] * 2 + [(0, None)] * (2 * n)
    primal = linprog(cost, A_eq=a_eq, b_eq=z, bounds=bounds, method="highs")
    e, r = _lad(x, z)
    objective = np.abs(z - e - r * x).sum()
    assert objective == pytest.approx(primal.fun, rel=1e-9)


def test_bisquare_ignores_gross_outliers_like_least_squares_on_the_inliers() -> None:
    from latcircle.analysis._robustfit import robust_line

    rng = np.random.default_rng(9)
    x = rng.uniform(0, 250, 400)
    z = 90 + 1.25 * x + rng.normal(0, 2, 400)
    bad = rng.random(400) < 0.1
    z_obs = z + np.where(bad, rng.uniform(80, 500, 400), 0.0)
    fit = robust_line(x, z_obs)
    assert (fit.weight[bad] == 0).all()  # every gross outlier rejected
    # Reference: ordinary least squares on the inliers only (bisquare down-weights a few of
    # them a little, so the two agree to a small part of the noise, not exactly).
    slope, intercept = np.polyfit(x[~bad], z_obs[~bad], 1)
    assert fit.slope == pytest.approx(slope, abs=0.003)
    assert fit.intercept == pytest.approx(intercept, abs=0.4)


def test_column_map_and_geopackage_lines(tiny_city: Path, tmp_path: Path) -> None:
    import geopandas as gpd
    import shapely

    df, _ = make_measurements(40, outliers=0.0)
    df = df[df["b_site"] == ""].head(15).reset_index(drop=True)
    lines = [
        shapely.LineString([(a, b), (c, d)])
        for a, b, c, d in zip(df["a_lon"], df["a_lat"], df["b_lon"], df["b_lat"], strict=True)
    ]
    gdf = gpd.GeoDataFrame(
        {"owd_ms": df["latency_us"] / 1000.0, "type": df["kind"]}, geometry=lines, crs="EPSG:4326"
    )
    gdf.to_file(tmp_path / "m.gpkg", driver="GPKG")
    table = read_measurements(tmp_path / "m.gpkg", columns={"latency_ms": "owd_ms", "kind": "type"})
    np.testing.assert_allclose(table["measured_us"], df["latency_us"], rtol=1e-12)
    np.testing.assert_allclose(table["a_lon"], df["a_lon"], atol=1e-12)
    np.testing.assert_allclose(table["b_lat"], df["b_lat"], atol=1e-12)


def test_device_latency_on_the_path_is_taken_apart(tiny_city: Path, tmp_path: Path) -> None:
    """A fibre line with an OTN node (30 µs) at 3 km: pairs through it carry its latency.

    The shortest path depends on r where nodes carry device latency: the paths are found
    again at the fitted r (a second round), and the fit recovers the known parameters.
    """
    import networkx as nx
    import osmnx as ox

    xs = np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0])
    lon, lat = to_lonlat(xs + X0, np.full(5, 5000.0 + Y0))
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for i in range(5):
        graph.add_node(
            i + 1, x=float(lon[i]), y=float(lat[i]), device_latency_us=30.0 if i == 2 else 0.0
        )
    for i in range(4):
        graph.add_edge(i + 1, i + 2, key=0, highway="fibre")
        graph.add_edge(i + 2, i + 1, key=0, highway="fibre")
    ox.save_graphml(graph, tmp_path / "fibre.graphml")
    folder = tiny_city.parent
    text = tiny_city.read_text(encoding="utf-8").replace(
        "network: {path: roads.gpkg, kind: road}",
        f"network: {{path: {tmp_path / 'fibre.graphml'}, kind: fibre, "
        "node_latency_field: device_latency_us}",
    )
    (folder / "fibre.yaml").write_text(text, encoding="utf-8")
    rng = np.random.default_rng(2)
    x = rng.uniform(1100.0, 4900.0, 40)
    x = x[np.abs(x - 3000.0) > 1.0]  # not at the OTN node itself
    plon, plat = to_lonlat(x + X0, np.full(len(x), 5000.0 + Y0))
    through = x > 3000.0
    one_way = TRUE_E + SITE_US + K_US_PER_M * TRUE_R * (x - 1000.0) + 30.0 * through
    df = pd.DataFrame(
        {
            "a_lon": plon,
            "a_lat": plat,
            "b_site": "A",
            "latency_us": one_way + rng.normal(0, 0.5, len(x)),
            "kind": "one_way",
        }
    )
    table = read_measurements(_write(df, tmp_path / "m.csv"))
    cal = calibrate(prepare(load_config(folder / "fibre.yaml")), table, replicates=200)
    np.testing.assert_array_equal(cal.pairs["node_device_us"], np.where(through, 30.0, 0.0))
    np.testing.assert_allclose(cal.pairs["length_m"], x - 1000.0, atol=1e-2)
    assert cal.info["path_rounds"] == 2
    assert cal.route_factor.low <= TRUE_R <= cal.route_factor.high
    assert cal.equipment_us.low <= TRUE_E <= cal.equipment_us.high
