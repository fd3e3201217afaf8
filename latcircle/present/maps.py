"""The city's Folium web map: ``map.html``.

:func:`write_map` is the pipeline's output step; :func:`build_map` returns the
:class:`folium.Map` for a notebook. The map shows the latency bands (disjoint rings by default),
the metro boundary and its districts (filled by share within the budget, labelled; tooltip:
district coverage on each basis),
the compute sites (an icon by tier; popup with what each serves), the key sites clustered by
status (covered, no access, too far), a heat layer of uncovered population, a legend, a
layer control, fullscreen and measure tools.

Three rules shape the code:

* **Data is text.** Every string that comes from an input (names, categories, tiers, config
  notes) goes through :func:`latcircle.present.style.escape_text` before it reaches the
  page, and reaches JavaScript only as JSON (``tojson``), never spliced into a JavaScript
  template literal, where folium's own ``Popup`` and ``Tooltip`` would let a ``${...}`` or a
  backslash through.
* **Light.** Geometry is simplified for display only (the GeoPackage keeps the exact bands),
  coordinates are rounded, points are drawn in the browser from compact arrays
  (``FastMarkerCluster``), and the heat layer uses population aggregated to coarse cells.
  Only Leaflet and the four plugins used are loaded (folium's Bootstrap, jQuery, Font
  Awesome and Awesome Markers are not needed: icons are inline SVG).
* **Deterministic.** Folium names elements with random UUIDs; :func:`render_map` renumbers
  them in order of appearance so the same run writes the same bytes.

By default ``map.html`` is self-contained: Leaflet and its plugins are written inside it
from pinned, vendored copies (:mod:`latcircle.present.assets`), so it opens with no network;
``assets="cdn"`` writes the small page that loads them from jsDelivr (and says so when it
cannot). Base maps (:mod:`latcircle.present.basemaps`): OpenStreetMap by default, or Amap /
Tencent tiles in GCJ-02 with every overlay shifted to match, or none; without a network the
vector layers draw over a plain background.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import partial
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
from folium.template import Environment, Template

from latcircle.analysis.coverage import CAUSES, covered
from latcircle.analysis.isochrones import band_rings
from latcircle.output.readback import read_layers
from latcircle.present import assets as _assets
from latcircle.present.assets import AssetMode, inline_assets
from latcircle.present.basemaps import BASEMAPS, Basemap, geometries_to_display, to_display
from latcircle.present.protection import add_protection_layers
from latcircle.present.style import (
    BASIS_LABELS,
    HEAT_GRADIENT,
    SHARE_CLASSES,
    STATUS_COLOURS,
    STATUS_LABELS,
    band_colours,
    data_attribution,
    escape_text,
    percent,
    ring_label,
    script_json,
    share_colour,
)

if TYPE_CHECKING:
    from latcircle.config import CityConfig
    from latcircle.run import RunResult

__all__ = [
    "build_map",
    "map_writer",
    "render_map",
    "write_map",
]

WGS84 = "EPSG:4326"

#: Leaflet only: folium's other defaults (jQuery, Bootstrap, Font Awesome, Awesome Markers)
#: serve its own marker and popup classes, which this map does not use. Pinned versions,
#: vendored in latcircle.present.assets (inlined by default).
_LEAFLET_JS = _assets.js_urls(_assets.LEAFLET_JS)
_LEAFLET_CSS = _assets.css_urls(_assets.LEAFLET_CSS)

#: Icon shape per site tier; any other tier gets the diamond.
_TIER_SHAPES = {"large": "square", "medium": "circle", "edge": "triangle"}
#: Near-black with a white outline and halo: apart from every band colour (YlGnBu, whose
#: tightest band is a dark navy that swallowed the former navy icons).
_SITE_COLOUR = "#111111"
_PLANNED_COLOUR = "#969696"

#: Folium names elements ``<kind>_<32 hex digits>``; see :func:`render_map`.


class _ScriptEnvironment(Environment):
    """folium's template environment, with ``tojson`` as :func:`script_json`.

    branca renders each element's script a second time as template source: data placed
    with this ``tojson`` carries no ``{``/``}`` that the second pass could read as syntax.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["tojson"] = script_json


class _Template(Template):
    """The template of every element latcircle adds to a map (see _ScriptEnvironment)."""

    environment_class = _ScriptEnvironment


_ELEMENT_ID = re.compile(r"\b([a-z][a-z0-9_]*?)_([0-9a-f]{32})(?![0-9a-f])")


