"""PeeringDB: the interconnection facilities of a country, as candidate compute sites."""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd

from latcircle.errors import FetchError
from latcircle.output.files import atomic_file
from latcircle.sources._http import get_json

WGS84 = "EPSG:4326"

#: PeeringDB's public API (``/fac?country=CN`` lists the facilities of a country).
PEERINGDB_URL = "https://www.peeringdb.com/api"


_ISO2 = {"CHN": "CN", "HKG": "HK", "MAC": "MO"}


def peeringdb_sites(
    *, api_url: str, iso3: str, cache: Path, refresh: bool, notes: list[str]
) -> gpd.GeoDataFrame:
    """Return the PeeringDB facilities of the metro's country as WGS84 points.

    Parameters
    ----------
    api_url
        PeeringDB API base URL (:data:`PEERINGDB_URL`).
    iso3
        The country (CHN, HKG, MAC).
    cache
        Cache folder of raw downloads; the answer is kept under ``cache/peeringdb``.
    refresh
        Download again even when a cached answer exists.
    notes
        Receives a note on facilities left out for want of coordinates.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name``, ``source`` (``peeringdb``), ``source_ref``, EPSG:4326.

    Raises
    ------
    FetchError
        If PeeringDB cannot be reached or its answer has no ``data`` list.
    """
    country = _ISO2.get(iso3, "CN")
    cached = cache / "peeringdb" / f"fac_{country}.json"
    url = f"{api_url}/fac"
    if refresh or not cached.exists():
        payload = get_json(url, params={"country": country}, source="sites", what="PeeringDB")
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_file(cached, lambda tmp: tmp.write_text(json.dumps(payload), encoding="utf-8"))
    try:
        facilities = json.loads(cached.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError):
        cached.unlink(missing_ok=True)
        raise FetchError("sites", f"PeeringDB answer from {url} has no 'data' list") from None
    names, refs, lons, lats, unplaced = [], [], [], [], []
    for fac in facilities:
        lon, lat = _float(fac.get("longitude")), _float(fac.get("latitude"))
        label = str(fac.get("name") or fac.get("org_name") or f"facility {fac.get('id')}")
        if lon is None or lat is None:
            unplaced.append(label)
            continue
        names.append(label)
        refs.append(f"peeringdb:fac/{fac.get('id')}")
        lons.append(lon)
        lats.append(lat)
    if unplaced:
        # They may lie in the metro, but without a position they cannot be placed.
        notes.append(
            f"{len(unplaced)} PeeringDB facilit{'y' if len(unplaced) == 1 else 'ies'} in "
            f"{country} without coordinates left out (e.g. {unplaced[0]!r})"
        )
    return gpd.GeoDataFrame(
        {"name": names, "source": "peeringdb", "source_ref": refs},
        geometry=gpd.points_from_xy(lons, lats),
        crs=WGS84,
    )


def _float(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None
