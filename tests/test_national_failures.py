"""National sweeps that never hide a failure (issue 22 §3).

A damaged city folder reruns that city only; a failed city is in every table with the
denominator stated; a failed city's older outputs are marked stale and the roll-up says so;
Ctrl-C stops cleanly (exit 130, no Dask noise); off a terminal each city is one line and a
worker's warning names its city; ``-q`` prints nothing; ``--out`` over an input folder is
refused before anything runs. The sweeps use a real LocalCluster of one or two workers over
the smallest generated metros (about 1 k nodes each).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from latcircle.cli import main
from latcircle.demo.generator import write_demo_city
from latcircle.national_run import CityOutcome, _client, _rollup, run_city_task, run_many
from latcircle.output.batch import BATCH_RECORD, STALE_RECORD, reason_to_run

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("metros")
    return {
        cid: write_demo_city(root / cid, seed=seed, scale=0.12, city_id=cid)
        for cid, seed in (("ma", 11), ("mb", 12))
    }


@pytest.fixture(scope="module")
def ma_done(configs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> CityOutcome:
    """City ``ma`` run once as a batch task (its folder READ-ONLY: tests copy it).

    A test that needs a finished city copies its folder (``_finished``) instead of running
    it again (about 0.8 s of CPU): the completeness check reads the files' bytes.
    """
    done = run_city_task(configs["ma"], cities=tmp_path_factory.mktemp("ma_done"))
    assert done.status == "done", done.reason
    return done


def _finished(done: CityOutcome, cities: Path) -> Path:
    """A private copy of a finished city's folder under ``cities``."""
    assert done.out is not None
    return Path(shutil.copytree(done.out, cities / done.out.name))


def _copy(config: Path, dest: Path) -> Path:
    """A private copy of a generated metro (its inputs may then be broken)."""
    shutil.copytree(config.parent, dest)
    return dest / config.name


def _renamed(config: Path, dest: Path, city_id: str) -> Path:
    """A copy of a generated metro under another city id (its config named after it)."""
    text = config.read_text(encoding="utf-8")
    assert text.count(f"\nid: {config.stem}\n") == 1
    shutil.copytree(config.parent, dest)
    (dest / config.name).unlink()
    renamed = dest / f"{city_id}.yaml"
    renamed.write_text(
        text.replace(f"\nid: {config.stem}\n", f"\nid: {city_id}\n"), encoding="utf-8"
    )
    return renamed


def _break_sites(config: Path) -> str:
    """Make the city's run fail (a longitude that is not a number); return the old text."""
    path = config.parent / "sites.csv"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    fields = lines[1].split(",")
    fields[-2] = "east"
    path.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n", "utf-8")
    return text


