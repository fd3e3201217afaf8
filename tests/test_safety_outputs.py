"""Outputs never destroy what latcircle did not write, and are never missing (issue 11).

* ``--out`` naming a folder latcircle did not write is refused before any work, and the
  folder is left byte for byte as it was; so are ``.``, a folder holding an input, a path
  under a file.
* ``--out`` naming a previous run's folder replaces it whole.
* A symlinked ``--out`` stays a symlink; the folder it points to is replaced.
* A process killed between the swap's steps (``os._exit`` in a child process, so no
  ``finally`` runs: as a SIGKILL would) leaves complete outputs at the path, and the next
  run cleans what it left. The children are forked warm (``tests/forked.py``): the same
  code in a process of their own, without an interpreter's start-up each.
* A full disk (``ENOSPC`` from a write) is one line naming the file, exit 2, the previous
  outputs intact and no temporary folder left.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import _write_tiny_city
from forked import python_c

from latcircle.cli import main
from latcircle.output.files import MARKER

ROOT = Path(__file__).resolve().parents[1]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err.strip().splitlines()


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (``None`` for folders)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def _complete(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


#: What a default run writes at least (the report and map included).
OUTPUTS = {
    MARKER,
    "coverage.csv",
    "isochrones.gpkg",
    "latency.tif",
    "run.json",
    "map.html",
    "report.html",
    "figures",
    "progress.csv",
}


def _scenario_year(folder: Path) -> int | None:
    return json.loads((folder / "run.json").read_text(encoding="utf-8"))["scenario_year"]


@pytest.fixture(scope="module")
def previous_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str | None, Path]:
    """The tiny city's whole runs (``latcircle -q run``), year unset and 2025: READ-ONLY.

    Made once for the module: a test that needs a previous run's folder at its ``--out``
    copies one (:func:`_previous_run`) instead of running the city again.
    """
    root = tmp_path_factory.mktemp("previous")
    config = _write_tiny_city(root / "tiny")
    runs: dict[str | None, Path] = {}
    for year in (None, "2025"):
        out = root / f"out-{year or 'unset'}"
        argv = ["-q", "run", str(config), "--out", str(out)]
        assert main([*argv, "--year", year] if year else argv) == 0
        runs[year] = out
    return runs


def _previous_run(runs: dict[str | None, Path], out: Path, *, year: str | None = None) -> None:
    """Copy a previous whole run (its marker, ``figures/`` and all) to a new folder ``out``."""
    shutil.copytree(runs[year], out, symlinks=True)
    assert _complete(out) >= OUTPUTS
    assert _scenario_year(out) == (int(year) if year else None)


def test_refuses_a_folder_latcircle_did_not_write(
    tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "thesis.tex").write_text("years of work\n")
    (mine / "sub" / "data.csv").write_text("a,b\n1,2\n")
    before = _snapshot(mine)
    siblings = sorted(p.name for p in tmp_path.iterdir())
    code, err = _run(["run", str(tiny_city), "--out", str(mine)], capsys)
    assert code == 2
    assert err == [
        f"latcircle: error: {mine}: output folder exists and was not written by latcircle "
        f"(no {MARKER} in it); it would be replaced whole: choose an empty or new folder"
    ]
    assert _snapshot(mine) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings  # no temporary folder


@pytest.mark.parametrize("where", ["cwd", "input_folder", "parent_of_input", "under_a_file"])
def test_refuses_precious_paths_before_any_work(
    where: str,
    tiny_city: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import latcircle.pipeline.city

    def no_work(*_a: object, **_k: object) -> None:
        raise AssertionError("work started before the output path was checked")

    monkeypatch.setattr(latcircle.pipeline.city, "prepare", no_work)  # where run_city looks
    (tmp_path / "file").write_text("x")
    monkeypatch.chdir(tmp_path)
    out = {
        "cwd": ".",
        "input_folder": str(tiny_city.parent),
        "parent_of_input": str(tmp_path),
        "under_a_file": str(tmp_path / "file" / "out"),
    }[where]
    before = _snapshot(tmp_path)
    code, err = _run(["run", str(tiny_city), "--out", out], capsys)
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith(f"latcircle: error: {out}: ")
    expected = {
        "cwd": "it cannot be the current folder or hold it",
        "input_folder": "it holds the input",
        "parent_of_input": "cannot be the current folder or hold it",
        "under_a_file": f"{tmp_path / 'file'} is a file, not a folder",
    }[where]
    assert expected in err[0]
    assert _snapshot(tmp_path) == before


def test_replaces_a_previous_run_whole(
    tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], previous_runs
) -> None:
    out = tmp_path / "out"
    _previous_run(previous_runs, out)
    (out / "stale.txt").write_text("from before")  # inside latcircle's own folder
    code, err = _run(["-q", "run", str(tiny_city), "--out", str(out), "--year", "2025"], capsys)
    assert code == 0, err
    assert _complete(out) >= OUTPUTS and _scenario_year(out) == 2025
    assert "stale.txt" not in _complete(out)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_empty_folder_is_used(
    tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert _run(["-q", "run", str(tiny_city), "--out", str(out)], capsys)[0] == 0
    assert _complete(out) >= OUTPUTS


def test_symlinked_out_stays_a_symlink(
    tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "big-disk" / "tiny-v1"
    target.parent.mkdir()
    link = tmp_path / "outputs" / "tiny"
    link.parent.mkdir()
    link.symlink_to(target, target_is_directory=True)
    for year in ("2025", "2030"):
        code, err = _run(["-q", "run", str(tiny_city), "--out", str(link), "--year", year], capsys)
        assert code == 0, err
        assert link.is_symlink() and Path(os.readlink(link)) == target
        assert _complete(target) >= OUTPUTS and _scenario_year(target) == int(year)
    assert sorted(p.name for p in target.parent.iterdir()) == ["tiny-v1"]


# --- killed between the swap's steps ---------------------------------------------------------

#: Runs the CLI in a child process with one step of the swap replaced by "do it, then die".
_CHILD = textwrap.dedent("""\
    import os, sys
    import latcircle.output.files as files
    from latcircle.cli import main

    step = sys.argv[1]
    if step == "exchange":  # the atomic exchange done, the old outputs not yet deleted
        real = files._exchange
        def dying(a, b):
            assert real(a, b)
            os._exit(137)
        files._exchange = dying
    elif step == "before_swap":  # every file written, the swap not begun
        def dying(tmp, real):
            os._exit(137)
        files._swap_into_place = dying
    elif step == "between_renames":  # the fallback swap: the old folder moved aside only
        files._exchange = lambda a, b: False
        real_replace = os.replace
        calls = []
        def dying(src, dst):
            real_replace(src, dst)
            calls.append(dst)
            if ".old-" in str(dst):
                os._exit(137)
        files.os.replace = dying
    sys.exit(main(["-q", "run", sys.argv[2], "--out", sys.argv[3], "--year", "2030"]))
