"""The map's tile layers set what folium sets (its class, rendering without the second pass).

The reference is ``folium.TileLayer`` itself, on every base map's URL template and option
set the map uses, and on a provider name. (Round 15 had copied folium's URL branch to skip
its provider look-up, ~2.3 ms a layer; the copy of folium's internals was dropped in review.)
"""

from __future__ import annotations

import folium
import pytest
import xyzservices

from latcircle.present.basemaps import BASEMAPS
from latcircle.present.map.elements import TileLayer

URLS = [b.url for b in BASEMAPS.values() if b.url is not None]


def _state(layer: folium.TileLayer) -> tuple:
    return (
        layer.tile_name,
        layer.layer_name,
        layer.tiles,
        list(layer.options.items()),  # in order: the page writes them so
        layer.overlay,
        layer.control,
        layer.show,
        layer._name,
    )


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(
    "options",
    [
        {"attr": "© someone", "name": "Base (grey)", "subdomains": "123", "max_zoom": 18},
        {"attr": "©", "name": "Plain", "show": False, "className": "lc-grey", "max_zoom": 20},
        {"attr": "©", "min_zoom": 3, "max_native_zoom": 12, "opacity": 0.5, "tms": True},
        {"attr": "© <b>x</b>"},  # no name: made from the URL
    ],
)
def test_a_url_layer_is_folium_s(url: str, options: dict) -> None:
    with pytest.raises(ValueError):  # a URL, not a provider's name
        xyzservices.providers.query_name(url)
    ours, theirs = TileLayer(url, **options), folium.TileLayer(url, **options)
    assert _state(ours) == _state(theirs)
    script = ours._template.module.script(ours, {})
    assert script == theirs._template.module.script(theirs, {}).replace(
        theirs.get_name(), ours.get_name()
    )


def test_a_url_without_attribution_is_refused_as_folium_does() -> None:
    with pytest.raises(ValueError, match="attribution"):
        folium.TileLayer(URLS[0])
    with pytest.raises(ValueError, match="attribution"):
        TileLayer(URLS[0])


def test_a_provider_name_still_goes_to_folium() -> None:
    name = "OpenStreetMap HOT"
    ours, theirs = TileLayer(name), folium.TileLayer(name)
    assert _state(ours) == _state(theirs)
    assert "openstreetmap.fr/hot" in ours.tiles


def test_the_page_s_fixed_header_text_renders_as_branca_s_element() -> None:
    """The page style and offline notice, added without a template pass: branca's text."""
    from branca.element import Element

    from latcircle.present.map.elements import OFFLINE_NOTICE, PAGE_STYLE, rendered_text

    for text in (PAGE_STYLE, OFFLINE_NOTICE):
        assert type(rendered_text(text)) is not Element  # the shortcut is taken
        assert rendered_text(text).render() == Element(text).render()
