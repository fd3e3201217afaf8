"""The national tiers' page: ``tiers.html``, a map and a report that open with no network.

The map is Leaflet from the vendored copy (:mod:`latcircle.present.assets`, inlined), with no
basemap tiles (they would need the network): the backbone, the hubs with their 20 ms and 5 ms
straight-line reach (an upper bound on each circle: no backbone path is shorter than the
straight line), the cities coloured by tier, the cities without terrestrial access and whether
LEO reaches them, the gateways and any planned ground nodes. Every string from the data travels
as JSON inside a ``<script type="application/json">`` block and reaches the page through
``textContent``, never as markup; the tables use :func:`escape_text`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from latcircle.analysis.ground_nodes import GroundPlan
from latcircle.analysis.tiers import TiersResult
from latcircle.inputs.backbone import Backbone
from latcircle.present.assets import LEAFLET_CSS, LEAFLET_JS, inline_assets
from latcircle.present.style import escape_text, percent, script_json

__all__ = ["TIER_CLASSES", "city_classes", "summary_lines", "write_tiers_page"]

#: City classes on the map, in legend order, with their colours.
TIER_CLASSES: dict[str, str] = {
    "within 5 ms and 20 ms": "#1a9850",
    "within 20 ms of a hub": "#91cf60",
    "access, outside every circle": "#fc8d59",
    "no access, LEO within 10 ms": "#4575b4",
    "no access, LEO within 20 ms": "#74add1",
    "no access, not reached": "#d73027",
}


def city_classes(cities: pd.DataFrame) -> np.ndarray:
    """Return each city's class (a key of :data:`TIER_CLASSES`)."""
    access = cities["terrestrial_access"].to_numpy(bool)
    hub = cities["in_hub_tier"].to_numpy(bool)
    reg = cities["in_regional_tier"].to_numpy(bool)
    leo10 = cities.get("leo_meets_app_tier", pd.Series(False, index=cities.index)).to_numpy(bool)
    leo20 = cities.get("leo_meets_hub_tier", pd.Series(False, index=cities.index)).to_numpy(bool)
    names = list(TIER_CLASSES)
    out = np.select(
        [access & hub & reg, access & hub, access, leo10, leo20],
        names[:5],
        default=names[5],
    )
    return out.astype(object)


def summary_lines(result: TiersResult) -> list[str]:
    """Return the few lines ``latcircle tiers`` prints (the full account: ``tiers.html``)."""
    c = result.cities
    lines = [
        f"{len(c)} cities; within 20 ms of a hub: {int(c['in_hub_tier'].sum())}; "
        f"within 5 ms of a hub or cluster: {int(c['in_regional_tier'].sum())}"
    ]
    leo = result.summary.get("leo")
    if isinstance(leo, dict):
        lines.append(
            f"no terrestrial access: {int((~c['terrestrial_access']).sum())}; via LEO "
            f"({leo['basis']}): {leo['no_access_meeting_10ms_via_leo']} within 10 ms, "
            f"{leo['no_access_meeting_20ms_via_leo']} within 20 ms"
        )
    plan = result.summary.get("plan")
    if isinstance(plan, dict):
        lines.append(
            f"ground-node plan: {plan['nodes_chosen']} node(s); no-access weight within 10 ms "
            f"{plan['planned_10ms_weight']:g}, within 20 ms {plan['planned_20ms_weight']:g} "
            f"of {plan['no_access_weight']:g}"
        )
    return lines


def write_tiers_page(
    result: TiersResult, backbone: Backbone, folder: Path, *, plan: GroundPlan | None = None
) -> Path:
    """Write ``tiers.html`` into ``folder``.

    Parameters
    ----------
    result
        The national tiers.
    backbone
        Their backbone.
    folder
        The (temporary) output folder.
    plan
        A ground-node plan, drawn and tabulated when given.

    Returns
    -------
    Path
        The page.
    """
    data = _map_data(result, backbone, plan)
    payload = script_json(data, allow_nan=False)  # read by JSON.parse: JSON, never NaN
    title = escape_text(result.summary.get("title", "National tiers"))
    page = _PAGE.format(
        title=title,
        leaflet_css=LEAFLET_CSS.url,
        leaflet_js=LEAFLET_JS.url,
        data=payload,
        report=_report(result, plan),
        script=_SCRIPT,
    )
    out = folder / "tiers.html"
    out.write_text(inline_assets(page), encoding="utf-8")
    return out


