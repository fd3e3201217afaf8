"""The city report (``report.html``) and the national dashboard (``national/index.html``).

Both pages are self-contained: styles inline, figures embedded as PNG data URIs, no script
and nothing fetched, so they open offline, attach to an e-mail and print as they look.
Every string taken from data or config is HTML-escaped
(:func:`latcircle.present.style.escape_text`).

The city report shows the headline shares, the progress status against the targets (when
the run computed progress), the figures, a per-district table, the largest uncovered
clusters and every model parameter used. :func:`write_report` is the pipeline's output step;
:func:`write_dashboard` runs after :func:`latcircle.pipeline.national_rollup`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from latcircle import __version__
from latcircle.analysis.coverage import BASES, CAUSES
from latcircle.analysis.progress import resolve_basis
from latcircle.config import DEFAULT_TARGETS, Target
from latcircle.errors import InputError
from latcircle.output.files import as_written, atomic_file, read_csv
from latcircle.output.readback import (
    CITY_TABLES,
    find_city_dirs,
    read_city_outputs,
    read_cluster_counts,
    read_layers,
    read_optional_table,
)
from latcircle.present.figures import city_figures, national_chart, png_bytes
from latcircle.present.protection import protection_section
from latcircle.present.robust import robust_section
from latcircle.present.style import (
    BASIS_LABELS,
    PROGRESS_COLOURS,
    STATUS_LABELS,
    UNIT_WORDS,
    data_attribution,
    escape_text,
    percent,
)

if TYPE_CHECKING:
    from latcircle.analysis.national import CityOutputs
    from latcircle.run import RunResult

__all__ = [
    "city_links",
    "markdown_html",
    "render_dashboard",
    "render_report",
    "write_dashboard",
    "write_report",
]

#: Uncovered clusters listed per cause.
TOP_CLUSTERS = 10

_CAUSE_LABELS = {c: STATUS_LABELS[c] for c in CAUSES}


def write_report(
    result: RunResult,
    folder: str | Path,
    *,
    progress: pd.DataFrame | None = None,
    clusters: pd.DataFrame | None = None,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> Path:
    """Write ``report.html`` into ``folder`` (the pipeline's output step).

    Parameters
    ----------
    result
        The run.
    folder
        The (temporary) output folder.
    progress
        The progress table (:func:`latcircle.analysis.progress.progress_table`); read from
        ``folder/progress.csv`` when ``None`` and present (``write_progress`` ran first).
    clusters
        The uncovered clusters (:func:`latcircle.analysis.clusters.uncovered_clusters`); read from
        ``folder/clusters.csv`` when ``None`` and present.
    layers
        The GeoPackage layers for the band map; read from ``folder`` when ``None``.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    folder = Path(folder)
    kept = result.shortfall  # the run's progress and clusters in memory: nothing read back
    if kept is not None:
        # As progress.csv and clusters.csv hold them (the same figures as read back).
        progress = as_written(kept.table) if progress is None else progress
        table = pd.DataFrame(kept.clusters.drop(columns="geometry"))
        clusters = as_written(table) if clusters is None else clusters
        layers = result.gpkg_layers() if layers is None else layers
    progress = progress if progress is not None else read_optional_table(folder / "progress.csv")
    clusters = clusters if clusters is not None else read_optional_table(folder / "clusters.csv")
    layers = layers if layers is not None else read_layers(folder)
    # Each figure is drawn once: the same PNG bytes go to figures/ and into the page.
    pngs = {
        name: png_bytes(fig)
        for name, fig in city_figures(result, folder, layers=layers, progress=progress).items()
    }
    (folder / "figures").mkdir(exist_ok=True)
    for name, data in pngs.items():
        (folder / "figures" / f"{name}.png").write_bytes(data)
    page = render_report(
        result,
        figures=pngs,
        progress=progress,
        clusters=clusters,
        sites=layers.get("sites"),
        tiers=read_optional_table(folder / "tiers.csv"),
        plan=_plan_html(folder),
        cluster_counts=read_cluster_counts(folder) if kept is None else kept.counts,
        has_map=(folder / "map.html").exists(),  # the map step runs first, when asked for
    )
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def render_report(
    result: RunResult,
    *,
    figures: Mapping[str, Figure | bytes],
    progress: pd.DataFrame | None = None,
    clusters: pd.DataFrame | None = None,
    sites: pd.DataFrame | None = None,
    tiers: pd.DataFrame | None = None,
    plan: str | None = None,
    cluster_counts: Mapping[str, Mapping[str, int]] | None = None,
    has_map: bool = True,
) -> str:
    """Return the city report as one HTML page.

    Parameters
    ----------
    result
        The run.
    figures
        Figures (or their PNG bytes) by name (``bands``, ``curve``, ``districts``,
        ``progress``), embedded.
    progress
        The progress table, or ``None`` (the report says progress was not computed).
    clusters
        The uncovered clusters, or ``None``.
    sites
        The run's ``sites`` layer (what each site serves), or ``None``.
    tiers
        The wider tiers (``tiers.csv``: application tier, LEO), or ``None`` (no section).
    plan
        The plan section (:func:`_plan_html`), or ``None`` without a plan.
    cluster_counts
        Clusters per cause and how many weigh nothing (``progress.json`` → ``clusters.counts``).
    has_map
        A ``map.html`` sits beside the page: link it (a batch run with a report but no map
        has none, and its report says so rather than link to nothing).

    Returns
    -------
    str
    """
    cfg = result.metro.config
    title = f"{cfg.name}: 1 ms latency circle"
    sections = [
        _report_header(result, has_map=has_map),
        _headline_section(result),
        _explanation_section(result),
        _progress_section(result, progress, figures.get("progress")),
        robust_section(result, figures),
        _figure_section("Where the circle reaches", figures, ("bands", "curve")),
        _district_section(result, figures.get("districts")),
        _site_section(result, sites),
        protection_section(result),
        _cluster_section(clusters, cluster_counts),
        *([] if tiers is None else [_tiers_section(tiers)]),
        *([plan] if plan else []),
        _parameter_section(result),
    ]
    return _page(title, sections)


def _plan_html(folder: Path) -> str | None:
    """Return the plan section from ``folder/plan/`` (``latcircle plan``), if there is one."""
    from latcircle.present.plan import plan_section

    plan_csv, record = folder / "plan" / "plan.csv", folder / "plan" / "plan.json"
    if not (plan_csv.exists() and record.exists()):
        return None
    html_ = plan_section(read_csv(plan_csv), json.loads(record.read_text(encoding="utf-8")))
    png = folder / "plan" / "curve.png"
    if png.exists():
        html_ = html_.replace(
            "</section>", _img(png.read_bytes(), "cost vs coverage") + "</section>"
        )
    return html_


# --- city report sections ----------------------------------------------------------------


def _report_header(result: RunResult, *, has_map: bool) -> str:
    cfg = result.metro.config
    year = result.scenario.year
    scenario = f"sites online by {year}" if year is not None else "every site in the sites file"
    local = f" <span class='local'>{escape_text(cfg.name_local)}</span>" if cfg.name_local else ""
    parts = [
        f"<h1>{escape_text(cfg.name)}{local}</h1>",
        f"<p class='sub'>Share of the metro inside the {cfg.budget_ms:g} ms latency circle "
        f"of its compute sites · scenario: {escape_text(scenario)} · latcircle "
        f"{escape_text(__version__)}</p>",
    ]
    warnings = []
    if cfg.synthetic:
        warnings.append(
            "<strong>Synthetic city</strong> — every input is generated; no real "
            "place, road, person or facility is depicted."
        )
    if cfg.sites.hypothetical:
        note = f" ({escape_text(cfg.sites.note.rstrip('. '))})" if cfg.sites.note else ""
        warnings.append(
            f"<strong>Hypothetical compute sites</strong> — a scenario, not known facilities{note}."
        )
    parts += [f"<p class='warning'>{w}</p>" for w in warnings]
    map_link = (
        "<a href='map.html'>map.html</a>"
        if has_map
        else "not written by this run (<code>latcircle run</code> without <code>--no-map</code>"
        " or <code>latcircle national --maps</code> writes <code>map.html</code>)"
    )
    parts.append(
        f"<p class='links'>Interactive map: {map_link} · tables: "
        "<a href='coverage.csv'>coverage.csv</a>, <a href='progress.csv'>progress.csv</a>"
        " · run record: <a href='run.json'>run.json</a></p>"
    )
    return "\n".join(parts)


def _headline_section(result: RunResult) -> str:
    cfg = result.metro.config
    cov = result.coverage
    rows = cov[(cov["scope"] == "metro") & np.isclose(cov["threshold_ms"], cfg.budget_ms)]
    cards = []
    for basis, share in result.headline.items():
        value = percent(share)
        cards.append(
            f"<div class='card'><div class='big'>{value}</div>"
            f"<div>{escape_text(BASIS_LABELS.get(basis, basis))}</div></div>"
        )
    table = _table(
        ["basis", "covered", "no access", "unreachable", "too far", "total", "share"],
        [
            [
                BASIS_LABELS.get(r.basis, r.basis),
                _amount(r.covered, r.unit),
                _amount(r.no_access, r.unit),
                _amount(getattr(r, "unreachable", np.nan), r.unit),
                _amount(r.too_far, r.unit),
                _amount(r.total, r.unit),
                percent(r.share),
            ]
            for r in rows.itertuples()
        ],
    )
    return (
        f"<h2>Within {cfg.budget_ms:g} ms</h2><div class='cards'>{''.join(cards)}</div>"
        + table
        + "<p class='note'>Not covered, by cause and remedy: <em>no access</em> means "
        "farther than the max drop from the network (build access); <em>unreachable</em> "
        "means on a piece of the network that no online site is attached to (connect the "
        "network, or build a site there); <em>too far</em> means reachable but over the "
        "budget (build compute nearer).</p>"
    )


def _explanation_section(result: RunResult) -> str:
    lines = list(getattr(result, "explanations", ()) or ())
    if not lines:
        return ""
    items = "".join(f"<li>{escape_text(line[:1].upper() + line[1:])}.</li>" for line in lines)
    return f"<h2>Why the figures are what they are</h2><ul class='why'>{items}</ul>"


def _progress_section(
    result: RunResult, progress: pd.DataFrame | None, chart: Figure | bytes | None
) -> str:
    cfg = result.metro.config
    bases = list(result.scenario.evaluations)
    targets = "".join(
        f"<li>{t.year}: {percent(t.share, digits=0)} within {t.threshold_ms:g} ms, judged on "
        f"{escape_text(BASIS_LABELS.get(resolve_basis(t, bases), t.basis)).lower()}"
        f" — {escape_text(t.source) or 'config'}</li>"
        for t in sorted(cfg.targets, key=lambda t: t.year)
    )
    head = f"<h2>Progress toward the targets</h2><ul>{targets}</ul>"
    if progress is None or progress.empty:
        return head + (
            "<p class='note'>Progress by year was not computed for this run "
            "(run with the progress step to add it).</p>"
        )
    judged = progress[_truthy(progress.get("judged", pd.Series(False, index=progress.index)))]
    rows = []
    for r in judged.sort_values("year").to_dict("records"):
        status = str(r.get("status", ""))
        colour = PROGRESS_COLOURS.get(status, "#888")
        unit = str(r.get("unit", ""))
        rows.append(
            [
                str(int(r["year"])),
                BASIS_LABELS.get(str(r["basis"]), str(r["basis"])),
                _int(r.get("sites_online")),
                percent(r.get("share")),
                _target(r),
                percent(r.get("planned_share")),
                _Raw(
                    f"<span class='status' style='background:{colour}'>{escape_text(status)}</span>"
                ),
                _amount(r.get("gap"), unit),
            ]
        )
    table = _table(
        [
            "year",
            "judged on",
            "sites online",
            "share",
            "target in force",
            "planned share",
            "status",
            "gap",
        ],
        rows,
    )
    latest = judged.sort_values("year").iloc[-1] if len(judged) else None
    summary = ""
    if latest is not None:
        summary = (
            f"<p class='lead'>By {int(latest['year'])}: "
            f"{percent(latest['share'])} of "
            f"{escape_text(BASIS_LABELS.get(str(latest['basis']), latest['basis'])).lower()}"
            f" — <strong>{escape_text(latest.get('status', ''))}</strong>.</p>"
        )
    return head + summary + table + (_img(chart, "progress chart") if chart is not None else "")


def _target(r: Mapping[str, Any]) -> str:
    share, year = r.get("target_share"), r.get("target_year")
    if share is None or pd.isna(share):
        return ""
    if year is None or pd.isna(year):
        return percent(share)
    return f"{percent(share, digits=0)} by {int(year)}"


def _figure_section(title: str, figures: Mapping[str, Figure | bytes], names: Iterable[str]) -> str:
    imgs = [_img(figures[n], n) for n in names if n in figures]
    return f"<h2>{escape_text(title)}</h2>" + "".join(imgs)


def _district_section(result: RunResult, chart: Figure | bytes | None) -> str:
    cfg = result.metro.config
    cov = result.coverage
    rows = cov[(cov["scope"] == "district") & np.isclose(cov["threshold_ms"], cfg.budget_ms)]
    if rows.empty:
        return "<h2>Districts</h2><p class='note'>The config has no districts.</p>"
    bases = [b for b in BASES if b in set(rows["basis"])]
    header = ["district"] + [f"{BASIS_LABELS[b]} share" for b in bases]
    if "population" in bases:
        header += ["people: no access", "people: unreachable", "people: too far"]
    body = []
    for name, group in rows.groupby("name", sort=True):
        by = group.set_index("basis")
        line = [str(name)] + [percent(by.at[b, "share"]) if b in by.index else "" for b in bases]
        if "population" in bases:
            line += [
                _amount(by.at["population", "no_access"], "people"),
                _amount(by.get("unreachable", pd.Series(dtype=float)).get("population"), "people"),
                _amount(by.at["population", "too_far"], "people"),
            ]
        body.append(line)
    return (
        f"<h2>Districts within {cfg.budget_ms:g} ms</h2>"
        + _table(header, body)
        + (_img(chart, "districts") if chart is not None else "")
    )


def _site_section(result: RunResult, sites: pd.DataFrame | None) -> str:
    if sites is None or sites.empty:
        return ""
    budget = result.metro.config.budget_ms
    bases = [b for b in BASES if f"served_{b}" in sites.columns]
    header = ["site", "name", "tier", "online year", "in this scenario"]
    header += [f"{UNIT_WORDS[BASES[b]]} within {budget:g} ms" for b in bases]
    rows = []
    for r in sites.to_dict("records"):
        state = "online" if _truthy_value(r.get("online", True)) else "planned"
        if not _truthy_value(r.get("attached", True)):
            state += ", off the network"
        year = r.get("online_year")
        rows.append(
            [
                r.get("site_id"),
                r.get("name"),
                r.get("tier"),
                "" if year is None or pd.isna(year) else str(int(year)),
                state,
            ]
            + [_number(r.get(f"served_{b}"), BASES[b]) for b in bases]
        )
    return (
        "<h2>Compute sites</h2>"
        + _table(header, rows)
        + "<p class='note'>Each place counts for the site it reaches first (lowest "
        "latency), and only within the budget.</p>"
    )


def _cluster_section(
    clusters: pd.DataFrame | None, counts: Mapping[str, Mapping[str, int]] | None = None
) -> str:
    head = "<h2>Largest uncovered clusters</h2>"
    if clusters is None:
        return head + "<p class='note'>Not computed for this run.</p>"
    left_out = [
        f"{int(counts[c]['zero_weight']):,} {_CAUSE_LABELS[c].split(' (')[0]}"
        for c in CAUSES
        if counts and c in counts and counts[c].get("zero_weight")
    ]
    if left_out:
        head += (
            "<p class='note'>Left out, weighing nothing on the ranking basis: "
            f"{escape_text(', '.join(left_out))} cluster(s).</p>"
        )
    df = pd.DataFrame(clusters).drop(columns="geometry", errors="ignore")
    years = sorted({int(y) for y in df.get("year", pd.Series(dtype=float)).dropna()})
    when = f"in {years[0]}" if len(years) == 1 else "in the run's scenario"
    parts = [
        head,
        f"<p class='note'>Connected uncovered areas {escape_text(when)} (the scenario year, or "
        "the first target year that falls short), split by district, heaviest first; the "
        "cause says which remedy applies. Clusters with no weight on the ranking basis are "
        "left out (counts in progress.json).</p>",
    ]
    if df.empty:
        return "".join(parts) + "<p class='note'>No uncovered cluster carries weight.</p>"
    for cause in CAUSES:
        sub = df[df.get("cause", pd.Series(dtype=str)) == cause]
        if "rank" in sub:
            sub = sub.sort_values("rank")
        sub = sub.head(TOP_CLUSTERS)
        if sub.empty:
            continue
        rows = [
            [
                _int(r.get("rank")),
                f"{r.get('area_km2', np.nan):,.1f}",
                _amount(r.get("people"), "people"),
                _amount(r.get("key_sites"), "sites"),
                ""
                if pd.isna(r.get("min_latency_us", np.nan))
                else f"{r['min_latency_us'] / 1000.0:.3f} ms",
                _district_words(r),
                f"{r.get('lon', np.nan):.4f}, {r.get('lat', np.nan):.4f}",
            ]
            for r in sub.to_dict("records")
        ]
        parts.append(f"<h3>{escape_text(_CAUSE_LABELS.get(cause, cause))}</h3>")
        parts.append(
            _table(
                [
                    "rank",
                    "area (km²)",
                    "people",
                    "key sites",
                    "nearest latency",
                    "district",
                    "lon, lat",
                ],
                rows,
            )
        )
    return "".join(parts)


_TIER_LABELS = {
    "optical": "1 ms tier (optical, the run's budget)",
    "application": "application tier (access technology + routers)",
    "application_with_leo": "application tier, LEO where fibre gives no access",
}


def _judged_on(r: Mapping[str, Any]) -> str:
    """Return what a LEO row was judged on (median, P95, geometric bound), in brackets."""
    on = r.get("judged_on")
    if not str(r.get("tier", "")).startswith("leo") or on is None or pd.isna(on):
        return ""
    return f" ({on})"


def _tiers_section(tiers: pd.DataFrame) -> str:
    head = (
        "<h2>Wider tiers: application and LEO</h2><p class='note'>The application tier adds "
        "the access technology and routers to the optical latency; LEO rows count only the "
        "places with no terrestrial access, over a satellite to a gateway and on to compute, "
        "judged on the measured median (P95 and the geometric bound beside it; see "
        "docs/tiers.md).</p>"
    )
    rows = [
        [
            BASIS_LABELS.get(str(r["basis"]), str(r["basis"])),
            _TIER_LABELS.get(str(r["tier"]), f"LEO within {float(r['budget_ms']):g} ms")
            + _judged_on(r),
            f"{float(r['budget_ms']):g} ms",
            _amount(r["covered"], str(r["unit"])),
            _amount(r["total"], str(r["unit"])),
            percent(r["share"]),
        ]
        for r in tiers.to_dict("records")
    ]
    return head + _table(["basis", "tier", "budget", "within", "total", "share"], rows)


def _district_words(r: Mapping[str, Any]) -> str:
    """District name, with its local name and adcode where the input has them."""
    words = [
        str(r.get(k) or "") if not pd.isna(r.get(k, "")) else ""
        for k in ("district", "district_local", "adcode")
    ]
    name, local, code = words
    if code.endswith(".0"):
        code = code[:-2]  # read back from CSV as a number
    extra = " ".join(w for w in (local if local != name else "", code) if w)
    return f"{name} ({extra})" if extra and name else name or extra


def _parameter_section(result: RunResult) -> str:
    metro = result.metro
    cfg = metro.config
    params = dataclasses.asdict(metro.params)
    model = [
        ("preset", cfg.model.preset),
        ("propagation k", f"{params['k_us_per_m'] * 1000.0:.4f} µs/km"),
        ("route factor r", f"{params['route_factor']:g}"),
        ("equipment E", f"{params['equipment_us']:g} µs"),
        ("site device S (default)", f"{params['site_device_us']:g} µs"),
        ("router + access extras", f"{params['extra_us']:g} µs"),
        ("max drop", f"{params['max_drop_m']:g} m"),
        ("direction factor", f"{params['factor']:g} (1 one-way, 2 round-trip)"),
        ("budget", f"{cfg.budget_ms:g} ms"),
        ("thresholds", ", ".join(f"{t:g}" for t in cfg.thresholds_ms) + " ms"),
        ("grid cell", f"{cfg.grid.cell_m:g} m"),
        ("network kind", cfg.network.kind),
        ("CRS (local)", metro.inputs.crs.to_string()),
        (
            "scenario year",
            "all sites" if result.scenario.year is None else str(result.scenario.year),
        ),
        ("sites online", f"{int(result.scenario.online.sum())} of {len(result.scenario.online)}"),
    ]
    inputs = [(role, ", ".join(p.name for p in paths)) for role, paths in cfg.input_paths().items()]
    notes = [cfg.notes] if cfg.notes else []
    notes += [n for n in (cfg.sites.note, cfg.population.note if cfg.population else None) if n]
    notes += list(metro.inputs.notes)
    credits = data_attribution(cfg)
    return (
        "<h2>Model parameters</h2>"
        + _table(["parameter", "value"], [list(r) for r in model])
        + "<h3>Network read</h3>"
        + _table(["", "count"], _network_rows(metro.network.stats))
        + "<h3>Inputs</h3>"
        + _table(["role", "file"], [list(r) for r in inputs])
        + (
            "<h3>Notes and repairs</h3><ul>"
            + "".join(f"<li>{escape_text(n)}</li>" for n in notes)
            + "</ul>"
            if notes
            else ""
        )
        + (
            "<h3>Data credits</h3><ul>"
            + "".join(f"<li>{escape_text(c)}</li>" for c in credits)
            + "</ul>"
            if credits
            else ""
        )
    )


def _network_rows(stats: Mapping[str, float]) -> list[list[str]]:
    """Return the network summary (run.json ``network``) as table rows, in words."""
    rows = [
        ("lines read", _int(stats.get("input_lines"))),
        ("lines without geometry (left out)", _int(stats.get("empty_lines", 0))),
    ]
    if "built_lines" in stats:
        rows += [
            ("built lines", _int(stats["built_lines"])),
            ("planned lines (online from their year)", _int(stats["planned_lines"])),
            ("lines left out by status", _int(stats["excluded_lines"])),
        ]
    rows += [
        ("self-loops (locatable, not on shortest paths)", _int(stats.get("self_loops", 0))),
        (
            "parallel lines (shortest paths take the shortest)",
            _int(stats.get("parallel_edges_collapsed", 0)),
        ),
    ]
    if stats.get("ids_from_endpoints"):
        rows.append(("lines missing an id, joined by endpoints", _int(stats["ids_from_endpoints"])))
    if "snaps" in stats:
        rows.append((f"gaps under {stats['snap_m']:g} m joined (snap_m)", _int(stats["snaps"])))
    rows += [
        ("nodes", _int(stats.get("nodes"))),
        ("connected components", _int(stats.get("components"))),
        ("largest component (share of nodes)", percent(stats.get("largest_component_share"))),
    ]
    if "area_within_max_drop_share" in stats:
        rows.append(
            (
                f"metro area within {stats['max_drop_m']:g} m (max drop) of the network",
                percent(stats["area_within_max_drop_share"]),
            )
        )
    return [list(r) for r in rows]


# --- the national dashboard --------------------------------------------------------------


def write_dashboard(
    national_dir: str | Path,
    cities: Sequence[CityOutputs] | None = None,
    *,
    targets: Sequence[Target] = DEFAULT_TARGETS,
) -> Path:
    """Write ``index.html`` into the national folder: every city, the rollup, the chart.

    Each city links only to files its folder held when it was read
    (:attr:`~latcircle.analysis.national.CityOutputs.pages`): its ``report.html`` and
    ``map.html`` when present; when neither is (a national sweep writes neither unless
    asked), its tables ``coverage.csv`` and ``progress.csv``.

    Parameters
    ----------
    national_dir
        The folder :func:`latcircle.pipeline.national_rollup` wrote (``summary.csv``,
        ``progress.csv``, ``shortfalls.md``).
    cities
        The runs to link, as read back (:attr:`latcircle.analysis.national.NationalResult.runs`);
        when ``None``, the national folder's siblings that are city runs, read back by
        :func:`latcircle.output.readback.read_city_outputs` (a folder that is not one is
        not linked).
    targets
        Targets drawn on the national chart.

    Returns
    -------
    pathlib.Path
        The page written.
    """
    national_dir = Path(national_dir)
    summary = read_optional_table(national_dir / "summary.csv")
    if summary is None:
        msg = f"{national_dir}: no summary.csv (write the national tables first)"
        raise FileNotFoundError(msg)
    progress = read_optional_table(national_dir / "progress.csv")
    if cities is None:
        cities = _sibling_runs(national_dir)
    links = city_links(national_dir, cities)
    chart = (
        national_chart(
            progress,
            targets=targets,
            title="Metros meeting the target in force, and the pooled share",
        )
        if progress is not None and len(progress)
        else None
    )
    shortfalls = national_dir / "shortfalls.md"
    page = render_dashboard(
        summary,
        progress,
        links=links,
        chart=chart,
        shortfalls=shortfalls.read_text(encoding="utf-8") if shortfalls.exists() else None,
        cities=cities,
    )
    path = national_dir / "index.html"
    atomic_file(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return path


def render_dashboard(
    summary: pd.DataFrame,
    progress: pd.DataFrame | None,
    *,
    links: Mapping[str, Sequence[tuple[str, str]]],
    chart: Figure | None = None,
    shortfalls: str | None = None,
    cities: Sequence[CityOutputs] = (),
) -> str:
    """Return the national dashboard as one HTML page.

    Parameters
    ----------
    summary
        The national ``summary.csv`` (one row per city).
    progress
        The national ``progress.csv`` (one row per year), or ``None``.
    links
        Run name (and city id) to the links of its row: ``(label, href)`` pairs, each href
        relative to the page and to a file that exists (:func:`city_links`).
    chart
        The national progress chart.
    shortfalls
        The plain-language shortfall note (Markdown, rendered by :func:`markdown_html`,
        its headings placed under the page's).
    cities
        The runs as read back, for the progress-by-year chart.

    Returns
    -------
    str
    """
    from latcircle.present.dashboard import charts_section, include_note

    sections = [
        "<h1>1 ms latency circle: national progress</h1>",
        "<p class='sub'>Every metro run, its share within 1 ms on each basis and its "
        f"status against each target · latcircle {escape_text(__version__)}</p>"
        + include_note(summary),
        _outcome_counts(summary),
        charts_section(summary, cities),
        _rollup_table(summary, links),
    ]
    if progress is not None and len(progress):
        sections.append(
            "<h2>By year</h2>"
            + (_img(chart, "national progress") if chart else "")
            + _national_progress_table(progress)
        )
    else:
        sections.append(
            "<h2>By year</h2><p class='note'>No run counts in the national totals: synthetic "
            "cities and cities with hypothetical sites are left out unless asked "
            "(<code>latcircle national-rollup --include-synthetic "
            "--include-hypothetical</code>).</p>"
        )
    if shortfalls:
        # shortfalls.md starts at '#': under this page's h2 its headings start at h3.
        sections.append("<h2>Shortfalls</h2>" + markdown_html(shortfalls, top_level=3))
    return _page("1 ms latency circle: national progress", sections)


def city_links(
    national_dir: str | Path, cities: Sequence[CityOutputs]
) -> dict[str, list[tuple[str, str]]]:
    """Return each run's links on the dashboard: only to files its folder holds.

    A run links its ``report.html`` and ``map.html`` when its folder held them when it was
    read (:attr:`~latcircle.analysis.national.CityOutputs.pages`); when it held neither, its
    tables (:data:`latcircle.output.readback.CITY_TABLES`: ``coverage.csv``,
    ``progress.csv``, which every run read back has).

    Parameters
    ----------
    national_dir
        The folder of the dashboard (hrefs are relative to it).
    cities
        The runs, as read back, in the roll-up's order.

    Returns
    -------
    dict
        Run name (:attr:`~latcircle.analysis.national.CityOutputs.run`) and city id (its
        first run) to ``(label, href)`` pairs, in
        :data:`~latcircle.output.readback.CITY_PAGES` order.
    """
    links: dict[str, list[tuple[str, str]]] = {}
    for c in cities:
        rel = Path(os.path.relpath(c.folder, national_dir)).as_posix()
        files = [(_PAGE_LABELS[p], p) for p in c.pages] or [(t, t) for t in CITY_TABLES]
        # A folder name is data: quoted as a URL path (a '#', '?' or '%' in it stays part of
        # the name), then escaped as HTML text where the link is written.
        pairs = [(label, quote(f"{rel}/{name}")) for label, name in files]
        links.setdefault(c.city, pairs)  # one run of a city: by its id
        links[c.run] = pairs  # several runs of a city: by their folder names
    return links


#: The words of a city page's link on the dashboard.
_PAGE_LABELS = {"report.html": "report", "map.html": "map"}


def _sibling_runs(national_dir: Path) -> list[CityOutputs]:
    """Return the national folder's siblings that read back as city runs (others: none)."""
    try:
        folders, _ = find_city_dirs([national_dir.parent], out=national_dir)
    except InputError:
        return []  # no sibling is a city run
    runs = []
    for folder in folders:
        try:
            runs.append(read_city_outputs(folder))
        except InputError:
            continue  # not a city run, or one that cannot be read: nothing to link
    return runs


def _rollup_table(summary: pd.DataFrame, links: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    years = sorted(
        {
            int(c.split("_")[1])
            for c in summary.columns
            if c.startswith("status_") and c.split("_")[1].isdigit()
        }
    )
    bases = [b for b in BASES if f"share_{b}" in summary.columns]
    header = (
        ["metro", "links"]
        + [f"{BASIS_LABELS[b]} ≤ 1 ms" for b in bases]
        + ["population", "key sites"]
        + [f"{y} target" for y in years]
    )
    rows = []
    for r in summary.to_dict("records"):
        city = str(r.get("city", r.get("id", "")))
        run = str(r.get("run") or city)
        name = escape_text(r.get("name", city) if run == city else f"{r.get('name', city)} ({run})")
        flags = [
            t
            for t, key in (("synthetic", "synthetic"), ("hypothetical sites", "sites_hypothetical"))
            if _truthy_value(r.get(key))
        ]
        outcome = str(r.get("outcome") or "")
        if outcome in ("failed", "stale"):  # no outputs, or older ones: never shown as current
            flags.append(f"{outcome}: {r.get('reason')}" if r.get("reason") else outcome)
        if "in_totals" in r and not _truthy_value(r.get("in_totals")):
            flags.append("not in the national totals")
        label = name + "".join(f" <span class='flag'>{escape_text(f)}</span>" for f in flags)
        pairs = links.get(run, links.get(city)) or ()
        link = _Raw(
            " · ".join(
                f"<a href='{escape_text(href)}'>{escape_text(word)}</a>" for word, href in pairs
            )
        )
        line: list[Any] = [_Raw(label), link]
        line += [percent(r.get(f"share_{b}")) for b in bases]
        line += [_amount(r.get("population"), "people"), _amount(r.get("key_sites"), "sites")]
        for y in years:
            status = str(r.get(f"status_{y}", "") or "")
            status = "" if status == "nan" else status
            colour = PROGRESS_COLOURS.get(status, "#888")
            share = percent(r.get(f"share_{y}"))
            target = percent(r.get(f"target_{y}"))
            line.append(
                _Raw(
                    f"<span class='status' style='background:{colour}'>"
                    f"{escape_text(status) or 'n/a'}</span> {share} vs {target}"
                    if status
                    else "n/a"
                )
            )
        rows.append(line)
    return "<h2>Metros</h2>" + _table(header, rows)


def _outcome_counts(summary: pd.DataFrame) -> str:
    """One line: the cities asked, run, up to date, failed (and runs stale), from ``outcome``."""
    if "outcome" not in summary.columns or not len(summary):
        return ""
    counts = summary["outcome"].fillna("").astype(str).value_counts()
    swept = sum(int(counts.get(k, 0)) for k in ("run", "up to date", "failed"))
    parts = [f"{swept} cities asked"] if swept else [f"{len(summary)} runs read"]
    parts += [
        f"{int(counts[k])} {k}" for k in ("run", "up to date", "failed", "stale") if k in counts
    ]
    return f"<p class='sub'>{escape_text(' · '.join(parts))}</p>"


def _national_progress_table(progress: pd.DataFrame) -> str:
    cols = [
        c
        for c in (
            "year",
            "target_share",
            "metros",
            "met",
            "on_track",
            "behind",
            "share_met",
            "share_pop_weighted",
            "population_share",
        )
        if c in progress.columns
    ]
    labels = {
        "target_share": "target in force",
        "share_met": "share of metros meeting",
        "share_pop_weighted": "population-weighted share",
        "population_share": "people within budget (pooled)",
        "on_track": "on track",
    }
    rows = []
    for r in progress.to_dict("records"):
        line = []
        for c in cols:
            v = r.get(c)
            if "share" in c:
                line.append(percent(v))
            elif pd.isna(v):
                line.append("")
            else:
                line.append(str(int(v)) if float(v).is_integer() else f"{v:g}")
        rows.append(line)
    return _table([labels.get(c, c) for c in cols], rows)


# --- HTML helpers ------------------------------------------------------------------------


def markdown_html(text: str, *, top_level: int = 1) -> str:
    """Render Markdown (``shortfalls.md``) as HTML, with any raw HTML in it kept as text.

    CommonMark plus tables (markdown-it-py). Raw HTML is disabled, so a city name carrying
    ``<script>`` arrives as text, and link targets go through markdown-it's own check (no
    ``javascript:`` links).

    Parameters
    ----------
    text
        Markdown.
    top_level
        The HTML level of a ``#`` heading (deeper ones follow, at most h6): 3 places the
        text under a page's h2, keeping the page's headings in order.

    Returns
    -------
    str
    """
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + top_level - 1)}"
    return str(md.renderer.render(tokens, md.options, {}))


class _Raw(str):
    """Markup built here from escaped parts: placed in a table cell as is."""

    __slots__ = ()


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape_text(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{cell if isinstance(cell, _Raw) else escape_text(cell)}</td>" for cell in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(fig: Figure | bytes, alt: str) -> str:
    png = fig if isinstance(fig, bytes) else png_bytes(fig)
    data = base64.b64encode(png).decode("ascii")
    return f"<figure><img alt='{escape_text(alt)}' src='data:image/png;base64,{data}'></figure>"


def _page(title: str, sections: Sequence[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{escape_text(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(f"<section>{s}</section>" for s in sections)
        + "\n</main>\n</body>\n</html>\n"
    )


_STYLE = """
body {font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
  margin: 0; background: #fafafa;}
main {max-width: 980px; margin: 0 auto; padding: 1.5em 1.2em 4em; background: #fff;}
h1 {margin: 0.2em 0;} h1 .local {color: #666; font-weight: normal;}
h2 {border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 1.8em;}
.include {background: #f3f6fb; border-left: 4px solid #4575b4; padding: 0.5em 0.8em;}
.include code {background: #fff; padding: 0 0.2em;}
code {white-space: nowrap;}  /* a switch such as --include-synthetic never breaks */
svg.chart text {fill: #222;} figcaption {color: #555; font-size: 0.85em;}
.sub {color: #555; margin-top: 0;} .note {color: #555; font-size: 0.9em;}
.lead {font-size: 1.1em;}
.warning {background: #fff3cd; border: 1px solid #d39e00; color: #5c4300; padding: 0.5em 0.8em;
  border-radius: 4px;}
.cards {display: flex; gap: 1em; flex-wrap: wrap; margin: 0.8em 0;}
.card {border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1.2em; min-width: 9em;
  text-align: center;}
.card .big {font-size: 2em; font-weight: 700;}
table {border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em;}
th, td {border-bottom: 1px solid #e3e3e3; padding: 0.25em 0.7em; text-align: left;}
th {background: #f3f3f3;} td {font-variant-numeric: tabular-nums;}
.status {color: #fff; border-radius: 3px; padding: 0 0.45em; font-weight: 600;}
.flag {background: #fff3cd; border: 1px solid #d39e00; border-radius: 3px; padding: 0 0.3em;
  font-size: 0.8em;}
figure {margin: 1em 0;} figure img {max-width: 100%; height: auto;}
@media print {body {background: #fff;} main {max-width: none;}}
"""


# --- value formatting --------------------------------------------------------------------


def _truthy(series: pd.Series) -> pd.Series:
    return series.map(_truthy_value).astype(bool)


def _truthy_value(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value) and not (isinstance(value, float) and np.isnan(value))


def _int(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{int(value):,}"


def _amount(value: Any, unit: str) -> str:
    if value is None or pd.isna(value):
        return "—"
    text = _number(value, unit)
    return text if unit == "km2" else f"{text} {UNIT_WORDS.get(unit, unit)}"


def _number(value: Any, unit: str) -> str:
    """Format a weight: km² to 0.1, people whole, key sites (maybe weighted) to 0.1."""
    if value is None or pd.isna(value):
        return "—"
    value = float(value)
    if unit == "km2":
        return f"{value:,.1f} km²"
    if unit == "people":
        return f"{value:,.0f}"
    return f"{value:,.1f}".removesuffix(".0")
