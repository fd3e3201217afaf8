"""The whole country in one run: every city as a Dask task, then the national rollup.

:func:`run_many` is what ``latcircle national`` calls. Each city config becomes one task on a
Dask ``distributed`` cluster: a :class:`~distributed.LocalCluster` of worker *processes*
sized to the machine by default, or any running cluster given by its scheduler address. The
workers live for the whole sweep, so the scientific stack is imported once per worker (then
``gc.freeze()``-d), not once per city.

Each city is written exactly as ``latcircle run CONFIG --no-map --no-report`` writes it
(maps and reports only on request), into ``<cities>/<id>/``, plus ``batch.json``: the key of
its inputs and parameters. A city whose key equals the one recorded beside finished outputs
is skipped; a city that fails is reported with its config file and the reason, and the others
go on. The rollup (:func:`latcircle.pipeline.run_national`) then reads the cities that have
outputs and writes the national folder, with ``headline.csv`` (the CAICT-style count) and
``missing.csv`` (the cities without outputs, and why).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import glob
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from latcircle import __version__
from latcircle.errors import InputError, LatcircleError
from latcircle.logs import VisibleFormatter, warnings_logged
from latcircle.output.batch import BATCH_RECORD
from latcircle.system import (
    children_ignore_interrupt,
    collector_paused,
    core_ids,
    peak_rss_mb,
    pin_cores,
    release_memory,
    usable_cores,
)
from latcircle.text import terminal_text

if TYPE_CHECKING:
    from distributed import Client

    from latcircle.analysis.national import NationalResult, SweepCity
    from latcircle.config import CityConfig

__all__ = [
    "BATCH_RECORD",
    "CityOutcome",
    "NationalRun",
    "city_key",
    "find_configs",
    "run_city_task",
    "run_many",
    "warm_up",
]

log = logging.getLogger(__name__)


Status = Literal["done", "skipped", "failed"]
#: Seconds to wait for a given scheduler, and for its first worker.
_CONNECT_S = 60.0


@dataclass(frozen=True)
class CityOutcome:
    """What became of one city config.

    Attributes
    ----------
    config
        The config file.
    status
        ``done`` (run now), ``skipped`` (finished outputs with the same key) or ``failed``.
    city
        The city id (``None`` when the config could not be read).
    out
        The city's output folder (``None`` when the config could not be read).
    reason
        Why it failed (one line), empty otherwise.
    bad_input
        The failure is the input's fault (:class:`~latcircle.errors.InputError`).
    key
        The SHA-256 key of its inputs and parameters (empty when unknown).
    cpu_s
        CPU seconds the task spent in its worker process.
    wall_s
        Wall seconds of the task.
    peak_rss_mb
        The worker's peak resident memory when the task ended (MB; 0 when unknown).
    worker
        The worker that ran it.
    note
        Why a city with earlier outputs ran again (``outputs incomplete: coverage.csv
        missing``), or that a failed city's older outputs were marked stale; empty otherwise.
    """

    config: Path
    status: Status
    city: str | None = None
    out: Path | None = None
    reason: str = ""
    bad_input: bool = False
    key: str = ""
    cpu_s: float = 0.0
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    worker: str = ""
    note: str = ""


@dataclass(frozen=True)
class NationalRun:
    """What :func:`run_many` did.

    Attributes
    ----------
    out
        The national folder.
    cities
        One outcome per config, in config order.
    rollup
        The national rollup; ``None`` when no city has outputs.
    dashboard
        The Dask dashboard address (empty when the cluster serves none).
    workers
        Number of Dask workers used.
    wall_s
        Wall seconds of the whole sweep, rollup included.
    worker_start_cpu_s
        CPU seconds each worker spent in :func:`warm_up` (its imports), once per worker
        before its first city; not part of any city's ``cpu_s``.
    """

    out: Path
    cities: list[CityOutcome]
    rollup: NationalResult | None
    dashboard: str = ""
    workers: int = 0
    wall_s: float = 0.0
    worker_start_cpu_s: tuple[float, ...] = ()

    def with_status(self, status: Status) -> list[CityOutcome]:
        """Return the outcomes with ``status``, in config order."""
        return [c for c in self.cities if c.status == status]

    @property
    def exit_code(self) -> int:
        """0 when every city has outputs, 2 when a failure is bad input only, else 1."""
        failed = self.with_status("failed")
        if not failed:
            return 0
        return 2 if all(c.bad_input for c in failed) else 1


# --------------------------------------------------------------------------- configs


def find_configs(paths: Sequence[str | Path]) -> list[Path]:
    """Expand config files, folders (their ``*.yaml``/``*.yml``) and glob patterns.

    Parameters
    ----------
    paths
        What the user named.

    Returns
    -------
    list of pathlib.Path
        Unique config files, in the order named (a folder's and a glob's sorted).

    Raises
    ------
    InputError
        For a path that does not exist, a pattern that matches nothing, or no config at all.
    """
    found: dict[Path, Path] = {}
    for raw in paths:
        for path in _expand(str(raw)):
            found.setdefault(path.resolve(), path)
    if not found:
        raise InputError(", ".join(str(p) for p in paths) or "configs", None, "no city configs")
    return list(found.values())


def _expand(raw: str) -> list[Path]:
    path = Path(raw)
    if path.is_dir():
        files = [p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()]
        if not files:
            raise InputError(path, None, "folder holds no city configs (*.yaml)")
        return sorted(files)
    if path.is_file():
        return [path]
    if glob.has_magic(raw):
        files = [Path(p) for p in sorted(glob.glob(raw)) if Path(p).is_file()]
        if not files:
            raise InputError(raw, None, "pattern matches no config file")
        return files
    raise InputError(path, None, "no such config file or folder")


# --------------------------------------------------------------------------- the key


def city_key(cfg: CityConfig, *, options: dict[str, Any]) -> str:
    """Return the SHA-256 key of a city's inputs and parameters.

    The key covers the validated config (every parameter, with defaults filled in), the
    bytes of every input file, the run options (maps, report) and the latcircle version:
    anything that can change an output changes the key.

    Parameters
    ----------
    cfg
        The validated config.
    options
        The run options that change which files are written.
    """
    from latcircle.output.files import sha256_file

    inputs = {role: [sha256_file(p) for p in paths] for role, paths in cfg.input_paths().items()}
    record = {
        "latcircle": __version__,
        "config": cfg.model_dump(mode="json"),
        "inputs": inputs,
        "options": options,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- one city


def run_city_task(
    config: str | Path,
    *,
    cities: str | Path,
    maps: bool = False,
    report: bool = False,
    force: bool = False,
    cores_by_worker: dict[str, list[int]] | None = None,
    log_level: int | None = None,
) -> CityOutcome:
    """Run one city of a national sweep (the Dask task; also callable directly).

    Never raises for a city's own failure: the outcome says ``failed`` with the reason, so
    that one bad city cannot stop the sweep.

    Parameters
    ----------
    config
        The city's YAML config.
    cities
        The folder that holds the city output folders (``<cities>/<id>/``).
    maps
        Also write ``map.html``.
    report
        Also write ``report.html``.
    force
        Run even when finished outputs have the same key.
    cores_by_worker
        The CPU cores each worker's tasks run on (by worker address): with several workers
        on one machine, each gets its own share, so that the engine's threads (one per
        usable core) do not fight the other workers' for the same cores.
    log_level
        In a worker: log (and Python warnings) at this level and above, one plain line each
        on the worker's stderr, named by the city (``WARNING  wuhan: ...``); ``None``
        leaves logging as it is (a direct call).

    Returns
    -------
    CityOutcome
    """
    t0, c0 = time.perf_counter(), time.process_time()
    _pin(cores_by_worker)
    config = Path(config)
    city = out = None
    key = note = ""
    with _city_log(config.stem, log_level) as label:
        try:
            from latcircle.config import load_config

            cfg = load_config(config)
            city, out = cfg.id, Path(cities) / cfg.id
            label[0] = cfg.id
            key = city_key(cfg, options={"maps": maps, "report": report})
            why = "forced (--force)" if force else _reason_to_run(out, key)
            if why is None:
                status: Status = "skipped"
            else:
                if why not in (
                    "no finished outputs",
                    "inputs or parameters changed",
                    "forced (--force)",
                ):
                    note = why  # outputs damaged, incomplete or stale: worth a line
                    log.warning("rerun: %s", why)
                _run_one(cfg, out=out, key=key, maps=maps, report=report)
                status = "done"
        except InputError as exc:
            note = _stale(out, str(exc), config)
            return _outcome(
                config, "failed", city, out, key, t0, c0, reason=str(exc), bad_input=True, note=note
            )
        except Exception as exc:  # reported per city: the sweep goes on
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            note = _stale(out, reason, config)
            return _outcome(config, "failed", city, out, key, t0, c0, reason=reason, note=note)
        finally:
            _release_memory()
    return _outcome(config, status, city, out, key, t0, c0, note=note)


@contextlib.contextmanager
def _city_log(name: str, level: int | None) -> Iterator[list[str]]:
    """Log the task's records and warnings as plain lines naming the city, at ``level``.

    Yields the city's label (a one-item list, renamed once the config gives the city id).
    """
    label = [name]
    if level is None:
        yield label
        return
    root, ours = logging.getLogger(), logging.getLogger("latcircle")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CityFormatter(label))
    handler.setLevel(level)
    saved_root, saved_ours = root.level, ours.level
    root.addHandler(handler)
    root.setLevel(min(level, logging.WARNING))
    ours.setLevel(level)
    with warnings_logged(log):
        try:
            yield label
        finally:
            root.removeHandler(handler)
            root.setLevel(saved_root)
            ours.setLevel(saved_ours)


class _CityFormatter(VisibleFormatter):
    """``LEVEL    city: message``: one plain line (data shown as in any log), the city named."""

    def __init__(self, label: list[str]) -> None:
        super().__init__("%(message)s")
        self.label = label

    def format(self, record: logging.LogRecord) -> str:
        city = terminal_text(self.label[0])  # a config file's name: data too
        return f"{record.levelname:<8} {city}: {super().format(record)}"


def _reason_to_run(out: Path, key: str) -> str | None:
    from latcircle.output.batch import reason_to_run

    return reason_to_run(out, key)


def _stale(out: Path | None, reason: str, config: Path) -> str:
    """Mark the failed city's older outputs stale (never deleted); say so in the outcome."""
    if out is None:
        return ""
    from latcircle.output.batch import mark_stale

    try:
        marked = mark_stale(out, reason=reason, config=str(config))
    except LatcircleError:  # the folder cannot be written: the failure already says why
        return ""
    if marked:
        log.warning("older outputs in %s kept and marked stale (%s)", out, "stale.json")
        return f"older outputs in {out} marked stale"
    return ""


