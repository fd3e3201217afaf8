"""A config's YAML parsed once: the data ``yaml.safe_load`` gives, and the same refusals.

``config.loading._read_yaml`` composes the text once, checks the node (size, duplicate
keys), then constructs that node; the reference is ``yaml.safe_load`` of the same text (the
way before: compose, check, then parse again), on every config in the repository and on
made-up documents with anchors, aliases, merge keys, tags, dates, nulls, and bad YAML.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from latcircle.config.loading import _read_yaml
from latcircle.errors import InputError

ROOT = Path(__file__).resolve().parent.parent

DOCS = [
    "a: 1\nb: [1, 2.5, '3']\nc: {d: null, e: ~, f: true}\n",
    "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b, *b]\n",
    "when: 2027-01-01\nshare: .7\nhex: 0x1f\nbig: 1e400\nneg: -.inf\nnan: .nan\n",
    'text: |\n  line one\n  line two\nfolded: >-\n  a\n  b\nquoted: "\\u6b66\\u6c49"\n',
    "ids:\n  '420102': Jiang'an\n  420103: Jianghan\nset: !!set {a, b}\n",
]


def _configs() -> list[Path]:
    return sorted((ROOT / "data").rglob("*.yaml"))


@pytest.mark.parametrize("path", _configs(), ids=lambda p: p.name)
def test_repository_configs_read_as_safe_load(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = yaml.safe_load(text)
    if not isinstance(expected, dict):
        pytest.skip("not a mapping")
    assert _read_yaml(path) == expected


@pytest.mark.parametrize("doc", DOCS)
def test_made_up_documents_read_as_safe_load(tmp_path: Path, doc: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(doc, encoding="utf-8")
    got = _read_yaml(path)
    assert got == yaml.safe_load(doc)
    assert [type(v) for v in got.values()] == [type(v) for v in yaml.safe_load(doc).values()]


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
