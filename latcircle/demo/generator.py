"""The bundled synthetic demo metro: every input of a city, generated, nothing real.

:func:`write_demo_city` writes a boundary, districts, a road network, a population raster,
key sites, compute sites and a ``demo.yaml`` config that :func:`latcircle.config.load_config`
accepts. The same seed gives byte-identical files, so the demo doubles as a test fixture and
as a smoke test of the whole pipeline.

Nothing depicted exists. The metro is placed at lon 112.60, lat 30.95 (UTM zone 49N,
EPSG:32649) only so that coordinates, CRSs and the 3 arc-second population grid behave as
they do for a real Chinese metro; the config says ``synthetic: true``, the sites file is
``hypothetical: true`` and every name says "Synthetic".

Why the demo looks the way it does
----------------------------------
With the real physics the 1 ms circle is large. On the optical preset over a road proxy,
``L = 100 µs (equipment) + S (site device) + 4.897 µs/km x 1.2 (route factor) x d``, so a
site with the default 20 µs device latency reaches ``(1000 - 120) / 5.876 ≈ 150 km`` of
network. A 40 km x 30 km toy city would be covered everywhere by any site at all, and every
report would read 100 %. Three choices make the demo tell a planner's story instead:

* **Scale.** The metro is about 125 km x 95 km (about 9,000 km², the size of a
  prefecture-level municipality such as Wuhan at 8,600 km²): a dense core 26 km across,
  three sub-centres, 70 villages and sparse long county roads in between, so the network
  stays at 15-40 k nodes (about 23 k) and a run takes seconds.
* **No access.** Two roadless zones (hills, wetland) and the gaps of a ~3.2 km county-road
  grid leave places more than 1 km (``max_drop_m``) from any road: about 5 % of the people
  and 6-10 % of the key sites. They stay uncovered whatever is built: the "build access"
  remedy.
* **Distance, through legacy sites.** The sites online in 2024-2027 sit in the western
  outskirts and are reached through an electrical aggregation stage and OEO regeneration
  (about 100 µs each, DESIGN §2), recorded per site as ``device_latency_us: 350``. That
  shrinks their 1 ms reach to ``(1000 - 100 - 350) / 5.876 ≈ 94 km`` of network: the core
  is inside it, the eastern sub-centre and the north-eastern new town are not, so 1 ms
  coverage creeps from about 57 % (2024) to the mid-60s (2027) of key sites: *behind* the
  70 % target of 2027 even with every site planned by then ("too far": the "build compute"
  remedy). The all-optical core site of 2028 (20 µs) reaches the whole connected network
  (about 90 % of key sites, 94 % of people): the metro *meets* the 2028 target, capped only
  by the no-access areas.

These figures come from an independent rough evaluation of DESIGN §2 in
``tests/test_demo.py``, which checks the story for the default seed.

Water is the third feature the isochrones must show: a meandering river 500-800 m wide with
three or four bridges crosses the core, and a lake lies south-east of it; no road runs
through either except the bridges, and nobody lives on them.

Coordinates are rounded (generated vertices to 1 cm, people to 1e-4) before the geometry
operations and the writes, so that last-bit differences between maths libraries are unlikely
to change a byte; identical bytes are tested on one platform only.

Files and formats
-----------------
========================  ====================================================================
``demo.yaml``             the city config, paths relative to it
``boundary.gpkg``         layer ``boundary``: one polygon, EPSG:32649
``districts.gpkg``        layer ``districts``: five polygons partitioning the boundary, ``name``
``roads.gpkg``            layer ``roads``: LineStrings noded at every crossing, EPSG:32649,
                          columns ``highway`` and ``bridge`` (1 on a river bridge, else 0)
``population.tif``        float32 people per pixel, EPSG:4326, 3 arc-second pixels (like
                          WorldPop), the boundary's bounding box plus 5 km; no nodata value:
                          0 means nobody lives there (water), as nothing is unknown. About
                          4 M people inside the boundary; people outside it are kept on
                          purpose (neighbours), so a pipeline must clip them.
``key_sites.csv``         ``name,category,weight,lon,lat`` (WGS84)
``water.gpkg``            layer ``water``: the river (within the boundary) and the lake,
                          ``name``; not a config input, the truth for checking isochrone holes
``sites.csv``             ``id,name,tier,online_year,device_latency_us,lon,lat`` (WGS84)
========================  ====================================================================

GeoPackages embed the time they were written; it is pinned (``OGR_CURRENT_DATE``) so that
the bytes depend on the seed only.

Examples
--------
>>> from latcircle.config import load_config
>>> cfg = load_config(write_demo_city("demo"))  # doctest: +SKIP
>>> cfg.synthetic  # doctest: +SKIP
True
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import rasterio
import shapely
from pyproj import Transformer
from rasterio.features import geometry_mask
from rasterio.transform import Affine, from_origin
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from latcircle.output.files import pinned_gpkg_time

__all__ = ["DEMO_CENTRE_LONLAT", "DEMO_CRS", "write_demo_city"]

#: Where the synthetic metro is centred (lon, lat). No real place is depicted.
DEMO_CENTRE_LONLAT = (112.60, 30.95)
#: The local projected CRS everything is generated in (UTM zone 49N).
DEMO_CRS = "EPSG:32649"

_WGS84 = "EPSG:4326"
_NAME = "Demo metro (synthetic)"
#: Pinned GeoPackage timestamp: gpkg_contents.last_change would otherwise be "now".
_GPKG_DATE = "2025-01-01T00:00:00.000Z"
#: Population pixel size, degrees (3 arc-seconds, WorldPop's grid).
_PIXEL_DEG = 1.0 / 1200.0
_POP_MARGIN_M = 5_000.0
_POPULATION_TOTAL = 4_000_000.0
_N_KEY_SITES_POPULATION = 240
_N_KEY_SITES_OUTLYING = 60

_KM = 1000.0

#: The boundary: an ellipse (semi-axes, metres) whose radius is modulated by low-frequency sines.
_BOUNDARY_SEMI_AXES_M = (64 * _KM, 45 * _KM)
#: The main centre, off the boundary's middle like many real municipalities' cores.
_MAIN_CENTRE = (12 * _KM, 0.0)
#: Ring roads around the main centre (radius metres, highway class).
_RINGS = ((6.0 * _KM, "primary"), (13.0 * _KM, "motorway"), (30.0 * _KM, "motorway"))
#: The river runs south-west to north-east (bearing of its axis, degrees from east).
_RIVER_BEARING_DEG = 35.0
#: Radial arterials start inside ring 1: the streets of the old centre carry the rest.
_RADIAL_START_M = 5.0 * _KM
#: Core grid: inside ring 1 at 150 m, between rings 1 and 2 at 220 m.
_CORE_INNER_SPACING_M = 150.0
_CORE_OUTER_SPACING_M = 220.0


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


_CENTRES = (
    _Centre("main", _MAIN_CENTRE[0], _MAIN_CENTRE[1], 0.34, 4.0 * _KM),
    _Centre("east", 48 * _KM, 2 * _KM, 0.26, 3.5 * _KM, 4.5 * _KM, 400.0),
    _Centre("west", -34 * _KM, -10 * _KM, 0.06, 2.5 * _KM, 4.0 * _KM, 450.0),
    _Centre("northeast", 33 * _KM, 26 * _KM, 0.08, 2.5 * _KM, 4.0 * _KM, 450.0),
)
#: People living in villages and spread thinly over the countryside.
_VILLAGE_SHARE = 0.08
_RURAL_SHARE = 0.18
_N_VILLAGES = 70

#: Roadless zones (centre x, y, radius, metres): hills and a wetland.
_ROADLESS = ((-22 * _KM, 30 * _KM, 12 * _KM), (22 * _KM, -31 * _KM, 10 * _KM))


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
        return self.x_km * _KM, self.y_km * _KM


#: Device latency of the legacy 2024-2025 sites: reached through electrical aggregation and
#: OEO regeneration; see the module docstring for the story this tells.
_LEGACY_DEVICE_US = 350.0
#: Device latency of the all-optical sites (the optical preset's default).
_OPTICAL_DEVICE_US = 20.0
_SITE_SPECS = tuple(
    _SiteSpec(*row)
    for row in (
        # id, name, tier, online year, device latency (µs), near x, y (km from the centre)
        ("S1", "Synthetic site 1 (west DC park)", "large", 2024, _LEGACY_DEVICE_US, -55, -8),
        ("S2", "Synthetic site 2 (south-west edge)", "edge", 2025, _LEGACY_DEVICE_US, -40, -26),
        ("S3", "Synthetic site 3 (north-west edge)", "edge", 2026, _LEGACY_DEVICE_US, -52, 5),
        ("S4", "Synthetic site 4 (west hub)", "medium", 2027, _LEGACY_DEVICE_US, -50, 8),
        ("S5", "Synthetic site 5 (all-optical core)", "large", 2028, _OPTICAL_DEVICE_US, 10, 2),
    )
)

_KEY_SITE_WEIGHTS = {
    "hospital": 2.0,
    "campus": 1.5,
    "industrial_park": 1.5,
    "business_district": 2.0,
    "access_point": 1.0,
}

_DISTRICT_NAMES = ("Riverside Core", "North Hills", "West Fields", "South Plain", "East Gate")


@dataclass(frozen=True, slots=True)
class _Roads:
    """The noded road network: one LineString per edge, with its class and bridge flag."""

    lines: np.ndarray
    highway: list[str]
    bridge: np.ndarray
    #: Village centres (local metres): the population model puts people there.
    villages: list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class _Population:
    """People per pixel on a north-up EPSG:4326 grid."""

    people: np.ndarray
    transform: Affine


def write_demo_city(
    folder: str | Path,
    *,
    seed: int = 7,
    scale: float = 1.0,
    city_id: str = "demo",
    name: str | None = None,
) -> Path:
    """Generate the synthetic demo metro and write its inputs and config into ``folder``.

    Parameters
    ----------
    folder
        Where to write; created if missing. Existing demo files are overwritten.
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives byte-identical files.
        The seed also draws the outline's irregularities, the river's meanders and the
        street grids' angles: each seed is a differently shaped metro.
    scale
        Linear size against the default metro (about 125 km x 95 km): ``0.2`` gives a
        25 km x 19 km metro. The layout (centres, rings, river, roadless zones, sites)
        shrinks with it, street spacings (150 m in the core, the 3.2 km county grid) and the
        people per km² do not, so the network has about ``scale²`` times the nodes and the
        run costs about that much less. ``1.0`` writes exactly the default metro.
    city_id
        The config's ``id`` (a safe name), so that many generated metros can be run and
        rolled up together; the config is written as ``folder/<city_id>.yaml``.
    name
        The display name; ``"Demo metro (synthetic)"`` for the default id, else
        ``"Demo metro <city_id> (synthetic)"``.

    Returns
    -------
    pathlib.Path
        The config, ``folder/<city_id>.yaml`` (``demo.yaml`` by default), ready for
        :func:`latcircle.config.load_config`.

    Raises
    ------
    InputError
        For a scale outside ``[0.1, 2]`` or an id that is not a safe name.

    Notes
    -----
    See the module docstring for the layout, the file formats and why the demo metro is as
    large as a real municipality.
    """
    _check_options(scale=scale, city_id=city_id)
    name = name or (_NAME if city_id == "demo" else f"Demo metro {city_id} (synthetic)")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    frame = _LocalFrame(scale)

    boundary, districts = _boundary(rng)
    river, lake = _water(rng)
    roads = _roads(boundary, river, lake, rng, scale=scale)
    population = _population(boundary, river | lake, roads.villages, frame)
    key_sites = _key_sites(population, boundary, river | lake, frame, rng)
    sites = _sites(roads, frame)

    _write_vector(folder / "boundary.gpkg", "boundary", [boundary], frame, {"name": [name]})
    _write_vector(
        folder / "districts.gpkg", "districts", districts, frame, {"name": list(_DISTRICT_NAMES)}
    )
    _write_vector(
        folder / "roads.gpkg",
        "roads",
        list(roads.lines),
        frame,
        {"highway": roads.highway, "bridge": roads.bridge.astype(np.int32)},
    )
    # Not an input of the config: the ground truth of the holes the isochrones must keep.
    _write_vector(
        folder / "water.gpkg",
        "water",
        [shapely.intersection(river, boundary), lake],
        frame,
        {"name": ["river", "lake"]},
    )
    _write_raster(folder / "population.tif", population)
    _write_csv(folder / "key_sites.csv", ["name", "category", "weight", "lon", "lat"], key_sites)
    _write_csv(
        folder / "sites.csv",
        ["id", "name", "tier", "online_year", "device_latency_us", "lon", "lat"],
        sites,
    )
    return _write_config(folder, city_id=city_id, name=name)


def _check_options(*, scale: float, city_id: str) -> None:
    from latcircle.config import is_safe_city_id
    from latcircle.errors import InputError

    if not (0.1 <= scale <= 2.0):
        raise InputError("write_demo_city", "scale", f"{scale} is outside [0.1, 2]")
    if not is_safe_city_id(city_id):
        raise InputError("write_demo_city", "city_id", f"{city_id!r} is not a safe name")


# --------------------------------------------------------------------------- coordinates


class _LocalFrame:
    """Offsets in metres from the demo centre <-> UTM 49N and WGS84.

    Geometry is generated around (0, 0) so that the numbers in this module read as
    kilometres from the centre; it is shifted into UTM only when written. With a ``scale``
    the layout's metres are ``scale`` real metres each (a smaller or larger metro).
    """

    def __init__(self, scale: float = 1.0) -> None:
        self._fwd = Transformer.from_crs(_WGS84, DEMO_CRS, always_xy=True)
        self._inv = Transformer.from_crs(DEMO_CRS, _WGS84, always_xy=True)
        x0, y0 = self._fwd.transform(*DEMO_CENTRE_LONLAT)
        # Whole metres keep the written coordinates tidy and the shift exact.
        self.x0, self.y0 = float(round(x0)), float(round(y0))
        self.scale = float(scale)

    def utm(self, geom: shapely.Geometry) -> shapely.Geometry:
        """Shift (and scale) local geometry into UTM."""
        if self.scale == 1.0:  # the default metro's bytes stay exactly as they were
            return shapely.transform(geom, lambda xy: xy + np.array([self.x0, self.y0]))
        return shapely.transform(
            geom, lambda xy: _cm(xy * self.scale) + np.array([self.x0, self.y0])
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


def _cm(xy: np.ndarray) -> np.ndarray:
    """Round generated coordinates to the centimetre.

    Geometry operations then start from the same numbers whatever last bit the platform's
    sin/cos/exp produced, which keeps the written bytes reproducible across machines.
    """
    return np.round(xy, 2)


# --------------------------------------------------------------------------- boundary


def _boundary(rng: np.random.Generator) -> tuple[shapely.Polygon, list[shapely.Polygon]]:
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

    cx, cy = _MAIN_CENTRE
    core = boundary & shapely.Point(cx, cy).buffer(14 * _KM, quad_segs=64)
    # Sector edges at fixed bearings from the main centre; consecutive wedges share their
    # edge vertices exactly, so the districts tile the outline without slivers.
    edges = np.deg2rad([60.0, 150.0, 240.0, 330.0])
    far = 400 * _KM
    sectors = []
    for lo, hi in zip(edges, np.roll(edges, -1), strict=True):
        hi_unwrapped = hi if hi > lo else hi + 2 * np.pi
        arc = np.linspace(lo, hi_unwrapped, 32)
        wedge = shapely.Polygon(
            [(cx, cy), *zip(cx + far * np.cos(arc), cy + far * np.sin(arc), strict=True)]
        )
        sectors.append(shapely.normalize((boundary & wedge) - core))
    # Sectors in the order of _DISTRICT_NAMES after the core: north, west, south, east.
    north, west, south, east = sectors
    return boundary, [shapely.normalize(core), north, west, south, east]


# --------------------------------------------------------------------------- water


def _water(rng: np.random.Generator) -> tuple[shapely.Geometry, shapely.Polygon]:
    """Return the river band and the lake (local metres).

    The river runs south-west to north-east through the core, as rivers run through most old
    cores; its centreline meanders with two sines and its width varies 500-800 m.
    It extends past the boundary because the population raster does.
    """
    cx, cy = _MAIN_CENTRE
    angle = np.deg2rad(_RIVER_BEARING_DEG)
    u = np.array([np.cos(angle), np.sin(angle)])
    n = np.array([-u[1], u[0]])
    t = np.arange(-130 * _KM, 130 * _KM + 1, 100.0)
    phase = rng.uniform(0, 2 * np.pi, 3)
    meander = 2.2 * _KM * np.sin(2 * np.pi * t / (23 * _KM) + phase[0]) + 1.0 * _KM * np.sin(
        2 * np.pi * t / (9 * _KM) + phase[1]
    )
    # Keep the river through the core, passing 1.5 km south-east of the main centre so
    # that the centre itself stands on the north-west bank.
    meander += -1.5 * _KM - np.interp(0.0, t, meander)
    centre = np.array([cx, cy]) + np.outer(t, u) + np.outer(meander, n)
    width = 650.0 + 150.0 * np.sin(2 * np.pi * t / (31 * _KM) + phase[2])
    # Offset the centreline by half the width along its local normal on each side. The
    # tightest bend (radius ~1.5 km) is wider than the band, so the edges never cross.
    tangent = np.gradient(centre, axis=0)
    tangent /= np.hypot(tangent[:, 0], tangent[:, 1])[:, None]
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) * (width / 2)[:, None]
    river = shapely.make_valid(
        shapely.Polygon(_cm(np.vstack([centre + normal, (centre - normal)[::-1]])))
    )

    theta = np.linspace(0.0, 2 * np.pi, 180, endpoint=False)
    r = 1.0 + 0.15 * np.sin(2 * theta + rng.uniform(0, 2 * np.pi)) + 0.08 * np.sin(3 * theta)
    lx, ly = cx + 14 * _KM, cy - 9 * _KM
    lake = shapely.Polygon(
        _cm(
            np.column_stack(
                [lx + 3.5 * _KM * r * np.cos(theta), ly + 2.2 * _KM * r * np.sin(theta)]
            )
        )
    )
    lake = lake - river
    return river, lake


# --------------------------------------------------------------------------- roads


def _roads(
    boundary: shapely.Polygon,
    river: shapely.Geometry,
    lake: shapely.Geometry,
    rng: np.random.Generator,
    *,
    scale: float = 1.0,
) -> _Roads:
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
        [shapely.Point(x, y).buffer(r, quad_segs=32) for x, y, r in _ROADLESS]
    )
    for ring, (_, highway) in zip(rings, _RINGS, strict=True):
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
    return _Roads(lines=noded, highway=road_classes, bridge=bridge, villages=villages)


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
    return _cm(np.vstack(out))


def _ring_roads(rng: np.random.Generator) -> list[shapely.LineString]:
    """Three near-circular rings around the main centre (closed lines)."""
    cx, cy = _MAIN_CENTRE
    rings = []
    for radius, _ in _RINGS:
        theta = np.linspace(0.0, 2 * np.pi, int(2 * np.pi * radius / 100.0), endpoint=False)
        r = radius * (1 + 0.015 * np.sin(3 * theta + rng.uniform(0, 2 * np.pi)))
        xy = _cm(np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)]))
        rings.append(shapely.LineString(np.vstack([xy, xy[:1]])))
    return rings


def _radials(rng: np.random.Generator) -> list[shapely.LineString]:
    """Ten arterials from inside ring 1 to beyond the boundary.

    Four of them pass through the sub-centres and the western data-centre park, so these are
    on the trunk network; the rest fill the bearings in between.
    """
    cx, cy = _MAIN_CENTRE
    centre = np.array([cx, cy])
    targets = [np.array([c.x, c.y]) for c in _CENTRES[1:]] + [np.array(_SITE_SPECS[0].xy)]
    bearings = [float(np.arctan2(*(t - centre)[::-1])) for t in targets]
    fill = np.deg2rad([15.0, 80.0, 120.0, 235.0, 280.0, 320.0])
    fill = fill + rng.uniform(-0.1, 0.1, len(fill))
    out = []
    for bearing, target in [*zip(bearings, targets, strict=True), *((b, None) for b in fill)]:
        direction = np.array([np.cos(bearing), np.sin(bearing)])
        start, end = centre + _RADIAL_START_M * direction, centre + 150 * _KM * direction
        waypoints = np.array([start, end]) if target is None else np.array([start, target, end])
        xy = _wavy(
            waypoints, amp=1.5 * _KM, wavelength=14 * _KM, step=150.0, phase=rng.uniform(0, np.pi)
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
            out.append(shapely.LineString(_cm(np.array([p - half * d1, p + half * d1]))))
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
    inner = _grid_lines(_MAIN_CENTRE, 6.5 * _KM, _CORE_INNER_SPACING_M / scale, angle)
    outer = _grid_lines(_MAIN_CENTRE, 13.5 * _KM, _CORE_OUTER_SPACING_M / scale, angle + 0.05)
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
    for c in _CENTRES[1:]:
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
    cx, cy = _MAIN_CENTRE
    spacing = 3.2 * _KM / scale
    lines = []
    for vertical in (False, True):
        lo, hi = (minx, maxx) if vertical else (miny, maxy)
        a0, a1 = (miny, maxy) if vertical else (minx, maxx)
        for pos in np.arange(lo + spacing / 2, hi, spacing):
            pos = pos + rng.uniform(-0.5, 0.5) * _KM
            ends = (
                np.array([[pos, a0], [pos, a1]]) if vertical else np.array([[a0, pos], [a1, pos]])
            )
            xy = _wavy(
                ends, amp=0.5 * _KM, wavelength=6 * _KM, step=250.0, phase=rng.uniform(0, np.pi)
            )
            lines.append(shapely.LineString(xy))
    # Inside ring 2 the core grid takes over; the county roads stop just past the ring.
    core = shapely.Point(cx, cy).buffer(12 * _KM, quad_segs=32)
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
    cx, cy = _MAIN_CENTRE
    roads = [g for g in rural if not g.is_empty]
    lengths = np.array([g.length for g in roads])
    out: list[shapely.Geometry] = []
    centres: list[tuple[float, float]] = []
    for _ in range(100 * _N_VILLAGES):  # bounded: rejection sampling, not a search
        if len(centres) == _N_VILLAGES:
            break
        i = int(rng.choice(len(roads), p=lengths / lengths.sum()))
        p = shapely.line_interpolate_point(roads[i], rng.uniform(0.1, 0.9), normalized=True)
        x, y = p.x, p.y
        near_centre = np.hypot(x - cx, y - cy) < 16 * _KM or any(
            np.hypot(x - c.x, y - c.y) < c.grid_radius_m + 2 * _KM for c in _CENTRES[1:]
        )
        near_village = any(np.hypot(x - vx, y - vy) < 3 * _KM for vx, vy in centres)
        if near_centre or near_village or roadless.distance(p) < 1.5 * _KM:
            continue
        centres.append((x, y))
        half = rng.uniform(0.8, 1.4) * _KM
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
    cx, cy = _MAIN_CENTRE
    bearing = np.deg2rad(_RIVER_BEARING_DEG)
    axis = np.array([np.cos(bearing), np.sin(bearing)])
    inner = boundary.buffer(-1 * _KM)
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
            if abs(on_side[-1][0] - on_side[0][0]) > 3 * _KM:
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


# --------------------------------------------------------------------------- population


def _population(
    boundary: shapely.Polygon,
    water: shapely.Geometry,
    villages: list[tuple[float, float]],
    frame: _LocalFrame,
) -> _Population:
    """Evaluate a polycentric density model on a 3 arc-second EPSG:4326 grid.

    Each centre contributes a normalised exponential ``share / (2π h²) · exp(-r / h)``;
    villages are small such bumps (evaluated in a window around each village, beyond which
    they are below 1e-4 of their peak); the countryside gets a thin, gently varying floor. The
    pixels touching water are set to 0, then the grid is scaled so that the pixels whose
    centre is inside the boundary hold ``_POPULATION_TOTAL`` people.
    """
    lon0, lat0, lon1, lat1 = frame.geom_lonlat(boundary.buffer(_POP_MARGIN_M)).bounds
    west = np.floor(lon0 / _PIXEL_DEG) * _PIXEL_DEG
    north = np.ceil(lat1 / _PIXEL_DEG) * _PIXEL_DEG
    width = int(np.ceil((lon1 - west) / _PIXEL_DEG))
    height = int(np.ceil((north - lat0) / _PIXEL_DEG))
    transform = from_origin(west, north, _PIXEL_DEG, _PIXEL_DEG)

    lon = west + (np.arange(width) + 0.5) * _PIXEL_DEG
    lat = north - (np.arange(height) + 0.5) * _PIXEL_DEG
    glon, glat = np.meshgrid(lon, lat)
    x, y = frame.local(glon.ravel(), glat.ravel())
    x, y = x.reshape(glon.shape), y.reshape(glon.shape)

    density = np.zeros_like(x)  # people per m², before scaling
    for c in _CENTRES:
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
        density[win] += _VILLAGE_SHARE / len(villages) / (2 * np.pi * h**2) * np.exp(-r / h)
    area = boundary.area - (boundary & water).area
    texture = 1 + 0.4 * np.sin(x / 7_300.0 + 1.3) * np.sin(y / 5_100.0 + 0.4)
    density += _RURAL_SHARE / area * texture

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
    people *= _POPULATION_TOTAL * frame.scale**2 / people[inside].sum()
    return _Population(people=np.round(people, 4).astype(np.float32), transform=transform)


def _pixel_area_m2(lat: np.ndarray) -> np.ndarray:
    """Area of a 3 arc-second pixel at latitude ``lat`` (spherical Earth, m²)."""
    r_earth = 6_371_008.8
    d = np.deg2rad(_PIXEL_DEG)
    return r_earth**2 * d * d * np.cos(np.deg2rad(lat))


# --------------------------------------------------------------------------- points


def _key_sites(
    population: _Population,
    boundary: shapely.Polygon,
    water: shapely.Geometry,
    frame: _LocalFrame,
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

    cx, cy = _MAIN_CENTRE
    minx, miny, maxx, maxy = boundary.bounds
    for _ in range(1000 * n_out):  # bounded rejection sampling
        if len(candidates) == n_pop + n_out:
            break
        px, py = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if np.hypot(px - cx, py - cy) < 20 * _KM:
            continue
        if shapely.contains_xy(boundary, px, py) and not shapely.intersects_xy(water, px, py):
            candidates.append((float(px), float(py), 0.0))

    counters = dict.fromkeys(_KEY_SITE_WEIGHTS, 0)
    out = []
    for px, py, dense in candidates:
        category = _category(dense, rng)
        counters[category] += 1
        lon_i, lat_i = frame.lonlat(np.array([px]), np.array([py]))
        out.append(
            [
                f"Synthetic {category.replace('_', ' ')} {counters[category]}",
                category,
                f"{_KEY_SITE_WEIGHTS[category]:.1f}",
                f"{lon_i[0]:.7f}",
                f"{lat_i[0]:.7f}",
            ]
        )
    return out


def _key_site_counts(scale: float) -> tuple[int, int]:
    """Key sites near people and in the outskirts: as many per km² at any scale (≥ 20 and 5)."""
    if scale == 1.0:
        return _N_KEY_SITES_POPULATION, _N_KEY_SITES_OUTLYING
    area = scale**2
    return max(20, round(_N_KEY_SITES_POPULATION * area)), max(
        5, round(_N_KEY_SITES_OUTLYING * area)
    )


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


def _sites(roads: _Roads, frame: _LocalFrame) -> list[list[str]]:
    """Place the compute sites 30 m off the giant component's nearest road.

    Sites attach to their own network component, so they are kept off the small pieces the
    river leaves behind.
    """
    giant = roads.lines[_giant_component(roads.lines)]
    tree = shapely.STRtree(giant)
    out = []
    for spec in _SITE_SPECS:
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


def _giant_component(lines: np.ndarray) -> np.ndarray:
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


# --------------------------------------------------------------------------- writers


def _write_vector(
    path: Path,
    layer: str,
    geoms: Sequence[shapely.Geometry],
    frame: _LocalFrame,
    fields: Mapping[str, Sequence[object] | np.ndarray],
) -> None:
    """Write local geometries as a one-layer GeoPackage in UTM 49N."""
    path.unlink(missing_ok=True)
    utm = frame.utm(np.asarray(geoms, dtype=object))
    if shapely.get_type_id(utm[0]) == shapely.GeometryType.LINESTRING:
        geometry_type = "LineString"
    else:
        # Polygons go out as MultiPolygons: one geometry type per layer, whatever the shape
        # of each district.
        utm = np.array([shapely.multipolygons(shapely.get_parts(g)) for g in utm], dtype=object)
        geometry_type = "MultiPolygon"
    geometry = shapely.to_wkb(utm)
    names = list(fields)
    data = [np.asarray(fields[name]) for name in names]
    with pinned_gpkg_time(_GPKG_DATE):
        pyogrio.raw.write(
            str(path),
            geometry,
            data,
            names,
            layer=layer,
            driver="GPKG",
            geometry_type=geometry_type,
            crs=DEMO_CRS,
        )


def _write_raster(path: Path, population: _Population) -> None:
    """Write people per pixel as a deflate-compressed float32 GeoTIFF (no timestamp tag)."""
    height, width = population.people.shape
    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": 1,
        "dtype": "float32",
        "crs": _WGS84,
        "transform": population.transform,
        "nodata": None,
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(population.people, 1)
        dst.update_tags(
            units="people per pixel",
            synthetic="true",
            note="latcircle synthetic demo: generated, depicts no real place; 0 = nobody",
        )


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write a small UTF-8 CSV with Unix line endings (same bytes on every platform)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


_CONFIG = """\
# latcircle demo metro: SYNTHETIC. Written by latcircle.demo.write_demo_city.
# Every input below is generated; no real place, road, person or facility is depicted.
id: {id}
name: {name}
synthetic: true
notes: >-
  Every input is generated by latcircle.demo (seeded, reproducible): boundary, districts,
  roads, river, lake, population, key sites and compute sites. No real place or facility is
  depicted; the coordinates only put the metro in UTM zone 49N. The 2024-2025 sites are
  legacy sites behind electrical aggregation (device latency {legacy_us:.0f} us).
