"""`latcircle national` on a real Dask LocalCluster (2 worker processes) over small metros.

Six generated metros of different seeds and sizes, plus one made to fail (a bad coordinate
in its sites file). The cities are also run one by one with `latcircle run --no-map
--no-report`: the sweep's files must be the same bytes. A rerun must skip every finished
city, and a changed input must rerun that city only.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latcircle.analysis.national import headline_table
from latcircle.cli import main
from latcircle.demo.generator import write_demo_city
from latcircle.national_run import BATCH_RECORD, find_configs, run_many

pytestmark = pytest.mark.slow

#: (seed, scale) of the six metros: different outlines, rivers, sizes (about 1-3 k nodes).
METROS = [(11, 0.12), (12, 0.15), (13, 0.18), (14, 0.12), (15, 0.15), (16, 0.2)]


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("metros")
    out = {}
    for i, (seed, scale) in enumerate(METROS):
        cid = f"metro{i}"
        out[cid] = write_demo_city(root / cid, seed=seed, scale=scale, city_id=cid)
    # A city made to fail inside its run: a longitude that is not a number.
    bad = write_demo_city(root / "broken", seed=17, scale=0.12, city_id="broken")
    sites = (bad.parent / "sites.csv").read_text(encoding="utf-8").splitlines()
    fields = sites[1].split(",")
    fields[-2] = "east"  # the lon column
    sites[1] = ",".join(fields)
    (bad.parent / "sites.csv").write_text("\n".join(sites) + "\n", encoding="utf-8")
    out["broken"] = bad
    return out


@pytest.fixture(scope="module")
def one_by_one(configs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each good city run alone, as today: `latcircle run CONFIG --no-map --no-report`."""
    root = tmp_path_factory.mktemp("one_by_one")
    for cid, cfg in configs.items():
        if cid == "broken":
            continue
        code = main(["-q", "run", str(cfg), "--out", str(root / cid), "--no-map", "--no-report"])
        assert code == 0
    return root


