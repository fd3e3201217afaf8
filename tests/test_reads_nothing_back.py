"""Output steps take what they write from the run in memory, never from the run's folder.

Issue 23, item 1: a step ``(result, folder)`` of :func:`latcircle.pipeline.default_outputs`
must not open a file of the run it is writing (``isochrones.gpkg``, ``progress.csv``...): the
order of the steps would then matter without showing. A tracer records every file opened for
reading under the run's temporary folder while a step runs: Python-level opens (pandas, pathlib,
json) through the ``open`` audit event, and the C-level readers of GDAL (pyogrio, rasterio) and
SQLite by wrapping their entry points.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.geopandas
import pytest
import rasterio
import rasterio.transform

from latcircle import pipeline
from latcircle.run import RunResult

#: Reads seen while a tracer is active: (folder watched, list the reads go to).
_ACTIVE: list[tuple[Path, list[str]]] = []


def _note(path: object) -> None:
    """Record ``path`` when it lies in a watched folder."""
    if not _ACTIVE or not isinstance(path, str | bytes | os.PathLike):
        return
    try:
        resolved = Path(os.fsdecode(path)).resolve()
    except (OSError, ValueError):
        return
    for folder, reads in _ACTIVE:
        if resolved == folder or folder in resolved.parents:
            reads.append(str(resolved.relative_to(folder)))


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """The ``open`` audit event: builtins/io ``open`` (a mode) and ``os.open`` (flags)."""
    if event != "open" or not _ACTIVE:
        return
    path, mode, flags = args
    if isinstance(mode, str):
        reading = "r" in mode and "+" not in mode
    else:
        reading = (flags & os.O_ACCMODE) == os.O_RDONLY
    if reading:
        _note(path)


sys.addaudithook(_audit)  # cannot be removed: inert while no tracer is active


def _wrapped(fn: Callable[..., Any], *, mode_arg: bool = False) -> Callable[..., Any]:
    def reader(path: Any, *args: Any, **kw: Any) -> Any:
        mode = kw.get("mode", args[0] if args else "r") if mode_arg else "r"
        if str(mode).startswith("r"):
            _note(path)
        return fn(path, *args, **kw)

    return reader


@contextlib.contextmanager
def reads_under(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Collect the files under ``folder`` opened for reading inside the block."""
    reads: list[str] = []
    for owner in (pyogrio.geopandas, pyogrio.raw):
        for name in ("read", "read_arrow"):
            monkeypatch.setattr(owner, name, _wrapped(getattr(owner, name)))
    for name in ("read_info", "list_layers", "read_bounds"):
        monkeypatch.setattr(pyogrio, name, _wrapped(getattr(pyogrio, name)))
    monkeypatch.setattr(rasterio, "open", _wrapped(rasterio.open, mode_arg=True))
    monkeypatch.setattr(sqlite3, "connect", _wrapped(sqlite3.connect))
    _ACTIVE.append((Path(folder).resolve(), reads))
    try:
        yield reads
    finally:
        _ACTIVE.pop()
        monkeypatch.undo()


def test_the_tracer_sees_every_kind_of_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each way latcircle reads a file is caught; writing and reading elsewhere are not."""
    run = tmp_path / "run"
    run.mkdir()
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=gpd.points_from_xy([0], [0]), crs=4326)
    frame.to_file(run / "layers.gpkg", layer="x", engine="pyogrio")
    pd.DataFrame({"a": [1]}).to_csv(run / "table.csv", index=False)
    (run / "run.json").write_text("{}", encoding="utf-8")
    (tmp_path / "outside.txt").write_text("x", encoding="utf-8")
    with rasterio.open(
        run / "r.tif",
        "w",
        driver="GTiff",
        width=1,
        height=1,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=rasterio.transform.from_origin(0, 1, 1, 1),
    ) as dst:
        dst.write(np.zeros((1, 1, 1), "uint8"))
    with reads_under(run, monkeypatch) as reads:
        (run / "written.txt").write_text("w", encoding="utf-8")  # a write: not a read
        (tmp_path / "outside.txt").read_text(encoding="utf-8")  # outside the run: allowed
    assert reads == []
    cases: list[tuple[str, Callable[[], object]]] = [
        ("run.json", lambda: (run / "run.json").read_text(encoding="utf-8")),
        ("table.csv", lambda: pd.read_csv(run / "table.csv")),
        ("layers.gpkg", lambda: gpd.read_file(run / "layers.gpkg", layer="x")),
        ("layers.gpkg", lambda: pyogrio.list_layers(run / "layers.gpkg")),
        ("r.tif", lambda: rasterio.open(run / "r.tif").close()),
        ("layers.gpkg", lambda: sqlite3.connect(run / "layers.gpkg").close()),
    ]
    for name, read in cases:
        with reads_under(run, monkeypatch) as reads:
            read()
        assert name in reads, name


#: Steps that still read the run's files back, and what they read. Each must go from this
#: list once it takes its data from the result (strict: the test fails when one no longer
#: reads, so the list cannot go stale).
STILL_READ_BACK: dict[str, str] = {}


def _steps() -> list[Callable[[RunResult, Path], Any]]:
    return pipeline.default_outputs(maps=True, report=True, exports=("geojson",))


def _name(step: object) -> str:
    return pipeline._stage_name(step)


@pytest.fixture(scope="module")
def reads_by_step(
    demo_metro: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[str]]:
    """The demo run as ``latcircle run`` makes it (:func:`run_city`), each output step traced."""
    seen: dict[str, list[str]] = {}

    def traced(step: Callable[[RunResult, Path], Any], mp: pytest.MonkeyPatch) -> Any:
        def run(result: RunResult, folder: Path) -> Any:
            with reads_under(folder, mp) as reads:
                out = step(result, folder)
            seen[_name(step)] = reads
            return out

        run.stage_name = _name(step)  # type: ignore[attr-defined]
        return run

    with pytest.MonkeyPatch.context() as mp:
        steps = [traced(s, mp) for s in _steps()]
        out = tmp_path_factory.mktemp("run") / "out"
        pipeline.run_city(demo_metro.config, out=out, metro=demo_metro, extra_outputs=steps)
    return seen


@pytest.mark.parametrize("name", [_name(s) for s in _steps()])
def test_output_step_reads_nothing_back(
    name: str, reads_by_step: dict[str, list[str]], request: pytest.FixtureRequest
) -> None:
    """An output step opens no file of the run it is writing (issue 23)."""
    if name in STILL_READ_BACK:
        request.applymarker(
            pytest.mark.xfail(strict=True, reason=f"reads back {STILL_READ_BACK[name]}")
        )
    assert name in reads_by_step
    assert reads_by_step[name] == [], f"{name} read back {sorted(set(reads_by_step[name]))}"
