"""The map's year slider and what-if panel, checked against separate runs (no browser).

The page's data document holds, per slider year, the covered and total weight of the metro
and of each district, and per what-if build the demand groups it covers. Here the page's
arithmetic (the workbench script's: the year's covered weight plus every group one of the
ticked builds covers, over the total) is done in Python on that document and compared with
what ``latcircle run --year Y --add-site LON,LAT ...`` computes in a separate run: the
independent reference. The browser does the same in tests/test_browser_workbench.py.

Also the bad inputs of the map's options: ``--lang xx``, ``--what-if 0`` / ``10**6`` /
``abc`` (one line, exit 2), and ``--lang zh`` with a config without local names (the
documented fallback: names as given, one log line).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from latcircle.cli import main
from latcircle.config import load_config
from latcircle.output.readback import read_layers
from latcircle.pipeline import RunOptions, compute_run, run_city, write_progress
from latcircle.present.maps import build_map, render_map
from latcircle.present.style import percent
from latcircle.run import RunResult

#: A budget the tiny city's one 2024 site does not meet everywhere (reach about 5 km), so
#: that candidate sites add coverage in 2024.
TIGHT = "budget_ms: 0.15\nthresholds_ms: [0.125, 0.15]\n"


def page_data(page: str) -> dict:
    """The page's data document."""
    m = re.search(r'<script type="application/json" id="lc-data">(.*?)</script>', page, re.S)
    assert m, "no data document"
    return json.loads(m.group(1))


def shares_with(data: dict, year: str, on: set[int]) -> dict[str, list[float]]:
    """The workbench script's arithmetic, step for step (the same float additions)."""
    y = next(v for v in data["years"] if v["key"] == year)
    out = {}
    for b in data["bases"]:
        cov = list(y["covered"][b])
        n = len(cov) - 1
        for w, d, builds, _count in y["groups"].get(b, []):
            if any(j in on for j in builds):
                cov[n] += w
                if d >= 0:
                    cov[d] += w
        out[b] = [c / t if t > 0 else float("nan") for c, t in zip(cov, y["total"][b], strict=True)]
    return out


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, dict]:
    """The tiny city at a tight budget, every site online, and its map's data document."""
    from conftest import _write_tiny_city

    folder = tmp_path_factory.mktemp("workbench")
    config = _write_tiny_city(folder / "city", extra_yaml=TIGHT)
    result = run_city(load_config(config), out=folder / "out", extra_outputs=[write_progress])
    return result, page_data(render_map(build_map(result, whatif=6)))


def _run(result: RunResult, out: Path | None, *, year: int | None, add: list) -> RunResult:
    """A separate run of ``--year`` and ``--add-site`` on the same metro.

    Written to ``out``; with ``out=None`` computed and not written (``compute_run``, which
    ``run_city`` runs before it writes: the same headline and coverage table).
    """
    cfg = result.metro.config.model_copy(update={"year": year})
    options = RunOptions(add_sites=add, progress=False)
    if out is None:
        return compute_run(cfg, options, metro=result.metro)
    return run_city(cfg, out=out, metro=result.metro, options=options)


def test_slider_years_are_the_year_runs(tight: tuple[RunResult, dict], tmp_path: Path) -> None:
    result, data = tight
    assert [y["key"] for y in data["years"]] == ["2024", "2027", "all"]
    for y in data["years"]:
        year = None if y["key"] == "all" else int(y["key"])
        ref = _run(result, tmp_path / y["key"], year=year, add=[])
        cov = ref.coverage[ref.coverage["threshold_ms"] == 0.15]
        for row in cov.itertuples():
            i = -1 if row.scope == "metro" else data["districts"].index(row.name)
            # The same sums of the same weights: equal bit for bit, hence the same shares.
            assert y["covered"][row.basis][i] == row.covered, (y["key"], row)
            assert y["total"][row.basis][i] == row.total, (y["key"], row)
        # The rings drawn for the year are the year run's rings (areas as the GeoPackage's).
        shape = data["shapes"][y["shape"]]
        layers = read_layers(ref.out)
        assert [r["area"] for r in shape["rings"]] == list(layers["rings"]["area_km2"])


