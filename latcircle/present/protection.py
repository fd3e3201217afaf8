"""Protection in HTML: the report's section, and the map's two layers (docs/protection.md).

* :func:`protection_section`: sites by the coverage resting on them alone, the share left
  when the worst single site fails, and the critical links with their exact losses;
* :func:`add_protection_layers`: "single-site coverage" (where one site alone covers) and
  "critical links", both off until ticked in the layer control.

Every string from data reaches the page through :func:`latcircle.present.style.escape_text`
(the report section is the template ``templates/report/protection.html``, whose environment
escapes every variable with it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from latcircle.analysis.coverage import BASES
from latcircle.analysis.protection import CRITICAL_LINKS_LAYER, SINGLE_SITE_LAYER
from latcircle.present.map.elements import GeoJson
from latcircle.present.style import UNIT_WORDS, amount, escape_text, percent
from latcircle.present.templating import render
from latcircle.run import RunResult

__all__ = ["add_protection_layers", "protection_context", "protection_section"]

#: Rows of each table shown in the report (all are in ``protection.csv``).
ROWS_SHOWN = 10


def protection_section(result: RunResult) -> str:
    """Return the report's protection section alone ("" when the run computed none).

    Parameters
    ----------
    result
        The run.
    """
    return render("report/protection.html", protection=protection_context(result))


def protection_context(result: RunResult) -> dict[str, Any] | None:
    """Return the variables of the report's protection section (``None``: the run has none).

    Parameters
    ----------
    result
        The run.

    Returns
    -------
    dict or None
        ``templates/report/protection.html``'s ``protection``: the budget, the worst single
        site per basis, and the sites' and links' tables (``None`` when there are none).
    """
    found = result.protection
    if found is None:
        return None
    table = found.table
    worst = []
    for basis in [b for b in BASES if b in found.worst]:
        w = found.worst[basis]
        worst.append(
            {
                "unit": UNIT_WORDS.get(BASES[basis], basis),
                "share": percent(float(w["share"])),
                "after": percent(float(w["share_after"])),
                "site": w["site"],
            }
        )
    sites = table[table["kind"] == "site"]
    links = table[table["kind"] == "link"]
    return {
        "budget": f"{result.metro.config.budget_ms:g}",
        "worst": worst,
        "sites": _table(sites, "site") if len(sites) else None,
        "links": _table(links, "link") if len(links) else None,
    }


def _table(rows: pd.DataFrame, kind: str) -> dict[str, Any]:
    bases = [b for b in BASES if b in set(rows["basis"])]
    first = rows[rows["basis"] == bases[0]].sort_values("rank").head(ROWS_SHOWN)
    head = ["rank", kind, *(f"{UNIT_WORDS[BASES[b]]} lost" for b in bases)]
    head += [f"{UNIT_WORDS[BASES[b]]} share after" for b in bases]
    # Each (basis, id)'s first row, looked up once (not a filter of the table per cell).
    found: dict[tuple[Any, Any], tuple[Any, Any]] = {}
    for key in zip(rows["basis"], rows["id"], rows["lost"], rows["share_after"], strict=True):
        found.setdefault(key[:2], key[2:])
    body = []
    for r in first.itertuples():
        cells = [str(r.rank), f"{r.id} {r.name}".strip()]
        after = []
        for b in bases:
            lost, share_after = found[(b, r.id)]
            cells.append(amount(lost, BASES[b], words=False))
            after.append(percent(float(share_after)))
        body.append(cells + after)
    return {"header": head, "rows": body}


def add_protection_layers(
    fmap: folium.Map,
    layers: Mapping[str, gpd.GeoDataFrame],
    to_geojson: Callable[[gpd.GeoDataFrame, list[dict[str, Any]]], dict[str, Any]],
) -> None:
    """Add "single-site coverage" and "critical links" to the map (when the run has them).

    Parameters
    ----------
    fmap
        The map.
    layers
        The run's GeoPackage layers.
    to_geojson
        ``(frame, properties) -> GeoJSON`` in the map's display datum (the map's own helper).
    """
    single = layers.get(SINGLE_SITE_LAYER)
    if single is not None and len(single):
        labels = [
            {
                "label": f"only site {escape_text(r['site_id'])} covers "
                f"{float(r['area_km2']):,.1f} km² here"
            }
            for r in single.to_dict("records")
        ]
        GeoJson(
            to_geojson(single, labels),
            name="single-site coverage",
            show=False,
            style_function=lambda _f: {
                "color": "#b15928",
                "weight": 1,
                "fillColor": "#ff7f00",
                "fillOpacity": 0.3,
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(fmap)
    links = layers.get(CRITICAL_LINKS_LAYER)
    if links is not None and len(links):
        lost = [c for c in links.columns if c.startswith("lost_")]
        labels = [
            {
                "label": f"rank {int(r['rank'])} · {escape_text(r['id'])}<br>"
                + "<br>".join(f"lost {escape_text(c[5:])}: {float(r[c]):,.1f}" for c in lost)
            }
            for r in links.to_dict("records")
        ]
        GeoJson(
            to_geojson(links, labels),
            name="critical links",
            show=False,
            style_function=lambda _f: {"color": "#e31a1c", "weight": 4},
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(fmap)
