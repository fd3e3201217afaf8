"""The network's edge lines as flat coordinate arrays, shapely LineStrings only on demand.

A shapely LineString of three vertices costs ~280 bytes (the Python object and the GEOS
geometry around 48 bytes of coordinates; 1 M such lines made with ``shapely.linestrings``
added 268 MB of resident memory, shapely 2.2 / GEOS 3.14, 2026-12-06): at 1 M network nodes
(1.84 M edges) ~515 MB as shapely objects, 84 MB as coordinates. :class:`EdgeLines`
keeps only the coordinates (``(m, 2)`` float64) and where each line starts in them
(``offsets``), and makes LineStrings for the lines asked for, with the very same
coordinates (the same bits, so the same lengths, projections and output files).

Lines that do not fit the flat form (not LineStrings, missing, with Z or M values) are kept
as the shapely objects they came as, so that nothing is lost: see :meth:`from_geometry`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

__all__ = ["EdgeLines"]


class EdgeLines:
    """Edge LineStrings as flat coordinates, or (for lines that do not fit) as objects.

    Indexed like the numpy object array of LineStrings it stands for: ``lines[i]`` is a
    LineString, ``lines[idx]`` (slice, integers or a mask) a numpy array of them, and
    ``np.asarray(lines)`` all of them (made on each call, not kept).

    Parameters
    ----------
    coords
        ``(m, 2)`` vertex coordinates of every line, line after line.
    offsets
        ``(n + 1,)`` where each line's vertices start in ``coords`` (the last: ``m``).
    objects
        Instead of ``coords``/``offsets``: the lines as a numpy object array.
    """

    __slots__ = ("coords", "objects", "offsets")

    def __init__(
        self,
        coords: np.ndarray | None = None,
        offsets: np.ndarray | None = None,
        *,
        objects: np.ndarray | None = None,
    ) -> None:
        self.coords = coords
        self.offsets = offsets
        self.objects = objects

    @classmethod
    def from_geometry(cls, geoms: Any) -> EdgeLines:
        """Return the lines of an array of geometries, flat when every one is a 2-D LineString.

        Parameters
        ----------
        geoms
            Array-like of shapely geometries (or an :class:`EdgeLines`, returned as it is).
        """
        if isinstance(geoms, EdgeLines):
            return geoms
        geoms = np.asarray(geoms, dtype=object)
        counts = _flat_counts(geoms)
        if counts is None:
            return cls(objects=geoms)
        offsets = np.zeros(len(geoms) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(shapely.get_coordinates(geoms), offsets)

    @classmethod
    def concat(cls, parts: list[EdgeLines]) -> EdgeLines:
        """Return the lines of ``parts``, one after the other."""
        if all(p.objects is None for p in parts):
            coords = np.concatenate([p._coords for p in parts])
            starts = np.cumsum([0] + [len(p._coords) for p in parts])
            tails = [p._offsets[1:] + s for p, s in zip(parts, starts[:-1], strict=True)]
            offsets = np.concatenate([np.zeros(1, np.int64), *tails])
            return cls(coords, offsets)
        return cls(objects=np.concatenate([np.asarray(p, dtype=object) for p in parts]))

    @property
    def _coords(self) -> np.ndarray:
        assert self.coords is not None
        return self.coords

    @property
    def _offsets(self) -> np.ndarray:
        assert self.offsets is not None
        return self.offsets

    def __len__(self) -> int:
        if self.objects is not None:
            return len(self.objects)
        return len(self._offsets) - 1

    def __getitem__(self, index: Any) -> Any:
        """One LineString for an integer, else a numpy array of LineStrings."""
        if self.objects is not None:
            return self.objects[index]
        if isinstance(index, int | np.integer):
            i = range(len(self))[index]  # negative indices, and IndexError past the end
            return shapely.LineString(self._coords[self._offsets[i] : self._offsets[i + 1]])
        return self.take(index)._linestrings()

    def __iter__(self) -> Any:
        return iter(np.asarray(self))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Every line as a shapely LineString (an object array)."""
        out = self.objects if self.objects is not None else self._linestrings()
        if copy and out is self.objects:
            out = out.copy()
        return out if dtype is None else out.astype(dtype, copy=False)

    def take(self, index: Any) -> EdgeLines:
        """Return the lines at ``index`` (slice, integers or a mask), still flat."""
        if self.objects is not None:
            return EdgeLines(objects=np.atleast_1d(self.objects[index]))
        if isinstance(index, slice):
            lo, hi, step = index.indices(len(self))
            if step == 1:
                hi = max(lo, hi)
                first, last = self._offsets[lo], self._offsets[hi]
                return EdgeLines(self._coords[first:last], self._offsets[lo : hi + 1] - first)
            index = np.arange(lo, hi, step)
        idx = np.arange(len(self))[index]
        counts = self._offsets[idx + 1] - self._offsets[idx]
        offsets = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        # Each line's vertices: its own start plus 0, 1, ... within it.
        within = np.arange(offsets[-1]) - np.repeat(offsets[:-1], counts)
        rows = np.repeat(self._offsets[idx], counts) + within
        return EdgeLines(np.take(self._coords, rows, axis=0), offsets)

    def num_coordinates(self) -> np.ndarray:
        """Return the number of vertices of every line."""
        if self.objects is not None:
            return shapely.get_num_coordinates(self.objects)
        return np.diff(self._offsets)

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """Return every vertex and the line it belongs to, as ``shapely.get_coordinates``."""
        if self.objects is not None:
            return shapely.get_coordinates(self.objects, return_index=True)
        owner = np.repeat(np.arange(len(self)), self.num_coordinates())
        return self._coords, owner

    def ends(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the first and the last vertex of every line, as ``(n, 2)`` arrays."""
        if self.objects is not None:
            return (
                shapely.get_coordinates(shapely.get_point(self.objects, 0)),
                shapely.get_coordinates(shapely.get_point(self.objects, -1)),
            )
        # np.take along the rows: several times faster than fancy indexing them.
        start = np.take(self._coords, self._offsets[:-1], axis=0)
        return start, np.take(self._coords, self._offsets[1:] - 1, axis=0)

    def lengths(self) -> np.ndarray:
        """Return every line's length, the same floats as ``shapely.length`` of its LineString.

        GEOS (``algorithm::Length::ofLine``) adds ``sqrt(dx * dx + dy * dy)`` of each segment
        in vertex order, from 0; so does this, a vertex position at a time over every line
        that has one (lines in order of vertex count, so those still going are a prefix).
        """
        if self.objects is not None:
            return shapely.length(self.objects)
        coords, offsets = self._coords, self._offsets
        d = coords[1:] - coords[:-1]  # across a line's end too: never read there
        seg = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
        segments = np.diff(offsets) - 1
        out = np.zeros(len(segments))
        order = np.argsort(-segments, kind="stable")
        going = np.cumsum(np.bincount(segments, minlength=1)[::-1])[::-1]  # lines with >= k
        first = offsets[:-1][order]
        for k in range(int(segments.max(initial=0))):
            rows = order[: going[k + 1]]
            out[rows] += seg[first[: going[k + 1]] + k]
        return out

    def _linestrings(self) -> np.ndarray:
        if len(self) == 0:
            return np.empty(0, dtype=object)
        owner = np.repeat(np.arange(len(self)), self.num_coordinates())
        return np.asarray(shapely.linestrings(self._coords, indices=owner), dtype=object)


def _flat_counts(geoms: np.ndarray) -> np.ndarray | None:
    """Each line's number of vertices when every one is a non-empty 2-D LineString, else None.

    2-D: no Z and no M values (``get_coordinate_dimension`` is 3 for XYZ and XYM, 4 for XYZM).
    """
    if len(geoms) == 0 or (shapely.get_type_id(geoms) != 1).any():
        return None
    if (shapely.get_coordinate_dimension(geoms) != 2).any():
        return None
    counts = shapely.get_num_coordinates(geoms)
    return None if (counts == 0).any() else counts
