"""Outputs reach the disk before they are swapped in, and the swap itself after.

A power loss right after the swap must not leave the new names on incomplete files with the
old outputs gone: every file of the temporary folder, and (POSIX) every folder, is flushed
with ``fsync`` before the rename, then the parent folder after it. ``os.fsync`` is recorded
here (the path of each descriptor read back from ``/proc``), in the order of the renames.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest
from test_system import PLATFORMS

from latcircle import system
from latcircle.output.files import MARKER, atomic_folder

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="reads descriptors' paths from /proc"
)


def _record(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Record ``fsync`` (the path flushed) and renames, in order."""
    events: list[tuple[str, str]] = []
    real_fsync, real_replace, real_exchange = os.fsync, os.replace, system.exchange_folders

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(a: object, b: object) -> None:
        events.append(("rename", str(b)))
        real_replace(a, b)  # type: ignore[arg-type]

    def exchange(a: Path, b: Path) -> bool:
        done = real_exchange(a, b)
        if done:
            events.append(("rename", str(b)))
        return done

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr("latcircle.output.files.exchange_folders", exchange)
    return events


def _write(folder: Path) -> set[str]:
    (folder / "figures").mkdir()
    (folder / "run.json").write_text("{}")
    (folder / "figures" / "a.png").write_bytes(b"\x89PNG")
    return {"run.json", "figures/a.png"}


def _check(events: list[tuple[str, str]], dest: Path, *, folders: bool) -> None:
    renames = [i for i, (kind, _) in enumerate(events) if kind == "rename"]
    assert renames, events
    before = {path for kind, path in events[: renames[0]] if kind == "fsync"}
    tmp = {Path(p).parent for p in before if p.endswith("run.json")}
    assert len(tmp) == 1, events
    [tmp_dir] = tmp
    written = {
        p.relative_to(tmp_dir).as_posix() for p in map(Path, before) if p.is_relative_to(tmp_dir)
    }
    # Every file (the marker too), flushed before the first rename.
    assert {"run.json", "figures/a.png", MARKER} <= written, written
    flushed_folders = {p for p in before if Path(p) in (tmp_dir, tmp_dir / "figures")}
    assert flushed_folders == ({str(tmp_dir), str(tmp_dir / "figures")} if folders else set())
    after = [path for kind, path in events[renames[-1] + 1 :] if kind == "fsync"]
    assert after == ([str(dest.parent)] if folders else [])


@pytest.mark.parametrize("again", [False, True], ids=["new", "replacing"])
def test_files_and_folders_are_flushed_before_the_swap(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, again: bool
) -> None:
    dest = tmp_path / "out"
    if again:  # a previous run's outputs: the exchange (or two renames) path
        with atomic_folder(dest) as tmp:
            _write(tmp)
    events = _record(monkeypatch)
    with atomic_folder(dest) as tmp:
        _write(tmp)
    _check(events, dest, folders=True)
    assert (dest / "figures" / "a.png").read_bytes() == b"\x89PNG"


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_other_platforms(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, platform: str) -> None:
    dest = tmp_path / "out"
    with atomic_folder(dest) as tmp:
        _write(tmp)
    PLATFORMS[platform](monkeypatch)
    events = _record(monkeypatch)
    if platform == "windows":  # no folder can be opened there: fail loudly if one is
        real_open = os.open

        def open_(path: str, flags: int, *a: object) -> int:
            assert not os.path.isdir(path), f"Windows cannot open the folder {path}"
            assert flags & os.O_RDWR, "FlushFileBuffers needs a handle open for writing"
            return real_open(path, flags, *a)

        monkeypatch.setattr(os, "open", open_)
    with atomic_folder(dest) as tmp:
        _write(tmp)
    assert sys.platform == ("win32" if platform == "windows" else "darwin")
    _check(events, dest, folders=platform != "windows")
    assert (dest / "run.json").read_text() == "{}"


@pytest.mark.parametrize(
    ("code", "swapped"), [(errno.EINVAL, True), (errno.ENOTSUP, True), (errno.EIO, False)]
)
def test_a_file_system_that_cannot_sync_still_swaps_but_a_failing_disk_stops(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, code: int, swapped: bool
) -> None:
    """Folders refused ``fsync`` (some FUSE and network mounts): the swap goes on; EIO stops it."""
    dest = tmp_path / "out"
    with atomic_folder(dest) as tmp:
        _write(tmp)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if os.path.isdir(os.readlink(f"/proc/self/fd/{fd}")):
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    if swapped:
        with atomic_folder(dest) as tmp:
            (tmp / "run.json").write_text('{"new": 1}')
        assert (dest / "run.json").read_text() == '{"new": 1}'
    else:
        with pytest.raises(OSError, match=os.strerror(errno.EIO)), atomic_folder(dest) as tmp:
            (tmp / "run.json").write_text('{"new": 1}')
        assert (dest / "run.json").read_text() == "{}"  # the old outputs, untouched