""")


@pytest.mark.parametrize("step", ["before_swap", "exchange", "between_renames"])
def test_kill_during_the_swap_never_loses_the_outputs(
    step: str, tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], previous_runs
) -> None:
    out = tmp_path / "out"
    _previous_run(previous_runs, out, year="2025")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with python_c(_CHILD, [step, str(tiny_city), str(out)], env=env) as child:
        stderr = child.communicate(timeout=120)
    assert child.returncode == 137, stderr
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert leftovers, "the kill should have left a temporary folder behind"
    if step == "between_renames":
        # Two renames have a window: the old outputs wait under .old-*, whole.
        assert not out.exists()
        (old,) = [name for name in leftovers if ".old-" in name]
        assert _scenario_year(tmp_path / old) == 2025
    else:
        # The atomic exchange has none: complete outputs at the path, old or new.
        year = {"before_swap": 2025, "exchange": 2030}[step]
        assert _complete(out) >= OUTPUTS and _scenario_year(out) == year
    # The next run puts back or cleans what the killed one left, then runs as usual.
    code, err = _run(["-q", "run", str(tiny_city), "--out", str(out), "--year", "2027"], capsys)
    assert code == 0, err
    assert _complete(out) >= OUTPUTS and _scenario_year(out) == 2027
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []


def test_killed_fallback_swap_is_restored_before_the_check(tmp_path: Path, previous_runs) -> None:
    """After a kill between the two renames, a read-only command sees the old outputs back."""
    from latcircle.output.files import atomic_folder

    out = tmp_path / "out"
    _previous_run(previous_runs, out, year="2025")
    aside = tmp_path / ".out.old-999999999-x"  # a pid that cannot be alive
    os.replace(out, aside)
    with pytest.raises(RuntimeError), atomic_folder(out):
        assert _scenario_year(out) == 2025  # restored before the block runs
        raise RuntimeError("the run fails")
    assert _scenario_year(out) == 2025 and not aside.exists()


# --- a full disk ------------------------------------------------------------------------------


def test_full_disk_names_the_file_and_keeps_the_old_outputs(
    tiny_city: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    previous_runs,
) -> None:
    out = tmp_path / "out"
    _previous_run(previous_runs, out)
    before = _snapshot(out)
    real_write = Path.write_text

    def full(self: Path, *args: object, **kwargs: object) -> int:
        if self.name == "map.html":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full)
    code, err = _run(["run", str(tiny_city), "--out", str(out), "--year", "2030"], capsys)
    assert code == 2
    assert err == [
        f"latcircle: error: {out / 'map.html'}: cannot write (disk full: No space left on device); "
        "previous outputs intact"
    ]
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_identical_runs_write_identical_bytes(
    tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every file but timings.json (stage times, kept apart for this) is byte-identical."""
    out = tmp_path / "out"
    assert _run(["-q", "run", str(tiny_city), "--out", str(out)], capsys)[0] == 0
    first = _snapshot(out)
    assert _run(["-q", "run", str(tiny_city), "--out", str(out)], capsys)[0] == 0
    second = _snapshot(out)
    assert set(first) == set(second) and "timings.json" in first
    differ = sorted(name for name in first if first[name] != second[name])
    assert differ in ([], ["timings.json"])
    assert "stage_seconds" not in json.loads(first["run.json"] or b"{}")


