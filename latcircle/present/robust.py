"""How sure the figures are, in words and HTML: the report section and the CLI lines.

Reads a run's :class:`latcircle.analysis.robust.Robustness` (sensitivity curves, critical
values, quantiles, target probabilities); every string shown is escaped text.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.figure import Figure

from latcircle.present.figures import png_bytes
from latcircle.present.style import BASIS_LABELS, BASIS_WORDS, escape_text, percent

if TYPE_CHECKING:
    from latcircle.run import RunResult

__all__ = ["robust_section", "uncertainty_lines"]


def uncertainty_lines(result: RunResult) -> list[str]:
    """Return the CLI summary's lines: headline quantiles, then each target's probability.

    Plain text (the CLI escapes it for rich).
    """
    robust = result.robust
    if robust is None or robust.uncertainty is None:
        return []
    unc = robust.uncertainty
    out = []
    for basis in result.metro.bases:
        row = unc.row(robust.year, basis)
        if row is None:
            continue
        out.append(
            f"{BASIS_WORDS.get(basis, basis)}: P5 {percent(row['share_p5'])} · "
            f"P50 {percent(row['share_p50'])} · P95 {percent(row['share_p95'])}"
        )
    for _, row in unc.table[unc.table["p_meet"].notna()].iterrows():
        out.append(
            f"P(≥ {percent(row['target_share'], digits=0)} of "
            f"{BASIS_WORDS.get(str(row['basis']), row['basis'])} by {int(row['year'])}) = "
            f"{row['p_meet']:.2f}"
        )
    for row in robust.critical.itertuples():
        if row.parameter == "route_factor":
            out.append(
                f"{int(row.year)} target {percent(row.target_share, digits=0)} met while "
                f"r ≤ {_value(row.critical)} (run: r = {row.run_value:g})"
            )
    out.append(f"uncertainty: {unc.method}")
    return out


def robust_section(result: RunResult, figures: Mapping[str, Figure | bytes]) -> str:
    """Return the report section: critical values, quantiles, fan and curves, assumptions."""
    robust = result.robust
    if robust is None:
        return ""
    parts = ["<h2>How sure: sensitivity and uncertainty</h2>"]
    parts.append(
        "<p class='note'>Every share is an exact step function of the route factor r and of "
        "the equipment latency E (sensitivity.csv; "
        f"{escape_text(robust.sensitivity.method)}). A target is lost just above its "
        "critical value.</p>"
    )
    parts.append(_critical_table(robust.critical))
    parts.append(_fragile(result))
    unc = robust.uncertainty
    if unc is not None:
        parts.append(f"<p class='note'>{escape_text(unc.method)}.</p>")
        parts.append(_quantile_table(unc.table))
        if "fan" in figures:
            parts.append(_img(figures["fan"], "share by year with its P5-P95 band"))
        if unc.leo is not None and len(unc.leo):
            parts.append("<p>LEO tiers (the allowance and E shift every LEO path alike):</p>")
            parts.append(_leo_table(unc.leo))
        parts.append(_distribution_list(unc.distributions))
    if "sensitivity" in figures:
        parts.append(_img(figures["sensitivity"], "share vs route factor and equipment latency"))
    return "".join(parts)


def _fragile(result: RunResult) -> str:
    """Coverage lost if the route factor rises by 10 % (latency.tif band 3 maps it)."""
    from latcircle.analysis.sensitivity import FRAGILE_RISE, fragile_share

    robust = result.robust
    assert robust is not None
    r = result.metro.params.route_factor
    words = [
        f"{percent(fragile_share(robust.sensitivity.get(robust.year, b), r))} of "
        f"{BASIS_WORDS.get(b, b)}"
        for b in result.metro.bases
    ]
    return (
        f"<p>Fragile coverage, covered at r = {r:g} but lost at r = {r * FRAGILE_RISE:g}: "
        f"{escape_text(', '.join(words))} (latency.tif band 3 holds each cell's critical "
        "route factor).</p>"
    )


def _value(v: float) -> str:
    if isinstance(v, float) and math.isnan(v):
        return "never met"
    if isinstance(v, float) and math.isinf(v):
        return "never lost"
    return f"{v:.4g}"


def _critical_table(critical: Any) -> str:
    rows = [
        [
            str(r.year),
            BASIS_LABELS.get(str(r.basis), str(r.basis)),
            percent(r.target_share, digits=0),
            "route factor r" if r.parameter == "route_factor" else "equipment E (µs)",
            f"{r.run_value:g}",
            percent(r.share_at_run),
            _value(r.critical),
        ]
        for r in critical.itertuples()
    ]
    header = ["year", "basis", "target", "parameter", "run value", "share", "met up to"]
    return _table(header, rows)


def _quantile_table(table: Any) -> str:
    rows = []
    for r in table.itertuples():
        rows.append(
            [
                "every site" if pd.isna(r.year) else str(int(r.year)),
                BASIS_LABELS.get(str(r.basis), str(r.basis)),
                percent(r.share),
                percent(r.share_p5),
                percent(r.share_p50),
                percent(r.share_p95),
                "" if pd.isna(r.p_meet) else f"{r.p_meet:.2f}",
            ]
        )
    header = ["year", "basis", "share", "P5", "P50", "P95", "P(meet target)"]
    return _table(header, rows)


def _leo_table(leo: Any) -> str:
    rows = [
        [
            BASIS_LABELS.get(str(r.basis), str(r.basis)),
            f"{r.budget_ms:g} ms",
            percent(r.share),
            percent(r.share_p5),
            percent(r.share_p50),
            percent(r.share_p95),
        ]
        for r in leo.itertuples()
    ]
    return _table(["basis", "LEO budget", "share", "P5", "P50", "P95"], rows)


def _distribution_list(dists: Mapping[str, Any]) -> str:
    items = []
    for name, d in dists.items():
        shape = ", ".join(
            f"{k} {v:g}" for k, v in d.describe().items() if isinstance(v, float) and k != "source"
        )
        items.append(
            f"<li><strong>{escape_text(name)}</strong>: {escape_text(d.kind)} "
            f"({escape_text(shape)}) — {escape_text(d.source or 'config')}</li>"
        )
    return (
        "<p>Distributions (assumptions unless a source is named):</p><ul>"
        + "".join(items)
        + "</ul>"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape_text(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape_text(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(fig: Figure | bytes, alt: str) -> str:
    png = fig if isinstance(fig, bytes) else png_bytes(fig)
    data = base64.b64encode(png).decode("ascii")
    return f"<figure><img alt='{escape_text(alt)}' src='data:image/png;base64,{data}'></figure>"
