"""Regenerate the figures the README quotes, between its ``figures`` markers.

The README quotes measured shares (Wuhan by basis; the demo's key-site share by year). Each
quote sits between markers::

    <!-- figures:start KEY -->key sites 93.4 %, ...<!-- figures:end -->

This script computes every quote from the code (the demo metro is generated; Wuhan reads
``../shared/data``) and either checks the README against them (default: exit 1 when they
differ) or writes them in (``--write``). ``tests/test_readme_figures.py`` runs the check, so
the text and the code cannot drift apart.

Usage::

    python scripts/readme_figures.py            # check (Wuhan skipped without the data)
    python scripts/readme_figures.py --write    # rewrite the quotes in README.md
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from latcircle.analysis.metro import prepare
from latcircle.config import CityConfig, load_config
from latcircle.demo.generator import write_demo_city

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Where the real data lives beside the repository (data/README: never copied in).
SHARED_DATA = ROOT.parent / "shared" / "data"
WUHAN_CONFIG = ROOT / "data" / "cities" / "wuhan.yaml"
#: The relative prefix the Wuhan config uses for the shared data.
_SHARED_PREFIX = re.compile(r"^(\.\./)+shared/data/")

MARKER = re.compile(
    r"<!-- figures:start (?P<key>[\w-]+) -->(?P<text>.*?)<!-- figures:end -->", re.DOTALL
)


def percent(share: float) -> str:
    """Format a share as the README prints it: one decimal and a spaced percent sign."""
    return f"{100.0 * share:.1f} %"


def demo_figures() -> dict[str, str]:
    """Return the demo metro's quotes: key-site share within 1 ms in 2024, 2027 and 2028."""
    with tempfile.TemporaryDirectory(prefix="readme-demo-") as tmp:
        metro = prepare(load_config(write_demo_city(Path(tmp) / "demo", seed=7)))
        share = {
            year: metro.scenario(year=year).share("key_sites", threshold_ms=1.0)
            for year in (2024, 2027, 2028)
        }
    return {
        "demo-2024-2027": f"{percent(share[2024])} to {percent(share[2027])}",
        "demo-2028": percent(share[2028]),
    }


def wuhan_config(shared_data: Path = SHARED_DATA) -> CityConfig:
    """Return the Wuhan config with its shared-data paths pointing at ``shared_data``.

    The config names the data relative to the repository (``../../../shared/data/...``); a
    checkout elsewhere (a worktree) passes the folder explicitly.
    """
    raw = yaml.safe_load(WUHAN_CONFIG.read_text(encoding="utf-8"))
    overrides = {
        key: _repoint(value, shared_data)
        for key, value in raw.items()
        if _repoint(value, shared_data) != value
    }
    return load_config(WUHAN_CONFIG, **overrides)


def _repoint(value: Any, shared_data: Path) -> Any:
    if isinstance(value, dict):
        return {k: _repoint(v, shared_data) for k, v in value.items()}
    if isinstance(value, list):
        return [_repoint(v, shared_data) for v in value]
    if isinstance(value, str) and _SHARED_PREFIX.match(value):
        return str(shared_data / _SHARED_PREFIX.sub("", value))
    return value


def wuhan_figures(shared_data: Path = SHARED_DATA) -> dict[str, str]:
    """Return Wuhan's quote: the share of each basis within the budget, as the run reports."""
    cfg = wuhan_config(shared_data)
    metro = prepare(cfg)
    scenario = metro.scenario(year=cfg.year)
    share = {b: scenario.share(b, threshold_ms=cfg.budget_ms) for b in metro.samples}
    text = (
        f"key sites {percent(share['key_sites'])}, population {percent(share['population'])}, "
        f"area {percent(share['area'])}"
    )
    return {"wuhan": text}


def has_wuhan_data(shared_data: Path = SHARED_DATA) -> bool:
    """Whether the Wuhan data is there."""
    return (shared_data / "wuhan" / "roads_osm.parquet").exists()


def quotes(text: str) -> dict[str, str]:
    """Return the quotes between the markers of a README text, by key."""
    return {m["key"]: m["text"] for m in MARKER.finditer(text)}


def rewrite(text: str, figures: dict[str, str]) -> str:
    """Return ``text`` with the quotes of ``figures`` replaced (other keys left as they are)."""

    def sub(m: re.Match[str]) -> str:
        new = figures.get(m["key"], m["text"])
        return f"<!-- figures:start {m['key']} -->{new}<!-- figures:end -->"

    return MARKER.sub(sub, text)


def differences(text: str, figures: dict[str, str]) -> list[str]:
    """Return one line per quote that differs from (or is missing for) a computed figure."""
    have = quotes(text)
    out = []
    for key, want in figures.items():
        if key not in have:
            out.append(f"README.md: no figures marker {key!r}")
        elif have[key] != want:
            out.append(f"README.md: figures {key!r} say {have[key]!r}, the code gives {want!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Check (default) or write the README's figures; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the quotes in README")
    parser.add_argument("--shared-data", type=Path, default=SHARED_DATA, help="real data folder")
    args = parser.parse_args(argv)
    sources: list[Callable[[], dict[str, str]]] = [demo_figures]
    if has_wuhan_data(args.shared_data):
        sources.append(lambda: wuhan_figures(args.shared_data))
    else:
        print(f"Wuhan figures left as they are: no data at {args.shared_data}")
    figures: dict[str, str] = {}
    for source in sources:
        figures.update(source())
    text = README.read_text(encoding="utf-8")
    if args.write:
        missing = [k for k in figures if k not in quotes(text)]
        if missing:
            print(f"README.md: no figures marker for {', '.join(missing)}")
            return 1
        README.write_text(rewrite(text, figures), encoding="utf-8")
        print(f"README.md: {len(figures)} quote(s) written")
        return 0
    problems = differences(text, figures)
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