def _run_one(cfg: CityConfig, *, out: Path, key: str, maps: bool, report: bool) -> None:
    from latcircle.output.batch import write_batch_record
    from latcircle.pipeline.city import DROPPED, default_outputs, run_city

    run_city(cfg, out=out, options=DROPPED, extra_outputs=default_outputs(maps=maps, report=report))
    # Last, once the outputs are in place: its list of files is what "complete" means.
    write_batch_record(out, key=key, options={"maps": maps, "report": report})


def _outcome(
    config: Path,
    status: Status,
    city: str | None,
    out: Path | None,
    key: str,
    t0: float,
    c0: float,
    *,
    reason: str = "",
    bad_input: bool = False,
    note: str = "",
) -> CityOutcome:
    return CityOutcome(
        config=config,
        status=status,
        city=city,
        out=out,
        reason=reason,
        bad_input=bad_input,
        key=key,
        cpu_s=time.process_time() - c0,
        wall_s=time.perf_counter() - t0,
        peak_rss_mb=peak_rss_mb(),
        worker=_worker_name(),
        note=note,
    )


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _release_memory() -> None:
    """Hand the city's freed memory back to the OS before the worker's next city.

    glibc keeps large freed arrays resident once its mmap threshold has risen; in a
    long-lived worker one large city would otherwise hold its peak for the rest of the sweep.
    """
    release_memory()


