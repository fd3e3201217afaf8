"""The network of each goal year, for the planner: a build for year Y plans on year Y's links.

Links may carry an online year (:attr:`~latcircle.engine.network.Network.edge_online_year`);
a run of year Y uses the network as built by then (:meth:`Metro.view`). The planner does the
same: the baseline, every site's coverage set and every spur of a goal year are computed on
that year's view, with the planned sites attached to it. Views are shared between years
with the same links (and, without link years, every year uses the whole network).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from latcircle.analysis.coverage import Samples
from latcircle.analysis.metro import Metro
from latcircle.engine.latency import SiteAttachment, attach_sites
from latcircle.engine.locator import Locator
from latcircle.engine.network import Network

__all__ = ["YearView", "year_views"]


@dataclass(frozen=True)
class YearView:
    """The network of one goal year, with the plan's sites and the samples located on it.

    Attributes
    ----------
    key
        The view's key (:meth:`Metro.view`): ``None`` for the whole network.
    network, locator, arcs, samples
        As :class:`~latcircle.analysis.metro.Metro` holds them for this year.
    attachment
        The planner's sites (its pool) attached to this network.
    edges
        For each edge of this view, its index in the whole network.
    """

    key: float | None
    network: Network
    locator: Locator
    arcs: csr_matrix
    samples: Mapping[str, Samples]
    attachment: SiteAttachment
    edges: np.ndarray

    def to_view(self, full_edge: np.ndarray) -> np.ndarray:
        """Map edge indices of the whole network to this view's (the edges must exist)."""
        return np.searchsorted(self.edges, full_edge)


def year_views(
    metro: Metro,
    years: list[int],
    *,
    x: np.ndarray,
    y: np.ndarray,
    device_us: np.ndarray,
    whole: SiteAttachment,
) -> dict[int, YearView]:
    """Return the view of each year (one object per distinct view).

    Parameters
    ----------
    metro
        The prepared metro.
    years
        The goal years.
    x, y, device_us
        The planner's sites (positions as read back, device latency).
    whole
        Their attachment to the whole network (reused for years that use it).
    """
    link = metro.network.edge_online_year
    built: dict[float | None, YearView] = {}
    out = {}
    for year in years:
        key = None
        if link is not None and (link > year).any():
            key = float(link[link > year].min())
        if key not in built:
            built[key] = _view(metro, key, x, y, device_us, whole)
        out[year] = built[key]
    return out


def _view(
    metro: Metro,
    key: float | None,
    x: np.ndarray,
    y: np.ndarray,
    device_us: np.ndarray,
    whole: SiteAttachment,
) -> YearView:
    if key is None:
        return YearView(
            None,
            metro.network,
            metro.locator,
            metro.arcs,
            metro.samples,
            whole,
            np.arange(metro.network.n_edges),
        )
    view = next(v for first, v in metro.views if first == key)
    link = metro.network.edge_online_year
    assert link is not None
    attachment = attach_sites(view.locator, x, y, device_us, metro.params)
    return YearView(
        key,
        view.network,
        view.locator,
        view.arcs,
        view.samples,
        attachment,
        np.flatnonzero(~(link >= key)),
    )
