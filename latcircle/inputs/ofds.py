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

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, shape

from latcircle.errors import InputError

__all__ = ["is_ofds", "read_ofds"]

#: Bytes of a ``.geojson`` file looked at to tell OFDS from plain lines.
SNIFF_BYTES = 1 << 20


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
    if path.suffix.lower() == ".geojson" or data.get("type") == "FeatureCollection":
        networks = [_network_from_geojson(data, path)]
    else:
        networks = _networks_from_json(data, path)
    prefix = len(networks) > 1  # node ids are unique within a network only
    rows: list[dict[str, Any]] = []
    latency: dict[object, float] = {}
    for k, (nodes, spans) in enumerate(networks):
        tag = f"{k}:" if prefix else ""
        for i, span in enumerate(spans):
            rows.append(_span_row(span, nodes, path, f"spans[{i}]", tag))
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
    except (OSError, ValueError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, None, f"cannot read the OFDS file: {text}") from None


def _networks_from_json(
    data: Any, path: Path
) -> list[tuple[dict[str, Mapping[str, Any]], list[Mapping[str, Any]]]]:
    if not isinstance(data, dict):
        raise InputError(path, None, "not an OFDS network package (no networks)")
    nets = data.get("networks", [data])
    if not isinstance(nets, list) or not nets:
        raise InputError(path, "networks", "must be a non-empty list of networks")
    out = []
    for k, net in enumerate(nets):
        if not isinstance(net, dict):
            raise InputError(path, f"networks[{k}]", "must be an object")
        nodes = {}
        for i, node in enumerate(net.get("nodes") or []):
            node_id = _text_id(node.get("id") if isinstance(node, dict) else None)
            if node_id is None:
                raise InputError(path, f"networks[{k}].nodes[{i}].id", "missing")
            nodes[node_id] = node
        out.append((nodes, list(net.get("spans") or [])))
    return out


def _network_from_geojson(
    data: Any, path: Path
) -> tuple[dict[str, Mapping[str, Any]], list[Mapping[str, Any]]]:
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise InputError(path, "features", "not a GeoJSON feature collection")
    nodes: dict[str, Mapping[str, Any]] = {}
    spans: list[Mapping[str, Any]] = []
    for i, feature in enumerate(features):
        props = dict(feature.get("properties") or {})
        kind = props.get("featureType")
        if kind == "node":
            node_id = _text_id(props.get("id"))
            if node_id is None:
                raise InputError(path, f"features[{i}].properties.id", "missing")
            nodes[node_id] = {**props, "location": feature.get("geometry")}
        elif kind == "span":
            spans.append({**props, "route": feature.get("geometry")})
        else:
            raise InputError(
                path, f"features[{i}].properties.featureType", f"not node or span: {kind!r}"
            )
    # Span features embed their end nodes: they are nodes too (node features win).
    for span in spans:
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
    if isinstance(value, bool):
        return None
    return str(value)


def _span_row(
    span: Mapping[str, Any],
    nodes: Mapping[str, Mapping[str, Any]],
    path: Path,
    where: str,
    tag: str,
) -> dict[str, Any]:
    ends = []
    for end in ("start", "end"):
        ref = span.get(end)
        node_id = _text_id(ref.get("id") if isinstance(ref, dict) else ref)
        if node_id is None:
            raise InputError(path, f"{where}.{end}", "missing: every span joins two nodes")
        ends.append(node_id)
    route = span.get("route")
    if route:
        try:
            geom = shape(route)
        except (AttributeError, KeyError, TypeError, ValueError):
            raise InputError(path, f"{where}.route", "not a GeoJSON geometry") from None
        if geom.geom_type not in ("LineString", "MultiLineString"):
            raise InputError(path, f"{where}.route", f"must be a line, got {geom.geom_type}")
    else:
        geom = LineString([_location(nodes, node_id, path, where) for node_id in ends])
    return {
        "u": tag + ends[0],
        "v": tag + ends[1],
        "span_id": _text_id(span.get("id")),
        "status": span.get("status"),
        "online_year": _year(span.get("readyForServiceDate"), path, f"{where}.readyForServiceDate"),
        "geometry": geom,
    }


def _location(
    nodes: Mapping[str, Mapping[str, Any]], node_id: str, path: Path, where: str
) -> tuple[float, float]:
    node = nodes.get(node_id)
    loc = node.get("location") if node else None
    coords = loc.get("coordinates") if isinstance(loc, dict) else None
    if not coords or len(coords) < 2:
        raise InputError(
            path, f"{where}.route", f"missing, and node {node_id!r} has no location to draw it"
        )
    return float(coords[0]), float(coords[1])


def _year(value: object, path: Path, where: str) -> int | None:
    if value in (None, ""):
        return None
    text = str(value)
    if len(text) < 4 or not text[:4].isdigit():
        raise InputError(path, where, f"not a date: {value!r}")
    return int(text[:4])


def _device_us(value: object, path: Path, field: str, node_id: str) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(path, field, f"node {node_id!r}: not a number: {value!r}") from None
    if not math.isfinite(out) or out < 0:
        raise InputError(path, field, f"node {node_id!r}: must be a finite number >= 0")
    return out