def _pin(cores_by_worker: dict[str, list[int]] | None) -> None:
    """Restrict this task's thread (and the threads it starts) to its worker's cores."""
    if cores_by_worker:
        pin_cores(cores_by_worker.get(_worker_name()) or [])


def _usable_cores() -> list[int]:
    return core_ids()


def _core_shares(
    usable: dict[str, list[int]], *, per_worker: int | None = None
) -> dict[str, list[int]]:
    """Share the cores among workers on one machine: equal, disjoint slices when they fit.

    With more workers than cores (or workers that see different cores: not one machine)
    nothing is pinned. ``per_worker`` caps each slice.
    """
    workers = sorted(usable)
    cores = usable[workers[0]] if workers else []
    if not workers or any(usable[w] != cores for w in workers) or len(workers) > len(cores):
        return {}
    per = len(cores) // len(workers)
    if per_worker is not None:
        per = max(1, min(per, per_worker))
    return {w: cores[i * per : (i + 1) * per] for i, w in enumerate(workers)}


def warm_up() -> int:
    """Import what every city needs, then ``gc.freeze()`` it (run once per worker).

    The imported modules (tens of thousands of objects) move to the permanent generation,
    so the collector stops walking them in the cities' runs. It also imports what a batch
    city imports late (the steps' imports inside functions, the writers' first-use imports:
    listed from ``sys.modules`` after a Wuhan task, session round 11; ~0.2 s CPU) and reads
    ``run.json``'s package versions: once per worker, not in its first city's task.

    Returns
    -------
    int
        The process id (so that the caller can see one answer per worker).
    """
    with collector_paused():  # what is imported lives as long as the worker
        import sqlite3  # noqa: F401 - the GeoPackage check of latcircle.output.files

        import pyarrow.dataset  # pyarrow.parquet's read_table imports it
        import pyarrow.parquet  # noqa: F401 - GeoParquet inputs (geopandas.io.arrow)

        import latcircle.analysis.leo
        import latcircle.analysis.progress
        import latcircle.inputs.ofds
        import latcircle.output.causes
        import latcircle.output.exports
        import latcircle.output.record
        import latcircle.output.styles
        import latcircle.pipeline
        import latcircle.present.explain  # compute_run's explanations

        latcircle.output.record.package_versions()  # read once per process
    gc.collect()
    gc.freeze()
    return os.getpid()


