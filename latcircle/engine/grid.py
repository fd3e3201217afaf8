"""The area grid over a metro, and labelling points with the polygon they fall in.

A cell counts for the metro when its **centre** is inside the boundary (GDAL's rasterize
rule). The grid's origin is the boundary's top-left corner, so translating every input
translates the grid with it and leaves every share unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import rasterio.features
import shapely
from affine import Affine
from shapely.geometry.base import BaseGeometry

from latcircle.errors import InputError

__all__ = ["BYTES_PER_CELL", "Grid", "label_points", "make_grid"]

#: Peak working memory per cell of the full grid through a whole run, measured on Wuhan:
#: 50 m cells (8.29 M) peaked 552 MB above 100 m cells (2.07 M). States what a refused grid
#: would have needed.
BYTES_PER_CELL = 90


@dataclass(frozen=True, slots=True)
class Grid:
    """A regular grid of square cells in the local CRS.

    Attributes
    ----------
    transform
        Pixel-to-CRS affine transform (north up).
    shape
        ``(rows, cols)``.
    inside
        Boolean raster: the cell centre lies in the metro.
    cell_m
        Cell side in metres.
    """

    transform: Affine
    shape: tuple[int, int]
    inside: np.ndarray
    cell_m: float
    #: The flat indices of the inside cells (:meth:`numbers` searches them), found when the
    #: grid is made: a frozen grid fills no cache later.
    _flat: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        flat = np.flatnonzero(self.inside)
        small = self.inside.size < np.iinfo(np.int32).max  # 4 bytes a cell where they fit
        object.__setattr__(self, "_flat", flat.astype(np.int32) if small else flat)

    @property
    def cell_km2(self) -> float:
        """Area of one cell in km²."""
        return self.cell_m * self.cell_m / 1e6

    @property
    def n_inside(self) -> int:
        """Number of cells in the metro."""
        return int(self.inside.sum())

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the centres of the cells inside the metro (row-major order).

        ``c + (col + 0.5) * a`` and ``f + (row + 0.5) * e``, each computed once per column
        and row and picked by the inside mask from their broadcast rows and columns (the
        same floats as per cell, without a row and a column index per cell: 12.3 -> 1.8 ms
        CPU on Wuhan's 860 k cells, measured 2026-12-07).
        """
        t = self.transform
        x_of_col = t.c + (np.arange(self.shape[1]) + 0.5) * t.a
        y_of_row = t.f + (np.arange(self.shape[0]) + 0.5) * t.e
        inside = self._mask()
        x = np.broadcast_to(x_of_col, self.shape)[inside]
        y = np.broadcast_to(y_of_row[:, None], self.shape)[inside]
        return x, y

    def to_raster(
        self, values: np.ndarray, *, fill: float = np.nan, dtype: str = "float32"
    ) -> np.ndarray:
        """Scatter per-inside-cell values back onto the full raster.

        Parameters
        ----------
        values
            One value per inside cell, in :meth:`centres` order.
        fill
            Value of cells outside the metro.
        dtype
            Output dtype.
        """
        out = np.full(self.shape, fill, dtype=dtype)
        # By the mask (inside cells in C order, the order of ``values``): one sequential pass,
        # faster than the scatter through the cells' flat indices (Wuhan, float64 values
        # into float32: 4.5 -> 1.4 ms, measured 2026-12-07), the same raster.
        out[self._mask()] = values
        return out

    def _mask(self) -> np.ndarray:
        """Return ``inside`` as a bool mask (it may be given as integers; bool as it is)."""
        return self.inside if self.inside.dtype == bool else self.inside.astype(bool)

    def numbers(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Return the positions in :meth:`centres` order of the inside cells ``(rows, cols)``.

        Parameters
        ----------
        rows, cols
            Cells inside the metro (a cell outside has no number: not checked).
        """
        return np.searchsorted(self._flat, rows * self.shape[1] + cols)

    def rasterize(self, geoms: list[BaseGeometry], *, fill: int = -1) -> np.ndarray:
        """Label each cell with the index of the polygon holding its centre.

        Parameters
        ----------
        geoms
            Polygons; a cell in several takes the first.
        fill
            Label of cells in none.
        """
        if not geoms:
            return np.full(self.shape, fill, dtype=np.int32)
        # rasterize burns later shapes over earlier ones: give it the list reversed.
        shapes = [(g, i) for i, g in reversed(list(enumerate(geoms)))]
        return rasterio.features.rasterize(
            shapes, out_shape=self.shape, transform=self.transform, fill=fill, dtype="int32"
        )


def make_grid(
    boundary: BaseGeometry, *, cell_m: float, max_cells: int, source: str = "config"
) -> Grid:
    """Lay a grid of ``cell_m`` squares over the metro.

    Parameters
    ----------
    boundary
        The metro polygon, in a projected CRS.
    cell_m
        Cell side in metres.
    max_cells
        Refuse grids with more cells than this (they would exhaust memory).
    source
        The config file, named in the error.

    Returns
    -------
    Grid

    Raises
    ------
    InputError
        When the grid would have more than ``max_cells`` cells.
    """
    xmin, ymin, xmax, ymax = boundary.bounds
    cols = max(1, int(np.ceil((xmax - xmin) / cell_m)))
    rows = max(1, int(np.ceil((ymax - ymin) / cell_m)))
    if rows * cols > max_cells:
        gigabytes = rows * cols * BYTES_PER_CELL / 1e9
        # Advice that fits: the cell size at which the same extent stays within the limit.
        fits = math.ceil(cell_m * math.sqrt(rows * cols / max_cells) + 1)
        msg = (
            f"a {cell_m:g} m grid over this metro has {rows * cols:,} cells (about "
            f"{gigabytes:,.1f} GB of working memory), over the limit of {max_cells:,}: use "
            f"cell_m: {fits} or larger"
        )
        raise InputError(source, "grid.cell_m", msg)
    transform = Affine(cell_m, 0.0, xmin, 0.0, -cell_m, ymax)
    inside = rasterio.features.rasterize(
        [(boundary, 1)], out_shape=(rows, cols), transform=transform, fill=0, dtype="uint8"
    ).astype(bool)
    return Grid(transform=transform, shape=(rows, cols), inside=inside, cell_m=cell_m)


def label_points(x: np.ndarray, y: np.ndarray, polygons: list[BaseGeometry]) -> np.ndarray:
    """Return, for each point, the index of the first polygon containing it (-1: none).

    The same labels as testing each point against each polygon in turn
    (``shapely.contains_xy``, :func:`_label_each`), most points decided by cell: the points
    within the polygons' joint bounding box are binned into cells by a monotone function of
    each coordinate (:func:`_cell_index`), and every cell within the bounding box of a
    segment of any polygon's boundary (binned by the same function) is marked. Two points
    of an unmarked cell are joined by a segment that meets no polygon's boundary: were a
    boundary point on it, the larger of the lower ends of the two intervals (the boundary
    segment's and the points', on each axis) is a float in both, whose bin lies in the
    boundary segment's range and is the cell's, so the cell would be marked. Each polygon
    therefore holds all of such a cell's points or none (none lies on a boundary), and the
    cell's first point, labelled by testing, labels them all; points of marked cells are
    tested each.

    Parameters
    ----------
    x, y
        Point coordinates.
    polygons
        Polygons in the same CRS (other geometries: every point tested).
    """
    label = np.full(len(x), -1, dtype=np.int32)
    box = _joint_bounds(polygons)
    if box is None:
        return label
    xmin, ymin, xmax, ymax = box
    cand = np.flatnonzero((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
    kinds = {int(shapely.get_type_id(p)) for p in polygons}
    if len(cand) < CELL_TEST_MIN_POINTS or not kinds <= {3, 6} or not (xmax > xmin and ymax > ymin):
        _label_each(x, y, polygons, cand, label)
        return label
    side = math.sqrt((xmax - xmin) * (ymax - ymin) * _POINTS_PER_CELL / len(cand))
    nx = min(max(int((xmax - xmin) / side), 1), _MAX_CELLS_PER_AXIS)
    ny = min(max(int((ymax - ymin) / side), 1), _MAX_CELLS_PER_AXIS)
    marked = _boundary_cells(polygons, box, nx, ny)
    cell = _cell_index(y[cand], ymin, ymax, ny) * nx + _cell_index(x[cand], xmin, xmax, nx)
    exact = marked[cell]
    _label_each(x, y, polygons, cand[exact], label)
    away, cells = cand[~exact], cell[~exact]
    first = np.full(nx * ny, -1, dtype=np.int64)
    first[cells[::-1]] = away[::-1]  # later writes win: each cell's first point
    occupied = np.flatnonzero(first >= 0)
    _label_each(x, y, polygons, first[occupied], label)
    of_cell = np.full(nx * ny, -1, dtype=np.int32)
    of_cell[occupied] = label[first[occupied]]
    label[away] = of_cell[cells]
    return label


#: Fewest candidate points for which :func:`label_points` lays cells, and the points per
#: cell it aims at (assumptions: tried on Wuhan's 0.5 M population pixels, 2026-12-07,
#: where 4-64 points per cell came within 5 ms of each other); cells per axis at most.
CELL_TEST_MIN_POINTS = 4096
_POINTS_PER_CELL = 16
_MAX_CELLS_PER_AXIS = 4096


def _joint_bounds(polygons: list[BaseGeometry]) -> tuple[float, float, float, float] | None:
    """Return the bounding box of every non-empty polygon (``None``: none)."""
    bounds = np.array([p.bounds for p in polygons], dtype=float).reshape(-1, 4)
    bounds = bounds[~np.isnan(bounds).any(axis=1)]
    if len(bounds) == 0:
        return None
    lo, hi = bounds.min(axis=0), bounds.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[2]), float(hi[3])


def _label_each(
    x: np.ndarray,
    y: np.ndarray,
    polygons: list[BaseGeometry],
    points: np.ndarray,
    label: np.ndarray,
) -> None:
    """Label ``points`` (positions, unlabelled) by testing them polygon by polygon, in order."""
    for i, poly in enumerate(polygons):
        if len(points) == 0:
            return
        xmin, ymin, xmax, ymax = poly.bounds
        px, py = x[points], y[points]
        box = (px >= xmin) & (px <= xmax) & (py >= ymin) & (py <= ymax)
        cand = points[box]
        if len(cand) == 0:
            continue
        shapely.prepare(poly)
        hit = shapely.contains_xy(poly, x[cand], y[cand])
        label[cand[hit]] = i
        points = points[~box | (label[points] < 0)]


def _cell_index(v: np.ndarray, lo: float, hi: float, n: int) -> np.ndarray:
    """Bin ``v`` (floats within ``[lo, hi]``) into ``n`` bins: non-decreasing in ``v``.

    Each step (a subtraction, a product by a positive constant, truncation of a
    non-negative number, a minimum) is monotone in floating point, so a float between two
    others never lands outside their bins.
    """
    scaled = (np.asarray(v, dtype=np.float64) - lo) * (n / (hi - lo))
    return np.minimum(scaled.astype(np.int32), n - 1)


def _boundary_cells(
    polygons: list[BaseGeometry], box: tuple[float, float, float, float], nx: int, ny: int
) -> np.ndarray:
    """Mark (flat, row-major ``ny x nx``) every cell within a boundary segment's box."""
    xmin, ymin, xmax, ymax = box
    rings = shapely.get_parts(shapely.boundary(np.asarray(polygons, dtype=object)))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]  # consecutive vertices of one ring: a segment
    a, b = coords[:-1][same], coords[1:][same]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    x0, x1 = _cell_index(lo[:, 0], xmin, xmax, nx), _cell_index(hi[:, 0], xmin, xmax, nx) + 1
    y0, y1 = _cell_index(lo[:, 1], ymin, ymax, ny), _cell_index(hi[:, 1], ymin, ymax, ny) + 1
    # Each box as +1/-1 at its corners; cumulative sums give each cell's count of boxes.
    corners = np.zeros((ny + 1, nx + 1), dtype=np.int32)
    np.add.at(corners, (y0, x0), 1)
    np.add.at(corners, (y0, x1), -1)
    np.add.at(corners, (y1, x0), -1)
    np.add.at(corners, (y1, x1), 1)
    return (corners.cumsum(axis=0).cumsum(axis=1)[:ny, :nx] > 0).ravel()