def test_sigterm_stops_like_ctrl_c(tiny_city: Path, tmp_path: Path, previous_runs) -> None:
    """SIGTERM mid-write: one line, exit 143, previous outputs intact, no temporary folder."""
    out = tmp_path / "out"
    _previous_run(previous_runs, out, year="2025")
    before = _snapshot(out)
    child = textwrap.dedent("""\
        import os, signal, sys
        import latcircle.pipeline as pipeline
        from latcircle.cli import main

        steps = pipeline.default_outputs
        def killed(result, folder):
            (folder / "half.txt").write_text("partial")
            os.kill(os.getpid(), signal.SIGTERM)
        pipeline.default_outputs = lambda **kw: [*steps(**kw), killed]
        sys.exit(main(["-q", "run", sys.argv[1], "--out", sys.argv[2], "--year", "2030"]))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with python_c(child, [str(tiny_city), str(out)], env=env) as done:
        stderr = done.communicate(timeout=120)
    assert done.returncode == 143, stderr
    assert stderr.strip().splitlines() == ["latcircle: interrupted; previous outputs left intact"]
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- commands merged since issue 11: plan, tiers, national rollup ---------------------------


@pytest.mark.parametrize("command", ["plan", "tiers", "national-rollup"])
def test_every_command_checks_its_out_before_any_work(
    command: str,
    tiny_city: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import latcircle.inputs.backbone
    import latcircle.pipeline.national
    import latcircle.pipeline.plan

    def no_work(*_a: object, **_k: object) -> None:
        raise AssertionError("work started before the output path was checked")

    monkeypatch.setattr(latcircle.pipeline.plan, "prepare", no_work)  # where plan_city looks
    monkeypatch.setattr(latcircle.pipeline.national, "find_city_dirs", no_work)
    monkeypatch.setattr(latcircle.inputs.backbone, "read_backbone", no_work)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    before = _snapshot(tmp_path)
    (tmp_path / "backbone.graphml").write_text("<graphml/>")
    argv = {
        "plan": ["plan", str(tiny_city), "--out", str(mine)],
        "tiers": ["tiers", "--backbone", str(tmp_path / "backbone.graphml"), "--out", str(mine)],
        "national-rollup": ["national-rollup", str(tiny_city.parent), "--out", str(mine)],
    }[command]
    code, err = _run(argv, capsys)
    assert code == 2, err
    assert err == [
        f"latcircle: error: {mine}: output folder exists and was not written by latcircle "
        f"(no {MARKER} in it); it would be replaced whole: choose an empty or new folder"
    ]
    (tmp_path / "backbone.graphml").unlink()
    assert _snapshot(tmp_path) == before


def test_a_plan_alone_is_latcircle_s_and_a_run_keeps_it(
    tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``latcircle plan`` before any run leaves ``<out>/`` holding only ``plan/``: a run may
    replace that folder, carries ``plan/`` over, and may read its sites file from there."""
    import yaml

    from latcircle.output.files import atomic_folder

    out = tmp_path / "out"
    with atomic_folder(out / "plan") as tmp:  # as plan_city writes it
        (tmp / "sites-planned.csv").write_bytes((tiny_city.parent / "sites.csv").read_bytes())
    plan_before = _snapshot(out / "plan")
    raw = yaml.safe_load(tiny_city.read_text(encoding="utf-8"))
    raw["sites"]["path"] = str(out / "plan" / "sites-planned.csv")
    config = tiny_city.with_name("from-plan.yaml")
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code, err = _run(["-q", "run", str(config), "--out", str(out)], capsys)
    assert code == 0, err
    assert _complete(out) >= OUTPUTS | {"plan"}
    assert _snapshot(out / "plan") == plan_before
    # A folder holding a latcircle folder and something else is the user's.
    mixed = tmp_path / "mixed"
    with atomic_folder(mixed / "plan") as tmp:
        (tmp / "plan.csv").write_text("x\n")
    (mixed / "mine.txt").write_text("mine\n")
    code, err = _run(["-q", "run", str(tiny_city), "--out", str(mixed)], capsys)
    assert code == 2 and "was not written by latcircle" in err[0]


def test_atomic_file_full_disk_names_the_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    from latcircle.errors import OutputError
    from latcircle.output.files import atomic_file

    path = tmp_path / "report.html"
    path.write_text("old\n", encoding="utf-8")

    def full(tmp: Path) -> None:
        tmp.write_text("half", encoding="utf-8")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))

    with pytest.raises(OutputError) as err:
        atomic_file(path, full)
    assert str(err.value) == (
        f"{path}: cannot write (disk full: {os.strerror(errno.ENOSPC)}); previous file intact"
    )
    assert path.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no temporary left
    atomic_file(path, lambda tmp: tmp.write_text("new\n", encoding="utf-8"))
    assert path.read_text(encoding="utf-8") == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


