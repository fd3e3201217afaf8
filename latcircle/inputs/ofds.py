"""Read networks published in the Open Fibre Data Standard (OFDS).

OFDS (https://open-fibre-data-standard.readthedocs.io) describes a fibre network as
**nodes** (points of presence, landing stations, ...) and **spans** (the cable between two
nodes, with its route). latcircle reads both publication formats:

- the JSON network package, ``{"networks": [{"nodes": [...], "spans": [...]}]}`` (or one
  bare network object), where a span's ``start`` / ``end`` are node ids and its ``route`` a
  GeoJSON LineString;
- GeoJSON feature collections, where span features (``featureType: "span"``) embed their
  ``start`` / ``end`` node objects; node features (``featureType: "node"``) may sit in the
  same collection.

Each span becomes one line from its start node to its end node (``u``/``v`` = node ids), its
geometry the route (or the straight line between the nodes' locations when a span has no
route), with the span's ``status`` and, for spans not yet built, the year of its
``readyForServiceDate`` as ``online_year``. Coordinates are WGS84 longitude/latitude, as
OFDS requires. A node attribute named by ``node_latency_field`` gives that node's device
latency in microseconds. Anything that cannot be read raises
:class:`~latcircle.errors.InputError` naming the file, the field and what is wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.errors import ShapelyError
from shapely.geometry import LineString, shape

from latcircle.errors import InputError
from latcircle.inputs.checks import YEAR_RANGE

__all__ = ["is_ofds", "read_ofds"]

#: Bytes of a ``.geojson`` file looked at to tell OFDS from plain lines.
SNIFF_BYTES = 1 << 20

#: GeoJSON's geometry types (RFC 7946, section 3.1; its type names are case-sensitive).
GEOJSON_TYPES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)


def is_ofds(path: Path) -> bool:
    """Return whether a network file is OFDS (JSON package or GeoJSON spans).

    Parameters
    ----------
    path
        The network file.
    """
    # A sniff of the head, not a parse: read_ofds parses the file once, and says so when it
    # is not OFDS after all.
    keys = {".json": (b'"networks"', b'"spans"'), ".geojson": (b'"featureType"',)}
    wanted = keys.get(path.suffix.lower())
    if wanted is None:
        return False
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    return any(k in head for k in wanted)


def read_ofds(
    path: Path, *, node_latency_field: str | None = None
) -> tuple[gpd.GeoDataFrame, dict[object, float] | None]:
    """Read an OFDS network as lines between node ids.

    Parameters
    ----------
    path
        An OFDS JSON network package or GeoJSON feature collection.
    node_latency_field
        Node attribute carrying the node's device latency (µs), when there is one.

    Returns
    -------
    lines
        ``u``, ``v`` (node ids as text), ``span_id``, ``status``, ``online_year`` (nullable
        integer) and LineString ``geometry`` in EPSG:4326, one row per span.
    node_latency_us
        Device latency by node id, ``None`` without ``node_latency_field``.

    Raises
    ------
    InputError
        For a file that is not OFDS, a span without a start or end node, or a node without
        a location where a span needs it.
    """
    data = _load(path)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        raise InputError(path, None, f"not an OFDS network: the top level is {kind}, not an object")
    if path.suffix.lower() == ".geojson" or data.get("type") == "FeatureCollection":
        networks = [_network_from_geojson(data, path)]
    else:
        networks = _networks_from_json(data, path)
    prefix = len(networks) > 1  # node ids are unique within a network only
    rows: list[dict[str, Any]] = []
    latency: dict[object, float] = {}
    for k, (nodes, spans) in enumerate(networks):
        tag = f"{k}:" if prefix else ""
        for where, span, route_at in spans:
            rows.append(_span_row(span, nodes, path, where, tag, route_at=route_at))
        if node_latency_field:
            for node_id, node in nodes.items():
                if node_latency_field in node and node[node_latency_field] is not None:
                    latency[tag + node_id] = _device_us(
                        node[node_latency_field], path, node_latency_field, node_id
                    )
    if not rows:
        raise InputError(path, "spans", "the OFDS network has no spans")
    frame = pd.DataFrame(rows)
    frame["online_year"] = pd.array(frame["online_year"], dtype="Int64")
    lines = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    return lines, (latency if node_latency_field else None)


def _load(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except RecursionError:
        raise InputError(path, None, "cannot read the OFDS file: nested too deeply") from None
    except (OSError, ValueError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, None, f"cannot read the OFDS file: {text}") from None


#: A network read: its nodes by id, and its spans as (where the span is, the span, where its
#: route is: ``spans[i].route`` in a package, ``features[i].geometry`` in GeoJSON).
_Network = tuple[dict[str, Mapping[str, Any]], list[tuple[str, Any, str]]]


def _networks_from_json(data: Any, path: Path) -> list[_Network]:
    if not isinstance(data, dict):
        raise InputError(path, None, "not an OFDS network package (no networks)")
    nets = data.get("networks", [data])
    if not isinstance(nets, list) or not nets:
        raise InputError(path, "networks", "must be a non-empty list of networks")
    out = []
    for k, net in enumerate(nets):
        at = f"networks[{k}]" if "networks" in data else ""
        if not isinstance(net, dict):
            raise InputError(path, at or None, "must be an object")
        nodes: dict[str, Mapping[str, Any]] = {}
        first: dict[str, int] = {}
        for i, node in enumerate(_list(net, "nodes", path, at)):
            where = _join(at, f"nodes[{i}]")
            if not isinstance(node, dict):
                raise InputError(path, where, f"must be an object, got {_kind(node)}")
            node_id = _text_id(node.get("id"))
            if node_id is None:
                raise InputError(path, f"{where}.id", "missing")
            if node_id in first:
                also = _join(at, f"nodes[{first[node_id]}]")
                raise InputError(path, f"{where}.id", f"duplicate node id {node_id!r} ({also})")
            first[node_id] = i
            nodes[node_id] = node
        spans = [
            (_join(at, f"spans[{i}]"), s, _join(at, f"spans[{i}].route"))
            for i, s in enumerate(_list(net, "spans", path, at))
        ]
        out.append((nodes, spans))
    return out


def _list(obj: Mapping[str, Any], key: str, path: Path, at: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(path, _join(at, key), f"must be a list, got {_kind(value)}")
    return value


def _join(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def _kind(value: object) -> str:
    """How a JSON value is named in a message: object, list, string, number, boolean, null."""
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def _network_from_geojson(data: Any, path: Path) -> _Network:
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise InputError(path, "features", "not a GeoJSON feature collection")
    nodes: dict[str, Mapping[str, Any]] = {}
    first: dict[str, int] = {}
    spans: list[tuple[str, Any, str]] = []
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise InputError(path, f"features[{i}]", f"must be an object, got {_kind(feature)}")
        raw = feature.get("properties") or {}
        if not isinstance(raw, dict):
            raise InputError(
                path, f"features[{i}].properties", f"must be an object, got {_kind(raw)}"
            )
        props = dict(raw)
        kind = props.get("featureType")
        if kind == "node":
            node_id = _text_id(props.get("id"))
            if node_id is None:
                raise InputError(path, f"features[{i}].properties.id", "missing")
            if node_id in first:
                raise InputError(
                    path,
                    f"features[{i}].properties.id",
                    f"duplicate node id {node_id!r} (features[{first[node_id]}])",
                )
            first[node_id] = i
            nodes[node_id] = {**props, "location": feature.get("geometry")}
        elif kind == "span":
            route = feature.get("geometry")
            spans.append(
                (f"features[{i}].properties", {**props, "route": route}, f"features[{i}].geometry")
            )
        else:
            raise InputError(
                path, f"features[{i}].properties.featureType", f"not node or span: {kind!r}"
            )
    # Span features embed their end nodes: they are nodes too (node features win).
    for _, span, _ in spans:
        for end in ("start", "end"):
            node = span.get(end)
            node_id = _text_id(node.get("id")) if isinstance(node, dict) else None
            if isinstance(node, dict) and node_id is not None and node_id not in nodes:
                nodes[node_id] = node
    return nodes, spans


def _text_id(value: object) -> str | None:
    """Node ids as text (OFDS ids are strings; integers are accepted as their digits)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


