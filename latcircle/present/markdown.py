"""Markdown (``shortfalls.md``) rendered as HTML for a page, with raw HTML off."""

from __future__ import annotations

from markupsafe import Markup

__all__ = ["markdown_html"]


def markdown_html(text: str, *, top_level: int = 1) -> Markup:
    """Render Markdown (``shortfalls.md``) as HTML, with any raw HTML in it kept as text.

    CommonMark plus tables (markdown-it-py). Raw HTML is disabled, so a city name carrying
    ``<script>`` arrives as text, and link targets go through markdown-it's own check (no
    ``javascript:`` links). Only this rendered output is marked safe for a template.

    Parameters
    ----------
    text
        Markdown.
    top_level
        The HTML level of a ``#`` heading (deeper ones follow, at most h6): 3 places the
        text under a page's h2, keeping the page's headings in order.

    Returns
    -------
    markupsafe.Markup
    """
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + top_level - 1)}"
    # Raw HTML is off: what markdown-it writes is its own markup around escaped text.
    return Markup(md.renderer.render(tokens, md.options, {}))
