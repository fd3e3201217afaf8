"""An Agg canvas for the report's figures: matplotlib's Agg, with its text drawing's overhead cut.

Matplotlib 3.11's Agg renderer draws text glyph by glyph from Python, and for every glyph
it builds the same 2 × 2 rotation matrix with numpy (about 25 µs a glyph: ~1,200 glyphs in
the six Wuhan figures) and looks the text's fonts up again through the font manager for
each text drawn or measured. :class:`FigureCanvas` is :class:`FigureCanvasAgg` whose
renderer (:class:`_Renderer`) makes that matrix once per angle and keeps each font
properties' fonts for the figure, then does exactly what matplotlib does: the same FreeType
calls with the same arguments, in the same order, so the same pixels
(``tests/test_figure_canvas.py`` compares every pixel with matplotlib's own canvas).

When the matplotlib in use draws text differently (its private glyph calls absent), the
renderer is matplotlib's own, unchanged.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import (
    FigureCanvasAgg,
    RendererAgg,
    get_hinting_flag,
)
from matplotlib.font_manager import fontManager, get_font
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text

from latcircle.text import figure_text

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from matplotlib.backend_bases import GraphicsContextBase
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

__all__ = ["FigureCanvas", "fast_text_supported"]

try:  # matplotlib >= 3.10's glyph-by-glyph drawing
    from matplotlib.ft2font import RenderMode
except ImportError:  # pragma: no cover - older matplotlib: its own renderer is used
    RenderMode = None  # type: ignore[assignment,misc]


def fast_text_supported() -> bool:
    """Whether this matplotlib draws text through the calls :class:`_Renderer` repeats."""
    return (
        RenderMode is not None
        and hasattr(FT2Font, "_render_glyph")
        and hasattr(FT2Font, "_set_transform")
        and hasattr(FT2Font, "_layout")
        and hasattr(RendererAgg, "_draw_text_glyphs_and_boxes")
        and hasattr(RendererAgg, "_prepare_font")
    )


#: Text extents measured by any :class:`_Renderer`, keyed by the font object (kept in the
#: entry, so its id is not reused), text, size, dpi and hinting: the six figures of a report
#: measure the same tick labels and legend entries (matplotlib's own cache is per renderer,
#: so per figure). Emptied when it reaches :data:`_METRICS_MAX` entries.
_METRICS: dict[tuple[int, str, float, float, Any], tuple[Any, tuple[float, float, float]]] = {}
_METRICS_MAX = 4096

#: Glyph layouts (``FT2Font._layout``) of the texts drawn, keyed as :data:`_METRICS` plus the
#: text's font features and language: the six figures of a report draw the same tick labels
#: and legend entries (122 texts drawn, 85 distinct on Wuhan). Emptied at
#: :data:`_METRICS_MAX` entries.
_LAYOUTS: dict[tuple[Any, ...], tuple[Any, list[Any]]] = {}

#: Rendered glyphs (``FT2Font._render_glyph``), keyed by the font object (kept in the entry),
#: size, dpi, glyph, transform matrix, the pen's fraction of a pixel (26.6 fixed point),
#: hinting and render mode; the bitmap's position is kept relative to the pen's whole
#: pixels. FreeType renders a glyph moved by whole pixels as the same bitmap moved by as
#: many (its outline is translated by multiples of 64 units before it is rasterised), so a
#: glyph drawn again at the same fraction takes the same bitmap: the report's figures draw
#: 1,160 glyphs, 840 distinct so (Wuhan). Emptied at :data:`_GLYPHS_MAX` entries: an entry
#: (its key and a bitmap of ~190 bytes, measured on Wuhan's figures 2026-12-07) takes under
#: 0.8 kB, so ~3 MB at most (an assumption: ample for one report's 800 glyphs).
_GLYPHS: dict[tuple[Any, ...], tuple[Any, np.ndarray, int, int]] = {}
_GLYPHS_MAX = 4096


def _height_table(font: Any) -> tuple[int, int, int, int] | None:
    """Line gap, ascent, descent and units per em as ``Text._get_layout`` reads them.

    From the ``OS/2`` table's typographic values, else ``hhea``'s; ``None`` without either.
    """
    possible = [
        ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
        ("hhea", "lineGap", "ascent", "descent"),
    ]
    for table_name, linegap_key, ascent_key, descent_key in possible:
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        units_per_em = font.get_sfnt_table("head")["unitsPerEm"]
        return table[linegap_key], table[ascent_key], table[descent_key], units_per_em
    return None


class _Renderer(RendererAgg):
    """Agg renderer: matplotlib's text drawing with its per-glyph constants made once."""

    def __init__(
        self, width: float, height: float, dpi: float, *, figure: Figure | None = None
    ) -> None:
        super().__init__(width, height, dpi)
        # The fonts of each font properties drawn or measured in this figure (the font
        # manager's answer depends on the properties and rcParams, which stay the same
        # while one figure is drawn: :func:`latcircle.present.figures.png_bytes`).
        self._fonts: dict[FontProperties, Any] = {}
        self._heights: dict[Any, tuple[int, int, int, int] | None] = {}
        # The figure drawn (its dpi scales the fonts' line heights), when known.
        self._figure = figure

    def _font(self, font_prop: FontProperties) -> Any:
        """Return the properties' FT2Font (the font manager's, as ``get_font`` gives it), kept."""
        font = self._fonts.get(font_prop)
        if font is None:
            font = get_font(fontManager._find_fonts_by_props(font_prop))
            self._fonts[font_prop.copy()] = font  # a copy: properties are mutable
        return font

    def _prepare_font(self, font_prop: FontProperties) -> Any:
        """As matplotlib's: the properties' FT2Font, cleared, at the properties' size."""
        font = self._font(font_prop)
        font.clear()
        font.set_size(font_prop.get_size_in_points(), self.dpi)
        return font

    def _get_font_height_metrics(
        self, prop: FontProperties
    ) -> tuple[float, float, float] | tuple[None, None, None]:
        """Return the ascent, descent and line gap ``Text._get_layout`` reads from the tables.

        Matplotlib asks a renderer that has this method first; without it (or when this
        returns ``None``s) it looks the font up through the font manager and reads its
        ``OS/2`` (else ``hhea``) and ``head`` tables for every text laid out (~625 times in
        the six Wuhan figures). Here each font's tables are read once and the same
        arithmetic is done on the same numbers, so the same floats. The font's transform is
        reset as ``get_font`` resets it, so the font is left as matplotlib leaves it (no
        pixel of the tests depends on it; matplotlib's text layout sets its own).
        """
        if self._figure is None:
            return None, None, None  # matplotlib's own lookup (the dpi is the figure's)
        font = self._font(prop)
        font._set_transform([[0x10000, 0], [0, 0x10000]], [0, 0])  # as get_font leaves it
        if font not in self._heights:
            self._heights[font] = _height_table(font)
        table = self._heights[font]
        if table is None:
            return None, None, None  # no table: matplotlib measures "lp" itself
        line_gap, ascent, descent, units_per_em = table
        # Text._get_layout's own expressions, in its order (the same floats).
        fontsize = prop.get_size_in_points()
        scale = 1 / units_per_em * fontsize * self._figure.dpi / 72
        return ascent * scale, -descent * scale, line_gap * scale

    def get_text_width_height_descent(
        self, s: str, prop: FontProperties, ismath: bool | str
    ) -> tuple[float, float, float]:
        """As matplotlib's; plain text measured once per font, size, dpi and hinting."""
        if ismath is not False:  # mathtext and TeX: matplotlib's own way
            return super().get_text_width_height_descent(s, prop, ismath)
        font = self._prepare_font(prop)
        flags = get_hinting_flag()
        key = (id(font), s, prop.get_size_in_points(), float(self.dpi), flags)
        hit = _METRICS.get(key)
        if hit is not None and hit[0] is font:
            return hit[1]
        # What matplotlib's RendererAgg does, on the font just prepared.
        font.set_text(s, 0.0, flags=flags)
        w, h = font.get_width_height()  # width and height of unrotated string
        d = font.get_descent()
        metrics = (w / 64.0, h / 64.0, d / 64.0)  # from subpixels
        if len(_METRICS) >= _METRICS_MAX:
            _METRICS.clear()
        _METRICS[key] = (font, metrics)
        return metrics

    def draw_text(
        self,
        gc: GraphicsContextBase,
        x: float,
        y: float,
        s: str,
        prop: FontProperties,
        angle: float,
        ismath: bool | str = False,
        mtext: Text | None = None,
    ) -> None:
        """As matplotlib 3.11's Agg; plain text laid out once per font, size, dpi and hinting.

        The glyphs and their offsets of a text (``FT2Font._layout`` on the font prepared at
        the text's size) are a function of the font, the text, the size, the dpi, the
        hinting flags, the font features and the language: the same text drawn again takes
        the glyphs laid out the first time, and is drawn the same way (its position is
        applied when the glyphs are drawn).
        """
        if ismath:  # mathtext: matplotlib's own way (never in these figures)
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            return
        font = self._prepare_font(prop)
        flags = get_hinting_flag()
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        size = prop.get_size_in_points()
        key = (id(font), s, size, float(self.dpi), flags, features, language)
        try:
            hit = _LAYOUTS.get(key)
            kept = True
        except TypeError:  # a list of languages or features: not kept
            hit, kept = None, False
        if hit is not None and hit[0] is font:
            items = hit[1]
        else:
            items = list(font._layout(s, flags=flags, features=features, language=language))
            if kept:
                if len(_LAYOUTS) >= _METRICS_MAX:
                    _LAYOUTS.clear()
                _LAYOUTS[key] = (font, items)
        self._draw_text_glyphs_and_boxes(
            gc,
            x,
            y,
            angle,
            ((item.ft_object, size, item.glyph_index, 0, 1, item.x, item.y) for item in items),
            [],
        )

    def _draw_text_glyphs_and_boxes(
        self,
        gc: GraphicsContextBase,
        x: float,
        y: float,
        angle: float,
        glyphs: Iterable[tuple[Any, float, int, float, float, float, float]],
        boxes: Iterable[tuple[float, float, float, float]],
    ) -> None:
        """Draw glyphs as matplotlib 3.11's Agg does, each transform's matrix made once."""
        boxes = list(boxes)
        if boxes:  # rules (mathtext, TeX): never in these figures, matplotlib's own way
            super()._draw_text_glyphs_and_boxes(gc, x, y, angle, glyphs, boxes)
            return
        cos = math.cos(math.radians(angle))
        sin = math.sin(math.radians(angle))
        load_flags = get_hinting_flag()
        antialiased = gc.get_antialiased()
        mode = RenderMode.NORMAL if antialiased else RenderMode.MONO
        height = self.height
        matrices: dict[tuple[float, float], tuple[np.ndarray, tuple[int, ...]]] = {}
        dpi = float(self.dpi)
        for font, size, glyph_index, slant, extend, dx, dy in glyphs:  # dy is upwards.
            made = matrices.get((slant, extend))
            if made is None:
                matrix = (
                    (
                        0x10000
                        * np.array([[cos, -sin], [sin, cos]])
                        @ [[extend, extend * slant], [0, 1]]
                    )
                    .round()
                    .astype(int)
                )
                made = matrices[(slant, extend)] = (matrix, tuple(matrix.ravel().tolist()))
            matrix, entries = made
            # The pen position in 26.6 fixed point: whole pixels and the fraction.
            delta = [
                round(0x40 * (x + dx * cos - dy * sin)),
                # FreeType's y is upwards.
                round(0x40 * (height - y + dx * sin + dy * cos)),
            ]
            (px, fx), (py, fy) = divmod(delta[0], 0x40), divmod(delta[1], 0x40)
            key = (id(font), size, dpi, glyph_index, entries, fx, fy, load_flags, mode)
            hit = _GLYPHS.get(key)
            if hit is not None and hit[0] is font:
                _, buffer, left, top = hit
                left, top = left + px, top + py
            else:
                font.set_size(size, self.dpi)
                font._set_transform(matrix, delta)
                bitmap = font._render_glyph(glyph_index, load_flags, mode)
                buffer = bitmap.buffer
                if not antialiased:
                    buffer *= 0xFF
                left, top = bitmap.left, bitmap.top
                if len(_GLYPHS) >= _GLYPHS_MAX:
                    _GLYPHS.clear()
                _GLYPHS[key] = (font, buffer, left - px, top - py)
            # draw_text_image's y is downwards & the bitmap bottom side.
            self._renderer.draw_text_image(buffer, left, int(height) - top + buffer.shape[0], 0, gc)


