"""The map's words in English and Chinese (``--lang en|zh``).

Only fixed words live here; names come from the data (district ``name_local``, the config's
``name_local``). Every text reaches the page as text (``textContent``) or escaped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from latcircle.errors import InputError

if TYPE_CHECKING:
    from latcircle.config import CityConfig

__all__ = ["LANGS", "WORDS", "check_lang", "district_display_names", "resolve_lang"]

log = logging.getLogger(__name__)

#: The languages of the map, and the page's ``lang`` attribute for each.
LANGS: dict[str, str] = {"en": "en", "zh": "zh-Hans"}

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "lang_code": "en",
        "circle": "{budget} ms latency circle",
        "category": "Category",
        "district": "District",
        "latency": "Latency",
        "serving": "Serving site",
        "drop": "Drop to network",
        "status": "Status",
        "online": "online",
        "not_online": "planned, not online in this scenario",
        "site_id": "Site id",
        "tier": "Tier",
        "online_year": "Online year",
        "people_within": "People within {budget} ms",
        "keys_within": "Key-site weight within {budget} ms",
        "area_within": "Area within {budget} ms",
        "note": "Note",
        "hypothetical_site": "hypothetical site (a scenario, not a known facility)",
        "plan_layer": "Plan: what to build ({n})",
        "title": "{city}: {budget} ms latency circle",
        "headline": "Within {budget} ms",
        "scenario_year": "sites online by {year}",
        "scenario_all": "all sites online",
        "year_label": "Scenario year",
        "year_all": "all",
        "year_note": "Rings, causes, district shares and the headline follow the year; key "
        "sites, heat and clusters show the run's scenario ({run}).",
        "sites_online": "Sites online: {n}",
        "whatif": "What if: add compute sites",
        "whatif_note": "Each box adds a site as latcircle run --add-site LON,LAT does "
        "(default device latency, online every year).",
        "whatif_none": "No candidate site adds coverage in {year}: what is not covered "
        "lacks access (fibre), which a site cannot bring.",
        "whatif_plan": "plan",
        "whatif_gain": "+{gain} {basis} {when}",
        "when_year": "in {year}",
        "when_all": "with all sites online",
        "tiles_unavailable": "Base-map tiles unavailable (offline or blocked): layers drawn "
        "over a plain background.",
        "whatif_added": "with {n} added",
        "legend": "Legend",
        "legend_show": "Show legend",
        "legend_hide": "Hide legend",
        "panel_show": "Show year and what-if panel",
        "panel_hide": "Hide year and what-if panel",
        "rings": "One-way latency to the nearest site",
        "causes": "Not within {budget} ms, by cause (area)",
        "heat": "Uncovered people per {cell} km cell",
        "clusters": "Largest uncovered clusters (outlined by cause)",
        "districts": "Districts: {basis} within {budget} ms",
        "no_data": "no data",
        "key_sites": "Key sites (markers)",
        "key_weight": "key-site weight",
        "markers": "markers",
        "compute_sites": "Compute sites",
        "planned": "planned (not online)",
        "other": "other",
        "tier_large": "large",
        "tier_medium": "medium",
        "tier_edge": "edge",
        "tier_other": "other",
        "ring": "Latency ≤ {upper} ms",
        "ring_short": "≤ {upper} ms",
        "ring_short_between": "{lower}–{upper} ms",
        "ring_between": "Latency {lower}–{upper} ms",
        "layer_causes": "Not covered, by cause",
        "layer_districts": "Districts",
        "layer_labels": "District labels (share)",
        "layer_boundary": "Metro boundary",
        "layer_sites": "Compute sites",
        "layer_heat": "Uncovered population (heat)",
        "layer_clusters": "Largest uncovered clusters",
        "layer_key": "Key sites: {status}",
        "synthetic": "SYNTHETIC — every input is generated; nothing real is depicted",
        "hypothetical": "HYPOTHETICAL compute sites — a scenario, not known facilities",
        "covered": "covered",
        "no_access": "no access (build access)",
        "unreachable": "unreachable (connect the network or build a site there)",
        "too_far": "too far (build compute nearer)",
        "key_sites_basis": "Key sites",
        "population": "Population",
        "area": "Area",
        "of": "of",
        "km2": "km²",
    },
    "zh": {
        "lang_code": "zh",
        "circle": "{budget} 毫秒时延圈",
        "category": "类别",
        "district": "行政区",
        "latency": "时延",
        "serving": "服务站点",
        "drop": "到网络的引入距离",
        "status": "状态",
        "online": "已上线",
        "not_online": "规划中，本情景未上线",
        "site_id": "站点编号",
        "tier": "等级",
        "online_year": "上线年份",
        "people_within": "{budget} 毫秒内人口",
        "keys_within": "{budget} 毫秒内重点场所权重",
        "area_within": "{budget} 毫秒内面积",
        "note": "说明",
        "hypothetical_site": "假设站点（情景，并非已知设施）",
        "plan_layer": "规划：建设内容（{n}）",
        "title": "{city}：{budget} 毫秒时延圈",
        "headline": "{budget} 毫秒以内",
        "scenario_year": "{year} 年前上线的站点",
        "scenario_all": "全部站点上线",
        "year_label": "情景年份",
        "year_all": "全部",
        "year_note": "时延环、未覆盖原因、各区占比和标题数字随年份变化；重点场所、热力图和聚集区"
        "为本次运行的情景（{run}）。",
        "sites_online": "已上线站点：{n}",
        "whatif": "假设：新增算力站点",
        "whatif_note": "每个选项相当于 latcircle run --add-site 经度,纬度"
        "（默认设备时延，每年在线）。",
        "whatif_none": "{year} 年没有候选站点能增加覆盖："
        "未覆盖处缺少接入（光纤），新增站点无法解决。",
        "whatif_plan": "规划",
        "whatif_gain": "{when}{basis}增加 {gain}",
        "when_year": "{year} 年",
        "when_all": "全部站点上线时",
        "tiles_unavailable": "底图瓦片无法加载（离线或被屏蔽）：图层绘制在空白背景上。",
        "whatif_added": "新增 {n} 个",
        "legend": "图例",
        "legend_show": "显示图例",
        "legend_hide": "隐藏图例",
        "panel_show": "显示年份与假设面板",
        "panel_hide": "隐藏年份与假设面板",
        "rings": "到最近站点的单向时延",
        "causes": "未在 {budget} 毫秒以内的区域（按原因）",
        "heat": "每 {cell} 公里网格未覆盖人口",
        "clusters": "最大的未覆盖聚集区（按原因描边）",
        "districts": "各区：{basis} {budget} 毫秒以内占比",
        "no_data": "无数据",
        "key_sites": "重点场所（标记）",
        "key_weight": "重点场所权重",
        "markers": "个标记",
        "compute_sites": "算力站点",
        "planned": "规划中（未上线）",
        "other": "其他",
        "tier_large": "大型",
        "tier_medium": "中型",
        "tier_edge": "边缘",
        "tier_other": "其他",
        "ring": "时延 ≤ {upper} 毫秒",
        "ring_short": "≤ {upper} 毫秒",
        "ring_short_between": "{lower}–{upper} 毫秒",
        "ring_between": "时延 {lower}–{upper} 毫秒",
        "layer_causes": "未覆盖（按原因）",
        "layer_districts": "行政区",
        "layer_labels": "行政区标注（占比）",
        "layer_boundary": "市域边界",
        "layer_sites": "算力站点",
        "layer_heat": "未覆盖人口（热力）",
        "layer_clusters": "最大的未覆盖聚集区",
        "layer_key": "重点场所：{status}",
        "synthetic": "合成数据——所有输入均为生成，不代表真实情况",
        "hypothetical": "假设的算力站点——情景，并非已知设施",
        "covered": "已覆盖",
        "no_access": "无接入（需建设接入）",
        "unreachable": "不可达（需连通网络或就地建站）",
        "too_far": "过远（需就近建设算力）",
        "key_sites_basis": "重点场所",
        "population": "人口",
        "area": "面积",
        "of": "/",
        "km2": "平方公里",
    },
}


def resolve_lang(lang: str | None, cfg: CityConfig) -> str:
    """Return the map's language: ``lang``, or ``zh`` when the config has ``name_local``.

    Parameters
    ----------
    lang
        ``"en"``, ``"zh"`` or ``None`` (from the config).
    cfg
        The city config.

    Returns
    -------
    str

    Raises
    ------
    InputError
        For a language other than ``en`` and ``zh``.
    """
    if lang is None:
        return "zh" if cfg.name_local else "en"
    return check_lang(lang) or "en"


def check_lang(lang: str | None) -> str | None:
    """Return ``lang`` when it is ``None`` (from the config) or a language of :data:`LANGS`.

    Raises
    ------
    InputError
        For any other value.
    """
    if lang is not None and lang not in LANGS:
        raise InputError("--lang", None, f"must be one of {', '.join(LANGS)}, not {lang!r}")
    return lang


def district_display_names(
    names: list[str], local: list[str] | None, *, lang: str, city: str
) -> list[str]:
    """Return the districts' names as the map shows them.

    In Chinese, a district's ``name_local`` where it has one, else its name: a config without
    local names (``districts.names_local`` or a ``name_local`` field) falls back to the names
    it has, and says so once in the log.

    Parameters
    ----------
    names
        The names, in index order.
    local
        The local names (``""`` where unknown), or ``None``.
    lang
        ``"en"`` or ``"zh"``.
    city
        The config, named in the log line.
    """
    if lang != "zh":
        return list(names)
    local = local or [""] * len(names)
    missing = sum(1 for v in local if not v)
    if missing:
        log.warning(
            "%s: --lang zh: %d of %d districts have no local name (districts.names_local or a "
            "name_local field); their names are shown as given",
            city,
            missing,
            len(names),
        )
    return [loc or name for name, loc in zip(names, local, strict=True)]
