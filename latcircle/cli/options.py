"""What the commands share: exit codes, the help layout, common options, the stage bar."""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast, overload

from latcircle.errors import InputError
from latcircle.text import terminal_text

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "HelpFormatter",
    "Parents",
    "examples",
    "output_flags",
    "output_options",
    "print_error",
    "stage_bar",
    "verbosity_flags",
]

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2

#: A sub-parser collection, as ``add_subparsers`` returns it.
Subparsers = argparse._SubParsersAction


@dataclass(frozen=True)
class Parents:
    """Parent parsers a command may take: ``-v``/``-q`` (every command) and a run's outputs."""

    common: argparse.ArgumentParser
    outputs: argparse.ArgumentParser


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help`` shows each option's default and keeps the examples' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        # Nothing to show for "no value" defaults, nor twice when the help names it already,
        # nor for a flag (``--no-map``'s default True would read as "on by default").
        if (
            action.nargs == 0
            or action.default in (None, [], 0, False)
            or "default" in (action.help or "")
        ):
            return action.help
        return super()._get_help_string(action)


def examples(*lines: str) -> str:
    """Return a ``--help`` epilog listing example command lines."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def verbosity_flags(level: str) -> argparse.ArgumentParser:
    """Return a parent parser with ``-v``/``-q`` counted into ``verbose_<level>``.

    -v/-q work before or after the sub-command: separate destinations, summed in ``main``,
    because a sub-parser's defaults overwrite what the top-level parser counted.
    """
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        dest=f"verbose_{level}",
        help="more logging (-vv for debug)",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=0,
        dest=f"quiet_{level}",
        help="print nothing but errors",
    )
    return p


class _Names(Sequence[str]):
    """The names of a table of another module, imported when first read.

    Building the parser must not import the module (the exports pull in geopandas, the
    base maps shapely and pyproj): ``latcircle --help`` and the commands that write no
    run never read these. A sub-command's ``--help``, or an option given a value, does.
    As a ``%(...)s`` help field it reads ``a, b, c``.
    """

    def __init__(self, module: str, name: str) -> None:
        self._module, self._name = module, name

    @functools.cached_property
    def _names(self) -> tuple[str, ...]:
        return tuple(getattr(importlib.import_module(self._module), self._name))

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        return self._names[i]

    def __len__(self) -> int:
        return len(self._names)

    def __str__(self) -> str:
        return ", ".join(self._names)


class _Braced:
    """Names shown as argparse shows choices, ``{a,b,c}``, read when first formatted."""

    def __init__(self, names: Sequence[str]) -> None:
        self._names = names

    def __str__(self) -> str:
        return "{" + ",".join(self._names) + "}"


def output_options() -> argparse.ArgumentParser:
    """Options of what a run writes (run, demo, city), passed to ``default_outputs``."""
    basemaps = _Names("latcircle.present.basemaps", "BASEMAPS")
    export_formats = _Names("latcircle.output.exports", "EXPORT_FORMATS")
    export_crs = _Names("latcircle.output.exports", "EXPORT_CRS")

    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--map-assets",
        choices=("inline", "cdn"),
        default="inline",
        help="inline: map.html holds every script and opens offline; cdn: a smaller file "
        "that loads Leaflet from cdn.jsdelivr.net",
    )
    basemap = p.add_argument(
        "--basemap",
        default="osm",
        help="map tiles; amap and tencent are GCJ-02 (overlays shifted to match, for display)",
    )
    p.add_argument(
        "--bands",
        choices=("rings", "cumulative"),
        default="rings",
        help="latency bands on the map: disjoint rings or nested cumulative bands",
    )
    p.add_argument(
        "--lang",
        default=None,
        metavar="{en,zh}",
        help="words of map.html (zh: Chinese, district names from names_local); default: zh "
        "when the config has name_local, else en",
    )
    p.add_argument(
        "--what-if",
        dest="whatif",
        default=None,
        metavar="N",
        help="most builds in the map's what-if panel (1-50; default 10): the plan's new "
        "sites, then the candidates adding most",
    )
    # One value, commas between formats: `--export geojson CONFIG` keeps CONFIG positional
    # (nargs="+" swallowed it). Repeating the option adds formats.
    export = p.add_argument(
        "--export",
        type=_export_formats,
        action="extend",
        default=[],
        metavar="FORMAT[,FORMAT]",
        help="also write the GeoPackage layers to exports/ (%(formats)s, comma-separated)",
    )
    export.formats = export_formats  # type: ignore[attr-defined]  # help's %(formats)s
    crs = p.add_argument(
        "--export-crs",
        default="wgs84",
        help="CRS of the exports: wgs84 (EPSG:4326, default; what web tools load) or local "
        "(the metro's UTM zone, as isochrones.gpkg)",
    )
    _choices(basemap, basemaps)
    _choices(crs, export_crs)
    return p


def _choices(action: argparse.Action, names: _Names) -> None:
    """Give an option its choices after ``add_argument``, which would read them at once.

    (It formats the option's metavar to check it, and the default metavar lists the
    choices.) They are read when shown (``--help``) or when the option is given.
    """
    action.choices = names
    action.metavar = cast(str, _Braced(names))


def _export_formats(text: str) -> list[str]:
    """Parse ``--export``'s value; an unknown format is a usage error (exit 2)."""
    from latcircle.output.exports import parse_export_formats

    try:
        return parse_export_formats(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def output_flags(cmd: argparse.ArgumentParser) -> None:
    """Add ``--no-map`` and ``--no-report`` (commands that write one city's run)."""
    cmd.add_argument(
        "--no-map", dest="maps", action="store_false", help="do not write map.html (batch runs)"
    )
    cmd.add_argument(
        "--no-report",
        dest="report",
        action="store_false",
        help="do not write report.html (batch runs)",
    )


def stage_bar(
    console: Console | Callable[[], Console], stages: Sequence[str], *, quiet: bool
) -> tuple[Callable[[str], None] | None, Callable[[], None]]:
    """Return a progress bar over a run's stages: ``stage 3/10 locate`` with elapsed time.

    ``(on_start, stop)``: ``on_start`` is ``None`` when quiet or not a terminal. The bar
    shares the logs' console, so log lines print above it.

    Parameters
    ----------
    console
        The logs' console, or a function returning it (not called when quiet).
    stages
        The stages' names, in order.
    quiet
        Show nothing.
    """
    if quiet:
        return None, lambda: None
    console = console() if callable(console) else console
    if not console.is_terminal:
        return None, lambda: None
    from latcircle.logs import progress_bar

    progress = progress_bar(console, detail="stages", count="of", timed=True, transient=True)
    task = progress.add_task("starting", total=len(stages))
    progress.start()
    seen: list[str] = []

    def on_start(name: str) -> None:
        # A stage starting means the one before it is done.
        progress.update(task, description=name, completed=len(seen))
        seen.append(name)

    return on_start, progress.stop


def print_error(line: str) -> None:
    """Print an error's line on stderr: one line, any data in it shown as it reads.

    Parameters
    ----------
    line
        The whole line (``latcircle: error: ...``).
    """
    print(terminal_text(line), file=sys.stderr)
