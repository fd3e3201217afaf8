"""Several pages of one run's map (``map_pages``): each the very bytes ``write_map`` writes.

``map_pages`` computes the workbench's parts (the slider's years, the what-if builds and
their demand groups) once for all the pages instead of once per page; nothing else may
differ. On a private copy of the session's tiny run with a plan beside it (so the plan's
sites lead the what-if panel and the layer lookup reads ``plan/plan.gpkg``), each page of
several base maps, languages, band styles and asset modes is compared byte for byte with
the page ``write_map`` writes alone with the same options, in a fresh folder each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely

from latcircle.present.maps import map_pages, write_map

#: Pages in an order where a later page would show it if an earlier one changed the parts.
PAGES: dict[str, dict[str, Any]] = {
    "amap-zh": {"basemap": "amap", "lang": "zh"},
    "none-cumulative": {"basemap": "none", "bands": "cumulative", "lang": "en"},
    "osm": {},
    "tencent": {"basemap": "tencent", "lang": "en", "precision": 4},
}


@pytest.fixture
def with_plan(tiny_run: Any, tmp_path: Path) -> Any:
    """A private copy of the tiny run with a one-site plan in ``plan/plan.gpkg``."""
    from conftest import copy_run

    run = copy_run(tiny_run, tmp_path / "run")
    sites = run.gpkg_layers()["sites"]
    x, y = sites.geometry.x.iloc[0], sites.geometry.y.iloc[0]
    plan = gpd.GeoDataFrame(
        {"build_id": ["S9"], "kind": ["site"], "name": ["planned"], "year": [2027]},
        geometry=[shapely.Point(x + 3000, y)],
        crs=sites.crs,
    ).assign(cost=[10.0])
    (run.out / "plan").mkdir()
    plan.to_file(run.out / "plan" / "plan.gpkg", layer="plan", driver="GPKG")
    return run


@pytest.mark.parametrize(("assets", "whatif"), [("inline", 4), ("cdn", 2)])
def test_each_page_is_write_maps_page(with_plan: Any, assets: str, whatif: int) -> None:
    pages = map_pages(with_plan, with_plan.out, PAGES, assets=assets, whatif=whatif)  # type: ignore[arg-type]
    assert list(pages) == list(PAGES)
    for name, options in PAGES.items():
        alone = write_map(with_plan, with_plan.out, assets=assets, whatif=whatif, **options)  # type: ignore[arg-type]
        assert pages[name] == alone.read_text(encoding="utf-8"), name
        assert '"source": "plan"' in pages[name], name  # the plan's site leads the panel
    assert len({*pages.values()}) == len(PAGES)  # the options did reach every page


def test_shared_options_are_not_page_options(with_plan: Any) -> None:
    for shared in ("layers", "whatif", "parts"):
        with pytest.raises(ValueError, match="shared by every page"):
            map_pages(with_plan, with_plan.out, {"a": {}, "b": {shared: None}})
    with pytest.raises(ValueError, match="assets"):
        map_pages(with_plan, with_plan.out, {"a": {}}, assets="web")  # type: ignore[arg-type]


@pytest.mark.parametrize("assets", ["local", "", "Inline"])
def test_an_unknown_asset_mode_is_refused_before_any_work(tmp_path, assets) -> None:
    # No run at all: the refusal comes first, so nothing is read or built.
    with pytest.raises(ValueError, match="assets must be 'inline' or 'cdn'"):
        write_map(None, tmp_path, assets=assets)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="assets must be 'inline' or 'cdn'"):
        map_pages(None, tmp_path, {"en": {}}, assets=assets)  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())
