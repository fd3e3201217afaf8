"""The city report (``report.html``): one self-contained page per run.

The page has its styles inline, figures embedded as PNG data URIs, no script and nothing
fetched, so it opens offline, attaches to an e-mail and prints as it looks. It is the template
``templates/report.html`` rendered by :mod:`latcircle.present.templating` (autoescaped; data
only as template variables, every value through
:func:`latcircle.present.style.escape_text`).

The report shows the headline shares, the progress status against the targets (when the run
computed progress), the figures, a per-district table, the largest uncovered clusters and
every model parameter used. :func:`write_report` is the pipeline's output step. Each section
is a template under ``templates/report/`` and one entry of :func:`render_report`'s context,
built by a private function here that returns plain values (numbers already formatted by
:mod:`latcircle.present.style`).

The national dashboard is :mod:`latcircle.present.dashboard` and the Markdown converter
:mod:`latcircle.present.markdown`; both stay importable from here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from latcircle import __version__
from latcircle.analysis.coverage import BASES, CAUSES
from latcircle.analysis.progress import resolve_basis
from latcircle.output.files import as_written, read_csv
from latcircle.output.readback import (
    read_cluster_counts,
    read_layers,
    read_optional_table,
)

# The national dashboard and the Markdown converter live in their own modules (issue 23);
# they stay importable from here, as before.
from latcircle.present.dashboard import city_links, render_dashboard, write_dashboard
from latcircle.present.figures import city_figures, png_bytes
from latcircle.present.markdown import markdown_html
from latcircle.present.protection import protection_context
from latcircle.present.robust import robust_context
from latcircle.present.style import (
    BASIS_LABELS,
    PROGRESS_COLOURS,
    STATUS_LABELS,
    UNIT_WORDS,
    amount,
    count,
    data_attribution,
    number,
    percent,
)
from latcircle.present.templating import StatusCell, png_base64, render

if TYPE_CHECKING:
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
    lang: str = "en",
    finish: Callable[[str], str] | None = None,
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
    lang
        The figures' district names: ``zh`` shows the local names (headings:
        :func:`latcircle.present.report_lang.report_writer`).
    finish
        Applied to the page before it is written (the headings in the map's language:
        :func:`latcircle.present.report_lang.localise_report`); the page as rendered when
        ``None``.

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
        for name, fig in city_figures(
            result, folder, layers=layers, progress=progress, lang=lang
        ).items()
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
        plan=_plan(folder),
        cluster_counts=read_cluster_counts(folder) if kept is None else kept.counts,
        has_map=(folder / "map.html").exists(),  # the map step runs first, when asked for
    )
    path = folder / "report.html"
    path.write_text(page if finish is None else finish(page), encoding="utf-8")
    return path


def render_report(
    result: RunResult,
    *,
    figures: Mapping[str, Figure | bytes],
    progress: pd.DataFrame | None = None,
    clusters: pd.DataFrame | None = None,
    sites: pd.DataFrame | None = None,
    tiers: pd.DataFrame | None = None,
    plan: Mapping[str, Any] | None = None,
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
        The plan section's variables (:func:`latcircle.present.plan.plan_context`), or
        ``None`` without a plan.
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
    return render(
        "report.html",
        title=f"{cfg.name}: 1 ms latency circle",
        header=_header(result, has_map=has_map),
        headline=_headline(result),
        explanations=_explanations(result),
        progress=_progress(result, progress, figures.get("progress")),
        robust=robust_context(result, figures),
        reach={
            "title": "Where the circle reaches",
            "figures": [(_png(figures[n]), n) for n in ("bands", "curve") if n in figures],
        },
        districts=_districts(result, figures.get("districts")),
        sites=_sites(result, sites),
        protection=protection_context(result),
        clusters=_clusters(clusters, cluster_counts),
        tiers=None if tiers is None else _tiers(tiers),
        plan=plan,
        parameters=_parameters(result),
    )


def _plan(folder: Path) -> dict[str, Any] | None:
    """Return the plan section's variables from ``folder/plan/`` (``latcircle plan``), if any."""
    plan_csv, record = folder / "plan" / "plan.csv", folder / "plan" / "plan.json"
    if not (plan_csv.exists() and record.exists()):
        return None
    from latcircle.present.plan import plan_context  # only with a plan to show

    png = folder / "plan" / "curve.png"
    return plan_context(
        read_csv(plan_csv),
        json.loads(record.read_text(encoding="utf-8")),
        curve_png=png.read_bytes() if png.exists() else None,
    )


# --- city report sections: each returns its template's variables -------------------------


def _header(result: RunResult, *, has_map: bool) -> dict[str, Any]:
    cfg = result.metro.config
    year = result.scenario.year
    return {
        "name": cfg.name,
        "name_local": cfg.name_local,
        "budget": f"{cfg.budget_ms:g}",
        "scenario": f"sites online by {year}"
        if year is not None
        else "every site in the sites file",
        "version": __version__,
        "synthetic": cfg.synthetic,
        "hypothetical": cfg.sites.hypothetical,
        "sites_note": cfg.sites.note.rstrip(". ") if cfg.sites.note else None,
        "has_map": has_map,
    }


