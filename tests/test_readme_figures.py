"""The figures the README quotes are the figures the code computes.

``scripts/readme_figures.py`` regenerates the quotes between the README's ``figures``
markers; these tests fail when the README and the code disagree (run the script with
``--write`` after a change that moves a figure, and say why in the commit).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from latcircle.analysis.metro import Metro
from latcircle.config import CityConfig

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures() -> ModuleType:
    return _script("readme_figures")


@pytest.fixture(scope="module")
def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_marker_is_a_known_figure(figures: ModuleType, readme: str) -> None:
    assert set(figures.quotes(readme)) == {"wuhan", "demo-2024-2027", "demo-2028"}


@pytest.mark.slow
def test_demo_figures_match_the_readme(
    figures: ModuleType,
    readme: str,
    demo_inputs: Path,
    demo_metro: Metro,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The script's own steps, served from the session's shared demo (conftest): the same call
    # (seed 7, default scale) is checked, the same config is read, only the work is not redone.
    def write_demo_city(folder: Path, **options: object) -> Path:
        assert options == {"seed": 7}, options
        return demo_inputs

    def prepare(cfg: CityConfig) -> Metro:
        assert cfg == demo_metro.config
        return demo_metro

    monkeypatch.setattr(figures, "write_demo_city", write_demo_city)
    monkeypatch.setattr(figures, "prepare", prepare)
    computed = figures.demo_figures()
    assert figures.differences(readme, computed) == []
    # The story the paragraph tells around the figures: behind 70 % in 2027, over 75 % after.
    low, high = (float(v.split()[0]) for v in computed["demo-2024-2027"].split(" to "))
    assert low < high < 70.0 < 75.0 < float(computed["demo-2028"].split()[0])


@pytest.mark.realdata
@pytest.mark.slow
def test_wuhan_figures_match_the_readme(
    figures: ModuleType, readme: str, shared_data: Path
) -> None:
    assert figures.differences(readme, figures.wuhan_figures(shared_data)) == []


def test_a_drifted_figure_is_reported_and_rewritten(figures: ModuleType) -> None:
    text = "a <!-- figures:start demo-2028 -->90.9 %<!-- figures:end --> b"
    assert figures.differences(text, {"demo-2028": "90.9 %"}) == []
    [line] = figures.differences(text, {"demo-2028": "91.0 %"})
    assert "'90.9 %'" in line and "'91.0 %'" in line
    assert figures.rewrite(text, {"demo-2028": "91.0 %"}) == text.replace("90.9", "91.0")
    [missing] = figures.differences(text, {"wuhan": "x"})
    assert "no figures marker 'wuhan'" in missing


def test_percent_rounds_half_a_tenth_as_printed(figures: ModuleType) -> None:
    assert figures.percent(0.6795) in {"67.9 %", "68.0 %"}  # binary rounding, either way
    assert figures.percent(0.934) == "93.4 %"
    assert figures.percent(1.0) == "100.0 %"
    assert figures.percent(0.0) == "0.0 %"
