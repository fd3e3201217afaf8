"""The public Python API (``import latcircle as lc``) against the command line's files.

References are independent of the API: ``latcircle run``'s own ``coverage.csv`` (run by
the CLI entry point), and the errors the readers give for the same problem in a file. The
metro is the demo at half its default scale (``half_demo_metro``, conftest), but for the plan,
which needs the default demo's unmet targets.
"""

from __future__ import annotations

import doctest
import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio

import latcircle as lc
from latcircle import api
from latcircle.cli import main

pytestmark = pytest.mark.slow

#: Size of the docstring examples' demo metro (``write_demo_city(..., scale=)``; docs/api.md).
DOCS_DEMO_SCALE = 0.2


def _frames(folder: Path) -> dict[str, object]:
    """The demo's inputs read by the caller, as an analyst would: geopandas and rasterio."""

    def points(name: str) -> gpd.GeoDataFrame:
        df = pd.read_csv(folder / name)
        xy = gpd.points_from_xy(df.pop("lon"), df.pop("lat"))
        return gpd.GeoDataFrame(df, geometry=xy, crs="EPSG:4326")

    with rasterio.open(folder / "population.tif") as src:
        population = (src.read(1), src.transform, src.crs.to_wkt())
    return {
        "network": gpd.read_file(folder / "roads.gpkg"),
        "sites": points("sites.csv"),
        "key_sites": points("key_sites.csv"),
        "boundary": gpd.read_file(folder / "boundary.gpkg"),
        "districts": gpd.read_file(folder / "districts.gpkg"),
        "population": population,
    }


@pytest.fixture(scope="module")
def demo_config(half_demo_inputs: Path) -> Path:
    """The half-scale demo's config (``half_demo_inputs`` in conftest: seed 7, scale 0.5).

    What these tests compare (the API's tables and files against the command line's, on one
    metro) does not depend on its size; each command-line run costs less than half as much.
    """
    return half_demo_inputs


@pytest.fixture(scope="module")
def api_metro(half_demo_metro: object) -> lc.Metro:
    """``lc.Metro.from_config(demo_config)`` without preparing the demo a second time.

    ``from_config`` is ``Metro(prepare(load_config(path)))``: the session's prepared demo
    (``half_demo_metro`` in conftest, read-only and checked unchanged at the end) wrapped the
    same way. The doctests still call ``from_config`` themselves.
    """
    return lc.Metro(half_demo_metro)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cli_run(half_demo_cli_run: Path) -> Path:
    """``latcircle run --no-map --no-report`` of ``demo_config`` (conftest: READ-ONLY)."""
    return half_demo_cli_run


def _same_table(api_table: pd.DataFrame, csv: Path) -> None:
    """Equal to the file: text exactly, numbers to the file's 6 decimals."""
    ref = pd.read_csv(csv, encoding="utf-8-sig")
    assert list(api_table.columns) == list(ref.columns)
    assert len(api_table) == len(ref)
    for col in ref.columns:
        if pd.api.types.is_numeric_dtype(ref[col]):
            np.testing.assert_allclose(
                api_table[col].to_numpy(float), ref[col].to_numpy(float), rtol=0, atol=5e-7
            )
        else:
            assert api_table[col].fillna("").astype(str).tolist() == (
                ref[col].fillna("").astype(str).tolist()
            )


def test_from_frames_equals_latcircle_run(demo_config: Path, cli_run: Path) -> None:
    m = lc.Metro.from_frames(**_frames(demo_config.parent))  # type: ignore[arg-type]
    # Without the progress table, which the coverage table does not depend on: a from_frames
    # metro's progress.csv is compared with `latcircle run`'s in tests/test_notebook.py, the
    # API's with the command line's in test_from_config_writes_what_the_cli_writes.
    r = m.coverage(progress=False)
    _same_table(r.table, cli_run / "coverage.csv")
    # The shares are not trivial: some covered, some not, on every basis.
    metro = r.table.query("scope == 'metro' and threshold_ms == 1.0")
    assert ((metro["share"] > 0.5) & (metro["share"] < 1)).all()


def test_from_config_writes_what_the_cli_writes(
    api_metro: lc.Metro, cli_run: Path, tmp_path: Path
) -> None:
    # The metro's coverages share its memo (docs/api.md): 2028 has every site online, so the
    # coverage of the config's year (None: every site) takes 2028's parts, relabelled, and
    # must still write the command line's bytes.
    api_metro.coverage(year=2028, progress=False)
    hits = api_metro._memo.hits
    r = api_metro.coverage()
    assert api_metro._memo.hits > hits
    _same_table(r.table, cli_run / "coverage.csv")
    out = r.write(tmp_path / "api", maps=False, report=False)
    for name in ("coverage.csv", "progress.csv", "clusters.csv", "interconnect.csv"):
        assert (out / name).read_bytes() == (cli_run / name).read_bytes(), name
    with rasterio.open(out / "latency.tif") as a, rasterio.open(cli_run / "latency.tif") as b:
        np.testing.assert_array_equal(a.read(), b.read())
    # The field and its transform are latency.tif's band 1 (written as float32).
    with rasterio.open(cli_run / "latency.tif") as src:
        assert src.transform == r.transform
        np.testing.assert_array_equal(src.read(1), r.field.astype("float32"))
    clusters = pd.read_csv(cli_run / "clusters.csv", encoding="utf-8-sig")
    assert len(r.clusters) == len(clusters)
    assert set(r.rings["threshold_ms"]) <= set(r.bands["threshold_ms"])


