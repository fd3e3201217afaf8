"""Text from data made visible wherever it is shown: pages, terminal, log lines, figures.

A name in a user's data may hold characters that are not text to a reader: C0 control
characters and DEL (a page drops or hides them; a terminal obeys them: ESC starts an
escape sequence that can recolour, clear or retitle the window, CR overwrites the line, LF
starts a line that looks like latcircle's own), C1 control characters (U+0080-U+009F:
U+009B is a CSI to some terminals) and lone surrogates (no UTF-8 file or stream can hold
them: printing one fails). The one rule, shared by every output:

* C0 controls and DEL are shown as their Control Pictures symbols (U+2400 + code, DEL as
  U+2421), as Unicode provides them for this purpose;
* C1 controls and lone surrogates, which have no such symbol, as U+FFFD;
* pages keep TAB, LF and CR (HTML whitespace); the terminal and the log keep TAB only, so
  that every line printed is one line and its own (:func:`terminal_text`);
* figures show every such character as U+FFFD (:func:`figure_text`): no font latcircle
  draws with has the Control Pictures glyphs (fc-list, 2026-12-07), and a missing glyph
  makes matplotlib warn with the raw character in the message.
"""

from __future__ import annotations

__all__ = [
    "FIGURE_VISIBLE",
    "LINE_VISIBLE",
    "PAGE_VISIBLE",
    "REPLACEMENT",
    "figure_text",
    "terminal_lines",
    "terminal_text",
]

#: The replacement character: a character with no visible symbol of its own.
REPLACEMENT = "\ufffd"


def _visible(keep: str) -> dict[int, str]:
    """Return the rule above as a ``str.translate`` table, the characters ``keep`` kept."""
    table = {c: chr(0x2400 + c) for c in range(32) if chr(c) not in keep}
    table[0x7F] = "\u2421"
    table.update(dict.fromkeys(range(0x80, 0xA0), REPLACEMENT))
    table.update(dict.fromkeys(range(0xD800, 0xE000), REPLACEMENT))
    return table


#: The table for text on a page (``str.translate``): TAB, LF and CR kept.
PAGE_VISIBLE = _visible("\t\n\r")
#: The table for a line on the terminal or in a log: TAB kept.
LINE_VISIBLE = _visible("\t")
#: The table for a figure's text: every control character as U+FFFD, TAB and LF kept
#: (matplotlib breaks lines at LF).
FIGURE_VISIBLE = dict.fromkeys(_visible("\t\n"), REPLACEMENT)


def terminal_text(value: object) -> str:
    """Return ``value`` as text a terminal or a log file shows as it reads (one line per line).

    Parameters
    ----------
    value
        Anything (``str(value)`` is shown).

    Returns
    -------
    str
        Without a control character but TAB: C0 controls and DEL as Control Pictures, C1
        controls and lone surrogates as U+FFFD.
    """
    return str(value).translate(LINE_VISIBLE)


def terminal_lines(text: str) -> str:
    """Return a text of several lines (a summary, a traceback) with each line made visible.

    Its own line breaks (LF) are kept; every other character as :func:`terminal_text`
    shows it. A line feed inside a value from data cannot be told from them here: a value
    printed on a line of its own goes through :func:`terminal_text` first.

    Parameters
    ----------
    text
        Lines separated by LF.
    """
    return "\n".join(terminal_text(line) for line in text.split("\n"))


def figure_text(value: object) -> str:
    """Return ``value`` as text a figure draws: every control character but TAB and LF as U+FFFD.

    Parameters
    ----------
    value
        Anything (``str(value)`` is drawn).
    """
    return str(value).translate(FIGURE_VISIBLE)
