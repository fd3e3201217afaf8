"""The demo metro's layout: scale, centres, rings, river, roadless zones, sites, and its shapes.

Every constant of the synthetic metro lives here (see :mod:`latcircle.demo.generator` for why
the demo looks the way it does), with the local frame that scales them and the outline and
water they draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from rasterio.transform import Affine

#: Where the synthetic metro is centred (lon, lat). No real place is depicted.
DEMO_CENTRE_LONLAT = (112.60, 30.95)


#: The local projected CRS everything is generated in (UTM zone 49N).
DEMO_CRS = "EPSG:32649"


WGS84 = "EPSG:4326"


NAME = "Demo metro (synthetic)"


#: Pinned GeoPackage timestamp: gpkg_contents.last_change would otherwise be "now".
GPKG_DATE = "2025-01-01T00:00:00.000Z"


#: Population pixel size, degrees (3 arc-seconds, WorldPop's grid).
PIXEL_DEG = 1.0 / 1200.0


POP_MARGIN_M = 5_000.0


POPULATION_TOTAL = 4_000_000.0


N_KEY_SITES_POPULATION = 240


N_KEY_SITES_OUTLYING = 60


KM = 1000.0


#: The boundary: an ellipse (semi-axes, metres) whose radius is modulated by low-frequency sines.
_BOUNDARY_SEMI_AXES_M = (64 * KM, 45 * KM)


#: The main centre, off the boundary's middle like many real municipalities' cores.
MAIN_CENTRE = (12 * KM, 0.0)


#: Ring roads around the main centre (radius metres, highway class).
RINGS = ((6.0 * KM, "primary"), (13.0 * KM, "motorway"), (30.0 * KM, "motorway"))


#: The river runs south-west to north-east (bearing of its axis, degrees from east).
RIVER_BEARING_DEG = 35.0


#: Radial arterials start inside ring 1: the streets of the old centre carry the rest.
RADIAL_START_M = 5.0 * KM


#: Core grid: inside ring 1 at 150 m, between rings 1 and 2 at 220 m.
CORE_INNER_SPACING_M = 150.0


CORE_OUTER_SPACING_M = 220.0


@dataclass(frozen=True, slots=True)
class _Centre:
    """A population centre: position (m), share of the metro's people, decay length (m)."""

    name: str
    x: float
    y: float
    share: float
    decay_m: float
    grid_radius_m: float = 0.0
    grid_spacing_m: float = 0.0


CENTRES = (
    _Centre("main", MAIN_CENTRE[0], MAIN_CENTRE[1], 0.34, 4.0 * KM),
    _Centre("east", 48 * KM, 2 * KM, 0.26, 3.5 * KM, 4.5 * KM, 400.0),
    _Centre("west", -34 * KM, -10 * KM, 0.06, 2.5 * KM, 4.0 * KM, 450.0),
    _Centre("northeast", 33 * KM, 26 * KM, 0.08, 2.5 * KM, 4.0 * KM, 450.0),
)


#: People living in villages and spread thinly over the countryside.
VILLAGE_SHARE = 0.08


RURAL_SHARE = 0.18


N_VILLAGES = 70


#: Roadless zones (centre x, y, radius, metres): hills and a wetland.
ROADLESS = ((-22 * KM, 30 * KM, 12 * KM), (22 * KM, -31 * KM, 10 * KM))


@dataclass(frozen=True, slots=True)
class _SiteSpec:
    """A hypothetical compute site, placed near a point and snapped to the network."""

    id: str
    name: str
    tier: str
    online_year: int
    device_latency_us: float
    x_km: float
    y_km: float

    @property
    def xy(self) -> tuple[float, float]:
        """The point to place the site near, local metres."""
        return self.x_km * KM, self.y_km * KM


#: Device latency of the legacy 2024-2025 sites: reached through electrical aggregation and
#: OEO regeneration; see the module docstring for the story this tells.
LEGACY_DEVICE_US = 350.0


#: Device latency of the all-optical sites (the optical preset's default).
_OPTICAL_DEVICE_US = 20.0


