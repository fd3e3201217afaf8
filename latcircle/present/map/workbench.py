"""The map as a workbench: a year slider and a what-if panel that recompute in the page.

The page carries, for every year of the slider, the latency rings, the areas of each cause of
non-coverage and the covered weight of the metro and of each district on each basis
(:func:`latcircle.analysis.workbench.year_states`); for the what-if builds, the demand groups
each brings within the budget (:func:`latcircle.analysis.workbench.whatif_sets`). Moving the
slider redraws the rings and causes and recomputes the headline and the district shares;
ticking builds adds the weight of every group one of them covers, which is what
``latcircle run --year Y --add-site LON,LAT ...`` computes (docs/maps-and-gis.md).

Everything goes into the page as one JSON document in a ``<script type="application/json">``
(:class:`latcircle.present.map.elements.DataBlock`); the script below is fixed code that
sets every text with ``textContent`` and binds tooltips as DOM nodes: no string from the
data becomes markup or code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from latcircle.analysis.coverage import CAUSES
from latcircle.analysis.metro import Scenario
from latcircle.analysis.progress import auto_basis
from latcircle.analysis.workbench import (
    WHATIF_DECIMALS,
    DemandGroups,
    YearCodes,
    YearState,
    check_whatif_count,
    rank_candidates,
    whatif_sets,
    year_states,
)
from latcircle.inputs.candidates import read_candidates
from latcircle.present.map.elements import (
    WGS84,
    ElementTemplate,
    JsonText,
    LiteralScripts,
    display_texts,
)
from latcircle.present.style import (
    NO_SHARE_COLOUR,
    SHARE_CLASSES,
    STATUS_COLOURS,
    band_colours,
    plain_text,
)

if TYPE_CHECKING:
    from latcircle.run import RunResult

__all__ = [
    "CAUSE_OPACITY",
    "MAP_CANDIDATES",
    "RING_OPACITY",
    "Workbench",
    "WorkbenchParts",
    "check_whatif_count",
    "slider_years",
    "solved_scenarios",
    "whatif_builds",
    "workbench_parts",
    "workbench_payload",
]

#: Ring fill opacity: low enough that streets and names of the base map stay readable
#: through any ring (each place lies in exactly one ring, so opacities never stack). The
#: legend's swatches are drawn at the same opacity.
RING_OPACITY = 0.3
#: Most automatic candidates the map ranks (an assumption: about 6 ms of engine time each on
#: the demo, measured 2026-12; ``latcircle plan`` weighs them all).
MAP_CANDIDATES = 200
#: Fill opacity of the causes layer (no access covers most of some metros: kept light).
CAUSE_OPACITY = 0.25


def slider_years(result: RunResult) -> list[int | None]:
    """Return the slider's years: the sites' online years, the run's year, ``None`` (all).

    ``None`` (every site online) is a position only when the run has no ``--year``.
    """
    sites = result.metro.inputs.sites
    known = {int(y) for y in sites["online_year"].dropna()} if "online_year" in sites else set()
    if result.scenario.year is not None:
        known.add(int(result.scenario.year))
    years: list[int | None] = list(sorted(known))
    if result.scenario.year is None:
        years.append(None)
    return years


def solved_scenarios(result: RunResult) -> list[Scenario | YearCodes]:
    """Return the scenarios the run already solved: the sensitivity step's, the shortfall's.

    The slider's years reuse them (:func:`latcircle.analysis.workbench.year_states`)
    instead of solving the same sites on the same network again; a run that kept the
    progress years as :class:`~latcircle.analysis.workbench.YearCodes` (``years``) gives
    those.
    """
    out: list[Scenario | YearCodes] = []
    out += list(result.robust.scenarios) if result.robust is not None else []
    out += list(result.years)
    if result.shortfall is not None:
        out.append(result.shortfall.acted)
    return out


def whatif_builds(
    result: RunResult, states: list[YearState], plan: gpd.GeoDataFrame | None, *, count: int
) -> tuple[pd.DataFrame, str]:
    """Return the what-if builds: the plan's new sites, then the best candidates.

    Parameters
    ----------
    result
        The run.
    states
        The slider's years: candidates are ranked by what they add in the first
        (:func:`latcircle.analysis.workbench.rank_candidates`).
    plan
        The plan layer (``plan/plan.gpkg``) when the city has a plan.
    count
        How many builds at most (:func:`check_whatif_count`).

    Returns
    -------
    pandas.DataFrame, str
        ``build_id``, ``name``, ``lon``, ``lat``, ``source`` (``plan`` or ``candidate``),
        ``gain`` (NaN for plan builds); and the judged basis the gains are on.
    """
    metro = result.metro
    basis = auto_basis(metro.bases)
    frames = []
    if plan is not None and len(plan):
        sites = plan[plan["kind"] == "site"].head(count)
        pts = sites.geometry.to_crs(WGS84)
        frames.append(
            pd.DataFrame(
                {
                    "build_id": sites["build_id"].astype(str).to_numpy(),
                    "name": sites["name"].astype(str).to_numpy(),
                    "lon": np.round(pts.x.to_numpy(), WHATIF_DECIMALS),
                    "lat": np.round(pts.y.to_numpy(), WHATIF_DECIMALS),
                    "source": "plan",
                    "gain": np.nan,
                }
            )
        )
    left = count - sum(len(f) for f in frames)
    if left > 0:
        cand = _candidates(result) if _may_gain(result, states, basis) else _no_candidates(result)
        ranked = rank_candidates(metro, states, cand, count=left, memo=result.memo)
        frames.append(ranked.drop(columns="later").assign(source="candidate"))
    if not frames:
        return pd.DataFrame(columns=["build_id", "name", "lon", "lat", "source", "gain"]), basis
    return pd.concat(frames, ignore_index=True), basis


@dataclass(frozen=True)
class WorkbenchParts:
    """What the workbench computes from a run, the same for every page of its map.

    No display option (base map, language, bands, assets) changes these: several pages of
    one run (:func:`latcircle.present.maps.map_pages`) compute them once. Read-only.

    Attributes
    ----------
    states
        The slider's years (:func:`latcircle.analysis.workbench.year_states`).
    builds, gain_basis
        The what-if builds and the basis of their gains (:func:`whatif_builds`).
    groups
        The demand groups each build brings within budget, per year and basis
        (:func:`latcircle.analysis.workbench.whatif_sets`).
    """

    states: list[YearState]
    builds: pd.DataFrame
    gain_basis: str
    groups: dict[str, dict[str, DemandGroups]]


def workbench_parts(
    result: RunResult, layers: Mapping[str, gpd.GeoDataFrame], *, whatif: int
) -> WorkbenchParts:
    """Solve the slider's years and the what-if builds' groups of a run's map.

    Parameters
    ----------
    result
        The run.
    layers
        The map's layers (a ``plan`` layer gives the plan's builds first).
    whatif
        Most what-if builds (:func:`check_whatif_count`).

    Returns
    -------
    WorkbenchParts
    """
    states = year_states(
        result.metro,
        result.scenario,
        slider_years(result),
        solved=solved_scenarios(result),
        run_bands=(result.layers or {}).get("bands"),  # computed in memory, not read back
        run_rings=(result.layers or {}).get("rings"),  # their differences, made once
        memo=result.memo,  # other runs' years of this metro (RunOptions.memo)
    )
    builds, gain_basis = whatif_builds(result, states, layers.get("plan"), count=whatif)
    groups = whatif_sets(result.metro, states, builds, memo=result.memo)
    return WorkbenchParts(states, builds, gain_basis, groups)


def _may_gain(result: RunResult, states: list[YearState], basis: str) -> bool:
    """Whether a candidate may add weight in the slider's first year, so be worth making.

    :func:`~latcircle.analysis.workbench.rank_candidates` keeps only candidates adding weight
    on ``basis`` in the first year, to samples with access not covered then: with none, it
    keeps none whatever they are, and the automatic ones (a search of every junction) are not
    made. A config's own candidates are always read (a bad file is an error either way).
    """
    if result.metro.config.plan.candidates is not None or not states:
        return True
    return bool(len(states[0].codes.open_rows(basis)))


def _no_candidates(result: RunResult) -> gpd.GeoDataFrame:
    """No candidate, as :func:`_candidates` gives them (``build_id``, ``name``, points)."""
    crs = result.metro.inputs.crs
    return gpd.GeoDataFrame({"build_id": [], "name": []}, geometry=gpd.GeoSeries([], crs=crs))


def _candidates(result: RunResult) -> gpd.GeoDataFrame:
    """Return the config's candidate sites, or automatic ones (``latcircle plan``'s rule).

    The automatic rule (junctions thinned to a spacing) at the plan's spacing, doubled until
    at most :data:`MAP_CANDIDATES` remain: each is one engine solve when the map is written.
    """
    metro = result.metro
    spec = metro.config.plan
    if spec.candidates is not None:
        cand = read_candidates(spec.candidates, metro.inputs.crs)
    else:
        # The planner's module, imported only when candidates are made (_may_gain).
        from latcircle.analysis.plan import auto_candidates_at_most

        cand = auto_candidates_at_most(
            metro, spacing_m=spec.auto_spacing_m, cost=spec.site_cost, most=MAP_CANDIDATES
        )
    return cand.rename(columns={"cand_id": "build_id"})


# --------------------------------------------------------------------------- payload


def workbench_payload(
    result: RunResult,
    states: list[YearState],
    builds: pd.DataFrame,
    groups: Mapping[str, Mapping[str, DemandGroups]],
    *,
    words: Mapping[str, str],
    district_names: list[str],
    city: str,
    gain_basis: str,
    display: Mapping[str, Any],
) -> dict[str, Any]:
    """Return the page's data document (JSON-ready; every text plain, set as text).

    ``display`` holds ``tol``, ``precision`` and ``datum`` of
    :func:`latcircle.present.map.elements.display_geojson`.
    """
    cfg = result.metro.config
    thresholds = sorted(cfg.thresholds_ms)
    shapes: list[dict[str, Any]] = []
    shape_of: dict[int, int] = {}
    drawn = _Drawn(display)  # the years share geometries: each is in the page once
    years = []
    for st in states:
        key = id(st.rings)
        if key not in shape_of:
            shape_of[key] = len(shapes)
            shapes.append(_shapes(st, thresholds, drawn))
        years.append(
            {
                "key": st.key,
                "label": words["year_all"] if st.year is None else str(st.year),
                "shape": shape_of[key],
                "online": int(st.codes.online.sum()),
                "covered": {b: _floats(v) for b, v in st.covered.items()},
                "total": {b: _floats(v) for b, v in st.total.items()},
                "count": {b: _ints(v) for b, v in st.count.items()},
                "countTotal": {b: _ints(v) for b, v in st.count_total.items()},
                "groups": {b: _groups(g) for b, g in groups.get(st.key, {}).items()},
            }
        )
    run_key = states_index(states, result.scenario.year)
    return {
        "words": dict(words),
        "city": plain_text(city),
        "budget": f"{cfg.budget_ms:g}",
        "bases": list(result.metro.bases),
        "districtBasis": _district_basis(result),
        "districts": [plain_text(n) for n in district_names],
        "shareClasses": [[u, c, lab] for u, c, lab in SHARE_CLASSES],
        "noShare": NO_SHARE_COLOUR,
        "rings": [{"threshold": t, "colour": c} for t, c in band_colours(thresholds).items()],
        "causes": [{"cause": c, "colour": STATUS_COLOURS[c]} for c in CAUSES],
        "shapes": shapes,
        "geos": drawn.finish(),
        "years": years,
        "start": run_key,
        "runLabel": years[run_key]["label"] if years else "",
        "builds": _builds(builds),
        "gainBasis": gain_basis,
        "firstYear": years[0]["label"] if years else "",
        "warnings": _warnings(result, words),
    }


def states_index(states: list[YearState], year: int | None) -> int:
    """Return the slider position of the run's own year."""
    keys = [st.year for st in states]
    return keys.index(year) if year in keys else max(len(states) - 1, 0)


