"""Every call that differs between Linux, macOS and Windows, in one place.

The rest of latcircle asks this module, never ``os``/``ctypes``/``resource`` directly, for:

* the CPU cores this process may run on (:func:`usable_cores`, :func:`core_ids`,
  :func:`pin_cores`);
* its peak resident memory (:func:`peak_rss_mb`, :func:`maxrss_mb`) and handing freed
  memory back to the OS (:func:`release_memory`; :func:`collector_paused` around imports);
* swapping two folders in one atomic step (:func:`exchange_folders`), and flushing a folder's
  files to disk before (:func:`sync_tree`, :func:`sync_folder`);
* whether a process is alive (:func:`pid_alive`);
* one BLAS thread for a process that is latcircle's own command line
  (:func:`one_blas_thread`), and Arrow's memory from the C library's heap there
  (:func:`arrow_system_pool`);
* child processes that leave Ctrl-C to their parent (:func:`children_ignore_interrupt`,
  :func:`ignore_interrupt`).

Each function has a fallback on the platforms that lack the call, and
``tests/test_system.py`` runs each fallback (and a whole demo run) with the Linux-only calls
removed, as on macOS and Windows. Nothing here imports the rest of latcircle.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "arrow_system_pool",
    "children_ignore_interrupt",
    "collector_paused",
    "core_ids",
    "exchange_folders",
    "freeze_imports",
    "ignore_interrupt",
    "maxrss_mb",
    "one_blas_thread",
    "peak_rss_mb",
    "pid_alive",
    "pin_cores",
    "release_memory",
    "sync_folder",
    "sync_tree",
    "usable_cores",
]

#: ``renameat2`` flag: swap two paths atomically (Linux >= 3.15; ext4, xfs, btrfs, tmpfs).
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
#: ``renamex_np`` flag: swap two paths atomically (macOS >= 10.12, APFS and HFS+).
_RENAME_SWAP = 0x2


def usable_cores() -> int:
    """Return how many CPU cores this process may run on (at least 1).

    ``os.sched_getaffinity`` where present (Linux: a container's or ``taskset``'s share),
    else ``os.process_cpu_count`` (Python >= 3.13), else ``os.cpu_count``.
    """
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is not None:
        with contextlib.suppress(OSError):
            return max(1, len(getaffinity(0)))
    count = getattr(os, "process_cpu_count", os.cpu_count)
    return max(1, count() or 1)


def core_ids() -> list[int]:
    """Return the ids of the cores this process may run on; empty where they are unknown.

    Only Linux says which cores (``os.sched_getaffinity``); elsewhere nothing can be pinned.
    """
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is None:
        return []
    try:
        return sorted(getaffinity(0))
    except OSError:
        return []


def pin_cores(cores: Sequence[int]) -> bool:
    """Restrict this process's threads to ``cores``; ``False`` where the OS cannot.

    Parameters
    ----------
    cores
        Core ids (:func:`core_ids`).
    """
    setaffinity = getattr(os, "sched_setaffinity", None)
    if setaffinity is None or not cores:
        return False
    setaffinity(0, list(cores))
    return True


def maxrss_mb(ru_maxrss: float, *, platform: str | None = None) -> float:
    """Return a ``getrusage`` ``ru_maxrss`` in MiB: KiB on Linux and BSD, bytes on macOS.

    Parameters
    ----------
    ru_maxrss
        The field as the OS gave it.
    platform
        ``sys.platform`` of the OS that gave it (this one when ``None``).
    """
    platform = sys.platform if platform is None else platform
    return ru_maxrss / (1024.0 * 1024.0) if platform == "darwin" else ru_maxrss / 1024.0


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MiB (0 when the OS does not say).

    ``getrusage`` on Linux and macOS (:func:`maxrss_mb` converts the unit); on Windows
    psutil's peak working set (psutil comes with Dask); 0.0 when neither is available.
    """
    try:
        import resource
    except ImportError:  # Windows
        return _psutil_peak_mb()
    return maxrss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _psutil_peak_mb() -> float:
    try:
        import psutil
    except ImportError:
        return 0.0
    info = psutil.Process().memory_info()
    peak = getattr(info, "peak_wset", None)  # Windows: the peak working set, bytes
    return float(peak if peak is not None else info.rss) / (1024.0 * 1024.0)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Turn the cyclic garbage collector off for the block, then back on if it was on.

    For imports of what lives as long as the process (the scientific and presentation
    stacks): a collection meanwhile frees nothing and walks the whole heap, and imports
    trigger hundreds of them (about 0.1 s CPU for the pipeline's imports, measured
    2026-12-07).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def freeze_imports(*, frozen_heap: bool) -> None:
    """Freeze what an output step just imported, when its caller keeps the heap frozen.

    For an output step's late import (the map's folium, the report's matplotlib), inside
    :func:`collector_paused`. ``frozen_heap`` says the caller froze its heap before the run
    and unfreezes it after (the command line, ``cli.running.run_and_report``): what the
    import built then joins it, where the first collection after the import would walk it
    all, once per generation, only to keep it (about 0.04 s CPU for the two steps on
    Wuhan, measured with ``gc.callbacks`` 2026-12-07). Otherwise nothing is done: a caller
    that never unfreezes (a national worker keeps its heap frozen for good) would keep the
    cyclic garbage of the run in progress for good.
    """
    if frozen_heap:
        gc.freeze()


