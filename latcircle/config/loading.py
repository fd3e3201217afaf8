"""Loading a city config: safe YAML reading, path resolution, file checks, validation."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from latcircle.config.city import CityConfig
from latcircle.config.messages import _clip, _one_line
from latcircle.errors import InputError

#: Largest config file read (a city config is a few kB): a 60 MB file, ``/dev/zero`` or a
#: FIFO is refused before it is read.
MAX_CONFIG_BYTES = 1_000_000
#: Largest number of values the YAML may expand to through aliases (an alias bomb expands
#: to billions while its text stays tiny).
MAX_YAML_VALUES = 20_000
#: Deepest nesting of YAML collections (a config nests four levels).
MAX_YAML_DEPTH = 64
#: Config keys naming input files (a string there is a path).
_ROLES = ("boundary", "districts", "network", "sites", "population", "key_sites")


def load_config(path: str | Path, **overrides: Any) -> CityConfig:
    """Read, validate and resolve a city config.

    Parameters
    ----------
    path
        The YAML file. Relative input paths resolve against its folder.
    **overrides
        Top-level keys replacing those in the file (e.g. ``year=2027``).

    Returns
    -------
    CityConfig
        Validated, with absolute input paths that exist.

    Raises
    ------
    InputError
        For an unreadable file, YAML that is not a mapping, an unknown key, a wrong type,
        a bad value or a missing input file; the message names the file and the key.
    """
    path = Path(path)
    raw = _read_yaml(path)
    raw.update(overrides)
    _check_text(raw, path, ())
    _check_empty_paths(raw, path)
    try:
        _resolve_paths(raw, path.parent)
        cfg = CityConfig.model_validate(raw)
    except ValidationError as exc:
        raise _one_line(path, exc) from None
    except (OSError, ValueError, RecursionError) as exc:  # a path the OS cannot take
        raise InputError(path, None, f"unusable value: {_clip(str(exc))}") from None
    _check_files(cfg, path)
    cfg._source = path
    return cfg


def _read_yaml(path: Path) -> dict[str, Any]:
    text = _read_config_text(path)
    # Parsed once: the checked node is constructed as ``yaml.safe_load`` constructs the node
    # it composes (``get_single_data``: compose, then ``construct_document``), not parsed again.
    try:
        loader = yaml.SafeLoader(text)  # its reader refuses unprintable text: a YAMLError too
        try:
            node = loader.get_single_node()
            _check_yaml_size(node, path)
            _check_duplicate_keys(node, path)  # PyYAML keeps the last silently
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise InputError(path, where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except RecursionError:
        problem = f"YAML nested more than {MAX_YAML_DEPTH} levels deep"
        raise InputError(path, None, problem) from None
    if not isinstance(data, dict):
        raise InputError(path, None, f"expected a mapping of keys, got {type(data).__name__}")
    return data


def _read_config_text(path: Path) -> str:
    """Read a config that is a regular, small UTF-8 file (never a FIFO or a device)."""
    try:
        info = path.stat()
        regular = stat.S_ISREG(info.st_mode)
        if regular and info.st_size <= MAX_CONFIG_BYTES:
            with path.open("rb") as fh:  # read no more than the limit, whatever stat said
                data = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise InputError(path, None, "config file not found") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise InputError(path, None, f"cannot read config: {_clip(str(exc))}") from None
    if not regular:
        raise InputError(path, None, "not a regular file (a folder, FIFO or device?)")
    if info.st_size > MAX_CONFIG_BYTES:
        problem = f"{info.st_size:,} bytes: too large for a city config (at most "
        raise InputError(path, None, f"{problem}{MAX_CONFIG_BYTES:,})")
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(path, None, f"too large for a city config (over {MAX_CONFIG_BYTES:,})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _check_yaml_size(node: yaml.Node | None, path: Path) -> None:
    """Refuse YAML whose aliases expand past :data:`MAX_YAML_VALUES` or nest too deep.

    Counted on the node graph with one count per node (memoised), so a bomb of nested
    aliases is measured in microseconds instead of being expanded.
    """
    sizes: dict[int, int] = {}

    def size(n: yaml.Node, depth: int) -> int:
        if depth > MAX_YAML_DEPTH:
            raise RecursionError
        if id(n) in sizes:
            return sizes[id(n)]
        if isinstance(n, yaml.MappingNode):
            total = 1 + sum(size(k, depth + 1) + size(v, depth + 1) for k, v in n.value)
        elif isinstance(n, yaml.SequenceNode):
            total = 1 + sum(size(v, depth + 1) for v in n.value)
        else:
            total = 1
        sizes[id(n)] = total
        return total

    if node is not None and size(node, 0) > MAX_YAML_VALUES:
        problem = (
            f"YAML holds more than {MAX_YAML_VALUES:,} values (aliases counted each time "
            "they are used): far more than a city config needs"
        )
        raise InputError(path, None, problem)


def _check_text(value: Any, path: Path, loc: tuple[str, ...]) -> None:
    """Refuse strings no output can hold: lone surrogates anywhere, NUL in a path."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_text(k, path, loc)
            _check_text(v, path, (*loc, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_text(v, path, (*loc, str(i)))
    elif isinstance(value, str):
        key = ".".join(loc) or None
        bad = next((c for c in value if "\ud800" <= c <= "\udfff"), None)
        if bad is not None:
            problem = f"lone surrogate U+{ord(bad):04X} in the text: not valid Unicode"
            raise InputError(path, key, problem)
        if "\x00" in value and _is_path_key(loc):
            raise InputError(path, key, "a NUL character in a path")


def _is_path_key(loc: tuple[str, ...]) -> bool:
    """Whether a config location holds a file path (``boundary: x.gpkg`` included)."""
    if not loc:
        return False
    if len(loc) == 1:
        return loc[0] in _ROLES
    return loc[-1] == "path" or loc[-2] == "paths"


def _resolve_paths(raw: dict[str, Any], folder: Path) -> None:
    """Make input paths absolute, relative to the config's folder."""
    for role in ("boundary", "districts", "network", "sites", "population", "key_sites"):
        spec = raw.get(role)
        if isinstance(spec, str):
            spec = raw[role] = {"path": spec}
        if not isinstance(spec, dict):
            continue
        if isinstance(spec.get("path"), str):
            spec["path"] = str((folder / spec["path"]).resolve())
        if isinstance(spec.get("paths"), list):
            spec["paths"] = [
                str((folder / p).resolve()) if isinstance(p, str) else p for p in spec["paths"]
            ]
            spec.setdefault("path", spec["paths"][0] if spec["paths"] else str(folder))
    tiers = raw.get("tiers")
    gw = tiers.get("gateways") if isinstance(tiers, dict) else None
    if isinstance(tiers, dict) and isinstance(gw, str) and gw != "at_sites":
        tiers["gateways"] = str((folder / gw).resolve())
    net = raw.get("network")
    if isinstance(net, dict) and isinstance(net.get("additions"), str):
        net["additions"] = str((folder / net["additions"]).resolve())
    plan = raw.get("plan")
    if isinstance(plan, dict) and isinstance(plan.get("candidates"), str):
        plan["candidates"] = {"path": plan["candidates"]}
    for key in ("candidates", "cost_factors", "known_dc"):
        if isinstance(plan, dict) and isinstance(plan.get(key), str):
            plan[key] = {"path": plan[key]}
        if isinstance(plan, dict) and isinstance(plan.get(key), dict):
            cand = plan[key]
            if isinstance(cand.get("path"), str):
                cand["path"] = str((folder / cand["path"]).resolve())


def _check_files(cfg: CityConfig, path: Path) -> None:
    for role, files in cfg.input_paths().items():
        for i, file in enumerate(files):
            key = f"{role}.paths[{i}]" if len(files) > 1 else f"{role}.path"
            try:
                found = file.exists()
            except (OSError, ValueError) as exc:  # a name over the OS limit, say
                why = getattr(exc, "strerror", None) or _clip(str(exc))
                raise InputError(path, key, f"unusable path: {why}") from None
            if not found:
                raise InputError(path, key, f"file not found: {file}")
            if file.is_dir():
                raise InputError(path, key, f"a folder, not a file: {file}")


def _check_duplicate_keys(node: yaml.Node | None, path: Path) -> None:
    """Refuse a mapping that gives a key twice (YAML forbids it; PyYAML keeps the last)."""
    stack: list[tuple[yaml.Node, str]] = [(node, "")] if node is not None else []
    seen_nodes: set[int] = set()
    while stack:
        n, at = stack.pop()
        if id(n) in seen_nodes:  # an alias: its node is checked once
            continue
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in n.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else None
                where = f"{at}.{name}" if at and name is not None else name or at
                if name is not None and name in first:
                    line = key.start_mark.line + 1
                    problem = f"duplicate key on line {line} (first on line {first[name]})"
                    raise InputError(path, where, problem)
                if name is not None:
                    first[name] = key.start_mark.line + 1
                stack.append((value, where or ""))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend((item, f"{at}.{i}" if at else str(i)) for i, item in enumerate(n.value))


def _check_empty_paths(raw: dict[str, Any], path: Path) -> None:
    """Refuse an empty path string (it would name the config's own folder)."""
    for role in _ROLES:
        spec = raw.get(role)
        value = spec.get("path") if isinstance(spec, dict) else spec
        key = f"{role}.path" if isinstance(spec, dict) else role
        if isinstance(value, str) and not value.strip():
            raise InputError(path, key, "empty path: name the file")
    plan = raw.get("plan")
    cand = plan.get("candidates") if isinstance(plan, dict) else None
    value = cand.get("path") if isinstance(cand, dict) else cand
    if isinstance(value, str) and not value.strip():
        raise InputError(path, "plan.candidates", "empty path: name the file")


def config_from_mapping(raw: dict[str, Any], *, source: str = "config") -> CityConfig:
    """Validate a city config given as a mapping (the Python API), as :func:`load_config` does.

    Input paths must be absolute (nothing is resolved against a folder); every input file
    must exist.

    Parameters
    ----------
    raw
        The config's keys and values, as in a YAML config.
    source
        Names the config in error messages.

    Returns
    -------
    CityConfig

    Raises
    ------
    InputError
        For an unknown key, a wrong type, a bad value or a missing input file, in one line
        naming ``source`` and the key (as for a YAML file).
    """
    where = Path(source)
    _check_text(raw, where, ())
    try:
        cfg = CityConfig.model_validate(raw)
    except ValidationError as exc:
        raise _one_line(where, exc) from None
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(where, None, f"unusable value: {_clip(str(exc))}") from None
    _check_files(cfg, where)
    return cfg
