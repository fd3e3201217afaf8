"""The workers of the local cluster ``latcircle national`` starts (``national_run._client``).

Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` unless told otherwise; that
switches off glibc's dynamic mmap threshold (~1.5 s more system CPU per Wuhan task,
measured). latcircle's local workers run without it, unless the user chose a value. And
they time their event loop once a second, not every 20 ms (Dask's default tick).
"""

from __future__ import annotations

import logging
import os

import dask
import distributed  # noqa: F401 - its defaults must be in dask's config before any config.set
import pytest

from latcircle.national_run import _client, _local_worker_config

KEY = "distributed.nanny.pre-spawn-environ"
TICK = "distributed.admin.tick.interval"


def _worker_settings() -> tuple[str | None, str]:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), str(dask.config.get(TICK))


def test_dask_default_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with dask.config.set({f"{KEY}.MALLOC_TRIM_THRESHOLD_": 65536}):
        cfg = _local_worker_config()
    assert cfg[KEY]["MALLOC_TRIM_THRESHOLD_"] is None
    assert cfg[KEY]["OMP_NUM_THREADS"] == 1  # Dask's other settings kept


def test_a_value_the_user_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with dask.config.set({f"{KEY}.MALLOC_TRIM_THRESHOLD_": 1_000_000}):
        assert KEY not in _local_worker_config()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    assert KEY not in _local_worker_config()


def test_the_tick_is_once_a_second_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL", raising=False)
    with dask.config.set({TICK: "20ms"}):
        assert _local_worker_config()[TICK] == "1s"
    with dask.config.set({TICK: "100ms"}):
        assert TICK not in _local_worker_config()
    monkeypatch.setenv("DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL", "20ms")
    with dask.config.set({TICK: "20ms"}):
        assert TICK not in _local_worker_config()


def test_local_workers_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.delenv("DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL", raising=False)
    with _client(None, 1, logging.WARNING) as client:
        settings = client.run(_worker_settings)
    assert list(settings.values()) == [(None, "1s")]
