"""Memory guards and config limits exactly at their boundaries (issue 11).

Each guard is stated before its allocation, computed with Python integers, and its advice
is safe to follow: following it gives a run the guard accepts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rasterio.windows
import shapely
import yaml

from latcircle.analysis.interconnect import (
    BYTES_PER_SITE_PAIR,
    MAX_INTERCONNECT_BYTES,
    _check_pair_memory,
)
from latcircle.config import MAX_CONFIG_BYTES, MAX_THRESHOLDS, load_config
from latcircle.engine.grid import make_grid
from latcircle.errors import InputError
from latcircle.inputs.readers import MAX_RASTER_PIXELS, _check_window_size


def test_interconnect_guard_at_its_limit() -> None:
    # 2 GiB / 128 bytes = 16,777,216 cells = 4,096²: 4,096 sites fit, 4,097 do not.
    fits = 4096
    assert BYTES_PER_SITE_PAIR * fits * fits == MAX_INTERCONNECT_BYTES
    _check_pair_memory(fits, Path("sites.csv"), ["large"])
    with pytest.raises(InputError, match="give at most 4,096 sites those tiers"):
        _check_pair_memory(fits + 1, Path("sites.csv"), ["large"])


def test_interconnect_guard_arithmetic_does_not_overflow() -> None:
    # The 100,000 sites: 10^10 cells, 1.3e12 bytes: past int32 (numpy's default
    # integer on some platforms); Python ints give the exact figure.
    with pytest.raises(InputError) as err:
        _check_pair_memory(100_000, Path("sites.csv"), ["large", "medium"])
    assert "4,999,950,000 interconnect pairs" in str(err.value)
    assert f"{128 * 10**10 / 1024**3:,.1f} GiB" in str(err.value)


def test_population_window_guard_at_its_limit() -> None:
    side = 10_000  # 10,000 x 10,000 = 100 M pixels: exactly the limit
    assert side * side == MAX_RASTER_PIXELS
    _check_window_size(rasterio.windows.Window(0, 0, side, side), Path("pop.tif"))
    with pytest.raises(InputError, match=r"10,001 x 10,000 = 100,010,000 pixels"):
        _check_window_size(rasterio.windows.Window(0, 0, side + 1, side), Path("pop.tif"))


@pytest.mark.parametrize("cell_m", [1.0, 1.7, 2.0])
def test_grid_advice_is_safe_to_follow(cell_m: float) -> None:
    box = shapely.box(0, 0, 10_000, 10_000)
    limit = 20_000_000
    with pytest.raises(InputError) as err:
        make_grid(box, cell_m=cell_m, max_cells=limit)
    advised = float(str(err.value).rsplit("cell_m: ", 1)[1].split()[0])
    grid = make_grid(box, cell_m=advised, max_cells=limit)  # the advice is accepted
    assert grid.shape[0] * grid.shape[1] <= limit


def _config(tiny_city: Path, **changes: object) -> Path:
    raw = yaml.safe_load(tiny_city.read_text(encoding="utf-8"))
    raw.update(changes)
    path = tiny_city.parent / "edited.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_thresholds_at_the_limit(tiny_city: Path) -> None:
    at_limit = [round(0.01 * (i + 1), 2) for i in range(MAX_THRESHOLDS - 1)] + [1.0]
    assert len(set(at_limit)) == MAX_THRESHOLDS
    assert len(load_config(_config(tiny_city, thresholds_ms=at_limit)).thresholds_ms) == 64
    with pytest.raises(InputError, match="at most 64 items"):
        load_config(_config(tiny_city, thresholds_ms=[*at_limit, 2.0]))


def test_config_size_at_the_limit(tiny_city: Path) -> None:
    text = tiny_city.read_text(encoding="utf-8")
    path = tiny_city.parent / "padded.yaml"
    pad = MAX_CONFIG_BYTES - len(text.encode("utf-8")) - 2
    path.write_text(text + "#" + "x" * pad + "\n", encoding="utf-8")
    assert path.stat().st_size == MAX_CONFIG_BYTES
    assert load_config(path).id == "tiny"
    path.write_text(text + "#" + "x" * (pad + 1) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="1,000,001 bytes: too large"):
        load_config(path)


def test_yaml_values_at_the_limit(tmp_path: Path) -> None:
    """A list of 19,999 items is 20,000 values (the list too): read, then refused as not a
    mapping; one item more is refused as too many values, before any object is built."""
    at_limit = tmp_path / "at.yaml"
    at_limit.write_text("[" + ", ".join(["1"] * 19_999) + "]\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected a mapping of keys, got list"):
        load_config(at_limit)
    over = tmp_path / "over.yaml"
    over.write_text("[" + ", ".join(["1"] * 20_000) + "]\n", encoding="utf-8")
    with pytest.raises(InputError, match="YAML holds more than 20,000 values"):
        load_config(over)


def test_alias_bomb_is_measured_not_expanded(tiny_city: Path) -> None:
    """Ten levels of ten aliases (10^10 values) are refused at once, in any key."""
    levels = ["a0: &a0 [" + ", ".join(["x"] * 10) + "]"]
    for i in range(1, 10):
        levels.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    for key in ("name", "thresholds_ms", "sites"):
        bomb = tiny_city.parent / f"bomb-{key}.yaml"
        bomb.write_text("\n".join([*levels, f"{key}: *a9"]) + "\n", encoding="utf-8")
        with pytest.raises(InputError, match="YAML holds more than 20,000 values"):
            load_config(bomb)
