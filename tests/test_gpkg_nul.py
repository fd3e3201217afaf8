"""NUL in a GeoPackage's texts: written as ␀ and counted, whatever the column's dtype."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from latcircle.output.files import write_gpkg


@pytest.mark.parametrize("dtype", ["str", "string", object])
def test_nul_written_as_symbol_and_counted(
    tmp_path: Path, dtype: object, caplog: pytest.LogCaptureFixture
) -> None:
    names = ["plain", "a\x00b", None, "\x00\x00", ""]
    frame = gpd.GeoDataFrame(
        {"name": pd.Series(names, dtype=dtype), "n": range(5)},
        geometry=[Point(i, i) for i in range(5)],
        crs="EPSG:32650",
    )
    path = tmp_path / "t.gpkg"
    with caplog.at_level(logging.WARNING, logger="latcircle"):
        write_gpkg({"layer": frame}, path)
    back = pyogrio.read_dataframe(path, layer="layer")
    assert list(back["name"].fillna("<NA>")) == ["plain", "a␀b", "<NA>", "␀␀", ""]
    assert "2 text value(s) hold NUL" in caplog.text  # two values, one with two NULs


def test_no_nul_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    frame = gpd.GeoDataFrame(
        {"name": pd.Series(["a", None], dtype="str")}, geometry=[Point(0, 0)] * 2, crs=4326
    )
    with caplog.at_level(logging.WARNING, logger="latcircle"):
        write_gpkg({"layer": frame}, tmp_path / "t.gpkg")
    assert "NUL" not in caplog.text


@pytest.mark.parametrize("dtype", ["str", "string", object])
@pytest.mark.parametrize(
    ("names", "count"),
    [
        (["plain", "a\x00b", "", "\x00"], 2),  # texts only: the one-join check finds them
        (["x", "y\x00"], 1),  # NUL last
        (["x", "y"], 0),
        ([], 0),
    ],
)
def test_texts_only_columns_are_checked_too(
    tmp_path: Path,
    dtype: object,
    names: list[str],
    count: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    frame = gpd.GeoDataFrame(
        {"name": pd.Series(names, dtype=dtype)},
        geometry=[Point(i, i) for i in range(len(names))],
        crs="EPSG:32650",
    )
    path = tmp_path / "t.gpkg"
    with caplog.at_level(logging.WARNING, logger="latcircle"):
        write_gpkg({"layer": frame}, path)
    back = pyogrio.read_dataframe(path, layer="layer")
    assert list(back["name"]) == [n.replace("\x00", "␀") for n in names]
    assert (f"{count} text value(s) hold NUL" in caplog.text) == (count > 0)
    assert ("hold NUL" in caplog.text) == (count > 0)


def test_nul_among_missing_values_and_numbers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A column of texts, numbers and missing values: its texts' NULs found and counted."""
    frame = gpd.GeoDataFrame(
        {
            "mixed": pd.Series([1.5, "x\x00", None, float("nan"), "y"], dtype=object),
            "clean": pd.Series(["a", None, "b", None, "c"], dtype=object),
        },
        geometry=[Point(i, i) for i in range(5)],
        crs="EPSG:32650",
    )
    path = tmp_path / "t.gpkg"
    with caplog.at_level(logging.WARNING, logger="latcircle"):
        write_gpkg({"layer": frame}, path)
    assert "1 text value(s) hold NUL" in caplog.text
    back = pyogrio.read_dataframe(path, layer="layer")
    assert back["mixed"].tolist()[1] == "x␀" and back["clean"].tolist()[0] == "a"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="latcircle"):
        write_gpkg({"layer": frame[["clean", "geometry"]]}, tmp_path / "u.gpkg")
    assert "NUL" not in caplog.text
