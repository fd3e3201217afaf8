"""A cheap layout engine for the report's figures: margins measured from their own texts.

matplotlib's constrained layout places axes from the tight bounding box of everything in
them, measured twice per draw (its two passes); on the city report that was about a third of
the figures' drawing time. :class:`FittedLayout` measures only what can stick out of an axes
box (titles, tick labels, axis labels, legends and free texts: text extents, no drawing)
and places one row of axes so that nothing is clipped and panels do not overlap, with the
same padding as constrained layout (3 pt at the figure's edges and around each panel).

It suits figures made of one row of axes (a map, a chart, two panels sharing an axis), each
optionally with a figure-level title; twinned axes are not supported (the national chart
keeps constrained layout).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from matplotlib.layout_engine import LayoutEngine

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.backend_bases import RendererBase
    from matplotlib.figure import Figure
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

__all__ = ["FittedLayout"]

#: Padding at the figure's edges and around each panel (points): constrained layout's
#: ``w_pad``/``h_pad`` default (matplotlib's rcParams ``figure.constrained_layout.*_pad``).
PAD_PT = 3.0

#: Passes: the second measures again once the axes sit at their places (a tick locator may
#: choose other ticks for another axes size), as constrained layout does.
PASSES = 2


class FittedLayout(LayoutEngine):
    """Place a figure's axes, one row of equal widths, inside margins fitted to their texts.

    Parameters
    ----------
    suptitle
        A figure-level title (``Figure.suptitle``'s text) kept at the top, above the axes.
    """

    _adjust_compatible = False
    _colorbar_gridspec = False

    def __init__(self, *, suptitle: Text | None = None) -> None:
        super().__init__()
        self._suptitle = suptitle

    def execute(self, fig: Figure) -> None:
        """Place ``fig``'s axes (called by ``Figure.draw`` before anything is drawn)."""
        renderer = cast(Any, fig.canvas).get_renderer()  # the canvas drawing (Agg)
        axes = sorted(fig.axes, key=_column)
        if not axes:
            return
        for _ in range(PASSES):
            margins = [_overhang(ax, renderer) for ax in axes]
            _place(fig, axes, margins, top=self._top(fig, renderer))

    def _top(self, fig: Figure, renderer: RendererBase) -> float:
        """Pixels the figure title takes at the top (and put it there); 0 without one."""
        title = self._suptitle
        if title is None or not title.get_visible() or not title.get_text():
            return 0.0
        pad = PAD_PT * fig.dpi / 72.0
        title.set_y(1.0 - pad / fig.bbox.height)
        title.set_verticalalignment("top")
        return title.get_window_extent(renderer).height + pad


def _column(ax: Axes) -> int:
    spec = ax.get_subplotspec()
    return 0 if spec is None else spec.colspan.start


def _place(fig: Figure, axes: Sequence[Axes], margins: list[np.ndarray], *, top: float) -> None:
    """Set the axes' positions: equal widths, each framed by its margins and the padding."""
    width, height = fig.bbox.width, fig.bbox.height
    pad = PAD_PT * fig.dpi / 72.0
    m = np.array(margins)  # rows: left, bottom, right, top (pixels beyond the axes box)
    bottom = pad + m[:, 1].max()
    upper = height - pad - top - m[:, 3].max()
    # Each panel has pad + its margin on both sides (two pads between neighbours).
    inner = width - 2 * pad * len(axes) - m[:, 0].sum() - m[:, 2].sum()
    each = max(inner, 1.0) / len(axes)
    x = 0.0
    for ax, (left, _, right, _) in zip(axes, m, strict=True):
        x += pad + left
        box = (x / width, bottom / height, each / width, max(upper - bottom, 1.0) / height)
        ax.set_position(box)
        ax.apply_aspect()  # an equal-aspect map shrinks inside its box before it is measured
        x += each + right + pad


def _overhang(ax: Axes, renderer: RendererBase) -> np.ndarray:
    """Pixels by which ``ax``'s texts reach beyond its box: left, bottom, right, top."""
    box = ax.bbox
    boxes = [t.get_window_extent(renderer) for t in _texts(ax)]
    out = np.zeros(4)
    for bb in boxes:
        out = np.maximum(out, [box.x0 - bb.x0, box.y0 - bb.y0, bb.x1 - box.x1, bb.y1 - box.y1])
    if ax.axison:
        scale = ax.get_figure(root=True).dpi / 72.0  # type: ignore[union-attr]
        for axis, horizontal in ((ax.xaxis, True), (ax.yaxis, False)):
            _axis_overhang(axis, renderer, box, out, scale=scale, horizontal=horizontal)
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():
        bb = legend.get_window_extent(renderer)
        out = np.maximum(out, [box.x0 - bb.x0, box.y0 - bb.y0, bb.x1 - box.x1, bb.y1 - box.y1])
    return np.maximum(out, 0.0)


def _texts(ax: Axes) -> list[Text]:
    """Return the title and the free texts of ``ax`` that are drawn."""
    return [t for t in (ax.title, *ax.texts) if t.get_visible() and t.get_text()]


def _axis_overhang(
    axis: Axis,
    renderer: RendererBase,
    box: Bbox,
    out: np.ndarray,
    *,
    scale: float,
    horizontal: bool,
) -> None:
    """Widen ``out`` by ``axis``'s tick marks, tick labels and label (in place).

    ``scale`` is pixels per point (tick sizes, pads and label pads are in points);
    ``horizontal``: the x axis.
    """
    low, high = (1, 3) if horizontal else (0, 2)  # bottom/top or left/right in ``out``
    reach = {low: 0.0, high: 0.0}
    lo, hi = sorted(axis.get_view_interval())
    span = (hi - lo) * 1e-10
    locs = axis.get_majorticklocs()
    axis.get_majorticklabels()  # places the ticks and sets their labels, as the draw will
    for tick, loc in zip(axis.get_major_ticks(len(locs)), locs, strict=True):
        if not lo - span <= loc <= hi + span:
            continue
        for side, mark, label in (
            (low, tick.tick1line, tick.label1),
            (high, tick.tick2line, tick.label2),
        ):
            if mark.get_visible():
                reach[side] = max(reach[side], tick.get_tick_padding() * scale)
            if label.get_visible() and label.get_text():
                bb = label.get_window_extent(renderer)
                edges = [box.x0 - bb.x0, box.y0 - bb.y0, bb.x1 - box.x1, bb.y1 - box.y1]
                reach[side] = max(reach[side], edges[side])
                for other in (0, 1, 2, 3):  # labels at the ends also reach along the axis
                    if other not in (low, high):
                        out[other] = max(out[other], edges[other])
    label = axis.label
    if label.get_visible() and label.get_text():
        side = low if axis.get_label_position() in ("bottom", "left") else high
        bb = label.get_window_extent(renderer)
        reach[side] += axis.labelpad * scale + (bb.height if horizontal else bb.width)
    for side, value in reach.items():
        out[side] = max(out[side], value)
