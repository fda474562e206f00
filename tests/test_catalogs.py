"""The catalogs are complete, and nothing an operator sees escapes them.

- every message of every shipped language is translated, not fuzzy, with the same
  placeholders as its English original (babel's own checks);
- the ``.pot`` and every ``.po`` hold exactly the messages the sources mark today;
- templates show no text outside ``_()``/``ngettext()`` (or Flask-Admin's ``_gettext()``,
  whose messages must then be in Flask-Admin's catalogs), and Python code hands operators
  no bare string: flashes, form errors, refusals and CLI output go through ``_()``;
- catalogs are read from the ``.po`` when no up-to-date ``.mo`` exists; the maintainers'
  commands extract, update, compile and start catalogs.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import time
import typing as t
from html.parser import HTMLParser
from pathlib import Path

import flask_admin.translations
import pytest
from babel.messages.pofile import read_po, write_po
from click.testing import CliRunner
from jinja2 import Environment

from dashboard import i18n
from dashboard.cli import main
from dashboard.i18n import catalogs

REPO = Path(__file__).resolve().parent.parent
FLASK_ADMIN_CATALOGS = Path(flask_admin.translations.__path__[0])
TEMPLATES = sorted([*(REPO / "templates").glob("**/*.html"), *(REPO / "plugins").glob("**/templates/**/*.html")])
SOURCES = sorted([*(REPO / "dashboard").glob("**/*.py"), *(REPO / "plugins").glob("**/*.py")])
#: Shown as they are in every language: the product's name and SQL's NULL.
UNTRANSLATED_WORDS = {"dashboard", "NULL"}


def _ids(catalog) -> set:
    return {message.id for message in catalog if message.id}


@pytest.fixture(scope="module")
def template():
    return catalogs.read_catalog(catalogs.TRANSLATIONS_DIR / "dashboard.pot")


# -- complete catalogs -------------------------------------------------------------------------


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_message_is_translated_and_none_is_fuzzy(locale: str, template) -> None:
    po = catalogs.po_path(catalogs.TRANSLATIONS_DIR, locale)
    catalog = catalogs.read_catalog(po, locale)
    assert _ids(catalog) == _ids(template), f"{po} is not up to date with dashboard.pot: dashboard translations update"
    untranslated = [m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.id, tuple) else m.string)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"{locale}: untranslated {untranslated[:10]}"
    assert not fuzzy, f"{locale}: fuzzy {fuzzy[:10]}"
    plural_sizes = {len(m.string) for m in catalog if isinstance(m.id, tuple)}
    assert plural_sizes <= {catalog.num_plurals}, f"{locale}: plurals must have {catalog.num_plurals} forms"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, f"{locale}: {problems[:5]}"  # e.g. a %(name)s lost or misspelled


def test_the_catalogs_hold_exactly_what_the_sources_mark(template) -> None:
    extracted = catalogs.extract_messages(REPO)
    missing, stale = _ids(extracted) - _ids(template), _ids(template) - _ids(extracted)
    assert not missing and not stale, (
        f"dashboard.pot lacks {sorted(map(str, missing))[:10]} and still has {sorted(map(str, stale))[:10]}: "
        "run dashboard translations extract, then update, and translate"
    )


def test_every_shipped_language_has_flask_admins_catalog_too() -> None:
    for locale in i18n.LOCALES:
        found = gettext.find("admin", str(FLASK_ADMIN_CATALOGS), [locale])
        assert found, f"Flask-Admin has no catalog for {locale}"
        if locale != "en":
            translations = gettext.translation("admin", str(FLASK_ADMIN_CATALOGS), [locale])
            assert translations.gettext("Save") != "Save", locale


# -- nothing shown outside the catalogs ----------------------------------------------------------


class _VisibleText(HTMLParser):
    """The text and the shown attributes of a template whose Jinja parts are ``\\x00``."""

    SHOWN_ATTRIBUTES: t.ClassVar = {"title", "placeholder", "alt", "aria-label", "label"}
    SKIPPED: t.ClassVar = {"script", "style", "code"}

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping.append(tag)
        shown = dict(attrs)
        for name, value in attrs:
            if value and (
                name in self.SHOWN_ATTRIBUTES
                or name.startswith("data-")
                and name.endswith("-label")
                or (name == "value" and shown.get("type") in ("submit", "button"))
            ):
                self.found.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.found.append(data)


def _skeleton(source: str) -> str:
    """The template's own text, each Jinja expression, tag or comment replaced by ``\\x00``."""
    parts: list[str] = []
    for _line, kind, value in Environment(extensions=["jinja2.ext.i18n"]).lex(source):
        if kind == "data":
            parts.append(value)
        elif kind in ("variable_begin", "block_begin"):
            parts.append("\x00")
    return "".join(parts)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(REPO)))
def test_templates_show_no_text_outside_translation_calls(path: Path) -> None:
    parser = _VisibleText()
    parser.feed(_skeleton(path.read_text(encoding="utf-8")))
    words = {word for text in parser.found for word in re.findall(r"[^\W\d_]{2,}", text.replace("\x00", " "))}
    assert not words - UNTRANSLATED_WORDS, f"{path.name} shows untranslated text: {sorted(words - UNTRANSLATED_WORDS)}"


@pytest.mark.parametrize("locale", [locale for locale in i18n.LOCALES if locale != "en"])
def test_flask_admin_messages_used_in_templates_are_in_its_catalogs(locale: str) -> None:
    used = {
        match.group(2)
        for path in TEMPLATES
        for match in re.finditer(r"_gettext\(\s*(['\"])(.*?)\1", path.read_text(encoding="utf-8"))
    }
    with open(FLASK_ADMIN_CATALOGS / locale / "LC_MESSAGES" / "admin.po", "rb") as handle:
        translated = {m.id for m in read_po(handle) if m.id and m.string and not m.fuzzy}
    assert not used - translated, f"not in Flask-Admin's {locale} catalog: {sorted(used - translated)}"


