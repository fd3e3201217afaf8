"""``run.json``'s versions: read once per process, the same as asking importlib each time."""

from __future__ import annotations

import importlib.metadata
import platform

import pytest

import latcircle
from latcircle.output import record


def test_versions_are_the_installed_ones() -> None:
    got = record.package_versions()
    assert got["python"] == platform.python_version()
    assert got["latcircle"] == latcircle.__version__
    for name in record._VERSIONED:
        assert got[name] == importlib.metadata.version(name)
    assert list(got) == ["python", "latcircle", *record._VERSIONED]
    got["numpy"] = "changed by a caller"  # each call returns its own dict
    assert record.package_versions()["numpy"] == importlib.metadata.version("numpy")


def test_a_missing_package_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    record._installed_versions.cache_clear()
    monkeypatch.setattr(record, "_VERSIONED", ("numpy", "no-such-package-latcircle-test"))
    try:
        got = record.package_versions()
        assert got["no-such-package-latcircle-test"] is None
        assert got["numpy"] == importlib.metadata.version("numpy")
    finally:
        record._installed_versions.cache_clear()  # the real list again for later tests
