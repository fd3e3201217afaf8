"""What a run imports: the stack it uses, and nothing only other commands need.

A whole ``latcircle -q run`` (map and report) pays for every module it imports, in a fresh
interpreter each time (issue 23: the Wuhan run's imports are ~0.7 s of its ~4.6 s CPU). The
modules below are each needed only on another path (the planner, the calibration, fetching,
the national batch, the demo's generator, a console to show something on); these tests pin
that a run does not load them, so that a module-level import does not creep back.

The log console (rich) is made when something is first shown: a quiet run that logs nothing
never imports rich, and the log handler, rich or plain, is chosen at the first record
(:func:`latcircle.logs.setup_logging` given a function instead of a console).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from child_json import child_json
from rich.console import Console
from rich.logging import RichHandler

from latcircle.logs import PLAIN_FORMAT, setup_logging

#: Modules a run has no use for, and the path each belongs to.
NOT_IN_A_RUN = {
    "rich": "the log console and the summary: nothing is shown under -q",
    "scipy.optimize": "the planner's MILP and the calibration's fit",
    "scipy.stats": "the uncertainty's truncated normal only",
    "latcircle.analysis.plan": "the planner (the map's what-if imports it when asked)",
    "latcircle.analysis.calibration": "latcircle calibrate",
    "networkx": "fetching roads (osmnx)",
    "osmnx": "fetching roads",
    "latcircle.sources": "latcircle fetch",
    "dask": "latcircle national",
    "distributed": "latcircle national",
    "latcircle.national_run": "latcircle national",
    "latcircle.demo": "the demo's generator",
}

#: A fresh interpreter: a quiet whole run, then the same city run again with its summary
#: shown; the modules loaded after each.
_RUNS = """
import json, sys
from latcircle.cli import main
config, out = sys.argv[1], sys.argv[2]
quiet = main(["-q", "run", config, "--out", out + "/quiet"])
after_quiet = sorted(sys.modules)
shown = main(["run", config, "--out", out + "/shown", "--no-map", "--no-report"])
print(json.dumps({"rc": [quiet, shown], "quiet": after_quiet, "shown": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    from conftest import _write_tiny_city

    root = tmp_path_factory.mktemp("imports")
    config = _write_tiny_city(root / "tiny")
    found = child_json(_RUNS, str(config), str(root / "out"))
    assert found["rc"] == [0, 0]
    assert (root / "out" / "quiet" / "map.html").is_file()
    assert (root / "out" / "quiet" / "report.html").is_file()
    return {"quiet": found["quiet"], "shown": found["shown"]}


def _loaded(modules: list[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


@pytest.mark.parametrize("module", sorted(NOT_IN_A_RUN))
def test_a_quiet_whole_run_does_not_load(two_runs: dict[str, list[str]], module: str) -> None:
    assert not _loaded(two_runs["quiet"], module), NOT_IN_A_RUN[module]


def test_the_quiet_run_loaded_what_it_uses(two_runs: dict[str, list[str]]) -> None:
    """The check above can fail: the same child saw the stack a run uses."""
    for module in ("numpy", "scipy.sparse.csgraph", "geopandas", "folium", "matplotlib"):
        assert _loaded(two_runs["quiet"], module), module


def test_a_run_that_shows_its_summary_loads_rich(two_runs: dict[str, list[str]]) -> None:
    assert _loaded(two_runs["shown"], "rich.console")


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Give the root logger and latcircle's level back as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    ours = logging.getLogger("latcircle").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("latcircle").setLevel(ours)


def _console_maker(console: Console, made: list[Console]) -> object:
    def make() -> Console:
        made.append(console)
        return console

    return make


def test_no_record_no_console(root_logging: None) -> None:
    made: list[Console] = []
    setup_logging(-1, _console_maker(Console(file=io.StringIO()), made))  # type: ignore[arg-type]
    logging.getLogger("latcircle").warning("not shown under -q")
    logging.getLogger("latcircle").info("nor this")
    assert made == []


def test_the_first_record_makes_the_plain_handler_once(root_logging: None) -> None:
    stream = io.StringIO()
    made: list[Console] = []
    console = Console(file=stream, force_terminal=False)
    setup_logging(0, _console_maker(console, made))  # type: ignore[arg-type]
    log = logging.getLogger("latcircle")
    log.info("below the level: no console yet")
    assert made == []
    path = "/" + "/".join(["d" * 50] * 8)
    log.warning("%s: first", path)
    log.error("second")
    assert len(made) == 1
    # The plain handler's own lines, whole (PLAIN_FORMAT), not basicConfig's "%(message)s".
    assert PLAIN_FORMAT.startswith("%(levelname)-8s")
    assert stream.getvalue() == f"WARNING  {path}: first\nERROR    second\n"


def test_on_a_terminal_the_first_record_makes_rich_s_handler(root_logging: None) -> None:
    stream = io.StringIO()
    made: list[Console] = []
    console = Console(file=stream, force_terminal=True, width=120)
    setup_logging(0, _console_maker(console, made))  # type: ignore[arg-type]
    logging.getLogger("latcircle").warning("a %s line", "rich")
    (outer,) = logging.getLogger().handlers
    assert isinstance(outer._inner, RichHandler)  # type: ignore[attr-defined]
    # As basicConfig formats a handler given to it directly: the message alone.
    assert outer._inner.formatter._fmt == "%(message)s"  # type: ignore[attr-defined]
    assert "WARNING" in stream.getvalue() and "a rich line" in stream.getvalue()
    assert made == [console]


def test_a_console_given_directly_is_used_at_once(root_logging: None) -> None:
    stream = io.StringIO()
    setup_logging(0, Console(file=stream, force_terminal=False))
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    logging.getLogger("latcircle").warning("x")
    assert stream.getvalue() == "WARNING  x\n"


def test_the_first_record_handler_passes_flush_and_close_on(root_logging: None) -> None:
    from latcircle.logs import _FirstRecordHandler

    calls: list[str] = []

    class Inner(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            calls.append(f"emit {record.getMessage()}")

        def flush(self) -> None:
            calls.append("flush")

        def close(self) -> None:
            calls.append("close")
            super().close()

    handler = _FirstRecordHandler(Inner)
    handler.flush()
    handler.close()  # nothing made: nothing to pass on
    assert calls == []
    handler = _FirstRecordHandler(Inner)
    handler.handle(logging.LogRecord("latcircle", logging.ERROR, "", 0, "boom", (), None))
    handler.flush()
    handler.close()
    assert calls == ["emit boom", "flush", "close"]