def _span_row(
    span: Mapping[str, Any],
    nodes: Mapping[str, Mapping[str, Any]],
    path: Path,
    where: str,
    tag: str,
    *,
    route_at: str,
) -> dict[str, Any]:
    """Return one span as a line row (``where`` names it in messages, ``route_at`` its route)."""
    if not isinstance(span, dict):
        raise InputError(path, where, f"must be an object, got {_kind(span)}")
    ends = []
    for end in ("start", "end"):
        ref = span.get(end)
        node_id = _text_id(ref.get("id") if isinstance(ref, dict) else ref)
        if node_id is None:
            raise InputError(path, f"{where}.{end}", "missing: every span joins two nodes")
        ends.append(node_id)
    route = span.get("route")
    if route is not None:  # "", {} or 0 is a route given wrongly, not one left out
        _check_route(route, path, route_at)
        try:
            geom = shape(route)
        except (AttributeError, KeyError, TypeError, ValueError, ShapelyError):
            raise InputError(path, route_at, "not a GeoJSON geometry") from None
        if geom.geom_type not in ("LineString", "MultiLineString"):
            raise InputError(path, route_at, f"must be a line, got {geom.geom_type}")
    else:
        geom = LineString([_location(nodes, node_id, path, route_at) for node_id in ends])
    return {
        "u": tag + ends[0],
        "v": tag + ends[1],
        "span_id": _text_id(span.get("id")),
        "status": span.get("status"),
        "online_year": _year(span.get("readyForServiceDate"), path, f"{where}.readyForServiceDate"),
        "geometry": geom,
    }


