"""Writing results: an output folder replaced whole, and deterministic files.

A run writes into a fresh temporary folder beside its destination and swaps it into place
at the end, so a failed or killed run leaves the previous results intact. Tables are written
with a fixed float format, GeoPackages with a fixed timestamp, so the same inputs give the
same bytes.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import rasterio.shutil
import shapely

from latcircle.engine.grid import Grid
from latcircle.errors import InputError, OutputError
from latcircle.output.cogsource import SourceBand, cog_source
from latcircle.system import exchange_folders, pid_alive, sync_folder, sync_tree

__all__ = [
    "COG_ENV",
    "MARKER",
    "as_stored",
    "as_written",
    "atomic_file",
    "atomic_folder",
    "check_output_folder",
    "disk_full_as_oserror",
    "pinned_gpkg_time",
    "read_csv",
    "sha256_file",
    "unsynced_sqlite",
    "write_cog",
    "write_csv",
    "write_csv_text",
    "write_gpkg",
    "write_json",
]

log = logging.getLogger(__name__)

#: latency.tif's band: unit (UCUM code for microseconds) and description.
LATENCY_UNIT = "us"
LATENCY_BAND_DESCRIPTION = (
    "one-way latency to the serving compute site, microseconds (NaN: no network access)"
)

#: GeoPackages record their write time; a fixed one keeps reruns byte-identical.
FIXED_TIMESTAMP = "2000-01-01T00:00:00Z"


#: Written into every output folder latcircle makes: only a folder carrying it (or an empty
#: one) is ever replaced. Fixed content, so reruns stay byte-identical.
MARKER = ".latcircle-run"
_MARKER_TEXT = (
    "This folder was written by latcircle. The next run with the same output path\n"
    "replaces it whole: keep nothing of your own here.\n"
)


@contextlib.contextmanager
def atomic_folder(dest: Path, *, inputs: Iterable[Path] = ()) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``dest`` when the block succeeds.

    ``dest`` is checked first (:func:`check_output_folder`): a folder latcircle did not write
    is never replaced. The temporary folder sits beside the real destination (a symlinked
    ``dest`` is followed and stays a symlink) and carries :data:`MARKER`. At the end the two
    folders are exchanged in one atomic step (:func:`latcircle.system.exchange_folders`:
    ``renameat2(RENAME_EXCHANGE)`` on Linux, ``renamex_np(RENAME_SWAP)`` on macOS), so
    ``dest`` always holds complete outputs, the old or the new; the old ones are then
    deleted. Where no exchange exists (Windows, some file systems), the old folder is
    renamed aside, then the new one in, then the old one deleted: for the moment between
    the two renames ``dest`` is absent (never half-written), and a kill there leaves the old
    outputs under ``.<name>.old-<pid>-*``, moved back by the next run. Leftover ``.tmp-*``
    and ``.old-*`` folders of dead latcircle processes are removed first.

    Parameters
    ----------
    dest
        The final output folder. Its parent is created if needed.
    inputs
        Input files of the run: ``dest`` may not be or hold any of them.

    Yields
    ------
    pathlib.Path
        The temporary folder to write into (on the same file system as ``dest``).

    Raises
    ------
    InputError
        When ``dest`` may not be replaced (see :func:`check_output_folder`).
    OutputError
        When writing fails (full disk, read-only folder); the message names the file, and
        the previous outputs are left intact.
    """
    real = check_output_folder(dest, inputs=inputs)
    _recover_and_clean(real)
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}.tmp-{os.getpid()}-", dir=real.parent))
        (tmp / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    except OSError as exc:
        msg = f"{real.parent}: cannot write outputs here ({exc.strerror or exc})"
        raise OutputError(msg) from None
    try:
        try:
            yield tmp
        except OSError as exc:
            if isinstance(exc, OutputError):
                raise _in_dest(exc, tmp, Path(dest)) from None
            raise _write_error(exc, tmp, Path(dest)) from None
        _swap_into_place(tmp, real)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_output_folder(dest: Path, *, inputs: Iterable[Path] = ()) -> Path:
    """Check that ``dest`` may receive outputs, before any work is done; return its real path.

    A destination is refused when it (or a parent) is a file, when it is the current folder
    or one of its parents, when it is or holds an input file, when it is a folder with
    contents but without latcircle's :data:`MARKER` (nor a ``run.json`` of latcircle's
    from before the marker existed), or when its parent cannot be written.

    Parameters
    ----------
    dest
        The output folder asked for.
    inputs
        The run's input files (config included).

    Returns
    -------
    pathlib.Path
        The absolute destination, symlinks followed (the folder that will be replaced).

    Raises
    ------
    InputError
        One line naming ``dest`` and the reason.
    """
    dest = Path(dest)
    try:
        real = Path(os.path.realpath(os.path.abspath(dest)))
    except (OSError, ValueError) as exc:
        raise InputError(dest, None, f"not a usable output path ({exc})") from None
    _refuse_files(dest, real)
    _refuse_precious(dest, real, inputs)
    if real.is_dir() and any(real.iterdir()) and not _is_ours(real):
        problem = (
            "output folder exists and was not written by latcircle (no "
            f"{MARKER} in it); it would be replaced whole: choose an empty or new folder"
        )
        raise InputError(dest, None, problem)
    _refuse_unwritable(dest, real)
    return real


def _refuse_files(dest: Path, real: Path) -> None:
    blocker = next((p for p in (real, *real.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        problem = f"cannot write outputs here: {blocker} is a file, not a folder"
        raise InputError(dest, None, problem)


def atomic_file(path: Path, write: Callable[[Path], object]) -> None:
    """Write one file through a temporary file beside it, moved into place when complete.

    A reader never sees half a file, and a killed writer leaves the previous file intact.
    (A whole output folder is :func:`atomic_folder`.)

    Parameters
    ----------
    path
        The final file. Its folder is created if needed.
    write
        Called with the temporary path (same folder, same suffix, so that format drivers
        chosen by extension still work) to write the content.

    Raises
    ------
    OutputError
        When the file cannot be written (full disk, read-only folder, a folder in its
        place); the message names the file, and the previous file is left intact.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        tmp.replace(path)  # one rename: atomic, no moment without the file
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        msg = f"{path}: cannot write ({_reason(exc)}); previous file intact"
        raise OutputError(msg) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _refuse_precious(dest: Path, real: Path, inputs: Iterable[Path]) -> None:
    cwd = Path.cwd().resolve()
    if real == cwd or real in cwd.parents or real == Path(real.anchor):
        problem = "the output folder is replaced whole: it cannot be the current folder or hold it"
        raise InputError(dest, None, problem)
    for path in inputs:
        resolved = Path(os.path.realpath(path))
        if resolved == real or real in resolved.parents:
            problem = f"the output folder is replaced whole: it holds the input {path}"
            raise InputError(dest, None, problem)


def _refuse_unwritable(dest: Path, real: Path) -> None:
    existing = next(p for p in (real.parent, *real.parent.parents) if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(dest, None, f"cannot write outputs here: {existing} is not writable")


#: Files that together mark a folder written by latcircle before the marker existed: a
#: national rollup, a plan (``latcircle plan``), national tiers (``latcircle tiers``).
_LEGACY_FILES = (
    ("summary.csv", "shortfalls.md"),
    ("plan.json", "plan.csv", "sites-planned.csv"),
    ("summary.json", "hub_matrix.csv", "tiers.gpkg"),
)


def _is_ours(folder: Path, *, depth: int = 1) -> bool:
    """Whether ``folder`` holds latcircle's marker, or outputs of an older latcircle.

    A folder holding nothing but latcircle's folders is latcircle's too: ``latcircle plan``
    run before any ``latcircle run`` leaves ``outputs/<city>/`` with only ``plan/`` in it.
    """
    if (folder / MARKER).is_file():
        return True
    entries = list(folder.iterdir()) if depth > 0 and folder.is_dir() else []
    if entries and all(e.is_dir() and _is_ours(e, depth=depth - 1) for e in entries):
        return True
    if any(all((folder / name).is_file() for name in files) for files in _LEGACY_FILES):
        return True
    try:
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and "latcircle" in (record.get("versions") or {})


def _leftovers(real: Path) -> list[tuple[str, int, Path]]:
    """Return latcircle's temporary folders beside ``real`` as (kind, pid, path)."""
    out = []
    for path in sorted(real.parent.glob(f".{glob.escape(real.name)}.*-*-*")):
        kind, _, rest = path.name[len(real.name) + 2 :].partition("-")
        pid = rest.split("-", 1)[0]
        if kind in ("tmp", "old") and pid.isdigit() and _is_ours(path):
            out.append((kind, int(pid), path))
    return out


def _recover_and_clean(real: Path) -> None:
    """Put back outputs a killed two-rename swap left aside; remove dead runs' leftovers."""
    if not real.parent.is_dir():
        return
    for kind, pid, path in _leftovers(real):
        if _alive(pid):
            continue  # another run of the same city is writing: not ours to touch
        if kind == "old" and not real.exists() and not real.is_symlink():
            os.replace(path, real)
            log.warning("%s: previous outputs restored from %s (a run was killed)", real, path)
            continue
        shutil.rmtree(path, ignore_errors=True)
        log.info("removed %s, left by an earlier run that did not finish", path)


def _alive(pid: int) -> bool:
    return pid_alive(pid)


def _swap_into_place(tmp: Path, real: Path) -> None:
    os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
    try:
        # On disk before the swap, and the swap itself after: a power loss never leaves the
        # new names on incomplete files with the old outputs gone.
        sync_tree(tmp)
        if not real.exists():
            os.replace(tmp, real)
        elif _exchange(tmp, real):
            pass  # ``tmp`` now holds the old outputs; the caller deletes it
        else:
            _two_renames(tmp, real)
        sync_folder(real.parent)
    except OSError as exc:
        msg = f"{real}: cannot move outputs into place ({exc.strerror or exc})"
        raise OutputError(msg) from None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically; ``False`` when the system or file system cannot."""
    return exchange_folders(a, b)


def _two_renames(tmp: Path, real: Path) -> None:
    """Swap by two renames: a kill between them leaves ``.old-*`` for the next run."""
    old = real.parent / f".{real.name}.old-{os.getpid()}-{tmp.name.rsplit('-', 1)[-1]}"
    os.replace(real, old)
    try:
        os.replace(tmp, real)
    except OSError:
        os.replace(old, real)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_error(exc: OSError, tmp: Path, dest: Path) -> OutputError:
    """One line naming the file (as it will be named in ``dest``) and the system's reason."""
    name = Path(exc.filename) if exc.filename else tmp
    with contextlib.suppress(ValueError):
        name = dest / name.relative_to(tmp)
    return OutputError(f"{name}: cannot write ({_reason(exc)}); previous outputs intact")


def _in_dest(exc: OutputError, tmp: Path, dest: Path) -> OutputError:
    """Return the error with the temporary folder named as the destination."""
    text = str(exc).replace(str(tmp), str(dest))
    tail = "" if "previous outputs intact" in text else "; previous outputs intact"
    return OutputError(text + tail)


def _guard(path: Path) -> contextlib.AbstractContextManager[None]:
    return _OutputErrors(path)


class _OutputErrors(contextlib.AbstractContextManager[None]):
    def __init__(self, path: Path) -> None:
        self.path = path

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and isinstance(exc, OSError) and not isinstance(exc, OutputError):
            msg = f"{self.path}: cannot write ({_reason(exc)})"
            raise OutputError(msg) from None


#: Every CSV latcircle writes starts with a UTF-8 byte-order mark. Excel (Chinese Windows
#: above all) reads a CSV without one in the system code page (GBK) and garbles every
#: Chinese name; with it, Excel, LibreOffice, pandas, R and DuckDB all read UTF-8. The cost:
#: Python's ``csv`` module and ``open()`` keep the mark unless asked for ``utf-8-sig``
#: (docs/maps-and-gis.md#csv-files). Always on, no option: one encoding for every table.
CSV_ENCODING = "utf-8-sig"


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a table with a fixed float format (deterministic bytes), UTF-8 with a BOM.

    Parameters
    ----------
    df
        The table.
    path
        Destination file.
    """
    with _guard(path):
        df.to_csv(
            path, index=False, float_format="%.6f", lineterminator="\n", encoding=CSV_ENCODING
        )


def as_written(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with its floats as :func:`write_csv` stores them (``%.6f``).

    What a later step would read back from the CSV, without reading it: a figure or a page
    drawn from the table in memory is then the same as one drawn from the file.

    Parameters
    ----------
    df
        The table.
    """
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = [float(f"{v:.6f}") for v in out[col]]
    return out


def write_csv_text(text: str, path: Path) -> None:
    """Write CSV text made elsewhere (e.g. ``sites-planned.csv``) as :func:`write_csv` does.

    Parameters
    ----------
    text
        The CSV text (header first).
    path
        Destination file.
    """
    with _guard(path):
        path.write_text(text, encoding=CSV_ENCODING)


def read_csv(path: Path, **options: Any) -> pd.DataFrame:
    """Read a CSV latcircle wrote, with or without a BOM (older runs have none).

    Parameters
    ----------
    path
        The file.
    **options
        Passed to :func:`pandas.read_csv`.
    """
    return pd.read_csv(path, encoding=CSV_ENCODING, **options)


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    """Write several layers to one GeoPackage, with a fixed timestamp.

    Parameters
    ----------
    layers
        Layer name to frame; written in the given order.
    path
        Destination file.
    """
    with pinned_gpkg_time(), unsynced_sqlite(), _guard(path), disk_full_as_oserror(path):
        for name, frame in layers.items():
            frame = _storable_text(frame, path, name)
            frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio", append=False)


#: Column dtypes the GeoPackage stores and reads back as they are.
_STORED_AS_IS = frozenset({"float64", "float32", "int64", "int32", "int16", "bool"})
#: Nullable dtypes read back as numpy ones: without a missing value as these, else float64.
_STORED_NULLABLE = {"Int64": "int64", "Int32": "int32", "boolean": "bool", "Float64": "float64"}
#: Single geometry types a GeoPackage layer mixing them with their multi type promotes.
_PROMOTE = {
    frozenset({"Polygon", "MultiPolygon"}): ("Polygon", shapely.multipolygons),
    frozenset({"LineString", "MultiLineString"}): ("LineString", shapely.multilinestrings),
    frozenset({"Point", "MultiPoint"}): ("Point", shapely.multipoints),
}


def as_stored(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a layer as :func:`write_gpkg` stores it and ``geopandas.read_file`` reads it.

    What a later step would read back from the GeoPackage, without reading it (as
    :func:`as_written` for the CSV files): the geometry column last, named ``geometry``; a
    layer mixing single and multi types of one kind promoted to the multi type (as pyogrio
    does for GPKG); nullable numbers and booleans as numpy ones (float64 when one is
    missing); texts with NUL written as ␀ (:func:`write_gpkg`); a fresh range index. A
    column this does not know (dates, categories, non-text objects...) and 3D geometries
    go through a GeoPackage in memory instead, so the answer is the stored layer either way.

    Parameters
    ----------
    frame
        A layer, as given to :func:`write_gpkg`.

    Returns
    -------
    geopandas.GeoDataFrame
    """
    geometry = frame.geometry
    data: dict[str, Any] = {}
    for name in frame.columns:
        if name == geometry.name:
            continue
        column = _stored_column(frame[name])
        if column is None:
            return _round_trip(frame)
        data[str(name)] = column
    geoms = geometry.to_numpy()
    if shapely.has_z(geoms).any():
        return _round_trip(frame)
    out = pd.DataFrame(data, columns=list(data), index=None)
    epsg = None if frame.crs is None else frame.crs.to_epsg()
    crs = f"EPSG:{epsg}" if epsg else frame.crs
    return gpd.GeoDataFrame(out, geometry=_promoted(geoms), crs=crs)


def _stored_column(column: pd.Series) -> np.ndarray | None:
    """Return a column as a GeoPackage reads it back; ``None`` for a dtype not known."""
    dtype = str(column.dtype)
    if dtype in _STORED_AS_IS:
        return column.to_numpy()
    if dtype in _STORED_NULLABLE:
        if column.isna().any():
            return column.to_numpy(dtype="float64", na_value=np.nan)
        return column.to_numpy(dtype=_STORED_NULLABLE[dtype])
    if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
        return None
    values = np.empty(len(column), dtype=object)
    for i, v in enumerate(column.array):
        if isinstance(v, str):
            values[i] = v.replace("\x00", "\u2400")
        elif v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            values[i] = None
        else:
            return None  # a number or other object in a text column: OGR's own rendering
    return values  # typed by the DataFrame, as pyogrio's reader does


def _promoted(geoms: np.ndarray) -> np.ndarray:
    """Geometries as a GPKG layer stores them: single promoted to multi when mixed."""
    kinds = frozenset(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
    names = frozenset(_TYPE_NAMES[k] for k in kinds if k in _TYPE_NAMES)
    if len(kinds) != 2 or names not in _PROMOTE:
        return geoms
    single, make = _PROMOTE[names]
    out = geoms.copy()
    mask = shapely.get_type_id(geoms) == _TYPE_IDS[single]
    out[mask] = make(np.atleast_2d(geoms[mask]), axis=0)
    return out


_TYPE_IDS = {"Point": 0, "LineString": 1, "Polygon": 3, "MultiPoint": 4}
_TYPE_IDS |= {"MultiLineString": 5, "MultiPolygon": 6}
_TYPE_NAMES = {v: k for k, v in _TYPE_IDS.items()}


def _round_trip(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a layer through a GeoPackage in memory (never a file of a run)."""
    import io

    buffer = io.BytesIO()
    with pinned_gpkg_time():
        _storable_text(frame, Path("memory.gpkg"), "layer").to_file(
            buffer, layer="layer", driver="GPKG", engine="pyogrio"
        )
    buffer.seek(0)
    with warnings.catch_warnings():  # GDAL notes a GeoPackage held in memory has no .gpkg
        warnings.filterwarnings("ignore", "File /vsimem/", RuntimeWarning)
        return gpd.read_file(buffer, layer="layer", engine="pyogrio")


#: Errors of the system that mean "no room left": a full disk, a quota, a file size limit.
_FULL_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
#: Bytes a probe writes to tell a full disk from another failure of a library's writer.
PROBE_BYTES = 1 << 20


def _reason(exc: OSError) -> str:
    """Return the system's reason, led by "disk full" when that is what it means."""
    reason = exc.strerror or str(exc)
    return f"disk full: {reason}" if exc.errno == errno.ENOSPC else reason


@contextlib.contextmanager
def disk_full_as_oserror(path: Path) -> Iterator[None]:
    """Turn a library writer's failure on a full disk into the ``OSError`` it stands for.

    GDAL (through pyogrio) and SQLite report a full disk in their own words ("Failed to
    commit transaction", "no such table: gpkg_contents", "database or disk is full"). When
    such an error comes, a probe of :data:`PROBE_BYTES` is written beside ``path``: if the
    probe fails for want of room, that ``OSError`` is raised instead (and becomes the
    one-line :class:`OutputError` of the caller); otherwise the library's error stands.

    Parameters
    ----------
    path
        The file being written.
    """
    import sqlite3

    try:
        yield
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, sqlite3.Error):
        full = _probe_room(Path(path).parent)
        if full is None:
            raise
        raise full from None


def _probe_room(folder: Path) -> OSError | None:
    """Return the ``OSError`` of writing a probe file in ``folder`` for want of room, if any."""
    try:
        with tempfile.TemporaryFile(dir=folder) as fh:
            fh.write(b"\0" * PROBE_BYTES)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        return exc if exc.errno in _FULL_DISK else None
    return None


@contextlib.contextmanager
def pinned_gpkg_time(stamp: str = FIXED_TIMESTAMP) -> Iterator[None]:
    """Pin the time GDAL writes into GeoPackages (same bytes every run), then restore it.

    Parameters
    ----------
    stamp
        The timestamp to write (ISO 8601).
    """
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


#: SQLite settings while latcircle writes a GeoPackage: no ``fsync`` at each commit, the
#: rollback journal in memory. Neither changes a byte of the file; both only matter if the
#: machine stops mid-write, and every GeoPackage of a run is written into a temporary folder
#: swapped in once complete (:func:`atomic_folder`), so such a file is never used. Each
#: ``fsync`` cost ~0.1 s of wall time per layer on Wuhan's ``isochrones.gpkg`` (measured
#: 2026-12-07: 0.9-1.2 s for its 8 layers, 0.2 s without; CPU 0.125 s and 0.077 s).
_UNSYNCED_SQLITE = {"OGR_SQLITE_SYNCHRONOUS": "OFF", "OGR_SQLITE_JOURNAL": "MEMORY"}


@contextlib.contextmanager
def unsynced_sqlite() -> Iterator[None]:
    """Write GeoPackages without ``fsync`` and with the journal in memory, then restore.

    The same bytes; see :data:`_UNSYNCED_SQLITE` for why this is safe for latcircle's files.
    """
    previous = {k: pyogrio.get_gdal_config_option(k) for k in _UNSYNCED_SQLITE}
    pyogrio.set_gdal_config_options(_UNSYNCED_SQLITE)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(previous)


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
    if not any(_may_hold_nul(frame[c]) for c in text_cols):
        return frame  # the usual case, decided by one join per column
    # Boolean arrays, not ``Series.map``: an empty object column maps to an object Series
    # whose sum is ``""`` (an empty plan has no rows).
    hit = {
        c: np.fromiter(
            (isinstance(v, str) and "\x00" in v for v in frame[c]), dtype=bool, count=len(frame)
        )
        for c in text_cols
    }
    count = sum(int(m.sum()) for m in hit.values())
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


def _may_hold_nul(column: pd.Series) -> bool:
    """Whether a text column may hold NUL: ``False`` only when none of its values does.

    One join when every value is a text (~0.1 ms for Wuhan's 1,676 key-site names, against
    ~0.8 ms testing each value). Otherwise (missing values, numbers) the join of its texts
    alone: :func:`_storable_text` counts only texts holding NUL, so the answer is the same
    (Wuhan's key sites, whose serving site is missing where none serves, sent all five
    text columns through the per-value test: 7.5 -> ~1 ms, measured 2026-12-07).
    """
    values = column.to_numpy(dtype=object)
    try:
        return "\x00" in "".join(values)
    except TypeError:  # not every value is a text: its texts alone
        return "\x00" in "".join(v for v in values if isinstance(v, str))


#: GDAL settings while a COG is made (:func:`write_cog`, ``causes.tif``). ``GDAL_CACHEMAX``
#: (MB): GDAL's block cache (5 % of RAM by default) would keep a copy of every block made; a
#: small one changes no byte of the file (an assumption: a few 512-pixel blocks per band,
#: checked with scripts/compare_outputs.py, Wuhan and the demo, 2026-12-06). The COG driver's
#: own overviews are not made (the source has them: :mod:`latcircle.output.cogsource`), so
#: ``COG_TMP_COMPRESSION`` (PACKBITS for its temporary overview file, round 11) no longer
#: matters for these files; it is kept for any COG made from a source without overviews.
COG_ENV = {"GDAL_CACHEMAX": 16, "COG_TMP_COMPRESSION": "PACKBITS"}
#: The COGs' block size (pixels), which also sets their overview levels.
COG_BLOCK = 512

#: A band of :func:`write_cog`: a raster, or a callable making it when it is written (the
#: raster is then freed once cast to float32, before the next band is made).
Band = np.ndarray | Callable[[], np.ndarray]


def write_cog(
    values: np.ndarray | Sequence[Band],
    grid: Grid,
    crs: Any,
    path: Path,
    *,
    nodata: float,
    descriptions: Sequence[str] | None = None,
) -> None:
    """Write a float32 raster on ``grid`` as a Cloud-Optimised GeoTIFF.

    Each band is cast to float32 (a float32 band is used as it is) and handed to GDAL's COG
    driver in place, with the overviews the driver would make already made
    (:func:`latcircle.output.cogsource.cog_source`): the same file as GDAL's default route
    (``tests/test_cog_bytes.py``), without GDAL's temporary overview file.

    Parameters
    ----------
    values
        Raster of ``grid.shape``, or a stack ``(bands, *grid.shape)``, or a sequence of
        bands written as bands 1, 2, ...: rasters, or callables that make one when its
        band is cast (so that it need not be held beside the others at full precision).
    grid
        Its grid.
    crs
        Its CRS (anything rasterio accepts).
    path
        Destination file.
    nodata
        The nodata value written in the file.
    descriptions
        One description per band (GDAL band description), e.g. what a band's codes mean.
    """
    if isinstance(values, np.ndarray):
        stack: list[Band] = [values] if values.ndim == 2 else list(values)
    else:
        stack = list(values)
    texts = list(descriptions or [LATENCY_BAND_DESCRIPTION])
    with _guard(path), rasterio.Env(**COG_ENV):
        bands = [
            SourceBand(
                _float32(make() if callable(make) else make),
                description=texts[i] if i < len(texts) else None,
                # Band unit, where GIS tools look (gdalinfo: "Unit Type: us"); band 1 is
                # the latency, further bands carry codes (no unit).
                unit=LATENCY_UNIT if i == 0 else "",
                tags={"units": "microseconds"} if i == 0 else {},
            )
            for i, make in enumerate(stack)
        ]
        with cog_source(
            bands,
            transform=grid.transform,
            crs=crs,
            nodata=nodata,
            block=COG_BLOCK,
            tags={"units": "microseconds"},
        ) as src:
            rasterio.shutil.copy(
                src,
                path,
                driver="COG",
                compress="DEFLATE",
                predictor="YES",
                overview_resampling="nearest",
                blocksize=COG_BLOCK,
            )


def _float32(raster: np.ndarray) -> np.ndarray:
    """Return the band as float32 (numpy's rounding, as the bands always were), C-ordered."""
    return np.ascontiguousarray(raster, dtype=np.float32)


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