@pytest.fixture(scope="module")
def sweep(configs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("sweep")
    pattern = str(next(iter(configs.values())).parent.parent / "*" / "*.yaml")
    seen: list[tuple[str, int, int]] = []
    run = run_many(
        [pattern],
        out=root / "national",
        workers=2,
        on_city=lambda c, done, total: seen.append((c.status, done, total)),
    )
    return root, run, seen


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real Dask LocalCluster of two worker processes started here, not by latcircle.

    Its scheduler's address is given to ``run_many`` (``--scheduler``) by the tests that
    sweep again: one cluster start for the module instead of one per sweep (each a worker
    process start and warm-up, about 1.3 s of CPU per worker). ``sweep`` above starts
    latcircle's own cluster, which is what it checks. Dask settings as latcircle's own
    workers have them (no statistical profiler, a 1 s tick): idle between the tests, the
    defaults would cost CPU for nothing.
    """
    import dask
    from distributed import LocalCluster

    from latcircle.national_run import _local_worker_config

    with dask.config.set(_local_worker_config()):  # read as the cluster starts, as latcircle
        local = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    with local:
        yield local.scheduler_address


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _run_json(data: bytes) -> dict:
    # run.json holds no wall times (they are in timings.json, which differs by design).
    return json.loads(data)


def test_sweep_reports_each_city_and_the_failure(sweep, configs):
    root, run, seen = sweep
    assert run.workers == 2
    assert run.dashboard.startswith("http")
    status = {c.city: c.status for c in run.cities}
    assert status == {**{cid: "done" for cid in configs if cid != "broken"}, "broken": "failed"}
    broken = next(c for c in run.cities if c.city == "broken")
    assert "sites.csv" in broken.reason and broken.bad_input
    assert broken.config == configs["broken"]
    assert run.exit_code == 2
    assert not (root / "broken").exists()  # nothing written for the failed city
    # The progress callback saw every city once, counting up to the total.
    assert [d for _, d, _ in seen] == list(range(1, 8)) and {t for *_, t in seen} == {7}
    # Two worker processes shared the work.
    assert len({c.worker for c in run.cities}) == 2


def test_sweep_is_byte_identical_to_one_by_one(sweep, one_by_one, configs):
    root, _, _ = sweep
    for cid in configs:
        if cid == "broken":
            continue
        alone, batch = _files(one_by_one / cid), _files(root / cid)
        assert set(batch) == set(alone) | {BATCH_RECORD}, cid
        for name, data in alone.items():
            if name == "run.json":
                assert _run_json(batch[name]) == _run_json(data), cid
            elif name != "timings.json":  # wall times: the one file that differs by design
                assert batch[name] == data, f"{cid}/{name} differs"


def test_rollup_names_the_missing_city(sweep, configs):
    root, run, _ = sweep
    national = root / "national"
    assert run.rollup is not None and run.rollup.out == national
    assert run.rollup.cities == sorted(c for c in configs if c != "broken")
    summary = pd.read_csv(national / "summary.csv", keep_default_na=False)
    ran = summary[summary["outcome"] != "failed"]
    assert sorted(ran["city"]) == run.rollup.cities and set(ran["outcome"]) == {"run"}
    # The failed city is in every table: summary.csv, headline.csv, index.html.
    failed = summary[summary["outcome"] == "failed"]
    assert list(failed["city"]) == ["broken"] and "sites.csv" in failed["reason"].iloc[0]
    assert list(failed["in_totals"]) == [False] and list(failed["share_area"]) == [""]
    head = pd.read_csv(national / "headline.csv").set_index("measure")
    counts = {m: head.loc[f"cities_{m}", "value"] for m in ("asked", "run", "failed")}
    assert counts == {"asked": 7, "run": 6, "failed": 1}
    assert "7 asked, 1 failed: no outputs" in head.loc["cities_key_sites_ge_70pct", "of_what"]
    html = (national / "index.html").read_text(encoding="utf-8")
    assert "7 cities asked · 6 run · 1 failed" in html and "failed: " in html
    missing = pd.read_csv(national / "missing.csv")
    assert list(missing["city"]) == ["broken"]
    assert "sites.csv" in missing["reason"].iloc[0]
    text = (national / "shortfalls.md").read_text(encoding="utf-8")
    assert "## Missing cities" in text and "broken" in text
    assert (national / "index.html").is_file()


def test_headline_matches_the_city_tables(sweep, configs):
    """The CAICT headline recounted by hand from each city's coverage.csv."""
    root, _, _ = sweep
    covered, total = [], []
    for cid in configs:
        if cid == "broken":
            continue
        cov = pd.read_csv(root / cid / "coverage.csv")
        row = cov[(cov.scope == "metro") & (cov.basis == "key_sites") & (cov.threshold_ms == 1.0)]
        covered.append(float(row.covered.iloc[0]))
        total.append(float(row.total.iloc[0]))
    head = pd.read_csv(root / "national" / "headline.csv").set_index("measure")
    ratios = [c / t for c, t in zip(covered, total, strict=True)]
    assert head.loc["cities_key_sites_ge_70pct", "value"] == sum(r >= 0.70 for r in ratios)
    assert head.loc["cities_key_sites_ge_75pct", "value"] == sum(r >= 0.75 for r in ratios)
    assert head.loc["cities_key_sites_ge_70pct", "of"] == 6
    assert head.loc["key_sites_covered", "value"] == pytest.approx(sum(covered), abs=1e-6)
    assert head.loc["key_sites_covered", "of"] == pytest.approx(sum(total), abs=1e-6)
    # Every generated metro is synthetic with hypothetical sites, and the headline says so.
    for flag in ("cities_synthetic", "cities_sites_hypothetical"):
        assert (head.loc[flag, "value"], head.loc[flag, "of"]) == (6, 6)


def test_headline_counts_a_city_exactly_at_the_target():
    # 7 of 10 is exactly 70 %, 3 of 4 exactly 75 %: both meet their target; 2 of 3 meets none.
    head = headline_table(np.array([7.0, 3.0, 2.0]), np.array([10.0, 4.0, 3.0])).set_index(
        "measure"
    )
    assert head.loc["cities_key_sites_ge_70pct", "value"] == 2
    assert head.loc["cities_key_sites_ge_75pct", "value"] == 1
    assert head.loc["key_sites_covered", "share"] == pytest.approx(12 / 17)
    # A hair under the target (more than the status rule's 1e-9 slack) does not count.
    under = headline_table(np.array([0.7 - 1e-6]), np.array([1.0])).set_index("measure")
    assert under.loc["cities_key_sites_ge_70pct", "value"] == 0
    empty = headline_table(np.zeros(0), np.zeros(0)).set_index("measure")
    assert empty.loc["cities_key_sites_ge_70pct", "value"] == 0
    assert np.isnan(empty.loc["cities_key_sites_ge_70pct", "share"])


def test_progress_reads_the_finished_folders(sweep, tmp_path):
    root, _, _ = sweep
    folders = [str(root / f"metro{i}") for i in range(len(METROS))]
    assert main(["-q", "progress", *folders, "--out", str(tmp_path / "national")]) == 0
    assert (tmp_path / "national" / "summary.csv").is_file()


def test_bad_config_paths_stop_before_anything_runs(tmp_path, configs):
    with pytest.raises(Exception, match="no such config"):
        find_configs([tmp_path / "nowhere.yaml"])
    # Two configs of one city: refused up front, exit 2, nothing written.
    twin = tmp_path / "twin"
    shutil.copytree(configs["metro0"].parent, twin)
    code = main(
        [
            "-q",
            "national",
            str(configs["metro0"]),
            str(twin / "metro0.yaml"),
            "--out",
            str(tmp_path / "out" / "national"),
        ]
    )
    assert code == 2
    assert not (tmp_path / "out").exists()


@pytest.mark.realdata
def test_central_shenzhen_from_the_real_data(shared_data, tmp_path):
    """The Overpass recording becomes an .osm file the reader takes whole, tags kept as text."""
    from latcircle.config import load_config
    from latcircle.demo.national_set import write_shenzhen_core
    from latcircle.inputs.osm import read_osm_file

    cfg_path = write_shenzhen_core(tmp_path / "sz", shared_data=shared_data)
    cfg = load_config(cfg_path)
    assert cfg.id == "shenzhen-core" and cfg.sites.hypothetical
    raw = json.loads((shared_data / "shenzhen" / "overpass_drive_core.json").read_text())
    ways = [e for e in raw["elements"] if e["type"] == "way"]
    names = {e["tags"]["name"] for e in ways if "name" in e["tags"]}
    text = (tmp_path / "sz" / "roads.osm").read_text(encoding="utf-8")
    assert text.count("<way ") == len(ways)
    # Every name written as a tag value: the values read from the text once (XML escapes a
    # quote in a value), rather than a search of the whole text per name.
    values = set(re.findall(r'v="([^"]*)"', text))
    assert all(n in values for n in names if not set(n) & set("&<>\"'"))
    lines = read_osm_file(tmp_path / "sz" / "roads.osm", highway=None)
    km = lines.to_crs(32650).length.sum() / 1000.0
    assert 800 < km < 1500  # as tests/test_fetch.py finds for the same recording via osmnx
    sites = pd.read_csv(tmp_path / "sz" / "sites.csv")
    assert list(sites["id"][:2]) == ["PDB5689", "PDB9688"]  # the PeeringDB facilities
    assert len(sites) == 5


def test_a_batch_run_never_imports_the_presentation_stack(tiny_city, tmp_path):
    """`latcircle run --no-map --no-report`: no folium (templates compiled at import), no
    matplotlib; the tables are all there."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from latcircle.cli import main\n"
        f"rc = main(['-q', 'run', {str(tiny_city)!r}, '--out', {str(tmp_path / 'o')!r},"
        " '--no-map', '--no-report'])\n"
        "print(rc, sorted(m for m in ('folium', 'matplotlib', 'branca') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["0", "[]"]
    files = {p.name for p in (tmp_path / "o").iterdir()}
    assert {"coverage.csv", "progress.csv", "isochrones.gpkg", "latency.tif"} <= files
    assert not files & {"map.html", "report.html"}


def test_rerun_skips_finished_cities_and_reruns_a_changed_one(sweep, configs, cluster):
    root, first, _ = sweep
    before = {cid: _files(root / cid) for cid in configs if cid != "broken"}
    national_before = _files(root / "national")
    again = run_many(list(configs.values()), out=root / "national", scheduler=cluster)
    status = {c.city: c.status for c in again.cities}
    assert status == {**{cid: "skipped" for cid in before}, "broken": "failed"}
    for cid, files in before.items():
        assert _files(root / cid) == files
    # Same inputs, same national bytes; but what the sweep did: every city now up to date.
    after = _files(root / "national")
    changed = {n for n in after if after[n] != national_before.get(n)}
    assert changed == {"summary.csv", "headline.csv", "index.html"}
    summary = pd.read_csv(root / "national" / "summary.csv", keep_default_na=False)
    assert list(summary["outcome"]) == ["up to date"] * 6 + ["failed"]
    old = pd.read_csv(io.BytesIO(national_before["summary.csv"]), keep_default_na=False)
    assert summary.drop(columns="outcome").equals(old.drop(columns="outcome"))

    # Change one input: that city alone runs again.
    changed = configs["metro3"].parent / "sites.csv"
    backup = changed.read_text(encoding="utf-8")
    try:
        changed.write_text(backup.replace(",350,", ",340,", 1), encoding="utf-8")
        third = run_many(list(configs.values()), out=root / "national", scheduler=cluster)
    finally:
        changed.write_text(backup, encoding="utf-8")
    status = {c.city: c.status for c in third.cities}
    assert status["metro3"] == "done"
    assert all(status[c] == "skipped" for c in before if c != "metro3")
    assert json.loads(_files(root / "metro3")[BATCH_RECORD])["key"] != first.cities[3].key


def test_an_existing_cluster_by_its_address(sweep, configs, tmp_path, cluster):
    """`--scheduler ADDRESS`: the same cities, the same bytes, on a cluster started elsewhere."""
    root, _, _ = sweep
    picked = [configs["metro0"], configs["metro4"]]
    run = run_many(picked, out=tmp_path / "national", scheduler=cluster)
    assert [c.status for c in run.cities] == ["done", "done"] and run.workers == 2
    for cid in ("metro0", "metro4"):
        here, there = _files(tmp_path / cid), _files(root / cid)
        assert set(here) == set(there)
        for name, data in here.items():
            if name == "run.json":
                assert _run_json(data) == _run_json(there[name])
            elif name != "timings.json":
                assert data == there[name], f"{cid}/{name}"


@pytest.mark.parametrize("env", [None, "True"])
def test_local_workers_run_without_the_profiler_unless_asked(monkeypatch, env):
    # Dask's profiler samples every worker thread every 10 ms (~0.6 s of CPU per demo city):
    # off on the cluster latcircle starts, unless the environment turns it on.
    import logging

    import dask

    from latcircle.national_run import _client

    if env is None:
        monkeypatch.delenv("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", raising=False)
    else:
        monkeypatch.setenv("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", env)
        dask.config.refresh()
    try:
        with _client(None, 1, logging.WARNING) as client:
            seen = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    finally:
        monkeypatch.undo()
        dask.config.refresh()
    assert len(seen) == 1
    assert list(seen.values()) == [env is not None]
