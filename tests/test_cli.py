"""The command line: exit codes, one-line errors, nothing written on bad input."""

from __future__ import annotations

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


def _bad(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("grid:", "gird:"), "gird: unknown key (did you mean 'grid'?)"),
        (lambda t: t.replace("kind: road", "kind: copper"), "network.kind"),
        (
            lambda t: t.replace("boundary: boundary.gpkg", "boundary: nowhere.gpkg"),
            "boundary.path: file not found",
        ),
        (lambda t: t + "thresholds_ms: [0, 1.0]\n", "thresholds_ms.0"),
        (lambda t: t + "thresholds_ms: [0.5, -1, 1.0]\n", "thresholds_ms.1"),
        (lambda t: t + "model: {preset: warp}\n", "model.preset"),
        (lambda t: t + "model: {equipment_us: -5}\n", "model.equipment_us"),
        (lambda t: t.replace("id: tiny", "id: ../../etc"), "id: String should match pattern"),
        (lambda t: t + "budget_ms: 2.0\n", "budget_ms 2.0 must be one of thresholds_ms"),
        (lambda t: "- just\n- a list\n", "expected a mapping of keys, got list"),
        (lambda t: t + "grid: {cell_m: 1}\n", "grid.cell_m"),
        (lambda t: t.replace("name: Tiny", "name: [Tiny"), "not valid YAML"),
    ],
    ids=[
        "typo-key",
        "bad-kind",
        "missing-file",
        "zero-threshold",
        "negative-threshold",
        "unknown-preset",
        "negative-equipment",
        "id-escapes-folder",
        "budget-not-threshold",
        "not-a-mapping",
        "grid-too-large",
        "yaml-syntax",
    ],
)
def test_bad_config_one_line_exit_2(
    tiny_city: Path, tmp_path: Path, capsys, edit, expected
) -> None:
    text = tiny_city.read_text(encoding="utf-8")
    bad = tiny_city.parent / "bad.yaml"
    bad.write_text(edit(text), encoding="utf-8")
    out_dir = tmp_path / "out"
    code, _, err = _run(["run", str(bad), "--out", str(out_dir)], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(bad) in lines[0] and expected in lines[0]
    assert not out_dir.exists()


@pytest.mark.parametrize(
    ("file", "content", "expected"),
    [
        (
            "sites.csv",
            "id,name,lon,lat\nA,a,114.1,30.5\nA,b,114.2,30.5\n",
            "id: duplicate site id 'A'",
        ),
        (
            "sites.csv",
            "id,name,device_latency_us,lon,lat\nA,a,fast,114.1,30.5\n",
            "device_latency_us: must be a number >= 0, got 'fast'",
        ),
        (
            "sites.csv",
            "id,name,device_latency_us,lon,lat\nA,a,-3,114.1,30.5\n",
            "device_latency_us: must be a number >= 0, got '-3'",
        ),
        ("sites.csv", "id,name,lon,lat\nA,a,north,30.5\n", "lon: not a number in row 1"),
        ("sites.csv", "id,name,x_coord,y_coord\nA,a,114.1,30.5\n", "lon: no such column (lon)"),
        ("sites.csv", "id,name,lon,lat\nA,a,30.5,114.1\n", "not longitude/latitude"),
        ("sites.csv", "id,name,lon,lat\nA,a,100.0,20.0\n", "no compute site lies within"),
        ("sites.csv", "id,online_year,lon,lat\nA,soon,114.1,30.5\n", "online_year: not a year"),
    ],
    ids=[
        "duplicate-id",
        "non-numeric-device",
        "negative-device",
        "bad-coordinate",
        "no-lon-column",
        "lat-lon-swapped",
        "sites-off-network",
        "bad-year",
    ],
)
def test_bad_input_file_one_line_exit_2(
    tiny_city: Path, tmp_path: Path, capsys, file: str, content: str, expected: str
) -> None:
    (tiny_city.parent / file).write_text(content, encoding="utf-8")
    out_dir = tmp_path / "out"
    code, _, err = _run(["run", str(tiny_city), "--out", str(out_dir)], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert file in lines[0] and expected in lines[0], lines[0]
    assert not out_dir.exists()


def test_gbk_csv_is_read(tiny_city: Path, tmp_path: Path, capsys) -> None:
    ks = tiny_city.parent / "key_sites.csv"
    text = ks.read_text(encoding="utf-8").replace("on road west", "武汉大学")
    ks.write_bytes(text.encode("gbk"))
    code, _, err = _run(["run", str(tiny_city), "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    import geopandas as gpd

    names = set(gpd.read_file(tmp_path / "o" / "isochrones.gpkg", layer="key_sites")["name"])
    assert "武汉大学" in names


def test_unwritable_output_is_a_clear_error(tiny_city: Path, tmp_path: Path, capsys) -> None:
    # A parent that is a regular file cannot hold a folder, for root too.
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    code, _, err = _run(["run", str(tiny_city), "--out", str(blocker / "o")], capsys)
    assert code == 1
    assert err.strip().splitlines() == [
        f"latcircle: error: {blocker}: cannot write outputs here (a file, not a folder)"
    ]
