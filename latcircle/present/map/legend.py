"""The map's legend: folds away, explains every fill, shows the sections of visible layers.

Built here as markup from fixed words and escaped text; the workbench script
(:mod:`latcircle.present.map.script`) folds it and hides each section (``data-sec``) whose
layers are all switched off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from latcircle.analysis.coverage import CAUSES
from latcircle.present.map.elements import svg
from latcircle.present.map.points import PLANNED_COLOUR, SITE_COLOUR, TIER_SHAPES
from latcircle.present.style import (
    HEAT_GRADIENT,
    NO_SHARE_COLOUR,
    SHARE_CLASSES,
    STATUS_COLOURS,
    band_colours,
    escape_text,
)

__all__ = ["heat_scale_html", "legend_html", "rgba"]


def rgba(colour: str, alpha: float) -> str:
    """Return ``#rrggbb`` as ``rgba(r,g,b,alpha)``: a swatch at a layer's drawn opacity."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:g})"


def _row(swatch: str, text: str) -> str:
    return f'<div class="lc-row">{swatch}<span>{text}</span></div>'


def _swatch(fill: str, border: str, *, dashed: bool = False) -> str:
    style = f"background:{fill};border:{'2px dashed' if dashed else '1px solid'} {border}"
    return f'<span class="lc-swatch" style="{style}"></span>'


def _section(key: str, heading: str, rows: Sequence[str], extra_class: str = "") -> str:
    cls = f"lc-sec {extra_class}".strip()
    return (
        f'<section class="{cls}" data-sec="{key}"><h2 class="lc-h2">{escape_text(heading)}</h2>'
        + "".join(rows)
        + "</section>"
    )


def heat_scale_html(top: float, cell_m: float, words: Mapping[str, str]) -> str:
    """Return the heat layer's numbered scale: people beyond the budget per cell."""
    stops = ",".join(f"{c} {k * 100:.0f}%" for k, c in HEAT_GRADIENT.items())
    ticks = [0.0, top / 2.0, top]
    labels = [f"{t:,.0f}" for t in ticks]
    labels[-1] += "+"
    scale = (
        f'<div class="lc-scale" style="background:linear-gradient(90deg,'
        f'rgba(254,227,145,0.15) 0%,{stops})"></div>'
        '<div class="lc-ticks">' + "".join(f"<span>{t}</span>" for t in labels) + "</div>"
    )
    return _section("heat", words["heat"].format(cell=f"{cell_m / 1000:g}"), [scale], "lc-heat")


def legend_html(
    *,
    words: Mapping[str, str],
    thresholds: Sequence[float],
    rings: bool,
    ring_opacity: float,
    cause_opacity: float,
    budget: str,
    district_basis: str | None,
    heat: str | None,
    clusters: bool,
    key_sites: bool,
) -> str:
    """Return the legend's markup: a fold button and one section per kind of layer.

    Parameters
    ----------
    words
        The map's words (:data:`latcircle.present.map.words.WORDS`).
    thresholds
        The band thresholds (ms).
    rings
        Disjoint rings (swatches at ``ring_opacity``) or cumulative bands (0.35).
    ring_opacity, cause_opacity
        The fill opacity the layers are drawn with.
    budget
        The budget, as printed.
    district_basis
        The basis districts are coloured on; ``None`` without districts.
    heat
        The heat scale section (:func:`heat_scale_html`), or ``None``.
    clusters, key_sites
        Whether those layers exist.
    """
    parts = [_ring_section(words, thresholds, rings=rings, opacity=ring_opacity)]
    causes = [
        _row(
            _swatch(rgba(STATUS_COLOURS[c], cause_opacity), STATUS_COLOURS[c]),
            f'{escape_text(words[c])} · <span class="lc-cause-area" data-index="{i}"></span>',
        )
        for i, c in enumerate(CAUSES)
    ]
    parts.append(_section("causes", words["causes"].format(budget=budget), causes))
    if heat:
        parts.append(heat)
    if clusters:
        rows = [
            _row(_swatch("transparent", STATUS_COLOURS[c], dashed=False), escape_text(words[c]))
            for c in CAUSES
        ]
        parts.append(_section("clusters", words["clusters"], rows))
    if district_basis:
        basis = words["key_sites_basis" if district_basis == "key_sites" else district_basis]
        rows = [
            _row(_swatch(rgba(c, 0.65), "#525252"), escape_text(lab)) for _, c, lab in SHARE_CLASSES
        ]
        rows.append(
            _row(_swatch(rgba(NO_SHARE_COLOUR, 0.65), "#525252"), escape_text(words["no_data"]))
        )
        parts.append(
            _section("districts", words["districts"].format(basis=basis, budget=budget), rows)
        )
    if key_sites:
        rows = [
            _row(
                f'<span class="lc-dot" style="background:{STATUS_COLOURS[s]}"></span>',
                escape_text(words[s]),
            )
            for s in ("covered", *CAUSES)
        ]
        parts.append(_section("key_sites", words["key_sites"], rows))
    parts.append(_sites_section(words))
    body = "".join(parts)
    return (
        '<button type="button" class="lc-fold" aria-controls="lc-legend-body">'
        f"{escape_text(words['legend'])}</button>"
        f'<div class="lc-legend-body" id="lc-legend-body">{body}</div>'
    )


def _ring_section(
    words: Mapping[str, str], thresholds: Sequence[float], *, rings: bool, opacity: float
) -> str:
    colours = band_colours(sorted(thresholds))
    rows = []
    lower: float | None = None
    for t, c in colours.items():
        if not rings or lower is None:
            text = words["ring_short"].format(upper=f"{t:g}")
        else:
            text = words["ring_short_between"].format(lower=f"{lower:g}", upper=f"{t:g}")
        rows.append(_row(_swatch(rgba(c, opacity), c), escape_text(text)))
        lower = t
    return _section("rings", words["rings"], rows)


def _sites_section(words: Mapping[str, str]) -> str:
    rows = []
    for tier, shape in [*TIER_SHAPES.items(), ("other", "diamond")]:
        icon = svg(shape, fill=SITE_COLOUR, stroke="#ffffff", size=16)
        rows.append(_row(icon, escape_text(words[f"tier_{tier}"])))
    planned = svg("circle", fill="#ffffff", stroke=PLANNED_COLOUR, size=16)
    rows.append(_row(planned, escape_text(words["planned"])))
    return _section("sites", words["compute_sites"], rows)