def _location(
    nodes: Mapping[str, Mapping[str, Any]], node_id: str, path: Path, route_at: str
) -> tuple[float, float]:
    """Return where node ``node_id`` is, to draw a span without a route (``route_at``) to it."""
    node = nodes.get(node_id)
    loc = node.get("location") if node else None
    coords = loc.get("coordinates") if isinstance(loc, dict) else None
    if isinstance(loc, dict) and coords is not None and loc.get("type") != "Point":
        # A location is a GeoJSON Point (OFDS); its coordinates are not read as one otherwise.
        where = f"node {node_id!r}: location.type"
        raise InputError(path, where, f"must be 'Point', got {_type(loc.get('type'))}")
    # Any other value (a number, a text, a mapping) is refused by _position, naming its kind.
    if coords is None or (isinstance(coords, list | tuple) and len(coords) < 2):
        raise InputError(
            path, route_at, f"missing, and node {node_id!r} has no location to draw it"
        )
    return _position(coords, path, f"node {node_id!r}: location.coordinates")


def _year(value: object, path: Path, where: str) -> int | None:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        year = int(text) if len(text) == 4 else dt.date.fromisoformat(text[:10]).year
    except ValueError:
        raise InputError(path, where, f"not a date (YYYY-MM-DD): {value!r}") from None
    lo, hi = YEAR_RANGE
    if isinstance(value, bool) or not lo <= year <= hi:
        raise InputError(path, where, f"year {year} is not from {lo} to {hi}: {value!r}")
    return year


def _device_us(value: object, path: Path, field: str, node_id: str) -> float:
    try:
        if isinstance(value, bool):  # JSON true is not 1 µs
            raise TypeError
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(path, field, f"node {node_id!r}: not a number: {value!r}") from None
    if not math.isfinite(out) or out < 0:
        raise InputError(path, field, f"node {node_id!r}: must be a finite number >= 0")
    return out


def _check_route(route: object, path: Path, where: str) -> None:
    """Check a route's GeoJSON type, and that a line's positions are finite lon/lat pairs.

    A line has two positions or more, or none (an empty route, counted and left out with
    the other features without geometry).
    """
    if not isinstance(route, dict):
        raise InputError(path, where, f"not a GeoJSON geometry: {_kind(route)}")
    coords = route.get("coordinates")
    kind = route.get("type")
    if "type" not in route:
        raise InputError(path, f"{where}.type", "missing")
    if not isinstance(kind, str) or kind not in GEOJSON_TYPES:
        # shapely would read "linestring" (skipping the checks below) and fail on "" or "Foo".
        raise InputError(path, f"{where}.type", f"not a GeoJSON geometry type: {_type(kind)}")
    lines = [coords] if kind == "LineString" else coords if kind == "MultiLineString" else None
    if not isinstance(lines, list):
        return  # not a line: shape() and the geometry check name it
    for j, line in enumerate(lines):
        at = f"{where}.coordinates" + (f"[{j}]" if kind == "MultiLineString" else "")
        if not isinstance(line, list):
            raise InputError(path, at, f"must be a list of positions, got {_kind(line)}")
        if len(line) == 1:  # none is an empty line (counted and left out with the others)
            raise InputError(path, at, "a line needs two positions or more, got one")
        for i, pos in enumerate(line):
            _position(pos, path, f"{at}[{i}]")


def _type(kind: object) -> str:
    """Return a GeoJSON ``type`` as the error says it: a text quoted, anything else by kind."""
    return repr(kind) if isinstance(kind, str) else _kind(kind)


def _position(pos: object, path: Path, where: str) -> tuple[float, float]:
    """Return a GeoJSON position (two or three finite numbers, lon then lat) checked."""
    if not isinstance(pos, list | tuple) or not 2 <= len(pos) <= 3:
        raise InputError(path, where, f"must be [longitude, latitude], got {_kind(pos)}")
    for value in pos:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(path, where, f"not a number: {value!r}")
        if not math.isfinite(value):
            raise InputError(path, where, f"not a finite number: {value!r}")
    lon, lat = float(pos[0]), float(pos[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(path, where, f"not a longitude/latitude: {lon:g}, {lat:g}")
    return lon, lat
