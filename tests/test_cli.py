"""The command line: exit codes, one-line errors, nothing written on bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from latcircle.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_run_writes_outputs(tiny_city: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = _run(["run", str(tiny_city), "--out", str(tmp_path / "o")], capsys)
    assert code == 0
    assert {"coverage.csv", "isochrones.gpkg", "latency.tif", "run.json"} <= {
        p.name for p in (tmp_path / "o").iterdir()
    }
    assert "70.0%" in out  # the area share, printed in the summary table
    assert "synthetic" in out and "hypothetical" in out


def test_quiet_prints_nothing(tiny_city: Path, tmp_path: Path, capsys) -> None:
    code, out, err = _run(["-q", "run", str(tiny_city), "--out", str(tmp_path / "o")], capsys)
    assert code == 0 and out == "" and err == ""


def test_module_entry_point_and_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "latcircle", "run", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "--out" in done.stdout and "CONFIG" in done.stdout.upper()
    # A flag shows no default: ``--no-map`` is off unless given, whatever its stored value.
    flat = " ".join(done.stdout.split())
    assert "do not write map.html (batch runs) --no-report" in flat
    assert "(default: True)" not in flat and "(default: False)" not in flat
    assert "(default: inline)" in flat  # an option's default still shows


def test_unwritable_output_is_a_clear_error(tiny_city: Path, tmp_path: Path, capsys) -> None:
    # A parent that is a regular file cannot hold a folder, for root too.
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    code, _, err = _run(["run", str(tiny_city), "--out", str(blocker / "o")], capsys)
    assert code == 2  # refused before any work: the user's to fix (issue 11)
    assert err.strip().splitlines() == [
        f"latcircle: error: {blocker / 'o'}: cannot write outputs here: {blocker} is a file, "
        "not a folder"
    ]


def test_progress_rolls_up_cities_with_dashboard(make_tiny_city, tmp_path: Path, capsys) -> None:
    import pandas as pd

    outputs = tmp_path / "outputs"
    for city_id in ("tiny", "small"):
        config = make_tiny_city(city_id)
        config.write_text(
            config.read_text(encoding="utf-8").replace("id: tiny", f"id: {city_id}"),
            encoding="utf-8",
        )
        assert main(["-q", "run", str(config), "--out", str(outputs / city_id)]) == 0
    national = outputs / "national"
    code, _, err = _run(["-q", "national-rollup", str(outputs), "--out", str(national)], capsys)
    assert code == 0, err
    summary = pd.read_csv(national / "summary.csv").set_index("city")
    assert sorted(summary.index) == ["small", "tiny"]
    # Hand-computed for the tiny city: 3 of 4 key sites within 1 ms (the fourth has no access).
    assert summary["share_key_sites"].tolist() == pytest.approx([0.75, 0.75])
    page = (national / "index.html").read_text(encoding="utf-8")
    assert "../tiny/report.html" in page and "../small/report.html" in page
    before = {p.name: p.read_bytes() for p in national.iterdir()}
    # `progress` is the documented alias of `national-rollup`: the same tables, byte for byte
    # (shortfalls.md differs only in listing the first national folder as skipped).
    alias = outputs / "national-alias"
    code, _, err = _run(["-q", "progress", str(outputs), "--out", str(alias)], capsys)
    assert code == 0, err
    for name in ("summary.csv", "progress.csv"):
        assert (alias / name).read_bytes() == before[name]
    shutil.rmtree(alias)

    # A malformed city output: one line, exit 2, and the previous national folder intact.
    (outputs / "small" / "run.json").write_text("{not json", encoding="utf-8")
    code, _, err = _run(["-q", "progress", str(outputs), "--out", str(national)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "run.json" in err
    assert {p.name: p.read_bytes() for p in national.iterdir()} == before


def test_summary_names_year_target_status_gap_and_pages(
    tiny_city: Path, tmp_path: Path, capsys
) -> None:
    """The tiny city: sites online 2024 (A) and 2027 (B); 3 of its 4 key sites reachable."""
    out_dir = tmp_path / "o2020"
    code, out, _ = _run(["run", str(tiny_city), "--year", "2020", "--out", str(out_dir)], capsys)
    assert code == 0
    text = " ".join(out.split())
    assert "scenario year 2020 (0 of 2 sites online)" in text
    # 0 of 4 key sites now; 3 of 4 with the sites planned by 2027 (75 % >= 70 %): on track,
    # and 2.8 key sites short, rounded up to whole sites.
    assert (
        "2020: 0.0% of key sites within 1 ms · target in force 70% by 2027 · on track; "
        "gap 3 key sites to cover by 2027" in text
    )
    assert (
        "why: no site online in 2020: nothing is covered; the first site comes online in 2024"
        in text
    )
    assert f"report: {out_dir / 'report.html'}" in text and f"map: {out_dir / 'map.html'}" in text
    code, out, _ = _run(["run", str(tiny_city), "--year", "2024", "--out", str(out_dir)], capsys)
    text = " ".join(out.split())
    assert "scenario year 2024 (1 of 2 sites online)" in text
    assert "2024: 75.0% of key sites within 1 ms · target in force 70% by 2027 · met" in text
    assert "gap" not in text.split("2024: ")[1].split("\n")[0].split("report:")[0]


def test_progress_prints_a_summary_and_warns_on_other_folders(
    make_tiny_city, tmp_path: Path, capsys
) -> None:
    outputs = tmp_path / "outputs"
    config = make_tiny_city("tiny")
    assert main(["-q", "run", str(config), "--out", str(outputs / "tiny")]) == 0
    (outputs / "scratch").mkdir()  # not a city run
    code, out, err = _run(
        [
            "progress",
            str(outputs),
            "--out",
            str(outputs / "national"),
            "--include-synthetic",
            "--include-hypothetical",
        ],
        capsys,
    )
    assert code == 0, err
    # Whole on one line, whatever COLUMNS and the temporary path's length (tests/test_logs.py).
    assert any(
        f"skipped {outputs / 'scratch'}: not a city output" in line for line in err.splitlines()
    ), err
    assert "**" not in out and "# Progress" not in out  # not the raw Markdown
    assert "1 run(s) read, 1 counted in the national totals" in out
    assert "2027 target: 1 of 1 counted metros meet it" in out
    assert f"dashboard: {outputs / 'national' / 'index.html'}" in out