def _warm_up_measured() -> tuple[int, float]:
    """:func:`warm_up`, and the CPU seconds it took in this worker."""
    c0 = time.process_time()
    pid = warm_up()
    return pid, time.process_time() - c0


# --------------------------------------------------------------------------- the sweep


def run_many(
    configs: Sequence[str | Path],
    *,
    out: str | Path,
    cities: str | Path | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    maps: bool = False,
    report: bool = False,
    force: bool = False,
    cores_per_worker: int | None = None,
    on_city: Callable[[CityOutcome, int, int], None] | None = None,
    on_dashboard: Callable[[str], None] | None = None,
    dask_log_level: int = logging.WARNING,
    on_configs: Callable[[list[Path]], None] | None = None,
    worker_log_level: int | None = logging.WARNING,
) -> NationalRun:
    """Run every city (one Dask task each), then the national rollup.

    Parameters
    ----------
    configs
        City configs: files, folders of ``*.yaml`` or glob patterns.
    out
        The national folder (replaced whole by the rollup).
    cities
        Where the city output folders go (``<cities>/<id>/``); ``out``'s parent when
        ``None``, so that ``--out outputs/national`` puts the cities in ``outputs/<id>/``
        as ``latcircle run`` does.
    scheduler
        Address of a running Dask scheduler; a new ``LocalCluster`` when ``None``.
    workers
        Worker processes of the ``LocalCluster`` (one thread each); one per core when
        ``None``. Ignored with ``scheduler``.
    maps, report
        Also write each city's ``map.html`` / ``report.html`` (off: a sweep pays for the
        engine and the tables only).
    force
        Rerun cities even when their finished outputs have the same key.
    cores_per_worker
        On a local cluster, pin each worker's tasks (and the engine's threads, one per
        usable core) to this many cores of their own, disjoint slices of the machine; by
        default nothing is pinned and the OS schedules. ``1`` makes every worker
        single-core (the benchmark's per-core scaling, and no oversubscription on a
        dedicated machine).
    on_city
        Called in the driver as each city finishes, with its outcome, the number finished
        and the total (a progress bar).
    on_dashboard
        Called with the Dask dashboard address once the cluster is up.
    dask_log_level
        Level of the local cluster's own logs (worker starts and stops are INFO).
    on_configs
        Called with the config files found, before the cluster starts (a bar's total).
    worker_log_level
        The level of the log lines and Python warnings of each city's task, printed as plain
        lines naming the city (``logging.ERROR``: quiet); ``None`` leaves the workers'
        logging as Dask sets it.

    Returns
    -------
    NationalRun

    Raises
    ------
    InputError
        When a config path does not exist, two configs share a city id, a city id would
        write into the national folder, ``out`` may not be replaced (a folder latcircle did
        not write, or one holding a config: :func:`~latcircle.output.files.check_output_folder`)
        or ``workers`` is below 1. Nothing is run or written then.
    KeyboardInterrupt
        On Ctrl-C (or SIGTERM through the CLI): the cluster is shut down quietly first; the
        cities finished keep their outputs, the national folder is left as it was.
    LatcircleError
        When the scheduler given does not answer, or has no worker, within a minute.
    """
    t0 = time.perf_counter()
    out = Path(out)
    if workers is not None and workers < 1:
        raise InputError("--workers", None, f"{workers}: at least one worker is needed")
    paths = find_configs(configs)
    cities_dir = Path(cities) if cities is not None else out.parent
    _check_ids(paths, cities_dir=cities_dir, out=out)
    _check_out(out, paths)
    if on_configs is not None:
        on_configs(paths)
    options: dict[str, Any] = {"cities": str(cities_dir), "maps": maps, "report": report}
    options |= {"force": force, "log_level": worker_log_level}
    with _client(scheduler, workers, dask_log_level) as client:
        link = _dashboard_link(client)
        if on_dashboard is not None:
            on_dashboard(link)
        started = client.run(_warm_up_measured)
        n_workers = len(started)
        # Only the cluster started here is known to be one machine: share its cores, when
        # asked. Not by default: on a machine shared with other work, a pinned worker cannot
        # move off a busy core (measured: twice the wall time under a load of 12 on 2 cores).
        if scheduler is None and cores_per_worker is not None:
            shares = _core_shares(client.run(_usable_cores), per_worker=cores_per_worker)
            options["cores_by_worker"] = shares
        outcomes = _run_tasks(client, paths, options, on_city)
    rollup = _rollup(outcomes, out=out)
    return NationalRun(
        out=out,
        cities=outcomes,
        rollup=rollup,
        dashboard=link,
        workers=n_workers,
        wall_s=time.perf_counter() - t0,
        worker_start_cpu_s=tuple(cpu for _, cpu in started.values()),
    )


