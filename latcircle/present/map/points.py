"""Point layers of the city map: compute sites (icons by tier) and key sites (clustered).

Popups are built from text escaped in Python (:func:`escape_text`); markers carry a title
(their name, decoded from that escaped text by :js:func:`lcText` as plain text) so that
assistive technology can name them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from latcircle.analysis.coverage import CAUSES
from latcircle.present import assets as _assets
from latcircle.present.basemaps import to_display
from latcircle.present.map.elements import WGS84, FeatureGroup, PointsLayer, svg
from latcircle.present.map.plugins import FastMarkerCluster
from latcircle.present.style import STATUS_COLOURS, amount, escape_text, script_json

if TYPE_CHECKING:
    from latcircle.run import RunResult

__all__ = ["PLANNED_COLOUR", "SITE_COLOUR", "TIER_SHAPES", "add_key_sites", "add_sites"]

#: Icon shape per site tier; any other tier gets the diamond.
TIER_SHAPES = {"large": "square", "medium": "circle", "edge": "triangle"}
#: Near-black with a white outline and halo: apart from every band colour (YlGnBu, whose
#: tightest band is a dark navy that swallowed the former navy icons).
SITE_COLOUR = "#111111"
PLANNED_COLOUR = "#969696"


def add_key_sites(
    fmap: folium.Map,
    key_sites: gpd.GeoDataFrame,
    *,
    precision: int,
    datum: str,
    words: Mapping[str, str],
) -> dict[str, FastMarkerCluster]:
    """Add one clustered layer of key sites per status; return the layers by status."""
    pts = key_sites.to_crs(WGS84)
    lon, lat = to_display(pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy(), datum=datum)  # type: ignore[arg-type]
    lat, lon = np.round(lat, precision), np.round(lon, precision)
    weight = pts["weight"].to_numpy(float) if "weight" in pts else np.ones(len(pts))
    fields = _key_site_fields(pts)
    out = {}
    for status in ("covered", *CAUSES):
        mask = (pts["status"] == status).to_numpy()
        if not mask.any():
            continue
        rows = [
            [float(a), float(b), *fields[i]]
            for a, b, i in zip(lat[mask], lon[mask], np.flatnonzero(mask), strict=True)
        ]
        colour = STATUS_COLOURS[status]
        labels = [words[k] for k in ("category", "district", "latency", "serving", "drop")]
        callback = (
            _KEY_SITE_CALLBACK.replace("__COLOUR__", colour)
            .replace("__STATUS__", script_json(words[status]))
            .replace("__STATUS_WORD__", script_json(words["status"]))
            .replace("__LABELS__", script_json(labels))
        )
        count = f"{int(mask.sum())} {words['markers']}"
        amount = f"{weight[mask].sum():,.1f}".removesuffix(".0")
        name = words["layer_key"].format(status=words[status])
        cluster = FastMarkerCluster(
            rows,
            name=escape_text(f"{name} ({count}, {words['key_weight']} {amount})"),
            callback=callback,
            icon_create_function=_CLUSTER_ICON.replace("__COLOUR__", colour),
            show=True,
            maxClusterRadius=40,
            disableClusteringAtZoom=15,
        )
        cluster.default_js = _assets.js_urls(_assets.CLUSTER_JS)
        cluster.default_css = _assets.css_urls(*_assets.CLUSTER_CSS)
        cluster.add_to(fmap)
        out[status] = cluster
    return out


#: Rows are ``[lat, lon, name, category, district, latency, serving site, drop]``, every
#: text escaped in Python (:func:`escape_text`) and delivered as JSON strings, so the popup
#: assembled here shows them as text. Building the popup in the browser keeps the page
#: small: one fixed template instead of a markup string per key site.
_KEY_SITE_CALLBACK = """function (row) {
    var icon = L.divIcon({className: "lc-key-icon", iconSize: [12, 12],
        html: '<span class="lc-dot" style="background:__COLOUR__"></span>'});
    var labels = __LABELS__;
    var body = "<tr><th>" + __STATUS_WORD__ + "</th><td>" + __STATUS__ + "</td></tr>";
    for (var i = 0; i < labels.length; i++) {
        body += "<tr><th>" + labels[i] + "</th><td>" + row[i + 3] + "</td></tr>";
    }
    var html = '<div class="lc-popup"><b class="lc-title">' + row[2] + "</b><table>"
        + body + "</table></div>";
    return L.marker([row[0], row[1]], {icon: icon, title: lcText(row[2])})
        .bindPopup(html, {maxWidth: 320});
}"""

_CLUSTER_ICON = """function (cluster) {
    return L.divIcon({className: "", iconSize: [30, 30], html:
        '<div class="lc-cluster" style="background:__COLOUR__">'
        + cluster.getChildCount() + '</div>'});
}"""


def _key_site_fields(sites: pd.DataFrame) -> list[list[str]]:
    """Escaped popup fields of each key site, in :data:`_KEY_SITE_CALLBACK` order."""
    # Column by column (a missing column reads as None, as Series.get gives it): no
    # Series per row.
    columns = [
        sites[c].tolist() if c in sites else [None] * len(sites)
        for c in ("name", "category", "district", "latency_us", "serving_site", "drop_m")
    ]
    return [
        [
            escape_text(name),
            escape_text(category),
            escape_text(district),
            "—" if pd.isna(lat_us) else f"{lat_us / 1000.0:.3f} ms",
            escape_text(serving) or "—",
            "—" if pd.isna(drop) else f"{drop:,.0f} m",
        ]
        for name, category, district, lat_us, serving, drop in zip(*columns, strict=True)
    ]


def _popup(title: str, rows: list[tuple[str, str]]) -> str:
    """Popup HTML from already escaped parts."""
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<div class="lc-popup"><b class="lc-title">{title}</b><table>{body}</table></div>'


def add_sites(
    fmap: folium.Map,
    sites: gpd.GeoDataFrame,
    result: RunResult,
    *,
    precision: int,
    datum: str,
    words: Mapping[str, str],
) -> folium.FeatureGroup:
    """Add the compute sites (faded by the year slider); return their layer."""
    pts = sites.to_crs(WGS84)
    lon, lat = to_display(pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy(), datum=datum)  # type: ignore[arg-type]
    years = _online_years(pts)
    rows = []
    for (_, r), x, y, year in zip(pts.iterrows(), lon, lat, years, strict=True):
        online = bool(r.get("online", True))
        rows.append(
            [
                round(float(y), precision),
                round(float(x), precision),
                _tier_icon(str(r.get("tier", "")), online=online),
                _site_popup(r, result, words),
                year,
                escape_text(r.get("name")),
            ]
        )
    group = FeatureGroup(name=f"{words['layer_sites']} ({len(rows)})", show=True)
    group.add_child(PointsLayer(rows))
    group.add_to(fmap)
    return group


def _online_years(sites: gpd.GeoDataFrame) -> list[int | None]:
    if "online_year" not in sites:
        return [None] * len(sites)
    return [None if pd.isna(y) else int(y) for y in sites["online_year"]]


def _site_popup(row: pd.Series, result: RunResult, words: Mapping[str, str]) -> str:
    scenario = result.scenario
    year = row.get("online_year")
    online = bool(row.get("online", True))
    state = words["online"] if online else words["not_online"]
    if scenario.year is not None:
        state += f" ({scenario.year})"
    served_people = row.get("served_population")
    served_keys = row.get("served_key_sites")
    served_area = row.get("served_area")
    budget = f"{result.metro.config.budget_ms:g}"
    rows = [
        (words["site_id"], escape_text(row.get("site_id"))),
        (words["tier"], escape_text(row.get("tier"))),
        (words["online_year"], "—" if pd.isna(year) else escape_text(int(year))),
        (words["status"], escape_text(state)),
        (
            escape_text(words["people_within"].format(budget=budget)),
            amount(served_people, "people", words=False),
        ),
        (
            escape_text(words["keys_within"].format(budget=budget)),
            amount(served_keys, "sites", words=False),
        ),
        (
            escape_text(words["area_within"].format(budget=budget)),
            amount(served_area, "km2"),
        ),
    ]
    if bool(row.get("hypothetical", False)):
        rows.append((words["note"], f"<i>{escape_text(words['hypothetical_site'])}</i>"))
    return _popup(escape_text(row.get("name")), rows)


def _tier_icon(tier: str, *, online: bool) -> str:
    """Inline SVG by tier: filled when online, hollow grey when only planned."""
    shape = TIER_SHAPES.get(tier.lower(), "diamond")
    fill = SITE_COLOUR if online else "#ffffff"
    stroke = "#ffffff" if online else PLANNED_COLOUR
    return svg(shape, fill=fill, stroke=stroke, size=22)
