"""The city report's headings in the map's language (``--lang zh``).

The report is written in English by :func:`latcircle.present.report.write_report`; in
Chinese, :func:`localise_report` replaces its fixed headings (exact ``<h2>``/``<h3>`` markup
that latcircle writes, never text from the data) and the page's ``lang``. Body text, tables
and figures stay English (docs/maps-and-gis.md says so).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latcircle.present.map.words import WORDS, check_lang, resolve_lang
from latcircle.present.report import write_report

if TYPE_CHECKING:
    from latcircle.run import RunResult

__all__ = ["HEADINGS_ZH", "localise_report", "report_writer"]

#: Fixed headings of report.html and their Chinese. ``{b}`` is the budget as printed.
HEADINGS_ZH: dict[str, str] = {
    "Within {b} ms": "{b} 毫秒以内",
    "Why the figures are what they are": "数字的由来",
    "Progress toward the targets": "目标进展",
    "Where the circle reaches": "时延圈覆盖范围",
    "Districts": "行政区",
    "Districts within {b} ms": "{b} 毫秒以内的各区覆盖",
    "Compute sites": "算力站点",
    "Largest uncovered clusters": "最大的未覆盖聚集区",
    "Wider tiers: application and LEO": "更广的层级：应用层与低轨卫星",
    "Plan: what to build": "规划：建设内容",
    "Model parameters": "模型参数",
    "Network read": "读取的网络",
    "Inputs": "输入",
    "Notes and repairs": "说明与修复",
    "Data credits": "数据来源",
}


def localise_report(page: str, *, lang: str, budget: str) -> str:
    """Return ``page`` with its fixed headings in ``lang`` (unchanged for ``en``).

    Parameters
    ----------
    page
        report.html as :func:`latcircle.present.report.render_report` writes it.
    lang
        ``"en"`` or ``"zh"``.
    budget
        The budget as the headings print it (``1``).
    """
    if lang != "zh":
        return page
    words = WORDS["zh"]
    table = {
        f"<h2>{k.format(b=budget)}</h2>": f"<h2>{v.format(b=budget)}</h2>"
        for k, v in HEADINGS_ZH.items()
    }
    table |= {
        f"<h3>{k.format(b=budget)}</h3>": f"<h3>{v.format(b=budget)}</h3>"
        for k, v in HEADINGS_ZH.items()
    }
    for cause in ("no_access", "unreachable", "too_far"):
        table[f"<h3>{WORDS['en'][cause]}</h3>"] = f"<h3>{words[cause]}</h3>"
    pattern = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    page = pattern.sub(lambda m: table[m.group(0)], page)
    return page.replace("<html lang='en'>", "<html lang='zh-Hans'>", 1)


def report_writer(*, lang: str | None = None) -> Any:
    """Return the pipeline's report step writing headings in ``lang`` (from the config).

    Parameters
    ----------
    lang
        ``"en"``, ``"zh"``, or ``None``: ``zh`` when the config has ``name_local``.

    Returns
    -------
    callable
        ``f(result, folder) -> Path``, staged as ``write_report``.
    """
    check_lang(lang)

    def write(result: RunResult, folder: str | Path) -> Path:
        cfg = result.metro.config
        chosen = resolve_lang(lang, cfg)
        budget = f"{cfg.budget_ms:g}"

        def finish(page: str) -> str:  # before writing: the page is never read back
            return localise_report(page, lang=chosen, budget=budget)

        return write_report(result, folder, lang=chosen, finish=finish)

    write.stage_name = "write_report"  # type: ignore[attr-defined]
    return write
