"""Building blocks of the city map: templates, controls and point layers (no data logic).

Every element's script receives data only through ``tojson`` (:func:`script_json`), and
:class:`DataBlock` writes the page's data as JSON text in a ``<script type="application/json">``
that no template pass reads: data never becomes markup or code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Environment, Template

from latcircle.present.basemaps import geometries_to_display
from latcircle.present.map.jsontext import geometry_json
from latcircle.present.style import script_json, script_json_text

__all__ = [
    "OFFLINE_NOTICE",
    "PAGE_STYLE",
    "Attribution",
    "DataBlock",
    "FeatureGroup",
    "GeoJson",
    "GeoJsonTooltip",
    "HtmlControl",
    "JsonText",
    "LabelsLayer",
    "LayerControl",
    "LiteralScripts",
    "Map",
    "PointsLayer",
    "RawScript",
    "TileLayer",
    "TileNotice",
    "display_features",
    "display_geojson",
    "display_shapes",
    "display_texts",
    "rendered_text",
    "svg",
]

WGS84 = "EPSG:4326"


class ScriptEnvironment(Environment):
    """folium's template environment, with ``tojson`` as :func:`script_json`.

    branca renders each element's script a second time as template source: data placed
    with this ``tojson`` carries no ``{``/``}`` that the second pass could read as syntax.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["tojson"] = script_json


class ElementTemplate(Template):
    """The template of every element latcircle adds to a map (see ScriptEnvironment)."""

    environment_class = ScriptEnvironment


#: What starts Jinja syntax (the default delimiters, which branca's templates use).
_TEMPLATE_SYNTAX = ("{{", "{%", "{#")


