"""Measuring: wall and CPU time, peak memory, child processes, the machine and versions.

Deliberately free of heavy imports (no numpy here), so that a child process can time its own
imports of latcircle.

Peak memory is the resident set's high-water mark. On Linux the kernel keeps it per process
(``VmHWM`` in ``/proc/self/status``) and resets it to the current RSS when ``5`` is written to
``/proc/self/clear_refs``: that gives an exact peak for any block of code, not a sampled one.
Where the reset is not allowed, the peak falls back to ``ru_maxrss`` (the process's peak since
it started), which is still exact for a whole child process.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import ROOT
from latcircle import system

MB = 1024.0 * 1024.0

#: Packages whose versions the report lists.
VERSIONED = (
    "latcircle",
    "numpy",
    "scipy",
    "shapely",
    "geopandas",
    "pyogrio",
    "pyproj",
    "rasterio",
    "pandas",
    "networkx",
    "osmnx",
    "psutil",
)


# --------------------------------------------------------------------------- summaries


def summary(values: Sequence[float]) -> dict[str, float]:
    """Return median, min, max and count of ``values`` (NaN when empty)."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        nan = float("nan")
        return {"median": nan, "min": nan, "max": nan, "n": 0}
    return {
        "median": statistics.median(vals),
        "min": min(vals),
        "max": max(vals),
        "n": len(vals),
    }


# --------------------------------------------------------------------------- memory


def _status_kb(key: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float:
    """Return this process's current resident set size in MiB."""
    kb = _status_kb("VmRSS")
    if kb is not None:
        return kb / 1024.0
    import psutil

    return psutil.Process().memory_info().rss / MB


def peak_rss_mb() -> float:
    """Return this process's resident high-water mark in MiB (since start or last reset)."""
    kb = _status_kb("VmHWM")
    if kb is not None:
        return kb / 1024.0
    return system.peak_rss_mb()


def reset_peak() -> bool:
    """Reset the high-water mark to the current RSS; ``False`` where the OS does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


@dataclass
class Block:
    """Wall time, CPU time (all threads of this process) and peak RSS of a block of code."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    start_rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    peak_exact: bool = True

    @property
    def peak_increment_mb(self) -> float:
        """Peak RSS above the RSS at the block's start."""
        return max(self.peak_rss_mb - self.start_rss_mb, 0.0)

    def as_dict(self) -> dict[str, float]:
        """Return the fields as a plain dict (for JSON)."""
        return {
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "start_rss_mb": self.start_rss_mb,
            "peak_rss_mb": self.peak_rss_mb,
            "peak_increment_mb": self.peak_increment_mb,
        }


@contextlib.contextmanager
def measure() -> Iterator[Block]:
    """Measure the enclosed block; the yielded :class:`Block` is filled in at exit."""
    block = Block()
    block.peak_exact = reset_peak()
    block.start_rss_mb = rss_mb()
    c0, w0 = time.process_time(), time.perf_counter()
    try:
        yield block
    finally:
        block.wall_s = time.perf_counter() - w0
        block.cpu_s = time.process_time() - c0
        block.peak_rss_mb = peak_rss_mb()


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, Block]:
    """Call ``fn`` and return its result with the :class:`Block` it took."""
    with measure() as block:
        out = fn(*args, **kwargs)
    return out, block


# --------------------------------------------------------------------------- processes


@dataclass
class ChildRun:
    """A finished child process: exit code, wall time, CPU time and peak RSS (from wait4)."""

    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mb: float
    stderr_tail: str = ""
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def cpu_s(self) -> float:
        """User plus system CPU seconds."""
        return self.user_s + self.sys_s


def run_process(cmd: Sequence[str], *, timeout_s: float, cwd: Path = ROOT) -> ChildRun:
    """Run ``cmd`` to completion and return its resource use.

    Wall time is measured around the process; CPU time and peak RSS come from ``wait4`` for
    that very child (its own peak, not the maximum over every child so far). On timeout the
    child (and only it) is killed and the run reported with return code ``-9``.
    """
    with tempfile.TemporaryFile() as err:
        w0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        deadline = w0 + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if time.perf_counter() > deadline:
                os.kill(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        wall = time.perf_counter() - w0
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
        err.seek(0)
        tail = err.read().decode("utf-8", "replace")[-2000:]
    return ChildRun(
        returncode=proc.returncode,
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        peak_rss_mb=system.maxrss_mb(usage.ru_maxrss),
        stderr_tail=tail,
    )


def run_child(task: str, args: dict[str, Any], *, timeout_s: float) -> ChildRun:
    """Run ``benchmarks._child`` task ``task`` in a fresh interpreter and return its result.

    Raises
    ------
    RuntimeError
        When the child fails or times out (with the tail of its stderr).
    """
    with tempfile.TemporaryDirectory(prefix="latcircle-bench-") as tmp:
        args_path, result_path = Path(tmp) / "args.json", Path(tmp) / "result.json"
        args_path.write_text(json.dumps(args))
        run = run_process(
            [sys.executable, "-m", "benchmarks._child", task, str(args_path), str(result_path)],
            timeout_s=timeout_s,
        )
        if run.returncode != 0 or not result_path.exists():
            msg = f"benchmark task {task} failed (exit {run.returncode}):\n{run.stderr_tail}"
            raise RuntimeError(msg)
        run.result = json.loads(result_path.read_text())
    return run


# --------------------------------------------------------------------------- environment


def machine() -> dict[str, Any]:
    """Return the CPU model, core counts, RAM, OS and Python of this machine."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gb = float("nan")
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                ram_gb = float(line.split()[1]) / 1024.0 / 1024.0
                break
    usable = system.usable_cores()
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "ram_gb": ram_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def load_average() -> tuple[float, float, float]:
    """Return the 1, 5 and 15 minute load averages (NaN where unavailable)."""
    try:
        return os.getloadavg()
    except OSError:
        nan = float("nan")
        return nan, nan, nan


def versions() -> dict[str, str | None]:
    """Return package versions, GEOS and GDAL."""
    out: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    with contextlib.suppress(Exception):
        import shapely

        out["GEOS"] = shapely.geos_version_string
    with contextlib.suppress(Exception):
        import rasterio

        out["GDAL"] = rasterio.__gdal_version__
    return out


def git_commit() -> str | None:
    """Return the checked-out commit (read-only ``git rev-parse``), ``None`` outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
