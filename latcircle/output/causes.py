"""``causes.tif``: why each cell is covered or not, as a classed raster GIS tools draw at once.

``latency.tif`` holds the latency (float32 µs) in band 1 and the same codes in band 2; a
GeoTIFF has one data type and one nodata value for all its bands, so band 2 there stays
float32 with NaN. ``causes.tif`` is the classed copy: uint8, codes
:data:`latcircle.analysis.coverage.CAUSE_CODES` (1 covered, 2 no access, 3 unreachable,
4 too far), 255 outside the metro (nodata), a colour table in the file, category names and a
raster attribute table (value, cause, label, colour) in ``causes.tif.aux.xml`` (GDAL's side
file, read with the TIFF by GDAL and QGIS), and ``causes.qml`` beside it: QGIS opens it as
paletted classes.

``latency.tif`` itself gets the same attribute table for its band 2
(``latency.tif.aux.xml``) and ``latency.qml``: band 1 in discrete classes at the run's
thresholds, in the map's band colours.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import rasterio
import rasterio.shutil

from latcircle.analysis.coverage import CAUSE_CODES
from latcircle.engine.grid import Grid
from latcircle.output.cogsource import SourceBand, cog_source
from latcircle.output.files import COG_BLOCK, COG_ENV, _guard

__all__ = ["CAUSES_NODATA", "write_causes", "write_latency_style"]

#: ``causes.tif``'s nodata: cells outside the metro (code 0 in ``latency.tif`` band 2).
CAUSES_NODATA = 255

#: GDAL raster attribute table field types and usages (gdal.h: GDALRATFieldType/Usage).
_GFT_INTEGER, _GFT_STRING = 0, 2
_GFU_GENERIC, _GFU_NAME, _GFU_MINMAX, _GFU_RED, _GFU_GREEN, _GFU_BLUE = 0, 2, 5, 6, 7, 8


def write_causes(
    codes: np.ndarray,
    grid: Grid,
    crs: Any,
    folder: Path,
    *,
    colours: Mapping[str, str],
    labels: Mapping[str, str],
) -> list[Path]:
    """Write ``causes.tif`` (+ ``.aux.xml``) and ``causes.qml`` into ``folder``.

    Parameters
    ----------
    codes
        The status raster (:func:`latcircle.analysis.layers.status_raster`): 0 outside the
        metro, else a code of :data:`~latcircle.analysis.coverage.CAUSE_CODES`.
    grid
        Its grid.
    crs
        Its CRS (anything rasterio accepts).
    folder
        The (temporary) run folder.
    colours, labels
        Colour (``#rrggbb``) and words of each status, keyed as ``CAUSE_CODES`` (their home
        is :mod:`latcircle.present.style`; passed in, as ``output`` cannot import it).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    classes = [(code, name, labels[name], colours[name]) for name, code in CAUSE_CODES.items()]
    values = codes.astype(np.uint8)  # small integer codes: the same values
    values[codes == 0] = CAUSES_NODATA
    tif = folder / "causes.tif"
    _write_tif(values, grid, crs, tif, classes)
    aux = tif.with_name(tif.name + ".aux.xml")
    qml = folder / "causes.qml"
    with _guard(aux):
        aux.write_text(_pam_xml(classes), encoding="utf-8")
    with _guard(qml):
        qml.write_text(_qml(classes), encoding="utf-8")
    return [tif, aux, qml]


