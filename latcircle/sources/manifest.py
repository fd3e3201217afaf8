"""The fetch manifest (``<city>/fetch.json``): what each output was made from, and when."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from latcircle.output.files import atomic_file

_MANIFEST = "fetch.json"


def read_manifest(folder: Path) -> dict[str, Any]:
    """Return the manifest's entry per source (empty when there is none)."""
    try:
        data = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("sources", {}) if isinstance(data, dict) else {}


def write_manifest(folder: Path, sources: dict[str, Any], **extra: Any) -> None:
    """Write the manifest atomically, keeping its other top-level keys."""
    folder.mkdir(parents=True, exist_ok=True)
    previous = {}
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    data = {"written_by": "latcircle fetch", **previous, **extra, "sources": sources}
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    atomic_file(folder / _MANIFEST, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))


def read_manifest_extra(folder: Path) -> dict[str, Any]:
    """Return the whole manifest (empty when there is none or it is unreadable)."""
    try:
        data = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def up_to_date(folder: Path, entry: dict[str, Any] | None, params: dict[str, Any]) -> bool:
    """Whether an output was made with these parameters and is still on disk."""
    if not entry or entry.get("params") != params:
        return False
    file = entry.get("file")
    return file is None or (folder / file).exists()
