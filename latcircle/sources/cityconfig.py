"""The city config that ``latcircle fetch`` writes (``data/cities/<id>.yaml``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from latcircle.config import load_config
from latcircle.errors import FetchError, InputError
from latcircle.output.cityconfig import ConfigSection, city_config_text
from latcircle.output.files import atomic_file
from latcircle.sources._job import ATTRIBUTION, FILES, SOURCE_DATA, FetchResult, Job
from latcircle.sources.manifest import read_manifest, read_manifest_extra, write_manifest
from latcircle.sources.sites import SITE_COLUMNS, write_sites


def write_config(job: Job, result: FetchResult) -> Path | None:
    """Write ``out/<id>.yaml`` once the required inputs are on disk; return its path."""
    missing = [s for s in ("boundary", "network") if s not in result.files]
    if missing:
        result.notes.append(
            f"config not written: {' and '.join(missing)} missing (run the fetch again)"
        )
        return None
    sites_note = _ensure_sites_file(job, result)
    path = job.out / f"{job.city.city_id}.yaml"
    text = _config_text(job, result, sites_note)
    previous = read_manifest_extra(job.folder).get("config_sha256")
    if path.exists():
        current = hashlib.sha256(path.read_bytes()).hexdigest()
        if current == hashlib.sha256(text.encode()).hexdigest():
            return path
        if previous is not None and current != previous:
            result.notes.append(f"{path} was edited by hand: left as it is")
            return None
    atomic_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    try:
        load_config(path)
    except InputError as exc:  # pragma: no cover - a bug here, not the user's
        result.failed["config"] = FetchError("config", f"written config is invalid: {exc}")
    write_manifest(
        job.folder,
        read_manifest(job.folder),
        config_sha256=hashlib.sha256(text.encode()).hexdigest(),
    )
    return path


def _ensure_sites_file(job: Job, result: FetchResult) -> str | None:
    """Make sure the sites file exists; return the YAML comment when it has no site."""
    path = job.folder / FILES["sites"]
    if not path.exists():
        write_sites(pd.DataFrame(columns=SITE_COLUMNS), path)
        result.notes.append(f"sites not fetched: {path} has a header only")
    result.files["sites"] = path
    try:
        rows = len(pd.read_csv(path, dtype=str))
    except (OSError, ValueError, pd.errors.ParserError):
        rows = 0
    if rows:
        return None
    return (
        "No compute site was found in OpenStreetMap or PeeringDB. Add hypothetical sites to\n"
        f"{job.city.city_id}/{FILES['sites']} (one row per site: id, name, lon, lat, and\n"
        "optionally tier and online_year) and set hypothetical: true below; the run\n"
        "refuses an empty sites file."
    )


def _config_text(job: Job, result: FetchResult, sites_note: str | None) -> str:
    city, rel = job.city, job.city.city_id
    used = sorted({d for s in result.files for d in SOURCE_DATA.get(s, ())})
    header = [
        f"City config of {city.name} ({city.name_local}, {city.province}, adcode {city.adcode}),",
        "written by `latcircle fetch`. Edit freely: a later fetch leaves an edited file alone.",
        "",
        "Sources and licences:",
        *[f"- {ATTRIBUTION[d]['text']}" for d in used],
    ]
    if "key_sites" in result.files:
        header += ["", "Key-site OSM tags: " + json.dumps(job.key_site_tags, ensure_ascii=False)]
    sections: list[ConfigSection] = [
        (
            "\n".join(header),
            {
                "id": city.city_id,
                "name": city.name,
                "name_local": city.name_local,
                "notes": _notes(job, result),
                "boundary": {"path": f"{rel}/{FILES['boundary']}"},
            },
        )
    ]
    if "districts" in result.files:
        sections.append(
            (None, {"districts": {"path": f"{rel}/{FILES['districts']}", "name_field": "name"}})
        )
    network: dict[str, Any] = {"path": f"{rel}/{FILES['network']}", "kind": "road"}
    if job.highway is not None:
        network["highway"] = list(job.highway)
    sections.append(
        ("Roads as a proxy for ducts, filtered to the duct-carrying classes.", {"network": network})
    )
    sites: dict[str, Any] = {"path": f"{rel}/{FILES['sites']}", "lon": "lon", "lat": "lat"}
    if sites_note is not None:
        sites["hypothetical"] = False
        sites["note"] = "no known compute site: add hypothetical ones"
    sections.append((sites_note, {"sites": sites}))
    if "population" in result.files:
        sections.append(
            (
                None,
                {
                    "population": {
                        "path": f"{rel}/{FILES['population']}",
                        "note": "WorldPop 2020, 100 m, people per pixel (CC BY 4.0)",
                    }
                },
            )
        )
    if "key_sites" in result.files:
        sections.append(
            (
                None,
                {
                    "key_sites": {
                        "path": f"{rel}/{FILES['key_sites']}",
                        "name_field": "name",
                        "category_field": "category",
                    }
                },
            )
        )
    return city_config_text(sections)


def _notes(job: Job, result: FetchResult) -> str:
    manifest = read_manifest(job.folder)
    dates = sorted({str(e.get("fetched_at", ""))[:10] for e in manifest.values()} - {""})
    text = f"Fetched from public sources ({', '.join(dates) or 'unknown date'})"
    if "key_sites" in result.files:
        cats = manifest.get("key_sites", {}).get("categories", {})
        if cats:
            text += "; key sites by OSM category: " + ", ".join(
                f"{k} {v}" for k, v in sorted(cats.items())
            )
    return text + "."