def test_whatif_builds_give_the_add_site_shares(tight: tuple[RunResult, dict]) -> None:
    result, data = tight
    builds = data["builds"]
    assert len(builds) >= 3, builds  # candidates that add coverage in 2024 exist here
    combos = [{0}, {1, 2}, set(range(len(builds)))]
    for on in combos:
        added = [(float(builds[j]["lon"]), float(builds[j]["lat"]), None) for j in sorted(on)]
        ref = _run(result, None, year=2024, add=added)  # its headline and coverage
        page = shares_with(data, "2024", on)
        for basis, value in ref.headline.items():
            assert page[basis][-1] == pytest.approx(value, rel=1e-12, abs=1e-15), (on, basis)
            assert percent(page[basis][-1]) == percent(value)
        cov = ref.coverage.query("scope == 'district' and threshold_ms == 0.15")
        for row in cov.itertuples():
            i = data["districts"].index(row.name)
            assert page[row.basis][i] == pytest.approx(row.share, rel=1e-12, nan_ok=True)
    # And the builds do move the share (the check could not pass with empty groups).
    base = shares_with(data, "2024", set())
    every = shares_with(data, "2024", set(range(len(builds))))
    assert every["key_sites"][-1] > base["key_sites"][-1] or every["area"][-1] > base["area"][-1]


def test_whatif_candidates_are_ranked_by_gain(tight: tuple[RunResult, dict]) -> None:
    _result, data = tight
    gains = [b["gain"] for b in data["builds"]]
    assert all(g > 0 for g in gains)
    assert gains == sorted(gains, reverse=True)
    # The gain is what the build alone adds in the first year, on the judged basis.
    first = data["years"][0]
    for j, b in enumerate(data["builds"]):
        alone = sum(w for w, _d, bs, _n in first["groups"][data["gainBasis"]] if j in bs)
        assert alone == pytest.approx(b["gain"], rel=1e-12)


