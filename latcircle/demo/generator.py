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

from pathlib import Path

import numpy as np
import shapely

from latcircle.demo.layout import (
    DEMO_CENTRE_LONLAT,
    DEMO_CRS,
    DISTRICT_NAMES,
    NAME,
    LocalFrame,
    make_boundary,
    make_water,
)
from latcircle.demo.people import make_key_sites, make_population, make_sites
from latcircle.demo.roads import make_roads
from latcircle.demo.writers import write_config, write_csv, write_raster, write_vector

__all__ = ["DEMO_CENTRE_LONLAT", "DEMO_CRS", "write_demo_city"]


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
    name = name or (NAME if city_id == "demo" else f"Demo metro {city_id} (synthetic)")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    frame = LocalFrame(scale)

    boundary, districts = make_boundary(rng)
    river, lake = make_water(rng)
    roads = make_roads(boundary, river, lake, rng, scale=scale)
    population = make_population(boundary, river | lake, roads.villages, frame)
    key_sites = make_key_sites(population, boundary, river | lake, frame, rng)
    sites = make_sites(roads, frame)

    write_vector(folder / "boundary.gpkg", "boundary", [boundary], frame, {"name": [name]})
    write_vector(
        folder / "districts.gpkg", "districts", districts, frame, {"name": list(DISTRICT_NAMES)}
    )
    write_vector(
        folder / "roads.gpkg",
        "roads",
        list(roads.lines),
        frame,
        {"highway": roads.highway, "bridge": roads.bridge.astype(np.int32)},
    )
    # Not an input of the config: the ground truth of the holes the isochrones must keep.
    write_vector(
        folder / "water.gpkg",
        "water",
        [shapely.intersection(river, boundary), lake],
        frame,
        {"name": ["river", "lake"]},
    )
    write_raster(folder / "population.tif", population)
    write_csv(folder / "key_sites.csv", ["name", "category", "weight", "lon", "lat"], key_sites)
    write_csv(
        folder / "sites.csv",
        ["id", "name", "tier", "online_year", "device_latency_us", "lon", "lat"],
        sites,
    )
    return write_config(folder, city_id=city_id, name=name)


def _check_options(*, scale: float, city_id: str) -> None:
    from latcircle.config import is_safe_city_id
    from latcircle.errors import InputError

    if not (0.1 <= scale <= 2.0):
        raise InputError("write_demo_city", "scale", f"{scale} is outside [0.1, 2]")
    if not is_safe_city_id(city_id):
        raise InputError("write_demo_city", "city_id", f"{city_id!r} is not a safe name")
