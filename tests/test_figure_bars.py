"""The district chart's bars, one patch per basis, give ``Axes.barh``'s pixels (issue 23).

:func:`latcircle.present.figures._bars` draws a basis's bars as one path instead of a
``Rectangle`` per bar. The reference is ``barh`` itself: the same figure built both ways must
give the same PNG bytes (the legend included), for bars of every length from 0 to the whole
axis, lengths landing on and between pixel boundaries, several bar heights and figure sizes,
and more bars than one patch holds (:data:`~latcircle.present.figures._BARS_PER_PATCH`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from latcircle.present import figures
from latcircle.present.figure_layout import FittedLayout
from latcircle.present.figures import png_bytes

Draw = Callable[..., None]


def _barh(ax: Axes, y: np.ndarray, widths: np.ndarray, *, height: float, color: str, label: str):
    ax.barh(y, widths, height=height, color=color, label=label)


def _chart(draw: Draw, widths: np.ndarray, *, bases: int, size: tuple[float, float]) -> Figure:
    """A district chart as ``district_bars`` lays it out, its bars drawn by ``draw``."""
    fig = Figure(figsize=size, dpi=110, layout=FittedLayout())
    ax = fig.add_subplot()
    n = widths.shape[1]
    step = 0.8 / bases
    y = np.arange(n)
    colours = ["#d95f02", "#1b9e77", "#7570b3"]
    for i in range(bases):
        draw(
            ax,
            y + ((bases - 1) / 2 - i) * step,
            widths[i],
            height=step,
            color=colours[i % 3],
            label=f"basis {i}",
        )
    ax.set_yticks(y, [f"district {k}" for k in range(n)])
    ax.set_xlim(0, 1)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _same(widths: np.ndarray, *, bases: int, size: tuple[float, float]) -> None:
    ours = png_bytes(_chart(figures._bars, widths, bases=bases, size=size))
    reference = png_bytes(_chart(_barh, widths, bases=bases, size=size))
    assert ours == reference


@pytest.mark.parametrize("bases", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 2, 13, 40])
def test_bars_give_barh_pixels(bases: int, n: int) -> None:
    rng = np.random.default_rng(100 * bases + n)
    widths = rng.uniform(0.0, 1.0, size=(bases, n))
    widths[:, 0] = 0.0  # a district nothing covers
    if n > 1:
        widths[:, -1] = 1.0  # wholly covered: the bar reaches the axis' end
    _same(widths, bases=bases, size=(7.0, max(2.5, 0.45 * n * bases**0.5 + 1.2)))


def test_bars_on_and_between_pixel_boundaries() -> None:
    # Lengths in steps of a sixteenth of a pixel of a 550-pixel axis, and exact quarters.
    n = 32
    widths = np.vstack([np.arange(n) / (550 * 16) + 0.25, np.arange(n) % 5 / 4.0])
    _same(widths, bases=2, size=(7.0, 12.0))


def test_more_bars_than_one_patch_holds() -> None:
    n = figures._BARS_PER_PATCH + 37
    widths = np.random.default_rng(7).uniform(0.0, 1.0, size=(1, n))
    _same(widths, bases=1, size=(7.0, 40.0))


def test_district_bars_draws_the_shares() -> None:
    # The chart itself: each basis is one patch holding a bar per district, its length the
    # district's share (NaN shown as 0), districts in reverse name order.
    coverage = pd.DataFrame(
        {
            "scope": ["district"] * 4,
            "name": ["West", "East", "West", "East"],
            "basis": ["area", "area", "population", "population"],
            "threshold_ms": [1.0] * 4,
            "share": [0.5, 0.25, np.nan, 1.0],
        }
    )
    fig = figures.district_bars(coverage)
    ax = fig.axes[0]
    patches = [p for p in ax.patches if p.get_label() != "_nolegend_"]
    assert [p.get_label() for p in patches] == ["Population", "Area"]
    lengths = {}
    for p in patches:
        v = p.get_path().vertices.reshape(-1, 5, 2)
        lengths[p.get_label()] = (v[:, 1, 0] - v[:, 0, 0]).tolist()
    assert lengths == {"Population": [0.0, 1.0], "Area": [0.5, 0.25]}  # West, then East