SITE_SPECS = tuple(
    _SiteSpec(*row)
    for row in (
        # id, name, tier, online year, device latency (µs), near x, y (km from the centre)
        ("S1", "Synthetic site 1 (west DC park)", "large", 2024, LEGACY_DEVICE_US, -55, -8),
        ("S2", "Synthetic site 2 (south-west edge)", "edge", 2025, LEGACY_DEVICE_US, -40, -26),
        ("S3", "Synthetic site 3 (north-west edge)", "edge", 2026, LEGACY_DEVICE_US, -52, 5),
        ("S4", "Synthetic site 4 (west hub)", "medium", 2027, LEGACY_DEVICE_US, -50, 8),
        ("S5", "Synthetic site 5 (all-optical core)", "large", 2028, _OPTICAL_DEVICE_US, 10, 2),
    )
)


KEY_SITE_WEIGHTS = {
    "hospital": 2.0,
    "campus": 1.5,
    "industrial_park": 1.5,
    "business_district": 2.0,
    "access_point": 1.0,
}


DISTRICT_NAMES = ("Riverside Core", "North Hills", "West Fields", "South Plain", "East Gate")


@dataclass(frozen=True, slots=True)
class Roads:
    """The noded road network: one LineString per edge, with its class and bridge flag."""

    lines: np.ndarray
    highway: list[str]
    bridge: np.ndarray
    #: Village centres (local metres): the population model puts people there.
    villages: list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Population:
    """People per pixel on a north-up EPSG:4326 grid."""

    people: np.ndarray
    transform: Affine