def _finite(values: pd.Series, digits: int = 3) -> list[float | None]:
    return [round(float(v), digits) if math.isfinite(float(v)) else None for v in values]


def _map_data(
    result: TiersResult, backbone: Backbone, plan: GroundPlan | None
) -> dict[str, object]:
    c = result.cities
    p = result.summary["parameters"]
    assert isinstance(p, dict)
    k_r = float(p["k_us_per_km"]) * float(p["route_factor"])
    fixed = float(p["equipment_us"]) + float(p["site_device_us"]) + 2 * float(p["node_device_us"])
    reach = {
        f"{b:g}": max(0.0, (b * 1000.0 - fixed) / k_r)
        for b in (float(p["hub_budget_ms"]), float(p["regional_budget_ms"]))
    }
    cities = {
        "name": c["name"].astype(str).tolist(),
        "lat": _finite(c["lat"], 5),
        "lon": _finite(c["lon"], 5),
        "cls": city_classes(c).tolist(),
        "hub_ms": _finite(c["hub_latency_us"] / 1000.0),
        "leo_ms": _finite(c["leo_latency_us"] / 1000.0) if "leo_latency_us" in c else [],
    }
    sites = result.sites
    data: dict[str, object] = {
        "links": [
            [
                [round(float(backbone.lat[a]), 5), round(float(backbone.lon[a]), 5)],
                [round(float(backbone.lat[b]), 5), round(float(backbone.lon[b]), 5)],
            ]
            for a, b in zip(backbone.u, backbone.v, strict=True)
        ],
        "sites": {
            "name": sites["name"].astype(str).tolist(),
            "kind": sites["kind"].astype(str).tolist(),
            "lat": _finite(sites["lat"], 5),
            "lon": _finite(sites["lon"], 5),
        },
        "reach_km": reach,
        "cities": cities,
        "colours": TIER_CLASSES,
        "gateways": _points(result.gateways),
        "plan": _points(plan.nodes) if plan is not None else _points(pd.DataFrame()),
    }
    return data


