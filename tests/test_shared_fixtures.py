"""The session-shared fixtures (conftest) are safe to share, and their guard can fail.

``demo_inputs``, ``demo_metro``, ``demo_run``, ``wuhan_run`` and ``tiny_run`` are built once
per session and read by many tests (docs/testing.md, "One demo per session"). Sharing is
only honest when (1) a shared object is not changed by the work the tests do with it, (2) the
end-of-session guard sees any change a test does make, and (3) a run from a prepared metro
writes the bytes a run from the config writes (``demo_run`` is run from ``demo_metro``).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import shapely
from conftest import (
    _tree_changes,
    _unchanged_files,
    _unchanged_object,
    copy_demo_inputs,
    fingerprint,
    tree_digest,
)

from latcircle.analysis.metro import prepare
from latcircle.config import load_config
from latcircle.pipeline import default_outputs, run_city


def test_tree_digest_names_every_changed_added_and_removed_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "sub" / "b.txt").write_text("b")
    before = tree_digest(tmp_path)
    assert sorted(before) == ["a.csv", "sub/b.txt"]
    _unchanged_files("folder", tmp_path, before)  # nothing changed: passes

    (tmp_path / "a.csv").write_text("x\n2\n")  # same size, one byte differs
    (tmp_path / "sub" / "b.txt").unlink()
    (tmp_path / "sub" / "c.aux.xml").write_text("")  # an empty file left beside
    assert _tree_changes(before, tree_digest(tmp_path)) == [
        "changed a.csv",
        "removed sub/b.txt",
        "added sub/c.aux.xml",
    ]
    with pytest.raises(pytest.fail.Exception, match=r"modified the shared folder .*changed a\.csv"):
        _unchanged_files("folder", tmp_path, before)


def test_fingerprint_is_stable_under_use_and_sees_an_in_place_change(tiny_city: Path) -> None:
    metro = prepare(load_config(tiny_city))
    before = fingerprint(metro)
    for year in (None, 2020, 2024, 2027):  # what the tests do with a shared metro
        metro.scenario(year=year)
    assert fingerprint(metro) == before  # no cache fills up: a Metro can be shared
    _unchanged_object("Metro", metro, before)
    # As a worker loads it (pickled by the builder, conftest ``_build_once``): a CRS there
    # fills its cache on first use, which the fingerprint must not take for a change.
    loaded = pickle.loads(pickle.dumps(metro, protocol=pickle.HIGHEST_PROTOCOL))
    on_load = fingerprint(loaded)
    for year in (None, 2024):
        loaded.scenario(year=year)
    assert fingerprint(loaded) == on_load

    weight = metro.samples["population"].weight
    weight[3] += 1.0  # one number deep inside a dataclass in a mapping
    assert fingerprint(metro) != before
    with pytest.raises(pytest.fail.Exception, match="modified the shared Metro in place"):
        _unchanged_object("Metro", metro, before)
    weight[3] -= 1.0
    assert fingerprint(metro) == before  # back as it was (100 + 1 - 1 is exact)

    sites = metro.inputs.sites
    name = sites.loc[sites.index[0], "name"]
    sites.loc[sites.index[0], "name"] = "renamed"  # a cell of a frame
    assert fingerprint(metro) != before
    sites.loc[sites.index[0], "name"] = name
    point = sites.geometry.iloc[1]
    sites.loc[sites.index[1], "geometry"] = shapely.Point(point.x + 1e-6, point.y)
    assert fingerprint(metro) != before  # a geometry moved by a micrometre
    sites.loc[sites.index[1], "geometry"] = point
    metro.arcs.data[0] *= 2.0  # the sparse arc matrix
    assert fingerprint(metro) != before
    metro.arcs.data[0] /= 2.0
    assert fingerprint(metro) == before


def test_a_run_from_a_prepared_metro_writes_the_bytes_of_a_run_from_the_config(
    tiny_city: Path, tmp_path: Path
) -> None:
    """What lets ``demo_run`` (run from ``demo_metro``) stand for ``latcircle run``."""
    cfg = load_config(tiny_city)
    a = run_city(cfg, out=tmp_path / "a", extra_outputs=default_outputs())
    b = run_city(cfg, out=tmp_path / "b", metro=prepare(cfg), extra_outputs=default_outputs())
    files_a, files_b = tree_digest(a.out), tree_digest(b.out)
    assert {"map.html", "report.html", "progress.csv", "isochrones.gpkg"} <= set(files_a)
    files_a.pop("timings.json"), files_b.pop("timings.json")  # wall times differ by design
    assert files_a == files_b
    assert a.headline == b.headline
    assert a.coverage.equals(b.coverage) and a.progress is not None
    assert a.progress.equals(b.progress)


def test_a_copy_of_the_demo_inputs_is_the_demo(demo_inputs: Path, tmp_path: Path) -> None:
    copy = copy_demo_inputs(demo_inputs, tmp_path / "copy")
    assert copy.name == "demo.yaml" and copy.parent == tmp_path / "copy"
    assert tree_digest(copy.parent) == tree_digest(demo_inputs.parent)
    # The config names its files relatively: the copy reads the copy, not the shared folder.
    cfg = load_config(copy)
    assert cfg.network.path == copy.parent / "roads.gpkg"


def test_the_shared_demo_run_holds_the_default_outputs(demo_run, demo_metro) -> None:
    # Run from the shared metro (run_city only swaps in the config): no second prepare.
    assert demo_run.metro.samples is demo_metro.samples and demo_run.scenario.year is None
    names = set(tree_digest(demo_run.out))
    assert {"map.html", "report.html", "progress.csv", "progress.json", "run.json"} <= names
    assert demo_run.progress is not None
    # The headline is the prepared metro's own share at the budget, basis by basis.
    scenario = demo_metro.scenario()
    for basis, share in demo_run.headline.items():
        assert share == scenario.share(basis, threshold_ms=demo_metro.config.budget_ms), basis
    assert np.isfinite(list(demo_run.headline.values())).all()


def test_built_once_across_xdist_workers_and_checked_against_the_builder(
    tmp_path: Path,
) -> None:
    """The first worker builds; the next loads its pickle, with the named shared objects its own.

    Two workers of one session are two processes; here the second is the same process asking
    again (what it can see is the same: the lock, the pickle and the builder's digests).
    """
    from conftest import _build_once

    class Factory:  # a worker's tmp_path_factory: its basetemp is a folder of the session's
        def getbasetemp(self) -> Path:
            return tmp_path / "popen-gw0"

        def mktemp(self, name: str) -> Path:  # outside xdist only
            (tmp_path / "own" / name).mkdir(parents=True)
            return tmp_path / "own" / name

    mine, theirs = {"big": np.arange(5.0)}, {"big": np.arange(5.0)}  # two workers' objects
    built = []

    def build(folder: Path) -> dict[str, object]:
        built.append(folder)
        (folder / "out").mkdir()
        (folder / "out" / "a.csv").write_text("x\n1\n")
        return {"out": folder / "out", "table": np.ones(3), "uses": mine["big"]}

    first, digests = _build_once(
        Factory(),
        "thing",
        build,
        lambda v: {"out": v["out"]},
        shared=mine,  # type: ignore[arg-type]
        worker=True,
    )
    assert built == [tmp_path / "thing"] and first["uses"] is mine["big"]
    assert digests == {"out": tree_digest(tmp_path / "thing" / "out")}
    second, digests2 = _build_once(
        Factory(),
        "thing",
        build,
        lambda v: {"out": v["out"]},
        shared=theirs,  # type: ignore[arg-type]
        worker=True,
    )
    assert len(built) == 1  # loaded, not built again
    assert second["out"] == first["out"] and digests2 == digests
    np.testing.assert_array_equal(second["table"], first["table"])
    assert second["uses"] is theirs["big"]  # the loading worker's own object, not a copy
    # A change made after the build is seen against the builder's digests, on any worker.
    (tmp_path / "thing" / "out" / "a.csv").write_text("x\n2\n")
    with pytest.raises(pytest.fail.Exception, match=r"changed a\.csv"):
        _unchanged_files("thing", second["out"], digests2["out"])
    # Outside xdist each process builds its own, in its own temporary folder.
    own, _ = _build_once(Factory(), "thing", build, lambda v: {"out": v["out"]}, worker=False)  # type: ignore[arg-type]
    assert (
        built[1:] == [tmp_path / "own" / "thing"]
        and own["out"] == tmp_path / "own" / "thing" / "out"
    )
