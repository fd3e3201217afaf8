"""One city's run, as ``run``, ``demo`` and ``city`` do it: the outputs, the bar, the summary."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from latcircle.cli.options import EXIT_OK, stage_bar
from latcircle.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from latcircle.config import CityConfig
    from latcircle.run import RunResult

__all__ = ["outputs_of", "print_summary", "run_and_report"]


def outputs_of(args: argparse.Namespace) -> list[Callable[..., object]]:
    """Return the output steps the command's options ask for (``default_outputs``)."""
    from latcircle.pipeline import default_outputs

    return default_outputs(
        maps=getattr(args, "maps", True),
        report=getattr(args, "report", True),
        map_assets=args.map_assets,
        basemap=args.basemap,
        bands=args.bands,
        exports=args.export,
        export_crs=args.export_crs,
        lang=getattr(args, "lang", None),
        whatif=_whatif_arg(getattr(args, "whatif", None)),
        frozen_heap=True,  # run_and_report freezes the heap for the run, unfreezes it after
    )


def _whatif_arg(text: str | None) -> int | None:
    """Parse ``--what-if N``: a whole number (its range is checked by the map writer)."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise InputError("--what-if", None, f"expected a whole number, got {text!r}") from None


def run_and_report(
    cfg: CityConfig,
    out: Path,
    *,
    args: argparse.Namespace,
    add_sites: Sequence[tuple[float, float, str | None]] = (),
) -> int:
    """Run ``cfg`` into ``out`` with a stage bar, then print the summary (unless quiet)."""
    import gc

    from latcircle.system import collector_paused

    quiet = args.quiet > 0
    # Importing the pipeline (the scientific stack) and the output steps (the presentation
    # stack) builds only objects that live as long as the process: a collection then frees
    # nothing and walks the whole heap (about 0.1 s CPU each on a Wuhan run, measured
    # 2026-12-07). The collector is off while they import, then as it was.
    with collector_paused():
        from latcircle.analysis.metro import StageTimer
        from latcircle.pipeline import RunOptions, run_city, run_stages

        extras = outputs_of(args)
        # Everything imported so far lives as long as the process: keep the collector off
        # it during the run (and hand it back after, for callers that go on, such as
        # tests). Frozen before the collector is back on: its first collection would
        # otherwise walk every object the imports made, once (0.05 s CPU on Wuhan,
        # measured with gc.callbacks 2026-12-07), only to keep them all.
        gc.freeze()
    on_start, stop = stage_bar(lambda: args.console, run_stages(extras), quiet=quiet)
    try:
        result = run_city(
            cfg,
            out=out,
            timer=StageTimer(on_start=on_start),
            extra_outputs=extras,
            options=RunOptions(add_sites=add_sites, keep_latency=False),  # not printed
        )
    finally:
        stop()
        gc.unfreeze()
    if not quiet:
        print_summary(result)
    return EXIT_OK


def print_summary(result: RunResult) -> None:
    """Print the run: scenario, shares by cause, the target in force, why, where."""
    from latcircle.logs import markup_text, plain_console
    from latcircle.present.robust import uncertainty_lines

    console = plain_console()  # piped or logged: tables 110 wide, every other line whole
    console.print(_summary_table(result))
    for line in _target_lines(result):
        console.print(line)
    for line in uncertainty_lines(result):
        console.print(f"[bold]how sure:[/] {markup_text(line)}")
    for line in result.explanations:
        console.print(f"[bold]why:[/] {markup_text(line)}")
    cfg = result.metro.config
    if cfg.synthetic:
        console.print("[yellow]synthetic metro: every input is generated[/]")
    if cfg.sites.hypothetical:
        console.print(
            "[yellow]compute sites are hypothetical (a scenario, not known facilities)[/]"
        )
    out = result.out or Path()  # a written run (run_city) always has its folder
    for name in ("report.html", "map.html"):
        if (out / name).exists():
            console.print(f"{name.split('.')[0]}: {markup_text(out / name)}")
    console.print(f"outputs in {markup_text(out)}  ({sum(result.seconds.values()):.1f} s)")


def _summary_table(result: RunResult) -> Table:
    from rich.table import Table

    from latcircle.logs import markup_text
    from latcircle.present.style import amount, percent

    cfg, scenario = result.metro.config, result.scenario
    online, total = int(scenario.online.sum()), len(scenario.online)
    when = f"scenario year {scenario.year}" if scenario.year is not None else "every site"
    title = (
        f"{markup_text(cfg.name)}: share within {cfg.budget_ms:g} ms · {when} "
        f"({online:,} of {total:,} sites online)"
    )
    table = Table(title=title)
    cols = ("basis", "covered", "no access", "unreachable", "too far", "total", "share")
    for col in cols:
        table.add_column(col, justify="right" if col != "basis" else "left")
    cov = result.coverage
    rows = cov[(cov["scope"] == "metro") & (cov["threshold_ms"] == cfg.budget_ms)]
    for row in rows.itertuples():
        table.add_row(
            _basis_label(str(row.basis), str(row.unit)),
            *(
                amount(getattr(row, c), row.unit, words=False)
                for c in ("covered", "no_access", "unreachable", "too_far", "total")
            ),
            percent(row.share),
        )
    return table


def _basis_label(basis: str, unit: str) -> str:
    """``key sites``, ``people``, ``area (km²)``: the basis, and the unit when it is not a count."""
    from latcircle.present.style import BASIS_WORDS, UNIT_WORDS

    word = BASIS_WORDS.get(basis, basis)
    return f"{word} ({UNIT_WORDS[unit]})" if unit == "km2" else word


def _target_lines(result: RunResult) -> list[str]:
    from latcircle.present.explain import target_status

    progress = result.progress
    if progress is None or progress.empty:
        return ["no targets: progress not judged"]
    year = result.scenario.year
    if year is not None:
        rows = [target_status(progress, year)]
    else:  # every site: each target judged in its own year
        judged = progress[progress["judged"].astype(bool)]
        rows = [r for _, r in judged[judged["year"] == judged["target_year"]].iterrows()]
    return [_target_line(r, year) for r in rows if r is not None]


#: Terminal colours of the progress statuses (the pages use style.PROGRESS_COLOURS).
_STATUS_MARKUP = {"met": "green", "on track": "yellow", "behind": "red"}


def _target_line(row: pd.Series, year: int | None) -> str:
    from latcircle.present.style import BASIS_WORDS, amount, percent

    colour = _STATUS_MARKUP.get(row["status"], "white")
    gap = ""
    if row["status"] != "met":
        gap = f"; gap {amount(float(row['gap']), row['unit'])} to cover by {row['target_year']}"
    lead = f"{row['year']}" if year is not None else f"{row['target_year']} target"
    return (
        f"{lead}: {percent(row['share'])} of {BASIS_WORDS[row['basis']]} within "
        f"{row['threshold_ms']:g} ms · "
        f"target in force {percent(row['target_share'], digits=0)} by {row['target_year']} · "
        f"[bold {colour}]{row['status']}[/]{gap}"
    )
