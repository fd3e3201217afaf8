"""Data is text on the terminal and in the log: control characters from data made visible.

A site's name holding ESC, BEL, CR or LF reached the log (``WARNING  sites: ... serve
nothing: B`` followed by a raw BEL), a run's summary and an error's line as themselves: a
terminal obeys them (ESC ``[2J`` clears the screen, CR overwrites the line, LF starts a
line that looks like latcircle's own). Figures drew such a name with a missing glyph, of
which matplotlib warned with the raw character. The rule (:mod:`latcircle.text`) is checked
here against tables written out by hand, exactly at the edges of each range; the whole run
is checked by ``tests/test_safety_injection.py`` (the ``control`` payload).
"""

from __future__ import annotations

import argparse
import io
import logging
import re
import sys

import pytest
from rich.console import Console

from latcircle.errors import InputError
from latcircle.logs import CountBar, VisibleFormatter, log_handler, markup_text
from latcircle.text import figure_text, terminal_text

#: Code points at the edges of each range, and how each must read: on the terminal, on a
#: page (``plain_text``), in a figure. Written out by hand, not derived from the tables.
EDGES = [
    # (char, terminal, page, figure)
    ("\x00", "\u2400", "\u2400", "\ufffd"),
    ("\t", "\t", "\t", "\t"),
    ("\n", "\u240a", "\n", "\n"),
    ("\r", "\u240d", "\r", "\ufffd"),
    ("\x1b", "\u241b", "\u241b", "\ufffd"),
    ("\x1f", "\u241f", "\u241f", "\ufffd"),
    (" ", " ", " ", " "),
    ("~", "~", "~", "~"),
    ("\x7f", "\u2421", "\u2421", "\ufffd"),
    ("\x80", "\ufffd", "\ufffd", "\ufffd"),
    ("\x9b", "\ufffd", "\ufffd", "\ufffd"),
    ("\x9f", "\ufffd", "\ufffd", "\ufffd"),
    ("\xa0", "\xa0", "\xa0", "\xa0"),
    ("\ud7ff", "\ud7ff", "\ud7ff", "\ud7ff"),
    ("\ud800", "\ufffd", "\ufffd", "\ufffd"),
    ("\udfff", "\ufffd", "\ufffd", "\ufffd"),
    ("\ue000", "\ue000", "\ue000", "\ue000"),
    ("武", "武", "武", "武"),
]


@pytest.mark.parametrize(("char", "terminal", "page", "figure"), EDGES)
def test_each_edge_reads_as_written_out(char: str, terminal: str, page: str, figure: str) -> None:
    from latcircle.present.style import plain_text

    assert terminal_text(f"a{char}b") == f"a{terminal}b"
    assert plain_text(f"a{char}b") == f"a{page}b"
    assert figure_text(f"a{char}b") == f"a{figure}b"


def test_lines_keep_their_breaks_and_nothing_else() -> None:
    from latcircle.text import terminal_lines

    assert terminal_lines("one\x1b[2J\ntwo\r\n\nthree\t") == "one\u241b[2J\ntwo\u240d\n\nthree\t"
    assert terminal_lines("") == ""


def test_every_control_character_is_gone_from_the_terminal() -> None:
    every = "".join(chr(c) for c in range(0x100))
    shown = terminal_text(every)
    assert [c for c in shown if ord(c) < 0x20 and c != "\t"] == []
    assert [c for c in shown if 0x7F <= ord(c) <= 0x9F] == []
    assert len(shown) == 0x100  # one symbol per character: nothing dropped


def test_a_log_record_is_one_visible_line() -> None:
    out = io.StringIO()
    handler = log_handler(Console(file=out, force_terminal=False))
    data = "B\x07\x1b[2J\nWARNING  fake\r"
    handler.handle(
        logging.LogRecord(
            "x", logging.WARNING, __file__, 1, "site %s serves nothing", (data,), None
        )
    )
    assert (
        out.getvalue() == "WARNING  site B\u2407\u241b[2J\u240aWARNING  fake\u240d serves nothing\n"
    )


def test_a_record_is_left_whole_for_other_handlers() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "name %s", ("a\x1bb",), None)
    line = VisibleFormatter("%(levelname)s %(message)s").format(record)
    assert line == "WARNING name a\u241bb"
    assert record.getMessage() == "name a\x1bb" and record.message == "name a\x1bb"


def test_a_traceback_keeps_its_lines_each_made_visible() -> None:
    try:
        raise ValueError("bad \x1b[31m name")
    except ValueError:
        info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), info)
    lines = VisibleFormatter("%(message)s").format(record).split("\n")
    assert lines[0] == "failed" and lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad \u241b[31m name"


def test_on_a_terminal_the_data_escape_is_shown_not_obeyed() -> None:
    out = io.StringIO()
    handler = log_handler(Console(file=out, force_terminal=True, width=200))
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "site %s", ("\x1b[2J",), None)
    handler.handle(record)
    text = out.getvalue()
    assert "\x1b[2J" not in text
    # Rich's own colour codes (SGR) are the only escapes left; the data's ESC is a symbol.
    plain = re.sub("\x1b\\[[0-9;]*m", "", text)
    assert "\x1b" not in plain and "site \u241b[2J" in plain