class _Text(Element):
    """Text rendered as it is (what a template pass over text without syntax gives)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """Return the text."""
        return self.text


def rendered_text(text: str) -> Element:
    """Return an element rendering to what ``branca.element.Element(text)`` renders to.

    branca wraps each rendered macro of a ``MacroElement`` in ``Element(text)``: the text is
    compiled as a Jinja template (lexed, parsed, compiled to Python; about 1 MB of layers on
    Wuhan) only to print itself. Text without Jinja syntax or a carriage return renders to
    itself less one trailing newline (Jinja drops it; ``keep_trailing_newline`` is off), so
    that is returned without the pass. Any other text takes branca's pass, as before.
    """
    if "\r" in text or any(mark in text for mark in _TEMPLATE_SYNTAX):
        return Element(text)
    return _Text(text.removesuffix("\n"))


class LiteralScripts(MacroElement):
    """``MacroElement`` whose rendered macros skip branca's second template pass when they can.

    Its ``render`` is branca's ``MacroElement.render`` with :func:`rendered_text` in place of
    ``Element``: the page is the same, byte for byte (tests/test_map_plugins.py). Put it
    after a folium class in the bases (``class X(folium.GeoJson, LiteralScripts)``) so the
    folium class's own ``render`` runs first and hands over here. Children that render as a
    plain ``MacroElement`` (folium's ``ElementAddToElement`` of a shown layer, ``FitBounds``)
    take the same pass; others render themselves.
    """

    # As branca's MacroElement.render (untyped there): it returns nothing, its parts go into
    # the page's header, html and script.
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Render the element's macros into the page, then its children."""
        _render_literally(self, kwargs)


def _render_literally(element: MacroElement, kwargs: dict[str, Any]) -> None:
    """Render ``element`` as branca's ``MacroElement.render`` does, with :func:`rendered_text`."""
    figure = element.get_root()
    if not isinstance(figure, Figure):
        msg = "You cannot render this Element if it is not in a Figure."
        raise TypeError(msg)
    macros = element._template.module.__dict__
    for part in ("header", "html", "script"):
        macro = macros.get(part)
        if macro is not None:
            target = getattr(figure, part)
            target.add_child(rendered_text(macro(element, kwargs)), name=element.get_name())
    for child in element._children.values():
        # A MacroElement without a render of its own: the same pass.
        if isinstance(child, MacroElement) and type(child).render is MacroElement.render:
            _render_literally(child, kwargs)
        else:
            child.render(**kwargs)


class GeoJson(folium.GeoJson, LiteralScripts):
    """``folium.GeoJson`` rendering its script without the second template pass.

    The layers' data is most of the page; see :class:`LiteralScripts`.
    """


class Map(folium.Map, LiteralScripts):
    """``folium.Map`` rendering its scripts without the second template pass."""


class FeatureGroup(folium.FeatureGroup, LiteralScripts):
    """``folium.FeatureGroup`` rendering its scripts without the second template pass."""


class TileLayer(folium.TileLayer, LiteralScripts):
    """``folium.TileLayer`` rendering its scripts without the second template pass."""


class LayerControl(folium.LayerControl, LiteralScripts):
    """``folium.LayerControl`` rendering its script without the second template pass."""


class GeoJsonTooltip(folium.GeoJsonTooltip, LiteralScripts):
    """``folium.GeoJsonTooltip`` rendering its script without the second template pass."""


class TileNotice(LiteralScripts):
    """Says so, once, when base-map tiles fail to load (offline, or the host is blocked).

    The vector layers draw regardless, over the map's plain background.
    """

    _template = ElementTemplate("""
        {% macro script(this, kwargs) %}
        (function (map) {
            var shown = false;
            function notice() {
                if (shown) { return; }
                shown = true;
                var control = L.control({position: "bottomleft"});
                control.onAdd = function () {
                    var div = L.DomUtil.create("div", "lc-box lc-tile-notice");
                    div.textContent = {{ this.text|tojson }};
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

    def __init__(
        self,
        text: str = "Base-map tiles unavailable (offline or blocked): layers drawn over a "
        "plain background.",
    ) -> None:
        super().__init__()
        self._name = "TileNotice"
        self.text = text


PAGE_STYLE = """<style>
.lc-box {background: rgba(255,255,255,0.95); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.35); font: 12px/1.35 system-ui, "Noto Sans CJK SC",
  sans-serif; color: #222;}
.lc-box h4, .lc-h2 {margin: 4px 0 3px; font-size: 13px; font-weight: 600;}
.lc-h {margin: 0 0 3px; font-size: 15px; font-weight: 700;}
.lc-title-box {max-width: 360px;}
.lc-legend {max-width: 270px;}
.lc-legend-body {max-height: calc(100vh - 150px); overflow-y: auto;}
.lc-legend .lc-row {display: flex; align-items: center; gap: 6px; margin: 1px 0;}
.lc-sec[hidden], .lc-panel-body[hidden], .lc-legend-body[hidden] {display: none;}
.lc-fold {font: 600 12px system-ui, sans-serif; background: #fff; color: #222;
  border: 1px solid #767676; border-radius: 3px; padding: 2px 6px; cursor: pointer;}
.lc-panel {max-width: 300px;}
.lc-panel-body {max-height: calc(100vh - 380px); overflow-y: auto; overflow-x: hidden;
  margin-top: 4px;}
.lc-years label {font-weight: 600; display: block;}
.lc-years input {width: 100%;}
.lc-whatif {border: 1px solid #bbb; margin: 4px 0 0; padding: 3px 6px;}
.lc-whatif legend {font-weight: 600; padding: 0 3px;}
.lc-build {margin: 3px 0;}
.lc-note {font-size: 11px; color: #444; overflow-wrap: anywhere;}
.lc-shares .lc-share {font-weight: 700;}
.lc-swatch {display: inline-block; flex: none; width: 14px; height: 12px; border: 1px solid #555;}
.lc-dot {display: inline-block; width: 10px; height: 10px; border-radius: 50%;
  border: 1px solid #fff; box-shadow: 0 0 0 1px #444;}
.lc-warning {margin-top: 4px; background: #fff3cd; border: 1px solid #d39e00; color: #5c4300;
  font-weight: 600;}
.lc-popup table {border-collapse: collapse;} .lc-popup th {text-align: left; padding-right: 8px;}
.lc-grey {filter: grayscale(1) brightness(1.04) contrast(0.92);}
.lc-site-icon, .lc-key-icon, .lc-label {background: none; border: none;}
.lc-site-icon svg {filter: drop-shadow(0 0 1.5px #fff) drop-shadow(0 0 2px rgba(0,0,0,0.8));}
.lc-label div {font: 600 11px/1.2 system-ui, "Noto Sans CJK SC", sans-serif; color: #111;
  white-space: nowrap; transform: translate(-50%, -50%); display: inline-block;
  pointer-events: none; background: rgba(255,255,255,0.6); border-radius: 3px; padding: 0 2px;
  text-shadow: -1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff,
  0 0 3px #fff;}
.lc-scale {width: 150px; height: 10px; border: 1px solid #555;}
.lc-ticks {display: flex; justify-content: space-between; width: 152px; font-size: 11px;}
.lc-tile-notice {max-width: 260px; font-size: 11px;}
.lc-cluster {border-radius: 50%; color: #fff; font: 600 12px/30px system-ui, sans-serif;
  text-align: center; width: 30px; height: 30px; box-shadow: 0 0 0 3px rgba(255,255,255,0.7);
  text-shadow: 0 0 2px #000, 0 0 2px #000;}
</style>"""

#: Folium maps load Leaflet from CDNs; without them the page would stay blank, so say why.
OFFLINE_NOTICE = """<script>
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


def display_geojson(
    gdf: gpd.GeoDataFrame,
    properties: list[dict[str, Any]],
    *,
    tol: float,
    precision: int,
    datum: str = "wgs84",
) -> dict[str, Any]:
    """Simplify in the local CRS, reproject to WGS84 (and the base map's datum), round."""
    return display_features(
        gdf.geometry.to_numpy(), gdf.crs, properties, tol=tol, precision=precision, datum=datum
    )


def display_features(
    geometries: np.ndarray,
    crs: Any,
    properties: list[dict[str, Any]],
    *,
    tol: float,
    precision: int,
    datum: str = "wgs84",
) -> dict[str, Any]:
    """:func:`display_geojson` of an array of geometries in ``crs`` (no frame needed)."""
    shapes = display_shapes(geometries, crs, tol=tol, precision=precision, datum=datum)
    features = [
        {"type": "Feature", "properties": props, "geometry": shape}
        for shape, props in zip(shapes, properties, strict=True)
        if shape is not None
    ]
    return {"type": "FeatureCollection", "features": features}


def display_shapes(
    geometries: np.ndarray, crs: Any, *, tol: float, precision: int, datum: str = "wgs84"
) -> list[dict[str, Any] | None]:
    """Each geometry as :func:`display_features` draws it (GeoJSON), ``None`` when empty.

    Every step works geometry by geometry, so one call over many geometries gives what one
    call each gives.
    """
    geoms = _display_geometries(geometries, crs, tol=tol, precision=precision, datum=datum)
    return [None if g is None or g.is_empty else json.loads(shapely.to_geojson(g)) for g in geoms]


def display_texts(
    geometries: np.ndarray, crs: Any, *, tol: float, precision: int, datum: str = "wgs84"
) -> list[str | None]:
    """:func:`display_shapes` as JSON text (``json.dumps(shape, sort_keys=True)``).

    Written from the coordinate arrays (:func:`~latcircle.present.map.jsontext.geometry_json`)
    for a :class:`DataBlock`'s :class:`JsonText`: no list of floats is made.
    """
    geoms = _display_geometries(geometries, crs, tol=tol, precision=precision, datum=datum)
    return [None if g is None or g.is_empty else geometry_json(g, precision) for g in geoms]


def _display_geometries(
    geometries: np.ndarray, crs: Any, *, tol: float, precision: int, datum: str
) -> np.ndarray:
    """Simplified in ``crs``, in WGS84 (and the base map's datum), rounded to ``precision``."""
    geoms = shapely.simplify(geometries, tol, preserve_topology=True)
    geoms = gpd.GeoSeries(geoms, crs=crs).to_crs(WGS84).to_numpy()
    geoms = geometries_to_display(geoms, datum=datum)  # type: ignore[arg-type]
    return shapely.transform(geoms, lambda xy: np.round(xy, precision))


class LabelsLayer(LiteralScripts):
    """Text labels from ``[lat, lon, text]`` rows; the text is set with ``textContent``."""

    _template = ElementTemplate("""
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


def svg(shape: str, *, fill: str, stroke: str, size: int) -> str:
    """Return an inline SVG icon of a fixed shape (square, circle, triangle, diamond)."""
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


class PointsLayer(LiteralScripts):
    """Markers from ``[lat, lon, icon SVG, popup HTML, online year, escaped name]`` rows.

    The rows arrive as JSON; the icon SVG is built here from fixed shapes and the popup
    from escaped text, so no data can become markup or script.
    """

    _template = ElementTemplate("""
        {% macro script(this, kwargs) %}
        (function () {
            var rows = {{ this.rows|tojson }};
            rows.forEach(function (r) {
                var icon = L.divIcon({className: "lc-site-icon", html: r[2],
                    iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -10]});
                var marker = L.marker([r[0], r[1]], {icon: icon, zIndexOffset: 1000,
                                                     title: lcText(r[5])})
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


class HtmlControl(LiteralScripts):
    """A Leaflet control holding fixed HTML (built from escaped text), e.g. the legend.

    A control lives inside the map container, so it stays visible in fullscreen mode.
    """

    _template = ElementTemplate("""
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


class Attribution(LiteralScripts):
    """Data credits appended to Leaflet's attribution control (escaped text)."""

    _template = ElementTemplate("""
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


class DataBlock(Element):
    """The page's data as ``<script type="application/json" id=...>``, rendered as is.

    The text is JSON with ``<``, ``>``, ``&`` escaped (:func:`script_json`): it cannot close
    the script element, and it is never template source (``render`` returns it directly).
    """

    def __init__(self, element_id: str, value: object) -> None:
        super().__init__()
        self._name = "DataBlock"
        self.element_id = element_id
        self.text = _document_json(value)

    def render(self, **kwargs: Any) -> str:
        """Return the script element (no template pass)."""
        return f'<script type="application/json" id="{self.element_id}">{self.text}</script>'


@dataclass(frozen=True)
class JsonText:
    """A value of a :class:`DataBlock`'s document given as its JSON text (``json.dumps``').

    E.g. the slider's drawings, written from their coordinate arrays
    (:mod:`latcircle.present.map.jsontext`); the block writes the text in the value's place.
    """

    text: str


def _document_json(value: object) -> str:
    """:func:`script_json` of ``value``, a top-level :class:`JsonText` written as its text.

    ``json.dumps`` writes a dict of text keys with sorted keys as ``{"key": value, ...}``,
    each value as it writes it alone: the same text, assembled here.
    """
    if not isinstance(value, dict) or not any(isinstance(v, JsonText) for v in value.values()):
        return script_json(value)
    if not all(isinstance(k, str) for k in value):
        msg = "a document with JSON text parts has text keys only"
        raise TypeError(msg)
    parts = [
        json.dumps(k)
        + ": "
        + (v.text if isinstance(v, JsonText) else json.dumps(v, sort_keys=True, allow_nan=True))
        for k, v in sorted(value.items(), key=lambda kv: kv[0])
    ]
    return script_json_text("{" + ", ".join(parts) + "}")


class RawScript(Element):
    """Fixed page code (no data) added to the page as is, never read as template source."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "RawScript"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """Return the code unchanged."""
        return self.text
