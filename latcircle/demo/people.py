"""The demo metro's people and places: the population raster, key sites and compute sites."""

from __future__ import annotations

import numpy as np
import shapely
from rasterio.features import geometry_mask
from rasterio.transform import from_origin

from latcircle.demo.layout import (
    CENTRES,
    KEY_SITE_WEIGHTS,
    KM,
    MAIN_CENTRE,
    N_KEY_SITES_OUTLYING,
    N_KEY_SITES_POPULATION,
    PIXEL_DEG,
    POP_MARGIN_M,
    POPULATION_TOTAL,
    RURAL_SHARE,
    SITE_SPECS,
    VILLAGE_SHARE,
    LocalFrame,
    Population,
    Roads,
)
from latcircle.demo.roads import giant_component


def make_population(
    boundary: shapely.Polygon,
    water: shapely.Geometry,
    villages: list[tuple[float, float]],
    frame: LocalFrame,
) -> Population:
    """Evaluate a polycentric density model on a 3 arc-second EPSG:4326 grid.

    Each centre contributes a normalised exponential ``share / (2π h²) · exp(-r / h)``;
    villages are small such bumps (evaluated in a window around each village, beyond which
    they are below 1e-4 of their peak); the countryside gets a thin, gently varying floor. The
    pixels touching water are set to 0, then the grid is scaled so that the pixels whose
    centre is inside the boundary hold ``POPULATION_TOTAL`` people.
    """
    lon0, lat0, lon1, lat1 = frame.geom_lonlat(boundary.buffer(POP_MARGIN_M)).bounds
    west = np.floor(lon0 / PIXEL_DEG) * PIXEL_DEG
    north = np.ceil(lat1 / PIXEL_DEG) * PIXEL_DEG
    width = int(np.ceil((lon1 - west) / PIXEL_DEG))
    height = int(np.ceil((north - lat0) / PIXEL_DEG))
    transform = from_origin(west, north, PIXEL_DEG, PIXEL_DEG)

    lon = west + (np.arange(width) + 0.5) * PIXEL_DEG
    lat = north - (np.arange(height) + 0.5) * PIXEL_DEG
    glon, glat = np.meshgrid(lon, lat)
    x, y = frame.local(glon.ravel(), glat.ravel())
    x, y = x.reshape(glon.shape), y.reshape(glon.shape)

    density = np.zeros_like(x)  # people per m², before scaling
    for c in CENTRES:
        r = np.hypot(x - c.x, y - c.y)
        density += c.share / (2 * np.pi * c.decay_m**2) * np.exp(-r / c.decay_m)
    h = 500.0
    reach = 10 * h
    vlon, vlat = frame.lonlat(*np.array(villages, dtype=np.float64).reshape(-1, 2).T)
    cols, rows = ~transform * (vlon, vlat)
    # A pixel is about 92 m tall and 80 m wide here (real metres: the layout's times scale).
    half_rows = int(np.ceil(reach * frame.scale / 90.0))
    half_cols = int(np.ceil(reach * frame.scale / 75.0))
    for (vx, vy), r0, c0 in zip(villages, rows.astype(int), cols.astype(int), strict=True):
        win = (
            slice(max(r0 - half_rows, 0), r0 + half_rows + 1),
            slice(max(c0 - half_cols, 0), c0 + half_cols + 1),
        )
        r = np.hypot(x[win] - vx, y[win] - vy)
        density[win] += VILLAGE_SHARE / len(villages) / (2 * np.pi * h**2) * np.exp(-r / h)
    area = boundary.area - (boundary & water).area
    texture = 1 + 0.4 * np.sin(x / 7_300.0 + 1.3) * np.sin(y / 5_100.0 + 0.4)
    density += RURAL_SHARE / area * texture

    pixel_area = _pixel_area_m2(glat)
    people = density * pixel_area
    boundary_ll = frame.geom_lonlat(boundary)
    inside = geometry_mask([boundary_ll], people.shape, transform, invert=True)
    wet = geometry_mask(
        list(shapely.get_parts(frame.geom_lonlat(water))),
        people.shape,
        transform,
        invert=True,
        all_touched=True,
    )
    people[wet] = 0.0
    # The same people per km² whatever the scale: the total goes with the area.
    people *= POPULATION_TOTAL * frame.scale**2 / people[inside].sum()
    return Population(people=np.round(people, 4).astype(np.float32), transform=transform)


def _pixel_area_m2(lat: np.ndarray) -> np.ndarray:
    """Area of a 3 arc-second pixel at latitude ``lat`` (spherical Earth, m²)."""
    r_earth = 6_371_008.8
    d = np.deg2rad(PIXEL_DEG)
    return r_earth**2 * d * d * np.cos(np.deg2rad(lat))