class LocalFrame:
    """Offsets in metres from the demo centre <-> UTM 49N and WGS84.

    Geometry is generated around (0, 0) so that the numbers in this module read as
    kilometres from the centre; it is shifted into UTM only when written. With a ``scale``
    the layout's metres are ``scale`` real metres each (a smaller or larger metro).
    """

    def __init__(self, scale: float = 1.0) -> None:
        self._fwd = Transformer.from_crs(WGS84, DEMO_CRS, always_xy=True)
        self._inv = Transformer.from_crs(DEMO_CRS, WGS84, always_xy=True)
        x0, y0 = self._fwd.transform(*DEMO_CENTRE_LONLAT)
        # Whole metres keep the written coordinates tidy and the shift exact.
        self.x0, self.y0 = float(round(x0)), float(round(y0))
        self.scale = float(scale)

    def utm(self, geom: shapely.Geometry) -> shapely.Geometry:
        """Shift (and scale) local geometry into UTM."""
        if self.scale == 1.0:  # the default metro's bytes stay exactly as they were
            return shapely.transform(geom, lambda xy: xy + np.array([self.x0, self.y0]))
        return shapely.transform(
            geom, lambda xy: cm(xy * self.scale) + np.array([self.x0, self.y0])
        )

    def lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local metres to lon/lat degrees."""
        s = self.scale
        lon, lat = self._inv.transform(np.asarray(x) * s + self.x0, np.asarray(y) * s + self.y0)
        return np.asarray(lon), np.asarray(lat)

    def local(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lon/lat degrees to local metres."""
        x, y = self._fwd.transform(np.asarray(lon), np.asarray(lat))
        return (np.asarray(x) - self.x0) / self.scale, (np.asarray(y) - self.y0) / self.scale

    def geom_lonlat(self, geom: shapely.Geometry) -> shapely.Geometry:
        """Local geometry to lon/lat degrees."""

        def _fn(xy: np.ndarray) -> np.ndarray:
            lon, lat = self.lonlat(xy[:, 0], xy[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(geom, _fn)


def cm(xy: np.ndarray) -> np.ndarray:
    """Round generated coordinates to the centimetre.

    Geometry operations then start from the same numbers whatever last bit the platform's
    sin/cos/exp produced, which keeps the written bytes reproducible across machines.
    """
    return np.round(xy, 2)


def make_boundary(rng: np.random.Generator) -> tuple[shapely.Polygon, list[shapely.Polygon]]:
    """Return the metro outline and its districts (a core disc plus four sectors).

    The outline is an ellipse whose radius is modulated by three low-frequency sines: irregular
    enough to look drawn, smooth enough that every centre and site stays well inside.
    """
    theta = np.linspace(0.0, 2 * np.pi, 720, endpoint=False)
    a, b = _BOUNDARY_SEMI_AXES_M
    radius = a * b / np.hypot(b * np.cos(theta), a * np.sin(theta))
    for k, amp in ((2, 0.05), (3, 0.04), (5, 0.025)):
        radius = radius * (1 + amp * np.sin(k * theta + rng.uniform(0, 2 * np.pi)))
    # Whole metres: tidy coordinates. (Rounded here rather than with set_precision, which
    # would also snap every overlay result, such as the districts, to the metre grid.)
    xy = np.round(np.column_stack([radius * np.cos(theta), radius * np.sin(theta)]))
    boundary = shapely.Polygon(xy)

    cx, cy = MAIN_CENTRE
    core = boundary & shapely.Point(cx, cy).buffer(14 * KM, quad_segs=64)
    # Sector edges at fixed bearings from the main centre; consecutive wedges share their
    # edge vertices exactly, so the districts tile the outline without slivers.
    edges = np.deg2rad([60.0, 150.0, 240.0, 330.0])
    far = 400 * KM
    sectors = []
    for lo, hi in zip(edges, np.roll(edges, -1), strict=True):
        hi_unwrapped = hi if hi > lo else hi + 2 * np.pi
        arc = np.linspace(lo, hi_unwrapped, 32)
        wedge = shapely.Polygon(
            [(cx, cy), *zip(cx + far * np.cos(arc), cy + far * np.sin(arc), strict=True)]
        )
        sectors.append(shapely.normalize((boundary & wedge) - core))
    # Sectors in the order of DISTRICT_NAMES after the core: north, west, south, east.
    north, west, south, east = sectors
    return boundary, [shapely.normalize(core), north, west, south, east]


def make_water(rng: np.random.Generator) -> tuple[shapely.Geometry, shapely.Polygon]:
    """Return the river band and the lake (local metres).

    The river runs south-west to north-east through the core, as rivers run through most old
    cores; its centreline meanders with two sines and its width varies 500-800 m.
    It extends past the boundary because the population raster does.
    """
    cx, cy = MAIN_CENTRE
    angle = np.deg2rad(RIVER_BEARING_DEG)
    u = np.array([np.cos(angle), np.sin(angle)])
    n = np.array([-u[1], u[0]])
    t = np.arange(-130 * KM, 130 * KM + 1, 100.0)
    phase = rng.uniform(0, 2 * np.pi, 3)
    meander = 2.2 * KM * np.sin(2 * np.pi * t / (23 * KM) + phase[0]) + 1.0 * KM * np.sin(
        2 * np.pi * t / (9 * KM) + phase[1]
    )
    # Keep the river through the core, passing 1.5 km south-east of the main centre so
    # that the centre itself stands on the north-west bank.
    meander += -1.5 * KM - np.interp(0.0, t, meander)
    centre = np.array([cx, cy]) + np.outer(t, u) + np.outer(meander, n)
    width = 650.0 + 150.0 * np.sin(2 * np.pi * t / (31 * KM) + phase[2])
    # Offset the centreline by half the width along its local normal on each side. The
    # tightest bend (radius ~1.5 km) is wider than the band, so the edges never cross.
    tangent = np.gradient(centre, axis=0)
    tangent /= np.hypot(tangent[:, 0], tangent[:, 1])[:, None]
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) * (width / 2)[:, None]
    river = shapely.make_valid(
        shapely.Polygon(cm(np.vstack([centre + normal, (centre - normal)[::-1]])))
    )

    theta = np.linspace(0.0, 2 * np.pi, 180, endpoint=False)
    r = 1.0 + 0.15 * np.sin(2 * theta + rng.uniform(0, 2 * np.pi)) + 0.08 * np.sin(3 * theta)
    lx, ly = cx + 14 * KM, cy - 9 * KM
    lake = shapely.Polygon(
        cm(np.column_stack([lx + 3.5 * KM * r * np.cos(theta), ly + 2.2 * KM * r * np.sin(theta)]))
    )
    lake = lake - river
    return river, lake
