"""The suite's modules are dealt longest first in every xdist worker (tests/conftest.py).

xdist resets the ``dist`` option to ``"no"`` in its workers, so a hook that read ``dist``
alone never sorted there: the modules ran in file-name order and the longest one could
start last, leaving the other worker idle for its whole length. The hook is called here as
a worker calls it (a config with ``workerinput``), and as a serial run does (none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import conftest


@dataclass
class _Item:
    nodeid: str
    marks: tuple[str, ...] = ()

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.marks else None


@dataclass
class _Config:
    dist: str = "no"
    options: dict[str, Any] = field(default_factory=dict)

    def getoption(self, name: str, default: object = None) -> object:
        return self.dist if name == "dist" else default


def _items() -> list[_Item]:
    """Collection order (file names), with one unlisted slow module and two plain ones."""
    return [
        _Item("tests/test_aaa.py::test_one"),
        _Item("tests/test_api.py::test_a"),
        _Item("tests/test_api.py::test_b"),
        _Item("tests/test_browser.py::test_c", ("browser",)),
        _Item("tests/test_mmm.py::test_slow", ("slow",)),
        _Item("tests/test_mmm.py::test_quick"),
        _Item("tests/test_years.py::test_d"),
        _Item("tests/test_zzz.py::test_two"),
    ]


def test_a_worker_deals_the_listed_modules_first_then_slow_modules_then_the_rest() -> None:
    worker = _Config()
    worker.workerinput = {"workerid": "gw0"}  # type: ignore[attr-defined]
    items = _items()
    conftest.pytest_collection_modifyitems(worker, items)  # type: ignore[arg-type]
    by_module = {
        "tests/test_api.py": ["tests/test_api.py::test_a", "tests/test_api.py::test_b"],
        "tests/test_browser.py": ["tests/test_browser.py::test_c"],
        "tests/test_years.py": ["tests/test_years.py::test_d"],
    }
    assert set(by_module) <= set(conftest._LONGEST_FIRST)
    listed = [m for m in conftest._LONGEST_FIRST if m in by_module]  # the list's order
    assert [i.nodeid for i in items] == [
        *(nodeid for module in listed for nodeid in by_module[module]),
        "tests/test_mmm.py::test_slow",  # a module with a slow test: after the listed
        "tests/test_mmm.py::test_quick",  # a module stays together
        "tests/test_aaa.py::test_one",  # the rest in collection order
        "tests/test_zzz.py::test_two",
    ]


def test_a_serial_run_keeps_the_collection_order() -> None:
    items = _items()
    conftest.pytest_collection_modifyitems(_Config(), items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == [i.nodeid for i in _items()]


def test_the_controller_with_loadscope_sorts_too() -> None:
    items = _items()
    conftest.pytest_collection_modifyitems(_Config(dist="loadscope"), items)  # type: ignore[arg-type]
    assert items[0].nodeid == "tests/test_api.py::test_a"
