"""The planner's figure and report section (HTML and PNG only)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from latcircle.present.figures import BASIS_COLOURS, BASIS_LABELS, _with_fonts, png_bytes
from latcircle.present.style import escape_text

__all__ = ["curve_figure", "plan_section", "write_curve_png"]


@_with_fonts  # names are drawn as written: a city called "$x^{$" is no formula
def curve_figure(curve: pd.DataFrame, *, title: str = "") -> Figure:
    """Plot the best share within each cost budget, one line per goal year.

    Parameters
    ----------
    curve
        ``curve.csv``: ``year``, ``basis``, ``builds``, ``cost``, ``share``.
    title
        Axes title.
    """
    fig = Figure(figsize=(7.0, 4.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    for (year, basis), rows in curve[curve["limit"] == "cost"].groupby(
        ["year", "basis"], sort=True
    ):
        rows = rows.sort_values("cost")
        ax.plot(
            rows["cost"],
            rows["share"] * 100.0,
            marker="o",
            color=BASIS_COLOURS.get(str(basis)),
            alpha=1.0 if year == curve["year"].max() else 0.6,
            linestyle="-" if year == curve["year"].max() else "--",
            label=f"{BASIS_LABELS.get(str(basis), str(basis))}, {year}",
        )
        for r in rows.itertuples():
            ax.annotate(
                str(r.builds),
                (r.cost, r.share * 100.0),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.set_xlabel("cost of the builds (plan cost units)")
    ax.set_ylabel("best share within the budget (%)")
    if ax.get_lines():
        ax.legend(fontsize=8, loc="lower right")
    else:
        ax.text(
            0.5, 0.5, "nothing to build: the targets are met", ha="center", transform=ax.transAxes
        )
    ax.set_title(title or "Maximal covering: best share within a cost budget", fontsize=10)
    return fig


def write_curve_png(curve: pd.DataFrame, path: Path, *, title: str = "") -> Path:
    """Write :func:`curve_figure` as a PNG (stable bytes)."""
    Path(path).write_bytes(png_bytes(curve_figure(curve, title=title)))
    return Path(path)


def plan_section(plan: pd.DataFrame, record: dict) -> str:
    """Return the report's plan section: what to build, cost, shares, solver and gap.

    Every value from the plan is escaped: names from data files are inert text.

    Parameters
    ----------
    plan
        ``plan.csv``.
    record
        ``plan.json``.
    """
    esc = escape_text
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{esc(str(v))}</td>"
            for v in (
                r.year,
                r.build_id,
                r.kind,
                r.name,
                f"{r.cost:,.2f}",
                f"{r.cumulative_share:.1%}",
            )
        )
        + "</tr>"
        for r in plan.itertuples()
    )
    shares = ", ".join(
        f"{esc(y)}: {record['baseline_share'][y]:.1%} → {record['planned_share'][y]:.1%}"
        for y in record.get("planned_share", {})
        if record["planned_share"][y] is not None and record["baseline_share"][y] is not None
    )
    gap = record.get("gap")
    head = (
        f"<p>Judged on {esc(str(record.get('basis')))}; {shares}. Cost "
        f"{(record.get('cost') or 0):,.2f}, solver {esc(str(record.get('solver')))}, gap "
        f"{'n/a' if gap is None else f'{gap:.2%}'}.</p>"
    )
    table = (
        "<table><thead><tr><th>year</th><th>build</th><th>kind</th><th>name</th><th>cost</th>"
        f"<th>cumulative share</th></tr></thead><tbody>{rows}</tbody></table>"
        if len(plan)
        else "<p>Nothing to build: the targets are met.</p>"
    )
    return f'<section id="plan"><h2>Plan: what to build</h2>{head}{table}</section>'