def _cli(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "latcircle", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        **kw,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- complete or not


def test_a_city_is_up_to_date_only_when_every_file_is_there(configs, ma_done, tmp_path):
    """The completeness check, file by file (no cluster: the Dask task called directly)."""
    done = ma_done  # run_city_task(configs["ma"]): its folder copied here
    assert done.status == "done", done.reason
    folder = _finished(done, tmp_path)
    assert folder == tmp_path / "ma"
    record = json.loads((folder / BATCH_RECORD).read_text(encoding="utf-8"))
    listed = set(record["files"])
    # Every file but the wall times and the records themselves, checked by its bytes.
    on_disk = {p.name for p in folder.iterdir() if p.is_file()}
    assert listed == on_disk - {"timings.json", BATCH_RECORD}
    assert reason_to_run(folder, done.key) is None
    assert reason_to_run(folder, "another key") == "inputs or parameters changed"
    again = run_city_task(configs["ma"], cities=tmp_path)
    assert again.status == "skipped" and again.note == ""

    progress = folder / "progress.csv"
    text = progress.read_bytes()
    progress.write_bytes(text[:-10])  # truncated
    assert reason_to_run(folder, done.key) == "outputs damaged: progress.csv changed since the run"
    progress.unlink()
    assert reason_to_run(folder, done.key) == "outputs incomplete: progress.csv missing"
    rerun = run_city_task(configs["ma"], cities=tmp_path)
    assert rerun.status == "done"
    assert rerun.note == "outputs incomplete: progress.csv missing"
    assert progress.read_bytes() == text
    # A record from before the file list (or none at all): not known complete.
    (folder / BATCH_RECORD).write_text(json.dumps({"key": done.key}), encoding="utf-8")
    assert reason_to_run(folder, done.key) == "no finished outputs"
    (folder / BATCH_RECORD).unlink()
    assert reason_to_run(folder, done.key) == "no finished outputs"


@pytest.mark.slow
def test_a_damaged_city_reruns_alone(configs, tmp_path):
    cities = [_copy(configs[c], tmp_path / "in" / c) for c in ("ma", "mb")]
    out = tmp_path / "out" / "national"
    # Both sweeps on one real cluster of one worker, latcircle's own (as `--workers 1`
    # starts it), given by its address: one cluster start, not one per sweep.
    with _client(None, 1, logging.WARNING) as client:
        address = client.scheduler.address
        first = run_many(cities, out=out, scheduler=address)
        assert [c.status for c in first.cities] == ["done", "done"]
        kept = (tmp_path / "out" / "mb" / "coverage.csv").read_bytes()
        (tmp_path / "out" / "ma" / "latency.tif").unlink()  # batch.json, run.json still there
        second = run_many(cities, out=out, scheduler=address)
    assert [(c.city, c.status) for c in second.cities] == [("ma", "done"), ("mb", "skipped")]
    assert second.cities[0].note == "outputs incomplete: latency.tif missing"
    assert (tmp_path / "out" / "ma" / "latency.tif").is_file()
    assert (tmp_path / "out" / "mb" / "coverage.csv").read_bytes() == kept
    assert second.rollup is not None and second.exit_code == 0
    summary = pd.read_csv(out / "summary.csv", keep_default_na=False)
    assert list(summary["outcome"]) == ["run", "up to date"]
    assert summary["reason"].iloc[0] == "outputs incomplete: latency.tif missing"


# --------------------------------------------------------------------------- failed cities


def test_a_failed_city_is_in_every_table_with_the_denominator(configs, ma_done, tmp_path):
    """The roll-up of a sweep where one city of three failed (its outcome given by hand)."""
    done = ma_done  # run_city_task(configs["ma"]): its folder copied here
    _finished(done, tmp_path)
    up = run_city_task(configs["ma"], cities=tmp_path)
    assert (done.status, up.status) == ("done", "skipped")
    outcomes = [
        up,
        CityOutcome(config=Path("nowhere/bad.yaml"), status="failed", reason="bad.yaml: broken"),
        CityOutcome(
            config=Path("mc.yaml"), status="failed", city="mc", out=tmp_path / "mc", reason="x"
        ),
    ]
    rollup = _rollup(outcomes, out=tmp_path / "national")
    assert rollup is not None
    national = tmp_path / "national"
    summary = pd.read_csv(national / "summary.csv", keep_default_na=False)
    assert list(summary["outcome"]) == ["up to date", "failed", "failed"]
    # A config that could not be read is named by its path.
    assert list(summary["name"]) == [summary["name"].iloc[0], "nowhere/bad.yaml", "mc"]
    assert list(summary["in_totals"]) == [False, False, False]  # synthetic, failed, failed
    assert list(summary["reason"])[1:] == ["bad.yaml: broken", "x"]
    head = pd.read_csv(national / "headline.csv").set_index("measure")
    # Hand count: 3 asked, 0 run now, 1 up to date, 2 failed; 1 city has outputs and key sites.
    for measure, value in (("asked", 3), ("run", 0), ("up_to_date", 1), ("failed", 2)):
        assert (head.loc[f"cities_{measure}", "value"], head.loc[f"cities_{measure}", "of"]) == (
            value,
            3,
        )
    assert head.loc["cities_key_sites_ge_70pct", "of"] == 1
    assert head.loc["cities_key_sites_ge_70pct", "of_what"] == (
        "cities with outputs and key sites (1 of 1 with outputs; 3 asked, 2 failed: no outputs)"
    )
    html = (national / "index.html").read_text(encoding="utf-8")
    assert "3 cities asked · 1 up to date · 2 failed" in html
    assert "nowhere/bad.yaml" in html and "failed: bad.yaml: broken" in html


def test_a_failed_citys_older_outputs_are_marked_stale(configs, tmp_path, capsys):
    config = _copy(configs["mb"], tmp_path / "in" / "mb")
    outputs = tmp_path / "outputs"
    first = run_city_task(config, cities=outputs)
    assert first.status == "done"
    before = {p.name: p.read_bytes() for p in (outputs / "mb").iterdir() if p.is_file()}
    text = _break_sites(config)
    failed = run_city_task(config, cities=outputs)
    assert failed.status == "failed" and "sites.csv" in failed.reason
    assert failed.note == f"older outputs in {outputs / 'mb'} marked stale"
    # Kept, never destroyed: every file as it was, plus the mark.
    after = {p.name: p.read_bytes() for p in (outputs / "mb").iterdir() if p.is_file()}
    assert set(after) == set(before) | {STALE_RECORD}
    assert all(after[n] == data for n, data in before.items())
    stale = json.loads(after[STALE_RECORD])
    assert stale["reason"] == failed.reason and stale["config"] == str(config)

    # A later roll-up reads them, says so and leaves them out of the totals.
    code = main(
        ["national-rollup", str(outputs), "--out", str(outputs / "national"), "--include-synthetic"]
    )
    _, err = capsys.readouterr()
    assert code == 0
    assert f"{outputs / 'mb'}: stale outputs, not counted (its last run failed: " in err
    summary = pd.read_csv(outputs / "national" / "summary.csv", keep_default_na=False)
    assert list(summary["outcome"]) == ["stale"] and list(summary["in_totals"]) == [False]
    assert summary["totals_note"].iloc[0].startswith("stale (its last run failed: ")
    html = (outputs / "national" / "index.html").read_text(encoding="utf-8")
    assert "stale: its last run failed" in html

    # Fixed: the same key as the stale outputs, yet the city runs again and the mark goes.
    (config.parent / "sites.csv").write_text(text, encoding="utf-8")
    assert str(reason_to_run(outputs / "mb", first.key)).startswith("stale: its last run failed")
    fixed = run_city_task(config, cities=outputs)
    assert fixed.status == "done" and fixed.note.startswith("stale: its last run failed")
    assert not (outputs / "mb" / STALE_RECORD).exists()


def test_a_failure_in_a_folder_not_ours_marks_nothing(configs, tmp_path):
    config = _copy(configs["ma"], tmp_path / "in" / "ma")
    theirs = tmp_path / "outputs" / "ma"
    theirs.mkdir(parents=True)
    (theirs / "notes.txt").write_text("mine", encoding="utf-8")
    outcome = run_city_task(config, cities=tmp_path / "outputs")
    assert outcome.status == "failed" and "not written by latcircle" in outcome.reason
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt"] and outcome.note == ""


# --------------------------------------------------------------------------- the command


def test_out_over_an_input_folder_is_refused_before_the_sweep(configs, tmp_path, capsys):
    config = _copy(configs["ma"], tmp_path / "data" / "ma")
    t0 = time.perf_counter()
    code = main(["national", str(config), "--out", str(tmp_path / "data")])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith(f"latcircle: error: {tmp_path / 'data'}: "), err
    # Nothing ran: no city folder beside it, no cluster started (well under its start-up).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["ma"]
    assert time.perf_counter() - t0 < 5.0


@pytest.mark.slow
def test_off_a_terminal_one_line_per_city_naming_it_and_quiet_is_quiet(configs, tmp_path):
    args = [str(configs["ma"]), str(configs["mb"]), "--workers", "1"]
    loud = _cli(["national", *args, "--out", str(tmp_path / "a" / "national")])
    assert loud.returncode == 0, loud.stderr
    lines = loud.stderr.splitlines()
    per_city = [line for line in lines if line.startswith("cities ")]
    assert [line.split(" ", 2)[1] for line in per_city] == ["1/2", "2/2"]
    assert {line.split(" ", 3)[2] for line in per_city} == {"ma:", "mb:"}
    assert all(" done in " in line for line in per_city)
    # The demo networks have several components: a worker's warning, named by its city.
    warnings = [line for line in lines if line.startswith("WARNING  ")]
    assert warnings and all(line.split()[1] in ("ma:", "mb:") for line in warnings)
    assert loud.stdout.startswith("2 asked: 2 run, 0 up to date, 0 failed on 1 workers")

    quiet = _cli(["-q", "national", *args, "--out", str(tmp_path / "b" / "national")])
    assert quiet.returncode == 0
    assert (quiet.stdout, quiet.stderr) == ("", "")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="a process group's Ctrl-C is POSIX")
