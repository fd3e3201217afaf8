"""A config's YAML is parsed once: the node checked is the node constructed.

``config.loading._read_yaml`` composes the text, checks the node graph (size, depth,
duplicate keys), then constructs that same node, where it parsed the text a second time with
``yaml.safe_load``. Its data must be ``yaml.safe_load``'s, value for value and type for
type, on every kind of document a config may hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from latcircle.config.loading import _read_yaml
from latcircle.errors import InputError

REPO = Path(__file__).resolve().parent.parent

DOCUMENTS = {
    "anchors and a merge key": """
base: &base
  crs: gcj02
  names: {"420102": Jiang'an, "420103": 江汉区}
districts:
  <<: *base
  paths: [a.geojson, b.geojson]
again: *base
""",
    "scalars of every kind": """
budget_ms: 1.0
thresholds_ms: [0.5, 1, 2e0, .inf, -.inf]
synthetic: yes
flag: false
empty: null
tilde: ~
year: 2027
octal: 0o17
hex: 0x1f
date: 2026-12-07
stamp: 2026-12-07T15:00:00Z
quoted: "1.0"
""",
    "block strings": """
notes: >-
  folded over
  two lines
literal: |
  kept
    as is
plain: a-b c:d
""",
    "nested sequences": """
targets:
  - {year: 2027, share: 0.70, basis: population}
  - year: 2028
    share: 0.75
    tiers: [[1, 2], [3, [4, 5]]]
""",
    "flow and comments": "# a comment\n{a: 1, b: [x, y], c: {d: e}}  # after\n",
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_one_parse_gives_safe_load_s_data(tmp_path: Path, name: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(DOCUMENTS[name], encoding="utf-8")
    got, want = _read_yaml(path), yaml.safe_load(DOCUMENTS[name])
    assert got == want
    assert repr(got) == repr(want)  # the same types too (1 vs 1.0, dates, key order)


def test_the_shipped_and_the_test_configs(tmp_path: Path) -> None:
    from conftest import _write_tiny_city

    for path in (REPO / "data/cities/wuhan.yaml", _write_tiny_city(tmp_path / "tiny")):
        text = path.read_text(encoding="utf-8")
        assert repr(_read_yaml(path)) == repr(yaml.safe_load(text))


def test_a_duplicate_key_is_still_refused_before_construction(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("a: 1\nb:\n  c: 2\n  c: 3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"b\.c.*duplicate key on line 4 \(first on line 3\)"):
        _read_yaml(path)


@pytest.mark.parametrize(
    ("text", "kind"), [("", "NoneType"), ("- a\n- b\n", "list"), ("just text\n", "str")]
)
def test_a_document_that_is_not_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    assert type(yaml.safe_load(text)).__name__ == kind
    with pytest.raises(InputError, match=f"expected a mapping of keys, got {kind}"):
        _read_yaml(path)


def test_a_second_document_is_refused_as_safe_load_refuses_it(tmp_path: Path) -> None:
    text = "a: 1\n---\nb: 2\n"
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(yaml.YAMLError) as ref:
        yaml.safe_load(text)
    problem = getattr(ref.value, "problem", None)
    assert problem
    with pytest.raises(InputError, match="not valid YAML") as exc:
        _read_yaml(path)
    assert str(problem) in str(exc.value)


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ("a: [1, 2\n", "not valid YAML"),
        ("a: \x07\n", "not valid YAML"),  # unprintable: refused by PyYAML's reader
        ("- 1\n- 2\n", "expected a mapping of keys, got list"),
        ("", "expected a mapping of keys, got NoneType"),
        ("a: 1\na: 2\n", "a"),  # duplicate key
        ("a: !!python/object:os.system x\n", "not valid YAML"),  # safe: no Python objects
    ],
)
def test_bad_documents_are_bad_input(tmp_path: Path, doc: str, words: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(InputError) as info:
        _read_yaml(path)
    assert words in str(info.value)
