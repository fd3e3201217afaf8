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

import re
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure

from latcircle.analysis.workbench import WHATIF_DEFAULT, YearState, check_whatif_count
from latcircle.output.readback import read_layers
from latcircle.present import assets as _assets
from latcircle.present.assets import AssetMode, inline_assets
from latcircle.present.basemaps import BASEMAPS, Basemap, to_display
from latcircle.present.map.elements import (
    OFFLINE_NOTICE,
    PAGE_STYLE,
    Attribution,
    DataBlock,
    FeatureGroup,
    GeoJson,
    GeoJsonTooltip,
    HtmlControl,
    LayerControl,
    Map,
    RawScript,
    TileLayer,
    TileNotice,
    display_geojson,
    rendered_text,
)
from latcircle.present.map.heat import add_heat
from latcircle.present.map.legend import legend_html
from latcircle.present.map.plugins import Fullscreen, MeasureControl
from latcircle.present.map.points import add_key_sites, add_sites
from latcircle.present.map.script import WORKBENCH_JS
from latcircle.present.map.words import (
    LANGS,
    WORDS,
    metro_district_names,
    resolve_lang,
)
from latcircle.present.map.workbench import (
    CAUSE_OPACITY,
    RING_OPACITY,
    Workbench,
    WorkbenchParts,
    workbench_parts,
    workbench_payload,
)
from latcircle.present.protection import add_protection_layers
from latcircle.present.style import (
    NO_SHARE_COLOUR,
    STATUS_COLOURS,
    amount,
    band_colours,
    data_attribution,
    escape_text,
)
from latcircle.system import collector_paused

if TYPE_CHECKING:
    from latcircle.run import RunResult

__all__ = [
    "build_map",
    "map_pages",
    "render_map",
    "write_map",
]

WGS84 = "EPSG:4326"

#: Leaflet only: folium's other defaults (jQuery, Bootstrap, Font Awesome, Awesome Markers)
#: serve its own marker and popup classes, which this map does not use. Pinned versions,
#: vendored in latcircle.present.assets (inlined by default).
_LEAFLET_JS = _assets.js_urls(_assets.LEAFLET_JS)
_LEAFLET_CSS = _assets.css_urls(_assets.LEAFLET_CSS)

_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')
#: Folium names elements ``<kind>_<32 hex digits>``; see :func:`render_map`. Searched for
#: from its literal ``_`` (a pattern opening with ``\b[a-z]...`` is tried at every word of
#: the 2 MB page, about 15 times slower); the kind's last character is checked per match.
_ELEMENT_ID = re.compile(r"_([0-9a-f]{32})(?![0-9a-f])")
_NAME_END = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


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
    lang: str | None = None,
    whatif: int = WHATIF_DEFAULT,
    parts: WorkbenchParts | None = None,
) -> folium.Map:
    """Build the city's Folium map.

    Parameters
    ----------
    result
        The run.
    layers
        The run's GeoPackage layers (:func:`latcircle.output.readback.read_layers`); read
        from ``result.out`` when ``None``. A ``plan`` layer (``latcircle plan``) adds the
        plan's builds to the map and to the what-if panel.
    attribution
        Data credits shown on the map; from :func:`latcircle.present.style.data_attribution`
        when ``None``. Tile credit (© OpenStreetMap contributors) is always shown.
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
        ``"rings"`` (default): disjoint bands, each latency range once, redrawn by the year
        slider; ``"cumulative"``: one layer per threshold, nested (the run's year only).
    lang
        ``"en"`` or ``"zh"``: the map's words, and district names from ``name_local``;
        ``None``: ``zh`` when the config has ``name_local``
        (:func:`latcircle.present.map.words.resolve_lang`).
    whatif
        Most builds in the what-if panel (1 to
        :data:`latcircle.analysis.workbench.MAX_WHATIF`): the plan's new sites, then the
        candidates adding most on the judged basis.
    parts
        The workbench's parts of this very run, its ``layers`` and ``whatif``
        (:func:`~latcircle.present.map.workbench.workbench_parts`), made once for several
        pages (:func:`map_pages`); computed here when ``None``.

    Returns
    -------
    folium.Map

    Raises
    ------
    ValueError
        For an unknown ``basemap`` or ``bands``.
    InputError
        For an unknown ``lang`` or a ``whatif`` count out of range.
    """
    layers = dict(layers) if layers is not None else result.gpkg_layers()
    cfg = result.metro.config
    base = _basemap(basemap)
    if bands not in ("rings", "cumulative"):
        msg = f"bands must be 'rings' or 'cumulative', not {bands!r}"
        raise ValueError(msg)
    lang = resolve_lang(lang, cfg)
    check_whatif_count(whatif)
    words = WORDS[lang]
    tol = simplify_m if simplify_m is not None else max(25.0, result.metro.grid.cell_m / 2.0)
    credits = list(attribution) if attribution is not None else data_attribution(cfg)
    display = {"tol": tol, "precision": precision, "datum": base.datum}
    fmap = _base_map(layers["boundary"], base, title=_page_title(result, words, lang), lang=lang)
    parts = parts or workbench_parts(result, layers, whatif=whatif)
    names = _district_names(result, layers, lang)
    drawn = _add_layers(
        fmap,
        result,
        layers,
        parts.states,
        words,
        names,
        rings=bands == "rings",
        heat_cell_m=heat_cell_m,
        display=display,
    )
    payload = workbench_payload(
        result,
        parts.states,
        parts.builds,
        parts.groups,
        words=words,
        district_names=names,
        city=_city_name(result, lang),
        gain_basis=parts.gain_basis,
        display=display,
    )
    payload.update(drawn.pop("payload"))
    root = cast("Figure", fmap.get_root())
    root.html.add_child(DataBlock("lc-data", payload), name="latcircle_data")
    _add_controls(fmap, result, words, credits, drawn, rings=bands == "rings")
    return fmap