def _check_out(out: Path, configs: list[Path]) -> None:
    """Refuse a national folder that may not be replaced before any city runs, not after."""
    from latcircle.output.files import check_output_folder

    check_output_folder(out, inputs=configs)


def _check_ids(paths: list[Path], *, cities_dir: Path, out: Path) -> None:
    """Refuse two configs of one city, and a city whose folder is the national folder.

    Reads only the ``id`` key (cheap: the configs are validated in the workers).
    """
    import yaml

    seen: dict[str, Path] = {}
    for path in paths:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # reported by its own task, with the reason
        cid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(cid, str):
            continue
        if cid in seen:
            raise InputError(path, "id", f"city {cid!r} is also configured in {seen[cid]}")
        if (cities_dir / cid).resolve() == out.resolve():
            raise InputError(path, "id", f"city {cid!r} would write into the national folder {out}")
        seen[cid] = path


#: Dask's statistical profiler samples every thread of a worker every 10 ms; measured on six
#: demo metros, one worker, it cost ~0.6 s of CPU per city (median 7.9–8.0 → 7.2–7.3 s).
#: Off on the local cluster unless the environment says otherwise.
_PROFILE_ENV = "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED"


#: Dask starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (``distributed.nanny.pre-spawn-
#: environ``), which switches off glibc's dynamic mmap threshold: every array over 128 KiB is
#: mapped, page-faulted in and unmapped afresh (~1.5 s more system CPU per Wuhan batch task,
#: session round 11). A city's end trims the heap (:func:`_release_memory`): local workers
#: keep glibc's defaults unless the user chose a value (environment, or Dask config).
_TRIM_ENV = "MALLOC_TRIM_THRESHOLD_"
_DASK_TRIM_DEFAULT = "65536"

