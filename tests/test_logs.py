"""Logs a batch job can read: off a terminal, every line plain, whole and unwrapped.

rich wraps at 80 columns (or ``COLUMNS``) and shortens paths with an ellipsis when stderr is
not a terminal; latcircle's log lines and summary lines must not, however long the path.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from rich.console import Console
from rich.logging import RichHandler

from latcircle.cli import main
from latcircle.logs import PLAIN_FORMAT, log_handler


def _long_folder(root: Path, length: int = 300) -> Path:
    """A folder whose absolute path is at least ``length`` characters (names of 60)."""
    folder = root
    i = 0
    while len(str(folder)) < length:
        folder = folder / f"{i:02d}{'x' * 58}"
        i += 1
    return folder


def test_a_terminal_gets_rich_and_a_file_gets_plain_lines():
    assert isinstance(log_handler(Console(file=io.StringIO(), force_terminal=True)), RichHandler)
    stream = io.StringIO()
    handler = log_handler(Console(file=stream, force_terminal=False))
    assert not isinstance(handler, RichHandler)
    path = "/" + "/".join(["d" * 50] * 8)  # 408 characters
    handler.handle(logging.LogRecord("latcircle", logging.WARNING, "", 0, "%s: x", (path,), None))
    assert stream.getvalue() == f"WARNING  {path}: x\n"
    assert PLAIN_FORMAT == "%(levelname)-8s %(message)s"


@pytest.mark.parametrize("columns", [None, "20"])
def test_a_300_character_path_stays_whole_on_one_line(
    make_tiny_city, tmp_path: Path, capsys, monkeypatch, columns
) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    outputs = _long_folder(tmp_path) / "outputs"
    assert len(str(outputs)) >= 300
    config = make_tiny_city("tiny")
    # The run's summary names the output folder: whole, on one line.
    assert main(["run", str(config), "--out", str(outputs / "tiny"), "--no-map"]) == 0
    out, _ = capsys.readouterr()
    assert any(line.startswith(f"outputs in {outputs / 'tiny'}  (") for line in out.splitlines()), (
        out
    )
    assert f"report: {outputs / 'tiny' / 'report.html'}" in out.splitlines()
    # A warning naming a folder: whole, on one line.
    (outputs / "scratch").mkdir()
    code = main(["national-rollup", str(outputs), "--out", str(outputs / "national")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"WARNING  skipped {outputs / 'scratch'}: not a city output (no run.json)" in (
        err.splitlines()
    ), err
    assert "…" not in err
    assert f"dashboard: {outputs / 'national' / 'index.html'}" in out.splitlines()


def test_the_city_bar_knows_its_total_from_the_start():
    from latcircle.logs import CountBar

    bar = CountBar(Console(file=io.StringIO(), force_terminal=True), what="cities", quiet=False)
    bar.total = 7  # `latcircle national` sets it once the configs are found
    bar.start()
    try:
        assert bar.progress is not None
        task = bar.progress.tasks[0]
        assert (task.completed, task.total) == (0, 7)  # "0/7", not "0/?"
        bar.item("wuhan [bold]: done", 1, 7)
        assert task.description == r"wuhan \[bold]: done"  # shown as text, not markup
    finally:
        bar.stop()


def test_off_a_terminal_the_city_bar_prints_whole_lines_and_quiet_nothing():
    from latcircle.logs import CountBar

    stream = io.StringIO()
    bar = CountBar(Console(file=stream, force_terminal=False), what="cities", quiet=False)
    bar.start(2)
    long = "/" + "x" * 300 + "/c.yaml: failed in 0.1 s (bad)"
    bar.item(long, 1, 2)
    bar.item("wuhan: done in 41.0 s", 2, 2)
    bar.stop()
    assert stream.getvalue() == f"cities 1/2 {long}\ncities 2/2 wuhan: done in 41.0 s\n"
    stream = io.StringIO()
    quiet = CountBar(Console(file=stream, force_terminal=False), what="cities", quiet=True)
    quiet.start(1)
    quiet.item("wuhan: done", 1, 1)
    quiet.stop()
    assert stream.getvalue() == ""