def make_key_sites(
    population: Population,
    boundary: shapely.Polygon,
    water: shapely.Geometry,
    frame: LocalFrame,
    rng: np.random.Generator,
) -> list[list[str]]:
    """Sample 300 key sites: most where people live, some anywhere in the outskirts.

    Categories depend on how dense the place is: business districts and hospitals in dense
    places, campuses in between, industrial parks and access points in the outskirts.
    """
    n_pop, n_out = _key_site_counts(frame.scale)
    people = population.people
    flat = people.ravel().astype(np.float64)
    flat /= flat.sum()
    candidates: list[tuple[float, float, float]] = []  # x, y, density relative to the max
    picks = rng.choice(flat.size, size=3 * n_pop, p=flat)
    rows, cols = np.divmod(picks, people.shape[1])
    jitter = rng.uniform(0, 1, (len(picks), 2))
    lon, lat = population.transform * (cols + jitter[:, 0], rows + jitter[:, 1])
    x, y = frame.local(np.asarray(lon), np.asarray(lat))
    dense = people[rows, cols] / people.max()
    shapely.prepare(boundary)
    ok = shapely.contains_xy(boundary, x, y) & ~shapely.intersects_xy(water, x, y)
    for i in np.flatnonzero(ok)[:n_pop]:
        candidates.append((float(x[i]), float(y[i]), float(dense[i])))

    cx, cy = MAIN_CENTRE
    minx, miny, maxx, maxy = boundary.bounds
    for _ in range(1000 * n_out):  # bounded rejection sampling
        if len(candidates) == n_pop + n_out:
            break
        px, py = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if np.hypot(px - cx, py - cy) < 20 * KM:
            continue
        if shapely.contains_xy(boundary, px, py) and not shapely.intersects_xy(water, px, py):
            candidates.append((float(px), float(py), 0.0))

    counters = dict.fromkeys(KEY_SITE_WEIGHTS, 0)
    out = []
    for px, py, dense in candidates:
        category = _category(dense, rng)
        counters[category] += 1
        lon_i, lat_i = frame.lonlat(np.array([px]), np.array([py]))
        out.append(
            [
                f"Synthetic {category.replace('_', ' ')} {counters[category]}",
                category,
                f"{KEY_SITE_WEIGHTS[category]:.1f}",
                f"{lon_i[0]:.7f}",
                f"{lat_i[0]:.7f}",
            ]
        )
    return out


def _key_site_counts(scale: float) -> tuple[int, int]:
    """Key sites near people and in the outskirts: as many per km² at any scale (≥ 20 and 5)."""
    if scale == 1.0:
        return N_KEY_SITES_POPULATION, N_KEY_SITES_OUTLYING
    area = scale**2
    return max(20, round(N_KEY_SITES_POPULATION * area)), max(5, round(N_KEY_SITES_OUTLYING * area))


def _category(dense: float, rng: np.random.Generator) -> str:
    """Draw a key-site category given how dense the place is (0 empty .. 1 densest)."""
    if dense > 0.35:
        p = {"business_district": 0.35, "hospital": 0.3, "campus": 0.15, "access_point": 0.2}
    elif dense > 0.05:
        p = {"hospital": 0.25, "campus": 0.3, "access_point": 0.25, "industrial_park": 0.2}
    else:
        p = {"industrial_park": 0.45, "access_point": 0.4, "hospital": 0.1, "campus": 0.05}
    names = list(p)
    return names[int(rng.choice(len(names), p=list(p.values())))]


def make_sites(roads: Roads, frame: LocalFrame) -> list[list[str]]:
    """Place the compute sites 30 m off the giant component's nearest road.

    Sites attach to their own network component, so they are kept off the small pieces the
    river leaves behind.
    """
    giant = roads.lines[giant_component(roads.lines)]
    tree = shapely.STRtree(giant)
    out = []
    for spec in SITE_SPECS:
        target = shapely.Point(*spec.xy)
        near = giant[tree.nearest(target)]
        on = shapely.line_interpolate_point(near, shapely.line_locate_point(near, target))
        lon, lat = frame.lonlat(np.array([on.x + 30.0]), np.array([on.y + 30.0]))
        out.append(
            [
                spec.id,
                spec.name,
                spec.tier,
                str(spec.online_year),
                f"{spec.device_latency_us:.0f}",
                f"{lon[0]:.7f}",
                f"{lat[0]:.7f}",
            ]
        )
    return out
