"""``progress.json``'s status and share by year: the judged rows, in table order.

Session round 15 (issue 23): ``progress_record`` reads the judged rows' year, status and
share from their columns instead of ``itertuples`` (which builds a namedtuple class per
call). Checked against the itertuples way and against hand-written dicts: a year judged
twice (the last row wins, as a dict keeps it), shares that round at the sixth decimal, NaN,
unjudged rows left out, years as ``int64`` and ``Int64``.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from latcircle.analysis.progress import PROGRESS_COLUMNS, progress_record


def _table(year_dtype: str) -> pd.DataFrame:
    rows = [
        (2024, "key_sites", True, "behind", 0.1234565),
        (2024, "area", False, "met", 0.9),
        (2025, "key_sites", True, "on track", 0.7000004999),
        (2026, "key_sites", True, "met", float("nan")),
        (2026, "key_sites", True, "behind", 0.75),  # judged twice: the last row wins
        (2027, "population", False, "", 0.5),
    ]
    base = dict.fromkeys(PROGRESS_COLUMNS, np.nan)
    records = [
        {**base, "basis": basis, "judged": judged, "status": status, "share": share}
        for _, basis, judged, status, share in rows
    ]
    frame = pd.DataFrame(records, columns=PROGRESS_COLUMNS)
    frame["year"] = pd.array([r[0] for r in rows], dtype=year_dtype)
    return frame


@pytest.mark.parametrize("year_dtype", ["int64", "Int64"])
def test_by_year_equals_itertuples_and_the_hand_dicts(year_dtype: str) -> None:
    table = _table(year_dtype)
    metro = SimpleNamespace(
        config=SimpleNamespace(targets=[]), bases=["key_sites"], first_year=2024
    )
    record = progress_record(metro, table)  # type: ignore[arg-type]
    judged = table[table["judged"].astype(bool)]
    old_status = {str(int(r.year)): r.status for r in judged.itertuples()}
    old_share = {str(int(r.year)): round(float(r.share), 6) for r in judged.itertuples()}
    assert json.dumps(record["status_by_year"]) == json.dumps(old_status)
    assert json.dumps(record["share_by_year"]) == json.dumps(old_share)
    assert record["status_by_year"] == {"2024": "behind", "2025": "on track", "2026": "behind"}
    shares = record["share_by_year"]
    assert list(shares) == ["2024", "2025", "2026"]
    assert (
        shares["2024"] == round(0.1234565, 6) and shares["2025"] == 0.7 and shares["2026"] == 0.75
    )
    assert all(isinstance(v, float) and not math.isnan(v) for v in shares.values())
    assert record["years"] == [2024, 2025, 2026, 2027]
