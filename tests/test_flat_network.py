"""A network read as flat coordinates gives what the frame reader gives, bit for bit.

``inputs.lines._read_flat_network`` (session round 13) reads a plain GeoParquet network's
WKB straight into coordinates (``inputs.flatlines``), without a shapely LineString per line;
since round 18 a GeoPackage's too, through GDAL's Arrow stream. The reference is the frame
reader it stands in for (``geopandas.read_parquet`` / ``geopandas.read_file``, shapely's
WKB parser, ``GeoDataFrame.to_crs``, ``shapely.length``): every case below is read both
ways, from both formats, and must give the same coordinates, offsets, lengths, columns,
notes and counts, or the very same refusal. Cases the flat path must leave to the frame
reader (it returns ``None``) are checked to do so, and to be refused in the frame reader's
words.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio.raw
import pyproj
import pytest
import shapely

from latcircle.config import NetworkInput, NetworkStatus
from latcircle.engine.edgelines import EdgeLines
from latcircle.engine.network import line_table
from latcircle.errors import InputError
from latcircle.inputs import lines as lines_module
from latcircle.inputs.flatlines import FlatLines, parse_wkb_lines, read_flat_lines
from latcircle.inputs.lines import _read_network

UTM50 = pyproj.CRS.from_epsg(32650)
WUHAN_ROADS = Path(__file__).resolve().parents[1] / "../shared/data/wuhan/roads_osm.parquet"


def _random_lines(rng: np.random.Generator, n: int, *, max_vertices: int = 12) -> list[Any]:
    out = []
    for _ in range(n):
        k = int(rng.integers(2, max_vertices + 1))
        x0, y0 = rng.uniform(230_000, 240_000), rng.uniform(3_370_000, 3_380_000)
        steps = rng.normal(0, 37.3, size=(k, 2))
        steps[0] = 0
        out.append(shapely.LineString(np.cumsum(steps, axis=0) + np.array([x0, y0])))
    return out


def _frame_read(spec: NetworkInput, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """``_read_network`` with the flat path turned off: the frame reader's outcome."""
    with monkeypatch.context() as m:
        m.setattr(lines_module, "_read_flat_network", lambda *a: None)
        return _outcome(spec)


def _outcome(spec: NetworkInput) -> tuple[Any, ...]:
    notes: list[str] = []
    stats: dict[str, float] = {}
    try:
        lines, _ = _read_network(spec, UTM50, notes, stats)
    except InputError as exc:
        return ("refused", str(exc))
    return ("read", line_table(lines), notes, stats, type(lines))


def _assert_same(spec: NetworkInput, monkeypatch: pytest.MonkeyPatch, *, flat: bool) -> None:
    """Both ways give one outcome; ``flat``: the flat path answered (else it stood aside)."""
    assert (read_flat_lines(spec) is not None) == flat
    got, ref = _outcome(spec), _frame_read(spec, monkeypatch)
    assert got[0] == ref[0], (got, ref)
    if got[0] == "refused":
        assert got[1] == ref[1]
        return
    table, ref_table = got[1], ref[1]
    assert got[4] is (FlatLines if flat else gpd.GeoDataFrame)
    assert np.array_equal(table.geometry.coords, ref_table.geometry.coords)
    assert np.array_equal(table.geometry.offsets, ref_table.geometry.offsets)
    assert table.length.tobytes() == ref_table.length.tobytes()  # bit for bit
    pd.testing.assert_frame_equal(table.columns, ref_table.columns, check_exact=True)
    assert table.n_empty == ref_table.n_empty
    assert got[2] == ref[2] and got[3] == ref[3]


#: The formats the flat path reads.
FORMATS = ["parquet", "gpkg"]


def _write(tmp_path: Path, frame: gpd.GeoDataFrame, fmt: str = "parquet") -> Path:
    path = tmp_path / f"roads.{fmt}"
    path.unlink(missing_ok=True)
    if fmt == "parquet":
        frame.to_parquet(path)
        return path
    with warnings.catch_warnings():  # a file without a CRS is one of the cases
        warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
        frame.to_file(path, driver="GPKG", engine="pyogrio")
    return path