class FigureCanvas(FigureCanvasAgg):
    """:class:`FigureCanvasAgg` drawing with :class:`_Renderer` (same pixels, less CPU).

    The figure's texts (:func:`_texts`: titles hold the city's name) are drawn as
    :func:`latcircle.text.figure_text` shows them: a control character from data would be a
    missing glyph, of which matplotlib warns with the raw character. Tick labels, made as the
    figure is drawn, are shown so where they are set
    (:func:`latcircle.present.figures.district_bars`).
    """

    def draw(self) -> None:
        """Draw the figure, its texts shown as :func:`latcircle.text.figure_text` shows text."""
        for text in _texts(self.figure):
            written = text.get_text()
            shown = figure_text(written)
            if shown != written:
                text.set_text(shown)
        super().draw()

    def get_renderer(self) -> RendererAgg:
        """Return the renderer, made anew when the figure's size or dpi changed."""
        if not fast_text_supported():
            return super().get_renderer()
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = _Renderer(w, h, self.figure.dpi, figure=self.figure)
            self._lastKey = key
        return self.renderer


def _texts(figure: Figure) -> Iterator[Text]:
    """Yield the texts a figure's code sets (those that may hold data).

    The figure's own (its suptitle) and legends', and each axes' titles, texts and
    annotations, axis labels and legend. Not ``Figure.findobj(Text)``, which walks every
    artist (patches, lines, ticks): 0.035 s of CPU on Wuhan's six figures, against 0.0003 s
    for these 73 texts (measured 2026-12-07).
    """
    yield from figure.texts
    legends = list(figure.legends)
    for ax in figure.axes:
        # The left and right titles (``set_title(loc=...)``) have no public attribute.
        sides = (getattr(ax, name, None) for name in ("_left_title", "_right_title"))
        yield from (ax.title, *(t for t in sides if isinstance(t, Text)), *ax.texts)
        yield from (ax.xaxis.label, ax.yaxis.label)
        legend = ax.get_legend()
        legends += [legend] if legend is not None else []
    for each in legends:
        yield from (each.get_title(), *each.get_texts())