def _page_title(result: RunResult, words: Mapping[str, str], lang: str) -> str:
    cfg = result.metro.config
    return words["title"].format(city=_city_name(result, lang), budget=f"{cfg.budget_ms:g}")


def _city_name(result: RunResult, lang: str) -> str:
    cfg = result.metro.config
    if lang == "zh" and cfg.name_local:
        return f"{cfg.name_local} · {cfg.name}"
    return cfg.name + (f" · {cfg.name_local}" if cfg.name_local else "")


def _district_names(
    result: RunResult, layers: Mapping[str, gpd.GeoDataFrame], lang: str
) -> list[str]:
    return metro_district_names(result.metro, lang)


def _add_layers(
    fmap: folium.Map,
    result: RunResult,
    layers: Mapping[str, gpd.GeoDataFrame],
    states: list[YearState],
    words: Mapping[str, str],
    names: list[str],
    *,
    rings: bool,
    heat_cell_m: float,
    display: dict[str, Any],
) -> dict[str, Any]:
    """Add every layer in drawing order; return their page names for the workbench.

    A new layer is one more ``_add_*`` call here and, when the legend explains it, one
    more entry in ``legend`` (its section key and the layers that show it).
    """
    precision, datum = display["precision"], display["datum"]
    ring_names: list[str | None] = []
    if rings:
        ring_names = _add_rings(fmap, states, words)
    else:
        _add_bands(fmap, layers["bands"], words=words, **display)
    causes = FeatureGroup(name=words["layer_causes"], show=True)
    causes.add_to(fmap)
    districts, labels, points = _add_boundary(fmap, layers, result, words, **display)
    heat = add_heat(fmap, result, cell_m=heat_cell_m, precision=precision, datum=datum, words=words)
    clusters = None
    if "clusters" in layers and len(layers["clusters"]):
        clusters = _add_clusters(fmap, layers["clusters"], words=words, **display)
    key_layers: dict[str, Any] = {}
    if "key_sites" in layers:
        key_layers = add_key_sites(
            fmap, layers["key_sites"], precision=precision, datum=datum, words=words
        )
    sites = add_sites(fmap, layers["sites"], result, precision=precision, datum=datum, words=words)
    if "plan" in layers and len(layers["plan"]):
        _add_plan(fmap, layers["plan"], precision=precision, datum=datum, words=words)
    if "leo" in layers and len(layers["leo"]):
        _add_leo(fmap, layers["leo"], **display)
    add_protection_layers(fmap, layers, partial(display_geojson, **display))
    legend = {
        "rings": [n for n in ring_names if n],
        "causes": [causes.get_name()],
        "heat": [heat[0].get_name()] if heat else [],
        "clusters": [clusters.get_name()] if clusters is not None else [],
        "districts": [districts[0]] if districts else [],
        "key_sites": [layer.get_name() for layer in key_layers.values()],
        "sites": [sites.get_name()],
    }
    return {
        "rings": ring_names,
        "causes": causes.get_name(),
        "districts": districts,
        "labels": labels,
        "sites": sites.get_name(),
        "legend": legend,
        "heat": heat[1] if heat else None,
        "clusters": clusters is not None,
        "key_sites": bool(key_layers),
        "payload": {
            "ringOpacity": RING_OPACITY,
            "causeOpacity": CAUSE_OPACITY,
            "labelPoints": points,
        },
    }


