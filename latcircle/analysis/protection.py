"""Protection: what coverage survives one failure (issue 24 §4; docs/protection.md).

**Site failure (N−1)**, in every run. Each online site is solved on its own
(:func:`latcircle.engine.latency.solve_each`: as a run with only that site online, bit for
bit); per sample, the best site and the best
*other* site. When site ``s`` fails, a sample it served keeps the other site's latency and
every other sample keeps its own, so the share without ``s`` is exact without re-solving;
the coverage that rests on ``s`` alone is what it serves within the budget that no other site
does. The worst single failure is the site with the most such coverage.

**Cable failure**, when asked (``--protection`` or the config's ``protection:``). Links are
ranked by their use: the demand (on the ranking basis, covered in the scenario) below them in
the multi-source shortest-path tree, plus the demand located on them
(:func:`latcircle.engine.links.tree_use`). The top ``N`` are then re-solved exactly, one at a
time, on the network without that link (:func:`latcircle.engine.links.cut_link`): points on
the link reach the network by their next-nearest edge, as a run on the network without the
link would place them. Only the samples whose latency can change are evaluated again (those
located again, and those on an edge with an end whose latency changed).

Every share uses the covered rule and the share rule of :mod:`latcircle.analysis.coverage`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from latcircle.analysis.clusters import rank_basis
from latcircle.analysis.coverage import covered, share_of
from latcircle.analysis.interconnect import interconnect_sites, interconnect_table
from latcircle.analysis.isochrones import service_areas
from latcircle.analysis.metro import Metro, Scenario
from latcircle.engine.latency import LatencyField, solve, solve_each
from latcircle.engine.links import Cut, cut_link, shortest_tree, tree_use
from latcircle.engine.locator import PointLocation
from latcircle.engine.network import Network
from latcircle.engine.persite import best_two_by_nodes, best_two_of_fields

__all__ = [
    "CRITICAL_LINKS_LAYER",
    "PROTECTION_COLUMNS",
    "SINGLE_SITE_LAYER",
    "Protection",
    "SiteFailure",
    "link_failure",
    "protection",
    "protection_layers",
    "protection_record",
    "site_failure",
]

#: Columns of ``protection.csv`` (one table for sites and links).
PROTECTION_COLUMNS = [
    "kind",
    "rank",
    "id",
    "name",
    "basis",
    "unit",
    "total",
    "covered",
    "use",
    "lost",
    "share",
    "share_after",
    "length_m",
]


@dataclass(frozen=True)
class SiteFailure:
    """Best and best-other site of every sample, per basis.

    Attributes
    ----------
    best_us, best_site, other_us
        Per basis: latency from the best site (the scenario's), its index (-1: none),
        latency from the best other site (``inf``: none; NaN where not computed: samples
        the best site does not cover).
    """

    best_us: dict[str, np.ndarray]
    best_site: dict[str, np.ndarray]
    other_us: dict[str, np.ndarray]

    def alone(self, basis: str, *, budget_ms: float) -> np.ndarray:
        """Whether each sample is covered by its best site only (lost if it fails)."""
        return covered(self.best_us[basis], budget_ms=budget_ms) & ~covered(
            self.other_us[basis], budget_ms=budget_ms
        )


@dataclass(frozen=True)
class Protection:
    """What a run's protection found.

    Attributes
    ----------
    table
        ``protection.csv`` (:data:`PROTECTION_COLUMNS`): sites by the coverage resting on
        them alone, then the critical links by loss.
    sites
        Per-sample best and best-other site.
    worst
        Per basis: the worst single site and the share when it fails.
    links
        Edge indices of the links re-solved, in rank order (empty without cable failure).
    interconnect
        The scenario year's interconnect table (``interconnect.csv``), made from the site
        failure's single-site fields (:func:`latcircle.analysis.interconnect.interconnect_table`
        with ``fields``: the same table, fewer Dijkstra passes); ``None`` when not made.
    """

    table: pd.DataFrame
    sites: SiteFailure
    worst: dict[str, dict[str, Any]]
    links: np.ndarray
    interconnect: pd.DataFrame | None = None


#: Most bytes of single-site node latencies :func:`protection` keeps for the interconnect
#: table (an assumption: Wuhan's 5 large and medium sites hold 3.3 MB); with more, the
#: table solves its sites itself, as before session round 13.
INTERCONNECT_FIELD_BYTES = 64 * 1024**2


def protection(metro: Metro, scenario: Scenario, *, interconnect: bool = False) -> Protection:
    """Site failure always; cable failure when the config has a ``protection`` section.

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        The run's scenario.
    interconnect
        Also make the scenario year's interconnect table (:attr:`Protection.interconnect`)
        from the single-site fields the site failure solves (within
        :data:`INTERCONNECT_FIELD_BYTES`): a run that writes ``interconnect.csv`` asks.

    Returns
    -------
    Protection
    """
    wanted = np.zeros(0, np.int64)
    if interconnect:
        wanted = interconnect_sites(metro, year=scenario.year)
        if len(wanted) * metro.network.n_nodes * 8 > INTERCONNECT_FIELD_BYTES:
            wanted = wanted[:0]
    sites, fields = _site_failure(metro, scenario, keep=wanted)
    # The interconnect sites were just solved alone on this year's network: their pairs
    # are read from those fields (interconnect.csv, the progress step's), then let go.
    links_table = None
    if interconnect:
        links_table = interconnect_table(metro, year=scenario.year, fields=fields)
    del fields
    site_rows, worst = _site_rows(metro, scenario, sites)
    spec = metro.config.protection
    links = np.zeros(0, np.int64)
    frames = [site_rows]
    if spec is not None:
        link_rows = link_failure(metro, scenario, top=spec.links, basis=spec.basis)
        links = link_rows["edge"].drop_duplicates().to_numpy(np.int64)
        frames.append(link_rows.drop(columns="edge"))
    frames = [f for f in frames if len(f)]
    table = (
        pd.concat(frames, ignore_index=True)[PROTECTION_COLUMNS]
        if frames
        else pd.DataFrame(columns=PROTECTION_COLUMNS)
    )
    return Protection(table=table, sites=sites, worst=worst, links=links, interconnect=links_table)


def site_failure(metro: Metro, scenario: Scenario) -> SiteFailure:
    """Per sample: latency from the best online site, which one, and from the best other.

    The best is the scenario's own latency and serving site. The best other site is solved
    only for the samples the best covers within the budget: only there can a failure lose
    coverage (elsewhere ``other_us`` is NaN, not computed).

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        The run's scenario (its online sites).

    Returns
    -------
    SiteFailure
    """
    return _site_failure(metro, scenario, keep=np.zeros(0, np.int64))[0]


def _site_failure(
    metro: Metro, scenario: Scenario, *, keep: np.ndarray
) -> tuple[SiteFailure, dict[int, np.ndarray]]:
    """:func:`site_failure`, and the node latencies of the sites in ``keep`` it solved."""
    view = metro.view(scenario.year)
    idx = np.flatnonzero(scenario.online & view.attachment.attached)
    best_us, best_site, other_us = {}, {}, {}
    rows = {
        b: np.flatnonzero(
            covered(scenario.evaluations[b].latency_us, budget_ms=metro.config.budget_ms)
        )
        for b in metro.bases
    }
    # Each site solved once for every basis (a solve does not depend on the points), the
    # sites batched 8 to a Dijkstra call (8 rows of node latencies); per basis only the best
    # two columns are kept, not a (points × sites) table.
    fields = solve_each(
        view.network, view.attachment, metro.params, sites=idx, arcs=view.arcs, batch=8
    )
    kept: dict[int, np.ndarray] = {}
    wanted = set(keep.tolist())
    fields = _keeping(fields, idx, wanted, kept)
    locs = [view.samples[b].location.take(rows[b]) for b in metro.bases]
    for basis, (best, col, second) in zip(
        metro.bases, _best_two(fields, locs, idx, view.network), strict=True
    ):
        ev = scenario.evaluations[basis]
        other = np.full(len(ev.latency_us), np.nan)
        # The best other site: the second column, or the first where the run's serving site
        # (of equal latency, a tie) is not the first column's.
        first = np.where(col >= 0, idx[np.maximum(col, 0)], -1)
        other[rows[basis]] = np.where(first == ev.site[rows[basis]], second, best)
        best_us[basis] = ev.latency_us
        best_site[basis] = ev.site
        other_us[basis] = other
    return SiteFailure(best_us=best_us, best_site=best_site, other_us=other_us), kept


def _best_two(
    fields: Iterator[LatencyField], locs: list[PointLocation], sites: np.ndarray, network: Network
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per set of points: the best and second value over the fields, and the best's column.

    Through each node's best two fields (:func:`~latcircle.engine.persite.best_two_by_nodes`:
    the same values, the column where it is the only best: where another is as low, the
    best other site is as low as the best either way) without device latency at nodes;
    else every field at every point (:func:`~latcircle.engine.persite.best_two_of_fields`).
    """
    if len(sites) and not network.node_device_us.any():
        return [(p.best, p.sole_col, p.second) for p in best_two_by_nodes(fields, locs)]
    return [(t.best, t.best_col, t.second) for t in best_two_of_fields(fields, locs, gather=True)]


