"""What a process pays outside the analysis: the collector around imports and at exit.

The command line pauses the cyclic collector while the pipeline and the output steps import
(``system.collector_paused``), and, when ``main()`` is the process's own command line,
freezes the heap at exit so the interpreter's teardown does not walk it
(``cli._exit_uncollected``). These tests check both mechanisms do what they say and touch
nothing else: a caller of ``main([...])`` keeps its collector as it was. The command line also
loads OpenBLAS with one thread (``system.one_blas_thread``), unless the user chose.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from typing import Any

import pytest
from child_json import child_json

from latcircle.system import BLAS_THREADS_ENV, collector_paused


@pytest.fixture
def collector_state() -> object:
    """Give the test the collector as it was, whatever the test does to it."""
    was = gc.isenabled()
    yield was
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_paused_turns_it_off_and_back_as_it_was(
    collector_state: object, enabled: bool
) -> None:
    (gc.enable if enabled else gc.disable)()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled


def test_collector_paused_restores_it_when_the_block_raises(collector_state: object) -> None:
    gc.enable()
    with pytest.raises(KeyError), collector_paused():
        raise KeyError("x")
    assert gc.isenabled()


#: A child process: call ``main`` as the arguments say, then report the freeze count before
#: and after the exit handlers run (``atexit._run_exitfuncs``, what the interpreter's exit
#: calls before its teardown).
_CHILD = """
import atexit, gc, json, sys
from latcircle.cli import main
how = sys.argv[1]
sys.argv = ["latcircle", "--version"]
try:
    main() if how == "command-line" else main(["--version"])
except SystemExit:
    pass
before = gc.get_freeze_count()
atexit._run_exitfuncs()
print(json.dumps({"before": before, "after": gc.get_freeze_count()}))
"""


def _freeze_counts(how: str) -> dict[str, int]:
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, how], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    counts: dict[str, int] = json.loads(run.stdout.strip().splitlines()[-1])
    return counts


def test_the_command_line_freezes_its_heap_at_exit_not_before() -> None:
    counts = _freeze_counts("command-line")
    assert counts["before"] == 0  # main() returned with the collector as it was
    assert counts["after"] > 0  # at exit, every object left is frozen: no last walk


def test_main_with_arguments_leaves_the_exit_alone() -> None:
    counts = _freeze_counts("library")
    assert counts == {"before": 0, "after": 0}


#: A child process: call ``main`` as the arguments say (or not at all), then load numpy (and
#: with it OpenBLAS, which starts its threads as it loads) and report the setting and the
#: process's threads.
_BLAS_CHILD = """
import json, os, sys
import psutil
how = sys.argv[1]
if how != "none":
    from latcircle.cli import main
    sys.argv = ["latcircle", "--version"]
    try:
        main() if how == "command-line" else main(["--version"])
    except SystemExit:
        pass
