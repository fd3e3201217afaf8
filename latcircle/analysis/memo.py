"""What the runs of one prepared metro share whatever their year, computed once for them all.

A run solves and summarises more than its own year: the progress years (for the sensitivity
curves and the progress table), every year of the map's slider and the what-if sets of each.
None of that depends on the run year. A caller running several years of one metro (a script
over years, ``tests/test_years.py``) passes one :class:`YearsMemo` to every run
(``RunOptions(memo=...)``): the first run that needs a part computes it, the later runs take
it as it is. Without a memo (``latcircle run``, one year) nothing is kept.

Each part is keyed by what it is a function of, beyond the metro: a set of online sites on
one network (:meth:`YearsMemo.key`), and for the what-if parts the builds. The metro itself
is checked (:meth:`YearsMemo.bind`): a memo serves the runs of one prepared metro and one
config, its year aside; any other raises ``ValueError``. A part taken from the memo is the
very object a run computed, with its year relabelled: the same values, so the same bytes in
every output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import numpy as np

from latcircle.analysis.metro import Metro, Scenario

__all__ = ["YearsMemo"]

T = TypeVar("T")

#: The metro's fields a memo's parts depend on besides its config: compared by identity
#: (a prepared metro's, as ``run_city(metro=...)`` keeps them from run to run).
_BOUND = ("params", "inputs", "network", "locator", "attachment", "arcs", "grid", "samples")


class YearsMemo:
    """What the runs of one prepared metro share, whatever their year (see the module doc).

    Parts, each filled once by the first run that needs it:

    - ``scenarios``: a solved progress year
      (:func:`latcircle.analysis.sensitivity.target_scenarios`);
    - ``criticals``: a scenario's critical values on one basis
      (:func:`latcircle.analysis.sensitivity.sensitivity`);
    - ``shares``: the uncertainty's draws' shares of one set of critical values
      (:func:`latcircle.analysis.uncertainty.uncertainty`);
    - ``states``: a year of the map's slider
      (:func:`latcircle.analysis.workbench.year_states`);
    - ``groups``: a slider year's what-if demand groups for a set of builds
      (:func:`latcircle.analysis.workbench.whatif_sets`);
    - ``ranked``: the candidates ranked for a slider
      (:func:`latcircle.analysis.workbench.rank_candidates`).

    It holds what it keeps for as long as the caller holds it (a progress year's scenario
    and critical values, a slider year's polygons): the price of not computing them again.
    """

    def __init__(self) -> None:
        self._bound: tuple[Any, ...] | None = None
        self._config: Any = None
        self._parts: dict[str, dict[Hashable, Any]] = {}
        self.hits = 0  # parts taken from the memo (for tests and logs)

    def bind(self, metro: Metro) -> None:
        """Serve ``metro`` (the first call), or check that it is the metro served.

        Raises
        ------
        ValueError
            When ``metro`` is not the prepared metro (its year aside) this memo serves:
            another preparation, other sites added, or another config but for its year.
        """
        bound = tuple(getattr(metro, name) for name in _BOUND)
        config = metro.config.model_copy(update={"year": None})
        if self._bound is None:
            self._bound, self._config = bound, config
            return
        same = all(a is b for a, b in zip(bound, self._bound, strict=True))
        if not same or config != self._config:
            msg = (
                "a YearsMemo serves the runs of one prepared metro and one config (its year "
                "aside); pass the same metro to every run, or a new memo"
            )
            raise ValueError(msg)

    @staticmethod
    def key(metro: Metro, year: int | None) -> tuple[bytes, float | None]:
        """Return what the parts of ``year`` depend on: its online sites and its network."""
        online = np.packbits(metro.online(year)).tobytes()
        return online, metro.view_key(year)

    def count(self, part: str) -> int:
        """Return how many entries of ``part`` are kept (e.g. distinct slider years)."""
        return len(self._parts.get(part, {}))

    def get(self, part: str, key: Hashable) -> Any | None:
        """Return the part kept under ``key``, ``None`` when none is."""
        found = self._parts.get(part, {}).get(key)
        if found is not None:
            self.hits += 1
        return found

    def put(self, part: str, key: Hashable, value: T) -> T:
        """Keep ``value`` under ``key`` (the first kept stays) and return what is kept."""
        return self._parts.setdefault(part, {}).setdefault(key, value)

    def once(self, part: str, key: Hashable, make: Callable[[], T]) -> T:
        """Return the part kept under ``key``, made by ``make`` and kept when there is none."""
        found = self.get(part, key)
        if found is not None:
            return found
        return self.put(part, key, make())

    def scenarios(
        self, metro: Metro, years: Sequence[int | None], *, narrow_sites: bool = False
    ) -> list[Scenario]:
        """Return each year's scenario: kept ones relabelled, the others solved and kept.

        Those not kept are solved together (:meth:`~latcircle.analysis.metro.Metro.scenarios`,
        with ``narrow_sites``); part ``scenarios``.
        """
        keys = [self.key(metro, y) for y in years]
        kept = [self.get("scenarios", k) for k in keys]
        todo = [y for y, sc in zip(years, kept, strict=True) if sc is None]
        solved = iter(metro.scenarios(todo, narrow_sites=narrow_sites))
        return [
            dataclasses.replace(sc, year=year)
            if sc is not None
            else self.put("scenarios", key, next(solved))
            for year, key, sc in zip(years, keys, kept, strict=True)
        ]