boundary:
  path: boundary.gpkg
districts:
  path: districts.gpkg
  name_field: name
network:
  path: roads.gpkg
  kind: road
sites:
  path: sites.csv
  lon: lon
  lat: lat
  crs: wgs84
  hypothetical: true
  note: "Hypothetical compute sites of the synthetic demo metro."
population:
  path: population.tif
  note: "Synthetic people per pixel (float32, EPSG:4326, 3 arc-seconds); 0 = nobody."
key_sites:
  path: key_sites.csv
  lon: lon
  lat: lat
  crs: wgs84
  name_field: name
  category_field: category
  weight_field: weight
model:
  preset: optical
  equipment_us: 100
  route_factor: 1.2
  max_drop_m: 1000
thresholds_ms: [0.25, 0.5, 0.75, 1.0]
budget_ms: 1.0
grid:
  cell_m: 100
"""


def _write_config(folder: Path, *, city_id: str = "demo", name: str = _NAME) -> Path:
    """Write ``<city_id>.yaml`` next to the inputs (relative paths) and return its path."""
    path = folder / f"{city_id}.yaml"
    # json.dumps quotes the name as YAML reads it (a double-quoted scalar), whatever it holds.
    text = _CONFIG.format(id=city_id, name=json.dumps(name), legacy_us=_LEGACY_DEVICE_US)
    path.write_text(text, encoding="utf-8", newline="")
    return path
