"""The key-site popups' fields: each value escaped as ``escape_text`` escapes it alone.

The reference is ``escape_text`` called on every value, on repeated, injected, missing and
numeric values (``0.0`` and ``-0.0`` stay apart).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from latcircle.present.map.points import _key_site_fields
from latcircle.present.style import escape_text


def test_fields_are_each_value_escaped() -> None:
    evil = "<script>{{ x }}</script> & `$`"
    sites = pd.DataFrame(
        {
            "name": ["a", "b", evil, None, "a"],
            "category": ["mall", "mall", evil, np.nan, "mall"],
            "district": [evil, evil, "Wuchang", None, 0.0],
            "latency_us": [500.0, np.nan, 1000.0, 1500.0, 0.0],
            "serving_site": ["S1", "S1", None, evil, -0.0],
            "drop_m": [12.4, np.nan, 1000.0, 0.0, 3.5],
        }
    )
    got = _key_site_fields(sites)
    for row, (_, s) in zip(got, sites.iterrows(), strict=True):
        assert row[0] == escape_text(s["name"])
        assert row[1] == escape_text(s["category"])
        assert row[2] == escape_text(s["district"])
        assert row[4] == (escape_text(s["serving_site"]) or "—")
    assert got[4][2] == "0.0" and got[4][4] == "-0.0"
    assert got[1][1] == "mall" and "<" not in got[2][1]
    assert [r[3] for r in got] == ["0.500 ms", "—", "1.000 ms", "1.500 ms", "0.000 ms"]
    assert [r[5] for r in got] == ["12 m", "—", "1,000 m", "0 m", "4 m"]


def test_missing_columns_read_as_none() -> None:
    got = _key_site_fields(pd.DataFrame({"name": ["x"]}))
    assert got == [["x", "", "", "—", "—", "—"]]
