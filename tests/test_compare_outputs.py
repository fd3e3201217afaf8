"""scripts/compare_outputs.py: byte-for-byte folder comparison, run.json timings aside."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "compare_outputs", Path(__file__).parents[1] / "scripts" / "compare_outputs.py"
)
assert _SPEC is not None and _SPEC.loader is not None
compare_outputs = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(compare_outputs)


def _run(folder: Path, *, seconds: float, path: str, share: float = 0.5) -> None:
    folder.mkdir()
    (folder / "coverage.csv").write_bytes(b"basis,share\narea,0.500000\n")
    (folder / "figures").mkdir()
    (folder / "figures" / "curve.png").write_bytes(b"\x89PNG\x00\x01")
    record = {"stage_seconds": {"load": seconds}, "inputs": {"boundary": [{"path": path}]}}
    record["headline_share"] = {"area": share}
    (folder / "run.json").write_text(json.dumps(record))


def test_identical_but_timings_and_moved_inputs(tmp_path: Path) -> None:
    _run(tmp_path / "a", seconds=1.0, path="/old/data/b.shp")
    _run(tmp_path / "b", seconds=9.0, path="/new/data/b.shp")
    same = [("/old", "/new")]
    assert compare_outputs.compare_folders(tmp_path / "a", tmp_path / "b", same_paths=same) == []
    # Without the path mapping the moved input is a difference, named by its JSON path.
    diffs = compare_outputs.compare_folders(tmp_path / "a", tmp_path / "b")
    assert diffs == [
        "differs: run.json at $.inputs.boundary[0].path: '/old/data/b.shp' != '/new/data/b.shp'"
    ]


def test_timings_json_is_skipped_wherever_it_is(tmp_path: Path) -> None:
    _run(tmp_path / "a", seconds=1.0, path="/d")
    _run(tmp_path / "b", seconds=1.0, path="/d")
    (tmp_path / "a" / "timings.json").write_text('{"stage_seconds": {"load": 1.0}}')
    (tmp_path / "b" / "timings.json").write_text('{"stage_seconds": {"load": 2.5}}')
    (tmp_path / "b" / "figures" / "timings.json").write_text("{}")  # only in b: skipped too
    assert compare_outputs.compare_folders(tmp_path / "a", tmp_path / "b") == []
    # A file of another name with the same content is compared as usual.
    (tmp_path / "b" / "figures" / "timing.json").write_text("{}")
    assert compare_outputs.compare_folders(tmp_path / "a", tmp_path / "b") == [
        f"only in {tmp_path / 'b'}: figures/timing.json"
    ]


def test_one_byte_a_missing_file_and_a_run_value_differ(tmp_path: Path) -> None:
    _run(tmp_path / "a", seconds=1.0, path="/d", share=0.5)
    _run(tmp_path / "b", seconds=1.0, path="/d", share=0.25)
    (tmp_path / "b" / "figures" / "curve.png").write_bytes(b"\x89PNG\x00\x02")
    (tmp_path / "a" / "map.html").write_text("<html>")
    diffs = compare_outputs.compare_folders(tmp_path / "a", tmp_path / "b")
    assert diffs == [
        f"only in {tmp_path / 'a'}: map.html",
        "differs: figures/curve.png (6 vs 6 bytes, first difference at byte 5)",
        "differs: run.json at $.headline_share.area: 0.5 != 0.25",
    ]


def test_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(tmp_path / "a", seconds=1.0, path="/d")
    _run(tmp_path / "b", seconds=2.0, path="/d")
    assert compare_outputs.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    (tmp_path / "b" / "coverage.csv").write_bytes(b"basis,share\narea,0.500001\n")
    assert compare_outputs.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    assert compare_outputs.main([str(tmp_path / "a"), str(tmp_path / "nope")]) == 2
    assert "differs: coverage.csv" in capsys.readouterr().out