def write_latency_style(
    folder: Path,
    *,
    band_colours: Mapping[float, str],
    colours: Mapping[str, str],
    labels: Mapping[str, str],
) -> list[Path]:
    """Write ``latency.qml`` and ``latency.tif.aux.xml`` beside ``folder/latency.tif``.

    Parameters
    ----------
    folder
        The (temporary) run folder holding ``latency.tif``.
    band_colours
        Threshold (ms) to colour, the map's (:func:`latcircle.present.style.band_colours`).
    colours, labels
        As for :func:`write_causes` (band 2's classes).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    classes = [(code, name, labels[name], colours[name]) for name, code in CAUSE_CODES.items()]
    aux = folder / "latency.tif.aux.xml"
    qml = folder / "latency.qml"
    with _guard(aux):
        aux.write_text(_pam_xml(classes, band=2), encoding="utf-8")
    with _guard(qml):
        qml.write_text(_latency_qml(band_colours), encoding="utf-8")
    return [aux, qml]


def _latency_qml(band_colours: Mapping[float, str]) -> str:
    """Return a QGIS style: band 1 (µs) in discrete classes, each up to its threshold."""
    items = "".join(
        f'          <item value="{ms * 1000:g}" color="{colour}" alpha="255" '
        f'label="{_band_label(prev, ms)}"/>\n'
        for prev, (ms, colour) in zip(
            [None, *sorted(band_colours)], sorted(band_colours.items()), strict=False
        )
    )
    top = max(band_colours) * 1000
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0" styleCategories="AllStyleCategories">\n'
        "  <pipe>\n"
        '    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="0.8" '
        f'alphaBand="-1" classificationMin="0" classificationMax="{top:g}" nodataColor="">\n'
        "      <rastershader>\n"
        '        <colorrampshader colorRampType="DISCRETE" classificationMode="1" clip="1">\n'
        f"{items}"
        "        </colorrampshader>\n"
        "      </rastershader>\n"
        "    </rasterrenderer>\n"
        "  </pipe>\n"
        "</qgis>\n"
    )


def _band_label(lower: float | None, upper: float) -> str:
    return f"≤ {upper:g} ms" if lower is None else f"{lower:g}–{upper:g} ms"


def _write_tif(
    values: np.ndarray,
    grid: Grid,
    crs: Any,
    path: Path,
    classes: list[tuple[int, str, str, str]],
) -> None:
    # A source read in place with its overviews made, as latency.tif's (write_cog): no
    # copy into a GDAL dataset, no temporary overview file (the same bytes).
    band = SourceBand(
        values,
        description="status: " + ", ".join(f"{c} {n}" for c, n, *_ in classes),
        colours={code: (*_rgb(colour), 255) for code, _, _, colour in classes},
    )
    with (
        _guard(path),
        rasterio.Env(**COG_ENV),
        cog_source(
            [band], transform=grid.transform, crs=crs, nodata=CAUSES_NODATA, block=COG_BLOCK
        ) as src,
    ):
        rasterio.shutil.copy(
            src, path, driver="COG", compress="DEFLATE", overview_resampling="nearest"
        )


def _rgb(colour: str) -> tuple[int, int, int]:
    h = colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _pam_xml(classes: list[tuple[int, str, str, str]], *, band: int = 1) -> str:
    """GDAL's PAM side file: category names by value, and a thematic attribute table.

    GDAL reads both with the GeoTIFF (``GDALGetRasterCategoryNames``, ``GDALGetDefaultRAT``);
    QGIS (3.30+) classifies by the table. Value 0 is named "outside the metro", its meaning
    in ``latency.tif`` band 2 (``causes.tif`` writes it as nodata 255).
    """
    names = {0: "outside the metro", **{code: label for code, _, label, _ in classes}}
    categories = "".join(
        f"      <Category>{escape(names.get(v, ''))}</Category>\n" for v in range(max(names) + 1)
    )
    fields = [
        ("value", _GFT_INTEGER, _GFU_MINMAX),
        ("cause", _GFT_STRING, _GFU_GENERIC),
        ("label", _GFT_STRING, _GFU_NAME),
        ("red", _GFT_INTEGER, _GFU_RED),
        ("green", _GFT_INTEGER, _GFU_GREEN),
        ("blue", _GFT_INTEGER, _GFU_BLUE),
    ]
    defs = "".join(
        f'      <FieldDefn index="{i}"><Name>{n}</Name><Type>{t}</Type><Usage>{u}</Usage>'
        "</FieldDefn>\n"
        for i, (n, t, u) in enumerate(fields)
    )
    rows = "".join(
        f'      <Row index="{i}">'
        + "".join(f"<F>{escape(str(v))}</F>" for v in (code, name, label, *_rgb(colour)))
        + "</Row>\n"
        for i, (code, name, label, colour) in enumerate(classes)
    )
    return (
        "<PAMDataset>\n"
        f'  <PAMRasterBand band="{band}">\n'
        "    <CategoryNames>\n"
        f"{categories}"
        "    </CategoryNames>\n"
        '    <GDALRasterAttributeTable tableType="thematic">\n'
        f"{defs}{rows}"
        "    </GDALRasterAttributeTable>\n"
        "  </PAMRasterBand>\n"
        "</PAMDataset>\n"
    )


def _qml(classes: list[tuple[int, str, str, str]]) -> str:
    """Return a QGIS style: band 1 as paletted classes, in the map's colours and words."""
    entries = "".join(
        f'        <paletteEntry value="{code}" color="{colour}" alpha="255" '
        f'label="{escape(label, {chr(34): "&quot;"})}"/>\n'
        for code, _, label, colour in classes
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0" styleCategories="AllStyleCategories">\n'
        "  <pipe>\n"
        '    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" '
        'nodataColor="">\n'
        "      <colorPalette>\n"
        f"{entries}"
        "      </colorPalette>\n"
        "    </rasterrenderer>\n"
        "  </pipe>\n"
        "</qgis>\n"
    )
