"""Evaluating many fields at the same points with their site-independent terms gathered once.

:func:`latcircle.engine.latency.access_terms` is what :func:`~latcircle.engine.persite.
evaluate_fields` shares between fields. Passed to a field of the same network and parameters
it must give that field's latency, checked against the brute-force networkx reference of
test_latency_exact (each site alone); terms of other parameters must be ignored, not used
(they would be wrong latencies), checked the same way.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from test_latency_exact import TOL_US, Case, random_case, reference
from test_persite import _engine, _net_params

from latcircle.engine.latency import access_terms, solve


def _assert_reference(got: np.ndarray, case: Case) -> None:
    want = np.array([e.latency for e in reference(case)])
    both_inf = np.isinf(want) & np.isinf(got)
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf
        close = np.abs(got - want) <= TOL_US
    assert np.all(both_inf | close)


@settings(max_examples=25, deadline=None)
@given(random_case())
def test_shared_terms_give_each_site_its_reference_latency(case: Case) -> None:
    _, loc, att = _engine(case)
    net, params = _net_params(case)
    terms = access_terms(net, params, loc)
    n_sites = len(case.site_xy)
    for s in range(n_sites):
        field = solve(net, att, params, online=np.arange(n_sites) == s)
        alone = dataclasses.replace(
            case, site_xy=case.site_xy[s : s + 1], site_us=case.site_us[s : s + 1]
        )
        _assert_reference(field.at(loc, terms=terms)[0], alone)


@settings(max_examples=15, deadline=None)
@given(random_case())
def test_terms_of_other_parameters_are_not_used(case: Case) -> None:
    _, loc, att = _engine(case)
    net, params = _net_params(case)
    wrong = access_terms(net, dataclasses.replace(params, k_us_per_m=3 * params.k_us_per_m), loc)
    _assert_reference(solve(net, att, params).at(loc, terms=wrong)[0], case)
