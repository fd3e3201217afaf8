"""Inject the classic mistakes into a copy of latcircle, one at a time; every one must be caught.

``make mutate`` runs this. For each mutant the package is copied to a temporary folder, one
edit is applied (an exact piece of source text replaced), and the fast tests named for that
mutant run against the copy (``PYTHONPATH`` pointing at it). A mutant is **killed** when those
tests fail, **survived** when they pass. The script exits 1 when any mutant survives, or when
a mutant no longer applies (its source text moved: update :data:`MUTANTS`).

The mutants are the mistakes a reviewer looks for (issue 12):

* ``<=`` → ``<`` in the one covered rule (``analysis.coverage.covered``) and in any copy of it
  written later (found by pattern), and at the max drop and the curve's sorted search;
* every caller of the covered rule swapping it for its own strict comparison (found by
  pattern: ``covered(x, budget_ms=b)`` → ``(np.asarray(x) < b * 1000.0)``), so that each place
  that counts what is covered is checked by a test of its own, as when each had its own copy;
* a dropped route factor, a dropped device latency (site and node), a dropped equipment
  latency;
* ``<=`` → ``<`` at a site's online year, ``>=`` → ``>`` at a link's (scenario years);
* a wrong district index (off by one);
* a swapped site id;
* a wrong basis;
* in the newer analyses: sensitivity's critical values (a dropped device latency or route
  factor, a strict share at ``r*``), uncertainty's quantiles and draws (the quantile taken on
  the wrong side, a strict budget, a strict ``P(X ≤ x)``, a dropped site offset), protection's
  N−1 share and sole coverage, calibration's path and constant, the planner's margins.

Usage::

    python scripts/mutate.py            # run every mutant (a few minutes)
    python scripts/mutate.py --list     # check that every mutant applies; run nothing
    python scripts/mutate.py -k budget  # only mutants whose name contains "budget"
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "latcircle"

#: Test sets, fast (seconds each): the boundary and value tests built to kill these mutants.
EXACT = ("tests/test_boundaries.py", "tests/test_values.py")
MAPS = ("tests/test_boundaries.py::test_map_heat_counts_the_people_beyond_the_budget",)
INTERCONNECT = (
    "tests/test_values.py",
    "tests/test_rules.py",
    "tests/test_progress.py::test_interconnect_matches_brute_force",
    "tests/test_progress.py::test_interconnect_with_node_device_latency",
)
LATENCY = ("tests/test_latency_exact.py",)
#: Scenario years: sites and links online in their own year.
YEARS = (
    "tests/test_pipeline.py::test_scenario_year_leaves_later_sites_out",
    "tests/test_pipeline.py::test_links_with_an_online_year",
    "tests/test_progress.py",
)

#: The newer analyses, each checked against hand formulas or reruns (independent values).
SENSITIVITY = (
    "tests/test_sensitivity.py::test_handbuilt_r_star_is_the_hand_formula",
    "tests/test_sensitivity.py::test_handbuilt_curve_equals_reruns_exactly",
    "tests/test_sensitivity.py::test_handbuilt_critical_value_is_where_the_target_is_lost",
)
UNCERTAINTY = (
    "tests/test_uncertainty.py::test_monte_carlo_equals_brute_force",
    "tests/test_uncertainty.py::test_exact_one_parameter_route_factor",
    "tests/test_uncertainty.py::test_exact_one_parameter_table_of_values",
    "tests/test_uncertainty.py::test_exact_one_parameter_site_offset",
    "tests/test_uncertainty.py::test_monte_carlo_draws_on_the_run_values_count_the_samples_on_the_budget",
    "tests/test_uncertainty.py::test_cdf_of_a_table_counts_the_atom_itself",
)
PROTECTION = (
    "tests/test_protection.py::test_site_failure_equals_reruns_without_each_site",
    "tests/test_protection.py::test_one_site_means_everything_rests_on_it",
)
CALIBRATION = (
    "tests/test_calibration.py::test_paths_match_hand_lengths",
    "tests/test_calibration.py::test_path_and_site_device_columns_are_the_hand_sums",
    "tests/test_calibration.py::test_recovers_known_parameters_with_outliers",
    "tests/test_calibration.py::test_engine_exact_against_the_latency_field",
)
MARGINS = (
    "tests/test_plan_margins.py::test_boundary_values_are_accepted",
    "tests/test_plan_margins.py::test_margin_raises_each_goal_and_refuses_over_100",
    "tests/test_plan_margins.py::test_pessimistic_parameters_are_the_hand_computed_quantiles",
)


@dataclass(frozen=True, slots=True)
class Mutant:
    """One injected mistake.

    Attributes
    ----------
    name
        Short unique name.
    path
        Source file, relative to the repository root.
    old, new
        The exact source text and its replacement.
    tests
        Pytest node ids (relative to the repository root) that must fail.
    occurrence
        Which occurrence of ``old`` in the file to replace (0: the first).
    """

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    occurrence: int = 0


#: Budget comparisons: ``<= <something in ms> * 1000.0`` (µs). Found by pattern in every module.
BUDGET_RULE = re.compile(r"<=(\s*[\w.\[\]\"']+\s*\*\s*1000\.0)")

#: A call of the covered rule with a plain latency and budget expression (not its definition,
#: whose argument carries a type annotation).
CALLER_RULE = re.compile(r"(?<![\w.])covered\(([\w.\[\]\"']+), budget_ms=([\w.]+)\)")

#: Mutants written out by hand (the budget ones are added by :func:`budget_mutants`).
MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "met rule: a share exactly at the target misses it",
        "latcircle/analysis/progress.py",
        "np.asarray(share, dtype=float) >= np.asarray(target, dtype=float) - MET_TOLERANCE",
        "np.asarray(share, dtype=float) > np.asarray(target, dtype=float)",
        ("tests/test_progress.py",),
    ),
    Mutant(
        "locator: a build block's pieces taken from the first block's segments",
        "latcircle/engine/locator.py",
        "edge += first_edge",
        "edge += 0",
        LATENCY,
    ),
    Mutant(
        "max-drop <= to <",
        "latcircle/engine/locator.py",
        "(dist <= max_drop_m)",
        "(dist < max_drop_m)",
        EXACT,
    ),
    Mutant(
        "curve counts ties out (searchsorted side)",
        "latcircle/present/figures.py",
        'np.searchsorted(edges, latency, side="left")',
        'np.searchsorted(edges, latency, side="right")',
        EXACT,
    ),
    Mutant(
        "curve leaves out the latencies exactly at the largest budget (<= to <)",
        "latcircle/present/figures.py",
        "within = latency <= edges[-1]",
        "within = latency < edges[-1]",
        ("tests/test_slider_shortcuts.py::test_share_curve_leaves_out_only_what_no_budget_counts",),
    ),
    Mutant(
        "site online year <= to < (a site counts from the year after)",
        "latcircle/analysis/metro.py",
        "(years.isna() | (years <= year))",
        "(years.isna() | (years < year))",
        YEARS,
    ),
    Mutant(
        "link online year >= to > (a link counts in the year before)",
        "latcircle/analysis/metro.py",
        "metro.network.subset(~(years >= key))",
        "metro.network.subset(~(years > key))",
        YEARS,
    ),
    Mutant(
        "route factor dropped (k·r)",
        "latcircle/config/model.py",
        "return self.k_us_per_m * self.route_factor",
        "return self.k_us_per_m",
        EXACT,
    ),
    Mutant(
        "route factor dropped in the interconnect",
        "latcircle/analysis/interconnect.py",
        "us_per_m=metro.params.us_per_m,",
        "us_per_m=metro.params.k_us_per_m,",
        INTERCONNECT,
    ),
    Mutant(
        "site device latency dropped",
        "latcircle/engine/latency.py",
        "offset = np.asarray(device_us, float) + params.us_per_m",
        "offset = 0.0 * np.asarray(device_us, float) + params.us_per_m",
        EXACT,
    ),
    Mutant(
        "node device latency dropped from the arcs",
        "latcircle/engine/latency.py",
        "weight += network.node_device_us[head]",
        "weight += 0.0",
        LATENCY,
    ),
    Mutant(
        "node device latency dropped from the interconnect",
        "latcircle/analysis/interconnect.py",
        "leave = off[:, None] + along + network.node_device_us[ends]",
        "leave = off[:, None] + along",
        INTERCONNECT,
    ),
    Mutant(
        "equipment latency dropped",
        "latcircle/engine/latency.py",
        "latency = np.add(best, params.fixed_us, out=best if in_place else None)",
        "latency = np.add(best, 0.0, out=best if in_place else None)",
        EXACT,
    ),
    Mutant(
        "equipment latency dropped from the interconnect",
        "latcircle/analysis/interconnect.py",
        "return fixed_us + best",
        "return best",
        EXACT,
    ),
    Mutant(
        "district index off by one (coverage rows)",
        "latcircle/analysis/coverage.py",
        "else np.flatnonzero(s.district == index)",
        "else np.flatnonzero(s.district == index + 1)",
        EXACT,
    ),
    Mutant(
        "district index off by one (grid raster)",
        "latcircle/engine/grid.py",
        "shapes = [(g, i) for i, g in",
        "shapes = [(g, i + 1) for i, g in",
        EXACT,
    ),
    Mutant(
        "district index off by one (points)",
        "latcircle/engine/grid.py",
        "label[cand[hit]] = i",
        "label[cand[hit]] = i + 1",
        EXACT,
    ),
    Mutant(
        "serving site swapped",
        "latcircle/engine/latency.py",
        "site_of_root[src_node] = src_site",
        "site_of_root[src_node] = src_site[::-1]",
        EXACT,
    ),
    Mutant(
        "site ids swapped in the service areas",
        "latcircle/analysis/layers.py",
        'site_ids=list(sites["site_id"]),',
        'site_ids=list(sites["site_id"])[::-1],',
        EXACT,
    ),
    Mutant(
        "site ids swapped in the site service",
        "latcircle/analysis/coverage.py",
        "served = np.bincount(ev.site[ok],",
        "served = np.bincount(n_sites - 1 - ev.site[ok],",
        EXACT,
    ),
    Mutant(
        "site id swapped in the interconnect",
        "latcircle/analysis/interconnect.py",
        '"site_b": sites["site_id"].to_numpy()[ib],',
        '"site_b": sites["site_id"].to_numpy()[ia],',
        EXACT,
    ),
    Mutant(
        "wrong basis: auto judges population first",
        "latcircle/analysis/progress.py",
        '_AUTO_ORDER = ("key_sites", "population", "area")',
        '_AUTO_ORDER = ("population", "key_sites", "area")',
        EXACT,
    ),
    Mutant(
        "wrong basis: the gap rounds km² and not people",
        "latcircle/analysis/progress.py",
        'if basis == "area":\n        return shortfall',
        'if basis == "population":\n        return shortfall',
        EXACT,
    ),
    Mutant(
        "wrong basis: the headline reads the area",
        "latcircle/pipeline/city.py",
        "headline = {b: scenario.share(b, threshold_ms=cfg.budget_ms)",
        'headline = {b: scenario.share("area", threshold_ms=cfg.budget_ms)',
        EXACT,
    ),
    Mutant(
        "sensitivity: r* without the site's device latency (B − E, not B − E − S)",
        "latcircle/analysis/sensitivity.py",
        "num = room - params.equipment_us - group_us",
        "num = room - params.equipment_us + 0.0 * group_us",
        SENSITIVITY,
    ),
    Mutant(
        "sensitivity: E* with the route factor dropped (k·ℓ, not k·r·ℓ)",
        "latcircle/analysis/sensitivity.py",
        "group_us[None, :] + k * params.route_factor * sub",
        "group_us[None, :] + k * sub",
        SENSITIVITY,
    ),
    Mutant(
        "sensitivity: share at r counts r* > r only (a sample exactly at r* lost)",
        "latcircle/analysis/sensitivity.py",
        'return self._share(parameter, value, side="left")',
        'return self._share(parameter, value, side="right")',
        SENSITIVITY,
    ),
    Mutant(
        "sensitivity: float64 suffix sums without the whole-multiple check (may round)",
        "latcircle/analysis/stepsort.py",
        "if not np.array_equal(np.trunc(scaled), scaled):",
        "if False and not np.array_equal(np.trunc(scaled), scaled):",
        ("tests/test_sorted_criticals.py",),
    ),
    Mutant(
        "sensitivity: critical values from the latencies sorted upward (r* falls)",
        "latcircle/analysis/sensitivity.py",
        "desc, suffix = np.sort(lat)[::-1], None",
        "desc, suffix = np.sort(lat), None",
        ("tests/test_sorted_criticals.py",),
    ),
    Mutant(
        "uncertainty: the P-quantile of the share at the P-quantile of r (not 1 − P)",
        "latcircle/analysis/uncertainty.py",
        "x = dist.ppf(1.0 - np.asarray(QUANTILES)) + offset",
        "x = dist.ppf(np.asarray(QUANTILES)) + offset",
        UNCERTAINTY,
    ),
    Mutant(
        "uncertainty: a draw's share counts latency < budget (strict)",
        "latcircle/analysis/uncertainty.py",
        "ok = active & ((s + kr * at) + c <= room)",
        "ok = active & ((s + kr * at) + c < room)",
        (*UNCERTAINTY, "tests/test_mc_lengths.py"),
    ),
    Mutant(
        "uncertainty: P(X ≤ x) of a table counts X < x (p_meet at an atom)",
        "latcircle/analysis/uncertainty.py",
        "return float(w[v <= x].sum() / w.sum())",
        "return float(w[v < x].sum() / w.sum())",
        UNCERTAINTY,
    ),
    Mutant(
        "uncertainty: the site offset dropped from the drawn fixed latency",
        "latcircle/analysis/uncertainty.py",
        'c = drawn["equipment_us"] + drawn["site_us"]',
        'c = drawn["equipment_us"] + 0.0 * drawn["site_us"]',
        UNCERTAINTY,
    ),
    Mutant(
        "protection: N−1 share loses every site's sole coverage, not the failed one's",
        "latcircle/analysis/protection.py",
        "float(w_cov[~(alone_cov & (best_cov == s))].sum())",
        "float(w_cov[~alone_cov].sum())",
        PROTECTION,
    ),
    Mutant(
        "protection: sole coverage lost counted with the serving site off by one",
        "latcircle/analysis/protection.py",
        "lost = np.bincount(best[alone], weights=w[alone], minlength=n)[:n]",
        "lost = np.bincount(best[alone] + 1, weights=w[alone], minlength=n + 1)[:n]",
        PROTECTION,
    ),
    Mutant(
        "calibration: one end's drop left out of the path length",
        "latcircle/analysis/calibration.py",
        "paths.length_m + drop_a + drop_b",
        "paths.length_m + drop_a",
        CALIBRATION,
    ),
    Mutant(
        "calibration: one end's site device latency left out of the constant",
        "latcircle/analysis/calibration.py",
        "constant = site_us[a] + site_us[b] + paths.device_us",
        "constant = site_us[a] + paths.device_us",
        CALIBRATION,
    ),
    Mutant(
        "plan margins: a target plus margin of exactly 100 % refused",
        "latcircle/analysis/plan/margins.py",
        "if share > 1.0:",
        "if share >= 1.0:",
        MARGINS,
    ),
    Mutant(
        "plan margins: a route factor of exactly 1 refused",
        "latcircle/analysis/plan/margins.py",
        "math.isfinite(at_route_factor) and at_route_factor >= 1.0",
        "math.isfinite(at_route_factor) and at_route_factor > 1.0",
        MARGINS,
    ),
    Mutant(
        "plan margins: the pessimistic site offset dropped",
        "latcircle/analysis/plan/margins.py",
        "equipment_us=e + d, how=how",
        "equipment_us=e, how=how",
        MARGINS,
    ),
)

#: Where a budget rule lives in a module that only the map or interconnect tests reach.
_TESTS_BY_MODULE = {
    "latcircle/present/maps.py": MAPS,
    "latcircle/present/map/heat.py": MAPS,
    "latcircle/analysis/workbench.py": (
        "tests/test_boundaries.py::test_map_slider_counts_the_samples_on_the_budget",
        "tests/test_boundaries.py::test_map_slider_takes_the_run_bands_with_cells_on_the_budget",
        "tests/test_boundaries.py::test_whatif_groups_leave_the_samples_on_the_budget_out",
        "tests/test_boundaries.py::test_candidate_ranking_leaves_the_samples_on_the_budget_out",
        "tests/test_boundaries.py::test_map_slider_band_masks_are_the_hand_covered_cells",
        "tests/test_map_workbench.py",
    ),
    "latcircle/analysis/interconnect.py": INTERCONNECT,
    "latcircle/analysis/sensitivity.py": (
        *SENSITIVITY,
        "tests/test_sensitivity.py::test_node_device_latency_curve_is_resolved_on_the_grid",
        "tests/test_sensitivity.py::test_node_device_latency_monte_carlo_rounds_r_up_to_the_grid",
        "tests/test_sensitivity.py::test_node_device_latency_samples_on_the_budget_keep_their_e_star",
        "tests/test_compute_reuse.py",
        "tests/test_sorted_criticals.py",
    ),
    "latcircle/analysis/tiers.py": ("tests/test_tiers.py",),
    "latcircle/analysis/city_tiers.py": ("tests/test_city_tiers.py",),
    "latcircle/analysis/plan/sitesets.py": (
        "tests/test_plan_groups.py::test_shortcut_is_exact_on_the_budget",
    ),
    "latcircle/analysis/plan/verify.py": (
        "tests/test_plan.py::test_verification_counts_a_key_site_exactly_on_the_budget",
        "tests/test_boundaries.py::test_an_access_spur_counts_a_point_exactly_at_the_budget",
    ),
}


def budget_mutants(root: Path = ROOT) -> list[Mutant]:
    """One ``<=`` → ``<`` mutant per budget comparison found in the package."""
    out = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        for match in BUDGET_RULE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            out.append(
                Mutant(
                    name=f"budget <= to < at {rel}:{line}",
                    path=rel,
                    old=match.group(0),
                    new="<" + match.group(1),
                    tests=_TESTS_BY_MODULE.get(rel, EXACT),
                    occurrence=_occurrence(text, match.group(0), match.start()),
                )
            )
    return out


def caller_mutants(root: Path = ROOT) -> list[Mutant]:
    """One mutant per call of the covered rule: the call replaced by a strict ``<`` of its own."""
    out = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        for match in CALLER_RULE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            latency, budget = match.groups()
            out.append(
                Mutant(
                    name=f"covered rule copied with < at {rel}:{line}",
                    path=rel,
                    old=match.group(0),
                    new=f"(np.asarray({latency}) < {budget} * 1000.0)",
                    tests=_TESTS_BY_MODULE.get(rel, EXACT),
                    occurrence=_occurrence(text, match.group(0), match.start()),
                )
            )
    return out


def _occurrence(text: str, needle: str, start: int) -> int:
    """Index of the occurrence of ``needle`` that begins at ``start``."""
    count, pos = 0, text.find(needle)
    while pos != start:
        count, pos = count + 1, text.find(needle, pos + 1)
    return count


def all_mutants(root: Path = ROOT) -> list[Mutant]:
    """Return the budget and caller mutants found in the source, then the hand-written ones."""
    return [*budget_mutants(root), *caller_mutants(root), *MUTANTS]


def apply(mutant: Mutant, root: Path) -> None:
    """Apply a mutant to the copy of the repository at ``root`` (in place).

    Raises
    ------
    LookupError
        When the mutant's source text is not (or no longer) in its file.
    """
    path = root / mutant.path
    text = path.read_text(encoding="utf-8")
    pos = -1
    for _ in range(mutant.occurrence + 1):
        pos = text.find(mutant.old, pos + 1)
        if pos < 0:
            msg = f"{mutant.name}: {mutant.path} no longer contains {mutant.old!r}"
            raise LookupError(msg)
    path.write_text(text[:pos] + mutant.new + text[pos + len(mutant.old) :], encoding="utf-8")


def _copy_package(dest: Path) -> None:
    shutil.copytree(ROOT / PACKAGE, dest / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))


def run_tests(
    package_root: Path, tests: tuple[str, ...], *, timeout_s: float
) -> tuple[int, list[str]]:
    """Run ``tests`` against the package under ``package_root``.

    Returns
    -------
    code, failed
        Pytest's exit code and the node ids of the failed tests (the killers).
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package_root), str(ROOT / "tests")])}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # -P: the working directory (the real package) must not shadow the copy on sys.path.
    cmd = [sys.executable, "-P", "-m", "pytest", "-x", "-q", "-rf", "-p", "no:cacheprovider"]
    cmd += ["--rootdir", str(ROOT), *(str(ROOT / t) for t in tests)]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    failed = re.findall(r"^FAILED (\S+)", proc.stdout, flags=re.MULTILINE)
    return proc.returncode, [f.split("/")[-1] for f in failed]


