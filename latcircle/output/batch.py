"""A national sweep's records in a city's output folder: finished and complete, or stale.

``batch.json`` is written after the city's outputs are in place: the key of the inputs and
parameters they were made from and the SHA-256 of every file they hold. A city is up to date
only when the key is the same, every file listed is there with the same bytes and no
``stale.json`` says its last run failed; anything else reruns that city (only that one).

``stale.json`` is written into a city's older outputs when its run fails: the outputs are
kept (never destroyed), but the roll-up reads the mark, leaves the run out of the national
totals and says so. A successful run replaces the folder whole, mark included.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from latcircle.output.files import MARKER, atomic_file, sha256_file, write_json

__all__ = [
    "BATCH_RECORD",
    "STALE_RECORD",
    "files_manifest",
    "mark_stale",
    "read_stale",
    "reason_to_run",
    "write_batch_record",
]

#: The file in a city's outputs recording the key of its inputs and parameters and its files.
BATCH_RECORD = "batch.json"
#: The mark in a city's older outputs whose last run failed.
STALE_RECORD = "stale.json"
#: Files a manifest leaves out: wall times (differ by design) and the records themselves.
_UNLISTED = frozenset({"timings.json", BATCH_RECORD, STALE_RECORD})
#: Folders a manifest leaves out: written by other commands (``latcircle plan``).
_UNLISTED_DIRS = frozenset({"plan"})


def files_manifest(folder: Path) -> dict[str, str]:
    """Return ``{relative path: SHA-256}`` of every output file of a city folder.

    Parameters
    ----------
    folder
        A city output folder.
    """
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or rel.parts[0] in _UNLISTED_DIRS or rel.name in _UNLISTED:
            continue
        if len(rel.parts) == 1 or not rel.parts[0].startswith("."):
            out[rel.as_posix()] = sha256_file(path)
    return out


def write_batch_record(folder: Path, *, key: str, options: dict[str, Any]) -> None:
    """Write ``batch.json`` (key, options, files) into finished outputs, last.

    Parameters
    ----------
    folder
        The city's output folder, its outputs already in place.
    key
        The key of the inputs and parameters.
    options
        The run options recorded beside the key (maps, report).
    """
    record = {"key": key, **options, "files": files_manifest(folder)}
    atomic_file(folder / BATCH_RECORD, lambda tmp: write_json(record, tmp))


def reason_to_run(folder: Path, key: str) -> str | None:
    """Return why a city must run, or ``None`` when its outputs are up to date and complete.

    Parameters
    ----------
    folder
        The city's output folder.
    key
        The key of its current inputs and parameters.

    Returns
    -------
    str or None
        ``"no finished outputs"``, ``"inputs or parameters changed"``, ``"outputs
        incomplete: <file> missing"``, ``"outputs damaged: <file> changed"`` or
        ``"stale: ..."``; ``None`` to skip it.
    """
    try:
        record = json.loads((folder / BATCH_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no finished outputs"
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        return "no finished outputs"
    if record.get("key") != key:
        return "inputs or parameters changed"
    stale = read_stale(folder)
    if stale:
        return f"stale: {stale}"
    for name, digest in sorted(record["files"].items()):
        path = folder / name
        if not path.is_file():
            return f"outputs incomplete: {name} missing"
        if sha256_file(path) != digest:
            return f"outputs damaged: {name} changed since the run"
    if not (folder / "run.json").is_file():
        return "outputs incomplete: run.json missing"
    return None


def mark_stale(folder: Path, *, reason: str, config: str) -> bool:
    """Mark a city's older outputs stale after its run failed; ``False`` when there are none.

    Only a folder latcircle wrote (with :data:`~latcircle.output.files.MARKER`) is marked.

    Parameters
    ----------
    folder
        The city's output folder.
    reason
        Why the last run failed (one line).
    config
        The config that failed.
    """
    if not (folder / MARKER).is_file() or not (folder / "run.json").is_file():
        return False
    record = {"stale": True, "reason": reason, "config": config}
    atomic_file(folder / STALE_RECORD, lambda tmp: write_json(record, tmp))
    return True


def read_stale(folder: Path) -> str:
    """Return why a city's outputs are stale (its last run's failure), or ``""``.

    Parameters
    ----------
    folder
        A city output folder.
    """
    path = Path(folder) / STALE_RECORD
    if not path.exists():
        return ""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "its last run failed (stale.json unreadable)"
    reason = record.get("reason") if isinstance(record, dict) else None
    return f"its last run failed: {reason}" if reason else "its last run failed"