def test_with_sites_equals_add_site(api_metro: lc.Metro, demo_config: Path, tmp_path: Path) -> None:
    site = "112.6,30.9,what-if"
    out = tmp_path / "add"
    args = ["-q", "run", "--no-map", "--no-report", "--add-site", site, "--out", str(out)]
    assert main([*args, str(demo_config)]) == 0
    r = api_metro.with_sites([(112.6, 30.9, "what-if")]).coverage(progress=False)  # the table
    _same_table(r.table, out / "coverage.csv")
    assert "ADD1" in set(r.layer("sites")["site_id"])
    assert "ADD1" not in set(api_metro.sites["site_id"])  # the metro itself is unchanged


def test_frame_errors_are_the_readers_errors(demo_config: Path, tmp_path: Path) -> None:
    frames = _frames(demo_config.parent)
    sites = frames["sites"].copy()  # type: ignore[union-attr]
    sites.loc[1, "id"] = sites.loc[0, "id"]
    with pytest.raises(lc.InputError) as api_err:
        lc.Metro.from_frames(**{**frames, "sites": sites})  # type: ignore[arg-type]
    # The same problem in a file, read by the CLI's reader.
    csv = tmp_path / "sites.csv"
    df = pd.DataFrame(sites.drop(columns="geometry"))
    df["lon"], df["lat"] = sites.geometry.x, sites.geometry.y
    df.to_csv(csv, index=False)
    from conftest import copy_demo_inputs  # the shared inputs stay read-only

    own = copy_demo_inputs(demo_config, tmp_path / "demo")
    text = own.read_text(encoding="utf-8").replace("path: sites.csv", f"path: {csv}")
    config = own.parent / "dup.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(lc.InputError) as file_err:
        lc.Metro.from_config(config)
    assert (api_err.value.field, api_err.value.problem) == (
        file_err.value.field,
        file_err.value.problem,
    )
    assert str(api_err.value).startswith("sites (GeoDataFrame): id: duplicate site id")
    assert isinstance(api_err.value, ValueError)  # the hierarchy inherits built-ins


def test_frame_without_crs_or_not_a_frame(demo_config: Path) -> None:
    frames = _frames(demo_config.parent)
    bare = frames["boundary"].set_crs(None, allow_override=True)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match=r"^boundary \(GeoDataFrame\): crs: the frame has no CRS"):
        lc.Metro.from_frames(**{**frames, "boundary": bare})  # type: ignore[arg-type]
    with pytest.raises(lc.InputError, match="expected a GeoDataFrame, got DataFrame"):
        lc.Metro.from_frames(
            **{**frames, "sites": pd.DataFrame({"a": [1]})}  # type: ignore[arg-type]
        )
    with pytest.raises(lc.InputError, match="unknown key"):
        lc.Metro.from_frames(**frames, thresholds=[1.0])  # type: ignore[arg-type]


def test_mixed_list_columns_are_stored() -> None:
    from latcircle.inputs.frames import _storable

    frame = gpd.GeoDataFrame(
        {"highway": ["primary", ["primary", "secondary"], None]},
        geometry=gpd.points_from_xy([0, 1, 2], [0, 1, 2]),
        crs="EPSG:4326",
    )
    out = _storable(frame)
    assert out["highway"].tolist() == [["primary"], ["primary", "secondary"], None]
    assert frame["highway"].iloc[0] == "primary"  # the caller's frame is left alone


def test_lazy_exports_and_hierarchy() -> None:
    assert lc.Metro is api.Metro and lc.Coverage is api.Coverage
    assert issubclass(lc.InputError, lc.LatcircleError) and issubclass(lc.InputError, ValueError)
    assert issubclass(lc.OutputError, OSError)
    assert {"Metro", "Coverage", "InputError"} <= set(dir(lc))
    with pytest.raises(AttributeError):
        _ = lc.NoSuchThing  # type: ignore[attr-defined]
    from latcircle.pipeline import run_city  # deep imports keep working

    assert callable(run_city)
    assert (Path(lc.__file__).parent / "py.typed").exists()


def test_docstring_examples_run(tmp_path: Path) -> None:
    # The examples' metro: the demo at a fifth of its size (seed 7, 25 km x 19 km, the same
    # five sites, bases and UTM zone): about a tenth of the default demo's prepare and run,
    # and the docs say only "a synthetic demo metro" (docs/api.md, "Docstrings are tested").
    from latcircle.demo.generator import write_demo_city

    demo_config = write_demo_city(tmp_path / "demo", seed=7, scale=DOCS_DEMO_SCALE)
    m = lc.Metro.from_config(demo_config)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs = {"lc": lc, "demo_config": demo_config, "m": m}
    tests = [t for t in finder.find(api, globs=globs) if t.examples]
    assert len(tests) >= 4
    out = io.StringIO()
    for test in tests:
        runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, out.getvalue()
    assert result.attempted >= 8


def test_plan_equals_latcircle_plan(demo_metro: object, demo_inputs: Path, tmp_path: Path) -> None:
    # The default demo (the session's): at half scale its targets are already met, and an
    # empty plan would compare nothing.
    out = tmp_path / "plan"
    argv = ["-q", "plan", "--max-sites", "3", "--out", str(out), str(demo_inputs)]
    assert main(argv) == 0
    plan = lc.Metro(demo_metro).plan(max_sites=3)  # type: ignore[arg-type]
    _same_table(plan.table, out / "plan.csv")
    assert len(plan.table) >= 1  # the demo needs at least one build for its targets


def test_a_bad_year_is_the_configs_error(api_metro: lc.Metro, demo_config: Path) -> None:
    with pytest.raises(lc.InputError) as api_err:
        api_metro.coverage(year=1800)
    with pytest.raises(lc.InputError) as file_err:
        lc.Metro.from_config(demo_config, year=1800)  # what `latcircle run --year 1800` reads
    assert api_err.value.field == file_err.value.field == "year"
    assert api_err.value.problem == file_err.value.problem