#: Dask's servers wake every 20 ms (``distributed.admin.tick.interval``) to time their event
#: loop: an idle local worker used ~17 ms CPU a second, ~4.5 at 1 s (session round 11), paid
#: by a task for as long as it runs. Once a second here, unless the user set it.
_TICK_KEY = "distributed.admin.tick.interval"
_TICK_ENV = "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL"
_TICK = "1s"


def _local_worker_config() -> dict[str, Any]:
    """Dask settings for the workers of the cluster started here."""
    import dask
    import distributed  # noqa: F401 - its defaults (the nanny's environment) join dask's

    out: dict[str, Any] = {}
    if _PROFILE_ENV not in os.environ:  # else the user's choice (read by dask itself)
        out["distributed.worker.profile.enabled"] = False
    key = "distributed.nanny.pre-spawn-environ"
    spawn_env = dask.config.get(key, default={}) or {}
    chosen = _TRIM_ENV in os.environ or str(spawn_env.get(_TRIM_ENV)) != _DASK_TRIM_DEFAULT
    if not chosen:  # None unsets it (distributed.nanny._get_env_variables)
        out[key] = {**spawn_env, _TRIM_ENV: None}
    if _TICK_ENV not in os.environ and str(dask.config.get(_TICK_KEY, default="")) == "20ms":
        out[_TICK_KEY] = _TICK
    return out


class _client:  # noqa: N801 - a context manager used like a function
    """A Dask client on ``scheduler``, or on a new LocalCluster closed on exit."""

    def __init__(self, scheduler: str | None, workers: int | None, log_level: int) -> None:
        self.scheduler, self.workers, self.log_level = scheduler, workers, log_level
        self.cluster: Any = None
        self.client: Client | None = None

    def __enter__(self) -> Client:
        import dask
        from distributed import Client, LocalCluster

        # Importing distributed sets its logger to INFO (dask's config); ours decides.
        logging.getLogger("distributed").setLevel(self.log_level)
        if self.scheduler is not None:
            try:
                self.client = Client(self.scheduler, timeout=_CONNECT_S)
                # A scheduler without workers would hold every city forever.
                self.client.wait_for_workers(1, timeout=_CONNECT_S)
            except (OSError, TimeoutError) as exc:
                self.__exit__()
                msg = f"{self.scheduler}: no Dask scheduler with workers answers ({exc})"
                raise LatcircleError(msg) from None
            return self.client
        n = self.workers or usable_cores()
        # The workers leave Ctrl-C to this process, which shuts them down quietly (__exit__).
        with dask.config.set(_local_worker_config()), children_ignore_interrupt():
            self.cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                memory_limit=0,  # cities differ widely: no per-worker cap that pauses a big one
                silence_logs=self.log_level,
            )
        self.client = Client(self.cluster)
        # ... and so does a worker the nanny restarts (the plugin runs in every one that joins).
        from latcircle.dask_workers import IgnoreInterrupt

        self.client.register_plugin(IgnoreInterrupt())
        return self.client

    def __exit__(self, exc_type: type[BaseException] | None = None, *exc: object) -> None:
        interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        with _quiet_shutdown(self.client if interrupted else None):
            if self.client is not None:
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()


#: Loggers whose lines on an interrupted shutdown are noise (cancelled tasks, killed workers).
_SHUTDOWN_LOGGERS = ("distributed", "tornado", "asyncio")