def test_ctrl_c_stops_the_sweep_cleanly(tmp_path, sigint_as_at_a_terminal):
    """Ctrl-C at a terminal reaches the whole process group: the driver and every worker."""
    # The first city is small, so "cities 1/12" comes soon; the eleven after it are larger, so
    # the sweep is still running when the signal lands, even on a loaded machine (with six
    # small cities it once finished before a starved test process sent it): after the first
    # city, five rounds of a larger city per worker are left (about 1.2 s of CPU each; four
    # cities of scale 0.5 left two rounds of about 2.8 s: 7 Dec 2026). The larger ones are one
    # generated metro under eleven ids (a copy costs nothing; a generation at scale 0.25
    # about 0.3 s of CPU, at 0.5 about 0.55 s): each is a city of its own to the sweep. A
    # smaller city in hand when the signal lands also ends the shutdown sooner.
    configs = [str(write_demo_city(tmp_path / "m0", seed=20, scale=0.12, city_id="m0"))]
    large = write_demo_city(tmp_path / "m1", seed=22, scale=0.25, city_id="m1")
    configs += [str(large)] + [
        str(_renamed(large, tmp_path / f"m{i}", f"m{i}")) for i in range(2, 12)
    ]
    err_path = tmp_path / "stderr.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "latcircle", "national", *configs, "--workers", "2"]
    # Started as from a terminal's shell (``sigint_as_at_a_terminal``): the child starts with
    # SIGINT at its default disposition, whatever this test process's was (an ignored SIGINT
    # is inherited across exec, and the child would then run the sweep to its end, exit 0).
    with err_path.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            [*cmd, "--out", str(tmp_path / "out" / "national")],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            text=True,
            start_new_session=True,  # its own group: the signal below reaches it alone
        )
        try:
            deadline = time.monotonic() + 120
            while f"cities 1/{len(configs)}" not in err_path.read_text(encoding="utf-8"):
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
            os.killpg(proc.pid, signal.SIGINT)
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    text = err_path.read_text(encoding="utf-8")
    assert proc.returncode == 130, text
    assert text.rstrip().endswith("latcircle: interrupted; previous outputs left intact")
    for noise in ("Traceback", "CancelledError", "still alive", "KeyboardInterrupt"):
        assert noise not in text, text
    assert out == ""
    assert not (tmp_path / "out" / "national").exists()  # no roll-up of half a sweep
