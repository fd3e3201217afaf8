"""The one city-config writer: every value comes back from YAML as it went in."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from latcircle.config import load_config
from latcircle.demo.generator import write_demo_city
from latcircle.output.cityconfig import city_config_text, write_city_config

HOSTILE = [
    "Plain",
    "A: B",
    "- dash first",
    "quote ' and \" both",
    "line\nbreak",
    "{{ template }} {x} %s",
    "# not a comment",
    "yes",
    "null",
    "1e3",
    "武汉市: 东湖",
    "  leading spaces",
    "trailing spaces  ",
    "tab\there",
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_values_round_trip_whatever_they_hold(value: str) -> None:
    keys = {"id": "x", "name": value, "nested": {"note": value, "list": [value, 1, True]}}
    text = city_config_text([(f"comment with {value}", keys)])
    assert yaml.safe_load(text) == keys


def test_comments_are_comments_even_with_line_breaks() -> None:
    text = city_config_text([("first line\nsecond: line\n- third", {"id": "x"})])
    assert yaml.safe_load(text) == {"id": "x"}
    assert text.splitlines()[:3] == ["# first line", "# second: line", "# - third"]


def test_sections_keep_their_order(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    text = write_city_config(path, [(None, {"b": 1}), ("two", {"a": 2})])
    assert path.read_text(encoding="utf-8") == text
    assert list(yaml.safe_load(text)) == ["b", "a"]


def test_the_demo_config_is_written_by_it_and_loads(tmp_path: Path) -> None:
    path = write_demo_city(tmp_path / "d", scale=0.1, city_id="d-1", name="Demo: 'quoted' #1")
    cfg = load_config(path)
    assert cfg.name == "Demo: 'quoted' #1"
    assert cfg.synthetic is True
    assert cfg.model.route_factor == 1.2