def _headline(result: RunResult) -> dict[str, Any]:
    cfg = result.metro.config
    cov = result.coverage
    rows = cov[(cov["scope"] == "metro") & np.isclose(cov["threshold_ms"], cfg.budget_ms)]
    return {
        "budget": f"{cfg.budget_ms:g}",
        "cards": [
            (percent(share), BASIS_LABELS.get(basis, basis))
            for basis, share in result.headline.items()
        ],
        "header": ["basis", "covered", "no access", "unreachable", "too far", "total", "share"],
        "rows": [
            [
                BASIS_LABELS.get(r.basis, r.basis),
                amount(r.covered, r.unit),
                amount(r.no_access, r.unit),
                amount(getattr(r, "unreachable", np.nan), r.unit),
                amount(r.too_far, r.unit),
                amount(r.total, r.unit),
                percent(r.share),
            ]
            for r in rows.itertuples()
        ],
    }


def _explanations(result: RunResult) -> list[str]:
    lines = list(getattr(result, "explanations", ()) or ())
    return [line[:1].upper() + line[1:] for line in lines]


def _progress(
    result: RunResult, progress: pd.DataFrame | None, chart: Figure | bytes | None
) -> dict[str, Any]:
    cfg = result.metro.config
    bases = list(result.scenario.evaluations)
    out: dict[str, Any] = {
        "targets": [
            {
                "year": t.year,
                "share": percent(t.share, digits=0),
                "threshold": f"{t.threshold_ms:g}",
                "basis": BASIS_LABELS.get(resolve_basis(t, bases), t.basis).lower(),
                "source": t.source or "config",
            }
            for t in sorted(cfg.targets, key=lambda t: t.year)
        ],
        "rows": None,
    }
    if progress is None or progress.empty:
        return out
    judged = progress[_truthy(progress.get("judged", pd.Series(False, index=progress.index)))]
    judged = judged.sort_values("year")
    latest = judged.iloc[-1] if len(judged) else None
    out["header"] = [
        "year",
        "judged on",
        "sites online",
        "share",
        "target in force",
        "planned share",
        "status",
        "gap",
    ]
    out["rows"] = [_progress_row(r) for r in judged.to_dict("records")]
    out["latest"] = None
    if latest is not None:
        out["latest"] = {
            "year": int(latest["year"]),
            "share": percent(latest["share"]),
            "basis": str(BASIS_LABELS.get(str(latest["basis"]), latest["basis"])).lower(),
            "status": latest.get("status", ""),
        }
    out["chart"] = None if chart is None else _png(chart)
    return out


def _progress_row(r: Mapping[str, Any]) -> list[Any]:
    status = str(r.get("status", ""))
    return [
        str(int(r["year"])),
        BASIS_LABELS.get(str(r["basis"]), str(r["basis"])),
        count(r.get("sites_online")),
        percent(r.get("share")),
        _target(r),
        percent(r.get("planned_share")),
        StatusCell(status, PROGRESS_COLOURS.get(status, "#888")),
        amount(r.get("gap"), str(r.get("unit", ""))),
    ]


def _target(r: Mapping[str, Any]) -> str:
    share, year = r.get("target_share"), r.get("target_year")
    if share is None or pd.isna(share):
        return ""
    if year is None or pd.isna(year):
        return percent(share)
    return f"{percent(share, digits=0)} by {int(year)}"


def _districts(result: RunResult, chart: Figure | bytes | None) -> dict[str, Any]:
    cfg = result.metro.config
    cov = result.coverage
    rows = cov[(cov["scope"] == "district") & np.isclose(cov["threshold_ms"], cfg.budget_ms)]
    if rows.empty:
        return {"rows": None}
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
                amount(by.at["population", "no_access"], "people"),
                amount(by.get("unreachable", pd.Series(dtype=float)).get("population"), "people"),
                amount(by.at["population", "too_far"], "people"),
            ]
        body.append(line)
    return {
        "budget": f"{cfg.budget_ms:g}",
        "header": header,
        "rows": body,
        "chart": None if chart is None else _png(chart),
    }


def _sites(result: RunResult, sites: pd.DataFrame | None) -> dict[str, Any] | None:
    if sites is None or sites.empty:
        return None
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
            + [number(r.get(f"served_{b}"), BASES[b]) for b in bases]
        )
    return {"header": header, "rows": rows}


