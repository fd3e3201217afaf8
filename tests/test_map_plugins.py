"""The map's own copies of folium's four plugins and its literal script pass, against folium.

latcircle.present.map.plugins re-creates folium's ``Fullscreen``, ``MeasureControl``,
``HeatMap`` and ``FastMarkerCluster`` (so a run does not import ``folium.plugins``), and
:class:`~latcircle.present.map.elements.LiteralScripts` skips branca's second template pass
over text without template syntax. The reference here is folium and branca themselves: each
copy, rendered on the same map, must write the same page, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import folium
import pytest
from branca.element import Element
from folium import plugins as folium_plugins
from hypothesis import given, settings
from hypothesis import strategies as st

from latcircle.present.map import elements, plugins
from latcircle.present.map.elements import GeoJson, rendered_text

#: Rows as heat.py and points.py build them: rounded floats, then a weight or fields.
ROWS = [[30.59276, 114.30525, 0.5], [30.6, 114.2, 1.0], [-0.00001, 0.0, 0.01]]
CALLBACK = "function (row) { return L.marker([row[0], row[1]]); }"
ICON = "function (cluster) { return L.divIcon({html: '<b>' + cluster.getChildCount() + '</b>'}); }"


def _page(add: Callable[[folium.Map], Any]) -> str:
    """Render a small map holding what ``add`` puts on it, element ids numbered in order."""
    fmap = folium.Map(location=[30.6, 114.3], tiles=None, zoom_start=10)
    add(fmap)
    return _numbered(fmap.get_root().render())


def _numbered(page: str) -> str:
    """``page`` with folium's random element ids numbered in order of appearance."""
    ids: dict[str, str] = {}
    return re.sub(
        r"_([0-9a-f]{32})(?![0-9a-f])",
        lambda m: "_" + ids.setdefault(m.group(1), f"{len(ids):04d}"),
        page,
    )


def _both(build: Callable[[Any], Any]) -> tuple[str, str]:
    """The page with folium's plugins, and with latcircle's (``build(module)`` makes one).

    Both load the same (pinned) files, as the map sets them on each element it adds.
    """

    def add(module: Any) -> Callable[[folium.Map], Any]:
        def to(fmap: folium.Map) -> None:
            element = build(module)
            element.default_js = [("plugin.js", "https://cdn.example/plugin@1/plugin.js")]
            element.default_css = [("plugin.css", "https://cdn.example/plugin@1/plugin.css")]
            element.add_to(fmap)

        return to

    return _page(add(folium_plugins)), _page(add(plugins))


def test_fullscreen_and_measure_are_folium_s() -> None:
    theirs, ours = _both(lambda m: m.Fullscreen(position="topleft"))
    assert ours == theirs and "L.control.fullscreen(" in ours
    theirs, ours = _both(
        lambda m: m.MeasureControl(
            position="topleft",
            primary_length_unit="kilometers",
            secondary_length_unit="meters",
            primary_area_unit="sqkilometers",
            secondary_area_unit=None,
        )
    )
    assert ours == theirs and "L.Control.Measure(" in ours and "sqkilometers" in ours


def test_heat_map_is_folium_s() -> None:
    def build(m: Any) -> Any:
        return m.HeatMap(
            ROWS,
            name="Uncovered &lt;people&gt;",
            show=True,
            radius=14,
            blur=12,
            min_opacity=0.05,
            max_zoom=13,
            gradient={0.4: "#fee391", 1.0: "#8c2d04"},
        )

    theirs, ours = _both(build)
    assert ours == theirs and "L.heatLayer(" in ours and "30.59276" in ours


def test_fast_marker_cluster_is_folium_s() -> None:
    def build(m: Any) -> Any:
        return m.FastMarkerCluster(
            [[*r[:2], "a &lt;b&gt;", 3] for r in ROWS],
            name="Key sites",
            callback=CALLBACK,
            icon_create_function=ICON,
            show=True,
            maxClusterRadius=40,
            disableClusteringAtZoom=15,
        )

    theirs, ours = _both(build)
    assert ours == theirs and "L.markerClusterGroup(" in ours and "maxClusterRadius" in ours