#: Calls whose first argument an operator reads: a flash, a form error, a refusal, CLI output.
_SHOWN_CALLS = {
    "flash",
    "ValidationError",
    "WriteError",
    "WriteRefused",
    "WriteFailed",
    "WriteGone",
    "ConfigError",
    "DemoError",
    "DemoTargetNotEmpty",
    "DatabaseUnavailable",
    "fail",
    "_fail",
    "echo",
    "prompt",
    "BadRequest",
    "Forbidden",
}
#: The functions ``dashboard translations extract`` looks for (babel cannot see into f-strings).
_EXTRACTED = {"_", "gettext", "ngettext", "lazy_gettext", "N_"}
#: Words that may stand in CLI output as they are: data labels and paths, not prose.
_DATA_WORDS = {"key", "admin", "rowid", "error"}


def _text_of(node: ast.AST) -> str | None:
    """The literal text of a string or f-string argument, ``None`` for anything computed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text_of(node.left), _text_of(node.right)
        return None if left is None and right is None else (left or "") + (right or "")
    return None


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_python_hands_operators_no_unmarked_text(path: Path) -> None:
    problems = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flask_admin.babel"):
            problems.append(f"line {node.lineno}: Flask-Admin's domain has only its own messages: use dashboard.i18n")
        if isinstance(node, ast.JoinedStr):
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and _name(call.func) in _EXTRACTED:
                    problems.append(f"line {node.lineno}: a message inside an f-string is never extracted")
        if not isinstance(node, ast.Call) or _name(node.func) not in _SHOWN_CALLS:
            continue
        shown = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "description")]
        for argument in shown:
            text = _text_of(argument)
            words = set(re.findall(r"[^\W\d_]{2,}", text or "")) - _DATA_WORDS
            if words:
                problems.append(f"line {node.lineno}: {_name(node.func)}({text!r}) is not marked for translation")
    assert not problems, f"{path.relative_to(REPO)}: " + "; ".join(problems)


# -- reading catalogs ----------------------------------------------------------------------------


@pytest.fixture
def german(tmp_path: Path) -> Path:
    """A copy of the German catalog, without its compiled ``.mo``."""
    target = tmp_path / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(catalogs.po_path(catalogs.TRANSLATIONS_DIR, "de"), target)
    return tmp_path


def test_a_catalog_without_its_mo_is_read_from_the_po(german: Path) -> None:
    assert not (german / "de" / "LC_MESSAGES" / "dashboard.mo").exists()
    translations = catalogs.load_translations(german, "de")
    assert translations.gettext("Refresh") == "Aktualisieren"
    assert catalogs.load_translations(german, "de_AT").gettext("Refresh") == "Aktualisieren"
    assert catalogs.load_translations(german, "sv").gettext("Refresh") == "Refresh"


def test_a_po_edited_after_its_mo_was_compiled_wins(german: Path) -> None:
    po = german / "de" / "LC_MESSAGES" / "dashboard.po"
    mo = catalogs.compile_po(po)
    assert catalogs.load_translations(german, "de").gettext("Refresh") == "Aktualisieren"
    with open(po, "rb") as handle:
        catalog = read_po(handle)
    catalog["Refresh"].string = "Neu laden"
    catalog["Log in"].flags.add("fuzzy")
    with open(po, "wb") as handle:
        write_po(handle, catalog)
    newer = time.time() + 5
    os.utime(po, (newer, newer))
    reread = catalogs.load_translations(german, "de")
    assert reread.gettext("Refresh") == "Neu laden"
    assert reread.gettext("Log in") == "Log in"  # fuzzy entries are never used
    os.utime(mo, (newer + 5, newer + 5))
    assert catalogs.load_translations(german, "de").gettext("Refresh") == "Aktualisieren"  # the .mo is newer


# -- the maintainers' commands ---------------------------------------------------------------


def test_extract_update_compile_and_init_work_on_a_copy_of_the_catalogs(tmp_path: Path) -> None:
    folder = tmp_path / "translations"
    shutil.copytree(catalogs.TRANSLATIONS_DIR, folder, ignore=shutil.ignore_patterns("*.mo"))
    runner = CliRunner(env={"LANGUAGE": "en"})

    def run(*args: str) -> str:
        result = runner.invoke(main, ["translations", *args, "--directory", str(folder)])
        assert result.exit_code == 0, result.output
        return result.output

    assert "messages written to" in run("extract")
    assert _ids(catalogs.read_catalog(folder / "dashboard.pot")) == _ids(catalogs.extract_messages(REPO))
    assert "de: " in run("update", "--locale", "de")
    compiled = run("compile", "--strict")
    assert "ar: " in compiled and "0 untranslated, 0 fuzzy" in compiled
    assert (folder / "ar" / "LC_MESSAGES" / "dashboard.mo").is_file()
    assert "Created" in run("init", "sv")
    swedish = catalogs.read_catalog(catalogs.po_path(folder, "sv"))
    assert _ids(swedish) == _ids(catalogs.read_catalog(folder / "dashboard.pot"))
    stats = catalogs.message_stats(swedish)
    assert stats["untranslated"] == stats["messages"] > 0
    strict = runner.invoke(main, ["translations", "compile", "--strict", "--directory", str(folder)])
    assert strict.exit_code == 1 and "sv: " in strict.output
