"""Child processes that start warm: ``python -c CODE ARGS`` without the start-up.

A test that runs latcircle in a child process, to kill it (a signal at a stage, ``os._exit``
at a step of the swap, a SIGTERM), paid the interpreter's start and latcircle's imports in
every child: about 1-1.5 s of CPU of the child's ~2 s. :func:`python_c` starts the child
instead from a :mod:`multiprocessing` *forkserver* that imported latcircle once per test
process (:data:`PRELOAD`): each child is a process of its own, forked from that clean
single-threaded server (never from the test process and its threads), with its own pid,
environment, ``sys.argv`` and stderr; it runs the same code, is killed by the same real
signals, and its exit code is what ``subprocess`` would report (``-9`` for SIGKILL, the
``sys.exit`` code otherwise).

What it does not give: the start-up itself. A test whose moments are timed from the child's
start (``test_faults.test_kill_at_any_moment_never_leaves_a_mix``), or which checks what a
fresh interpreter imports, keeps ``subprocess``.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from typing import IO

__all__ = ["PRELOAD", "ForkedChild", "python_c"]

#: What a whole ``latcircle run`` (map and report) imports beyond the interpreter: the CLI,
#: the pipeline and the presentation steps (``sys.modules`` after one tiny-city run, 7 Dec
#: 2026). Imported once by the forkserver; a child imports anything else itself.
PRELOAD = [
    "latcircle.cli",
    "latcircle.cli.run",
    "latcircle.cli.running",
    "latcircle.logs",
    "latcircle.pipeline",
    "latcircle.analysis.workbench",
    "latcircle.output.exports",
    "latcircle.present.map",
    "latcircle.present.maps",
    "latcircle.present.report",
    "latcircle.present.figures",
]


def _context() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # read when the server starts (the first child)
    if not _STOP_AT_EXIT:
        _STOP_AT_EXIT.append(atexit.register(_stop_server))
    return context


_STOP_AT_EXIT: list[object] = []


def _stop_server() -> None:
    """Stop the server and wait for it as this process ends.

    Left alone, it would outlive the test process by a moment and never be waited for: its
    CPU, and its children's (the forked tests' children), would then be missing from the
    test process's own account (``/usr/bin/time``, ``RUSAGE_CHILDREN``). ``_stop`` is the
    standard library's own (Python 3.8-3.13) way to stop it; where it is missing, nothing.
    """
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)
    if stop is not None:
        with contextlib.suppress(OSError):
            stop()


def _child(
    code: str, argv: list[str], env: dict[str, str], stderr: Connection, quiet_stdout: bool
) -> None:
    """In the forked child: its stderr to the pipe, its own environment and argv, the code."""
    os.dup2(stderr.fileno(), 2)
    stderr.close()
    if quiet_stdout:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["-c", *argv]
    exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})


class ForkedChild:
    """A started child: ``pid``, ``stderr`` (text, line by line), ``wait``, ``send_signal``."""

    def __init__(self, process: multiprocessing.process.BaseProcess, stderr: IO[str]) -> None:
        self.process = process
        self.pid = process.pid
        self.stderr = stderr
        self._code: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child; its exit code (negative: the signal that ended it).

        Raises
        ------
        TimeoutError
            When it still runs after ``timeout`` seconds.
        """
        if self._code is None:
            self.process.join(timeout)
            self._code = self.process.exitcode
        if self._code is None:
            raise TimeoutError(f"child {self.pid} still runs after {timeout} s")
        return self._code

    @property
    def returncode(self) -> int | None:
        """The exit code, ``None`` while it runs (kept once the child is closed)."""
        return self._code if self._code is not None else self.process.exitcode

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the child (a real signal, to its pid)."""
        os.kill(self.pid, sig)

    def communicate(self, timeout: float | None = None) -> str:
        """Wait for the child and return the rest of its stderr."""
        text = self.stderr.read()
        self.wait(timeout)
        return text

    def close(self) -> None:
        """Kill the child if it still runs; close the pipe."""
        if self._code is None:
            if self.process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
            self.process.join(60)
            self._code = self.process.exitcode
        self.stderr.close()
        self.process.close()

    def __enter__(self) -> ForkedChild:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def python_c(
    code: str,
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    quiet_stdout: bool = True,
) -> ForkedChild:
    """Start ``python -c code *args`` as a child forked from the warm server.

    Parameters
    ----------
    code
        The child's program, run as ``__main__`` with ``sys.argv == ["-c", *args]``.
    args
        Its arguments.
    env
        Its whole environment (``os.environ`` when ``None``), as ``subprocess``'s ``env=``.
    quiet_stdout
        Send its stdout to ``os.devnull`` (the tests read stderr and exit codes only).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows: start cold
        return _Cold(code, args, env=env, quiet_stdout=quiet_stdout)
    context = _context()
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(
        target=_child,
        args=(code, list(args), dict(os.environ if env is None else env), writer, quiet_stdout),
        daemon=False,
    )
    process.start()
    writer.close()  # the child holds the only writing end: EOF when it ends
    stderr = open(os.dup(reader.fileno()), encoding="utf-8", errors="replace")  # noqa: SIM115
    reader.close()
    return ForkedChild(process, stderr)


class _Cold(ForkedChild):
    """Where there is no forkserver (Windows): ``python -c`` started as a new interpreter."""

    def __init__(
        self,
        code: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None,
        quiet_stdout: bool,
    ) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            env=None if env is None else dict(env),
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL if quiet_stdout else None,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert self.popen.stderr is not None
        self.pid, self.stderr, self._code = self.popen.pid, self.popen.stderr, None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child; its exit code (``subprocess.TimeoutExpired`` after ``timeout``)."""
        self._code = self.popen.wait(timeout)
        return self._code

    @property
    def returncode(self) -> int | None:
        """The exit code, ``None`` while it runs."""
        return self.popen.poll()

    def close(self) -> None:
        """Kill the child if it still runs; close the pipe."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(60)
        self.stderr.close()


#: ``python -m latcircle ARGS`` as a forked child's code (``latcircle/__main__.py``).
LATCIRCLE_MAIN = "import sys\nfrom latcircle.cli import main\nsys.exit(main(sys.argv[1:]))\n"