def _keeping(
    fields: Iterator[LatencyField], sites: np.ndarray, wanted: set[int], kept: dict[int, np.ndarray]
) -> Iterator[LatencyField]:
    """Pass the fields on, keeping (by site index) the node latencies of the ``wanted``."""
    for site, lat_field in zip(sites, fields, strict=True):
        if int(site) in wanted:
            kept[int(site)] = lat_field.node_us
        yield lat_field


def _site_rows(
    metro: Metro, scenario: Scenario, failure: SiteFailure
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    sites = metro.inputs.sites
    budget = metro.config.budget_ms
    online = np.flatnonzero(scenario.online)
    rows: list[dict[str, object]] = []
    worst: dict[str, dict[str, Any]] = {}
    for basis in metro.bases:
        samples = metro.view(scenario.year).samples[basis]
        w, total = samples.weight, samples.total
        cov = covered(failure.best_us[basis], budget_ms=budget)
        alone = failure.alone(basis, budget_ms=budget)
        best = failure.best_site[basis]
        n = len(sites)
        # The covered samples, in sample order: every sum below is over some of them.
        kept = np.flatnonzero(cov)
        w_cov, best_cov, alone_cov = w[kept], best[kept], alone[kept]
        served = np.bincount(best_cov, weights=w_cov, minlength=n)[:n]
        lost = np.bincount(best[alone], weights=w[alone], minlength=n)[:n]
        covered_w = float(w_cov.sum())
        # What survives each site's failure, summed as a run without it sums (same samples,
        # same order: the same float), picked from the covered ones.
        after = {int(s): float(w_cov[~(alone_cov & (best_cov == s))].sum()) for s in online}
        # Rank by coverage resting on the site alone; ties in sites-file order.
        order = online[np.argsort(-lost[online], kind="stable")]
        for rank, s in enumerate(order, start=1):
            rows.append(
                {
                    "kind": "site",
                    "rank": rank,
                    "id": str(sites["site_id"].iloc[s]),
                    "name": str(sites["name"].iloc[s]),
                    "basis": basis,
                    "unit": samples.unit,
                    "total": total,
                    "covered": covered_w,
                    "use": float(served[s]),
                    "lost": float(lost[s]),
                    "share": share_of(covered_w, total),
                    "share_after": share_of(after[int(s)], total),
                    "length_m": np.nan,
                }
            )
        if len(order):
            s = int(order[0])
            worst[basis] = {
                "site": str(sites["site_id"].iloc[s]),
                "lost": float(lost[s]),
                "share": share_of(covered_w, total),
                "share_after": share_of(after[s], total),
            }
    return pd.DataFrame(rows, columns=PROTECTION_COLUMNS), worst


def link_failure(
    metro: Metro, scenario: Scenario, *, top: int, basis: str | None = None
) -> pd.DataFrame:
    """Rank links by use, re-solve without each of the ``top`` ones, rank them by loss.

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        The run's scenario.
    top
        Links re-solved exactly.
    basis
        The basis that ranks the links (default: the judged basis).

    Returns
    -------
    pandas.DataFrame
        :data:`PROTECTION_COLUMNS` plus ``edge``: one row per link and basis, links in order
        of their loss on the ranking basis (then of their use); ``use`` is the ranking
        basis's demand on the link, ``lost`` the covered weight lost without it (net of
        what a point located again may gain).
    """
    basis = basis if basis in metro.bases else rank_basis(metro)
    view = metro.view(scenario.year)
    pred = shortest_tree(
        view.network, view.attachment, metro.params, online=scenario.online, arcs=view.arcs
    )
    use = _link_use(metro, scenario, pred, basis)
    ranked = np.lexsort((np.arange(len(use)), -use))
    chosen = ranked[: min(top, int((use > 0).sum()))]
    losses = _losses(metro, scenario, chosen)
    return _link_rows(metro, scenario, view.network, (chosen, use, losses), basis)


def _link_use(metro: Metro, scenario: Scenario, pred: np.ndarray, basis: str) -> np.ndarray:
    """Demand on the ranking basis (covered) resting on each edge of the tree."""
    view = metro.view(scenario.year)
    net = view.network
    samples = view.samples[basis]
    loc = samples.location
    ev = scenario.evaluations[basis]
    cov = covered(ev.latency_us, budget_ms=metro.config.budget_ms) & (loc.edge >= 0)
    rows = np.flatnonzero(cov)
    e, t = loc.edge[rows], loc.t[rows]
    w_us = metro.params.us_per_m
    via_u = scenario.field.node_us[net.u[e]] + w_us * t
    via_v = scenario.field.node_us[net.v[e]] + w_us * (net.length[e] - t)
    node = np.where(via_u <= via_v, net.u[e], net.v[e])
    weight = samples.weight[rows]
    node_demand = np.bincount(node, weights=weight, minlength=net.n_nodes)
    edge_demand = np.bincount(e, weights=weight, minlength=net.n_edges)
    return tree_use(net, pred, node_demand, edge_demand)


def _losses(metro: Metro, scenario: Scenario, chosen: np.ndarray) -> dict[str, np.ndarray]:
    """Covered weight lost without each chosen link, per basis (exact re-solve)."""
    view = metro.view(scenario.year)
    net, params, budget = view.network, metro.params, metro.config.budget_ms
    sites = metro.inputs.sites
    site_xyd = (
        sites.geometry.x.to_numpy(),
        sites.geometry.y.to_numpy(),
        sites["device_latency_us"].to_numpy(float),
    )
    bases = metro.bases
    points = tuple((view.samples[b].location, *view.samples[b].coordinates()) for b in bases)
    tree = shapely.STRtree(net.geometry)
    base_node_us = scenario.field.node_us
    out = {b: np.zeros(len(chosen)) for b in bases}
    for i, edge in enumerate(chosen):
        cut = cut_link(
            net, view.arcs, view.attachment, site_xyd, points, int(edge), params, tree=tree
        )
        after = solve(net, cut.attachment, params, online=scenario.online, arcs=cut.arcs)
        changed = base_node_us != after.node_us
        site_edges = _site_edges(cut, scenario.online)
        for b, loc, moved in zip(bases, cut.locations, cut.moved, strict=True):
            rows = _affected(net, loc, moved, changed, site_edges)
            if len(rows) == 0:
                continue
            ev = scenario.evaluations[b]
            w = ev.samples.weight[rows]
            before = covered(ev.latency_us[rows], budget_ms=budget)
            lat, _ = after.at(loc.take(rows))
            out[b][i] = float(w[before].sum()) - float(w[covered(lat, budget_ms=budget)].sum())
    return out


def _site_edges(cut: Cut, online: np.ndarray) -> np.ndarray:
    """Edges carrying an online site after the cut (their points get direct paths)."""
    loc = cut.attachment.location
    on = np.flatnonzero(np.asarray(online, bool) & (loc.edge >= 0))
    ties = loc.tie_edge[np.isin(loc.tie_point, on)]
    return np.unique(np.concatenate([loc.edge[on], ties]))


def _affected(
    net: Network,
    loc: PointLocation,
    moved: np.ndarray,
    changed: np.ndarray,
    site_edges: np.ndarray,
) -> np.ndarray:
    """Points whose latency may differ after the cut: moved, or on a changed edge."""
    u, v = net.u, net.v
    e = np.maximum(loc.edge, 0)
    hit = (loc.edge >= 0) & (changed[u[e]] | changed[v[e]] | np.isin(loc.edge, site_edges))
    te = loc.tie_edge
    tie_hit = changed[u[te]] | changed[v[te]] | np.isin(te, site_edges)
    hit[loc.tie_point[tie_hit]] = True
    hit[moved] = True
    return np.flatnonzero(hit)


def _link_rows(
    metro: Metro,
    scenario: Scenario,
    network: Network,
    found: tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]],
    basis: str,
) -> pd.DataFrame:
    chosen, use, losses = found
    order = np.lexsort((np.arange(len(chosen)), -use[chosen], -losses[basis]))
    rows: list[dict[str, object]] = []
    budget = metro.config.budget_ms
    for b in metro.bases:
        ev = scenario.evaluations[b]
        total = ev.samples.total
        covered_w = float(ev.samples.weight[covered(ev.latency_us, budget_ms=budget)].sum())
        for rank, i in enumerate(order, start=1):
            edge = int(chosen[i])
            lost = float(losses[b][i])
            rows.append(
                {
                    "kind": "link",
                    "rank": rank,
                    "id": f"edge {edge}",
                    "name": f"{network.length[edge]:.0f} m link",
                    "basis": b,
                    "unit": ev.samples.unit,
                    "total": total,
                    "covered": covered_w,
                    "use": float(use[edge]) if b == basis else np.nan,
                    "lost": lost,
                    "share": share_of(covered_w, total),
                    "share_after": share_of(covered_w - lost, total),
                    "length_m": float(network.length[edge]),
                    "edge": edge,
                }
            )
    return pd.DataFrame(rows, columns=[*PROTECTION_COLUMNS, "edge"])