def _district_basis(result: RunResult) -> str | None:
    """Return the basis districts are coloured on (key sites, else population, else area)."""
    return next((b for b, v in result.headline.items() if not np.isnan(v)), None)


def _floats(values: np.ndarray) -> list[float]:
    return [float(v) for v in values]


def _ints(values: np.ndarray) -> list[int]:
    return [round(float(v)) for v in values]


def _groups(g: DemandGroups) -> list[list[Any]]:
    """``[weight, district, [build indices], count]`` per group (floats round-trip in JSON)."""
    return [
        [float(w), int(d), [int(b) for b in members], int(n)]
        for w, d, members, n in zip(g.weight, g.district, g.builds, g.count, strict=True)
    ]


def _builds(builds: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in builds.itertuples():
        gain = float(r.gain) if pd.notna(r.gain) else None
        out.append(
            {
                "id": plain_text(r.build_id),
                "name": plain_text(r.name),
                "lon": f"{float(r.lon):.{WHATIF_DECIMALS}f}".rstrip("0").rstrip("."),
                "lat": f"{float(r.lat):.{WHATIF_DECIMALS}f}".rstrip("0").rstrip("."),
                "source": str(r.source),
                "gain": gain,
            }
        )
    return out


def _shapes(st: YearState, thresholds: list[float], drawn: _Drawn) -> dict[str, Any]:
    """Rings (one per threshold) and causes: area, and the index of their drawing in ``geos``."""
    rings = _by_key(st.rings, "threshold_ms")
    causes = _by_key(st.causes, "cause")
    return {
        "rings": [drawn.shape(*rings[t], st.rings.crs) for t in thresholds],
        "causes": [drawn.shape(*causes[c], st.causes.crs) for c in CAUSES],
    }


def _by_key(frame: gpd.GeoDataFrame, column: str) -> dict[Any, tuple[float, Any]]:
    """``{key: (area_km2, geometry)}``, the first row of each key."""
    out: dict[Any, tuple[float, Any]] = {}
    for key, area, geom in zip(frame[column], frame["area_km2"], frame.geometry, strict=True):
        out.setdefault(key, (float(area), geom))
    return out


class _Drawn:
    """The slider's geometries as the page draws them, each once.

    Years share many geometries (the places without access, empty rings): each is
    simplified and reprojected once and written once into the page's ``geos``, where the
    years' shapes point (``geo``: its index, ``null`` when there is nothing to draw). The
    shapes are collected first and drawn in one call (:meth:`finish`), in order of first use.
    """

    def __init__(self, display: Mapping[str, Any]) -> None:
        self.display = display
        self.geos: list[str] = []  # each drawing's JSON text
        self._crs: Any = None
        # By the geometry's id; the entry holds the geometry, so no id is reused.
        self._index: dict[int, tuple[Any, list[dict[str, Any]]]] = {}

    def shape(self, area: float, geom: Any, crs: Any) -> dict[str, Any]:
        """``{"area": km², "geo": index in geos or None}`` of one ring or cause."""
        if self._crs is None:
            self._crs = crs
        elif crs != self._crs:  # one metro, one CRS: never expected
            msg = "the slider's shapes are in more than one CRS"
            raise ValueError(msg)
        out: dict[str, Any] = {"area": area, "geo": None}
        self._index.setdefault(id(geom), (geom, []))[1].append(out)
        return out

    def finish(self) -> JsonText:
        """Draw every shape once, point the shapes at their drawing; return ``geos``.

        ``geos`` is a list of one-feature FeatureCollections, as JSON text
        (``json.dumps(..., sort_keys=True)``'s): the page's largest part, written from the
        coordinate arrays (:func:`~latcircle.present.map.elements.display_texts`).
        """
        entries = list(self._index.values())
        if not entries:  # no year on the slider
            return JsonText("[]")
        geoms = np.array([geom for geom, _ in entries], dtype=object)
        drawn = display_texts(geoms, self._crs, **self.display)
        for (_, uses), shape in zip(entries, drawn, strict=True):
            if shape is None:
                continue
            index = len(self.geos)
            self.geos.append(
                '{"features": [{"geometry": '
                + shape
                + ', "properties": {}, "type": "Feature"}], "type": "FeatureCollection"}'
            )
            for use in uses:
                use["geo"] = index
        return JsonText("[" + ", ".join(self.geos) + "]")


def _warnings(result: RunResult, words: Mapping[str, str]) -> list[str]:
    cfg = result.metro.config
    out = []
    if cfg.synthetic:
        out.append(words["synthetic"])
    if cfg.sites.hypothetical:
        out.append(words["hypothetical"])
    return out


# --------------------------------------------------------------------------- the script


class Workbench(LiteralScripts):
    """The slider, what-if panel, headline, legend folding and the year-dependent layers.

    Every argument but the data names a JavaScript variable of the page (a Folium element's
    name): no data reaches this template except through ``tojson``.
    """

    _template = ElementTemplate("""
        {% macro script(this, kwargs) %}
        lcWorkbench({{ this._parent.get_name() }}, {
            rings: [{% for n in this.rings %}{{ n or "null" }}, {% endfor %}],
            causes: {{ this.causes or "null" }},
            districts: [{% for n in this.districts %}{{ n }}, {% endfor %}],
            labels: {{ this.labels or "null" }},
            sites: {{ this.sites or "null" }},
            legend: { {% for k, names in this.legend.items() %}
                {{ k|tojson }}: [{% for n in names %}{{ n }}, {% endfor %}],{% endfor %}
            }
        });
        {% endmacro %}
    """)

    def __init__(
        self,
        *,
        rings: list[str | None],
        causes: str | None,
        districts: list[str],
        labels: str | None,
        sites: str | None,
        legend: dict[str, list[str]],
    ) -> None:
        super().__init__()
        self._name = "Workbench"
        self.rings = rings
        self.causes = causes
        self.districts = districts
        self.labels = labels
        self.sites = sites
        self.legend = legend