#: The environment variable OpenBLAS reads for its thread count (numpy's and scipy's wheels
#: each load their own OpenBLAS; Accelerate on macOS and MKL ignore it).
BLAS_THREADS_ENV = "OPENBLAS_NUM_THREADS"


def one_blas_thread() -> None:
    """Ask OpenBLAS for one thread in this process and its children, unless the user chose.

    Only effective before numpy is first imported (OpenBLAS reads it once, as it loads).
    latcircle's arrays go through gathers, reductions and its own loops, not BLAS (the one
    matrix-vector product is ``einsum``'s, ``analysis/_robustfit.py``), so a BLAS thread team
    speeds nothing up. But each OpenBLAS library starts one thread per extra core as it loads,
    and those threads spin waiting for work for a while before they sleep: on the 2-core
    machine ``import numpy`` took 0.18 s CPU against 0.07 with one thread, and numpy plus
    ``scipy.linalg`` 0.40 against 0.21 (``/usr/bin/time``, means of 3, 2026-12-07); a Wuhan
    ``latcircle run`` 5.10 against 4.83 s CPU (three interleaved pairs). Dask's workers get
    the same setting from Dask (``distributed.nanny.pre-spawn-environ``). A value the user
    has set is kept.
    """
    os.environ.setdefault(BLAS_THREADS_ENV, "1")


#: The environment variable Arrow's C++ library reads for its default memory pool (pyarrow:
#: pandas' string columns, the GeoParquet network's read).
ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"


def arrow_system_pool() -> None:
    """Ask Arrow to allocate from the C library's heap in this process and its children.

    Unless the user chose a pool. Only effective before Arrow's default pool is first used
    (it reads the variable once, then). pyarrow's wheels allocate through mimalloc by default
    (pyarrow 26), which keeps what Arrow frees in heaps of its own: numpy cannot reuse that
    memory and :func:`release_memory` cannot hand it back. From the C library's heap it is
    both: a Wuhan ``latcircle run`` keeps ~25-30 MB less from its ``load`` stage on (the
    network's GeoParquet read, pandas' string columns) and peaks ~20 MB lower, for the same
    CPU (interleaved pairs, 2026-12-07: benchmarks/report.py, CHANGES, session round 15).
    A value the user has set is kept.
    """
    os.environ.setdefault(ARROW_POOL_ENV, "system")


def release_memory(*, collect: bool = True) -> bool:
    """Collect garbage, then hand freed heap back to the OS; ``False`` when it cannot.

    glibc keeps large freed arrays resident once its mmap threshold has risen;
    ``malloc_trim(0)`` returns them. It is glibc's alone: on macOS, Windows and musl there is
    nothing to call (their allocators return large blocks on their own). ``collect=False``
    skips the garbage collection (what was just freed by reference counting needs none).
    """
    if collect:
        gc.collect()
    # glibc's call only: musl lacks it, and macOS's libc has one of that name nowhere.
    trim = _c_function("malloc_trim") if sys.platform.startswith("linux") else None
    if trim is None:
        return False
    trim(0)
    return True