import numpy
from latcircle.system import usable_cores
print(json.dumps({
    "env": os.environ.get("OPENBLAS_NUM_THREADS"),
    "threads": psutil.Process().num_threads(),
    "cores": usable_cores(),
}))
"""

#: What OpenBLAS also reads for its thread count (after ``OPENBLAS_NUM_THREADS``): kept out of
#: the child's environment so that it sees no choice but the one under test.
_OTHER_BLAS_ENV = ("GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def _blas_child(how: str, users: str | None = None) -> dict[str, Any]:
    chosen = {} if users is None else {BLAS_THREADS_ENV: users}
    return child_json(_BLAS_CHILD, how, unset=(BLAS_THREADS_ENV, *_OTHER_BLAS_ENV), env=chosen)


def test_importing_the_command_line_loads_no_numpy() -> None:
    """``main`` can only set OpenBLAS's threads if numpy is not loaded before it runs."""
    run = subprocess.run(
        [sys.executable, "-c", "import sys, latcircle.cli; print('numpy' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


def test_the_command_line_loads_openblas_with_one_thread() -> None:
    alone = _blas_child("none")
    command_line = _blas_child("command-line")
    assert alone["env"] is None
    assert command_line["env"] == "1"
    assert command_line["threads"] == 1  # numpy loaded, and no OpenBLAS thread beside main
    if alone["cores"] > 1:  # OpenBLAS starts a thread per extra core when not told
        assert alone["threads"] > 1, alone


def test_a_blas_thread_count_the_user_set_is_kept() -> None:
    assert _blas_child("command-line", users="2")["env"] == "2"


def test_main_with_arguments_leaves_blas_threads_alone() -> None:
    assert _blas_child("library")["env"] is None


#: A child process: the command line's run up to the pipeline's first call (``run_city``
#: fails on the missing config), recording each collection that starts once the pipeline is
#: imported: whether the heap was frozen by then.
_RUN_CHILD = """
import argparse, gc, json, sys
from pathlib import Path
from latcircle.cli.running import run_and_report
seen = []
def record(phase, info):
    if phase == "start" and "latcircle.pipeline" in sys.modules:
        seen.append(gc.get_freeze_count())
gc.callbacks.append(record)
args = argparse.Namespace(
    quiet=1, console=None, map_assets="inline", basemap="osm", bands="rings", export=(),
    export_crs="wgs84", lang=None, whatif=None,
)
try:
    run_and_report(None, Path(sys.argv[1]), args=args)
except AttributeError:  # no config: after the imports and the freeze
    pass
gc.callbacks.remove(record)
print(json.dumps({"frozen": gc.get_freeze_count(), "seen": seen}))
"""


def test_the_run_freezes_its_imports_before_the_collector_resumes(tmp_path: object) -> None:
    """No collection walks what the pipeline's import built before it is frozen.

    The imports run with the collector off; were it back on before the freeze, its first
    collection would walk every object they made (about 0.05 s CPU on Wuhan) only to keep
    them all.
    """
    run = subprocess.run(
        [sys.executable, "-c", _RUN_CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["frozen"] == 0  # handed back at the end (the run failed at once here)
    assert all(count > 0 for count in found["seen"]), found["seen"]


@pytest.fixture
def unfrozen_heap() -> None:
    """No frozen heap for the test: the suite's own freeze of its imports undone.

    (tests/conftest.py freezes what the collection imported, and freezes again after a test
    that left the heap unfrozen, as this one does.)
    """
    gc.unfreeze()


def test_freeze_imports_only_for_a_caller_that_unfreezes(unfrozen_heap: None) -> None:
    """With ``frozen_heap`` what was built since the last freeze joins the frozen heap."""
    from latcircle.system import freeze_imports

    assert gc.get_freeze_count() == 0  # no frozen heap (the fixture undid the suite's)
    built = [[i] for i in range(50)]
    freeze_imports(frozen_heap=False)
    assert gc.get_freeze_count() == 0  # a caller that never unfreezes is left alone
    assert _unfrozen(built) == 50
    gc.freeze()
    try:
        fresh = [[i] for i in range(50)]  # 50 new tracked lists, after the freeze
        # gc.get_objects() lists the collected generations, never the frozen (permanent)
        # one; the freeze count alone can also fall as other threads free frozen objects.
        assert _unfrozen(fresh) == 50
        freeze_imports(frozen_heap=False)
        assert _unfrozen(fresh) == 50
        freeze_imports(frozen_heap=True)
        assert _unfrozen(fresh) == 0
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_only_the_command_line_asks_its_steps_to_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    """``default_outputs`` freezes nothing unless asked; the command line asks (it unfreezes)."""
    import argparse
    import inspect

    import latcircle.pipeline
    from latcircle.cli.running import outputs_of

    params = inspect.signature(latcircle.pipeline.default_outputs).parameters
    assert params["frozen_heap"].default is False
    seen: dict[str, object] = {}

    def record(**options: object) -> list[object]:
        seen.update(options)
        return []

    monkeypatch.setattr(latcircle.pipeline, "default_outputs", record)
    args = argparse.Namespace(
        map_assets="inline", basemap="osm", bands="rings", export=(), export_crs="wgs84"
    )
    outputs_of(args)
    assert seen["frozen_heap"] is True


def _unfrozen(objects: list[list[int]]) -> int:
    """How many of ``objects`` the collector still walks (not in the frozen generation)."""
    walked = {id(o) for o in gc.get_objects()}
    return sum(id(o) in walked for o in objects)


def test_the_suites_imports_are_frozen() -> None:
    """The suite's own setting (tests/conftest.py): what the collection imported is frozen.

    Full collections then skip the scientific stack's objects; a test that unfroze the heap
    (``test_freeze_imports_only_for_a_caller_that_unfreezes``, a command run in process) is
    followed by a freeze again.
    """
    import latcircle.system

    assert gc.get_freeze_count() > 0
    fresh = [[1]]
    walked = {id(o) for o in gc.get_objects()}
    # A module's namespace, and a function this module imported, are not walked; an object
    # made now is.
    assert id(fresh) in walked
    assert id(vars(latcircle.system)) not in walked
    assert id(collector_paused) not in walked


class _Cycle:
    """An object in a reference cycle (only the cyclic collector frees it)."""

    def __init__(self) -> None:
        self.me = self


def test_a_test_may_unfreeze_the_whole_heap() -> None:
    """As a command run in process ends: the next test finds the heap frozen again."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_the_heap_is_frozen_again_after_a_test_that_unfroze_it() -> None:
    """The suite's hook after each test (tests/conftest.py) froze what the test above unfroze.

    Run after it (a module's tests run in order, on one worker).
    """
    import latcircle.system

    assert gc.get_freeze_count() > 0
    assert id(vars(latcircle.system)) not in {id(o) for o in gc.get_objects()}


@pytest.mark.parametrize("everything", [False, True])
def test_a_frozen_cycle_is_freed_by_a_whole_collection_only(everything: bool) -> None:
    """The hook's two collections: the young generations keep a frozen cycle, the whole frees it.

    A cycle that had outlived the young generations when the heap was frozen is frozen with
    it; only a whole collection (unfreeze, collect, freeze: every fourth module) frees it.
    """
    import weakref

    from conftest import _freeze_heap

    cycle = _Cycle()
    alive = weakref.ref(cycle)
    gc.freeze()  # frozen with the heap, as after a test
    del cycle  # garbage now, but frozen: no collection walks it
    gc.collect()
    assert alive() is not None
    _freeze_heap(everything=everything)
    assert (alive() is None) is everything
    assert gc.get_freeze_count() > 0  # frozen again either way