def build_map(
    result: RunResult,
    *,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    attribution: Sequence[str] | None = None,
    simplify_m: float | None = None,
    precision: int = 5,
    heat_cell_m: float = 500.0,
    basemap: str = "osm",
    bands: str = "rings",
) -> folium.Map:
    """Build the city's Folium map.

    Parameters
    ----------
    result
        The run.
    layers
        The run's GeoPackage layers (:func:`latcircle.output.readback.read_layers`); read
        from ``result.out`` when
        ``None``.
    attribution
        Data credits shown on the map; from :func:`latcircle.present.style.data_attribution`
        when ``None``. Tile
        credit (© OpenStreetMap contributors) is always shown.
    simplify_m
        Display simplification tolerance in metres (local CRS, topology preserved); half
        the grid cell, at least 25 m, when ``None``: it removes the cell staircase, which
        carries no information below the grid's resolution.
    precision
        Decimal places kept in longitudes and latitudes (5 is about 1 m).
    heat_cell_m
        Cell size for aggregating uncovered population into the heat layer.
    basemap
        A key of :data:`latcircle.present.basemaps.BASEMAPS`: ``"osm"`` (default),
        ``"amap"`` or ``"tencent"`` (GCJ-02 tiles: every overlay is shifted to GCJ-02 for
        display), ``"none"``.
    bands
        ``"rings"`` (default): disjoint bands, each latency range once, so the base map
        shows through evenly; ``"cumulative"``: one layer per threshold, nested.

    Returns
    -------
    folium.Map

    Raises
    ------
    ValueError
        For an unknown ``basemap`` or ``bands``.
    """
    layers = dict(layers) if layers is not None else result.gpkg_layers()
    cfg = result.metro.config
    base = _basemap(basemap)
    if bands not in ("rings", "cumulative"):
        msg = f"bands must be 'rings' or 'cumulative', not {bands!r}"
        raise ValueError(msg)
    tol = simplify_m if simplify_m is not None else max(25.0, result.metro.grid.cell_m / 2.0)
    credits = list(attribution) if attribution is not None else data_attribution(cfg)
    datum = base.datum
    fmap = _base_map(layers["boundary"], base)
    add_bands = _add_rings if bands == "rings" else _add_bands
    add_bands(fmap, layers["bands"], tol=tol, precision=precision, datum=datum)
    _add_boundary(fmap, layers, result, tol=tol, precision=precision, datum=datum)
    _add_heat(fmap, result, cell_m=heat_cell_m, precision=precision, datum=datum)
    if "clusters" in layers and len(layers["clusters"]):
        _add_clusters(fmap, layers["clusters"], tol=tol, precision=precision, datum=datum)
    if "key_sites" in layers:
        _add_key_sites(fmap, layers["key_sites"], precision=precision, datum=datum)
    _add_sites(fmap, layers["sites"], result, precision=precision, datum=datum)
    if "plan" in layers and len(layers["plan"]):
        _add_plan(fmap, layers["plan"], precision=precision, datum=datum)
    if "leo" in layers and len(layers["leo"]):
        _add_leo(fmap, layers["leo"], tol=tol, precision=precision, datum=datum)
    add_protection_layers(
        fmap, layers, partial(_display_geojson, tol=tol, precision=precision, datum=datum)
    )
    _add_controls(fmap, result, layers["bands"], credits, rings=bands == "rings")
    return fmap


