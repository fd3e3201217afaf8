"""The planner's figure and report section (HTML and PNG only; the section is a template)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from latcircle.present.figures import BASIS_LABELS, _with_fonts, png_bytes
from latcircle.present.templating import png_base64, render

__all__ = ["curve_figure", "plan_context", "plan_section", "write_curve_png"]


#: Colours of the goal years (first, second, further), told apart also by line style.
YEAR_STYLES = (("#1f77b4", "-"), ("#d62728", "--"), ("#2ca02c", ":"), ("#9467bd", "-."))
#: Steps of the plan labelled with their gain (percentage points).
GAIN_LABELS = 5


@_with_fonts  # names are drawn as written: a city called "$x^{$" is no formula
def curve_figure(
    curve: pd.DataFrame, *, title: str = "", targets: dict[int, float] | None = None
) -> Figure:
    """Plot share against cumulative cost: the plan's exact step function, one per goal year.

    For each goal year: the plan's builds in ``plan.csv`` order (``limit = plan``) as a step
    function from zero cost (the baseline), the first steps labelled with their gain; the
    best share with at most k builds (``limit = builds``) as markers at their cost; the
    target as a horizontal line in the year's colour.

    Parameters
    ----------
    curve
        ``curve.csv``: ``year``, ``basis``, ``limit``, ``builds``, ``cost``, ``share``
        (and ``gain``).
    title
        Axes title.
    targets
        Target share by goal year (the lines).
    """
    fig = Figure(figsize=(7.0, 4.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    targets = targets or {}
    years = sorted({int(y) for y in curve["year"]}) if "year" in curve else []
    drawn = False
    for i, year in enumerate(years):
        colour, style = YEAR_STYLES[i % len(YEAR_STYLES)]
        rows = curve[curve["year"] == year]
        trail = rows[rows["limit"] == "plan"]
        if "at_most" in trail:  # the step order (an older curve.csv has no plan rows)
            trail = trail.sort_values("at_most")
        basis = str(rows["basis"].iloc[0]) if "basis" in rows and len(rows) else ""
        label = f"{year}: the plan ({BASIS_LABELS.get(basis, basis)})"
        if len(trail) > 1:
            drawn = True
            _steps(ax, trail, colour, style, label, offset=i)
        best = rows[rows["limit"] == "builds"]
        if len(best):
            ax.plot(
                best["cost"],
                best["share"] * 100.0,
                linestyle="none",
                marker="o" if i == 0 else "s",
                markerfacecolor="none",
                color=colour,
                label=f"{year}: best with k builds",
            )
        if year in targets:
            ax.axhline(targets[year] * 100.0, color=colour, linestyle=style, linewidth=0.8)
            ax.annotate(
                f"target {year}: {targets[year]:.0%}",
                (0.0, targets[year] * 100.0),
                xycoords=("axes fraction", "data"),
                xytext=(2, 2),
                textcoords="offset points",
                fontsize=7,
                color=colour,
            )
    ax.set_xlabel("cumulative cost of the builds (plan cost units)")
    ax.set_ylabel("share within the budget (%)")
    ax.set_xlim(left=0.0)
    if drawn:
        ax.legend(fontsize=7, loc="lower right")
    else:
        ax.text(
            0.5, 0.5, "nothing to build: the targets are met", ha="center", transform=ax.transAxes
        )
    ax.set_title(title or "The plan: share against cumulative cost", fontsize=10)
    return fig


def _steps(
    ax: object, trail: pd.DataFrame, colour: str, style: str, label: str, *, offset: int
) -> None:
    """One year's step function, and the gain of its first steps."""
    cost = trail["cost"].to_numpy(float)
    share = trail["share"].to_numpy(float) * 100.0
    ax.step(cost, share, where="post", color=colour, linestyle=style, label=label)  # type: ignore[attr-defined]
    gains = np.diff(share)
    for k in np.flatnonzero(gains > 0)[:GAIN_LABELS].tolist():
        ax.annotate(  # type: ignore[attr-defined]
            f"+{gains[k]:.2f} pt",
            (cost[k + 1], share[k + 1]),
            fontsize=6,
            color=colour,
            xytext=(3, -9 - 8 * offset),
            textcoords="offset points",
        )


def write_curve_png(
    curve: pd.DataFrame, path: Path, *, title: str = "", targets: dict[int, float] | None = None
) -> Path:
    """Write :func:`curve_figure` as a PNG (stable bytes)."""
    Path(path).write_bytes(png_bytes(curve_figure(curve, title=title, targets=targets)))
    return Path(path)


def plan_section(plan: pd.DataFrame, record: dict, *, curve_png: bytes | None = None) -> str:
    """Return the report's plan section alone (``templates/report/plan.html``).

    Parameters
    ----------
    plan
        ``plan.csv``.
    record
        ``plan.json``.
    curve_png
        ``plan/curve.png``, placed at the section's end when given.
    """
    return render("report/plan.html", plan=plan_context(plan, record, curve_png=curve_png))


def plan_context(
    plan: pd.DataFrame, record: dict, *, curve_png: bytes | None = None
) -> dict[str, Any]:
    """Return the plan section's variables: what to build, cost, shares, solver and gap.

    Values are plain text, escaped where the template prints them: names from data files
    are inert text.

    Parameters
    ----------
    plan
        ``plan.csv``.
    record
        ``plan.json``.
    curve_png
        ``plan/curve.png``, or ``None``.

    Returns
    -------
    dict
        ``templates/report/plan.html``'s ``plan``.
    """
    rows = [
        [
            str(v)
            for v in (
                r.year,
                r.build_id,
                r.kind,
                r.name,
                f"{r.cost:,.2f}",
                f"{r.cumulative_share:.1%}",
            )
        ]
        for r in plan.itertuples()
    ]
    shares = ", ".join(
        f"{y}: {record['baseline_share'][y]:.1%} → {record['planned_share'][y]:.1%}"
        for y in record.get("planned_share", {})
        if record["planned_share"][y] is not None and record["baseline_share"][y] is not None
    )
    gap = record.get("gap")
    return {
        "basis": str(record.get("basis")),
        "shares": shares,
        "cost": f"{(record.get('cost') or 0):,.2f}",
        "solver": str(record.get("solver")),
        "gap": "n/a" if gap is None else f"{gap:.2%}",
        "rows": rows,
        "curve": None if curve_png is None else png_base64(curve_png),
    }