def _add_plan(
    fmap: folium.Map,
    plan: gpd.GeoDataFrame,
    *,
    precision: int,
    datum: str,
    words: Mapping[str, str],
) -> None:
    """Draw the planner's builds (``latcircle plan``): sites as circles, fibre spurs as lines."""
    labels = [
        {
            "label": f"<b>{escape_text(r.get('build_id'))}</b> · {escape_text(r.get('kind'))}"
            f"<br>{escape_text(r.get('name'))}<br>by {escape_text(r.get('year'))}, cost "
            f"{float(r.get('cost', np.nan)):,.2f}" + _alternatives_text(r)
        }
        for r in plan.to_dict("records")
    ]
    GeoJson(
        display_geojson(plan, labels, tol=0.0, precision=precision, datum=datum),
        name=escape_text(words["plan_layer"].format(n=len(plan))),
        show=True,
        marker=folium.CircleMarker(radius=7, fill=True, fill_opacity=0.9),
        style_function=lambda f: {"color": "#6a3d9a", "weight": 3, "fillColor": "#cab2d6"},
        tooltip=GeoJsonTooltip(fields=["label"], labels=False),
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
        data = display_geojson(
            leo.loc[[row.Index]], [{"label": label}], tol=tol, precision=precision, datum=datum
        )
        if not data["features"]:
            continue  # no place without access, or none that LEO brings within this tier
        GeoJson(
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
            tooltip=GeoJsonTooltip(fields=["label"], labels=False),
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
        hex_id = match.group(1)
        # An element's id, after its kind (``map_``, ``geo_json_``): renumbered.
        if hex_id not in ids or match.string[match.start() - 1 : match.start()] not in _NAME_END:
            return match.group(0)
        number = numbers.setdefault(hex_id, f"{len(numbers):04d}")
        return f"_{number}"

    page = _ELEMENT_ID.sub(renumber, page)
    # folium's viewport forbids zooming the page (WCAG 1.4.4, axe "meta-viewport").
    page = _VIEWPORT.sub(
        '<meta name="viewport" content="width=device-width, initial-scale=1.0" />', page, count=1
    )
    lang = getattr(root, "lc_lang", None)
    if lang:  # branca writes a bare <html>: the page's language for readers and screen readers
        page = page.replace("<html>", f'<html lang="{lang}">', 1)
    return page


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
    _check_assets(assets)
    folder = Path(folder)
    options["layers"] = _page_layers(result, folder, options.get("layers"))
    page = _page(result, assets, options)
    path = folder / "map.html"
    path.write_text(page, encoding="utf-8")
    return path


def map_pages(
    result: RunResult,
    folder: str | Path,
    pages: Mapping[str, Mapping[str, Any]],
    *,
    assets: AssetMode = "inline",
    whatif: int = WHATIF_DEFAULT,
) -> dict[str, str]:
    """Return several pages of one run's map (base maps, languages), as text.

    Each is the very text :func:`write_map` writes with its options; the workbench's parts
    (the slider's years, the what-if builds and groups), which no display option changes,
    are computed once for all: about 2.5 s of a demo page's 3.2 s of CPU (2026-12-07).

    Parameters
    ----------
    result, folder, assets
        As for :func:`write_map` (``folder``: where the run's layers and plan are).
    pages
        Page name to keyword options of :func:`build_map` but ``layers``, ``whatif`` and
        ``parts`` (shared by every page).
    whatif
        Most builds in the what-if panel, on every page.

    Returns
    -------
    dict
        Page name to its HTML.
    """
    _check_assets(assets)
    if any({"layers", "whatif", "parts"} & set(options) for options in pages.values()):
        msg = "layers, whatif and parts are shared by every page, not options of one"
        raise ValueError(msg)
    layers = _page_layers(result, Path(folder), None)
    check_whatif_count(whatif)
    parts = workbench_parts(result, layers, whatif=whatif)
    common = {"layers": layers, "whatif": whatif, "parts": parts}
    with collector_paused():  # as the map step (map_writer)
        return {
            name: _page(result, assets, {**options, **common}) for name, options in pages.items()
        }


def _page_layers(
    result: RunResult, folder: Path, layers: Mapping[str, gpd.GeoDataFrame] | None
) -> Mapping[str, gpd.GeoDataFrame]:
    """Return the map's layers, with the folder's plan and LEO tiers.

    Given, else the run's in memory when it carries its clusters (run_city, Metro.write),
    else the folder's GeoPackage, which the progress step completed.
    """
    if layers is None:
        kept = result.layers is not None and result.shortfall is not None
        layers = result.gpkg_layers() if kept else read_layers(folder)
    plan = folder / "plan" / "plan.gpkg"  # written by `latcircle plan`, kept across runs
    if plan.exists() and "plan" not in layers:
        layers = {**layers, "plan": gpd.read_file(plan, layer="plan")}
    tiers = folder / "tiers.gpkg"  # written before the map when the config has `tiers:`
    if tiers.exists() and "leo" not in layers:
        layers = {**layers, "leo": gpd.read_file(tiers, layer="leo")}
    return layers


def _check_assets(assets: str) -> None:
    """Refuse an asset mode other than ``inline`` or ``cdn`` (before any work)."""
    if assets not in ("inline", "cdn"):
        msg = f"assets must be 'inline' or 'cdn', not {assets!r}"
        raise ValueError(msg)


def _page(result: RunResult, assets: AssetMode, options: Mapping[str, Any]) -> str:
    page = render_map(build_map(result, **options))
    return inline_assets(page) if assets == "inline" else page


# --- the base map ------------------------------------------------------------------------


def _base_map(
    boundary: gpd.GeoDataFrame, base: Basemap, *, title: str = "", lang: str = "en"
) -> folium.Map:
    west, south, east, north = boundary.to_crs(WGS84).total_bounds
    (west, east), (south, north) = to_display([west, east], [south, north], datum=base.datum)
    fmap = Map(
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
    _add_tiles(fmap, base, WORDS[lang]["tiles_unavailable"])
    fmap.fit_bounds([[float(south), float(west)], [float(north), float(east)]])
    root = cast("Figure", fmap.get_root())  # a Map's root is always the page (a Figure)
    root.title = escape_text(title) or None  # branca writes it into <title> as is
    root.lc_lang = LANGS[lang]  # type: ignore[attr-defined]  # <html lang>: render_map
    # Fixed text without template syntax: branca's Element would compile it to print it.
    root.header.add_child(rendered_text(PAGE_STYLE), name="latcircle_style")
    root.header.add_child(rendered_text(OFFLINE_NOTICE), name="latcircle_offline")
    root.header.add_child(RawScript(WORKBENCH_JS), name="latcircle_workbench")
    return fmap


def _add_tiles(fmap: folium.Map, base: Basemap, notice: str) -> None:
    """Add the base map's tiles (a grey copy first when offered), or none at all."""
    if base.url is None:
        return
    # A grey base keeps the coloured bands readable; the same tiles in colour stay one
    # click away. (CARTO's light tiles now need an API key, so OSM serves both.)
    variants = [(f"{base.label} (grey)", "lc-grey", True)] if base.grey else []
    variants.append((base.label, "", not base.grey))
    for name, css, show in variants:
        extra: dict[str, Any] = {"className": css} if css else {}
        TileLayer(
            base.url,
            attr=escape_text(base.attribution),
            name=name,
            subdomains=base.subdomains,
            max_zoom=base.max_zoom,
            show=show,
            **extra,
        ).add_to(fmap)
    fmap.add_child(TileNotice(notice))


# --- polygons ----------------------------------------------------------------------------


def _add_bands(
    fmap: folium.Map,
    bands: gpd.GeoDataFrame,
    *,
    tol: float,
    precision: int,
    datum: str,
    words: Mapping[str, str],
) -> None:
    bands = bands.sort_values("threshold_ms", ascending=False)
    colours = band_colours(sorted(bands["threshold_ms"]))
    # Cumulative bands, widest first, so each tighter band is drawn on top of the wider one.
    for _, row in bands.iterrows():
        thr = float(row["threshold_ms"])
        label = words["ring"].format(upper=f"{thr:g}")
        data = display_geojson(
            bands.loc[[row.name]],
            [{"label": escape_text(label)}],
            tol=tol,
            precision=precision,
            datum=datum,
        )
        if not data["features"]:
            continue  # an empty band (no site online, or none within it): nothing to draw
        colour = colours[thr]
        GeoJson(
            data,
            name=escape_text(label),
            control=True,
            overlay=True,
            style_function=lambda _f, c=colour: {
                "fillColor": c,
                "color": c,
                "weight": 0.5,
                "fillOpacity": 0.35,
            },
            tooltip=GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(fmap)


def _add_rings(
    fmap: folium.Map, states: list[YearState], words: Mapping[str, str]
) -> list[str | None]:
    """One layer per ring that has area in some year of the slider (the workbench fills it).

    Disjoint bands: each place once, in the colour of the tightest band it lies in. A ring
    empty in every year (no site online, or no place that close) gets no layer.
    """
    thresholds = sorted(states[0].rings["threshold_ms"]) if states else []
    # Each ring's area in each distinct year (years sharing their sites share one frame).
    areas = [_ring_areas(rings) for rings in {id(st.rings): st.rings for st in states}.values()]
    names: list[str | None] = []
    lower: float | None = None
    for t in thresholds:
        area = max(a[t] for a in areas)
        if lower is None:
            label = words["ring"].format(upper=f"{t:g}")
        else:
            label = words["ring_between"].format(lower=f"{lower:g}", upper=f"{t:g}")
        lower = t
        if area <= 0:
            names.append(None)
            continue
        group = FeatureGroup(name=escape_text(label), show=True)
        group.add_to(fmap)
        names.append(group.get_name())
    return names


def _ring_areas(rings: gpd.GeoDataFrame) -> dict[float, float]:
    """``{threshold_ms: area_km2}`` of the first row of each threshold (a frame's ``.loc``)."""
    out: dict[float, float] = {}
    for t, area in zip(rings["threshold_ms"], rings["area_km2"], strict=True):
        out.setdefault(t, float(area))
    return out


def _add_boundary(
    fmap: folium.Map,
    layers: Mapping[str, gpd.GeoDataFrame],
    result: RunResult,
    words: Mapping[str, str],
    *,
    tol: float,
    precision: int,
    datum: str,
) -> tuple[list[str], str | None, list[list[float]]]:
    """Districts (filled by share, and outlined), their labels, the metro boundary.

    Shares, fills, tooltips and labels are the workbench's (they follow the year and the
    what-if builds): the features carry only their district index ``i``.

    Returns
    -------
    list of str, str or None, list
        The district layers' page names (the filled one first), the labels' layer, and
        each district's label position ``[lat, lon]``.
    """
    cfg = result.metro.config
    names: list[str] = []
    labels = None
    points: list[list[float]] = []
    districts = layers.get("districts")
    if districts is not None and len(districts):
        # Features carry the district's index in the run (its samples' district ids).
        index = {str(n): i for i, n in enumerate(result.metro.district_names)}
        order = [index.get(str(n), -1) for n in districts["name"]]
        props = [{"i": i} for i in order]
        data = display_geojson(districts, props, tol=tol, precision=precision, datum=datum)
        basis = next((b for b, v in result.headline.items() if not np.isnan(v)), None)
        what = words["key_sites_basis" if basis == "key_sites" else (basis or "area")]
        filled = GeoJson(
            data,
            name=escape_text(words["districts"].format(basis=what, budget=f"{cfg.budget_ms:g}")),
            show=False,
            style_function=lambda _f: {
                "fillColor": NO_SHARE_COLOUR,
                "fillOpacity": 0.65,
                "color": "#525252",
                "weight": 1,
            },
        )
        filled.add_to(fmap)
        outline = GeoJson(
            data,
            name=escape_text(words["layer_districts"]),
            style_function=lambda _f: {
                "color": "#525252",
                "weight": 1.2,
                "fill": True,
                "fillOpacity": 0.0,
                "dashArray": "4 3",
            },
            highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.08},
        )
        outline.add_to(fmap)
        names = [filled.get_name(), outline.get_name()]
        pts = gpd.GeoSeries(
            shapely.point_on_surface(districts.geometry.to_numpy()), crs=districts.crs
        ).to_crs(WGS84)
        lon, lat = to_display(pts.x.to_numpy(), pts.y.to_numpy(), datum=datum)  # type: ignore[arg-type]
        points = [[0.0, 0.0] for _ in result.metro.district_names]
        for i, a, b in zip(order, lon, lat, strict=True):
            if i >= 0:
                points[i] = [round(float(b), precision), round(float(a), precision)]
        group = FeatureGroup(name=escape_text(words["layer_labels"]), show=True)
        group.add_to(fmap)
        labels = group.get_name()
    data = display_geojson(
        layers["boundary"],
        [{"label": escape_text(_city_name(result, words["lang_code"]))}],
        tol=tol,
        precision=precision,
        datum=datum,
    )
    GeoJson(
        data,
        name=escape_text(words["layer_boundary"]),
        style_function=lambda _f: {"color": "#000000", "weight": 2.5, "fill": False},
        tooltip=GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(fmap)
    return names, labels, points


def _add_clusters(
    fmap: folium.Map,
    clusters: gpd.GeoDataFrame,
    *,
    tol: float,
    precision: int,
    datum: str,
    words: Mapping[str, str],
) -> folium.GeoJson:
    """Outline the largest uncovered clusters (from the progress step), by cause."""
    labels = []
    for r in clusters.to_dict("records"):
        cause = str(r.get("cause", ""))
        parts = [
            f"<b>{escape_text(words.get(cause, cause))}</b> · #{escape_text(r.get('rank'))}",
            f"{amount(r.get('area_km2'), 'km2', words=False, missing='nan')} {words['km2']}",
        ]
        for key, unit, word in (
            ("people", "people", words["population"]),
            ("key_sites", "sites", words["key_weight"]),
        ):
            value = r.get(key)
            if value is not None and not pd.isna(value):
                parts.append(f"{escape_text(word)} {amount(value, unit, words=False)}")
        if r.get("district"):
            parts.append(escape_text(r["district"]))
        labels.append({"label": "<br>".join(parts), "cause": escape_text(cause)})
    data = display_geojson(clusters, labels, tol=tol, precision=precision, datum=datum)
    layer = GeoJson(
        data,
        name=escape_text(words["layer_clusters"]),
        show=False,
        style_function=lambda f: {
            "color": STATUS_COLOURS.get(f["properties"]["cause"], "#000000"),
            "weight": 2,
            "fillOpacity": 0.1,
        },
        tooltip=GeoJsonTooltip(fields=["label"], labels=False),
    )
    layer.add_to(fmap)
    return layer


# --- legend, headline, tools ----------------------------------------------------------------


def _add_controls(
    fmap: folium.Map,
    result: RunResult,
    words: Mapping[str, str],
    credits: list[str],
    drawn: Mapping[str, Any],
    *,
    rings: bool,
) -> None:
    LayerControl(collapsed=True, position="topright").add_to(fmap)
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
    cfg = result.metro.config
    # Bottom left, under popups' usual place: a popup opened near the top is not hidden.
    # The workbench writes the headline into it (it follows the year and the what-if).
    fmap.add_child(HtmlControl("", position="bottomleft", css_class="lc-title-box"))
    basis = next((b for b, v in result.headline.items() if not np.isnan(v)), None)
    legend = legend_html(
        words=words,
        thresholds=cfg.thresholds_ms,
        rings=rings,
        ring_opacity=RING_OPACITY if rings else 0.35,
        cause_opacity=CAUSE_OPACITY,
        budget=f"{cfg.budget_ms:g}",
        district_basis=basis if drawn["districts"] else None,
        heat=drawn["heat"],
        clusters=drawn["clusters"],
        key_sites=drawn["key_sites"],
    )
    fmap.add_child(HtmlControl(legend, position="bottomright", css_class="lc-legend"))
    fmap.add_child(Attribution([escape_text(c) for c in credits]))
    fmap.add_child(
        Workbench(
            rings=drawn["rings"],
            causes=drawn["causes"],
            districts=drawn["districts"],
            labels=drawn["labels"],
            sites=drawn["sites"],
            legend=drawn["legend"],
        )
    )
