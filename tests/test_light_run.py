"""What starting latcircle costs, and what a run keeps alive (issue 23: a lighter house).

* Building the command line's parser imports neither the exports (geopandas) nor the base
  maps (shapely, pyproj): ``latcircle --help`` and the commands that write no run stay light.
  The options' names are read from their tables when shown or given, and say the same.
* A run keeps, after its sensitivity stage, the run year's per-sample critical values only,
  and, after progress and shortfall, the run's own scenario only: what its outputs read. The
  values kept are those a full :func:`latcircle.analysis.robust.robustness` computes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from latcircle.cli import main
from latcircle.config import load_config

#: Modules ``latcircle --help`` must not import (each costs 0.05 to 0.5 s of CPU).
HEAVY = (
    "geopandas",
    "shapely",
    "pyproj",
    "rasterio",
    "scipy",
    "folium",
    "matplotlib",
    "jinja2",
    "latcircle.output.exports",
    "latcircle.present.basemaps",
    "latcircle.pipeline",
)


def _modules_after(argv: list[str]) -> tuple[int, set[str]]:
    """Run ``main(argv)`` in a fresh interpreter; return its exit code and modules loaded."""
    code = (
        "import sys\n"
        "from latcircle.cli import main\n"
        "try:\n"
        f"    rc = main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    rc = exc.code\n"
        "print(rc)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lstrip("-").isdigit())
    return int(lines[start]), set(lines[start + 1 :])


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["run", "no-such.yaml"]])
def test_parsing_imports_nothing_heavy(argv: list[str]) -> None:
    code, modules = _modules_after(argv)
    assert code in (0, 2)  # help, version; a missing config is bad input
    assert not [m for m in HEAVY if m in modules]


def test_run_help_lists_the_tables_names(capsys: pytest.CaptureFixture[str]) -> None:
    from latcircle.output.exports import EXPORT_CRS, EXPORT_FORMATS
    from latcircle.present.basemaps import BASEMAPS

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "--basemap {" + ",".join(BASEMAPS) + "}" in text
    assert "--export-crs {" + ",".join(EXPORT_CRS) + "}" in text
    assert "(" + ", ".join(EXPORT_FORMATS) + ", comma-separated)" in text


def test_lazy_choices_still_refuse_and_accept(capsys: pytest.CaptureFixture[str]) -> None:
    from latcircle.cli import _parser
    from latcircle.present.basemaps import BASEMAPS

    parser = _parser()
    for name in BASEMAPS:  # each table entry accepted, exactly as written
        args = parser.parse_args(["run", "x.yaml", "--basemap", name, "--export-crs", "local"])
        assert (args.basemap, args.export_crs) == (name, "local")
    for bad in (["--basemap", "OSM"], ["--basemap", ""], ["--export-crs", "utm"]):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(["run", "x.yaml", *bad])
        assert exc.value.code == 2
        assert "invalid choice" in capsys.readouterr().err


def test_a_written_run_keeps_what_its_outputs_read(tiny_city: Path, tmp_path: Path) -> None:
    from latcircle.analysis.robust import robustness
    from latcircle.pipeline import compute_run, default_outputs, run_city

    cfg = load_config(tiny_city)
    computed = compute_run(cfg)  # in memory: the progress years' scenarios still kept
    assert computed.robust is not None
    years = [s.year for s in computed.robust.scenarios]
    assert len(years) > 1 and years[0] == computed.scenario.year
    written = run_city(
        cfg, out=tmp_path / "o", extra_outputs=default_outputs(maps=False, report=False)
    )
    robust = written.robust
    assert robust is not None
    assert [s.year for s in robust.scenarios] == [written.scenario.year]
    for result in (computed, written):
        assert result.robust is not None
        kept = result.robust.sensitivity.criticals
        assert sorted(kept) == sorted((written.scenario.year, b) for b in written.metro.bases)
    # The values kept are a full robustness's, computed again independently.
    full = robustness(written.metro, written.scenario).sensitivity
    assert len(full.criticals) > len(robust.sensitivity.criticals)
    for key, crit in robust.sensitivity.criticals.items():
        ref = full.criticals[key]
        np.testing.assert_array_equal(crit.r_star, ref.r_star)
        np.testing.assert_array_equal(crit.e_star, ref.e_star)
        np.testing.assert_array_equal(crit.weight, ref.weight)


def test_output_steps_import_only_what_they_use() -> None:
    """Building the output steps imports neither the map's modules (``folium``: the map step
    imports them when it runs, ``present/map/step.py``) nor ``folium.plugins`` (forty
    plugins' templates compiled, four used: ``present/map/plugins.py``) nor the planner
    (``scipy.optimize``, for the what-if candidates only)."""
    code = (
        "import sys\n"
        "from latcircle.pipeline import default_outputs\n"
        "default_outputs()\n"
        "print(sorted(m for m in ('folium', 'folium.plugins', 'scipy.optimize',"
        " 'latcircle.analysis.plan.candidates', 'latcircle.analysis.plan.solve')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "[]"


def test_collector_is_off_while_the_output_steps_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing the output steps frees nothing: no collection then; as it was afterwards."""
    import argparse
    import gc

    from latcircle.cli import running

    seen: list[bool] = []

    class StopError(Exception):
        pass

    def outputs_of(_args: argparse.Namespace) -> list[object]:
        seen.append(gc.isenabled())
        raise StopError

    monkeypatch.setattr(running, "outputs_of", outputs_of)
    args = argparse.Namespace(quiet=1)
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            with pytest.raises(StopError):
                running.run_and_report(None, Path("unused"), args=args)  # type: ignore[arg-type]
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
    assert seen == [False, False]