# --- bad inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--lang", "xx"], "--lang: must be one of en, zh, not 'xx'"),
        (["--what-if", "0"], "--what-if: the number of what-if builds must be 1 to 50, not 0"),
        (["--what-if", str(10**6)], "must be 1 to 50, not 1000000"),
        (["--what-if", "abc"], "--what-if: expected a whole number, got 'abc'"),
    ],
)
def test_bad_map_options_are_one_line_exit_2(
    tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list, expected: str
) -> None:
    out = tmp_path / "out"
    code = main(["run", str(tiny_city), "--out", str(out), "-q", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and expected in err[0], err
    assert not out.exists()  # checked before the run: nothing written


def test_lang_zh_without_local_names_falls_back(
    tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["run", str(tiny_city), "--out", str(out), "--lang", "zh", "--no-report"])
    err = capsys.readouterr().err
    assert code == 0
    page = (out / "map.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in page
    data = page_data(page)
    assert sorted(data["districts"]) == ["East", "West"]  # the names it has
    assert data["words"]["legend"] == "图例"
    assert "--lang zh: 2 of 2 districts have no local name" in " ".join(err.split()), err


def test_lang_defaults_from_the_config(tmp_path: Path) -> None:
    from conftest import _write_tiny_city

    config = _write_tiny_city(tmp_path / "city", extra_yaml="name_local: 小城\n")
    result = run_city(load_config(config), out=tmp_path / "out", options=RunOptions(progress=False))
    page = render_map(build_map(result))
    assert (
        '<html lang="zh-Hans">' in page
        and "<title>小城 · Tiny test city (synthetic)：1 毫秒时延圈</title>" in page
    )
    page = render_map(build_map(result, lang="en"))
    assert '<html lang="en">' in page
    assert "<title>Tiny test city (synthetic) · 小城: 1 ms latency circle</title>" in page


def test_whatif_count_bounds_in_the_api(tight: tuple[RunResult, dict]) -> None:
    from latcircle.errors import InputError

    result, _ = tight
    for bad in (0, 51, 10**6, True):
        with pytest.raises(InputError, match="--what-if"):
            build_map(result, whatif=bad)
    for n in (1, 50):
        data = page_data(render_map(build_map(result, whatif=n)))
        assert 1 <= len(data["builds"]) <= n


def test_report_headings_follow_the_language(tight: tuple[RunResult, dict]) -> None:
    from latcircle.present.report_lang import HEADINGS_ZH, report_writer

    result, _ = tight
    english = report_writer(lang="en")(result, result.out).read_text(encoding="utf-8")
    assert "<html lang='en'>" in english and "<h2>Model parameters</h2>" in english
    chinese = report_writer(lang="zh")(result, result.out).read_text(encoding="utf-8")
    assert "<html lang='zh-Hans'>" in chinese
    for heading in ("Progress toward the targets", "Model parameters", "Compute sites"):
        assert f"<h2>{heading}</h2>" in english
        assert (
            f"<h2>{HEADINGS_ZH[heading]}</h2>" in chinese and f"<h2>{heading}</h2>" not in chinese
        )
    assert "<h2>0.15 毫秒以内</h2>" in chinese  # the budget's heading, with its number


def test_plan_sites_come_first_in_the_panel(tight: tuple[RunResult, dict]) -> None:
    """A plan (``plan/plan.gpkg``): its new sites lead the panel; fibre spurs are not listed."""
    import geopandas as gpd
    import shapely

    result, data = tight
    layers = read_layers(result.out)
    crs = layers["sites"].crs
    x, y = layers["sites"].geometry.x.iloc[0], layers["sites"].geometry.y.iloc[0]
    plan = gpd.GeoDataFrame(
        {
            "build_id": ["P1", "S9"],
            "kind": ["access", "site"],
            "name": ["spur", "planned <site>"],
            "year": [2027, 2027],
            "cost": [1.0, 10.0],
        },
        geometry=[shapely.LineString([(x, y), (x + 500, y)]), shapely.Point(x + 3000, y)],
        crs=crs,
    )
    page = page_data(render_map(build_map(result, layers={**layers, "plan": plan}, whatif=3)))
    assert [b["source"] for b in page["builds"]] == ["plan", "candidate", "candidate"]
    first = page["builds"][0]
    assert first["id"] == "S9" and first["name"] == "planned <site>" and first["gain"] is None
    assert [b["id"] for b in page["builds"][1:]] == [b["id"] for b in data["builds"][:2]]


def test_each_drawn_geometry_is_in_the_page_once(tight: tuple[RunResult, dict]) -> None:
    """Years sharing a ring or a cause point to one drawing in ``geos``, written once."""
    _, data = tight
    texts = [json.dumps(fc, sort_keys=True) for fc in data["geos"]]
    assert texts and len(set(texts)) == len(texts)
    used = [
        r["geo"]
        for shape in data["shapes"]
        for r in shape["rings"] + shape["causes"]
        if r["geo"] is not None
    ]
    assert sorted(set(used)) == list(range(len(texts)))  # every drawing is used
    # The tiny city's years share their places without access: more uses than drawings.
    assert len(data["shapes"]) > 1 and len(used) > len(texts)


def test_district_sums_are_the_per_district_sums_bit_for_bit() -> None:
    """The slider's sums from one sort equal ``w[mask & (district == i)].sum()`` exactly.

    Brute force per district as reference; samples in no district (-1), a district without
    samples, weights of very different sizes (so a different order of additions would show).
    """
    from types import SimpleNamespace

    import numpy as np

    from latcircle.analysis.workbench import _Sums

    rng = np.random.default_rng(23)
    n = 6
    district = rng.integers(-1, n, 5000)
    district[district == 3] = 4  # district 3 has no sample
    weight = rng.random(5000) * 10.0 ** rng.integers(-6, 7, 5000)
    samples = SimpleNamespace(weight=weight, district=district)
    sums = _Sums(n)
    for mask in (rng.random(5000) < 0.5, np.zeros(5000, bool), np.ones(5000, bool)):
        got, count = sums.under(samples, mask)  # type: ignore[arg-type]
        want = [float(weight[mask & (district == i)].sum()) for i in range(n)]
        want.append(float(weight[mask].sum()))
        assert got.tolist() == want
        assert count.tolist() == [float((mask & (district == i)).sum()) for i in range(n)] + [
            float(mask.sum())
        ]
    total, count_total = sums.totals(samples)  # type: ignore[arg-type]
    assert total.tolist() == [float(weight[district == i].sum()) for i in range(n)] + [
        float(weight.sum())
    ]
    assert count_total.tolist() == [float((district == i).sum()) for i in range(n)] + [5000.0]
