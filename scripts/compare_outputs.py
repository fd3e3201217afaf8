"""Compare two latcircle output folders byte for byte, stage timings aside.

Usage::

    python scripts/compare_outputs.py BEFORE AFTER [--same-path OLD=NEW ...]

Every file under either folder must exist in both and hold the same bytes. ``timings.json``
(stage timings: wall time differs on every run) is skipped wherever it is. ``run.json`` is
the other exception: it recorded stage timings before ``timings.json`` existed, and the absolute
paths of the inputs (which differ when the same inputs sit in another folder). It is compared
as JSON with ``stage_seconds`` removed and each ``--same-path OLD=NEW`` prefix of AFTER's
strings mapped back to OLD; everything else in it must be equal.

Exit code 0 when the folders match, 1 when they differ (each difference on one line), 2 when a
folder does not exist.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Keys of run.json that legitimately change from run to run (wall time per stage), in
#: folders written before the timings moved to their own file.
TIMING_KEYS = ("stage_seconds",)
#: Files that legitimately change from run to run: their whole content is timings.
TIMING_FILES = ("timings.json",)


def compare_folders(
    before: Path, after: Path, *, same_paths: Sequence[tuple[str, str]] = ()
) -> list[str]:
    """Return the differences between two output folders, one line each (empty: identical).

    Parameters
    ----------
    before, after
        The two output folders.
    same_paths
        ``(old, new)`` path prefixes: a string of AFTER's ``run.json`` starting with ``new``
        is compared as if it started with ``old``.

    Returns
    -------
    list of str
    """
    a_files = _files(before)
    b_files = _files(after)
    diffs = [f"only in {before}: {p}" for p in sorted(a_files - b_files)]
    diffs += [f"only in {after}: {p}" for p in sorted(b_files - a_files)]
    for rel in sorted(a_files & b_files):
        a, b = (before / rel).read_bytes(), (after / rel).read_bytes()
        if rel == "run.json":
            diffs += _compare_run_record(a, b, same_paths)
        elif a != b:
            diffs.append(f"differs: {rel} ({len(a)} vs {len(b)} bytes, {_first_diff(a, b)})")
    return diffs


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in TIMING_FILES
    }


def _first_diff(a: bytes, b: bytes) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"first difference at byte {n}"


def _compare_run_record(a: bytes, b: bytes, same_paths: Sequence[tuple[str, str]]) -> list[str]:
    old, new = json.loads(a), json.loads(b)
    for key in TIMING_KEYS:
        old.pop(key, None)
        new.pop(key, None)
    new = _map_paths(new, same_paths)
    if old == new:
        return []
    return [f"differs: run.json at {path}" for path in _json_diff(old, new, "$")]


def _map_paths(value: Any, same_paths: Sequence[tuple[str, str]]) -> Any:
    if isinstance(value, dict):
        return {k: _map_paths(v, same_paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_paths(v, same_paths) for v in value]
    if isinstance(value, str):
        for old, new in same_paths:
            if value.startswith(new):
                return old + value[len(new) :]
    return value


def _json_diff(a: Any, b: Any, where: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{where}.{k} (only on one side)")
            else:
                out += _json_diff(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _json_diff(x, y, f"{where}[{i}]")
        ]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def main(argv: Sequence[str] | None = None) -> int:
    """Compare two output folders; return the exit code (0 same, 1 different, 2 bad input)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument(
        "--same-path",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="an input path prefix that moved between the runs (run.json only)",
    )
    args = parser.parse_args(argv)
    for folder in (args.before, args.after):
        if not folder.is_dir():
            print(f"compare_outputs: error: {folder}: no such folder", file=sys.stderr)
            return 2
    pairs = []
    for item in args.same_path:
        old, sep, new = item.partition("=")
        if not sep:
            print(f"compare_outputs: error: --same-path {item}: expected OLD=NEW", file=sys.stderr)
            return 2
        pairs.append((old, new))
    diffs = compare_folders(args.before, args.after, same_paths=pairs)
    for line in diffs:
        print(line)
    n = len(_files(args.before))
    print(
        f"{'identical' if not diffs else 'DIFFERENT'}: {n} files in {args.before} vs {args.after}"
    )
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
