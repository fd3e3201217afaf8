"""latcircle off Linux: each platform call's fallback, and whole runs as on Windows and macOS.

No Windows or macOS runner is available here, so the other platforms are simulated on Linux:
``sys.platform`` says ``win32`` or ``darwin``, and the calls those systems lack are removed or
made to fail the way they do there (``os.sched_getaffinity`` and ``os.sched_setaffinity``
absent; ``ctypes.CDLL(None)`` raising ``TypeError`` on Windows; no ``resource`` module on
Windows; ``os.kill(pid, 0)``, which sends Ctrl-C on Windows, refused).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from latcircle import system
from latcircle.cli import main
from latcircle.demo.generator import write_demo_city
from latcircle.output import files

REAL_CDLL = ctypes.CDLL


def _windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this process look like Windows to latcircle's platform calls."""
    psutil = pytest.importorskip("psutil")  # imported first: it refuses to import as win32
    monkeypatch.setattr(sys, "platform", "win32")
    for name in ("sched_getaffinity", "sched_setaffinity"):
        monkeypatch.delattr(os, name, raising=False)
    monkeypatch.setitem(sys.modules, "resource", None)  # `import resource` -> ImportError

    def cdll(name: object, *args: object, **kw: object) -> object:
        if name is None:  # what ctypes does on Windows
            raise TypeError("expected str, bytes or os.PathLike object, not NoneType")
        raise OSError(f"{name}: no such library on Windows")

    monkeypatch.setattr(ctypes, "CDLL", cdll)

    def kill(pid: int, sig: int) -> None:
        raise AssertionError(f"os.kill({pid}, {sig}) sends Ctrl-C on Windows")

    monkeypatch.setattr(os, "kill", kill)
    # psutil on Windows asks the process table (OpenProcess), not a signal: /proc here.
    monkeypatch.setattr(psutil, "pid_exists", lambda pid: Path(f"/proc/{int(pid)}").exists())


