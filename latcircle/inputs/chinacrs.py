"""Convert between WGS84 and the Chinese obfuscated datums GCJ-02 and BD-09.

Maps published in mainland China do not use plain WGS84 longitude/latitude. By law they use
**GCJ-02** (国测局坐标, "Mars coordinates"), which is WGS84 pushed through a secret,
non-linear, position-dependent offset; Amap (Gaode), Tencent, Weibo check-ins, Apple and
Google maps inside China all use it. Baidu adds a second offset on top of GCJ-02 and calls
the result **BD-09** (more precisely BD-09LL, the longitude/latitude variant).

Neither datum is an EPSG CRS and PROJ / pyproj cannot convert them: a GeoJSON exported from
Amap typically *claims* WGS84 (or no CRS at all) while actually holding GCJ-02 coordinates.
Overlaid on OpenStreetMap or WorldPop data, such a layer is shifted by roughly 100-700 m
(about 350 m in Wuhan), enough to move a boundary across a street block. latcircle therefore
converts every GCJ-02 or BD-09 input to WGS84 before anything else.

Algorithm
---------
The forward transform WGS84 → GCJ-02 is the publicly known GCJ-02 formula (the version
circulating in many open-source converters since 2013): the offsets are polynomial-plus-sine
functions of ``(lon - 105, lat - 35)``, given in metres and scaled to degrees with the
**Krasovsky 1940** ellipsoid, semi-major axis ``a = 6378245.0`` m and squared eccentricity
``ee = 0.00669342162296594323``. The forward transform GCJ-02 → BD-09 is Baidu's publicly
known formula (a small rotation and scaling about the origin with the constant
``x_pi = pi * 3000 / 180``, then a shift of ``(0.0065, 0.006)`` degrees). The code here was
written from those formulas.

Neither formula has a closed-form inverse. The usual "subtract the offset once" inverse used
by many converters is off by up to a couple of metres. Here the inverses (GCJ-02 → WGS84 and
BD-09 → GCJ-02, hence BD-09 → WGS84) are computed by fixed-point iteration on the forward
transform: ``w ← w - (forward(w) - target)``. The forward maps are the identity plus a
perturbation whose Jacobian is of order 1e-3, so each step gains about three decimal digits;
iteration stops once the round-trip residual is below 1e-10 degrees (at most
:data:`MAX_ITERATIONS` steps, typically 3-4). The inverses are thus exact to about 1e-12
degrees (micrometres), far below the 1e-7 degrees (about 1 cm) the project needs.

Inside / outside China
----------------------
The offsets only apply inside China. Like the reference converters, this module uses the
rough bounding box ``72.004 <= lon <= 137.8347`` and ``0.8293 <= lat <= 55.8271`` (see
:func:`in_china`): inside the box the offsets are applied, outside it GCJ-02 and BD-09 are
taken to equal WGS84 (Baidu's SDK documentation states that outside mainland China, Hong Kong,
Macau and Taiwan it uses WGS84). The test is made on the coordinates *given* to each
function, i.e. on WGS84 for the forward direction and on GCJ-02 / BD-09 for the inverse
direction. The box edges lie outside Chinese territory, so the ambiguity within ~0.01
degrees of an edge (where a point and its offset image fall on different sides) does not
arise for Chinese data. The box does include neighbouring countries (Korea, parts of Japan,
Mongolia, Vietnam, ...), where data from Chinese providers is in GCJ-02 anyway.

Arrays
------
Every point function takes array-likes (or scalars) of longitudes and latitudes in degrees,
broadcasts them against each other and returns a tuple ``(lon, lat)`` of new float64 numpy
arrays of the broadcast shape. Scalars in give 0-d arrays out (use ``float(x)`` or
``x.item()`` for a Python float). NaN coordinates pass through as NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "BD09_NAMES",
    "GCJ02_NAMES",
    "MAX_ITERATIONS",
    "TOLERANCE_DEG",
    "WGS84_NAMES",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "frame_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geometry_to_wgs84",
    "in_china",
    "is_china_datum",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray = NDArray[np.float64]
Datum = Literal["gcj02", "bd09", "wgs84"]

#: Krasovsky 1940 semi-major axis (metres) used by the GCJ-02 formula.
KRASOVSKY_A = 6378245.0
#: Krasovsky 1940 squared first eccentricity used by the GCJ-02 formula.
KRASOVSKY_EE = 0.00669342162296594323
#: Angular constant of the BD-09 formula (radians per degree, times 3000).
BD_X_PI = np.pi * 3000.0 / 180.0
#: Constant shift (degrees) of the BD-09 formula.
BD_DLON = 0.0065
BD_DLAT = 0.006

#: The rough bounding box of China: (lon_min, lat_min, lon_max, lat_max), degrees.
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)

#: Stop iterating an inverse once the round-trip residual is below this many degrees.
TOLERANCE_DEG = 1e-10
#: Upper bound on inverse iterations (convergence normally takes 3-4).
MAX_ITERATIONS = 30

#: Accepted spellings, compared after lower-casing and removing ``-``, ``_`` and spaces.
GCJ02_NAMES = frozenset({"gcj02", "gcj", "mars"})
BD09_NAMES = frozenset({"bd09", "bd09ll", "baidu"})
WGS84_NAMES = frozenset({"wgs84", "epsg:4326", "ogc:crs84", "crs84"})


# --------------------------------------------------------------------------- helpers


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Return writable float64 copies of ``lon`` and ``lat`` broadcast to one shape."""
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, np.float64))
    return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Test whether points fall in the rough bounding box of China.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees (any datum; the box is far coarser than the
        offsets).

    Returns
    -------
    numpy.ndarray of bool
        ``True`` where ``72.004 <= lon <= 137.8347`` and ``0.8293 <= lat <= 55.8271``;
        ``False`` elsewhere and for NaN.
    """
    x, y = _as_arrays(lon, lat)
    lon_min, lat_min, lon_max, lat_max = CHINA_BBOX
    return (x >= lon_min) & (x <= lon_max) & (y >= lat_min) & (y <= lat_max)


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS84 at the WGS84 point ``(lon, lat)``, in degrees (no box test)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    # Shared short-wavelength term, in metres (after the 2/3 factor applied below).
    common = 20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)
    dlat_m = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + 2.0
        / 3.0
        * (
            common
            + 20.0 * np.sin(np.pi * y)
            + 40.0 * np.sin(np.pi * y / 3.0)
            + 160.0 * np.sin(np.pi * y / 12.0)
            + 320.0 * np.sin(np.pi * y / 30.0)
        )
    )
    dlon_m = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + 2.0
        / 3.0
        * (
            common
            + 20.0 * np.sin(np.pi * x)
            + 40.0 * np.sin(np.pi * x / 3.0)
            + 150.0 * np.sin(np.pi * x / 12.0)
            + 300.0 * np.sin(np.pi * x / 30.0)
        )
    )
    # Metres to degrees on the Krasovsky ellipsoid: meridian and prime-vertical radii.
    rad_lat = np.radians(lat)
    sin_lat = np.sin(rad_lat)
    w2 = 1.0 - KRASOVSKY_EE * sin_lat * sin_lat
    w = np.sqrt(w2)
    meridian_radius = KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (w2 * w)
    normal_radius = KRASOVSKY_A / w
    dlat = np.degrees(dlat_m / meridian_radius)
    dlon = np.degrees(dlon_m / (normal_radius * np.cos(rad_lat)))
    return dlon, dlat


def _wgs_to_gcj_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 forward transform without the bounding-box test."""
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_bd_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """BD-09 forward transform (from GCJ-02) without the bounding-box test."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * BD_X_PI)
    return z * np.cos(theta) + BD_DLON, z * np.sin(theta) + BD_DLAT


def _bd_to_gcj_approx(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Baidu's one-step approximate BD-09 → GCJ-02 inverse (error up to ~2e-6 degrees)."""
    x = lon - BD_DLON
    y = lat - BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