def _imported_from(package_root: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    code = f"import {PACKAGE}; print({PACKAGE}.__file__)"
    out = subprocess.run(
        [sys.executable, "-P", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    return out.stdout.strip()


def check(mutants: list[Mutant]) -> list[str]:
    """Apply every mutant to a scratch copy; return the problems (empty: all apply)."""
    problems = []
    names = [m.name for m in mutants]
    problems += [
        f"duplicate mutant name: {n}" for n in sorted({n for n in names if names.count(n) > 1})
    ]
    with tempfile.TemporaryDirectory(prefix="mutate-check-") as tmp:
        for m in mutants:
            scratch = Path(tmp) / "copy"
            shutil.rmtree(scratch, ignore_errors=True)
            (scratch / Path(m.path).parent).mkdir(parents=True)
            shutil.copy(ROOT / m.path, scratch / m.path)
            try:
                apply(m, scratch)
            except LookupError as exc:
                problems.append(str(exc))
            problems += [
                f"{m.name}: no test file {t}"
                for t in m.tests
                if not (ROOT / t.split("::")[0]).exists()
            ]
    return problems


def main(argv: list[str] | None = None) -> int:
    """Run the mutation check; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="check that every mutant applies")
    parser.add_argument("-k", default="", help="only mutants whose name contains this")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    parser.add_argument(
        "--baseline-timeout",
        type=float,
        default=1800.0,
        help="seconds for the unmutated run of every test named (all of them at once)",
    )
    args = parser.parse_args(argv)
    mutants = [m for m in all_mutants() if args.k in m.name]
    problems = check(mutants)
    for p in problems:
        print(f"STALE  {p}")
    if args.list:
        for m in mutants:
            print(f"{m.name:<62} {' '.join(m.tests)}")
        print(f"{len(mutants)} mutants, {len(problems)} problem(s)")
        return 1 if problems else 0
    if problems:
        return 1
    return _run_all(mutants, timeout_s=args.timeout, baseline_timeout_s=args.baseline_timeout)


def _run_all(mutants: list[Mutant], *, timeout_s: float, baseline_timeout_s: float) -> int:
    survived = []
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        copy = Path(tmp)
        _copy_package(copy)
        where = _imported_from(copy)
        if not where.startswith(str(copy)):
            print(f"the copy is not what the tests import ({where}): check PYTHONPATH")
            return 1
        t0 = time.perf_counter()
        every = tuple(sorted({t for m in mutants for t in m.tests}))
        try:
            baseline, _ = run_tests(copy, every, timeout_s=baseline_timeout_s)
        except subprocess.TimeoutExpired:
            print(f"the unmutated tests took over {baseline_timeout_s:g} s: see --baseline-timeout")
            return 1
        seconds = time.perf_counter() - t0
        print(f"baseline: unmutated tests exit {baseline} in {seconds:.0f} s", flush=True)
        if baseline != 0:
            print("the tests fail on the unmutated package: fix them first")
            return 1
        for m in mutants:
            shutil.rmtree(copy / PACKAGE)
            _copy_package(copy)
            apply(m, copy)
            t0 = time.perf_counter()
            try:
                code, killers = run_tests(copy, m.tests, timeout_s=timeout_s)
            except subprocess.TimeoutExpired:
                code, killers = -1, []
            # pytest exits 1 when tests fail; anything else (collection error, timeout) is
            # not a kill by a test, and counts as a survivor to look at.
            verdict = {1: "killed", 0: "SURVIVED"}.get(code, f"ERROR({code})")
            if code != 1:
                survived.append(m.name)
            seconds = time.perf_counter() - t0
            by = ", ".join(killers) or "-"
            print(f"{verdict:<9} {m.name:<58} {seconds:5.1f} s  by {by}", flush=True)
    print(f"{len(mutants) - len(survived)} of {len(mutants)} mutants killed")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
