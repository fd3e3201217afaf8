"""How sure the figures are, in words and HTML: the report section and the CLI lines.

Reads a run's :class:`latcircle.analysis.robust.Robustness` (sensitivity curves, critical
values, quantiles, target probabilities). The report section is the template
``templates/report/robust.html``; :func:`robust_context` returns its variables (plain values,
escaped by the template environment).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.figure import Figure

from latcircle.present.figures import png_bytes
from latcircle.present.style import BASIS_LABELS, BASIS_WORDS, percent
from latcircle.present.templating import png_base64, render

if TYPE_CHECKING:
    from latcircle.run import RunResult

__all__ = ["robust_context", "robust_section", "uncertainty_lines"]


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
    """Return the report section alone (``templates/report/robust.html``), "" without one."""
    return render("report/robust.html", robust=robust_context(result, figures))


def robust_context(
    result: RunResult, figures: Mapping[str, Figure | bytes]
) -> dict[str, Any] | None:
    """Return the report section's variables: critical values, quantiles, fan, curves.

    Parameters
    ----------
    result
        The run; ``None`` comes back when it computed no robustness.
    figures
        The report's figures (``fan``, ``sensitivity`` are placed here when present).

    Returns
    -------
    dict or None
        The variables of ``templates/report/robust.html`` (``robust``).
    """
    robust = result.robust
    if robust is None:
        return None
    unc = robust.uncertainty
    return {
        "method": robust.sensitivity.method,
        "critical": _critical_table(robust.critical),
        "fragile": _fragile(result),
        "uncertainty": None if unc is None else _uncertainty(unc, figures),
        "sensitivity": _png(figures["sensitivity"]) if "sensitivity" in figures else None,
    }


def _uncertainty(unc: Any, figures: Mapping[str, Figure | bytes]) -> dict[str, Any]:
    return {
        "method": unc.method,
        "quantiles": _quantile_table(unc.table),
        "fan": _png(figures["fan"]) if "fan" in figures else None,
        "leo": _leo_table(unc.leo) if unc.leo is not None and len(unc.leo) else None,
        "distributions": _distributions(unc.distributions),
    }


def _fragile(result: RunResult) -> dict[str, str]:
    """Return the coverage lost if the route factor rises by 10 % (latency.tif band 3)."""
    from latcircle.analysis.sensitivity import FRAGILE_RISE, fragile_share

    robust = result.robust
    assert robust is not None
    r = result.metro.params.route_factor
    words = [
        f"{percent(fragile_share(robust.sensitivity.get(robust.year, b), r))} of "
        f"{BASIS_WORDS.get(b, b)}"
        for b in result.metro.bases
    ]
    return {"r": f"{r:g}", "r_up": f"{r * FRAGILE_RISE:g}", "words": ", ".join(words)}


def _value(v: float) -> str:
    if isinstance(v, float) and math.isnan(v):
        return "never met"
    if isinstance(v, float) and math.isinf(v):
        return "never lost"
    return f"{v:.4g}"


def _critical_table(critical: Any) -> dict[str, Any]:
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
    return {"header": header, "rows": rows}


def _quantile_table(table: Any) -> dict[str, Any]:
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
    return {"header": header, "rows": rows}


def _leo_table(leo: Any) -> dict[str, Any]:
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
    return {"header": ["basis", "LEO budget", "share", "P5", "P50", "P95"], "rows": rows}


def _distributions(dists: Mapping[str, Any]) -> list[dict[str, str]]:
    items = []
    for name, d in dists.items():
        shape = ", ".join(
            f"{k} {v:g}" for k, v in d.describe().items() if isinstance(v, float) and k != "source"
        )
        items.append({"name": name, "kind": d.kind, "shape": shape, "source": d.source or "config"})
    return items


def _png(fig: Figure | bytes) -> str:
    return png_base64(fig if isinstance(fig, bytes) else png_bytes(fig))
