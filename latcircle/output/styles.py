"""QGIS styles stored inside the GeoPackage (the ``layer_styles`` table).

QGIS (and QGIS Server, and anything reading OGC's GeoPackage styles convention the way QGIS
writes it) opens a layer with the style marked ``useAsDefault`` in ``layer_styles``: a QML
document keyed by table name and geometry column. :func:`write_layer_styles` writes one per
layer it knows (bands, rings, key sites, sites, districts, clusters, service areas,
boundary), so ``isochrones.gpkg`` opens styled: bands drawn widest first (the tightest on top:
``orderby threshold_ms DESC``), rings in the band colours, key sites and clusters by status,
district names as labels.

Colours are parameters: their one home is :mod:`latcircle.present.style`; the pipeline
passes them in. Every text that reaches a QML document goes through XML escaping.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pandas as pd
import pyogrio

from latcircle.errors import OutputError
from latcircle.output.files import (
    FIXED_TIMESTAMP,
    disk_full_as_oserror,
    pinned_gpkg_time,
    unsynced_sqlite,
)

__all__ = ["STYLE_TABLE", "layer_style_qml", "write_layer_styles"]

#: The table QGIS reads styles from.
STYLE_TABLE = "layer_styles"

_QGIS_VERSION = "3.34.0-Prizren"


def write_layer_styles(
    path: Path,
    *,
    band_colours: Mapping[float, str],
    status_colours: Mapping[str, str],
) -> list[str]:
    """Write a default QGIS style for each known layer of a GeoPackage.

    Parameters
    ----------
    path
        The GeoPackage (its ``layer_styles`` table is replaced).
    band_colours
        Threshold (ms) to hex colour, for ``bands`` and ``rings``.
    status_colours
        Key-site status (``covered``, ``too_far``, ``no_access``, ...) to hex colour, for
        ``key_sites`` and ``clusters``.

    Returns
    -------
    list of str
        The layers styled, in table order.
    """
    with disk_full_as_oserror(path):  # SQLite's "database or disk is full" says "disk full"
        layers = [str(n) for n, _ in pyogrio.list_layers(path) if n != STYLE_TABLE]
        styled = []
        for name in layers:
            qml = layer_style_qml(name, band_colours=band_colours, status_colours=status_colours)
            if qml is not None:
                styled.append((name, qml))
        geometry_columns = _geometry_columns(path) if styled else {}
        rows = [_row(name, geometry_columns.get(name, "geom"), qml) for name, qml in styled]
        if rows:
            _write_table(path, pd.DataFrame(rows))
    return [str(r["f_table_name"]) for r in rows]


def _geometry_columns(path: Path) -> dict[str, str]:
    """Return each layer's geometry column, from the GeoPackage's own register.

    One connection for every layer (a connection per layer cost ~1 ms each, 2026-12-07);
    a table the register does not name is left out (its column is then ``geom``).
    """
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()
    return {str(table): str(column) for table, column in rows}


def _row(table: str, geom_col: str, qml: str) -> dict[str, object]:
    return {
        "f_table_catalog": "",
        "f_table_schema": "",
        "f_table_name": table,
        "f_geometry_column": geom_col,
        "styleName": f"latcircle {table}",
        "styleQML": qml,
        "styleSLD": "",
        "useAsDefault": True,
        "description": f"latcircle default style for {table}",
        "owner": "latcircle",
        "ui": "",
        # QGIS stamps the write time; a fixed one keeps reruns byte-identical.
        "update_time": FIXED_TIMESTAMP,
    }


def _write_table(path: Path, table: pd.DataFrame) -> None:
    try:
        with pinned_gpkg_time(), unsynced_sqlite():
            pyogrio.write_dataframe(
                table,
                path,
                layer=STYLE_TABLE,
                driver="GPKG",
                append=False,
                layer_options={"FID": "id"},
            )
    except OSError as exc:
        msg = f"{path}: cannot write QGIS styles ({exc})"
        raise OutputError(msg) from None


def layer_style_qml(
    layer: str,
    *,
    band_colours: Mapping[float, str],
    status_colours: Mapping[str, str],
) -> str | None:
    """Return the QML document styling one layer, ``None`` for a layer with no style.

    Parameters
    ----------
    layer
        The layer name.
    band_colours, status_colours
        See :func:`write_layer_styles`.

    Returns
    -------
    str or None
    """
    bands = sorted(band_colours.items())
    cats: list[tuple[object, str, str, str]]
    if layer == "bands":
        cats = [(t, c, f"≤ {t:g} ms", _fill(c, alpha=110)) for t, c in bands]
        return _qml(_categorized("threshold_ms", cats, order_by_desc="threshold_ms"))
    if layer == "rings":
        cats, lower = [], None
        for t, c in bands:
            label = f"≤ {t:g} ms" if lower is None else f"{lower:g}–{t:g} ms"
            cats.append((t, c, label, _fill(c, alpha=150)))
            lower = t
        return _qml(_categorized("threshold_ms", cats))
    if layer == "key_sites":
        cats = [
            (s, c, s.replace("_", " "), _marker(c, "circle", 2.4))
            for s, c in status_colours.items()
        ]
        return _qml(_categorized("status", cats))
    if layer == "clusters":
        cats = [
            (s, c, s.replace("_", " "), _outline(c, width=0.8)) for s, c in status_colours.items()
        ]
        return _qml(_categorized("cause", cats))
    if layer == "sites":
        return _qml(_single(_marker("#111111", "square", 4.0, outline="#ffffff")))
    if layer == "districts":
        return _qml(_single(_outline("#525252", width=0.5, dash=True)), labels="name")
    if layer == "boundary":
        return _qml(_single(_outline("#000000", width=0.8)))
    if layer == "service_areas":
        return _qml(_single(_outline("#08306b", width=0.3)))
    return None


# --- QML pieces ----------------------------------------------------------------------------


def _rgba(colour: str, alpha: int = 255) -> str:
    h = colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{alpha}"


def _fill(colour: str, *, alpha: int) -> str:
    return (
        '<symbol type="fill" name="@0@" alpha="1" clip_to_extent="1" force_rhr="0">'
        '<layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map">'
        f'<Option name="color" type="QString" value="{_rgba(colour, alpha)}"/>'
        f'<Option name="outline_color" type="QString" value="{_rgba(colour)}"/>'
        '<Option name="outline_style" type="QString" value="solid"/>'
        '<Option name="outline_width" type="QString" value="0.2"/>'
        '<Option name="style" type="QString" value="solid"/>'
        "</Option></layer></symbol>"
    )


def _outline(colour: str, *, width: float, dash: bool = False) -> str:
    return (
        '<symbol type="fill" name="@0@" alpha="1" clip_to_extent="1" force_rhr="0">'
        '<layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map">'
        '<Option name="color" type="QString" value="0,0,0,0"/>'
        f'<Option name="outline_color" type="QString" value="{_rgba(colour)}"/>'
        f'<Option name="outline_style" type="QString" value="{"dash" if dash else "solid"}"/>'
        f'<Option name="outline_width" type="QString" value="{width:g}"/>'
        '<Option name="style" type="QString" value="no"/>'
        "</Option></layer></symbol>"
    )


def _marker(colour: str, shape: str, size: float, *, outline: str = "#ffffff") -> str:
    return (
        '<symbol type="marker" name="@0@" alpha="1" clip_to_extent="1" force_rhr="0">'
        '<layer class="SimpleMarker" enabled="1" locked="0" pass="1"><Option type="Map">'
        f'<Option name="color" type="QString" value="{_rgba(colour)}"/>'
        f'<Option name="name" type="QString" value="{shape}"/>'
        f'<Option name="outline_color" type="QString" value="{_rgba(outline)}"/>'
        '<Option name="outline_width" type="QString" value="0.4"/>'
        f'<Option name="size" type="QString" value="{size:g}"/>'
        "</Option></layer></symbol>"
    )


def _categorized(
    field: str, cats: list[tuple[object, str, str, str]], *, order_by_desc: str | None = None
) -> str:
    categories, symbols = [], []
    for i, (value, _colour, label, symbol) in enumerate(cats):
        text = f"{value:g}" if isinstance(value, float) else str(value)
        categories.append(
            f'<category render="true" symbol="{i}" value={quoteattr(text)} '
            f"label={quoteattr(label)}/>"
        )
        symbols.append(symbol.replace('name="@0@"', f'name="{i}"', 1))
    order = (
        f'<orderby><orderByClause asc="0" nullsFirst="0">"{escape(order_by_desc)}"'
        "</orderByClause></orderby>"
        if order_by_desc
        else ""
    )
    return (
        f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} '
        f'enableorderby="{1 if order_by_desc else 0}" forceraster="0" symbollevels="0">'
        f"<categories>{''.join(categories)}</categories>"
        f"<symbols>{''.join(symbols)}</symbols>{order}</renderer-v2>"
    )


def _single(symbol: str) -> str:
    named = symbol.replace('name="@0@"', 'name="0"', 1)
    return (
        '<renderer-v2 type="singleSymbol" enableorderby="0" forceraster="0" symbollevels="0">'
        f"<symbols>{named}</symbols></renderer-v2>"
    )


def _labels(field: str) -> str:
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName={quoteattr(field)} fontSize="9" textColor="17,17,17,255" '
        'isExpression="0" fontWeight="75">'
        '<text-buffer bufferDraw="1" bufferSize="1" bufferColor="255,255,255,255"/>'
        "</text-style>"
        '<placement placement="1" offsetType="0"/>'
        "</settings></labeling>"
    )


def _qml(renderer: str, *, labels: str | None = None) -> str:
    label_part = _labels(labels) if labels else ""
    enabled = ' labelsEnabled="1"' if labels else ' labelsEnabled="0"'
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="{_QGIS_VERSION}" styleCategories="Symbology|Labeling"{enabled}>'
        f"{renderer}{label_part}</qgis>\n"
    )
