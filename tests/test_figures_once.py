"""``png_bytes`` draws a figure once and gives the bytes ``savefig`` gives (issue 23).

``Figure.savefig`` with a layout engine draws a figure twice (once with rendering off, to run
the layout); :func:`latcircle.present.figures.png_bytes` draws it once. The reference here is
``savefig`` itself, as ``png_bytes`` called it before, on fresh copies of the same figures.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from latcircle.output.files import as_written
from latcircle.present import figures
from latcircle.present.figures import png_bytes


def _savefig(fig: Figure) -> bytes:
    """``png_bytes`` as it was: ``savefig`` under the same text rules."""
    buf = io.BytesIO()
    with matplotlib.rc_context(figures._text_rc()):
        fig.savefig(buf, format="png", dpi=figures._DPI, metadata=figures._PNG_METADATA)
    return buf.getvalue()


def _same(build: Callable[[], Figure]) -> None:
    ours, reference = png_bytes(build()), _savefig(build())
    assert ours[:8] == b"\x89PNG\r\n\x1a\n"
    assert ours == reference


def _constrained() -> Figure:
    fig = Figure(figsize=(7.0, 4.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    x = np.linspace(0, 2, 50)
    ax.plot(x, x**2 / 4, label="a long legend label $x$ (no mathtext)")
    ax.barh([0.2, 0.5], [0.3, 0.7], height=0.1, label="bars")
    ax.set_title("武汉市: title with Chinese and $dollars$\nand a second line", fontsize=10)
    ax.set_ylabel("share within budget")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.twinx().set_ylabel("right axis")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def _no_layout_other_dpi() -> Figure:
    fig = Figure(figsize=(10, 4.2))  # rc dpi, no layout engine (as the calibration figure)
    axes = fig.subplots(1, 2)
    axes[0].scatter([1, 2, 3], [3, 1, 2])
    axes[1].hist([1, 1, 2, 3, 3, 3])
    fig.suptitle("two panels")
    return fig


def _subplots_constrained() -> Figure:
    fig = Figure(figsize=(8.0, 3.6), dpi=110, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax in axes:
        ax.step([0, 1, 2], [0.2, 0.6, 0.9])
        ax.axvline(1.0, color="black", linestyle=":")
    fig.suptitle("suptitle", fontsize=10)
    return fig


@pytest.mark.parametrize("build", [_constrained, _no_layout_other_dpi, _subplots_constrained])
def test_png_bytes_is_savefig(build: Callable[[], Figure]) -> None:
    _same(build)


def test_png_bytes_keeps_the_figure_dpi() -> None:
    fig = _no_layout_other_dpi()
    dpi = fig.get_dpi()
    png_bytes(fig)
    assert fig.get_dpi() == dpi


def test_every_city_figure_of_the_demo_is_savefig(demo_run: Any) -> None:
    """The report's figures of the demo (band map, curves, bars, progress, sensitivity, fan)."""
    layers = demo_run.gpkg_layers()
    progress = as_written(demo_run.shortfall.table)  # as the report draws it (progress.csv)

    def build() -> dict[str, Figure]:
        return figures.city_figures(demo_run, demo_run.out, layers=layers, progress=progress)

    ours = {name: png_bytes(fig) for name, fig in build().items()}
    reference = {name: _savefig(fig) for name, fig in build().items()}
    assert set(ours) >= {"bands", "curve", "districts", "progress", "sensitivity"}
    assert ours == reference
    for name, data in ours.items():  # and what the demo's report wrote
        assert data == (demo_run.out / "figures" / f"{name}.png").read_bytes(), name
