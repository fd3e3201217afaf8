"""One home per fact (issue 23): weights formatted once, one progress-bar factory, a CLI package."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from latcircle.logs import progress_bar
from latcircle.present.style import amount

CLI = Path(__file__).parents[1] / "latcircle" / "cli"


@pytest.mark.parametrize(
    ("value", "unit", "words", "expected"),
    [
        (1234.4, "people", True, "1,234 people"),
        (1234.6, "people", True, "1,235 people"),
        (3.0, "sites", True, "3 key sites"),  # a whole count shows no ".0"
        (1.5, "sites", True, "1.5 key sites"),  # a weighted key site stays weighted
        (401.5, "sites", False, "401.5"),
        (0.25, "km2", True, "0.2 km²"),  # 0.25 is exact in binary: half to even
        (0.26, "km2", True, "0.3 km²"),
        (8959.0, "km2", False, "8,959.0"),
        (0.0, "people", False, "0"),
    ],
)
def test_amount_rounds_each_unit_by_one_rule(
    value: float, unit: str, words: bool, expected: str
) -> None:
    assert amount(value, unit, words=words) == expected


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_amount_of_a_missing_weight(missing: object) -> None:
    assert amount(missing, "people") == "—"
    assert amount(missing, "km2", missing="n/a") == "n/a"


def test_the_cli_formats_no_weight_or_share_itself() -> None:
    # Independent of the code under test: read the CLI's source for number formats of
    # weights (",.0f", ",.1f") and shares ("%}") that style.amount / style.percent own.
    own = re.compile(r"\{[^{}]*:,?\.\d[f%]\}")
    found = [
        f"{path.name}: {m.group(0)}"
        for path in sorted(CLI.glob("*.py"))
        for m in own.finditer(path.read_text(encoding="utf-8"))
        if "cost" not in m.group(0) and "wall_s" not in m.group(0)
    ]
    # calibrate prints fitted parameters, plan a probability, the summary the seconds taken.
    allowed = {"estimate", "low", "high", "seconds", "p_meet"}
    assert [f for f in found if not any(a in f for a in allowed)] == []


def test_cli_modules_and_functions_keep_to_the_size_limits() -> None:
    for path in sorted(CLI.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 900, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                assert length <= 80, f"{path.name}:{node.name} is {length} lines"


def test_every_command_has_its_own_module() -> None:
    from latcircle.cli import COMMANDS, _parser

    names = {m.__name__.rsplit(".", 1)[1] for m in COMMANDS}
    assert names == {p.stem for p in CLI.glob("*.py")} - {
        "__init__",
        "__main__",
        "options",
        "running",
    }
    sub = next(a for a in _parser()._actions if a.dest == "command")
    assert set(sub.choices) == {  # type: ignore[arg-type]
        "run",
        "plan",
        "demo",
        "fetch",
        "city",
        "national-rollup",
        "progress",
        "tiers",
        "national",
        "calibrate",
    }


def _render(**options: object) -> str:
    buffer = io.StringIO()
    out = Console(file=buffer, force_terminal=True, width=100)
    with progress_bar(out, **options) as bar:  # type: ignore[arg-type]
        task = bar.add_task("locate", total=3)
        bar.update(task, completed=2)
    return buffer.getvalue()


def test_progress_bar_counts_done_of_total_or_percent() -> None:
    assert "2/3" in _render(detail="stages")
    assert "stages" in _render(detail="stages")
    assert "67%" in _render(count="percent")
    assert "2/3" not in _render(count="percent")
    assert _render(disable=True) == ""


def test_the_planners_bar_yields_every_item_off_a_terminal() -> None:
    from latcircle.analysis.plan.core import _progress

    assert list(_progress(range(60), "builds", 60)) == list(range(60))
    assert list(_progress(range(3), "builds", 3)) == [0, 1, 2]


@pytest.mark.parametrize(
    ("value", "unit", "page", "shortfall"),
    [
        (1234.56, "km2", "1,234.6 km²", "1,234.6 km² more"),
        (3.0, "sites", "3 key sites", "3 more key sites"),
        (1.0, "sites", "1 key sites", "1 more key site"),
        (600000.0, "people", "600,000 people", "600,000 more people"),
    ],
)
def test_report_and_shortfalls_print_a_gap_by_the_same_rule(
    value: float, unit: str, page: str, shortfall: str
) -> None:
    # The report prints weights through style.amount / style.number (no formatter of its own).
    from latcircle.present.shortfalls import _amount as shortfall_amount
    from latcircle.present.style import number

    assert amount(value, unit) == page
    assert number(value, unit) == (page if unit == "km2" else page.split(" ")[0])
    assert shortfall_amount(value, unit) == shortfall
