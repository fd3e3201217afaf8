"""The network lines' checks read in blocks, and integer ids compared without text."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from latcircle.errors import InputError
from latcircle.inputs import checks


def _lines(bad: dict[int, tuple[float, float]]) -> gpd.GeoDataFrame:
    """Ten 3-vertex lines; line ``i`` in ``bad`` gets that middle vertex."""
    geoms = []
    for i in range(10):
        mid = bad.get(i, (i + 0.5, 1.0))
        geoms.append(shapely.LineString([(i, 0.0), mid, (i + 1.0, 0.0)]))
    return gpd.GeoDataFrame(geometry=geoms, crs="EPSG:32650")


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("block", [1, 3, 4, 1 << 17])
def test_coordinate_check_names_the_first_bad_feature_and_counts_all(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks, "CHECK_BLOCK", block)
    # Features 3, 8 and 9 (1-based) are bad: one in the first block of 3, two in later ones.
    gdf = _lines({2: (np.nan, 1.0), 7: (1e300, 1.0), 8: (np.inf, 2.0)})
    with pytest.raises(InputError) as err:
        checks.check_line_coordinates(gdf, "roads.gpkg", role="network")
    message = str(err.value)
    assert "network feature 3 has a coordinate that is not a finite number: (nan, 1)" in message
    assert "(3 features have such coordinates)" in message


@pytest.mark.parametrize("block", [1, 4, 1 << 17])
def test_coordinate_check_one_bad_feature_far_into_the_file(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks, "CHECK_BLOCK", block)
    gdf = _lines({9: (1e300, 1.0)})
    with pytest.raises(InputError) as err:
        checks.check_line_coordinates(gdf, "roads.gpkg", role="network")
    message = str(err.value)
    assert "network feature 10 has a coordinate (1e+300, 1) beyond 40,075,017 m" in message
    assert "features have such" not in message
    checks.check_line_coordinates(_lines({}), "roads.gpkg", role="network")  # all fine


@pytest.mark.parametrize(
    "cast",
    [lambda s: s, lambda s: s.astype("Int64"), lambda s: s.astype(object)],
    ids=["int64", "Int64", "object"],
)
def test_uv_loop_check_alike_for_integer_and_object_ids(cast: object) -> None:
    gdf = _lines({})
    gdf["u"] = cast(pd.Series(np.arange(10)))  # type: ignore[operator]
    gdf["v"] = cast(pd.Series(np.arange(10) + 1))  # type: ignore[operator]
    checks.check_uv_loops(gdf, "roads.gpkg")  # no loop
    gdf.loc[6, "v"] = 6  # line 7 says u = v while its ends lie 1 m apart
    with pytest.raises(InputError, match="feature 7"):
        checks.check_uv_loops(gdf, "roads.gpkg")