#: GeoPackage layer names (the map shows them as "single-site coverage", "critical links").
SINGLE_SITE_LAYER = "single_site_coverage"
CRITICAL_LINKS_LAYER = "critical_links"


def protection_layers(
    metro: Metro,
    scenario: Scenario,
    found: Protection,
    layers: dict[str, gpd.GeoDataFrame] | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Return the run's protection layers: single-site coverage, and critical links.

    With the run's ``layers``, its ``key_sites`` layer comes back too, with two columns:
    ``backup_latency_us`` (from the best other site; empty where the best site does not
    cover the key site, or no other site reaches it) and ``one_site_only`` (covered by its
    best site alone: lost if that site fails).

    ``single_site_coverage``: per site, the area it alone covers within the budget (lost if
    it fails), polygonised from the area grid. ``critical_links`` (only with cable failure):
    the links re-solved, their rank, use and loss on every basis.

    Parameters
    ----------
    metro
        The prepared metro.
    scenario
        The run's scenario.
    found
        :func:`protection`.
    layers
        The run's layers (:func:`latcircle.analysis.layers.run_layers`), or ``None``.
    """
    budget = metro.config.budget_ms
    alone = found.sites.alone("area", budget_ms=budget)
    cells = np.where(alone, found.sites.best_site["area"], -1)
    out = {
        SINGLE_SITE_LAYER: service_areas(
            metro.grid,
            metro.grid.to_raster(cells, fill=-1, dtype="int32"),
            site_ids=list(metro.inputs.sites["site_id"]),
            boundary=metro.inputs.boundary,
            crs=metro.inputs.crs,
        )
    }
    if metro.config.protection is not None:
        out[CRITICAL_LINKS_LAYER] = _links_layer(metro, scenario, found)
    if layers is not None and "key_sites" in layers and "key_sites" in found.sites.other_us:
        ks = layers["key_sites"].copy()
        other = found.sites.other_us["key_sites"]
        ks["backup_latency_us"] = np.where(np.isfinite(other), other, np.nan)
        ks["one_site_only"] = found.sites.alone("key_sites", budget_ms=budget)
        out["key_sites"] = ks
    return out


def _links_layer(metro: Metro, scenario: Scenario, found: Protection) -> gpd.GeoDataFrame:
    table = found.table[found.table["kind"] == "link"]
    ranked = table[table["use"].notna()]  # the ranking basis's rows, in rank order
    ids = ranked["id"].to_numpy()
    wide: dict[str, object] = {
        "rank": ranked["rank"].to_numpy(),
        "id": ids,
        "length_m": ranked["length_m"].to_numpy(),
        "ranked_by": ranked["basis"].to_numpy(),
        "use": ranked["use"].to_numpy(),
    }
    for basis in metro.bases:
        rows = table[table["basis"] == basis].set_index("id").loc[ids]
        wide[f"lost_{basis}"] = rows["lost"].to_numpy()
    geometry = metro.view(scenario.year).network.geometry[found.links]
    return gpd.GeoDataFrame(wide, geometry=list(geometry), crs=metro.inputs.crs)


def protection_record(metro: Metro, found: Protection) -> dict[str, object]:
    """Return the ``protection`` entry of ``run.json``: the worst failures, in short."""
    spec = metro.config.protection
    links = found.table[found.table["kind"] == "link"]
    worst_link: dict[str, object] = {}
    for basis in metro.bases:
        rows = links[links["basis"] == basis]
        if len(rows):
            top = rows.sort_values(["lost", "rank"], ascending=[False, True]).iloc[0]
            worst_link[basis] = {
                "link": str(top["id"]),
                "lost": float(top["lost"]),
                "share_after": float(top["share_after"]),
            }
    return {
        "worst_site": found.worst,
        "links_resolved": len(found.links),
        "links_asked": None if spec is None else spec.links,
        "worst_link": worst_link,
        "budget_ms": metro.config.budget_ms,
    }