_Map = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]


def _invert(
    forward: _Map, lon: FloatArray, lat: FloatArray, guess_lon: FloatArray, guess_lat: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(x, y) == (lon, lat)`` by fixed-point iteration from the guess.

    ``forward`` must be the identity plus a slowly varying perturbation (a contraction of
    the correction), which holds for both the GCJ-02 and the BD-09 formulas.
    """
    x = np.array(guess_lon, dtype=np.float64)
    y = np.array(guess_lat, dtype=np.float64)
    active = np.ones(x.shape, dtype=bool)
    for _ in range(MAX_ITERATIONS):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        fx, fy = forward(x[idx], y[idx])
        rx = fx - lon[idx]
        ry = fy - lat[idx]
        x[idx] -= rx
        y[idx] -= ry
        converged = (np.abs(rx) <= TOLERANCE_DEG) & (np.abs(ry) <= TOLERANCE_DEG)
        active[idx[converged]] = False
    return x, y


def _apply_in_china(lon: ArrayLike, lat: ArrayLike, func: _Map) -> tuple[FloatArray, FloatArray]:
    """Apply ``func`` to the points inside the China box and copy the others unchanged."""
    x, y = _as_arrays(lon, lat)
    mask = in_china(x, y)
    if mask.any():
        x[mask], y[mask] = func(x[mask], y[mask])
    return x, y


def _gcj_to_wgs_inside(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_offset(lon, lat)
    return _invert(_wgs_to_gcj_raw, lon, lat, lon - dlon, lat - dlat)


def _bd_to_gcj_inside(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    guess_lon, guess_lat = _bd_to_gcj_approx(lon, lat)
    return _invert(_gcj_to_bd_raw, lon, lat, guess_lon, guess_lat)


# --------------------------------------------------------------------------- point API


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 longitude/latitude to GCJ-02.

    Parameters
    ----------
    lon, lat
        WGS84 longitudes and latitudes in degrees; array-likes or scalars, broadcast
        against each other.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)`` as float64 arrays of the broadcast shape (0-d for scalars).
        Points outside the China box (:func:`in_china`) are returned unchanged.
    """
    return _apply_in_china(lon, lat, _wgs_to_gcj_raw)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to WGS84, exactly.

    The inverse is found by fixed-point iteration on :func:`wgs84_to_gcj02` until the
    round-trip residual is below :data:`TOLERANCE_DEG` (1e-10 degrees).

    Parameters
    ----------
    lon, lat
        GCJ-02 longitudes and latitudes in degrees; array-likes or scalars, broadcast
        against each other.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 ``(lon, lat)`` as float64 arrays of the broadcast shape (0-d for scalars).
        Points outside the China box (:func:`in_china`) are returned unchanged.
    """
    return _apply_in_china(lon, lat, _gcj_to_wgs_inside)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to Baidu BD-09 (BD-09LL).

    Parameters
    ----------
    lon, lat
        GCJ-02 longitudes and latitudes in degrees; array-likes or scalars, broadcast
        against each other.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)`` as float64 arrays of the broadcast shape (0-d for scalars).
        Points outside the China box (:func:`in_china`) are returned unchanged.
    """
    return _apply_in_china(lon, lat, _gcj_to_bd_raw)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert Baidu BD-09 (BD-09LL) longitude/latitude to GCJ-02, exactly.

    Starts from Baidu's usual one-step inverse (which is off by up to ~2e-6 degrees, about
    0.2 m) and refines it by fixed-point iteration on :func:`gcj02_to_bd09` until the
    round-trip residual is below :data:`TOLERANCE_DEG`.

    Parameters
    ----------
    lon, lat
        BD-09 longitudes and latitudes in degrees; array-likes or scalars, broadcast
        against each other.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)`` as float64 arrays of the broadcast shape (0-d for scalars).
        Points outside the China box (:func:`in_china`) are returned unchanged.
    """
    return _apply_in_china(lon, lat, _bd_to_gcj_inside)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 longitude/latitude to Baidu BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat
        WGS84 longitudes and latitudes in degrees; array-likes or scalars, broadcast
        against each other.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)`` as float64 arrays of the broadcast shape (0-d for scalars).
        Points outside the China box (:func:`in_china`) are returned unchanged.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert Baidu BD-09 longitude/latitude to WGS84, exactly (via GCJ-02).

    Both steps are exact inverses (see :func:`bd09_to_gcj02` and :func:`gcj02_to_wgs84`),
    so the result round-trips through :func:`wgs84_to_bd09` to about 1e-10 degrees.

    Parameters
    ----------
    lon, lat
        BD-09 longitudes and latitudes in degrees; array-likes or scalars, broadcast
        against each other.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 ``(lon, lat)`` as float64 arrays of the broadcast shape (0-d for scalars).
        Points outside the China box (:func:`in_china`) are returned unchanged.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


# --------------------------------------------------------------------------- names


def _datum(crs: str | None) -> Datum | None:
    """Map a CRS name to ``"gcj02"``, ``"bd09"`` or ``"wgs84"``; ``None`` if it is none of them."""
    if crs is None:
        return None
    key = "".join(str(crs).split()).lower().replace("-", "").replace("_", "")
    if key in GCJ02_NAMES:
        return "gcj02"
    if key in BD09_NAMES:
        return "bd09"
    if key in WGS84_NAMES:
        return "wgs84"
    return None


def is_china_datum(crs: str | None) -> bool:
    """Tell whether a CRS name denotes GCJ-02 or BD-09.

    Parameters
    ----------
    crs
        A CRS name such as ``"gcj02"``, ``"GCJ-02"``, ``"bd09"``, ``"BD-09"``,
        ``"EPSG:4326"``; ``None`` is allowed.

    Returns
    -------
    bool
        ``True`` for GCJ-02 and BD-09 names (case, ``-``, ``_`` and spaces ignored),
        ``False`` for anything else, including ``None`` and real EPSG CRSs.
    """
    return _datum(crs) in ("gcj02", "bd09")


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[FloatArray, FloatArray]:
    """Convert longitude/latitude from a named datum to WGS84.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees, in the datum ``crs``; array-likes or scalars.
    crs
        ``"gcj02"`` / ``"gcj-02"``, ``"bd09"`` / ``"bd-09"``, or ``"wgs84"`` /
        ``"epsg:4326"`` (case-insensitive).

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 ``(lon, lat)`` as new float64 arrays of the broadcast shape (0-d for scalars).

    Raises
    ------
    ValueError
        If ``crs`` is not one of the names above.
    """
    datum = _datum(crs)
    if datum == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if datum == "bd09":
        return bd09_to_wgs84(lon, lat)
    if datum == "wgs84":
        return _as_arrays(lon, lat)
    raise ValueError(
        f"unknown datum {crs!r}: expected gcj02, bd09 or wgs84 (or gcj-02, bd-09, epsg:4326)"
    )


# --------------------------------------------------------------------------- geometries


def _coords_converter(crs: str) -> Callable[[FloatArray], FloatArray]:
    """Return a ``shapely.transform`` callback converting ``(N, 2|3)`` coordinates to WGS84."""
    if _datum(crs) is None:
        raise ValueError(
            f"unknown datum {crs!r}: expected gcj02, bd09 or wgs84 (or gcj-02, bd-09, epsg:4326)"
        )

    def convert(coords: FloatArray) -> FloatArray:
        out = np.array(coords, dtype=np.float64)
        out[:, 0], out[:, 1] = to_wgs84(coords[:, 0], coords[:, 1], crs)
        return out

    return convert


# No overloads: geopandas and shapely carry no type information, so mypy sees every
# input as Any and could never pick one (they were flagged as never matching).
def geometry_to_wgs84(geoms: Any, crs: str) -> Any:
    """Convert every coordinate of every geometry from a named datum to WGS84.

    Parameters
    ----------
    geoms
        A numpy array (or sequence) of shapely geometries, a single shapely geometry, or a
        :class:`geopandas.GeoSeries`, with longitude/latitude coordinates in ``crs``. Any
        CRS the GeoSeries claims is ignored: ``crs`` says what the numbers really are.
    crs
        ``"gcj02"``, ``"bd09"`` or ``"wgs84"`` (spellings as in :func:`to_wgs84`).

    Returns
    -------
    numpy.ndarray of shapely.Geometry, shapely.Geometry or geopandas.GeoSeries
        New geometries of the same type and shape as the input. A GeoSeries keeps its index
        and name and gets CRS EPSG:4326. Z coordinates and missing geometries (``None``)
        are kept unchanged.

    Raises
    ------
    ValueError
        If ``crs`` is not a GCJ-02, BD-09 or WGS84 name.
    """
    convert = _coords_converter(crs)
    if isinstance(geoms, shapely.Geometry):
        return shapely.transform(geoms, convert, include_z=True)
    import geopandas as gpd

    if isinstance(geoms, gpd.GeoSeries):
        values = shapely.transform(np.asarray(geoms.array, dtype=object), convert, include_z=True)
        return gpd.GeoSeries(values, index=geoms.index, name=geoms.name, crs="EPSG:4326")
    return shapely.transform(np.asarray(geoms, dtype=object), convert, include_z=True)


def frame_to_wgs84(gdf: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """Return a copy of a GeoDataFrame with its active geometry in WGS84 (EPSG:4326).

    Parameters
    ----------
    gdf
        The frame. Only its active geometry column is converted; its claimed CRS, if any,
        is overridden by ``crs``.
    crs
        What the coordinates really are: ``"gcj02"`` or ``"bd09"`` (converted with
        :func:`geometry_to_wgs84`), ``"wgs84"`` / ``"epsg:4326"`` (only the CRS is set), or
        any other CRS pyproj understands, such as ``"EPSG:32650"`` (reprojected with
        :meth:`geopandas.GeoDataFrame.to_crs`).

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame with CRS EPSG:4326; the input is not modified.

    Raises
    ------
    ValueError
        If ``crs`` is neither a Chinese datum nor a CRS pyproj understands.
    """
    datum = _datum(crs)
    out = gdf.copy()
    if datum is None:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            source = CRS.from_user_input(crs)
        except CRSError as exc:
            raise ValueError(f"unknown CRS {crs!r}: {exc}") from exc
        return out.set_crs(source, allow_override=True).to_crs("EPSG:4326")
    if datum != "wgs84":
        out = out.set_geometry(geometry_to_wgs84(out.geometry, crs), crs="EPSG:4326")
    return out.set_crs("EPSG:4326", allow_override=True)
