"""The pipeline's map step, light to import: the map's modules load when the step runs.

:mod:`latcircle.present.maps` brings folium, branca, requests and xyzservices (about 12 MB
resident on this machine, measured 2026-12-07). A run asks for its steps before its work
(``default_outputs``); imported then, they would stay resident through the analysis stages,
where the run's peak lies. Here the step's options are checked up front, as before, and the
map's modules are imported when the step runs, as the report step imports matplotlib.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from latcircle.analysis.workbench import check_whatif_count
from latcircle.present.map.words import check_lang
from latcircle.system import collector_paused, freeze_imports

if TYPE_CHECKING:
    from latcircle.present.assets import AssetMode
    from latcircle.run import RunResult

__all__ = ["map_writer"]


def map_writer(*, assets: AssetMode = "inline", frozen_heap: bool = False, **options: Any) -> Any:
    """Return the pipeline's map step with options bound (``f(result, folder)``).

    Parameters
    ----------
    assets
        See :func:`latcircle.present.maps.write_map`.
    frozen_heap
        The caller keeps its heap frozen for the run and unfreezes it after (the command
        line): the map's modules join it when imported
        (:func:`latcircle.system.freeze_imports`).
    **options
        Keyword options of :func:`latcircle.present.maps.build_map`.

    Returns
    -------
    callable
        ``f(result, folder) -> Path``, staged as ``write_map``.
    """
    # Checked now, before a run's minutes of work: a bad value stops the run up front.
    check_lang(options.get("lang"))
    if "whatif" in options:
        check_whatif_count(options["whatif"])

    def write(result: RunResult, folder: str | Path) -> Path:
        # The import builds only objects that live as long as the process, and the page's
        # short-lived lists and dicts trigger whole-heap collections that free next to
        # nothing (~0.03 s CPU on Wuhan, measured 2026-12-07): the collector is off.
        with collector_paused():
            from latcircle.present import maps

            freeze_imports(frozen_heap=frozen_heap)
            return maps.write_map(result, folder, assets=assets, **options)

    write.stage_name = "write_map"  # type: ignore[attr-defined]
    write.reuses_years = True  # type: ignore[attr-defined]  # the run keeps them (slider)
    return write