@pytest.mark.parametrize(
    ("files", "ours"),
    [
        (["summary.csv", "shortfalls.md"], True),  # a national rollup
        (["plan.json", "plan.csv", "sites-planned.csv"], True),  # latcircle plan
        (["summary.json", "hub_matrix.csv", "tiers.gpkg"], True),  # latcircle tiers
        (["plan.json", "plan.csv"], False),  # one file short: the user's
        (["summary.json", "hub_matrix.csv", "tiers.gpkg", "notes.txt"], True),
    ],
)
def test_folders_of_an_older_latcircle_are_recognised(
    files: list[str], ours: bool, tmp_path: Path
) -> None:
    """Plan, tiers and national folders written before the marker existed may be replaced."""
    from latcircle.errors import InputError
    from latcircle.output.files import check_output_folder

    out = tmp_path / "old"
    out.mkdir()
    for name in files:
        (out / name).write_text("x\n")
    if ours:
        assert check_output_folder(out) == out.resolve()
    else:
        with pytest.raises(InputError, match="was not written by latcircle"):
            check_output_folder(out)


# --- the warm children the kill tests use (tests/forked.py) ----------------------------------

_REPORTS = textwrap.dedent("""\
    import os, signal, sys
    sys.stderr.write(f"argv {sys.argv[1:]} env {os.environ.get('LATCIRCLE_PROBE')}\\n")
    sys.stderr.flush()
    how = sys.argv[1]
    if how == "exit":
        sys.exit(3)
    if how == "_exit":
        os._exit(137)
    if how == "raise":
        raise ValueError("boom")
    os.kill(os.getpid(), {"kill": signal.SIGKILL, "term": signal.SIGTERM}[how])
""")


@pytest.mark.parametrize("how", ["exit", "_exit", "raise", "kill", "term"])
def test_a_forked_child_reports_what_a_new_interpreter_does(how: str) -> None:
    """Exit code, stderr, argv and environment as ``python -c`` in a new process gives them."""
    import signal

    from forked import _Cold

    env = {**os.environ, "LATCIRCLE_PROBE": "set"}
    with python_c(_REPORTS, [how, "a b"], env=env) as warm:
        warm_err = warm.communicate(timeout=60)
        assert warm.pid != os.getpid()
    with _Cold(_REPORTS, [how, "a b"], env=env, quiet_stdout=True) as cold:
        cold_err = cold.communicate(timeout=60)
    expected = {"exit": 3, "_exit": 137, "raise": 1, "kill": -signal.SIGKILL}
    assert warm.returncode == cold.returncode == expected.get(how, -signal.SIGTERM)
    assert (
        warm_err.splitlines()[0]
        == cold_err.splitlines()[0]
        == "argv ['" + how + "', 'a b'] env set"
    )
    assert warm_err.splitlines()[-1] == cold_err.splitlines()[-1]  # "ValueError: boom" when raised