def _edit_geopackage(path: Path, *updates: str) -> None:
    """Apply ``UPDATE <the layer> <update>`` statements to a one-layer GeoPackage, in SQL.

    As another tool might have left the file. The spatial index's triggers are dropped first
    (they call GDAL's SQL functions; the index is not read here).
    """
    import contextlib
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as con, con:  # committed, then closed
        (table,) = con.execute("SELECT table_name FROM gpkg_contents").fetchone()
        for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            con.execute(f'DROP TRIGGER "{trigger}"')
        for update in updates:
            con.execute(f'UPDATE "{table}" {update}')


@pytest.mark.skipif(not WUHAN_ROADS.exists(), reason="the shared Wuhan data is not here")
def test_wuhan_roads_flat_as_the_frame_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    _assert_same(NetworkInput(path=WUHAN_ROADS.resolve(), kind="road"), monkeypatch, flat=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_lines_with_ids_and_many_vertices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    rng = np.random.default_rng(3)
    geoms = _random_lines(rng, 400, max_vertices=40)
    frame = gpd.GeoDataFrame(
        {"u": rng.integers(0, 50, 400), "v": rng.integers(50, 99, 400), "highway": "primary"},
        geometry=geoms,
        crs=UTM50,
    )
    spec = NetworkInput(path=_write(tmp_path, frame, fmt), kind="road")
    _assert_same(spec, monkeypatch, flat=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_lines_in_wgs84_are_transformed_as_to_crs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    frame = gpd.GeoDataFrame(
        {"highway": ["primary"] * 300}, geometry=_random_lines(np.random.default_rng(4), 300)
    )
    path = _write(tmp_path, frame.set_crs(UTM50).to_crs(4326), fmt)
    _assert_same(NetworkInput(path=path, kind="road"), monkeypatch, flat=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_highway_filter_status_and_years(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    rng = np.random.default_rng(5)
    frame = gpd.GeoDataFrame(
        {
            "highway": rng.choice(["primary", "track", "secondary"], 200),
            "status": rng.choice(["built", "planned", "decommissioned"], 200),
            "online_year": rng.choice(["", "2027", "2030"], 200),
        },
        geometry=_random_lines(rng, 200),
        crs=UTM50,
    )
    path = _write(tmp_path, frame, fmt)
    for spec in (
        NetworkInput(path=path, kind="road", highway=["primary", "secondary"]),
        NetworkInput(path=path, kind="fibre"),  # the default status mapping
        NetworkInput(
            path=path,
            kind="road",
            highway=["secondary"],
            status=NetworkStatus(planned_online_year=2029),
        ),
    ):
        _assert_same(spec, monkeypatch, flat=True)
    # Refusals from the columns: the frame reader's words.
    _assert_same(NetworkInput(path=path, kind="road", highway=["motorway"]), monkeypatch, flat=True)
    bad = frame.assign(online_year=["1200", *frame["online_year"][1:]])
    spec = NetworkInput(path=_write(tmp_path, bad, fmt), kind="road")
    _assert_same(spec, monkeypatch, flat=True)
    assert "not a year in row 1" in _outcome(spec)[1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_uv_loops_apart_and_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    closed = shapely.LineString([(0, 0), (10, 0), (10, 10), (0, 0)])
    apart = shapely.LineString([(0, 0), (10, 0)])
    other = shapely.LineString([(20, 0), (30, 0)])
    ring = gpd.GeoDataFrame({"u": [7, 1], "v": [7, 2]}, geometry=[closed, other], crs=UTM50)
    spec = NetworkInput(path=_write(tmp_path, ring, fmt), kind="road")
    _assert_same(spec, monkeypatch, flat=True)
    frame = gpd.GeoDataFrame(
        {"u": [1, 7], "v": [2, 7]}, geometry=[other, apart], crs=UTM50, index=[40, 41]
    )
    spec = NetworkInput(path=_write(tmp_path, frame, fmt), kind="road")
    _assert_same(spec, monkeypatch, flat=True)
    # GeoParquet keeps the frame's index, a GeoPackage numbers its features from 1.
    feature = 42 if fmt == "parquet" else 2
    message = f"feature {feature} has u = v = 7 but its ends lie 10 m apart"
    assert message in _outcome(spec)[1]
    text = frame.assign(u=["1", "a"], v=["2", "a"])
    spec = NetworkInput(path=_write(tmp_path, text, fmt), kind="road")
    _assert_same(spec, monkeypatch, flat=True)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "case",
    [
        "empty",
        "null",
        "multi",
        "points",
        "z",
        "nan",
        "inf",
        "1e300",
        "no-crs",
        "no-rows",
        "declared-crs",
        "degrees-out-of-range",
    ],
)
def test_what_the_flat_path_leaves_to_the_frame_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, fmt: str
) -> None:
    geoms = _random_lines(np.random.default_rng(6), 20)
    crs: Any = UTM50
    spec_crs = None
    if case == "empty":
        geoms[3] = shapely.LineString()
    elif case == "null":
        geoms[3] = None
    elif case == "multi":
        geoms[3] = shapely.MultiLineString([geoms[3], geoms[4]])
    elif case == "points":
        geoms = [shapely.Point(0, 0)] * 20
    elif case == "z":
        geoms[3] = shapely.force_3d(geoms[3])
    elif case in ("nan", "inf", "1e300"):
        value = {"nan": np.nan, "inf": np.inf, "1e300": 1e300}[case]
        geoms[3] = shapely.LineString([(value, 3_380_000.0), (236_000.0, 3_380_000.0)])
    elif case == "no-crs":
        crs = None
    elif case == "declared-crs":
        spec_crs = "EPSG:32650"
    elif case == "degrees-out-of-range":
        geoms[3] = shapely.LineString([(200.0, 30.0), (114.0, 30.0)])
        geoms = [geoms[3]] + [shapely.LineString([(114.0, 30.0), (114.1, 30.1)])] * 19
        crs = 4326
    frame = gpd.GeoDataFrame({"highway": ["primary"] * 20}, geometry=geoms, crs=crs)
    if case == "no-rows":
        frame = frame.iloc[:0]
    path = _write(tmp_path, frame, fmt)
    spec = NetworkInput(path=path, kind="road", crs=spec_crs)
    _assert_same(spec, monkeypatch, flat=False)


#: A GeoPackage column of each kind, and whether the flat path reads it (its ``to_pandas`` is
#: the frame reader's column) or leaves the file to the frame reader. Nulls in integer and
#: boolean columns make the frame reader's column float64 and Arrow's float64 or objects,
#: so those are left; dates and times are left whatever they hold.
GPKG_COLUMNS: dict[str, tuple[Any, bool]] = {
    "int64": ([1, 2**40, -3], True),
    "int32": (np.array([1, 2, -3], dtype=np.int32), True),
    "int16": (np.array([1, 2, -3], dtype=np.int16), True),
    "int64-null": (pd.array([1, None, 3], dtype="Int64"), False),
    "float64-nan": ([1.5, np.nan, -0.0], True),
    "float32": (np.array([1.25, 2.5, 3.0], dtype=np.float32), True),
    "text-null": (["primary", None, "\u6b66\u6c49"], True),
    "bool": ([True, False, True], True),
    "bool-null": (pd.array([True, None, False], dtype="boolean"), False),
    "datetime": (pd.to_datetime(["2027-01-01", "2028-06-30", None]), False),
    "date": ([pd.Timestamp("2027-01-01").date()] * 3, True),  # a GeoPackage text
}


@pytest.mark.parametrize("kind", list(GPKG_COLUMNS))
def test_geopackage_columns_as_the_frame_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    values, answers = GPKG_COLUMNS[kind]
    geoms = _random_lines(np.random.default_rng(10), 3)
    frame = gpd.GeoDataFrame({"c": values, "u": [1, 2, 3]}, geometry=geoms, crs=UTM50)
    spec = NetworkInput(path=_write(tmp_path, frame, "gpkg"), kind="road")
    flat = read_flat_lines(spec)
    assert (flat is not None) == answers
    if flat is not None:
        ref = gpd.read_file(spec.path, engine="pyogrio").drop(columns="geometry")
        pd.testing.assert_frame_equal(flat.columns, pd.DataFrame(ref), check_exact=True)
    _assert_same(spec, monkeypatch, flat=answers)


def test_geopackage_layer_and_many_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The named layer of two; more lines than one Arrow batch holds (65,536), of any length."""
    rng = np.random.default_rng(11)
    n = 70_001
    counts = rng.integers(2, 6, n)
    steps = rng.normal(0, 30.0, (int(counts.sum()), 2))
    starts = np.repeat(rng.uniform([230_000, 3_370_000], [240_000, 3_380_000], (n, 2)), counts, 0)
    owner = np.repeat(np.arange(n), counts)
    geoms = shapely.linestrings(starts + steps, indices=owner)
    frame = gpd.GeoDataFrame(
        {"u": np.arange(n), "v": np.arange(n) + n, "highway": rng.choice(["primary", None], n)},
        geometry=geoms,
        crs=UTM50,
    )
    path = tmp_path / "two.gpkg"
    frame.iloc[:5].to_file(path, layer="first", driver="GPKG", engine="pyogrio")
    frame.to_file(path, layer="roads", driver="GPKG", engine="pyogrio")
    meta, table = pyogrio.raw.read_arrow(path, layer="roads")
    assert table.column(meta["geometry_name"]).num_chunks > 1  # the case's premise
    spec = NetworkInput(path=path, kind="road", layer="roads")
    flat = read_flat_lines(spec)
    assert flat is not None and len(flat) == n
    assert np.array_equal(flat.coords, shapely.get_coordinates(geoms))
    _assert_same(spec, monkeypatch, flat=True)
    first = read_flat_lines(NetworkInput(path=path, kind="road", layer="first"))
    assert first is not None and len(first) == 5
    assert np.array_equal(first.coords, shapely.get_coordinates(geoms[:5]))


def test_geopackage_feature_order_after_fids_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Features whose ids no longer follow the rows' order come in the frame reader's order."""
    rng = np.random.default_rng(12)
    geoms = _random_lines(rng, 60)
    frame = gpd.GeoDataFrame(
        {"u": np.arange(60), "v": np.arange(60) + 60}, geometry=geoms, crs=UTM50
    )
    path = _write(tmp_path, frame, "gpkg")
    _edit_geopackage(path, "SET fid = 1000 WHERE fid = 5", "SET fid = -7 WHERE fid = 50")
    spec = NetworkInput(path=path, kind="road")
    flat = read_flat_lines(spec)
    assert flat is not None
    assert list(flat.columns["u"][:2]) == [49, 0] and flat.columns["u"].iloc[-1] == 4
    ref = gpd.read_file(path, engine="pyogrio")
    assert np.array_equal(flat.columns["u"].to_numpy(), ref["u"].to_numpy())
    assert np.array_equal(flat.coords, shapely.get_coordinates(ref.geometry))
    _assert_same(spec, monkeypatch, flat=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_not_utf8_is_the_frame_readers_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """A text that is not UTF-8 (pyarrow and GDAL's stream pass its bytes on): refused.

    The flat path stands aside; the frame reader refuses the file, pyogrio in its own words
    (it decodes every text), a GeoParquet file by latcircle's check (pyarrow does not).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    geoms = _random_lines(np.random.default_rng(13), 5)
    frame = gpd.GeoDataFrame({"highway": ["primary"] * 5}, geometry=geoms, crs=UTM50)
    path = _write(tmp_path, frame, fmt)
    if fmt == "gpkg":
        _edit_geopackage(path, "SET highway = CAST(X'FF70' AS TEXT) WHERE fid = 2")
        says = "cannot read network file: 'utf-8' codec can't decode byte 0xff"
    else:
        data = pq.read_table(path)
        texts = [b"primary", b"\xffp", b"primary", b"primary", b"primary"]  # row 2 not UTF-8
        offsets = np.cumsum([0, *map(len, texts)]).astype(np.int32)
        buffers = [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(texts))]
        bad = pa.Array.from_buffers(pa.string(), len(texts), buffers)
        data = data.set_column(data.schema.get_field_index("highway"), "highway", bad)
        pq.write_table(data.replace_schema_metadata({b"geo": data.schema.metadata[b"geo"]}), path)
        says = "highway: row 2 is not UTF-8 text: b'\\xffp'"
    spec = NetworkInput(path=path, kind="road")
    _assert_same(spec, monkeypatch, flat=False)
    refusal = _outcome(spec)
    assert refusal[0] == "refused" and says in refusal[1], refusal


def test_first_text_not_utf8_counts_rows_across_chunks_and_nulls() -> None:
    import pyarrow as pa

    from latcircle.inputs.checks import first_text_not_utf8

    def texts(kind: pa.DataType, values: list[bytes | None]) -> pa.Array:
        sizes = [len(v or b"") for v in values]
        width = np.int64 if kind == pa.large_string() else np.int32
        offsets = np.cumsum([0, *sizes]).astype(width)
        valid = np.packbits(np.array([v is not None for v in values]), bitorder="little")
        data = pa.py_buffer(b"".join(v or b"" for v in values))
        return pa.Array.from_buffers(
            kind, len(values), [pa.py_buffer(valid.tobytes()), pa.py_buffer(offsets), data]
        )

    for kind in (pa.string(), pa.large_string()):
        good = texts(kind, [b"a", None, "\u6b66".encode()])
        bad = texts(kind, [None, b"ok", b"x\xc3"])  # a cut two-byte sequence, row 3 of chunk 2
        table = pa.table({"n": [1, 2, 3, 4, 5, 6], "t": pa.chunked_array([good, bad])})
        assert first_text_not_utf8(table) == ("t", 5, b"x\xc3")
        assert first_text_not_utf8(table.slice(0, 3)) is None
        assert first_text_not_utf8(table.slice(4, 2)) == ("t", 1, b"x\xc3")  # a sliced chunk
        assert first_text_not_utf8(pa.table({"n": [1]})) is None
    # A dictionary (a GeoParquet file's categories): the first row whose entry is bad.
    entries = texts(pa.string(), [b"ok", b"b\xffd", b"\xfe"])
    codes = pa.array([0, 0, 2, 1, 1], pa.int8())
    categories = pa.table({"c": pa.DictionaryArray.from_arrays(codes, entries)})
    assert first_text_not_utf8(categories) == ("c", 2, b"\xfe")
    unused = pa.DictionaryArray.from_arrays(pa.array([0], pa.int8()), entries)
    assert first_text_not_utf8(pa.table({"c": unused})) == ("c", -1, b"")
    # Offsets out of order: malformed, no one text to show (and nothing read out of bounds).
    offsets = pa.py_buffer(np.array([0, 5, 3, 6], dtype=np.int32).tobytes())
    broken = pa.Array.from_buffers(pa.string(), 3, [None, offsets, pa.py_buffer(b"abcdef")])
    assert first_text_not_utf8(pa.table({"t": broken})) == ("t", -1, b"")


def test_the_refusal_shows_at_most_40_bytes() -> None:
    """The text in the message: whole at 40 bytes, cut with "..." at 41; nothing for valid."""
    import pyarrow as pa

    from latcircle.inputs.checks import check_texts_utf8

    def table(value: bytes) -> pa.Table:
        offsets = pa.py_buffer(np.array([0, 2, 2 + len(value)], dtype=np.int32).tobytes())
        data = pa.py_buffer(b"ok" + value)
        return pa.table({"name": pa.Array.from_buffers(pa.string(), 2, [None, offsets, data])})

    forty = b"\xff" + b"a" * 39
    with pytest.raises(InputError) as whole:
        check_texts_utf8(table(forty), "f.parquet")
    assert str(whole.value).endswith(f"name: row 2 is not UTF-8 text: {forty!r}")
    with pytest.raises(InputError) as cut:
        check_texts_utf8(table(forty + b"b"), "f.parquet")
    assert str(cut.value).endswith(f"name: row 2 is not UTF-8 text: {forty!r}...")
    check_texts_utf8(table("\u6b66\u6c49".encode() + b"a" * 40), "f.parquet")  # valid: quiet


def test_parse_wkb_lines_against_shapely() -> None:
    rng = np.random.default_rng(8)
    for geoms in (_random_lines(rng, 300), [shapely.LineString([(1, 2), (3, 4)])] * 50):
        wkb = shapely.to_wkb(np.array(geoms, dtype=object), byte_order=1)
        sizes = np.array([len(b) for b in wkb])
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        data = np.frombuffer(b"".join(wkb), dtype=np.uint8)
        coords, line_offsets = parse_wkb_lines(offsets, data)
        ref, owner = shapely.get_coordinates(np.array(geoms, dtype=object), return_index=True)
        assert np.array_equal(coords, ref)
        assert np.array_equal(np.diff(line_offsets), np.bincount(owner))
        # The same records inside a larger buffer (a sliced Arrow array).
        padded = np.concatenate([np.zeros(5, np.uint8), data, np.zeros(3, np.uint8)])
        again = parse_wkb_lines(offsets + 5, padded)
        assert again is not None and np.array_equal(again[0], ref)


def _records(*wkb: bytes) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in wkb])])
    return offsets, np.frombuffer(b"".join(wkb), dtype=np.uint8)


def test_parse_wkb_lines_refuses_what_is_not_a_plain_line() -> None:
    line = shapely.LineString([(1, 2), (3, 4), (5, 7)])
    good = shapely.to_wkb(line, byte_order=1)
    assert parse_wkb_lines(*_records(good, good)) is not None
    big_endian = shapely.to_wkb(line, byte_order=0)
    with_z = shapely.to_wkb(shapely.force_3d(line), byte_order=1, output_dimension=3)
    iso_z = struct.pack("<BII", 1, 1002, 2) + struct.pack("<6d", 1, 2, 0, 3, 4, 0)
    with_srid = struct.pack("<BII", 1, 0x20000002, 4326) + good[5:]  # EWKB with an SRID
    point = shapely.to_wkb(shapely.Point(1, 2), byte_order=1)
    one_vertex = struct.pack("<BII2d", 1, 2, 1, 1.0, 2.0)
    short = good[:-8]
    long_count = struct.pack("<BII", 1, 2, 4) + good[9:]  # says 4 vertices, holds 3
    odd = (big_endian, with_z, iso_z, with_srid, point, one_vertex, short, long_count, b"\x01")
    for bad in odd:
        assert parse_wkb_lines(*_records(good, bad)) is None, bad
        assert parse_wkb_lines(*_records(bad, bad)) is None, bad


def test_lengths_are_shapely_lengths_bit_for_bit() -> None:
    rng = np.random.default_rng(9)
    geoms = np.array(_random_lines(rng, 2000, max_vertices=60), dtype=object)
    lines = EdgeLines.from_geometry(geoms)
    assert lines.objects is None
    assert lines.lengths().tobytes() == shapely.length(geoms).tobytes()
    assert lines.take(slice(0, 0)).lengths().shape == (0,)


def test_one_file_read_is_read_table(tmp_path: Path) -> None:
    """The flat reader's ``ParquetFile.read`` gives ``pq.read_table``'s table, metadata too."""
    import pyarrow.parquet as pq

    frame = gpd.GeoDataFrame(
        {"u": [1, 2], "v": [2, 3], "highway": ["primary", None]},
        geometry=[shapely.LineString([(0, 0), (1, 1)]), shapely.LineString([(1, 1), (2, 0)])],
        crs=32650,
    )
    made = tmp_path / "roads.parquet"
    frame.to_parquet(made)
    for path in (WUHAN_ROADS, made):
        if not path.exists():
            continue
        with pq.ParquetFile(path) as file:
            got = file.read()
        want = pq.read_table(path)
        assert got.schema.equals(want.schema, check_metadata=True)
        assert got.equals(want)