def _clusters(
    clusters: pd.DataFrame | None, counts: Mapping[str, Mapping[str, int]] | None = None
) -> dict[str, Any] | None:
    if clusters is None:
        return None
    left_out = [
        f"{int(counts[c]['zero_weight']):,} {_CAUSE_LABELS[c].split(' (')[0]}"
        for c in CAUSES
        if counts and c in counts and counts[c].get("zero_weight")
    ]
    df = pd.DataFrame(clusters).drop(columns="geometry", errors="ignore")
    years = sorted({int(y) for y in df.get("year", pd.Series(dtype=float)).dropna()})
    tables = []
    for cause in CAUSES:
        sub = df[df.get("cause", pd.Series(dtype=str)) == cause]
        if "rank" in sub:
            sub = sub.sort_values("rank")
        sub = sub.head(TOP_CLUSTERS)
        if not sub.empty:
            rows = [_cluster_row(r) for r in sub.to_dict("records")]
            tables.append((_CAUSE_LABELS.get(cause, cause), _CLUSTER_HEADER, rows))
    return {
        "left_out": ", ".join(left_out),
        "when": f"in {years[0]}" if len(years) == 1 else "in the run's scenario",
        "empty": df.empty,
        "tables": tables,
    }


_CLUSTER_HEADER = [
    "rank",
    "area (km²)",
    "people",
    "key sites",
    "nearest latency",
    "district",
    "lon, lat",
]


def _cluster_row(r: Mapping[str, Any]) -> list[str]:
    latency = r.get("min_latency_us", np.nan)
    return [
        count(r.get("rank")),
        f"{r.get('area_km2', np.nan):,.1f}",
        amount(r.get("people"), "people"),
        amount(r.get("key_sites"), "sites"),
        "" if pd.isna(latency) else f"{r['min_latency_us'] / 1000.0:.3f} ms",
        _district_words(r),
        f"{r.get('lon', np.nan):.4f}, {r.get('lat', np.nan):.4f}",
    ]


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


def _tiers(tiers: pd.DataFrame) -> dict[str, Any]:
    rows = [
        [
            BASIS_LABELS.get(str(r["basis"]), str(r["basis"])),
            _TIER_LABELS.get(str(r["tier"]), f"LEO within {float(r['budget_ms']):g} ms")
            + _judged_on(r),
            f"{float(r['budget_ms']):g} ms",
            amount(r["covered"], str(r["unit"])),
            amount(r["total"], str(r["unit"])),
            percent(r["share"]),
        ]
        for r in tiers.to_dict("records")
    ]
    return {"header": ["basis", "tier", "budget", "within", "total", "share"], "rows": rows}


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


def _parameters(result: RunResult) -> dict[str, Any]:
    metro = result.metro
    cfg = metro.config
    notes = [cfg.notes] if cfg.notes else []
    notes += [n for n in (cfg.sites.note, cfg.population.note if cfg.population else None) if n]
    notes += list(metro.inputs.notes)
    return {
        "model": _model_rows(result),
        "network": _network_rows(metro.network.stats),
        "inputs": [
            [role, ", ".join(p.name for p in paths)] for role, paths in cfg.input_paths().items()
        ],
        "notes": notes,
        "credits": data_attribution(cfg),
    }


def _model_rows(result: RunResult) -> list[list[str]]:
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
    return [list(r) for r in model]


def _network_rows(stats: Mapping[str, float]) -> list[list[str]]:
    """Return the network summary (run.json ``network``) as table rows, in words."""
    rows = [
        ("lines read", count(stats.get("input_lines"))),
        ("lines without geometry (left out)", count(stats.get("empty_lines", 0))),
    ]
    if "built_lines" in stats:
        rows += [
            ("built lines", count(stats["built_lines"])),
            ("planned lines (online from their year)", count(stats["planned_lines"])),
            ("lines left out by status", count(stats["excluded_lines"])),
        ]
    rows += [
        ("self-loops (locatable, not on shortest paths)", count(stats.get("self_loops", 0))),
        (
            "parallel lines (shortest paths take the shortest)",
            count(stats.get("parallel_edges_collapsed", 0)),
        ),
    ]
    if stats.get("ids_from_endpoints"):
        rows.append(
            ("lines missing an id, joined by endpoints", count(stats["ids_from_endpoints"]))
        )
    if stats.get("id_ends_joined"):
        rows.append(
            (
                "line ends off their id's node, joined "
                f"(largest gap {stats['id_end_gap_max_m']:.3g} m)",
                count(stats["id_ends_joined"]),
            )
        )
    if "snaps" in stats:
        rows.append((f"gaps under {stats['snap_m']:g} m joined (snap_m)", count(stats["snaps"])))
    rows += [
        ("nodes", count(stats.get("nodes"))),
        ("connected components", count(stats.get("components"))),
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


# --- values ------------------------------------------------------------------------------


def _png(fig: Figure | bytes) -> str:
    """Return a figure (or its PNG bytes) as the base64 text of a data URI."""
    return png_base64(fig if isinstance(fig, bytes) else png_bytes(fig))


def _truthy(series: pd.Series) -> pd.Series:
    return series.map(_truthy_value).astype(bool)


def _truthy_value(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value) and not (isinstance(value, float) and np.isnan(value))
