"""Figures in the report's language: ``--lang zh`` shows the districts' local names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from latcircle.cli import main
from latcircle.config import load_config
from latcircle.pipeline import run_city
from latcircle.present.figures import city_figures, district_bars

ARTIFACTS = Path(__file__).resolve().parent / ".artifacts"
LOCAL = {"West": "西区", "East": "东区"}


def _ticks(fig) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.get_text() for t in fig.axes[0].get_yticklabels()]


def test_district_bars_show_the_names_given_in_the_table_order() -> None:
    coverage = pd.DataFrame(
        {
            "scope": ["district"] * 2,
            "name": ["West", "East"],
            "basis": ["area"] * 2,
            "threshold_ms": [1.0, 1.0],
            "share": [0.5, 0.25],
        }
    )
    plain = district_bars(coverage)
    named = district_bars(coverage, names=LOCAL)
    assert _ticks(plain) == ["West", "East"]  # sorted descending, as before
    assert _ticks(named) == ["西区", "东区"]  # the same order, local names


def _local_city(make_tiny_city: Callable[..., Path]) -> Path:
    config = make_tiny_city("zh")
    path = config.parent / "districts.gpkg"
    districts = gpd.read_file(path)
    districts["name_local"] = [LOCAL[n] for n in districts["name"]]
    districts.to_file(path, driver="GPKG")
    return config


def test_chinese_figures_use_the_local_names(make_tiny_city, tmp_path: Path) -> None:
    cfg = load_config(_local_city(make_tiny_city))
    result = run_city(cfg, out=tmp_path / "out")
    figs = city_figures(result, tmp_path / "out", lang="zh")
    assert sorted(_ticks(figs["districts"])) == sorted(LOCAL.values())
    assert sorted(_ticks(city_figures(result, tmp_path / "out")["districts"])) == sorted(LOCAL)
    ARTIFACTS.mkdir(exist_ok=True)
    figs["districts"].savefig(ARTIFACTS / "districts-zh.png")  # for a person to look at


def test_the_report_written_with_lang_zh_embeds_the_chinese_figure(
    make_tiny_city, tmp_path: Path
) -> None:
    config = _local_city(make_tiny_city)
    zh, en = tmp_path / "out-zh", tmp_path / "out-en"
    assert main(["-q", "run", str(config), "--out", str(zh), "--lang", "zh"]) == 0
    assert main(["-q", "run", str(config), "--out", str(en), "--lang", "en"]) == 0
    zh_png = (zh / "figures" / "districts.png").read_bytes()
    en_png = (en / "figures" / "districts.png").read_bytes()
    assert zh_png != en_png  # the labels differ; every other figure is the same
    for name in ("bands", "curve"):
        assert (zh / "figures" / f"{name}.png").read_bytes() == (
            en / "figures" / f"{name}.png"
        ).read_bytes()
