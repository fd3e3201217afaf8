"""The report's Agg canvas draws every pixel as matplotlib's own Agg canvas (issue 23).

:class:`latcircle.present.figure_canvas.FigureCanvas` repeats matplotlib's glyph-by-glyph
text drawing with its constants made once; the reference is :class:`FigureCanvasAgg`
itself, on fresh copies of the same figures, compared pixel for pixel (RGBA buffers).
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from latcircle.present import figures
from latcircle.present.figure_canvas import FigureCanvas, _Renderer, fast_text_supported


def _pixels(build: Callable[[], Figure], canvas: type[FigureCanvasAgg], rc: dict) -> np.ndarray:
    """Build and draw under ``rc`` (a text's font is fixed when it is made)."""
    with matplotlib.rc_context(rc):
        c = canvas(build())
        c.draw()
        return np.asarray(c.buffer_rgba()).copy()


def _texts() -> Figure:
    """Texts at many angles, sizes, weights and alignments; Latin and Chinese."""
    fig = Figure(figsize=(6.0, 4.0), dpi=110)
    ax = fig.add_subplot()
    for i, angle in enumerate([0, 15, 30, 45, 90, 135, 180, 270, -33.3]):
        ax.text(
            0.1 + 0.09 * i,
            0.2 + 0.07 * i,
            f"angle {angle} 武汉 Ég",
            rotation=angle,
            fontsize=6 + i,
            fontweight="bold" if i % 2 else "normal",
            ha=("left", "center", "right")[i % 3],
        )
    ax.set_title("武汉市 · Wuhan: a title\nover two lines", fontsize=10)
    ax.set_xlabel("x label (µs)")
    ax.set_ylabel("y label, rotated")
    ax.plot([0, 1], [0, 1], label="line")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def _mathtext() -> Figure:
    """Mathtext (glyphs and rules: a fraction's bar) goes through the boxes path."""
    fig = Figure(figsize=(4.0, 2.0), dpi=100)
    fig.text(0.1, 0.5, r"$\frac{a}{b} + \sqrt{x^2}$ and $\alpha_i$", fontsize=14)
    fig.text(0.1, 0.2, r"$\overline{xy}$", fontsize=12, rotation=20)
    return fig


def _unantialiased() -> Figure:
    fig = Figure(figsize=(3.0, 2.0), dpi=90)
    fig.text(0.1, 0.5, "no antialiasing 武汉", antialiased=False, fontsize=11)
    fig.text(0.1, 0.2, "tilted, no antialiasing", antialiased=False, rotation=10)
    return fig


def _city_like() -> Figure:
    """A figure as the report makes them: fitted layout, formatters, ticks, legend."""

    @figures._with_fonts
    def build() -> Figure:
        fig = Figure(figsize=(7.0, 4.2), dpi=110, layout=figures.FittedLayout())
        ax = fig.add_subplot()
        x = np.linspace(0, 2, 41)
        ax.plot(x, np.minimum(x, 1.0), label="Population")
        ax.set_xlabel("latency budget (ms, one-way)")
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
        ax.legend(fontsize=8, loc="lower right")
        figures._set_title(ax, "武汉市: share covered vs latency budget", fontsize=10)
        return fig

    return build()


_PLAIN = {**figures._text_rc(), "text.parse_math": True}


@pytest.mark.parametrize(
    ("build", "rc"),
    [
        (_texts, figures._text_rc()),
        (_texts, {**figures._text_rc(), "text.hinting": "no_hinting"}),
        (_texts, {**figures._text_rc(), "text.hinting": "force_autohint"}),
        (_mathtext, _PLAIN),
        (_unantialiased, figures._text_rc()),
        (_city_like, figures._text_rc()),
    ],
)
def test_same_pixels_as_matplotlib(build: Callable[[], Figure], rc: dict) -> None:
    ours = _pixels(build, FigureCanvas, rc)
    reference = _pixels(build, FigureCanvasAgg, rc)
    assert ours.shape == reference.shape
    assert (ours[..., :3] < 250).any()  # something was drawn
    assert np.array_equal(ours, reference)


def test_this_matplotlib_takes_the_fast_path() -> None:
    """The check above compares the fast path, not matplotlib with itself."""
    assert fast_text_supported()
    fig = _texts()
    canvas = FigureCanvas(fig)
    assert isinstance(canvas.get_renderer(), _Renderer)


def test_a_new_size_or_dpi_gets_a_new_renderer() -> None:
    fig = _mathtext()
    canvas = FigureCanvas(fig)
    first = canvas.get_renderer()
    assert canvas.get_renderer() is first
    fig.set_dpi(150)
    second = canvas.get_renderer()
    assert second is not first
    assert (second.width, second.height) == (600, 300)
    with matplotlib.rc_context(_PLAIN):
        canvas.draw()
    reference = FigureCanvasAgg(_mathtext())
    reference.figure.set_dpi(150)
    with matplotlib.rc_context(_PLAIN):
        reference.draw()
    assert np.array_equal(np.asarray(canvas.buffer_rgba()), np.asarray(reference.buffer_rgba()))


def test_extents_shared_across_figures_are_right(monkeypatch: pytest.MonkeyPatch) -> None:
    """Measured once, reused by the next figures: the same pixels at other sizes and dpi."""
    from latcircle.present import figure_canvas

    monkeypatch.setattr(figure_canvas, "_METRICS", {})
    rc = figures._text_rc()
    builds = [_city_like, _texts, _city_like, _texts]
    dpis = [110, 110, 72, 150]
    for build, dpi in zip(builds, dpis, strict=True):

        def at(dpi: float = dpi, build: Callable[[], Figure] = build) -> Figure:
            fig = build()
            fig.set_dpi(dpi)
            return fig

        assert np.array_equal(_pixels(at, FigureCanvas, rc), _pixels(at, FigureCanvasAgg, rc))
    assert figure_canvas._METRICS  # it was used
    # Bounded: emptied when full.
    monkeypatch.setattr(figure_canvas, "_METRICS", {})
    monkeypatch.setattr(figure_canvas, "_METRICS_MAX", 3)
    _pixels(_texts, FigureCanvas, rc)
    assert len(figure_canvas._METRICS) <= 3


def _features_and_languages() -> Figure:
    """Texts with font features and languages, one language given as ranges (a list)."""
    fig = Figure(figsize=(4.0, 2.0), dpi=110)
    fig.text(0.1, 0.8, "office fi ffl", fontsize=11).set_fontfeatures(["-liga"])
    fig.text(0.1, 0.6, "office fi ffl", fontsize=11)
    fig.text(0.1, 0.4, "武汉市 直", fontsize=11).set_language("zh-Hans")
    fig.text(0.1, 0.2, "直 abc", fontsize=11).set_language([("ja", 0, 1), ("en", 1, 5)])
    return fig


def test_layouts_shared_across_figures_are_right(monkeypatch: pytest.MonkeyPatch) -> None:
    """Texts laid out once, drawn again at other places, sizes and dpi: the same pixels."""
    from matplotlib.ft2font import FT2Font

    from latcircle.present import figure_canvas

    monkeypatch.setattr(figure_canvas, "_METRICS", {})
    monkeypatch.setattr(figure_canvas, "_LAYOUTS", {})
    laid_out = []
    layout = FT2Font._layout

    def counted(self: FT2Font, *args: object, **kwargs: object) -> object:
        laid_out.append(args)
        return layout(self, *args, **kwargs)

    monkeypatch.setattr(FT2Font, "_layout", counted)
    rc = figures._text_rc()
    builds = [_city_like, _texts, _features_and_languages, _city_like, _texts]
    builds += [_features_and_languages]
    dpis = [110, 110, 110, 72, 150, 110]
    for build, dpi in zip(builds, dpis, strict=True):

        def at(dpi: float = dpi, build: Callable[[], Figure] = build) -> Figure:
            fig = build()
            fig.set_dpi(dpi)
            return fig

        before = len(laid_out)
        assert np.array_equal(_pixels(at, FigureCanvas, rc), _pixels(at, FigureCanvasAgg, rc))
        ours_and_reference = len(laid_out) - before
        assert ours_and_reference > 0
    drawn_again = len(laid_out)
    _pixels(_features_and_languages, FigureCanvas, rc)  # already laid out at this dpi
    assert len(laid_out) == drawn_again  # matplotlib keeps features and languages as tuples

    def unhashable() -> Figure:  # were a language kept as a list, it is laid out each time
        fig = _features_and_languages()
        fig.texts[-1]._language = [("ja", 0, 1), ("en", 1, 5)]  # type: ignore[attr-defined]
        return fig

    ours = _pixels(unhashable, FigureCanvas, rc)
    assert len(laid_out) - drawn_again == 1  # that text only
    assert np.array_equal(ours, _pixels(unhashable, FigureCanvasAgg, rc))
    # Bounded: emptied when full.
    monkeypatch.setattr(figure_canvas, "_LAYOUTS", {})
    monkeypatch.setattr(figure_canvas, "_METRICS_MAX", 3)
    _pixels(_texts, FigureCanvas, rc)
    assert len(figure_canvas._LAYOUTS) <= 3


def _shifted() -> Figure:
    """The same texts at whole-pixel and sub-pixel offsets of each other, some rotated."""
    fig = Figure(figsize=(4.0, 3.0), dpi=100)
    for i in range(6):
        # 100 dpi: 0.01 of the width is 4 pixels, 0.0013 half a pixel.
        fig.text(0.05 + 0.01 * i, 0.9 - 0.1 * i, "Wuhan 武汉 0.25 ms", fontsize=9)
        fig.text(0.5 + 0.0013 * i, 0.9 - 0.1 * i, "Wuhan 武汉 0.25 ms", fontsize=9)
        fig.text(0.3 + 0.01 * i, 0.3, "rot", fontsize=9, rotation=30)
    return fig


def test_glyphs_shared_across_figures_are_right(monkeypatch: pytest.MonkeyPatch) -> None:
    """A glyph rendered once, drawn again at a whole-pixel offset: the same pixels."""
    from matplotlib.ft2font import FT2Font

    from latcircle.present import figure_canvas

    monkeypatch.setattr(figure_canvas, "_GLYPHS", {})
    rendered = []
    render = FT2Font._render_glyph

    def counted(self: FT2Font, *args: object) -> object:
        rendered.append(args)
        return render(self, *args)

    monkeypatch.setattr(FT2Font, "_render_glyph", counted)
    rc = figures._text_rc()
    builds = [_shifted, _unantialiased, _city_like, _texts, _shifted, _unantialiased]
    dpis = [100, 90, 110, 110, 100, 90]
    for build, dpi in zip(builds, dpis, strict=True):

        def at(dpi: float = dpi, build: Callable[[], Figure] = build) -> Figure:
            fig = build()
            fig.set_dpi(dpi)
            return fig

        before = len(rendered)
        reference = _pixels(at, FigureCanvasAgg, rc)
        drawn = len(rendered) - before  # matplotlib renders every glyph it draws
        ours = _pixels(at, FigureCanvas, rc)
        assert np.array_equal(ours, reference)
        if build is _shifted:
            assert len(rendered) - before - drawn < drawn / 2  # most glyphs drawn again
    # The second pass over the same figures renders nothing new.
    before = len(rendered)
    for build in (_shifted, _unantialiased):
        ours = _pixels(build, FigureCanvas, rc)
    assert len(rendered) == before
    assert np.array_equal(ours, _pixels(_unantialiased, FigureCanvasAgg, rc))
    # Bounded: emptied when full.
    monkeypatch.setattr(figure_canvas, "_GLYPHS", {})
    monkeypatch.setattr(figure_canvas, "_GLYPHS_MAX", 5)
    assert np.array_equal(
        _pixels(_shifted, FigureCanvas, rc), _pixels(_shifted, FigureCanvasAgg, rc)
    )
    assert len(figure_canvas._GLYPHS) <= 5


def _layouts(fig: Figure, renderer: object) -> list[object]:
    """Every text's layout (box, lines with their extents, text box) as matplotlib makes it."""
    layouts = []
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_text():
            box, lines, text_box = text._get_layout(renderer)
            layouts.append((tuple(box.bounds), lines, text_box))
    return layouts


@pytest.mark.parametrize("dpi", [72, 110, 150])
def test_line_heights_as_matplotlib_reads_them(dpi: float) -> None:
    """The font tables read once give each text the layout matplotlib's own lookup gives.

    Multi-line texts (where the line gap counts), Chinese fallback fonts, several sizes
    and dpi; the reference is matplotlib's ``RendererAgg``, which has no such method.
    """
    from matplotlib.backends.backend_agg import RendererAgg

    assert not hasattr(RendererAgg, "_get_font_height_metrics")
    with matplotlib.rc_context(figures._text_rc()):
        fig = _texts()
        fig.set_dpi(dpi)
        fig.text(0.5, 0.5, "three\nlines\nof text 武汉", fontsize=7, linespacing=1.5)
        canvas = FigureCanvas(fig)
        ours = canvas.get_renderer()
        assert isinstance(ours, _Renderer)
        calls: list[object] = []
        method = ours._get_font_height_metrics

        def counted(prop: object) -> object:
            calls.append(prop)
            return method(prop)  # type: ignore[arg-type]

        ours._get_font_height_metrics = counted  # type: ignore[method-assign]
        found = _layouts(fig, ours)
        reference = _layouts(fig, RendererAgg(ours.width, ours.height, fig.dpi))
    assert calls  # this matplotlib asks the renderer first
    assert found == reference


def test_line_heights_without_the_figure_are_matplotlibs() -> None:
    """A renderer that does not know its figure leaves the lookup to matplotlib."""
    from matplotlib.font_manager import FontProperties

    renderer = _Renderer(100, 100, 100)
    assert renderer._get_font_height_metrics(FontProperties(size=9)) == (None, None, None)