def test_geojson_is_folium_s() -> None:
    data = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"label": "a &lt;b&gt;"},
                "geometry": {"type": "Point", "coordinates": [114.3, 30.6]},
            }
        ],
    }

    def build(kind: type[folium.GeoJson]) -> Callable[[folium.Map], Any]:
        return lambda fmap: kind(
            data,
            name="Sites",
            style_function=lambda _f: {"color": "#111111"},
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(fmap)

    assert _page(build(GeoJson)) == _page(build(folium.GeoJson))


def _whole_page(kinds: Any) -> str:
    """A page of folium's base elements, from ``kinds`` (the folium module or elements)."""
    fmap = kinds.Map(location=[30.6, 114.3], tiles=None, zoom_start=10, control_scale=True)
    kinds.TileLayer(
        "https://t.example/{z}/{x}/{y}.png", attr="© tiles", name="Grey", className="lc-grey"
    ).add_to(fmap)
    kinds.TileLayer("https://t.example/{z}/{x}/{y}.png", attr="©", name="Plain", show=False).add_to(
        fmap
    )
    kinds.FeatureGroup(name="Shown", show=True).add_to(fmap)
    kinds.FeatureGroup(name="Hidden {{ 1 }}", show=False).add_to(fmap)  # template syntax
    point = {"type": "Point", "coordinates": [114.3, 30.6]}
    kinds.GeoJson(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {"label": "a"}, "geometry": point}],
        },
        name="Point",
        tooltip=kinds.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(fmap)
    fmap.fit_bounds([[30.5, 114.2], [30.7, 114.4]])  # a FitBounds child of the map
    kinds.LayerControl(collapsed=True, position="topright").add_to(fmap)
    return _numbered(fmap.get_root().render())


def test_map_layers_and_controls_are_folium_s() -> None:
    """Map, tiles, groups, tooltip, bounds and layer control: folium's page, byte for byte."""
    ours, theirs = _whole_page(elements), _whole_page(folium)
    assert ours == theirs
    assert "L.control.layers(" in ours and "fitBounds(" in ours and "Hidden" in ours


def test_plugins_refuse_nan_locations() -> None:
    with pytest.raises(ValueError, match="NaN"):
        plugins.HeatMap([[float("nan"), 114.3, 1.0]])
    with pytest.raises(ValueError, match="NaN"):
        plugins.FastMarkerCluster([[30.6, float("nan")]], callback=CALLBACK)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        "\n\n",
        "var a = 1;\n",
        "var a = 1;\n\n",
        "  x\n  y  ",
        "{ a: {b: 1} }",  # braces without Jinja syntax
        "{{ 1 + 1 }}",  # Jinja syntax: branca's pass prints 2
        "{% if true %}yes{% endif %}\n",
        "a {# comment #} b",
        "line\r\nend\r\n",  # carriage returns: Jinja normalises the newlines
        "x\ry",
        "} }} {",
    ],
)
def test_rendered_text_is_branca_s(text: str) -> None:
    assert rendered_text(text).render() == Element(text).render()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab {}%#\n\r\t-+'\"")), max_size=40))
def test_rendered_text_is_branca_s_for_any_text(text: str) -> None:
    try:
        expected = Element(text).render()
    except Exception as error:  # not a valid template: the same error here
        with pytest.raises(type(error)):
            rendered_text(text).render()
        return
    assert rendered_text(text).render() == expected


@pytest.mark.parametrize("enabled", [True, False])
def test_map_step_pauses_the_collector_and_restores_it(
    enabled: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The map step draws with the collector off, and leaves it as it was, on an error too."""
    import gc

    from latcircle.present import maps

    seen: list[bool] = []

    def write_map(*_a: object, **_k: object) -> Path:
        seen.append(gc.isenabled())
        raise RuntimeError  # restored on an error too

    monkeypatch.setattr(maps, "write_map", write_map)
    from latcircle.present.map.step import map_writer

    step = map_writer()
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with pytest.raises(RuntimeError):
            step(None, tmp_path)
        assert seen == [False]
        assert gc.isenabled() == enabled
    finally:
        (gc.enable if was else gc.disable)()