def sync_tree(folder: Path) -> None:
    """Flush every file under ``folder`` to disk, then (POSIX) each of its folders.

    Before a folder of new outputs is swapped in: without it, a power loss just after the
    swap could leave the new names pointing at incomplete files while the old outputs are
    gone. Symbolic links are not followed. On Windows a file is flushed through a handle
    opened for writing (``FlushFileBuffers`` needs write access), and folders cannot be
    flushed (no directory ``fsync``): their entries are left to the file system's journal.
    macOS's ``fsync`` reaches the drive but not its cache (``F_FULLFSYNC`` would).

    Parameters
    ----------
    folder
        The folder to flush, with everything under it.
    """
    flags = os.O_RDWR | getattr(os, "O_BINARY", 0) if sys.platform == "win32" else os.O_RDONLY
    folders = []
    for root, _dirs, files in os.walk(folder):
        folders.append(root)
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                continue
            fd = os.open(path, flags)
            try:
                _fsync(fd)
            finally:
                os.close(fd)
    for root in reversed(folders):
        sync_folder(Path(root))


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (names made, renamed, removed) to disk; POSIX only.

    Windows has no directory ``fsync``: nothing is done there.

    Parameters
    ----------
    folder
        The folder.
    """
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        _fsync(fd)
    finally:
        os.close(fd)


def _fsync(fd: int) -> None:
    """``os.fsync``, except where the file system cannot sync (EINVAL, ENOTSUP): then nothing.

    Some file systems (FUSE mounts, some network shares) refuse ``fsync`` on a folder or a
    file; the outputs are then as durable as that file system makes them.
    """
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise


def exchange_folders(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step; ``False`` when the OS or file system cannot.

    Linux: ``renameat2(RENAME_EXCHANGE)``; macOS: ``renamex_np(RENAME_SWAP)``; Windows has
    no such call (the caller falls back to two renames).

    Raises
    ------
    OSError
        When the exchange exists but fails for another reason (permissions, a missing path).
    """
    if sys.platform.startswith("linux"):
        return _call_swap("renameat2", a, b)
    if sys.platform == "darwin":
        return _call_swap("renamex_np", a, b)
    return False


def _c_function(name: str) -> Any | None:
    """Return this process's C library function ``name``; ``None`` where there is none.

    ``None`` where :func:`_own_c_library` has no library (Windows, other platforms, or one
    that cannot be opened), and for a call this C library lacks (old glibc, musl).
    """
    try:
        libc = _own_c_library()
    except OSError:
        return None
    return None if libc is None else getattr(libc, name, None)


def _own_c_library() -> ctypes.CDLL | None:
    """Return the running process's C library, by name (the one place latcircle loads one).

    ``None`` where :func:`_c_library_name` names none (Windows, musl, other platforms).
    """
    name = _c_library_name()
    return None if name is None else ctypes.CDLL(name, use_errno=True)


def _c_library_name() -> str | None:
    """Return the name of the C library latcircle calls on this platform; ``None`` if none.

    Linux: glibc's ``libc.so.6``, already loaded by the interpreter (only glibc has
    ``malloc_trim`` and ``renameat2``; musl has neither). macOS: libSystem's ``libc``
    (``renamex_np``), as :func:`ctypes.util.find_library` names it there. Windows and other
    platforms: none (their C runtimes have none of these calls).
    """
    if sys.platform.startswith("linux"):
        try:
            glibc = bool(os.confstr("CS_GNU_LIBC_VERSION"))
        except (ValueError, OSError):  # a libc that does not know the name: not glibc
            glibc = False
        return "libc.so.6" if glibc else None
    if sys.platform == "darwin":
        import ctypes.util

        return ctypes.util.find_library("c")
    return None


def _call_swap(name: str, a: Path, b: Path) -> bool:
    func = _c_function(name)
    if func is None:
        return False
    func.restype = ctypes.c_int
    if name == "renameat2":
        func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
        func.argtypes += [ctypes.c_uint]
        rc = func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    else:
        func.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
        rc = func(os.fsencode(a), os.fsencode(b), _RENAME_SWAP)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def pid_alive(pid: int) -> bool:
    """Return whether process ``pid`` exists (this process counts as not alive).

    POSIX: signal 0. Windows: ``os.kill(pid, 0)`` would send Ctrl-C there
    (``CTRL_C_EVENT`` is 0), so psutil is asked instead.
    """
    if pid == os.getpid():
        return False
    if sys.platform == "win32":
        import psutil

        return bool(psutil.pid_exists(pid))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def ignore_interrupt() -> bool:
    """Make this process ignore Ctrl-C (SIGINT) from now on; return whether it does.

    For a worker process whose parent shuts it down (Dask's workers, after the nanny restarts
    one). On Windows, or off the main thread (where Python cannot set a handler), nothing
    changes and ``False`` is returned.
    """
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return True


@contextlib.contextmanager
def children_ignore_interrupt() -> Iterator[None]:
    """Start child processes inside this block that ignore Ctrl-C (SIGINT).

    Ctrl-C at a terminal reaches every process of the foreground group: worker processes
    would each print a ``KeyboardInterrupt`` traceback while the parent shuts them down.
    On POSIX, an ignored SIGINT is inherited across ``fork`` and ``exec``, and Python keeps
    it ignored, so the children leave the interrupt to the parent. During the block the
    parent ignores it too (the cluster's start); its handler is restored after. Elsewhere
    (Windows, or off the main thread) nothing changes.
    """
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
