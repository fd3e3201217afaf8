"""JSON text written from coordinate arrays (``present.map.jsontext``), against ``json``.

The reference is the route the map took before: Python floats encoded by ``json.dumps``
(``float.__repr__``), and GeoJSON from GEOS parsed by ``json.loads`` and encoded again.
"""

from __future__ import annotations

import json
import re

import folium
import numpy as np
import pytest
import shapely
from folium import plugins as folium_plugins

from latcircle.present.map import plugins
from latcircle.present.map.elements import (
    DataBlock,
    JsonText,
    display_shapes,
    display_texts,
)
from latcircle.present.map.jsontext import geometry_json, row_texts
from latcircle.present.style import script_json


def _json_rows(values: np.ndarray) -> list[str]:
    return [json.dumps(row) for row in values.tolist()]


@pytest.mark.parametrize("decimals", range(9))
@pytest.mark.parametrize("scale", [1e-3, 1.0, 180.0, 1e5, 1e9])
def test_rounded_rows_are_json_s(decimals: int, scale: float) -> None:
    rng = np.random.default_rng(decimals * 31 + int(np.log10(scale) + 3))
    values = np.round(rng.uniform(-scale, scale, (3000, 3)), decimals)
    tiny = (values != 0) & (np.abs(values) < 1e-4)
    values[tiny] = 0.5  # repr writes these with an exponent (checked below)
    values[::5, 1] = 0.0
    values[::7, 2] = np.trunc(values[::7, 2])  # whole numbers: "114.0"
    values[values == 0] = 0.0  # no -0.0 (np.round, np.trunc): json writes "-0.0" (below)
    got = row_texts(values, decimals)
    if scale * 10.0**decimals >= 2.0**52:  # over the bound: left to json
        assert got is None
        return
    assert got == _json_rows(values)


@pytest.mark.parametrize(
    ("value", "decimals", "written"),
    [
        (0.0001, 5, True),  # exactly 1e-4: repr writes it without an exponent
        (0.00009, 5, False),  # "9e-05"
        (-0.0, 5, False),  # "-0.0"
        (0.0, 5, True),
        (-0.0001, 4, True),
        (float("nan"), 5, False),
        (float("inf"), 5, False),
        (0.123456, 5, False),  # not rounded to 5 places
        (0.1 + 0.2, 1, False),  # 0.30000000000000004: not the float nearest 3 / 10
        (45035996273.705, 5, False),  # over 2**52 / 10**5 = 45035996273.70496
        (45035996273.7049, 5, True),  # just under it
        (114.0, 0, True),
        (-180.0, 5, True),
        (179.99999, 5, True),
        (1e15, 0, True),
    ],
)
def test_each_kind_of_value_on_its_bound(value: float, decimals: int, written: bool) -> None:
    values = np.array([[value, 1.0]])
    got = row_texts(values, decimals)
    assert (got is not None) is written
    if got is not None:
        assert got == _json_rows(values)


def test_rows_other_than_2d_float64_are_left_to_json() -> None:
    assert row_texts(np.array([[1, 2]]), 2) is None  # integers
    assert row_texts(np.array([1.0, 2.0]), 2) is None  # one dimension
    assert row_texts(np.empty((0, 3)), 2) is None
    assert row_texts(np.array([[1.0]]), 16) is None
    assert row_texts(np.array([[1.25]]), 2) == ["[1.25]"]  # one column


def test_fewer_places_are_also_rounded_to_more() -> None:
    """A value rounded to 2 places is the float nearest ``k / 10**4`` too (heat weights)."""
    rng = np.random.default_rng(5)
    values = np.column_stack(
        [np.round(rng.uniform(29, 31, 500), 4), np.round(rng.uniform(0.01, 1.0, 500), 2)]
    )
    assert row_texts(values, 4) == _json_rows(values)


def _blob(rng: np.random.Generator, x: float, y: float, r: float) -> shapely.Polygon:
    angles = np.sort(rng.uniform(0, 2 * np.pi, 40))
    radii = r * rng.uniform(0.5, 1.0, 40)
    return shapely.Polygon(
        np.column_stack([x + radii * np.cos(angles), y + radii * np.sin(angles)])
    )


def _geos_route(geom: shapely.Geometry) -> str:
    return json.dumps(json.loads(shapely.to_geojson(geom)), sort_keys=True)


