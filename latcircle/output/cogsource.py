"""A COG's source with its overviews already made, as GDAL's COG driver would make them.

GDAL's COG driver (``rasterio.shutil.copy(src, path, driver="COG")``) first computes the
overviews of a source that has none: each level halves the one before (rounded down, at
least 1 pixel) until the image fits in one block, and each level is taken from the level
before it by *nearest*. It writes them into a temporary TIFF (compressed, beside the output
file), reads them back and compresses them again into the COG. A source that already has
overviews has them copied instead (the driver's default ``OVERVIEWS=AUTO``).

:func:`cog_source` gives GDAL such a source: a VRT over the bands' numpy arrays (GDAL's MEM
driver reads them in place: no copy into a GDAL dataset), whose overviews are numpy arrays of
exactly the pixels GDAL's nearest resampling takes (:func:`nearest_pick`). The COG written
from it is the same file, byte for byte (``tests/test_cog_source.py`` compares both routes
on many sizes, and Wuhan's and the demo's ``latency.tif`` were compared with
``scripts/compare_outputs.py``, 2026-12-07), for less work: ``write_cog`` of Wuhan's three
float32 bands, in one process, 0.25-0.27 → 0.17-0.18 s CPU (the overviews' temporary file
written, read back and decoded no more; measured 2026-12-07).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.io import DatasetReader, MemoryFile

__all__ = ["SourceBand", "cog_source", "nearest_pick", "overview_shapes"]

#: GDAL's data type names of the numpy types a source band may have.
_GDAL_TYPES = {np.dtype("float32"): "Float32", np.dtype("uint8"): "Byte"}


@dataclass(frozen=True)
class SourceBand:
    """One band of a :func:`cog_source`: its pixels and what GDAL keeps beside them.

    Attributes
    ----------
    values
        The raster (float32 or uint8; C-contiguous).
    description
        GDAL's band description (``None``: none).
    unit
        GDAL's unit type (``""``: none).
    tags
        The band's metadata items (default domain).
    colours
        A colour table, ``{value: (r, g, b, a)}``: the band is then a palette band.
    """

    values: np.ndarray
    description: str | None = None
    unit: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    colours: Mapping[int, tuple[int, int, int, int]] | None = None


def overview_shapes(shape: tuple[int, int], *, block: int) -> list[tuple[int, int]]:
    """Return the ``(rows, cols)`` of each overview level the COG driver makes.

    Each level halves the one before (integer division, at least 1) while the level before
    is wider or taller than one block (GDAL's ``cogdriver.cpp``).

    Parameters
    ----------
    shape
        The full image's ``(rows, cols)``.
    block
        The COG's block size (``BLOCKSIZE``).
    """
    rows, cols = shape
    out: list[tuple[int, int]] = []
    while rows > block or cols > block:
        rows, cols = max(rows // 2, 1), max(cols // 2, 1)
        out.append((rows, cols))
    return out


def nearest_pick(n_src: int, n_dst: int) -> np.ndarray:
    """Return the source index GDAL's nearest resampling takes for each of ``n_dst`` pixels.

    ``int(0.5 + i * (n_src / n_dst))`` in double precision, as GDAL's ``overview.cpp``
    (``GDALResampleChunk_Near``) computes it for pixel ``i``.

    Parameters
    ----------
    n_src, n_dst
        The source and destination sizes along one axis.
    """
    return (0.5 + np.arange(n_dst) * (n_src / n_dst)).astype(np.intp)


def _overviews(values: np.ndarray, shapes: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """Each overview level of one band, each taken from the level before by nearest."""
    levels = []
    src = values
    for rows, cols in shapes:
        src = src[nearest_pick(src.shape[0], rows)][:, nearest_pick(src.shape[1], cols)]
        levels.append(src)
    return levels


def _mem_name(values: np.ndarray) -> str:
    """GDAL's name of a MEM dataset reading ``values`` in place (one band)."""
    rows, cols = values.shape
    return (
        f"MEM:::DATAPOINTER={values.ctypes.data:#x},PIXELS={cols},LINES={rows},BANDS=1,"
        f"DATATYPE={_GDAL_TYPES[values.dtype]},PIXELOFFSET={values.strides[1]},"
        f"LINEOFFSET={values.strides[0]}"
    )


def _metadata(tags: Mapping[str, str]) -> str:
    if not tags:
        return ""
    items = "".join(
        f'<MDI key="{escape(k, {chr(34): "&quot;"})}">{escape(v)}</MDI>' for k, v in tags.items()
    )
    return f"<Metadata>{items}</Metadata>"


def _band_xml(
    index: int, band: SourceBand, overviews: Sequence[np.ndarray], nodata: float | None
) -> str:
    parts = [f'<VRTRasterBand dataType="{_GDAL_TYPES[band.values.dtype]}" band="{index}">']
    if band.description is not None:
        parts.append(f"<Description>{escape(band.description)}</Description>")
    if nodata is not None:
        parts.append(f"<NoDataValue>{float(nodata)!r}</NoDataValue>")
    if band.unit:
        parts.append(f"<UnitType>{escape(band.unit)}</UnitType>")
    if band.colours is not None:
        parts.append("<ColorInterp>Palette</ColorInterp><ColorTable>")
        table = [(0, 0, 0, 0)] * (max(band.colours, default=-1) + 1)
        for value, rgba in band.colours.items():
            table[value] = rgba
        parts.extend(f'<Entry c1="{r}" c2="{g}" c3="{b}" c4="{a}"/>' for r, g, b, a in table)
        parts.append("</ColorTable>")
    parts.append(_metadata(band.tags))
    parts.append(
        f"<SimpleSource><SourceFilename>{_mem_name(band.values)}</SourceFilename>"
        "<SourceBand>1</SourceBand></SimpleSource>"
    )
    parts.extend(
        f"<Overview><SourceFilename>{_mem_name(level)}</SourceFilename>"
        "<SourceBand>1</SourceBand></Overview>"
        for level in overviews
    )
    parts.append("</VRTRasterBand>")
    return "".join(parts)


@contextlib.contextmanager
def cog_source(
    bands: Sequence[SourceBand],
    *,
    transform: Affine,
    crs: Any,
    nodata: float | None,
    block: int,
    tags: Mapping[str, str] | None = None,
) -> Iterator[DatasetReader]:
    """Yield an open GDAL dataset over ``bands`` with the COG driver's overviews made.

    Copy it with ``rasterio.shutil.copy(src, path, driver="COG", blocksize=block,
    overview_resampling="nearest", ...)`` inside the block: the arrays are read in place,
    so they (and the overviews made here) must live until then, which this context keeps.

    Parameters
    ----------
    bands
        The bands, all of one shape.
    transform
        Pixel-to-CRS affine transform.
    crs
        The CRS (anything rasterio accepts).
    nodata
        The nodata value of every band, or ``None``.
    block
        The COG's block size: sets the overview levels (:func:`overview_shapes`).
    tags
        The dataset's metadata items (default domain).
    """
    rows, cols = bands[0].values.shape
    shapes = overview_shapes((rows, cols), block=block)
    arrays = [np.ascontiguousarray(b.values) for b in bands]
    levels = [_overviews(a, shapes) for a in arrays]
    wkt = CRS.from_user_input(crs).to_wkt()
    xml = "".join(
        [
            f'<VRTDataset rasterXSize="{cols}" rasterYSize="{rows}">',
            f"<SRS>{escape(wkt)}</SRS>",
            "<GeoTransform>"
            + ", ".join(repr(float(v)) for v in transform.to_gdal())
            + "</GeoTransform>",
            _metadata(dict(tags or {})),
            *(
                _band_xml(i, SourceBand(a, b.description, b.unit, b.tags, b.colours), lv, nodata)
                for i, (a, b, lv) in enumerate(zip(arrays, bands, levels, strict=True), start=1)
            ),
            "</VRTDataset>",
        ]
    )
    # GDAL opens a MEM dataset by name (a pointer to the arrays above), and lets a VRT file
    # name one, only when asked to (both guard against VRT files from elsewhere; this one is
    # made here, over arrays this context holds).
    with (
        rasterio.Env(GDAL_MEM_ENABLE_OPEN="YES", VRT_ALLOW_MEM_DRIVER="YES"),
        MemoryFile(xml.encode("utf-8"), ext=".vrt") as mem,
        mem.open() as src,
    ):
        yield src
    del arrays, levels  # alive until GDAL is done with them
