"""Writing results: an output folder replaced whole, and deterministic files.

A run writes into a fresh temporary folder beside its destination and swaps it into place
at the end, so a failed or killed run leaves the previous results intact. Tables are written
with a fixed float format, GeoPackages with a fixed timestamp, so the same inputs give the
same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import rasterio.shutil
from rasterio.io import MemoryFile

from latcircle.engine.grid import Grid
from latcircle.errors import OutputError

__all__ = [
    "atomic_folder",
    "sha256_file",
    "write_cog",
    "write_csv",
    "write_gpkg",
    "write_json",
]

log = logging.getLogger(__name__)

#: GeoPackages record their write time; a fixed one keeps reruns byte-identical.
FIXED_TIMESTAMP = "2000-01-01T00:00:00Z"


@contextlib.contextmanager
def atomic_folder(dest: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``dest`` when the block succeeds.

    Parameters
    ----------
    dest
        The final output folder. Its parent is created if needed.

    Yields
    ------
    pathlib.Path
        The temporary folder to write into (on the same file system as ``dest``).

    Raises
    ------
    OutputError
        When the parent folder cannot be written.
    """
    dest = Path(dest)
    blocker = next((p for p in (dest, *dest.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        msg = f"{blocker}: cannot write outputs here (a file, not a folder)"
        raise OutputError(msg)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    except OSError as exc:
        msg = f"{dest.parent}: cannot write outputs here ({exc.strerror or exc})"
        raise OutputError(msg) from None
    try:
        yield tmp
        _swap_into_place(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_into_place(tmp: Path, dest: Path) -> None:
    os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
    old = None
    try:
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.rmdir(old)
            os.replace(dest, old)
        os.replace(tmp, dest)
    except OSError as exc:
        if old is not None and not dest.exists():
            os.replace(old, dest)
        msg = f"{dest}: cannot move outputs into place ({exc.strerror or exc})"
        raise OutputError(msg) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _guard(path: Path) -> contextlib.AbstractContextManager[None]:
    return _OutputErrors(path)


class _OutputErrors(contextlib.AbstractContextManager[None]):
    def __init__(self, path: Path) -> None:
        self.path = path

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and isinstance(exc, OSError) and not isinstance(exc, OutputError):
            msg = f"{self.path}: cannot write ({exc.strerror or exc})"
            raise OutputError(msg) from None
        return False


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a table with a fixed float format (deterministic bytes).

    Parameters
    ----------
    df
        The table.
    path
        Destination file.
    """
    with _guard(path):
        df.to_csv(path, index=False, float_format="%.6f", lineterminator="\n")


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    """Write several layers to one GeoPackage, with a fixed timestamp.

    Parameters
    ----------
    layers
        Layer name to frame; written in the given order.
    path
        Destination file.
    """
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_TIMESTAMP})
    try:
        with _guard(path):
            for name, frame in layers.items():
                frame = _storable_text(frame, path, name)
                frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio", append=False)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _storable_text(frame: gpd.GeoDataFrame, path: Path, layer: str) -> gpd.GeoDataFrame:
    """Return ``frame`` with NUL in texts written as ␀ (U+2400), reporting how many.

    OGR cuts a string at its first NUL, so ``a<NUL>b`` would be stored as ``a``; the
    visible symbol keeps the rest of the name (and is what the map shows for a NUL).
    """
    text_cols = [
        c
        for c in frame.columns
        if c != frame.geometry.name
        and (pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c]))
    ]
    hit = {c: frame[c].map(lambda v: isinstance(v, str) and "\x00" in v) for c in text_cols}
    count = int(sum(int(m.sum()) for m in hit.values()))
    if not count:
        return frame
    log.warning(
        "%s: layer %s: %d text value(s) hold NUL characters, which a GeoPackage cannot "
        "store: written with ␀ (U+2400) in their place",
        path.name,
        layer,
        count,
    )
    frame = frame.copy()
    for c, mask in hit.items():
        frame.loc[mask, c] = frame.loc[mask, c].str.replace("\x00", "\u2400", regex=False)
    return frame


def write_cog(values: np.ndarray, grid: Grid, crs: Any, path: Path, *, nodata: float) -> None:
    """Write a float32 raster on ``grid`` as a Cloud-Optimised GeoTIFF.

    Parameters
    ----------
    values
        Raster of ``grid.shape``.
    grid
        Its grid.
    crs
        Its CRS (anything rasterio accepts).
    path
        Destination file.
    nodata
        The nodata value written in the file.
    """
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": 1,
        "nodata": nodata,
        "width": grid.shape[1],
        "height": grid.shape[0],
        "crs": crs,
        "transform": grid.transform,
    }
    with _guard(path), MemoryFile() as mem:
        with mem.open(**profile) as tmp:
            tmp.write(values.astype("float32"), 1)
            tmp.update_tags(units="microseconds")
        with mem.open() as src:
            rasterio.shutil.copy(
                src,
                path,
                driver="COG",
                compress="DEFLATE",
                predictor="YES",
                overview_resampling="nearest",
                blocksize=512,
            )


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write JSON with sorted keys and UTF-8 text.

    Parameters
    ----------
    data
        JSON-serialisable data (numpy scalars are converted).
    path
        Destination file.
    """
    with _guard(path):
        path.write_text(
            json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=_jsonable)
            + "\n",
            encoding="utf-8",
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    msg = f"not JSON serialisable: {type(value).__name__}"
    raise TypeError(msg)


def sha256_file(path: Path) -> str:
    """Return the SHA-256 hex digest of a file.

    Parameters
    ----------
    path
        The file.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
