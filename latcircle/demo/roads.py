"""The demo metro's road network: rings, radials, street grids, villages and bridges, noded."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from latcircle.demo.layout import (
    CENTRES,
    CORE_INNER_SPACING_M,
    CORE_OUTER_SPACING_M,
    KM,
    MAIN_CENTRE,
    N_VILLAGES,
    RADIAL_START_M,
    RINGS,
    RIVER_BEARING_DEG,
    ROADLESS,
    SITE_SPECS,
    Roads,
    cm,
)


def make_roads(
    boundary: shapely.Polygon,
    river: shapely.Geometry,
    lake: shapely.Geometry,
    rng: np.random.Generator,
    *,
    scale: float = 1.0,
) -> Roads:
    """Generate, cut and node the road network.

    Rings, radials, a core grid thinning outward, sub-centre grids, villages and a sparse
    rural grid are drawn as long lines, cut by the water (except at the bridges), clipped
    to the boundary, then noded so that crossing roads share an endpoint exactly. Street
    spacings are real metres: in layout metres they are divided by ``scale``.
    """
    lines: list[shapely.LineString] = []
    classes: list[str] = []

    def add(geoms: Sequence[shapely.Geometry], highway: str) -> None:
        for geom in geoms:
            for part in shapely.get_parts(geom):
                if isinstance(part, shapely.LineString) and part.length > 1.0:
                    lines.append(part)
                    classes.append(highway)

    rings = _ring_roads(rng)
    radials = _radials(rng)
    major = [*rings, *radials]
    roadless = shapely.union_all(
        [shapely.Point(x, y).buffer(r, quad_segs=32) for x, y, r in ROADLESS]
    )
    for ring, (_, highway) in zip(rings, RINGS, strict=True):
        add([ring], highway)
    for i, radial in enumerate(radials):
        add([radial], "motorway" if i % 3 == 0 else "primary")
    for grid, highway in _core_grid(rings, rng, scale=scale):
        add(grid, highway)
    for grid, highway in _centre_grids(rng, scale=scale):
        add(grid, highway)
    rural = _rural_grid(boundary, roadless, rng, scale=scale)
    add(rural, "tertiary")
    villages, village_streets = _villages(rural, roadless, rng, scale=scale)
    add(village_streets, "residential")

    water = shapely.union_all([river, lake])
    bridges = _bridges(major, river, boundary)
    cut = _cut_by_water(lines, water, bridges)
    clipped = shapely.intersection(cut, boundary)
    keep = [
        (part, hw)
        for geom, hw in zip(clipped, classes, strict=True)
        for part in shapely.get_parts(shapely.line_merge(geom))
        if part.length > 1.0
    ]
    noded, road_classes, bridge = _node(keep, river)
    return Roads(lines=noded, highway=road_classes, bridge=bridge, villages=villages)


def _wavy(
    waypoints: np.ndarray, *, amp: float, wavelength: float, step: float, phase: float
) -> np.ndarray:
    """Densify a polyline and offset it sideways by a sine that is zero at every waypoint.

    Roads wander (that is where the network's detour over the straight line comes from), but
    they must still pass exactly through the centres they connect.
    """
    out = [waypoints[:1]]
    for p, q in pairwise(waypoints):
        seg = q - p
        length = float(np.hypot(*seg))
        if length == 0:
            continue
        k = max(1, round(length / wavelength))
        s = np.linspace(0.0, length, max(2, int(length // step) + 1))[1:]
        normal = np.array([-seg[1], seg[0]]) / length
        offset = amp * np.sin(np.pi * k * s / length) * np.sin(np.pi * s / length + phase) ** 2
        out.append(p + np.outer(s / length, seg) + np.outer(offset, normal))
    return cm(np.vstack(out))


def _ring_roads(rng: np.random.Generator) -> list[shapely.LineString]:
    """Three near-circular rings around the main centre (closed lines)."""
    cx, cy = MAIN_CENTRE
    rings = []
    for radius, _ in RINGS:
        theta = np.linspace(0.0, 2 * np.pi, int(2 * np.pi * radius / 100.0), endpoint=False)
        r = radius * (1 + 0.015 * np.sin(3 * theta + rng.uniform(0, 2 * np.pi)))
        xy = cm(np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)]))
        rings.append(shapely.LineString(np.vstack([xy, xy[:1]])))
    return rings


def _radials(rng: np.random.Generator) -> list[shapely.LineString]:
    """Ten arterials from inside ring 1 to beyond the boundary.

    Four of them pass through the sub-centres and the western data-centre park, so these are
    on the trunk network; the rest fill the bearings in between.
    """
    cx, cy = MAIN_CENTRE
    centre = np.array([cx, cy])
    targets = [np.array([c.x, c.y]) for c in CENTRES[1:]] + [np.array(SITE_SPECS[0].xy)]
    bearings = [float(np.arctan2(*(t - centre)[::-1])) for t in targets]
    fill = np.deg2rad([15.0, 80.0, 120.0, 235.0, 280.0, 320.0])
    fill = fill + rng.uniform(-0.1, 0.1, len(fill))
    out = []
    for bearing, target in [*zip(bearings, targets, strict=True), *((b, None) for b in fill)]:
        direction = np.array([np.cos(bearing), np.sin(bearing)])
        start, end = centre + RADIAL_START_M * direction, centre + 150 * KM * direction
        waypoints = np.array([start, end]) if target is None else np.array([start, target, end])
        xy = _wavy(
            waypoints, amp=1.5 * KM, wavelength=14 * KM, step=150.0, phase=rng.uniform(0, np.pi)
        )
        out.append(shapely.LineString(xy))
    return out


def _grid_lines(
    centre: tuple[float, float], half: float, spacing: float, angle: float
) -> list[shapely.LineString]:
    """Straight streets of a square grid (two directions), ``half`` metres each way."""
    offsets = np.arange(-half, half + spacing / 2, spacing)
    ca, sa = np.cos(angle), np.sin(angle)
    u, v = np.array([ca, sa]), np.array([-sa, ca])
    c = np.asarray(centre)
    out = []
    for d1, d2 in ((u, v), (v, u)):
        for o in offsets:
            p = c + o * d2
            out.append(shapely.LineString(cm(np.array([p - half * d1, p + half * d1]))))
    return out


def _core_grid(
    rings: list[shapely.LineString], rng: np.random.Generator, *, scale: float = 1.0
) -> list[tuple[list[shapely.Geometry], str]]:
    """Draw the dense core: 150 m streets inside ring 1, 220 m between rings 1 and 2.

    Each grid overshoots its ring by 200 m so that every street crosses the ring (and is
    noded onto it) rather than stopping a float's width short of it.
    """
    ring1, ring2 = shapely.Polygon(rings[0]), shapely.Polygon(rings[1])
    angle = rng.uniform(-0.2, 0.2)
    inner = _grid_lines(MAIN_CENTRE, 6.5 * KM, CORE_INNER_SPACING_M / scale, angle)
    outer = _grid_lines(MAIN_CENTRE, 13.5 * KM, CORE_OUTER_SPACING_M / scale, angle + 0.05)
    inner_clip = ring1.buffer(200.0)
    outer_clip = ring2.buffer(200.0) - ring1.buffer(-200.0)
    # Every fifth street is a through road; the rest are residential.
    grids: list[tuple[list[shapely.Geometry], str]] = []
    for streets, clip in ((inner, inner_clip), (outer, outer_clip)):
        clipped = shapely.intersection(streets, clip)
        grids.append(([g for i, g in enumerate(clipped) if i % 5 == 0], "secondary"))
        grids.append(([g for i, g in enumerate(clipped) if i % 5 != 0], "residential"))
    return grids


def _centre_grids(
    rng: np.random.Generator, *, scale: float = 1.0
) -> list[tuple[list[shapely.Geometry], str]]:
    """Sparser street grids around the sub-centres (400-450 m)."""
    out: list[tuple[list[shapely.Geometry], str]] = []
    for c in CENTRES[1:]:
        spacing = c.grid_spacing_m / scale
        streets = _grid_lines((c.x, c.y), c.grid_radius_m, spacing, rng.uniform(0, 0.5))
        clipped = shapely.intersection(
            streets, shapely.Point(c.x, c.y).buffer(c.grid_radius_m, quad_segs=32)
        )
        out.append(([g for i, g in enumerate(clipped) if i % 4 == 0], "secondary"))
        out.append(([g for i, g in enumerate(clipped) if i % 4 != 0], "residential"))
    return out


def _rural_grid(
    boundary: shapely.Polygon,
    roadless: shapely.Geometry,
    rng: np.random.Generator,
    *,
    scale: float = 1.0,
) -> list[shapely.Geometry]:
    """County roads on a jittered ~3.2 km grid, wandering, absent from the roadless zones.

    The gaps of this grid (more than 1 km from any road in the middle of each cell) are the
    ordinary rural "no access" area; the roadless zones are the large one.
    """
    minx, miny, maxx, maxy = boundary.bounds
    cx, cy = MAIN_CENTRE
    spacing = 3.2 * KM / scale
    lines = []
    for vertical in (False, True):
        lo, hi = (minx, maxx) if vertical else (miny, maxy)
        a0, a1 = (miny, maxy) if vertical else (minx, maxx)
        for pos in np.arange(lo + spacing / 2, hi, spacing):
            pos = pos + rng.uniform(-0.5, 0.5) * KM
            ends = (
                np.array([[pos, a0], [pos, a1]]) if vertical else np.array([[a0, pos], [a1, pos]])
            )
            xy = _wavy(
                ends, amp=0.5 * KM, wavelength=6 * KM, step=250.0, phase=rng.uniform(0, np.pi)
            )
            lines.append(shapely.LineString(xy))
    # Inside ring 2 the core grid takes over; the county roads stop just past the ring.
    core = shapely.Point(cx, cy).buffer(12 * KM, quad_segs=32)
    return list(shapely.difference(lines, shapely.union_all([roadless, core])))


def _villages(
    rural: list[shapely.Geometry],
    roadless: shapely.Geometry,
    rng: np.random.Generator,
    *,
    scale: float = 1.0,
) -> tuple[list[tuple[float, float]], list[shapely.Geometry]]:
    """Small street patches centred on county roads, so that each is connected.

    Returns the village centres and their streets.
    """
    cx, cy = MAIN_CENTRE
    roads = [g for g in rural if not g.is_empty]
    lengths = np.array([g.length for g in roads])
    out: list[shapely.Geometry] = []
    centres: list[tuple[float, float]] = []
    for _ in range(100 * N_VILLAGES):  # bounded: rejection sampling, not a search
        if len(centres) == N_VILLAGES:
            break
        i = int(rng.choice(len(roads), p=lengths / lengths.sum()))
        p = shapely.line_interpolate_point(roads[i], rng.uniform(0.1, 0.9), normalized=True)
        x, y = p.x, p.y
        near_centre = np.hypot(x - cx, y - cy) < 16 * KM or any(
            np.hypot(x - c.x, y - c.y) < c.grid_radius_m + 2 * KM for c in CENTRES[1:]
        )
        near_village = any(np.hypot(x - vx, y - vy) < 3 * KM for vx, vy in centres)
        if near_centre or near_village or roadless.distance(p) < 1.5 * KM:
            continue
        centres.append((x, y))
        half = rng.uniform(0.8, 1.4) * KM
        spacing = rng.uniform(450.0, 650.0) / scale
        streets = _grid_lines((x, y), half, spacing, rng.uniform(0, np.pi / 2))
        out.extend(shapely.intersection(streets, shapely.Point(x, y).buffer(half, quad_segs=16)))
    return centres, out


def _bridges(
    major: list[shapely.LineString], river: shapely.Geometry, boundary: shapely.Polygon
) -> list[shapely.Geometry]:
    """Pick three or four river crossings of major roads, inside the metro, to keep as bridges.

    On each side of the main centre (along the river) the nearest crossing (a core bridge)
    and the farthest one (a bridge far out), so the banks are linked both in the core and in
    the outskirts, as a real river city's bridges are. Returned per major road: the water
    that road may cross, as a thin corridor along it (empty where it has no bridge).
    """
    cx, cy = MAIN_CENTRE
    bearing = np.deg2rad(RIVER_BEARING_DEG)
    axis = np.array([np.cos(bearing), np.sin(bearing)])
    inner = boundary.buffer(-1 * KM)
    candidates = []  # (along the river from the centre, road index, crossing piece)
    for i, road in enumerate(major):
        for piece in shapely.get_parts(shapely.intersection(road, river)):
            if piece.length < 1.0 or not inner.contains(piece):
                continue
            mid = shapely.line_interpolate_point(piece, 0.5, normalized=True)
            candidates.append((float(np.dot([mid.x - cx, mid.y - cy], axis)), i, piece))
    chosen = []
    for side in (1.0, -1.0):
        on_side = sorted((c for c in candidates if c[0] * side > 0), key=lambda c: abs(c[0]))
        if on_side:
            chosen.append(on_side[0])
            if abs(on_side[-1][0] - on_side[0][0]) > 3 * KM:
                chosen.append(on_side[-1])
    corridors: list[shapely.Geometry] = [shapely.Polygon() for _ in major]
    for _, i, piece in chosen:
        corridors[i] = shapely.union(corridors[i], piece.buffer(5.0, cap_style="flat"))
    return corridors


def _cut_by_water(
    lines: list[shapely.LineString], water: shapely.Geometry, corridors: list[shapely.Geometry]
) -> np.ndarray:
    """Remove every road from the water, except each bridge road on its own corridor.

    The first ``len(corridors)`` lines are the major roads the corridors belong to. Only the
    bridge road itself gets the corridor cut out of the water, so a street that happens to
    cross the corridor is still cut at the bank.
    """
    shapely.prepare(water)
    out = np.array(lines, dtype=object)
    hits = shapely.intersects(out, water)
    for i in np.flatnonzero(hits):
        mask = water
        if i < len(corridors) and not corridors[i].is_empty:
            mask = water - corridors[i]
        out[i] = shapely.difference(out[i], mask)
    return out


def _node(
    pieces: list[tuple[shapely.Geometry, str]], river: shapely.Geometry
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Split every line at every crossing; give each edge its class and bridge flag.

    ``shapely.union_all`` nodes the linework: where two roads cross, both are split at the
    same computed point, so edges meet at bit-identical endpoints. Each edge then takes the
    class of the source line it lies on (the highest class where lines overlap).
    """
    rank = {"motorway": 0, "primary": 1, "secondary": 2, "tertiary": 3, "residential": 4}
    order = sorted(range(len(pieces)), key=lambda i: rank[pieces[i][1]])
    sources = np.array([pieces[i][0] for i in order], dtype=object)
    source_class = [pieces[i][1] for i in order]
    noded = shapely.get_parts(shapely.union_all(sources))
    noded = noded[shapely.length(noded) > 0.01]
    noded = shapely.normalize(noded)
    # Sort edges for a stable file order whatever GEOS returns first.
    first, last = _ends(noded)
    key = np.lexsort((last[:, 1], last[:, 0], first[:, 1], first[:, 0]))
    noded = noded[key]

    # Match on the sources' 2-point pieces: small boxes make the nearest-line query fast.
    coords, owner = shapely.get_coordinates(shapely.segmentize(sources, 200.0), return_index=True)
    same = owner[:-1] == owner[1:]
    pieces_xy = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    piece_owner = owner[:-1][same]
    tree = shapely.STRtree(shapely.linestrings(pieces_xy))
    mid = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    pairs = tree.query_nearest(mid, all_matches=True)
    best = np.full(len(noded), len(sources), dtype=np.int64)
    # Lowest source index = highest class, since the sources are sorted by class.
    np.minimum.at(best, pairs[0], piece_owner[pairs[1]])
    highway = [source_class[j] for j in best]

    bridge = np.zeros(len(noded), dtype=bool)
    wet = shapely.STRtree(noded).query(river, predicate="intersects")
    if len(wet):
        inside = shapely.length(shapely.intersection(noded[wet], river))
        bridge[wet[inside > 0.01]] = True
    return noded, highway, bridge


def giant_component(lines: np.ndarray) -> np.ndarray:
    """Return a boolean mask of the edges in the largest connected component."""
    u, v, n = _endpoint_nodes(lines)
    graph = coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    return label[u] == np.bincount(label).argmax()


def _ends(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the first and the last vertex of every line, as two (n, 2) arrays."""
    xy, index = shapely.get_coordinates(lines, return_index=True)
    change = index[1:] != index[:-1]
    return xy[np.r_[True, change]], xy[np.r_[change, True]]


def _endpoint_nodes(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Give each distinct endpoint of ``lines`` a node id: (start ids, end ids, node count).

    Endpoints are matched exactly (the network is noded, so shared ends are bit-identical);
    viewing each (x, y) pair as one complex number makes ``np.unique`` a fast 1-D sort.
    """
    ends = np.concatenate(_ends(lines))
    keys = np.ascontiguousarray(ends).view(np.complex128).ravel()
    _, node = np.unique(keys, return_inverse=True)
    n_edges = len(lines)
    return node[:n_edges], node[n_edges:], int(node.max()) + 1
