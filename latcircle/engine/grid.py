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
    #: The flat indices of the inside cells (one scan of ``inside`` for every raster made,
    #: not one per raster), found when the grid is made: a frozen grid fills no cache later.
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
        """Return the centres of the cells inside the metro (row-major order)."""
        rows, cols = np.nonzero(self.inside)
        x = self.transform.c + (cols + 0.5) * self.transform.a
        y = self.transform.f + (rows + 0.5) * self.transform.e
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
        out.reshape(-1)[self._flat] = values  # a view: C order, as out[inside] = values
        return out

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

    Parameters
    ----------
    x, y
        Point coordinates.
    polygons
        Polygons in the same CRS.
    """
    label = np.full(len(x), -1, dtype=np.int32)
    for i, poly in enumerate(polygons):
        xmin, ymin, xmax, ymax = poly.bounds
        cand = np.flatnonzero((label < 0) & (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
        if len(cand) == 0:
            continue
        shapely.prepare(poly)
        hit = shapely.contains_xy(poly, x[cand], y[cand])
        label[cand[hit]] = i
    return label