def test_geometries_are_geos_route_s() -> None:
    rng = np.random.default_rng(11)
    outer = shapely.Polygon([(110, 28), (118, 28), (118, 33), (110, 33)])
    holed = outer.difference(shapely.union_all([_blob(rng, 112, 30, 0.5), _blob(rng, 116, 31, 1)]))
    multi = shapely.union_all([_blob(rng, 114, 30, 0.3), _blob(rng, -70.5, -33.4, 0.2)])
    shapes = [
        holed,
        multi,
        shapely.MultiPolygon([holed, _blob(rng, 120, 35, 0.1)]),
        _blob(rng, 0.0, 0.0, 1.0),  # coordinates near zero: some under 1e-4 once rounded
        _blob(rng, 114.3, 30.6, 0.01),
    ]
    for precision in (0, 3, 5, 7):
        for geom in shapes:
            rounded = shapely.transform(geom, lambda xy, p=precision: np.round(xy, p))
            assert geometry_json(rounded, precision) == _geos_route(rounded)
    # Not rounded to the places named, or not a polygon: GEOS's route itself.
    for geom in [
        _blob(rng, 114.3, 30.6, 0.01),
        shapely.Point(114.3, 30.6),
        shapely.LineString([(0, 0), (1.5, 2.25)]),
        shapely.GeometryCollection([shapely.Point(1, 2), _blob(rng, 3, 4, 1)]),
        shapely.Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 1)]),
        shapely.MultiPolygon(),
    ]:
        assert geometry_json(geom, 5) == _geos_route(geom)


@pytest.mark.parametrize("datum", ["wgs84", "gcj02"])
def test_display_texts_are_display_shapes_encoded(datum: str) -> None:
    rng = np.random.default_rng(3)
    crs = "EPSG:32650"  # metres, as a run's local CRS (Wuhan's zone)
    geoms = np.array(
        [
            _blob(rng, 240_000, 3_380_000, 20_000),
            shapely.union_all(
                [_blob(rng, 260_000, 3_390_000, 5_000), _blob(rng, 280_000, 3_370_000, 4_000)]
            ),
            shapely.Polygon(),
        ],
        dtype=object,
    )
    kw = {"tol": 250.0, "precision": 5, "datum": datum}
    shapes = display_shapes(geoms, crs, **kw)
    texts = display_texts(geoms, crs, **kw)
    assert texts[2] is None and shapes[2] is None
    assert texts[:2] == [json.dumps(s, sort_keys=True) for s in shapes[:2]]


def test_data_block_writes_json_text_parts_as_script_json_would() -> None:
    geos = [{"type": "Point", "coordinates": [114.25, 30.5]}, {"b": "a {{ x }} <b>", "a": 1}]
    value = {
        "zeta": "it's <b>{% raw %}</b> & co",
        "geos": geos,
        "Alpha": [1.5, None, float("nan")],
        "mid": {"z": 1, "a": "}{"},
    }
    text = json.dumps(geos, sort_keys=True)
    block = DataBlock("lc-data", {**value, "geos": JsonText(text)})
    assert block.text == script_json(value)
    assert DataBlock("x", value).text == script_json(value)
    with pytest.raises(TypeError):
        DataBlock("x", {1: JsonText("[]")})


def _heat_page(module: object, data: object, **kw: object) -> str:
    fmap = folium.Map(location=[30.6, 114.3], tiles=None, zoom_start=10)
    heat = module.HeatMap(data, name="Heat", radius=14, **kw)  # type: ignore[attr-defined]
    heat.default_js = [("heat.js", "https://cdn.example/heat@1/heat.js")]  # the same on both
    heat.add_to(fmap)
    ids: dict[str, str] = {}  # folium's random element ids, numbered in order
    return re.sub(
        r"_([0-9a-f]{32})(?![0-9a-f])",
        lambda m: "_" + ids.setdefault(m.group(1), f"{len(ids):04d}"),
        fmap.get_root().render(),
    )


@pytest.mark.parametrize(
    "rows",
    [
        [[30.5927, 114.3052, 0.5], [30.6, 114.2, 1.0], [-33.4489, -70.6693, 0.01]],
        [[30.5927, 114.3052, 0.5], [-0.0, 0.0, 0.01]],  # -0.0: left to json
        [[0.00001, 114.0, 0.25]],  # an exponent: left to json
    ],
)
def test_heat_rows_from_an_array_are_folium_s(rows: list[list[float]]) -> None:
    ours = _heat_page(plugins, np.array(rows, dtype=float), decimals=4)
    theirs = _heat_page(folium_plugins, rows)
    assert ours == theirs and "L.heatLayer(" in ours


def test_heat_rows_refuse_nan_locations_from_an_array() -> None:
    with pytest.raises(ValueError, match="NaN"):
        plugins.HeatMap(np.array([[np.nan, 114.3, 1.0]]), decimals=4)
    with pytest.raises(ValueError, match="lat, lon"):
        plugins.HeatMap(np.array([1.0, 2.0]), decimals=4)
