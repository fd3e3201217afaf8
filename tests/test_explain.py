"""Why a figure does not move: the statements of latcircle.present.explain, on hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from latcircle.present.explain import NETWORK_LIMIT_SHARE, explain_run, target_status

SITES = pd.DataFrame({"site_id": ["A", "B", "C"], "online_year": [2024, 2025, 2026]})


def _coverage(no_access_area: float, *, keys: tuple[float, float] = (0.0, 10.0)) -> pd.DataFrame:
    """Metro rows at 1 ms: 100 km² of area, 10 key sites."""
    rows = [
        ("area", "km2", no_access_area, 100.0),
        ("key_sites", "sites", keys[0], keys[1]),
    ]
    return pd.DataFrame(
        [
            {
                "scope": "metro",
                "name": "metro",
                "basis": b,
                "unit": u,
                "threshold_ms": 1.0,
                "no_access": na,
                "total": t,
            }
            for b, u, na, t in rows
        ]
    )


def _progress(covered_by_year: dict[int, tuple[int, float, float]]) -> pd.DataFrame:
    """Key sites judged against 70 % by 2027; area alongside: year -> (sites, keys, km²)."""
    rows = []
    for year, (online, keys, area) in covered_by_year.items():
        for basis, covered, total, judged in (
            ("key_sites", keys, 10.0, True),
            ("area", area, 100.0, False),
        ):
            rows.append(
                {
                    "year": year,
                    "basis": basis,
                    "sites_online": online,
                    "covered": covered,
                    "total": total,
                    "share": covered / total,
                    "threshold_ms": 1.0,
                    "target_year": 2027,
                    "target_share": 0.7,
                    "judged": judged,
                    "status": "behind" if judged else "",
                    "gap": 1.0,
                    "unit": "sites" if basis == "key_sites" else "km2",
                }
            )
    return pd.DataFrame(rows)


def _explain(coverage: pd.DataFrame, progress: pd.DataFrame | None, online: int = 3) -> list[str]:
    return explain_run(
        coverage, progress, budget_ms=1.0, year=None, sites_online=online, sites=SITES
    )


def test_network_extent_is_named_from_half_the_area() -> None:
    assert NETWORK_LIMIT_SHARE == 0.5
    at_limit = _explain(_coverage(50.0), None)  # exactly half: said
    assert at_limit == [
        "coverage is limited by the extent of the network data, not by compute sites: 50.0% "
        "of the metro's area (and 0.0% of its key sites) lies beyond the max drop from the "
        "network, where no site can reach"
    ]
    assert _explain(_coverage(49.99), None) == []  # just under: not the limit


def test_a_target_beyond_the_network_is_called_out() -> None:
    progress = _progress({2027: (3, 5.0, 40.0)})
    lines = _explain(_coverage(10.0, keys=(4.0, 10.0)), progress)  # 6 of 10 reachable < 70 %
    assert lines == [
        "the 2027 target (70% of key sites) cannot be met on this network: only 60.0% of key "
        "sites lie within the max drop of it (build access first)"
    ]
    assert _explain(_coverage(10.0, keys=(3.0, 10.0)), progress) == []  # 70 %: reachable


def test_sites_that_add_nothing_are_named() -> None:
    progress = _progress({2024: (1, 5.0, 40.0), 2025: (2, 5.0, 40.0), 2026: (3, 6.0, 40.0)})
    lines = _explain(_coverage(0.0), progress)
    assert lines == [
        "sites coming online in 2025 (B) add nothing: no share changes",
        "sites coming online in 2026 (C) add nothing to the share of area",
    ]


def test_no_site_online() -> None:
    lines = explain_run(_coverage(0.0), None, budget_ms=1.0, year=2020, sites_online=0, sites=SITES)
    assert lines == [
        "no site online in 2020: nothing is covered; the first site comes online in 2024"
    ]


def test_target_status_of_the_scenario_year() -> None:
    progress = _progress({2024: (1, 5.0, 40.0), 2027: (3, 7.0, 40.0)})
    assert target_status(progress, 2024)["covered"] == 5.0
    assert target_status(progress, None)["year"] == 2027  # every site: the last year
    assert target_status(progress, 2030) is None
    assert target_status(None, 2024) is None
    with pytest.raises(KeyError):
        target_status(progress.drop(columns="judged"), 2024)


def test_stalls_read_the_rows_in_any_order() -> None:
    """The rows by year and basis whatever their order; the judged basis is said."""
    progress = _progress({2024: (1, 5.0, 40.0), 2025: (2, 5.0, 41.0), 2026: (3, 6.0, 41.0)})
    shuffled = progress.sample(frac=1.0, random_state=4).reset_index(drop=True)
    assert not shuffled.equals(progress)
    lines = _explain(_coverage(0.0), shuffled)
    assert lines == [
        "sites coming online in 2025 (B) add nothing to the share of key sites (the judged basis)",
        "sites coming online in 2026 (C) add nothing to the share of area",
    ]
    # No site added between two years: nothing said, however still the shares.
    same = _progress({2024: (2, 5.0, 40.0), 2025: (2, 5.0, 40.0)})
    assert _explain(_coverage(0.0), same) == []
