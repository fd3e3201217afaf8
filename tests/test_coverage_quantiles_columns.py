"""The coverage table's quantile columns: the metro rows at the budget, the rest NaN.

Session round 15 (issue 23): ``with_coverage_quantiles`` fills each column as an array and
sets it once instead of a labelled assignment per row. Checked against the labelled way
(``.loc`` per row, the code before) and by hand: a basis without an uncertainty row, rows
of another threshold or a district, a frame whose index is not 0..n-1, no uncertainty.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from latcircle.analysis.robust import QUANTILE_COLUMNS, with_coverage_quantiles


def _coverage(index: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scope": ["metro", "metro", "district", "metro", "metro"],
            "basis": ["area", "population", "area", "key_sites", "area"],
            "threshold_ms": [1.0, 1.0, 1.0, 1.0, 0.5],
            "share": [0.1, 0.2, 0.3, 0.4, 0.05],
        },
        index=index,
    )


def _robust(rows: dict[str, list[float]] | None) -> SimpleNamespace:
    if rows is None:
        return SimpleNamespace(uncertainty=None, year=2027)

    def row(year: int | None, basis: str) -> pd.Series | None:
        assert year == 2027
        got = rows.get(basis)
        return None if got is None else pd.Series(dict(zip(QUANTILE_COLUMNS, got, strict=True)))

    return SimpleNamespace(uncertainty=SimpleNamespace(row=row), year=2027)


def _labelled(coverage: pd.DataFrame, robust: SimpleNamespace, budget_ms: float) -> pd.DataFrame:
    out = coverage.copy()
    for col in QUANTILE_COLUMNS:
        out[col] = np.nan
    if robust.uncertainty is None:
        return out
    at_budget = (out["scope"] == "metro") & (out["threshold_ms"] == budget_ms)
    for i, basis in out.loc[at_budget, "basis"].items():
        hit = robust.uncertainty.row(robust.year, str(basis))
        if hit is not None:
            out.loc[i, QUANTILE_COLUMNS] = [hit[c] for c in QUANTILE_COLUMNS]
    return out


@pytest.mark.parametrize("index", [[0, 1, 2, 3, 4], [10, 3, 7, 0, 42]])
@pytest.mark.parametrize(
    "rows",
    [
        None,
        {"area": [0.05, 0.1, 0.2], "population": [0.15, 0.2, np.nan]},  # no key_sites row
        {"area": [0.0, 0.0, 0.0], "population": [1.0, 1.0, 1.0], "key_sites": [0.3, 0.4, 0.5]},
    ],
)
def test_quantile_columns_equal_the_labelled_way(index: list[int], rows: object) -> None:
    coverage = _coverage(index)
    robust = _robust(rows)  # type: ignore[arg-type]
    got = with_coverage_quantiles(coverage, robust, budget_ms=1.0)  # type: ignore[arg-type]
    want = _labelled(coverage, robust, 1.0)
    pd.testing.assert_frame_equal(got, want)
    assert list(got.columns) == [*coverage.columns, *QUANTILE_COLUMNS]
    if rows is not None:
        assert got.loc[index[0], "share_p50"] == rows["area"][1]  # type: ignore[index]
    assert np.isnan(got.loc[index[2], "share_p5"])  # a district row
    assert np.isnan(got.loc[index[4], "share_p5"])  # another threshold
    assert coverage.columns.tolist() == ["scope", "basis", "threshold_ms", "share"]
