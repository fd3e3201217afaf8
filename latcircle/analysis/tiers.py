"""The national tiers: East-to-West hub circles (20 ms, 5 ms) and LEO access where fibre ends.

The same latency model as the metro, at national scale::

    L_s(c) = E + S + k·r·(|s − q_s| + d_G(q_s, q_c) + |c − q_c|) + Σ D(n)

where ``s`` is a hub or cluster site, ``c`` a city's representative point, ``q_x`` the nearest
backbone node (a backbone is entered only at its nodes, its points of presence), ``d_G`` the
shortest path over the backbone's links (geodesic length × the backbone's route factor) and
``D(n)`` the device latency of every node the path enters (ROADM/OTN). The path matrix comes from
:func:`latcircle.engine.latency.arc_matrix` and one ``scipy`` Dijkstra per site, as in a metro.

A city whose point is farther than ``max_drop_km`` from every node has **no terrestrial
access**; for it (and, for comparison, every city) the LEO path of :mod:`latcircle.analysis.leo`
is priced through the best of the given **gateways** (ground stations): user -> satellite ->
gateway (bent pipe, or inter-satellite links to a farther one) -> the gateway's nearest backbone
node -> compute. Without a gateways table each city gets a gateway at its own nearest backbone
node, the labelled *best case*. The judged LEO figure is the preset's measured median (P95
beside it) unless the shell carries no measurement; the geometric best case is a bound.

Tiers judged (CAICT's capacity index; MIIT's millisecond action):

* **hub tier**: within ``hub_budget_ms`` (20 ms) of some national hub;
* **regional tier**: within ``regional_budget_ms`` (5 ms) of some hub or cluster;
* **application tier via LEO**: the LEO path within ``app_budget_ms`` (10 ms) of some hub or
  cluster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from latcircle.analysis.coverage import covered, share_of
from latcircle.analysis.leo import LeoParams, footprint_km, leg_table, leo_path
from latcircle.config import C_M_PER_US, GROUP_INDEX_G652, LatencyParams
from latcircle.engine.edgelines import EdgeLines
from latcircle.engine.latency import arc_matrix
from latcircle.engine.network import Network
from latcircle.inputs.backbone import Backbone, geodesic_m

__all__ = ["TierParams", "TiersResult", "check_gateways", "national_tiers", "position_text"]

_K_US_PER_KM = GROUP_INDEX_G652 / C_M_PER_US * 1000.0


@dataclass(frozen=True, slots=True)
class TierParams:
    """Parameters of the national tiers (times in µs or ms as named, lengths in km).

    Attributes
    ----------
    k_us_per_km
        Fibre propagation (G.652, group index 1.4682: 4.897 µs/km).
    route_factor
        Backbone cable length over geodesic link length. Long-haul routes follow roads,
        railways and rivers; 1.5 is an assumption within published estimates (1.3-2).
    access_route_factor
        Cable over geodesic length from a site or city to its backbone node.
    equipment_us
        Line terminals on every path (as the metro's optical preset).
    site_device_us
        The hub or cluster site's device latency.
    node_device_us
        Every backbone node a path enters (OTN/ROADM add-drop).
    max_drop_km
        Beyond this distance from every backbone node a city has no terrestrial access.
    hub_budget_ms, regional_budget_ms, app_budget_ms
        The 20 ms hub tier, the 5 ms regional tier, the 10 ms application tier.
    """

    k_us_per_km: float = _K_US_PER_KM
    route_factor: float = 1.5
    access_route_factor: float = 1.5
    equipment_us: float = 100.0
    site_device_us: float = 20.0
    node_device_us: float = 20.0
    max_drop_km: float = 300.0
    hub_budget_ms: float = 20.0
    regional_budget_ms: float = 5.0
    app_budget_ms: float = 10.0

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                msg = f"tier parameter {name} must be finite and >= 0, not {value}"
                raise ValueError(msg)


@dataclass(frozen=True)
class TiersResult:
    """What :func:`national_tiers` computed.

    Attributes
    ----------
    sites
        The hub/cluster sites with their backbone node and access distance.
    matrix
        Site-to-site one-way latency, ms (rows and columns by site id).
    gateways
        The LEO gateways used (id, name, lon, lat, node, access_km, ground latency to the
        nearest site and hub, ms); empty for the best case or without LEO.
    cities
        One row per city: nearest node, drop, latency to the nearest hub and site, tier flags,
        LEO latency and flags.
    summary
        The national figures (counts and shares), with every assumption.
    """

    sites: pd.DataFrame
    matrix: pd.DataFrame
    cities: pd.DataFrame
    summary: dict[str, object] = field(default_factory=dict)
    gateways: pd.DataFrame = field(default_factory=pd.DataFrame)


def national_tiers(
    backbone: Backbone,
    sites: pd.DataFrame,
    cities: pd.DataFrame,
    *,
    params: TierParams | None = None,
    leo: LeoParams | None = None,
    gateways: pd.DataFrame | None = None,
    leo_basis: str | None = None,
) -> TiersResult:
    """Evaluate cities against the hub, regional and (via LEO) application tiers.

    Parameters
    ----------
    backbone
        The national backbone.
    sites
        Hubs and clusters: ``id``, ``name``, ``kind`` (``hub``/``cluster``), ``lon``, ``lat``.
    cities
        ``adcode``, ``name``, ``lon``, ``lat`` (a representative point) and optionally
        ``area_km2`` and ``population``.
    params
        Tier parameters (defaults: :class:`TierParams`).
    leo
        A LEO model for cities without terrestrial access (``None``: no LEO columns).
    gateways
        LEO gateways: ``id``, ``name``, ``lon``, ``lat`` (``None``: the best case, a gateway at
        every city's nearest backbone node).
    leo_basis
        ``measured`` or ``geometric`` (default: the preset's, measured when it carries one).

    Returns
    -------
    TiersResult
        Sites, the site-to-site matrix, the city table and the national summary.

    Raises
    ------
    ValueError
        If a gateway is outside the footprint of every city (no city could use it).
    """
    p = params or TierParams()
    site_node, site_km = _nearest_node(backbone, sites)
    # (site, node), from each site's own device on
    node_us = _node_latency_us(backbone, site_node, site_km, p)
    matrix = _site_matrix(sites, node_us, site_node, site_km, p)
    table = _city_table(backbone, sites, cities, node_us, p)
    gw_frame = pd.DataFrame()
    if leo is not None:
        links = _gateway_links(backbone, sites, cities, node_us, p, gateways)
        gw_frame = links.frame
        table = _leo_columns(table, links, leo, leo_basis, p)
    table = table.sort_values("adcode" if "adcode" in table else "name", kind="stable").reset_index(
        drop=True
    )
    site_frame = sites.assign(node=[backbone.names[i] for i in site_node], access_km=site_km)
    summary = _summary(table, p, leo, backbone)
    if leo is not None:
        summary["leo"] = _leo_summary(table, leo, gateways, leo_basis, p)
    return TiersResult(site_frame, matrix, table, summary, gw_frame)


def _nearest_node(backbone: Backbone, points: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Nearest backbone node of each point by geodesic distance (ties: lowest index)."""
    lon = points["lon"].to_numpy(float)[:, None]
    lat = points["lat"].to_numpy(float)[:, None]
    d = geodesic_m(
        np.broadcast_to(lon, (len(lon), backbone.n_nodes)),
        np.broadcast_to(lat, (len(lat), backbone.n_nodes)),
        np.broadcast_to(backbone.lon, (len(lon), backbone.n_nodes)),
        np.broadcast_to(backbone.lat, (len(lat), backbone.n_nodes)),
    )
    idx = np.argmin(d, axis=1)
    return idx, d[np.arange(len(idx)), idx] / 1000.0


def _network(backbone: Backbone, p: TierParams) -> Network:
    """Return the backbone as the engine's :class:`Network` (lengths in geodesic metres)."""
    n = backbone.n_nodes
    return Network(
        x=backbone.lon,
        y=backbone.lat,
        u=backbone.u,
        v=backbone.v,
        length=backbone.geodesic_m,
        geometry=EdgeLines(objects=np.empty(len(backbone.u), dtype=object)),
        node_device_us=np.full(n, p.node_device_us),
        component=np.zeros(n, dtype=np.int64),
    )


def _node_latency_us(
    backbone: Backbone, node: np.ndarray, km: np.ndarray, p: TierParams
) -> np.ndarray:
    """Latency from each site to each node: ``S + k·r_a·|s − q_s| + path`` (no ``E`` yet)."""
    lp = LatencyParams(
        k_us_per_m=p.k_us_per_km / 1000.0,
        route_factor=p.route_factor,
        equipment_us=p.equipment_us,
        site_device_us=p.site_device_us,
        extra_us=0.0,
        max_drop_m=p.max_drop_km * 1000.0,
        factor=1.0,
    )
    arcs = arc_matrix(_network(backbone, p), lp)
    path = dijkstra(arcs, directed=True, indices=node)
    # The site's own node is entered too (its add-drop), like every node a path enters.
    start = p.site_device_us + p.k_us_per_km * p.access_route_factor * km + p.node_device_us
    return np.asarray(path) + start[:, None]


def _site_matrix(
    sites: pd.DataFrame, node_us: np.ndarray, node: np.ndarray, km: np.ndarray, p: TierParams
) -> pd.DataFrame:
    """Site-to-site: ``E + (site i → node of j) + k·r_a·|j − q_j| + S_j``, in ms."""
    tail = p.k_us_per_km * p.access_route_factor * km + p.site_device_us
    us = p.equipment_us + node_us[:, node] + tail[None, :]
    np.fill_diagonal(us, 0.0)
    ids = sites["id"].astype(str).tolist()
    return pd.DataFrame(us / 1000.0, index=ids, columns=ids)


def _city_table(
    backbone: Backbone,
    sites: pd.DataFrame,
    cities: pd.DataFrame,
    node_us: np.ndarray,
    p: TierParams,
) -> pd.DataFrame:
    node, drop_km = _nearest_node(backbone, cities)
    access = drop_km <= p.max_drop_km
    to_node_us = p.equipment_us + node_us[:, node]  # (site, city) at the city's node
    drop_us = p.k_us_per_km * p.access_route_factor * drop_km
    lat_us = np.where(access[None, :], to_node_us + drop_us[None, :], np.inf)
    hub = (sites["kind"] == "hub").to_numpy()
    ids = sites["id"].astype(str).to_numpy()
    hub_us = lat_us[hub].min(axis=0)
    best = lat_us.argmin(axis=0)
    in_hub = covered(lat_us[hub], budget_ms=p.hub_budget_ms)  # (hub, city)
    out = cities.loc[
        :, [c for c in ("adcode", "name", "province", "lon", "lat", "point") if c in cities]
    ].copy()
    out["node"] = [backbone.names[i] for i in node]
    out["drop_km"] = drop_km
    out["terrestrial_access"] = access
    out["nearest_hub"] = np.where(access, ids[hub][lat_us[hub].argmin(axis=0)], "")
    out["hub_latency_us"] = hub_us
    out["nearest_site"] = np.where(access, ids[best], "")
    out["site_latency_us"] = lat_us.min(axis=0)
    out["in_hub_tier"] = in_hub.any(axis=0)
    out["in_regional_tier"] = covered(lat_us.min(axis=0), budget_ms=p.regional_budget_ms)
    out["hubs_within_budget"] = [";".join(ids[hub][in_hub[:, j]]) for j in range(len(out))]
    for col in ("area_km2", "population"):
        if col in cities:
            out[col] = cities[col].to_numpy()
    return out


@dataclass(frozen=True)
class _GatewayLinks:
    """Cities × gateways: ground separation (km) and each gateway's onward latency (ms)."""

    ids: np.ndarray  # gateway id per column (or, best case, per city)
    sep_km: np.ndarray  # (city, gateway)
    app_ms: np.ndarray  # (city, gateway) or (city, 1): gateway -> nearest site
    hub_ms: np.ndarray  # gateway -> nearest hub
    frame: pd.DataFrame
    best_case: bool


def _gateway_links(
    backbone: Backbone,
    sites: pd.DataFrame,
    cities: pd.DataFrame,
    node_us: np.ndarray,
    p: TierParams,
    gateways: pd.DataFrame | None,
) -> _GatewayLinks:
    """Where each city's LEO traffic can land, and the latency from there to compute."""
    hub = (sites["kind"] == "hub").to_numpy()
    if gateways is None:  # best case: a gateway at the city's own nearest node
        node, drop_km = _nearest_node(backbone, cities)
        onward = p.equipment_us + node_us[:, node]
        ids = np.array([backbone.names[i] for i in node], dtype=object)
        return _GatewayLinks(
            ids[:, None],
            drop_km[:, None],
            onward.min(axis=0)[:, None] / 1000.0,
            onward[hub].min(axis=0)[:, None] / 1000.0,
            pd.DataFrame(),
            True,
        )
    node, km = _nearest_node(backbone, gateways)
    # The gateway enters the backbone like a city: line terminals, its access fibre, the path.
    onward = p.equipment_us + node_us[:, node] + p.k_us_per_km * p.access_route_factor * km
    n_c, n_g = len(cities), len(gateways)
    sep = (
        geodesic_m(
            np.broadcast_to(cities["lon"].to_numpy(float)[:, None], (n_c, n_g)),
            np.broadcast_to(cities["lat"].to_numpy(float)[:, None], (n_c, n_g)),
            np.broadcast_to(gateways["lon"].to_numpy(float)[None, :], (n_c, n_g)),
            np.broadcast_to(gateways["lat"].to_numpy(float)[None, :], (n_c, n_g)),
        ).reshape(n_c, n_g)
        / 1000.0
    )
    app = onward.min(axis=0) / 1000.0
    hub_ms = onward[hub].min(axis=0) / 1000.0
    frame = gateways.loc[:, [c for c in ("id", "name", "lon", "lat") if c in gateways]].copy()
    frame["node"] = [backbone.names[i] for i in node]
    frame["access_km"] = km
    frame["ground_to_site_ms"] = app
    frame["ground_to_hub_ms"] = hub_ms
    ids = gateways["id"].astype(str).to_numpy(dtype=object)
    return _GatewayLinks(
        np.broadcast_to(ids[None, :], (n_c, n_g)), sep, app[None, :], hub_ms[None, :], frame, False
    )


def _leo_columns(
    table: pd.DataFrame,
    links: _GatewayLinks,
    leo: LeoParams,
    basis: str | None,
    p: TierParams,
) -> pd.DataFrame:
    """Add the LEO columns: best gateway per city, judged latency, P95, bound and worst."""
    out = table.copy()
    rows = np.arange(len(out))
    sep, ids = links.sep_km, links.ids
    if sep.shape[1] == 0:  # no gateway at all: one that nobody reaches keeps the columns
        sep = np.full((len(out), 1), 1e9)
        ids = np.full((len(out), 1), "", dtype=object)
    for tag, ground in (("", links.app_ms), ("hub_", links.hub_ms)):
        g = ground if ground.shape[1] else np.zeros((1, 1))
        path = leo_path(leo, sep, ground_ms=g, basis=basis)
        judged = np.where(np.isnan(path.judged_ms), np.inf, path.judged_ms)
        pick = np.argmin(judged, axis=1)
        reach = np.isfinite(judged[rows, pick])
        out[f"leo_{tag}gateway"] = np.where(reach, ids[rows, pick].astype(str), "")
        if not tag:
            out["leo_gateway_km"] = np.where(reach, sep[rows, pick], np.nan)
            out["leo_hops"] = path.hops[rows, pick]
            out["leo_basis"] = path.basis
        out[f"leo_{tag}latency_us"] = 1000.0 * judged[rows, pick]
        out[f"leo_{tag}p95_us"] = 1000.0 * path.p95_ms[rows, pick]
        out[f"leo_{tag}bound_us"] = 1000.0 * np.min(path.bound_ms, axis=1)
        out[f"leo_{tag}worst_us"] = 1000.0 * path.worst_ms[rows, pick]
    out["leo_meets_app_tier"] = covered(out["leo_latency_us"].to_numpy(), budget_ms=p.app_budget_ms)
    out["leo_meets_hub_tier"] = covered(
        out["leo_hub_latency_us"].to_numpy(), budget_ms=p.hub_budget_ms
    )
    return out


def check_gateways(leo: LeoParams, gateways: pd.DataFrame, cities: pd.DataFrame) -> str | None:
    """Return a message naming the first gateway no city could use (``None`` when all can).

    A gateway is usable when some city lies within the shell's footprint of it (or, with
    inter-satellite links, within ``gateway_max_km``).
    """
    if len(cities) == 0 or len(gateways) == 0:
        return None
    n_c, n_g = len(cities), len(gateways)
    sep = (
        geodesic_m(
            np.broadcast_to(cities["lon"].to_numpy(float)[:, None], (n_c, n_g)),
            np.broadcast_to(cities["lat"].to_numpy(float)[:, None], (n_c, n_g)),
            np.broadcast_to(gateways["lon"].to_numpy(float)[None, :], (n_c, n_g)),
            np.broadcast_to(gateways["lat"].to_numpy(float)[None, :], (n_c, n_g)),
        ).reshape(n_c, n_g)
        / 1000.0
    )
    reach = np.isfinite(leo_path(leo, sep, basis="geometric").worst_ms).any(axis=0)
    if reach.all():
        return None
    i = int(np.flatnonzero(~reach)[0])
    row = gateways.iloc[i]
    return (
        f"gateway {row['id']!s} at {position_text(float(row['lon']), float(row['lat']))} is "
        f"outside the {leo.name} footprint ({footprint_km(leo):,.0f} km) of every place"
    )


def position_text(lon: float, lat: float) -> str:
    """Return a WGS84 position as ``12.3456 N 7.8900 W`` (for messages)."""
    ns, ew = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
    return f"{abs(lat):.4f} {ns} {abs(lon):.4f} {ew}"


def _leo_summary(
    table: pd.DataFrame,
    leo: LeoParams,
    gateways: pd.DataFrame | None,
    basis: str | None,
    p: TierParams,
) -> dict[str, object]:
    no_access = ~table["terrestrial_access"]
    bound_10 = covered(table["leo_bound_us"].to_numpy(), budget_ms=p.app_budget_ms)
    out: dict[str, object] = {
        "model": leo.name,
        "altitude_km": leo.altitude_km,
        "min_elevation_deg": leo.min_elevation_deg,
        "isl_link_km": leo.isl_link_km,
        "basis": basis or leo.basis,
        "gateways": "best case: a gateway at every city's nearest backbone node"
        if gateways is None
        else f"{len(gateways)} gateway(s) from the gateways table",
        "legs_radio_only": leg_table(leo),
        "no_access_meeting_10ms_via_leo": int((no_access & table["leo_meets_app_tier"]).sum()),
        "no_access_meeting_20ms_via_leo": int((no_access & table["leo_meets_hub_tier"]).sum()),
        "no_access_within_10ms_at_the_geometric_bound": int((no_access & bound_10).sum()),
    }
    if leo.measured is not None:
        m = leo.measured
        out["measured"] = {
            "name": m.name,
            "p50_one_way_ms": m.p50_ms,
            "p95_one_way_ms": m.p95[0],
            "p95_is": m.p95[1],
            "p5_one_way_ms": m.p5[0],
            "p5_is": m.p5[1],
            "source": m.source,
            "date": m.date,
        }
    return out


def _summary(
    table: pd.DataFrame, p: TierParams, leo: LeoParams | None, bb: Backbone
) -> dict[str, object]:
    n = len(table)

    def share(mask: pd.Series) -> dict[str, float | int | None]:
        row: dict[str, float | int | None] = {
            "cities": int(mask.sum()),
            "share_cities": _ratio(mask.sum(), n),
        }
        if "area_km2" in table:
            row["share_area"] = _ratio(table.loc[mask, "area_km2"].sum(), table["area_km2"].sum())
        if "population" in table:
            row["share_population"] = _ratio(
                table.loc[mask, "population"].sum(), table["population"].sum()
            )
        return row

    out: dict[str, object] = {
        "cities": n,
        "backbone": bb.name,
        "backbone_nodes": bb.n_nodes,
        "backbone_links": len(bb.u),
        "repairs": {k: len(v) for k, v in bb.repairs.items()},
        "hub_tier_20ms": share(table["in_hub_tier"]),
        "regional_tier_5ms": share(table["in_regional_tier"]),
        "no_terrestrial_access": share(~table["terrestrial_access"]),
        "outside_every_circle": share(~table["in_hub_tier"] & ~table["in_regional_tier"]),
        "parameters": {s: getattr(p, s) for s in p.__slots__},
    }
    return out


def _ratio(num: float, den: float) -> float | None:
    """Return a share (the one share rule), ``None`` in JSON when there is nothing to share."""
    value = share_of(float(num), float(den))
    return None if math.isnan(value) else round(value, 6)
