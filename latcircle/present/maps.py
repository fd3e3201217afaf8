"""The city's Folium web map: ``map.html``.

:func:`write_map` is the pipeline's output step; :func:`build_map` returns the
:class:`folium.Map` for a notebook. The map shows the cumulative latency bands, the metro
boundary and its districts (tooltip: district coverage within the budget on each basis),
the compute sites (an icon by tier; popup with what each serves), the key sites clustered by
status (covered, no access, too far), a heat layer of uncovered population, a legend, a
layer control, fullscreen and measure tools.

Three rules shape the code:

* **Data is text.** Every string that comes from an input (names, categories, tiers, config
  notes) goes through :func:`escape_text` before it reaches the page, and reaches JavaScript
  only as JSON (``tojson``), never spliced into a JavaScript template literal, where folium's
  own ``Popup`` and ``Tooltip`` would let a ``${...}`` or a backslash through.
* **Light.** Geometry is simplified for display only (the GeoPackage keeps the exact bands),
  coordinates are rounded, points are drawn in the browser from compact arrays
  (``FastMarkerCluster``), and the heat layer uses population aggregated to coarse cells.
  Only Leaflet and the four plugins used are loaded (folium's Bootstrap, jQuery, Font
  Awesome and Awesome Markers are not needed: icons are inline SVG).
* **Deterministic.** Folium names elements with random UUIDs; :func:`render_map` renumbers
  them in order of appearance so the same run writes the same bytes.

Like any Folium map, ``map.html`` loads Leaflet from public CDNs, so opening it needs
internet access; without it the page says so instead of staying blank.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import Element, Figure, MacroElement
from folium.plugins import FastMarkerCluster, Fullscreen, HeatMap, MeasureControl
from folium.template import Template

from latcircle.analysis.coverage import covered
from latcircle.output.readback import read_layers
from latcircle.present.style import (
    BASIS_LABELS,
    STATUS_COLOURS,
    STATUS_LABELS,
    band_colours,
    data_attribution,
    escape_text,
    percent,
)

if TYPE_CHECKING:
    from latcircle.config import CityConfig
    from latcircle.run import RunResult

__all__ = [
    "build_map",
    "render_map",
    "write_map",
]

WGS84 = "EPSG:4326"

#: Leaflet only: folium's other defaults (jQuery, Bootstrap, Font Awesome, Awesome Markers)
#: serve its own marker and popup classes, which this map does not use.
_LEAFLET_JS = [("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")]
_LEAFLET_CSS = [("leaflet_css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css")]

#: Icon shape per site tier; any other tier gets the diamond.
_TIER_SHAPES = {"large": "square", "medium": "circle", "edge": "triangle"}
_SITE_COLOUR = "#08306b"
_PLANNED_COLOUR = "#969696"

#: Folium names elements ``<kind>_<32 hex digits>``; see :func:`render_map`.
_ELEMENT_ID = re.compile(r"\b([a-z][a-z0-9_]*?)_([0-9a-f]{32})(?![0-9a-f])")


def build_map(
    result: RunResult,
    *,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    attribution: Sequence[str] | None = None,
    simplify_m: float | None = None,
    precision: int = 5,
    heat_cell_m: float = 500.0,
) -> folium.Map:
    """Build the city's Folium map.

    Parameters
    ----------
    result
        The run.
    layers
        The run's GeoPackage layers (:func:`read_layers`); read from ``result.out`` when
        ``None``.
    attribution
        Data credits shown on the map; from :func:`data_attribution` when ``None``. Tile
        credit (© OpenStreetMap contributors) is always shown.
    simplify_m
        Display simplification tolerance in metres (local CRS, topology preserved); half
        the grid cell, at least 25 m, when ``None``: it removes the cell staircase, which
        carries no information below the grid's resolution.
    precision
        Decimal places kept in longitudes and latitudes (5 is about 1 m).
    heat_cell_m
        Cell size for aggregating uncovered population into the heat layer.

    Returns
    -------
    folium.Map
    """
    layers = dict(layers) if layers is not None else read_layers(result.out)
    cfg = result.metro.config
    tol = simplify_m if simplify_m is not None else max(25.0, result.metro.grid.cell_m / 2.0)
    credits = list(attribution) if attribution is not None else data_attribution(cfg)
    fmap = _base_map(layers["boundary"])
    _add_bands(fmap, layers["bands"], tol=tol, precision=precision)
    _add_boundary(fmap, layers, result, tol=tol, precision=precision)
    _add_heat(fmap, result, cell_m=heat_cell_m, precision=precision)
    if "clusters" in layers and len(layers["clusters"]):
        _add_clusters(fmap, layers["clusters"], tol=tol, precision=precision)
    if "key_sites" in layers:
        _add_key_sites(fmap, layers["key_sites"], precision=precision)
    _add_sites(fmap, layers["sites"], result, precision=precision)
    if "plan" in layers and len(layers["plan"]):
        _add_plan(fmap, layers["plan"], precision=precision)
    _add_controls(fmap, result, layers["bands"], credits)
    return fmap


def _add_plan(fmap: folium.Map, plan: gpd.GeoDataFrame, *, precision: int) -> None:
    """Draw the planner's builds (``latcircle plan``): sites as circles, fibre spurs as lines."""
    labels = [
        {
            "label": f"<b>{escape_text(r.get('build_id'))}</b> · {escape_text(r.get('kind'))}"
            f"<br>{escape_text(r.get('name'))}<br>by {escape_text(r.get('year'))}, cost "
            f"{float(r.get('cost', np.nan)):,.2f}"
        }
        for r in plan.to_dict("records")
    ]
    folium.GeoJson(
        _display_geojson(plan, labels, tol=0.0, precision=precision),
        name=f"Plan: what to build ({len(plan)})",
        show=True,
        marker=folium.CircleMarker(radius=7, fill=True, fill_opacity=0.9),
        style_function=lambda f: {"color": "#6a3d9a", "weight": 3, "fillColor": "#cab2d6"},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(fmap)


def render_map(fmap: folium.Map) -> str:
    """Render a map to HTML with deterministic element names.

    Folium names every element ``<kind>_<uuid4 hex>``, so two renders of the same map
    differ. Those ids (and only those: data never changes) are renumbered in order of first
    appearance, which depends on the map's content only.

    Parameters
    ----------
    fmap
        The map.

    Returns
    -------
    str
        The whole HTML page.
    """
    root = fmap.get_root()
    page = root.render()
    ids = _element_ids(root)
    numbers: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        hex_id = match.group(2)
        if hex_id not in ids:
            return match.group(0)
        number = numbers.setdefault(hex_id, f"{len(numbers):04d}")
        return f"{match.group(1)}_{number}"

    return _ELEMENT_ID.sub(renumber, page)


def _element_ids(element: Element) -> set[str]:
    """Return the random ids of an element and everything under it (after rendering)."""
    ids = {element._id}
    for child in element._children.values():
        ids |= _element_ids(child)
    return ids


def write_map(result: RunResult, folder: str | Path, **options: Any) -> Path:
    """Write ``map.html`` into ``folder`` (the pipeline's output step).

    Parameters
    ----------
    result
        The run.
    folder
        The (temporary) output folder; its ``isochrones.gpkg`` supplies the layers.
    **options
        Keyword options of :func:`build_map`.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    folder = Path(folder)
    options.setdefault("layers", read_layers(folder))
    plan = folder / "plan" / "plan.gpkg"  # written by `latcircle plan`, kept across runs
    if plan.exists() and "plan" not in options["layers"]:
        options["layers"] = {**options["layers"], "plan": gpd.read_file(plan, layer="plan")}
    path = folder / "map.html"
    path.write_text(render_map(build_map(result, **options)), encoding="utf-8")
    return path


# --- the base map ------------------------------------------------------------------------


def _base_map(boundary: gpd.GeoDataFrame) -> folium.Map:
    west, south, east, north = boundary.to_crs(WGS84).total_bounds
    fmap = folium.Map(
        location=[(south + north) / 2.0, (west + east) / 2.0],
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
        zoom_start=10,
    )
    fmap.default_js = list(_LEAFLET_JS)
    fmap.default_css = list(_LEAFLET_CSS)
    # A grey base keeps the coloured bands readable; the same OSM tiles in colour stay one
    # click away. (CARTO's light tiles now need an API key, so OSM serves both.)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap (grey)", className="lc-grey").add_to(fmap)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", show=False).add_to(fmap)
    fmap.fit_bounds([[float(south), float(west)], [float(north), float(east)]])
    root = cast("Figure", fmap.get_root())  # a Map's root is always the page (a Figure)
    root.header.add_child(Element(_PAGE_STYLE), name="latcircle_style")
    root.header.add_child(Element(_OFFLINE_NOTICE), name="latcircle_offline")
    return fmap


_PAGE_STYLE = """<style>
.lc-box {background: rgba(255,255,255,0.92); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.35); font: 12px/1.35 system-ui, sans-serif; color: #222;}
.lc-box h4 {margin: 0 0 4px; font-size: 13px;}
.lc-legend .lc-row {display: flex; align-items: center; gap: 6px; margin: 1px 0;}
.lc-swatch {display: inline-block; width: 14px; height: 12px; border: 1px solid #555;}
.lc-dot {display: inline-block; width: 10px; height: 10px; border-radius: 50%;
  border: 1px solid #fff; box-shadow: 0 0 0 1px #444;}
.lc-warning {margin-top: 4px; background: #fff3cd; border: 1px solid #d39e00; color: #5c4300;
  font-weight: 600;}
.lc-popup table {border-collapse: collapse;} .lc-popup th {text-align: left; padding-right: 8px;}
.lc-grey {filter: grayscale(1) brightness(1.04) contrast(0.92);}
.lc-site-icon, .lc-key-icon {background: none; border: none;}
.lc-cluster {border-radius: 50%; color: #fff; font: 600 12px/30px system-ui, sans-serif;
  text-align: center; width: 30px; height: 30px; box-shadow: 0 0 0 3px rgba(255,255,255,0.7);}
</style>"""

#: Folium maps load Leaflet from CDNs; without them the page would stay blank, so say why.
_OFFLINE_NOTICE = """<script>
window.addEventListener("load", function () {
  if (typeof L === "undefined") {
    var p = document.createElement("p");
    p.id = "lc-offline";
    p.textContent = "This map loads Leaflet from public CDNs (cdn.jsdelivr.net, "
      + "cdnjs.cloudflare.com) and needs internet access to display. The tables and "
      + "figures in report.html work offline.";
    p.style.cssText = "margin:2em;font:16px system-ui,sans-serif";
    document.body.prepend(p);
  }
});
</script>"""


# --- polygons ----------------------------------------------------------------------------


def _display_geojson(
    gdf: gpd.GeoDataFrame, properties: list[dict[str, Any]], *, tol: float, precision: int
) -> dict[str, Any]:
    """Simplify in the local CRS, reproject to WGS84, round: a compact FeatureCollection."""
    geoms = shapely.simplify(gdf.geometry.to_numpy(), tol, preserve_topology=True)
    geoms = gpd.GeoSeries(geoms, crs=gdf.crs).to_crs(WGS84).to_numpy()
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, precision))
    features = [
        {"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(g))}
        for g, props in zip(geoms, properties, strict=True)
        if g is not None and not g.is_empty
    ]
    return {"type": "FeatureCollection", "features": features}


def _add_bands(fmap: folium.Map, bands: gpd.GeoDataFrame, *, tol: float, precision: int) -> None:
    bands = bands.sort_values("threshold_ms", ascending=False)
    colours = band_colours(sorted(bands["threshold_ms"]))
    # Cumulative bands, widest first, so each tighter band is drawn on top of the wider one.
    for _, row in bands.iterrows():
        thr = float(row["threshold_ms"])
        label = f"Latency ≤ {thr:g} ms"
        data = _display_geojson(
            bands.loc[[row.name]], [{"label": escape_text(label)}], tol=tol, precision=precision
        )
        if not data["features"]:
            continue  # an empty band is normal (nothing that close): no layer to draw
        colour = colours[thr]
        folium.GeoJson(
            data,
            name=label,
            control=True,
            overlay=True,
            style_function=lambda _f, c=colour: {
                "fillColor": c,
                "color": c,
                "weight": 0.5,
                "fillOpacity": 0.35,
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(fmap)


def _add_boundary(
    fmap: folium.Map,
    layers: Mapping[str, gpd.GeoDataFrame],
    result: RunResult,
    *,
    tol: float,
    precision: int,
) -> None:
    cfg = result.metro.config
    if "districts" in layers:
        districts = layers["districts"]
        labels = [_district_label(name, result) for name in districts["name"]]
        data = _display_geojson(
            districts, [{"label": lab} for lab in labels], tol=tol, precision=precision
        )
        folium.GeoJson(
            data,
            name="Districts",
            style_function=lambda _f: {
                "color": "#525252",
                "weight": 1.2,
                "fill": True,
                "fillOpacity": 0.0,
                "dashArray": "4 3",
            },
            highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.08},
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        ).add_to(fmap)
    label = _district_label(None, result, title=cfg.name)
    data = _display_geojson(layers["boundary"], [{"label": label}], tol=tol, precision=precision)
    folium.GeoJson(
        data,
        name="Metro boundary",
        style_function=lambda _f: {"color": "#000000", "weight": 2.5, "fill": False},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(fmap)


def _district_label(name: str | None, result: RunResult, *, title: str | None = None) -> str:
    """Tooltip HTML: the scope's share within the budget on each basis."""
    cfg = result.metro.config
    cov = result.coverage
    at = cov[np.isclose(cov["threshold_ms"], cfg.budget_ms)]
    at = (
        at[at["scope"] == "metro"]
        if name is None
        else at[(at["scope"] == "district") & (at["name"] == name)]
    )
    lines = [
        f"<b>{escape_text(title or name)}</b>",
        f"within {escape_text(f'{cfg.budget_ms:g}')} ms:",
    ]
    for row in at.itertuples():
        share = percent(row.share, missing="no data")
        lines.append(f"{escape_text(BASIS_LABELS.get(row.basis, row.basis))}: {share}")
    return "<br>".join(lines)


def _add_clusters(
    fmap: folium.Map, clusters: gpd.GeoDataFrame, *, tol: float, precision: int
) -> None:
    """Outline the largest uncovered clusters (from the progress step), by cause."""
    labels = []
    for r in clusters.to_dict("records"):
        cause = str(r.get("cause", ""))
        parts = [
            f"<b>{escape_text(STATUS_LABELS.get(cause, cause))}</b> · "
            f"rank {escape_text(r.get('rank'))}",
            f"{float(r.get('area_km2', np.nan)):,.1f} km²",
        ]
        for key, unit in (("people", "people"), ("key_sites", "key sites")):
            value = r.get(key)
            if value is not None and not pd.isna(value):
                parts.append(f"{float(value):,.0f} {unit}")
        if r.get("district"):
            parts.append(escape_text(r["district"]))
        labels.append({"label": "<br>".join(parts), "cause": escape_text(cause)})
    data = _display_geojson(clusters, labels, tol=tol, precision=precision)
    folium.GeoJson(
        data,
        name="Largest uncovered clusters",
        show=False,
        style_function=lambda f: {
            "color": STATUS_COLOURS.get(f["properties"]["cause"], "#000000"),
            "weight": 2,
            "fillOpacity": 0.1,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(fmap)


# --- uncovered population ----------------------------------------------------------------


def _add_heat(fmap: folium.Map, result: RunResult, *, cell_m: float, precision: int) -> None:
    # Heat cells are hundreds of metres wide: 4 decimals (about 10 m) lose nothing.
    points = _uncovered_population(result, cell_m=cell_m, precision=min(precision, 4))
    if points is None or not len(points):
        return
    HeatMap(
        points,
        name="Uncovered population (heat)",
        show=True,
        radius=14,
        blur=12,
        min_opacity=0.05,
        max_zoom=13,
    ).add_to(fmap)


def _uncovered_population(
    result: RunResult, *, cell_m: float, precision: int
) -> list[list[float]] | None:
    """People beyond the budget (no access or too far), summed over ``cell_m`` cells."""
    metro, scenario = result.metro, result.scenario
    if "population" not in scenario.evaluations:
        return None
    ev = scenario.evaluations["population"]
    x, y = ev.samples.coordinates()  # the pixels inside the metro, as prepare chose them
    out = ~covered(ev.latency_us, budget_ms=metro.config.budget_ms)
    people = ev.samples.weight[out]
    if not people.sum():
        return []
    ix = np.floor(x[out] / cell_m).astype(np.int64)
    iy = np.floor(y[out] / cell_m).astype(np.int64)
    keys, inverse = np.unique(np.stack([ix, iy], axis=1), axis=0, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=people)
    keep = sums >= 1.0
    cx, cy = (keys[keep, 0] + 0.5) * cell_m, (keys[keep, 1] + 0.5) * cell_m
    lon, lat = pyproj.Transformer.from_crs(metro.inputs.crs, WGS84, always_xy=True).transform(
        cx, cy
    )
    # Intensity relative to the 99th percentile cell: one dense block must not wash out
    # the rest of the heat layer.
    top = float(np.percentile(sums[keep], 99)) or 1.0
    weight = np.round(np.minimum(sums[keep] / top, 1.0), 2)
    # Cells under 1 % of that show as nothing but haze (and weigh on the page): left out.
    shown = weight >= 0.01
    return np.column_stack(
        [np.round(lat[shown], precision), np.round(lon[shown], precision), weight[shown]]
    ).tolist()


# --- points ------------------------------------------------------------------------------


def _add_key_sites(fmap: folium.Map, key_sites: gpd.GeoDataFrame, *, precision: int) -> None:
    pts = key_sites.to_crs(WGS84)
    lat = np.round(pts.geometry.y.to_numpy(), precision)
    lon = np.round(pts.geometry.x.to_numpy(), precision)
    for status in ("covered", "too_far", "no_access"):
        mask = (pts["status"] == status).to_numpy()
        if not mask.any():
            continue
        rows = [
            [float(a), float(b), *_key_site_fields(r)]
            for a, b, (_, r) in zip(lat[mask], lon[mask], pts[mask].iterrows(), strict=True)
        ]
        colour = STATUS_COLOURS[status]
        callback = _KEY_SITE_CALLBACK.replace("__COLOUR__", colour).replace(
            "__STATUS__", json.dumps(escape_text(STATUS_LABELS[status]))
        )
        FastMarkerCluster(
            rows,
            name=f"Key sites: {STATUS_LABELS[status]} ({int(mask.sum())})",
            callback=callback,
            icon_create_function=_CLUSTER_ICON.replace("__COLOUR__", colour),
            show=True,
            maxClusterRadius=40,
            disableClusteringAtZoom=15,
        ).add_to(fmap)


#: Rows are ``[lat, lon, name, category, district, latency, serving site, drop]``, every
#: text escaped in Python (:func:`escape_text`) and delivered as JSON strings, so the popup
#: assembled here shows them as text. Building the popup in the browser keeps the page
#: small: one fixed template instead of a markup string per key site.
_KEY_SITE_CALLBACK = """function (row) {
    var icon = L.divIcon({className: "lc-key-icon", iconSize: [12, 12],
        html: '<span class="lc-dot" style="background:__COLOUR__"></span>'});
    var labels = ["Category", "District", "Latency", "Serving site", "Drop to network"];
    var body = "<tr><th>Status</th><td>" + __STATUS__ + "</td></tr>";
    for (var i = 0; i < labels.length; i++) {
        body += "<tr><th>" + labels[i] + "</th><td>" + row[i + 3] + "</td></tr>";
    }
    var html = '<div class="lc-popup"><b class="lc-title">' + row[2] + "</b><table>"
        + body + "</table></div>";
    return L.marker([row[0], row[1]], {icon: icon}).bindPopup(html, {maxWidth: 320});
}"""

_CLUSTER_ICON = """function (cluster) {
    return L.divIcon({className: "", iconSize: [30, 30], html:
        '<div class="lc-cluster" style="background:__COLOUR__">'
        + cluster.getChildCount() + '</div>'});
}"""


def _key_site_fields(row: pd.Series) -> list[str]:
    """Escaped popup fields of a key site, in :data:`_KEY_SITE_CALLBACK` order."""
    lat_us = row.get("latency_us")
    drop = row.get("drop_m")
    return [
        escape_text(row.get("name")),
        escape_text(row.get("category")),
        escape_text(row.get("district")),
        "—" if pd.isna(lat_us) else f"{lat_us / 1000.0:.3f} ms",
        escape_text(row.get("serving_site")) or "—",
        "—" if pd.isna(drop) else f"{drop:,.0f} m",
    ]


def _popup(title: str, rows: list[tuple[str, str]]) -> str:
    """Popup HTML from already escaped parts."""
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<div class="lc-popup"><b class="lc-title">{title}</b><table>{body}</table></div>'


def _add_sites(
    fmap: folium.Map, sites: gpd.GeoDataFrame, result: RunResult, *, precision: int
) -> None:
    pts = sites.to_crs(WGS84)
    rows = []
    for (_, r), g in zip(pts.iterrows(), pts.geometry, strict=True):
        online = bool(r.get("online", True))
        rows.append(
            [
                round(float(g.y), precision),
                round(float(g.x), precision),
                _tier_icon(str(r.get("tier", "")), online=online),
                _site_popup(r, result),
            ]
        )
    group = folium.FeatureGroup(name=f"Compute sites ({len(rows)})", show=True)
    group.add_child(_PointsLayer(rows))
    group.add_to(fmap)


def _site_popup(row: pd.Series, result: RunResult) -> str:
    scenario = result.scenario
    year = row.get("online_year")
    online = bool(row.get("online", True))
    state = "online" if online else "planned, not online in this scenario"
    if scenario.year is not None:
        state += f" ({scenario.year})"
    served_people = row.get("served_population")
    served_keys = row.get("served_key_sites")
    served_area = row.get("served_area")
    budget = result.metro.config.budget_ms
    rows = [
        ("Site id", escape_text(row.get("site_id"))),
        ("Tier", escape_text(row.get("tier"))),
        ("Online year", "—" if pd.isna(year) else escape_text(int(year))),
        ("Status", escape_text(state)),
        (
            f"People within {budget:g} ms",
            "—" if pd.isna(served_people) else f"{served_people:,.0f}",
        ),
        (
            f"Key sites within {budget:g} ms",
            "—" if pd.isna(served_keys) else f"{served_keys:,.1f}".removesuffix(".0"),
        ),
        (f"Area within {budget:g} ms", "—" if pd.isna(served_area) else f"{served_area:,.0f} km²"),
    ]
    if bool(row.get("hypothetical", False)):
        rows.append(("Note", "<i>hypothetical site (a scenario, not a known facility)</i>"))
    return _popup(escape_text(row.get("name")), rows)


def _tier_icon(tier: str, *, online: bool) -> str:
    """Inline SVG by tier: filled when online, hollow grey when only planned."""
    shape = _TIER_SHAPES.get(tier.lower(), "diamond")
    fill = _SITE_COLOUR if online else "#ffffff"
    stroke = "#ffffff" if online else _PLANNED_COLOUR
    return _svg(shape, fill=fill, stroke=stroke, size=22)


def _svg(shape: str, *, fill: str, stroke: str, size: int) -> str:
    s = size
    body = {
        "square": f'<rect x="3" y="3" width="{s - 6}" height="{s - 6}"/>',
        "circle": f'<circle cx="{s / 2}" cy="{s / 2}" r="{s / 2 - 3}"/>',
        "triangle": f'<polygon points="{s / 2},2 {s - 2},{s - 3} 2,{s - 3}"/>',
        "diamond": f'<polygon points="{s / 2},2 {s - 2},{s / 2} {s / 2},{s - 2} 2,{s / 2}"/>',
    }[shape]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{s}" height="{s}" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="2">{body}</svg>'
    )


class _PointsLayer(MacroElement):
    """Markers from ``[lat, lon, icon SVG, popup HTML]`` rows, added to the parent layer.

    The rows arrive as JSON; the icon SVG is built here from fixed shapes and the popup
    from escaped text, so no data can become markup or script.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var rows = {{ this.rows|tojson }};
            rows.forEach(function (r) {
                var icon = L.divIcon({className: "lc-site-icon", html: r[2],
                    iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -10]});
                L.marker([r[0], r[1]], {icon: icon, zIndexOffset: 1000})
                    .bindPopup(r[3], {maxWidth: 340})
                    .addTo({{ this._parent.get_name() }});
            });
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list[list[Any]]) -> None:
        super().__init__()
        self._name = "PointsLayer"
        self.rows = rows


# --- legend, title, tools ----------------------------------------------------------------


def _add_controls(
    fmap: folium.Map, result: RunResult, bands: gpd.GeoDataFrame, credits: list[str]
) -> None:
    folium.LayerControl(collapsed=True, position="topright").add_to(fmap)
    Fullscreen(position="topleft").add_to(fmap)
    MeasureControl(
        position="topleft",
        primary_length_unit="kilometers",
        secondary_length_unit="meters",
        primary_area_unit="sqkilometers",
        secondary_area_unit=None,
    ).add_to(fmap)
    # Bottom left, under popups' usual place: a popup opened near the top is not hidden.
    fmap.add_child(
        _HtmlControl(_title_html(result), position="bottomleft", css_class="lc-title-box")
    )
    fmap.add_child(
        _HtmlControl(_legend_html(result, bands), position="bottomright", css_class="lc-legend")
    )
    fmap.add_child(_Attribution([escape_text(c) for c in credits]))


def _title_html(result: RunResult) -> str:
    cfg = result.metro.config
    year = result.scenario.year
    when = f"sites online by {year}" if year is not None else "all sites"
    head = (
        f"<h4>{escape_text(cfg.name)}"
        + (f" · {escape_text(cfg.name_local)}" if cfg.name_local else "")
        + "</h4>"
    )
    lines = [f"{cfg.budget_ms:g} ms latency circle · {escape_text(when)}"]
    shares = [
        f"{escape_text(BASIS_LABELS.get(b, b))} {percent(v)}"
        for b, v in result.headline.items()
        if not np.isnan(v)
    ]
    if shares:
        lines.append(f"within {cfg.budget_ms:g} ms: " + " · ".join(shares))
    warnings = _warnings(cfg)
    box = '<div class="lc-warning lc-box">' + "<br>".join(warnings) + "</div>" if warnings else ""
    return head + "<br>".join(lines) + box


def _warnings(cfg: CityConfig) -> list[str]:
    out = []
    if cfg.synthetic:
        out.append("SYNTHETIC — every input is generated; nothing real is depicted")
    if cfg.sites.hypothetical:
        out.append("HYPOTHETICAL compute sites — a scenario, not known facilities")
    return out


def _legend_html(result: RunResult, bands: gpd.GeoDataFrame) -> str:
    colours = band_colours(sorted(bands["threshold_ms"]))
    rows = ["<h4>One-way latency to the nearest site</h4>"]
    rows += [
        f'<div class="lc-row"><span class="lc-swatch" style="background:{c};opacity:0.7">'
        f"</span>≤ {t:g} ms</div>"
        for t, c in colours.items()
    ]
    rows.append("<h4>Key sites</h4>")
    rows += [
        f'<div class="lc-row"><span class="lc-dot" style="background:{STATUS_COLOURS[s]}">'
        f"</span>{escape_text(STATUS_LABELS[s])}</div>"
        for s in ("covered", "too_far", "no_access")
    ]
    rows.append("<h4>Compute sites</h4>")
    for tier, shape in [*_TIER_SHAPES.items(), ("other", "diamond")]:
        icon = _svg(shape, fill=_SITE_COLOUR, stroke="#ffffff", size=16)
        rows.append(f'<div class="lc-row">{icon}{tier}</div>')
    planned = _svg("circle", fill="#ffffff", stroke=_PLANNED_COLOUR, size=16)
    rows.append(f'<div class="lc-row">{planned}planned (not online)</div>')
    rows.append(
        '<div class="lc-row"><span class="lc-swatch" style="background:'
        'linear-gradient(90deg,#2b83ba,#ffffbf,#d7191c)"></span>uncovered people</div>'
    )
    return "".join(rows)


class _HtmlControl(MacroElement):
    """A Leaflet control holding fixed HTML (built from escaped text), e.g. the legend.

    A control lives inside the map container, so it stays visible in fullscreen mode.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "lc-box " + {{ this.css_class|tojson }});
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, html_text: str, *, position: str, css_class: str) -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html = html_text
        self.position = position
        self.css_class = css_class


class _Attribution(MacroElement):
    """Data credits appended to Leaflet's attribution control (escaped text)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {% for credit in this.credits %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ credit|tojson }});
        {% endfor %}
        {% endmacro %}
    """)

    def __init__(self, credits: list[str]) -> None:
        super().__init__()
        self._name = "Attribution"
        self.credits = credits