def _add_plan(fmap: folium.Map, plan: gpd.GeoDataFrame, *, precision: int, datum: str) -> None:
    """Draw the planner's builds (``latcircle plan``): sites as circles, fibre spurs as lines."""
    labels = [
        {
            "label": f"<b>{escape_text(r.get('build_id'))}</b> · {escape_text(r.get('kind'))}"
            f"<br>{escape_text(r.get('name'))}<br>by {escape_text(r.get('year'))}, cost "
            f"{float(r.get('cost', np.nan)):,.2f}" + _alternatives_text(r)
        }
        for r in plan.to_dict("records")
    ]
    folium.GeoJson(
        _display_geojson(plan, labels, tol=0.0, precision=precision, datum=datum),
        name=f"Plan: what to build ({len(plan)})",
        show=True,
        marker=folium.CircleMarker(radius=7, fill=True, fill_opacity=0.9),
        style_function=lambda f: {"color": "#6a3d9a", "weight": 3, "fillColor": "#cab2d6"},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(fmap)


def _alternatives_text(r: dict) -> str:
    """Return a plan build's equivalent candidates (``alternatives``) for its tooltip."""
    n = r.get("alternatives")
    if n is None or (isinstance(n, float) and np.isnan(n)) or int(n) == 0:
        return ""
    near = r.get("nearest_alternatives") or ""
    return f"<br>{int(n)} equivalent candidate(s); nearest: {escape_text(near)}"


def _add_leo(
    fmap: folium.Map, leo: gpd.GeoDataFrame, *, tol: float, precision: int, datum: str
) -> None:
    """Where fibre gives no access but a LEO path meets a tier (``tiers.gpkg``, docs/tiers.md)."""
    for row in leo.sort_values("budget_ms").itertuples():
        name = f"LEO access within {float(row.budget_ms):g} ms ({escape_text(row.leo)})"
        label = f"{name} · {float(row.area_km2):,.1f} km² without fibre access"
        data = _display_geojson(
            leo.loc[[row.Index]], [{"label": label}], tol=tol, precision=precision, datum=datum
        )
        if not data["features"]:
            continue  # no place without access, or none that LEO brings within this tier
        folium.GeoJson(
            data,
            name=name,
            show=row.Index == leo["budget_ms"].idxmin(),
            style_function=lambda _f: {
                "color": "#1f78b4",
                "weight": 1.2,
                "dashArray": "4 3",
                "fillColor": "#1f78b4",
                "fillOpacity": 0.15,
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(fmap)


def _basemap(name: str) -> Basemap:
    try:
        return BASEMAPS[name]
    except KeyError:
        msg = f"unknown basemap {name!r}; choose one of {', '.join(BASEMAPS)}"
        raise ValueError(msg) from None


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


def write_map(
    result: RunResult, folder: str | Path, *, assets: AssetMode = "inline", **options: Any
) -> Path:
    """Write ``map.html`` into ``folder`` (the pipeline's output step).

    Parameters
    ----------
    result
        The run.
    folder
        The (temporary) output folder; its ``isochrones.gpkg`` supplies the layers.
    assets
        ``"inline"`` (default): every script and style inside the page, which then opens
        with no network; ``"cdn"``: a smaller page loading them from jsDelivr (pinned).
    **options
        Keyword options of :func:`build_map` (``basemap``, ``bands``, ...).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    if assets not in ("inline", "cdn"):
        msg = f"assets must be 'inline' or 'cdn', not {assets!r}"
        raise ValueError(msg)
    folder = Path(folder)
    options.setdefault("layers", read_layers(folder))
    plan = folder / "plan" / "plan.gpkg"  # written by `latcircle plan`, kept across runs
    if plan.exists() and "plan" not in options["layers"]:
        options["layers"] = {**options["layers"], "plan": gpd.read_file(plan, layer="plan")}
    tiers = folder / "tiers.gpkg"  # written before the map when the config has `tiers:`
    if tiers.exists() and "leo" not in options["layers"]:
        options["layers"] = {**options["layers"], "leo": gpd.read_file(tiers, layer="leo")}
    page = render_map(build_map(result, **options))
    if assets == "inline":
        page = inline_assets(page)
    path = folder / "map.html"
    path.write_text(page, encoding="utf-8")
    return path


def map_writer(*, assets: AssetMode = "inline", **options: Any) -> Any:
    """Return the pipeline's map step with options bound (``f(result, folder)``).

    Parameters
    ----------
    assets
        See :func:`write_map`.
    **options
        Keyword options of :func:`build_map`.

    Returns
    -------
    callable
        ``f(result, folder) -> Path``, staged as ``write_map``.
    """

    def write(result: RunResult, folder: str | Path) -> Path:
        return write_map(result, folder, assets=assets, **options)

    write.stage_name = "write_map"  # type: ignore[attr-defined]
    return write


# --- the base map ------------------------------------------------------------------------


def _base_map(boundary: gpd.GeoDataFrame, base: Basemap) -> folium.Map:
    west, south, east, north = boundary.to_crs(WGS84).total_bounds
    (west, east), (south, north) = to_display([west, east], [south, north], datum=base.datum)
    fmap = folium.Map(
        location=[(south + north) / 2.0, (west + east) / 2.0],
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
        zoom_start=10,
        # Leaflet takes its zoom range from the tile layers; without any (basemap "none")
        # the key-site clusters need it from the map.
        maxZoom=base.max_zoom,  # a map option (folium's max_zoom goes to its own tiles)
    )
    fmap.default_js = list(_LEAFLET_JS)
    fmap.default_css = list(_LEAFLET_CSS)
    _add_tiles(fmap, base)
    fmap.fit_bounds([[float(south), float(west)], [float(north), float(east)]])
    root = cast("Figure", fmap.get_root())  # a Map's root is always the page (a Figure)
    root.header.add_child(Element(_PAGE_STYLE), name="latcircle_style")
    root.header.add_child(Element(_OFFLINE_NOTICE), name="latcircle_offline")
    return fmap


def _add_tiles(fmap: folium.Map, base: Basemap) -> None:
    """Add the base map's tiles (a grey copy first when offered), or none at all."""
    if base.url is None:
        return
    # A grey base keeps the coloured bands readable; the same tiles in colour stay one
    # click away. (CARTO's light tiles now need an API key, so OSM serves both.)
    variants = [(f"{base.label} (grey)", "lc-grey", True)] if base.grey else []
    variants.append((base.label, "", not base.grey))
    for name, css, show in variants:
        extra: dict[str, Any] = {"className": css} if css else {}
        folium.TileLayer(
            base.url,
            attr=escape_text(base.attribution),
            name=name,
            subdomains=base.subdomains,
            max_zoom=base.max_zoom,
            show=show,
            **extra,
        ).add_to(fmap)
    fmap.add_child(_TileNotice())


class _TileNotice(MacroElement):
    """Says so, once, when base-map tiles fail to load (offline, or the host is blocked).

    The vector layers draw regardless, over the map's plain background.
    """

    _template = _Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
            var shown = false;
            function notice() {
                if (shown) { return; }
                shown = true;
                var control = L.control({position: "bottomleft"});
                control.onAdd = function () {
                    var div = L.DomUtil.create("div", "lc-box lc-tile-notice");
                    div.textContent = "Base-map tiles unavailable (offline or blocked): "
                        + "layers drawn over a plain background.";
                    return div;
                };
                control.addTo(map);
            }
            map.eachLayer(function (layer) {
                if (layer instanceof L.TileLayer) { layer.on("tileerror", notice); }
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()
        self._name = "TileNotice"


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
.lc-site-icon, .lc-key-icon, .lc-label {background: none; border: none;}
.lc-site-icon svg {filter: drop-shadow(0 0 1.5px #fff) drop-shadow(0 0 2px rgba(0,0,0,0.8));}
.lc-label div {font: 600 11px/1.2 system-ui, sans-serif; color: #111; white-space: nowrap;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; transform: translate(-50%, -50%);
  display: inline-block; pointer-events: none;}
.lc-scale {width: 150px; height: 10px; border: 1px solid #555;}
.lc-ticks {display: flex; justify-content: space-between; width: 152px; font-size: 11px;}
.lc-tile-notice {max-width: 260px; font-size: 11px;}
.lc-cluster {border-radius: 50%; color: #fff; font: 600 12px/30px system-ui, sans-serif;
  text-align: center; width: 30px; height: 30px; box-shadow: 0 0 0 3px rgba(255,255,255,0.7);}
</style>"""

#: Folium maps load Leaflet from CDNs; without them the page would stay blank, so say why.
_OFFLINE_NOTICE = """<script>
window.addEventListener("load", function () {
  if (typeof L === "undefined") {
    var p = document.createElement("p");
    p.id = "lc-offline";
    p.textContent = "This map loads Leaflet from a public CDN (cdn.jsdelivr.net) and "
      + "needs internet access to display; a map written with --map-assets inline (the "
      + "default) opens offline. The tables and figures in report.html work offline.";
    p.style.cssText = "margin:2em;font:16px system-ui,sans-serif";
    document.body.prepend(p);
  }
});
</script>"""


# --- polygons ----------------------------------------------------------------------------


def _display_geojson(
    gdf: gpd.GeoDataFrame,
    properties: list[dict[str, Any]],
    *,
    tol: float,
    precision: int,
    datum: str = "wgs84",
) -> dict[str, Any]:
    """Simplify in the local CRS, reproject to WGS84 (and the base map's datum), round."""
    geoms = shapely.simplify(gdf.geometry.to_numpy(), tol, preserve_topology=True)
    geoms = gpd.GeoSeries(geoms, crs=gdf.crs).to_crs(WGS84).to_numpy()
    geoms = geometries_to_display(geoms, datum=datum)  # type: ignore[arg-type]
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, precision))
    features = [
        {"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(g))}
        for g, props in zip(geoms, properties, strict=True)
        if g is not None and not g.is_empty
    ]
    return {"type": "FeatureCollection", "features": features}


def _add_bands(
    fmap: folium.Map, bands: gpd.GeoDataFrame, *, tol: float, precision: int, datum: str
) -> None:
    bands = bands.sort_values("threshold_ms", ascending=False)
    colours = band_colours(sorted(bands["threshold_ms"]))
    # Cumulative bands, widest first, so each tighter band is drawn on top of the wider one.
    for _, row in bands.iterrows():
        thr = float(row["threshold_ms"])
        label = f"Latency ≤ {thr:g} ms"
        data = _display_geojson(
            bands.loc[[row.name]],
            [{"label": escape_text(label)}],
            tol=tol,
            precision=precision,
            datum=datum,
        )
        if not data["features"]:
            continue  # an empty band (no site online, or none within it): nothing to draw
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


#: Ring fill opacity: low enough that streets and names of the base map stay readable
#: through any ring (each place lies in exactly one ring, so opacities never stack).
_RING_OPACITY = 0.3


def _add_rings(
    fmap: folium.Map, bands: gpd.GeoDataFrame, *, tol: float, precision: int, datum: str
) -> None:
    """Disjoint bands: each place once, in the colour of the tightest band it lies in."""
    rings = band_rings(bands)
    colours = band_colours(sorted(bands["threshold_ms"]))
    for row in rings.sort_values("threshold_ms", ascending=False).itertuples():
        thr = float(row.threshold_ms)
        lower = None if pd.isna(row.lower_ms) else float(row.lower_ms)
        label = ring_label(lower, thr)
        data = _display_geojson(
            rings.loc[[row.Index]],
            [{"label": escape_text(f"{label} · {row.area_km2:,.1f} km²")}],
            tol=tol,
            precision=precision,
            datum=datum,
        )
        if not data["features"]:
            continue  # an empty ring (no site online, or no place that close): nothing to draw
        colour = colours[thr]
        folium.GeoJson(
            data,
            name=label,
            style_function=lambda _f, c=colour: {
                "fillColor": c,
                "color": c,
                "weight": 0.4,
                "fillOpacity": _RING_OPACITY,
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(fmap)


def _headline_basis(result: RunResult) -> str | None:
    """Return the basis districts are coloured on (key sites, else population, else area)."""
    return next((b for b, v in result.headline.items() if not np.isnan(v)), None)


def _district_shares(result: RunResult, basis: str | None) -> dict[str, float]:
    cov = result.coverage
    at = cov[
        np.isclose(cov["threshold_ms"], result.metro.config.budget_ms)
        & (cov["scope"] == "district")
        & (cov["basis"] == basis)
    ]
    return {str(r.name): float(r.share) for r in at.itertuples()}


def _add_district_shares(
    fmap: folium.Map,
    districts: gpd.GeoDataFrame,
    result: RunResult,
    *,
    tol: float,
    precision: int,
    datum: str,
) -> None:
    """Districts filled by share within the budget, and a label layer (name and share)."""
    basis = _headline_basis(result)
    shares = _district_shares(result, basis)
    values = [shares.get(str(n), float("nan")) for n in districts["name"]]
    props = [
        {"label": _district_label(n, result), "fill": share_colour(v)}
        for n, v in zip(districts["name"], values, strict=True)
    ]
    data = _display_geojson(districts, props, tol=tol, precision=precision, datum=datum)
    budget = result.metro.config.budget_ms
    what = escape_text(BASIS_LABELS.get(basis, basis)) if basis else "share"
    folium.GeoJson(
        data,
        name=f"Districts: {what} within {budget:g} ms",
        show=False,
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.65,
            "color": "#525252",
            "weight": 1,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
    ).add_to(fmap)
    points = shapely.point_on_surface(districts.geometry.to_numpy())
    pts = gpd.GeoSeries(points, crs=districts.crs).to_crs(WGS84)
    lon, lat = to_display(pts.x.to_numpy(), pts.y.to_numpy(), datum=datum)  # type: ignore[arg-type]
    rows = [
        [round(float(b), precision), round(float(a), precision), _label_text(n, v)]
        for a, b, n, v in zip(lon, lat, districts["name"], values, strict=True)
    ]
    group = folium.FeatureGroup(name="District labels (share)", show=True)
    group.add_child(_LabelsLayer(rows))
    group.add_to(fmap)


def _label_text(name: object, share: float) -> str:
    """Plain text (the page sets it as text, never as markup)."""
    text = "" if name is None else str(name)
    return f"{text} · {percent(share, digits=0, missing='no data')}"


class _LabelsLayer(MacroElement):
    """Text labels from ``[lat, lon, text]`` rows; the text is set with ``textContent``."""

    _template = _Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var lcLabels = {{ this.rows|tojson }};
            lcLabels.forEach(function (r) {
                var el = document.createElement("div");
                el.textContent = r[2];
                var icon = L.divIcon({className: "lc-label", html: el, iconSize: [0, 0]});
                L.marker([r[0], r[1]], {icon: icon, interactive: false, keyboard: false,
                          zIndexOffset: 3000})
                    .addTo({{ this._parent.get_name() }});
            });
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list[list[Any]]) -> None:
        super().__init__()
        self._name = "LabelsLayer"
        self.rows = rows


def _add_boundary(
    fmap: folium.Map,
    layers: Mapping[str, gpd.GeoDataFrame],
    result: RunResult,
    *,
    tol: float,
    precision: int,
    datum: str,
) -> None:
    cfg = result.metro.config
    if "districts" in layers and len(layers["districts"]):
        _add_district_shares(
            fmap, layers["districts"], result, tol=tol, precision=precision, datum=datum
        )
    if "districts" in layers:
        districts = layers["districts"]
        labels = [_district_label(name, result) for name in districts["name"]]
        data = _display_geojson(
            districts,
            [{"label": lab} for lab in labels],
            tol=tol,
            precision=precision,
            datum=datum,
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
    data = _display_geojson(
        layers["boundary"], [{"label": label}], tol=tol, precision=precision, datum=datum
    )
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
    fmap: folium.Map, clusters: gpd.GeoDataFrame, *, tol: float, precision: int, datum: str
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
    data = _display_geojson(clusters, labels, tol=tol, precision=precision, datum=datum)
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


def _add_heat(
    fmap: folium.Map, result: RunResult, *, cell_m: float, precision: int, datum: str
) -> None:
    # Heat cells are hundreds of metres wide: 4 decimals (about 10 m) lose nothing.
    found = _uncovered_population(result, cell_m=cell_m, precision=min(precision, 4))
    if found is None or not len(found[0]):
        return
    points, top = found
    lon, lat = to_display([p[1] for p in points], [p[0] for p in points], datum=datum)  # type: ignore[arg-type]
    points = [
        [round(float(a), 4), round(float(b), 4), p[2]]
        for a, b, p in zip(lat, lon, points, strict=True)
    ]
    heat = HeatMap(
        points,
        name="Uncovered population (heat)",
        show=True,
        radius=14,
        blur=12,
        min_opacity=0.05,
        max_zoom=13,
        gradient=HEAT_GRADIENT,
    )
    heat.default_js = _assets.js_urls(_assets.HEAT_JS)  # pinned, not folium@main
    heat.add_to(fmap)
    fmap.add_child(
        _HtmlControl(_heat_scale_html(top, cell_m), position="bottomright", css_class="lc-heat")
    )


def _heat_scale_html(top: float, cell_m: float) -> str:
    """Return the heat layer's numbered scale: people beyond the budget per cell."""
    stops = ",".join(f"{c} {k * 100:.0f}%" for k, c in HEAT_GRADIENT.items())
    ticks = [0.0, top / 2.0, top]
    labels = [f"{t:,.0f}" for t in ticks]
    labels[-1] += "+"
    return (
        f"<h4>Uncovered people per {cell_m / 1000:g} km cell</h4>"
        f'<div class="lc-scale" style="background:linear-gradient(90deg,'
        f'rgba(254,227,145,0.15) 0%,{stops})"></div>'
        '<div class="lc-ticks">' + "".join(f"<span>{t}</span>" for t in labels) + "</div>"
    )


def _uncovered_population(
    result: RunResult, *, cell_m: float, precision: int
) -> tuple[list[list[float]], float] | None:
    """People beyond the budget (no access or too far), summed over ``cell_m`` cells.

    Returns ``[lat, lon, weight]`` rows, weight relative to the 99th-percentile cell, and
    that cell's people (the top of the heat scale).
    """
    metro, scenario = result.metro, result.scenario
    if "population" not in scenario.evaluations:
        return None
    ev = scenario.evaluations["population"]
    x, y = ev.samples.coordinates()  # the pixels inside the metro, as prepare chose them
    out = ~covered(ev.latency_us, budget_ms=metro.config.budget_ms)
    people = ev.samples.weight[out]
    if not people.sum():
        return [], 0.0
    ix = np.floor(x[out] / cell_m).astype(np.int64)
    iy = np.floor(y[out] / cell_m).astype(np.int64)
    # One int64 key per cell, ordered as the (ix, iy) rows would sort: a 1-D unique instead
    # of np.unique(axis=0), which sorts rows through a structured view, several times slower.
    x0, y0 = ix.min(), iy.min()
    ny = iy.max() - y0 + 1
    key = (ix - x0) * ny + (iy - y0)
    keys, inverse = np.unique(key, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=people)
    keep = sums >= 1.0
    kx, ky = np.divmod(keys[keep], ny)
    cx, cy = (kx + x0 + 0.5) * cell_m, (ky + y0 + 0.5) * cell_m
    lon, lat = pyproj.Transformer.from_crs(metro.inputs.crs, WGS84, always_xy=True).transform(
        cx, cy
    )
    # Intensity relative to the 99th percentile cell: one dense block must not wash out
    # the rest of the heat layer.
    top = float(np.percentile(sums[keep], 99)) or 1.0
    weight = np.round(np.minimum(sums[keep] / top, 1.0), 2)
    # Cells under 1 % of that show as nothing but haze (and weigh on the page): left out.
    shown = weight >= 0.01
    rows = np.column_stack(
        [np.round(lat[shown], precision), np.round(lon[shown], precision), weight[shown]]
    ).tolist()
    return rows, top


# --- points ------------------------------------------------------------------------------


def _add_key_sites(
    fmap: folium.Map, key_sites: gpd.GeoDataFrame, *, precision: int, datum: str
) -> None:
    pts = key_sites.to_crs(WGS84)
    lon, lat = to_display(pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy(), datum=datum)  # type: ignore[arg-type]
    lat, lon = np.round(lat, precision), np.round(lon, precision)
    for status in ("covered", *CAUSES):
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
        cluster = FastMarkerCluster(
            rows,
            name=f"Key sites: {STATUS_LABELS[status]} ({int(mask.sum())})",
            callback=callback,
            icon_create_function=_CLUSTER_ICON.replace("__COLOUR__", colour),
            show=True,
            maxClusterRadius=40,
            disableClusteringAtZoom=15,
        )
        cluster.default_js = _assets.js_urls(_assets.CLUSTER_JS)
        cluster.default_css = _assets.css_urls(*_assets.CLUSTER_CSS)
        cluster.add_to(fmap)


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
    fmap: folium.Map, sites: gpd.GeoDataFrame, result: RunResult, *, precision: int, datum: str
) -> None:
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
                _site_popup(r, result),
                year,
            ]
        )
    group = folium.FeatureGroup(name=f"Compute sites ({len(rows)})", show=True)
    group.add_child(_PointsLayer(rows))
    group.add_to(fmap)
    known = sorted({y for y in years if y is not None})
    if len(known) > 1:
        fmap.add_child(_YearControl(group.get_name(), known, result.scenario.year))


def _online_years(sites: gpd.GeoDataFrame) -> list[int | None]:
    if "online_year" not in sites:
        return [None] * len(sites)
    return [None if pd.isna(y) else int(y) for y in sites["online_year"]]


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


class _YearControl(MacroElement):
    """A slider over the sites' online years: sites not yet online by then are faded.

    The bands and shares stay those of the run's scenario year (named beside the slider);
    ``latcircle run --year`` computes another year.
    """

    _template = _Template("""
        {% macro script(this, kwargs) %}
        (function (map, group) {
            var years = {{ this.years|tojson }};
            var control = L.control({position: "topleft"});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "lc-box lc-years");
                var title = document.createElement("b");
                var input = document.createElement("input");
                var note = document.createElement("div");
                input.type = "range"; input.min = 0; input.max = years.length - 1;
                input.step = 1; input.value = {{ this.start|tojson }};
                note.textContent = {{ this.note|tojson }};
                note.style.fontSize = "11px";
                function show() {
                    var year = years[Number(input.value)], n = 0;
                    group.eachLayer(function (m) {
                        var on = m.lcYear === null || m.lcYear <= year;
                        if (on) { n += 1; }
                        m.setOpacity(on ? 1 : 0.2);
                    });
                    title.textContent = "Sites online by " + year + ": " + n;
                }
                input.addEventListener("input", show);
                div.appendChild(title); div.appendChild(document.createElement("br"));
                div.appendChild(input); div.appendChild(note);
                L.DomEvent.disableClickPropagation(div);
                show();
                return div;
            };
            control.addTo(map);
        })({{ this._parent.get_name() }}, {{ this.group }});
        {% endmacro %}
    """)

    def __init__(self, group: str, years: list[int], scenario_year: int | None) -> None:
        super().__init__()
        self._name = "YearControl"
        self.group = group
        self.years = years
        start = scenario_year if scenario_year in years else years[-1]
        self.start = years.index(start)
        when = f"{scenario_year}" if scenario_year is not None else "all sites online"
        self.note = f"bands and shares: {when}"


class _PointsLayer(MacroElement):
    """Markers from ``[lat, lon, icon SVG, popup HTML, online year]`` rows, added to the parent.

    The rows arrive as JSON; the icon SVG is built here from fixed shapes and the popup
    from escaped text, so no data can become markup or script.
    """

    _template = _Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var rows = {{ this.rows|tojson }};
            rows.forEach(function (r) {
                var icon = L.divIcon({className: "lc-site-icon", html: r[2],
                    iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -10]});
                var marker = L.marker([r[0], r[1]], {icon: icon, zIndexOffset: 1000})
                    .bindPopup(r[3], {maxWidth: 340});
                marker.lcYear = r[4];
                marker.addTo({{ this._parent.get_name() }});
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
    fmap: folium.Map,
    result: RunResult,
    bands: gpd.GeoDataFrame,
    credits: list[str],
    *,
    rings: bool = True,
) -> None:
    folium.LayerControl(collapsed=True, position="topright").add_to(fmap)
    full = Fullscreen(position="topleft")
    full.default_js = _assets.js_urls(_assets.FULLSCREEN_JS)
    full.default_css = _assets.css_urls(_assets.FULLSCREEN_CSS)
    full.add_to(fmap)
    measure = MeasureControl(
        position="topleft",
        primary_length_unit="kilometers",
        secondary_length_unit="meters",
        primary_area_unit="sqkilometers",
        secondary_area_unit=None,
    )
    measure.default_js = _assets.js_urls(_assets.MEASURE_JS)
    measure.default_css = _assets.css_urls(_assets.MEASURE_CSS)
    measure.add_to(fmap)
    # Bottom left, under popups' usual place: a popup opened near the top is not hidden.
    fmap.add_child(
        _HtmlControl(_title_html(result), position="bottomleft", css_class="lc-title-box")
    )
    fmap.add_child(
        _HtmlControl(
            _legend_html(result, bands, rings=rings), position="bottomright", css_class="lc-legend"
        )
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


def _legend_html(result: RunResult, bands: gpd.GeoDataFrame, *, rings: bool = True) -> str:
    colours = band_colours(sorted(bands["threshold_ms"]))
    rows = ["<h4>One-way latency to the nearest site</h4>"]
    lower: float | None = None
    for t, c in colours.items():
        text = ring_label(lower, t).removeprefix("Latency ") if rings else f"≤ {t:g} ms"
        rows.append(
            f'<div class="lc-row"><span class="lc-swatch" style="background:{c};opacity:0.7">'
            f"</span>{escape_text(text)}</div>"
        )
        lower = t
    rows.append("<h4>Key sites</h4>")
    rows += [
        f'<div class="lc-row"><span class="lc-dot" style="background:{STATUS_COLOURS[s]}">'
        f"</span>{escape_text(STATUS_LABELS[s])}</div>"
        for s in ("covered", *CAUSES)
    ]
    rows.append("<h4>Compute sites</h4>")
    for tier, shape in [*_TIER_SHAPES.items(), ("other", "diamond")]:
        icon = _svg(shape, fill=_SITE_COLOUR, stroke="#ffffff", size=16)
        rows.append(f'<div class="lc-row">{icon}{tier}</div>')
    planned = _svg("circle", fill="#ffffff", stroke=_PLANNED_COLOUR, size=16)
    rows.append(f'<div class="lc-row">{planned}planned (not online)</div>')
    rows += _district_legend(result)
    return "".join(rows)


def _district_legend(result: RunResult) -> list[str]:
    """Return the district share classes (none when the run has no districts)."""
    if not result.metro.district_names:
        return []
    basis = _headline_basis(result)
    what = escape_text(BASIS_LABELS.get(basis, basis)) if basis else "share"
    rows = [f"<h4>Districts: {what} within {result.metro.config.budget_ms:g} ms</h4>"]
    rows += [
        f'<div class="lc-row"><span class="lc-swatch" style="background:{c}"></span>'
        f"{escape_text(label)}</div>"
        for _, c, label in SHARE_CLASSES
    ]
    return rows


class _HtmlControl(MacroElement):
    """A Leaflet control holding fixed HTML (built from escaped text), e.g. the legend.

    A control lives inside the map container, so it stays visible in fullscreen mode.
    """

    _template = _Template("""
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

    _template = _Template("""
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