def test_markup_text_is_neither_markup_nor_control() -> None:
    out = io.StringIO()
    name = "[red]x[/red]\x1b\n"
    Console(file=out, force_terminal=False).print(f"name: {markup_text(name)}")
    assert out.getvalue() == "name: [red]x[/red]\u241b\u240a\n"


def test_an_error_line_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from latcircle.cli import _dispatch

    def fail(args: argparse.Namespace) -> int:
        raise InputError("sites.csv", "name", "row 2: 'A\x1b[2J\nB' is not a site")

    code = _dispatch(argparse.Namespace(func=fail, verbose=0))
    assert code == 2
    err = capsys.readouterr().err
    assert err == "latcircle: error: sites.csv: name: row 2: 'A\u241b[2J\u240aB' is not a site\n"


def test_an_internal_error_line_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from latcircle.cli import _dispatch

    def fail(args: argparse.Namespace) -> int:
        raise RuntimeError("\x07boom\r")

    assert _dispatch(argparse.Namespace(func=fail, verbose=0)) == 1
    err = capsys.readouterr().err
    assert err == (
        "latcircle: internal error: RuntimeError: \u2407boom\u240d (run with -v for details)\n"
    )


def test_count_bar_lines_show_labels_as_they_read() -> None:
    out = io.StringIO()
    bar = CountBar(Console(file=out, force_terminal=False), what="cities", quiet=False)
    bar.item("wu\x1b[31mhan\n: done", 1, 2)
    assert out.getvalue() == "cities 1/2 wu\u241b[31mhan\u240a: done\n"


def test_a_national_worker_line_is_one_visible_line() -> None:
    from latcircle.national_run import _CityFormatter

    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "site %s", ("B\x07\n",), None)
    assert _CityFormatter(["wuhan"]).format(record) == "WARNING  wuhan: site B\u2407\u240a"
    # The label is a config file's name (until its id is read): data as well.
    line = _CityFormatter(["wu\x1b[2Jhan"]).format(record)
    assert line == "WARNING  wu\u241b[2Jhan: site B\u2407\u240a"


def test_a_figure_draws_every_text_it_sets_without_a_missing_glyph() -> None:
    import warnings

    from matplotlib.figure import Figure

    from latcircle.present.figures import png_bytes

    bad = "a\x1bb\x07\x9b"
    fig = Figure()
    fig.suptitle(f"suptitle {bad}")
    fig.text(0.1, 0.1, f"figure text {bad}")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label=f"line {bad}")
    ax.set_title(f"title {bad}")
    ax.set_title(f"left {bad}", loc="left")
    ax.set_xlabel(f"x {bad}")
    ax.set_ylabel(f"y {bad}")
    ax.annotate(f"note {bad}", (0.5, 0.5))
    ax.legend(title=f"legend {bad}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert png_bytes(fig).startswith(b"\x89PNG")
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []
    shown = "a\ufffdb\ufffd\ufffd"
    assert fig.get_suptitle() == f"suptitle {shown}"
    assert ax.get_title() == f"title {shown}" and ax.get_title("left") == f"left {shown}"
    assert [t.get_text() for t in ax.texts] == [f"note {shown}"]
    assert ax.get_xlabel() == f"x {shown}" and ax.get_ylabel() == f"y {shown}"
    legend = ax.get_legend()
    assert legend.get_title().get_text() == f"legend {shown}"
    assert [t.get_text() for t in legend.get_texts()] == [f"line {shown}"]
    assert fig.texts[-1].get_text() == f"figure text {shown}"


def test_a_library_warning_is_one_visible_log_line() -> None:
    import warnings

    from latcircle.logs import warnings_logged

    out = io.StringIO()
    logger = logging.getLogger("latcircle.test_warnings_logged")
    logger.addHandler(log_handler(Console(file=out, force_terminal=False)))
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    shown_before = warnings.showwarning
    try:
        with warnings_logged(logger):
            warnings.simplefilter("always")
            warnings.warn("Glyph 27 (\x1b) missing\nfrom font(s)", UserWarning, stacklevel=1)
        assert warnings.showwarning is shown_before  # the block restores what it found
    finally:
        logger.handlers.clear()
    assert out.getvalue() == "WARNING  UserWarning: Glyph 27 (\u241b) missing\u240afrom font(s)\n"


def test_quiet_hides_a_library_warning(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-q``: nothing but errors, a library's warning included (it is a log record now)."""
    import warnings

    import latcircle.cli.calibrate
    from latcircle.cli import main

    def warn(args: argparse.Namespace) -> int:
        warnings.warn("from a library \x1b", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(latcircle.cli.calibrate, "cmd_calibrate", warn)
    for quiet, expected in ((["-q"], ""), ([], "WARNING  UserWarning: from a library \u241b\n")):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            code = main([*quiet, "calibrate", "x.yaml", "--measurements", "m.csv"])
        printed = capfd.readouterr()
        assert code == 0 and printed.out == ""
        assert printed.err == expected
