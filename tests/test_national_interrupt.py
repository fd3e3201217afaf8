"""Workers of the local cluster leave Ctrl-C to the parent, also after Dask restarts them.

The first workers are started while the parent ignores SIGINT (inherited across fork and
exec); a worker the nanny starts again later (after a crash, or ``Client.restart``) is
spawned when the parent handles Ctrl-C again, so the setting must come with the worker
itself: a worker plugin, which the scheduler hands to every worker that joins.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

import pytest

from latcircle.national_run import _client

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="Windows has no inherited SIGINT disposition to test"
)


def _sigint() -> tuple[int, bool]:
    """The worker's pid and whether it ignores SIGINT (what Ctrl-C at a terminal sends)."""
    return os.getpid(), signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_restarted_worker_still_ignores_ctrl_c(sigint_as_at_a_terminal: None) -> None:
    with _client(None, 1, logging.WARNING) as client:
        [(first_pid, first)] = client.run(_sigint).values()
        client.restart(timeout=60)
        [(second_pid, second)] = client.run(_sigint).values()
    assert second_pid != first_pid  # a new process, started by the nanny
    assert first and second
    # The parent's own handler is back once the cluster has started.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ignore_interrupt_changes_nothing_off_the_main_thread() -> None:
    import threading

    from latcircle.system import ignore_interrupt

    before = signal.getsignal(signal.SIGINT)
    result: list[bool] = []
    worker = threading.Thread(target=lambda: result.append(ignore_interrupt()))
    worker.start()
    worker.join()
    assert result == [False]
    assert signal.getsignal(signal.SIGINT) is before


def test_the_plugin_module_stays_light() -> None:
    # Unpickled in every worker before its measured warm-up: it must not import the pipeline
    # (~1 s CPU), which would then be paid unmeasured.
    import ast
    import subprocess

    code = (
        "import sys, distributed, latcircle.dask_workers; "
        "print(sorted(m for m in sys.modules if m.startswith('latcircle')))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = set(ast.literal_eval(out.stdout))
    assert loaded == {"latcircle", "latcircle.dask_workers", "latcircle.errors", "latcircle.system"}
