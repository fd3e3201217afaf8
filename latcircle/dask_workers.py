"""What every worker of ``latcircle national``'s local cluster sets up as it starts.

The workers first started inherit an ignored Ctrl-C from the parent
(:func:`latcircle.system.children_ignore_interrupt`); a worker the nanny starts again later
(after a crash or ``Client.restart``) is spawned while the parent handles Ctrl-C again, and
would print a ``KeyboardInterrupt`` traceback of its own. A worker plugin is handed by the
scheduler to every worker that joins, restarted ones included, so the setting holds for them
all. Imported only where the local cluster starts (and, to unpickle the plugin, in the
workers, which import ``distributed`` anyway). Kept out of :mod:`latcircle.pipeline`, whose
package import costs ~1 s of CPU: unpickling the plugin would pay it before the workers'
measured warm-up (:func:`latcircle.national_run.warm_up`), hiding it from
``worker_start_cpu_s``.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from latcircle.system import ignore_interrupt

__all__ = ["IGNORE_INTERRUPT", "IgnoreInterrupt"]

#: The plugin's name at the scheduler (registering it again replaces it).
IGNORE_INTERRUPT = "latcircle-ignore-interrupt"


class IgnoreInterrupt(WorkerPlugin):
    """Make the worker process ignore Ctrl-C (SIGINT): the parent shuts the cluster down."""

    name = IGNORE_INTERRUPT

    def setup(self, worker: Any) -> None:
        """Run in the worker on every start (its event loop runs on the main thread)."""
        ignore_interrupt()
