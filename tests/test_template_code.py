"""The templates' compiled code kept at install (``present.templating.compile_templates``).

The page environment reads code compiled at install through Jinja2's bytecode cache; these
tests check that the kept code gives the very pages a fresh compile gives (the demo's
``report.html`` byte for byte, hostile text still inert), that it is used only while the
template's source and the environment's settings are those it was compiled from, and that a
run writes nothing there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest
from conftest import copy_run

from latcircle.present import templating
from latcircle.present.templating import (
    CODE_DIR,
    InstalledCode,
    LabelCell,
    LinksCell,
    StatusCell,
    compile_templates,
    environment,
    make_environment,
    settings_digest,
)

PAYLOAD = "<script>{{7*7}}</script>{% raw %}"


def _compiles(env: jinja2.Environment) -> list[str | None]:
    """Record the names of the templates ``env`` compiles from here on (this env only)."""
    names: list[str | None] = []
    original = env.compile

    def compile(source: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        names.append(name)
        return original(source, name, *args, **kwargs)

    env.compile = compile  # type: ignore[method-assign]
    return names


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _table(env: jinja2.Environment) -> str:
    """The by-year table with every cell kind holding the payload (as test_templates)."""
    rows = [
        [
            PAYLOAD,
            StatusCell(PAYLOAD, "#888", f" {PAYLOAD}"),
            LinksCell([(PAYLOAD, PAYLOAD)]),
            LabelCell(PAYLOAD, [PAYLOAD]),
        ]
    ]
    context = {"by_year": {"chart": None, "header": [PAYLOAD], "rows": rows}}
    return env.get_template("dashboard/by_year.html").render(**context)


def test_every_template_is_kept_and_read_back_without_a_compile(tmp_path: Path) -> None:
    written = compile_templates(tmp_path)
    names = make_environment().list_templates()
    assert len(written) == len(names) >= 20  # one file per template
    kept = make_environment(code=InstalledCode(tmp_path))
    compiled = _compiles(kept)
    fresh = make_environment()
    for name in names:
        assert kept.get_template(name) is kept.get_template(name)  # loaded once per env
        # The same code: Jinja2's module-level names of both are the same.
        assert sorted(kept.get_template(name).blocks) == sorted(fresh.get_template(name).blocks)
    assert compiled == []


def test_kept_code_escapes_as_a_fresh_compile(tmp_path: Path) -> None:
    compile_templates(tmp_path)
    kept = make_environment(code=InstalledCode(tmp_path))
    compiled = _compiles(kept)
    page = _table(kept)
    assert compiled == []
    assert page == _table(make_environment())
    assert "<script>" not in page and "{{" not in page and "{%" not in page
    # escape_text's own writing of the payload (braces as references too).
    assert "&lt;script&gt;&#123;&#123;7*7&#125;&#125;&lt;/script&gt;&#123;% raw %&#125;" in page
    assert kept.autoescape("report.html") is True  # type: ignore[operator]


def test_the_demo_report_is_the_same_bytes_from_kept_code(
    demo_run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's report written again, once from a fresh compile, once from kept code."""
    from latcircle.present.report_lang import report_writer

    code = tmp_path / "code"
    compile_templates(code)
    expected = (demo_run.out / "report.html").read_bytes()
    for name, env in (
        ("fresh", make_environment()),
        ("kept", make_environment(code=InstalledCode(code))),
    ):
        compiled = _compiles(env)
        monkeypatch.setattr(templating, "environment", lambda env=env: env)
        run = copy_run(demo_run, tmp_path / name)
        (run.out / "report.html").unlink()
        report_writer()(run, run.out)
        assert (run.out / "report.html").read_bytes() == expected, name
        if name == "kept":
            assert compiled == []
        else:
            assert len(compiled) >= 10  # the report's templates, compiled here


def test_a_changed_template_is_compiled_afresh(tmp_path: Path) -> None:
    pages = tmp_path / "templates"
    pages.mkdir()
    (pages / "a.html").write_text("{{ x }}!", encoding="utf-8")
    (pages / "b.html").write_text("<b>{{ x }}</b>", encoding="utf-8")
    code = tmp_path / "code"
    assert len(compile_templates(code, loader=jinja2.FileSystemLoader(pages))) == 2
    (pages / "a.html").write_text("{{ x }}?", encoding="utf-8")  # edited after install
    env = make_environment(loader=jinja2.FileSystemLoader(pages), code=InstalledCode(code))
    compiled = _compiles(env)
    assert env.get_template("a.html").render(x="<1>") == "&lt;1&gt;?"
    assert env.get_template("b.html").render(x="<1>") == "<b>&lt;1&gt;</b>"
    assert compiled == ["a.html"]  # only the edited one


def test_other_settings_are_a_miss(tmp_path: Path) -> None:
    compile_templates(tmp_path)
    assert InstalledCode(tmp_path).settings == settings_digest()
    other = make_environment(code=InstalledCode(tmp_path, settings="other settings"))
    compiled = _compiles(other)
    assert _table(other) == _table(make_environment())
    assert compiled == ["dashboard/by_year.html", "macros.html"]


def test_a_run_writes_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = make_environment(code=InstalledCode(empty))
    assert _table(env) == _table(make_environment())
    assert list(empty.iterdir()) == []  # compiled, not kept
    kept = tmp_path / "kept"
    compile_templates(kept)
    before = _tree(kept)
    stale = make_environment(code=InstalledCode(kept, settings="other"))
    _table(stale)  # compiled afresh: nothing written either
    assert _tree(kept) == before


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"j2",
        b"not jinja bytecode at all",
        "keep the magic, cut the rest",
        "keep the magic and checksum, garble the code",
    ],
)
def test_unreadable_code_is_compiled_afresh(tmp_path: Path, damage: bytes | str) -> None:
    compile_templates(tmp_path)
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        if damage == "keep the magic, cut the rest":
            bad = data[:10]
        elif damage == "keep the magic and checksum, garble the code":
            bad = data[:-40] + b"\x00garbled\xff" * 4
        else:
            assert isinstance(damage, bytes)
            bad = damage
        path.write_bytes(bad)
    env = make_environment(code=InstalledCode(tmp_path))
    compiled = _compiles(env)
    assert _table(env) == _table(make_environment())
    assert sorted(n or "" for n in compiled) == ["dashboard/by_year.html", "macros.html"]


def test_compiling_again_replaces_only_kept_code(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not ours", encoding="utf-8")
    old = tmp_path / ("0" * 40 + ".j2c")
    old.write_bytes(b"old code")
    written = compile_templates(tmp_path)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "not ours"
    assert not old.exists()  # code of an earlier install: gone
    assert sorted(p.name for p in tmp_path.glob("*.j2c")) == [p.name for p in written]
    assert not list(tmp_path.glob("*.part"))


def test_the_page_environment_reads_the_installed_code() -> None:
    env = environment()
    assert env is environment()  # built once per process
    assert isinstance(env.bytecode_cache, InstalledCode)
    assert env.bytecode_cache.folder == CODE_DIR
    assert env.bytecode_cache.settings == settings_digest()
    assert CODE_DIR.parent.name == "__pycache__"  # beside the package's bytecode, untracked
    assert env.get_template("report.html") is env.get_template("report.html")


def test_without_a_readable_source_nothing_kept_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable() -> str:
        raise FileNotFoundError("templating.py")  # as from a zip import

    monkeypatch.setattr(templating, "settings_digest", unreadable)
    env = environment.__wrapped__()  # built afresh (environment() itself is built once)
    assert env.bytecode_cache is None
    assert _table(env) == _table(make_environment())