def _macos(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this process look like macOS: no affinity calls, no glibc, no renameat2."""
    monkeypatch.setattr(sys, "platform", "darwin")
    for name in ("sched_getaffinity", "sched_setaffinity"):
        monkeypatch.delattr(os, name, raising=False)

    def cdll(name: object, *args: object, **kw: object) -> object:
        if name == "libc.so.6":
            raise OSError("libc.so.6: cannot open shared object file")
        return REAL_CDLL(name, *args, **kw)  # Linux libc: no renamex_np, as macOS has no renameat2

    monkeypatch.setattr(ctypes, "CDLL", cdll)


PLATFORMS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "windows": _windows,
    "macos": _macos,
}


# --------------------------------------------------------------------------- each call


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_cores_fall_back_to_the_cpu_count(monkeypatch, platform):
    PLATFORMS[platform](monkeypatch)
    expected = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    assert system.usable_cores() == expected >= 1
    assert system.core_ids() == []
    assert system.pin_cores([0]) is False


def test_cores_on_linux_are_the_affinity_set():
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("not Linux")
    assert system.usable_cores() == len(os.sched_getaffinity(0))
    assert system.core_ids() == sorted(os.sched_getaffinity(0))


def test_ru_maxrss_is_kib_on_linux_and_bytes_on_macos():
    # 2 GiB as each OS reports it.
    assert system.maxrss_mb(2 * 1024 * 1024, platform="linux") == 2048.0
    assert system.maxrss_mb(2 * 1024**3, platform="darwin") == 2048.0


def test_peak_memory_on_windows_comes_from_psutil(monkeypatch):
    psutil = pytest.importorskip("psutil")
    rss = psutil.Process().memory_info().rss / 1024**2
    _windows(monkeypatch)
    peak = system.peak_rss_mb()
    # No peak_wset off Windows: the current RSS stands in; both are this process's MiB.
    assert 0.5 * rss < peak < 2 * rss + 100


def test_peak_memory_on_linux_matches_proc_status():
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        pytest.skip("no /proc")
    hwm = next(int(line.split()[1]) for line in text.splitlines() if line.startswith("VmHWM"))
    assert system.peak_rss_mb() == pytest.approx(hwm / 1024.0, rel=0.05)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_malloc_trim_is_glibc_only(monkeypatch, platform):
    PLATFORMS[platform](monkeypatch)
    assert system.release_memory() is False


def test_the_c_library_is_named_per_platform(monkeypatch):
    if not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"):
        pytest.skip("needs glibc Linux (the platform simulated from)")
    assert system._c_library_name() == "libc.so.6"
    assert system._c_function("malloc_trim") is not None

    def no_glibc(name: str) -> str:  # musl's Python: the name is unknown
        raise ValueError(f"unrecognized configuration name: {name}")

    with monkeypatch.context() as m:
        m.setattr(os, "confstr", no_glibc)
        assert system._c_library_name() is None
        assert system._c_function("malloc_trim") is None
        assert system.release_memory() is False
    with monkeypatch.context() as m:
        m.setattr(sys, "platform", "darwin")
        import ctypes.util

        m.setattr(ctypes.util, "find_library", lambda name: f"/usr/lib/lib{name}.dylib")
        assert system._c_library_name() == "/usr/lib/libc.dylib"
    with monkeypatch.context() as m:
        m.setattr(sys, "platform", "win32")
        assert system._c_library_name() is None
        assert system._c_function("renameat2") is None


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_no_exchange_off_linux_means_two_renames(monkeypatch, platform, tmp_path):
    PLATFORMS[platform](monkeypatch)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    assert system.exchange_folders(a, b) is False
    assert a.is_dir() and b.is_dir()  # untouched


def test_exchange_on_linux_swaps_or_says_it_cannot(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "from_a").write_text("a")
    (b / "from_b").write_text("b")
    swapped = system.exchange_folders(a, b)
    if not sys.platform.startswith("linux"):
        assert swapped is False
        return
    # tmpfs, ext4, xfs, btrfs swap; overlayfs says EINVAL (then False and nothing moved).
    assert [p.name for p in a.iterdir()] == (["from_b"] if swapped else ["from_a"])
    assert [p.name for p in b.iterdir()] == (["from_a"] if swapped else ["from_b"])


def test_pid_alive_on_windows_asks_psutil(monkeypatch):
    pytest.importorskip("psutil")
    _windows(monkeypatch)
    assert system.pid_alive(os.getppid()) is True
    assert system.pid_alive(os.getpid()) is False  # this process: never "another run"
    assert system.pid_alive(2**22 + 12345) is False  # above Linux's pid_max


# --------------------------------------------------------------------------- whole runs


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The national tests' smallest generated metro (about 1 k nodes): cheap, yet every stage.
    return write_demo_city(
        tmp_path_factory.mktemp("metro") / "metro", seed=11, scale=0.12, city_id="metro"
    )


@pytest.fixture(scope="module")
def first_run(demo_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The metro run once on Linux (no map, no report): READ-ONLY, each test copies it."""
    out = tmp_path_factory.mktemp("first") / "out"
    assert main(["-q", "run", str(demo_config), "--out", str(out), "--no-map", "--no-report"]) == 0
    return out


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_a_whole_demo_run_as_on_another_platform(
    monkeypatch, platform, demo_config, first_run, tmp_path
):
    """Run, then replace the outputs with a second run, with the Linux-only calls gone.

    The second run must go through the two-rename swap (no exchange off Linux here), leave
    no temporary folder behind, and clear a dead run's leftover through the platform's
    process check (psutil on Windows, never ``os.kill``).
    """
    out = tmp_path / "out"
    shutil.copytree(first_run, out, symlinks=True)  # the previous outputs, as a run left them
    before = {
        p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != "timings.json"
    }
    # A killed run's temporary folder, left by a process id that cannot exist.
    leftover = tmp_path / f".out.tmp-{2**22 + 12345}-abc"
    leftover.mkdir()
    (leftover / files.MARKER).write_text("x", encoding="utf-8")

    swaps: list[bool] = []

    def spy(a: Path, b: Path) -> bool:
        swaps.append(system.exchange_folders(a, b))
        return swaps[-1]

    PLATFORMS[platform](monkeypatch)
    monkeypatch.setattr(files, "exchange_folders", spy)
    code = main(["-q", "run", str(demo_config), "--out", str(out)])  # map and report too
    monkeypatch.undo()
    assert code == 0
    assert swaps == [False]  # the fallback swap was used
    after = {
        p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != "timings.json"
    }
    assert {"map.html", "report.html"} <= set(after)
    for name, data in before.items():
        if name != "run.json":  # it records the options' outputs (map, report)
            assert after[name] == data, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no .tmp-*, no .old-*


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_a_national_city_task_as_on_another_platform(monkeypatch, platform, demo_config, tmp_path):
    """One city of a national sweep (the Dask task, called directly): memory, pinning, trim."""
    from latcircle.national_run import run_city_task

    PLATFORMS[platform](monkeypatch)
    outcome = run_city_task(
        demo_config, cities=tmp_path, cores_by_worker={f"pid {os.getpid()}": [0]}
    )
    assert outcome.status == "done", outcome.reason
    assert (tmp_path / "metro" / "coverage.csv").is_file()
    # Simulated macOS divides Linux's KiB as if they were bytes: only the Windows figure is real.
    if platform == "windows":
        assert outcome.peak_rss_mb > 1.0