def _points(frame: pd.DataFrame) -> dict[str, list[object]]:
    if len(frame) == 0:
        return {"name": [], "lat": [], "lon": []}
    return {
        "name": frame["name"].astype(str).tolist(),
        "lat": _finite(frame["lat"], 5),
        "lon": _finite(frame["lon"], 5),
    }


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape_text(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape_text(_cell(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _cell(v: object) -> object:
    if isinstance(v, float | np.floating):
        return "∞" if np.isinf(v) else ("" if np.isnan(v) else f"{float(v):,.3f}")
    return v


def _report(result: TiersResult, plan: GroundPlan | None) -> str:
    s = result.summary
    c = result.cities
    parts = [_figures(s)]
    counts = pd.Series(city_classes(c)).value_counts()
    by_tier = pd.DataFrame(
        {"class": list(TIER_CLASSES), "cities": [int(counts.get(k, 0)) for k in TIER_CLASSES]}
    )
    parts.append("<h2>Cities by tier</h2>" + _table(by_tier))
    leo = s.get("leo")
    if isinstance(leo, dict):
        parts.append(_leo_section(leo))
        cols = [
            col
            for col in (
                "name",
                "province",
                "point",
                "node",
                "drop_km",
                "leo_gateway",
                "leo_gateway_km",
                "leo_basis",
                "leo_latency_us",
                "leo_p95_us",
                "leo_bound_us",
                "leo_meets_app_tier",
                "leo_hub_latency_us",
                "leo_meets_hub_tier",
            )
            if col in c
        ]
        no_access = c.loc[~c["terrestrial_access"], cols]
        parts.append(
            f"<h2>Cities without terrestrial access ({len(no_access)})</h2>"
            "<p>LEO figures in µs, one way: judged (basis) to the nearest compute, P95 and the "
            "geometric bound (best geometry: never the answer); to the nearest hub for the "
            "20 ms tier.</p>" + _table(no_access)
        )
    matrix = result.matrix.round(3).reset_index(names="from")
    parts.append("<h2>Hub and cluster matrix (ms, one way)</h2>" + _table(matrix))
    if plan is not None:
        parts.append(
            "<h2>Ground coordination nodes (plan)</h2>"
            + _table(
                pd.DataFrame([plan.summary]).T.reset_index().set_axis(["figure", "value"], axis=1)
            )
            + _table(plan.nodes)
        )
    repairs = pd.DataFrame(
        [{"repair": k, "count": v} for k, v in dict(s.get("repairs", {})).items()]  # type: ignore[call-overload]
    )
    parts.append("<h2>Backbone repairs</h2>" + (_table(repairs) if len(repairs) else "<p>none</p>"))
    params = pd.DataFrame(
        [{"parameter": k, "value": v} for k, v in dict(s["parameters"]).items()]  # type: ignore[call-overload]
    )
    parts.append("<h2>Parameters</h2>" + _table(params))
    return "\n".join(parts)


def _figures(s: dict[str, object]) -> str:
    rows = []
    for key, label in (
        ("hub_tier_20ms", "within 20 ms of a hub"),
        ("regional_tier_5ms", "within 5 ms of a hub or cluster"),
        ("no_terrestrial_access", "no terrestrial access"),
        ("outside_every_circle", "outside every circle"),
    ):
        v = s.get(key)
        if isinstance(v, dict):
            rows.append(
                {
                    "figure": label,
                    "cities": v.get("cities"),
                    "share of cities": percent(v.get("share_cities")),
                    "share of area": percent(v.get("share_area")),
                }
            )
    hyp = (
        "<p><strong>Hypothetical compute scenario:</strong> the compute sites are assumed, "
        "not real sites.</p>"
        if s.get("hypothetical_compute")
        else ""
    )
    head = (
        f"<p>{escape_text(s.get('cities'))} places; backbone "
        f"{escape_text(s.get('backbone'))} ({escape_text(s.get('backbone_nodes'))} nodes, "
        f"{escape_text(s.get('backbone_links'))} links).</p>"
    )
    return head + hyp + "<h2>Figures</h2>" + _table(pd.DataFrame(rows))


def _leo_section(leo: dict[str, object]) -> str:
    rows = [
        {"figure": k.replace("_", " "), "value": v}
        for k, v in leo.items()
        if not isinstance(v, dict | list)
    ]
    out = "<h2>LEO access</h2>" + _table(pd.DataFrame(rows))
    measured = leo.get("measured")
    if isinstance(measured, dict):
        out += "<h3>Measured latency (judged on its median)</h3>" + _table(
            pd.DataFrame([{"figure": k, "value": v} for k, v in measured.items()])
        )
    legs = leo.get("legs_radio_only")
    if isinstance(legs, list):
        out += "<h3>Radio legs, one way and round trip (geometry only)</h3>" + _table(
            pd.DataFrame(legs)
        )
    return out


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{leaflet_css}"/>
<script src="{leaflet_js}"></script>
<style>
body {{ font-family: sans-serif; margin: 0 1em 2em 1em; }}
#map {{ height: 560px; border: 1px solid #999; background: #eef2f5; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.85em; }}
td, th {{ border: 1px solid #ccc; padding: 2px 6px; text-align: left; }}
.legend span {{ display: inline-block; width: 12px; height: 12px; margin-right: 4px; }}
</style></head>
<body>
<h1>{title}</h1>
<p>No basemap (the page opens with no network). Circles around hubs are the straight-line
reach of each budget: an upper bound, since no backbone path is shorter.</p>
<div id="map"></div>
<div id="legend" class="legend"></div>
{report}
<script type="application/json" id="tiers-data">{data}</script>
<script>{script}</script>
</body></html>
"""

_SCRIPT = """
(function () {
  var d = JSON.parse(document.getElementById('tiers-data').textContent);
  var map = L.map('map', {preferCanvas: true});
  window.tiersMap = map;
  function label(text) { var e = document.createElement('div'); e.textContent = text; return e; }
  var bb = L.layerGroup(d.links.map(function (l) {
    return L.polyline(l, {color: '#777', weight: 1.5});
  })).addTo(map);
  var circles = L.layerGroup(), sites = L.layerGroup();
  d.sites.name.forEach(function (n, i) {
    var ll = [d.sites.lat[i], d.sites.lon[i]];
    var hub = d.sites.kind[i] === 'hub';
    L.circleMarker(ll, {radius: hub ? 7 : 5, color: '#000', fillColor: hub ? '#000' : '#888',
      fillOpacity: 1}).bindPopup(label(n + ' (' + d.sites.kind[i] + ')')).addTo(sites);
    if (hub) {
      Object.keys(d.reach_km).forEach(function (b) {
        L.circle(ll, {radius: d.reach_km[b] * 1000, color: '#333', weight: 1, fill: false,
          dashArray: '4 4'}).bindPopup(label(n + ': ' + b + ' ms straight-line reach'))
          .addTo(circles);
      });
    }
  });
  var groups = {};
  Object.keys(d.colours).forEach(function (k) { groups[k] = L.layerGroup().addTo(map); });
  var bounds = [];
  d.cities.name.forEach(function (n, i) {
    if (d.cities.lat[i] === null) { return; }
    var ll = [d.cities.lat[i], d.cities.lon[i]];
    bounds.push(ll);
    var c = d.cities.cls[i];
    var txt = n + ': ' + c;
    if (d.cities.hub_ms[i] !== null) { txt += '; hub ' + d.cities.hub_ms[i] + ' ms'; }
    if (d.cities.leo_ms.length && d.cities.leo_ms[i] !== null) {
      txt += '; LEO ' + d.cities.leo_ms[i] + ' ms';
    }
    L.circleMarker(ll, {radius: 4, color: d.colours[c], fillColor: d.colours[c],
      fillOpacity: 0.9, weight: 1}).bindPopup(label(txt)).addTo(groups[c]);
  });
  var gw = L.layerGroup(), plan = L.layerGroup();
  [[d.gateways, gw, '#6a3d9a', 'gateway'], [d.plan, plan, '#e7298a', 'planned ground node']]
    .forEach(function (g) {
      g[0].name.forEach(function (n, i) {
        L.circleMarker([g[0].lat[i], g[0].lon[i]], {radius: 6, color: g[2], weight: 2,
          fill: false}).bindPopup(label(g[3] + ': ' + n)).addTo(g[1]);
      });
    });
  circles.addTo(map); sites.addTo(map); gw.addTo(map); plan.addTo(map);
  var overlays = {'backbone': bb, 'hub reach (bound)': circles, 'hubs and clusters': sites,
    'gateways': gw, 'planned ground nodes': plan};
  Object.keys(groups).forEach(function (k) { overlays['cities: ' + k] = groups[k]; });
  L.control.layers(null, overlays, {collapsed: false}).addTo(map);
  if (bounds.length) { map.fitBounds(bounds, {padding: [10, 10]}); }
  else { map.setView([35, 105], 4); }
  var legend = document.getElementById('legend');
  Object.keys(d.colours).forEach(function (k) {
    var s = document.createElement('span'); s.style.background = d.colours[k];
    var e = document.createElement('div'); e.appendChild(s);
    e.appendChild(document.createTextNode(k)); legend.appendChild(e);
  });
  window.tiersReady = true;
})();
"""