@contextlib.contextmanager
def _quiet_shutdown(client: Client | None) -> Iterator[None]:
    """After Ctrl-C: close the cluster without Dask's tracebacks and warnings.

    A second Ctrl-C during the shutdown is ignored (it would leave worker processes
    behind). ``None``: a normal close, nothing silenced.
    """
    if client is None:
        yield
        return
    loggers = [logging.getLogger(name) for name in _SHUTDOWN_LOGGERS]
    levels = [lg.level for lg in loggers]
    with contextlib.suppress(Exception):  # the workers' side: cancelled tasks log warnings
        client.run(_silence_dask_logs)
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        with children_ignore_interrupt():
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _silence_dask_logs() -> None:
    """Run on each worker as the sweep is interrupted: its cancelled task is not news."""
    for name in _SHUTDOWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _dashboard_link(client: Client) -> str:
    try:
        return str(client.dashboard_link or "")
    except (KeyError, AttributeError):
        return ""


def _run_tasks(
    client: Client,
    paths: list[Path],
    options: dict[str, Any],
    on_city: Callable[[CityOutcome, int, int], None] | None,
) -> list[CityOutcome]:
    from distributed import as_completed

    names = ("cities", "maps", "report", "force", "cores_by_worker", "log_level")
    kw = {k: options.get(k) for k in names}
    # Absolute paths: a worker's working folder is not the driver's (on a cluster the
    # configs and outputs must be on a file system every worker shares).
    kw["cities"] = str(Path(str(options["cities"])).resolve())
    # pure=False: a rerun must look at the files again, never reuse a remembered result.
    futures = {
        client.submit(
            run_city_task, str(p.resolve()), pure=False, key=f"city-{i}-{p.stem}", **kw
        ): i
        for i, p in enumerate(paths)
    }
    results: list[CityOutcome | None] = [None] * len(paths)
    for done, future in enumerate(as_completed(futures), start=1):
        i = futures[future]
        # Reported with the config path as the user gave it.
        outcome = dataclasses.replace(_result(future, paths[i]), config=paths[i])
        results[i] = outcome
        if on_city is not None:
            on_city(outcome, done, len(paths))
    return [r for r in results if r is not None]


def _result(future: Any, path: Path) -> CityOutcome:
    """Return the task's outcome; a lost worker or a task that cannot run is a failure too."""
    try:
        return future.result()
    except Exception as exc:  # the worker died (killed, out of memory)
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return CityOutcome(config=path, status="failed", reason=reason)


# --------------------------------------------------------------------------- rollup


def _rollup(outcomes: list[CityOutcome], *, out: Path) -> NationalResult | None:
    from latcircle.pipeline import run_national

    folders = [c.out for c in outcomes if c.status != "failed" and c.out is not None]
    missing = [c for c in outcomes if c.status == "failed"]
    sweep = _sweep(outcomes)
    if not folders:
        log.warning("no city has outputs: the national folder %s is left as it was", out)
        return None

    def headline(result: NationalResult, folder: Path) -> None:
        from latcircle.analysis.national import caict_headline
        from latcircle.output.files import write_csv

        # The roll-up has read every run already (result.runs, in folder order).
        write_csv(caict_headline(result.runs, sweep=sweep), folder / "headline.csv")

    def missing_list(_result: NationalResult, folder: Path) -> None:
        _write_missing(missing, folder)

    return run_national(folders, out=out, extra_outputs=[headline, missing_list], sweep=sweep)


def _sweep(outcomes: list[CityOutcome]) -> list[SweepCity]:
    """Return what became of each city asked, in config order (for every national table)."""
    from latcircle.analysis.national import SweepCity

    words = {"done": "run", "skipped": "up to date", "failed": "failed"}
    return [
        SweepCity(str(c.config), c.city or "", words[c.status], c.reason or c.note)
        for c in outcomes
    ]


def _write_missing(missing: list[CityOutcome], folder: Path) -> None:
    """Write ``missing.csv`` (config, city, reason) and append them to ``shortfalls.md``."""
    from latcircle.output.files import write_csv

    table = pd.DataFrame(
        [{"config": str(c.config), "city": c.city or "", "reason": c.reason} for c in missing],
        columns=["config", "city", "reason"],
    )
    write_csv(table, folder / "missing.csv")
    if missing:
        lines = ["", "## Missing cities", "", "No outputs (not in the tables above):", ""]
        from latcircle.present.style import markdown_text

        lines += [
            f"- {markdown_text(c.city or c.config)}: {markdown_text(c.config)}: "
            f"{markdown_text(c.reason)}"
            for c in missing
        ]
        with (folder / "shortfalls.md").open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
