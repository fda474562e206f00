"""plugins/README.md's "Reference" section is the public plugin API's docstrings, word for word.

The section is built here from every name of :data:`tests.test_architecture.PLUGIN_API` (and
every hook of :mod:`dashboard.hookspecs`): its signature, the first paragraph of its docstring
and its ``:param:`` and ``:raises:`` lines; for a class, also its own public methods. A
constant's docstring is its ``#:`` comment. The test fails, with a diff, when the README's
section differs from what the docstrings say, and when a public name has no docstring.

``DASHBOARD_WRITE_REFERENCE=1 python -m pytest tests/test_plugin_reference.py`` rewrites the
section from the docstrings instead (then commit the README with the docstrings' change).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import importlib
import inspect
import os
import re
import textwrap
import typing as t
from pathlib import Path

from dashboard import hookspecs
from dashboard.plugins.loader import hook_names
from tests.test_architecture import PLUGIN_API

README = Path(__file__).resolve().parent.parent / "plugins" / "README.md"
HEADING = "## Reference"
#: The modules in the order a plugin author meets them; public modules added later follow.
MODULE_ORDER = ("dashboard.hookspecs", "dashboard.pages", "dashboard.charts", "dashboard.writes", "dashboard.i18n")
#: What hooks receive but a plugin never imports: the attributes it may read, each documented by
#: the ``#:`` comment above its field or by its property's or method's docstring.
RECEIVED: dict[str, tuple[str, ...]] = {
    "dashboard.db.reflection.TableInfo": (
        "id",
        "name",
        "schema",
        "kind",
        "columns",
        "column",
        "primary_key",
        "foreign_keys",
        "editable",
    ),
    "dashboard.db.reflection.ColumnInfo": ("name", "type", "nullable", "primary_key", "comment", "choices", "is_text"),
    "dashboard.db.reflection.ForeignKeyInfo": ("columns", "target_id", "target_columns", "name"),
}
RECEIVED_INTRO = """\
A hook's `table` (and `column`) are these objects, and so is `TableWriter.info`: read them,
never change them, and do not import their module (it is not API; only these attributes are)."""
INTRO = """\
Every public name of the plugin API, generated from the docstrings (edit those, not this
section: `tests/test_plugin_reference.py` fails when the two differ, and
`DASHBOARD_WRITE_REFERENCE=1 python -m pytest tests/test_plugin_reference.py` rewrites it).
A plugin needs nothing of the dashboard but these names."""


class _Raw(str):
    """An annotation as written in the source (``from __future__ import annotations``), shown unquoted."""

    def __repr__(self) -> str:
        return str(self)


def _signature(obj: t.Any) -> str:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return ""
    factories = {
        f.name: _Raw(repr(f.default_factory()))
        for f in (dataclasses.fields(obj) if dataclasses.is_dataclass(obj) else ())
        if f.default_factory is not dataclasses.MISSING
    }
    parameters = [
        p.replace(
            annotation=_Raw(p.annotation) if isinstance(p.annotation, str) else p.annotation,
            default=factories.get(p.name, p.default),
        )
        for p in signature.parameters.values()
    ]
    returns = signature.return_annotation
    if isinstance(returns, str):
        returns = _Raw(returns)
    if inspect.isclass(obj):
        returns = inspect.Signature.empty
    return str(signature.replace(parameters=parameters, return_annotation=returns))


def _comments(module: t.Any) -> dict[str, str]:
    """The ``#:`` comment above each assignment of ``module``'s source, by the name assigned."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        comment = []
        number = node.lineno - 2
        while number >= 0 and lines[number].strip().startswith("#:"):
            comment.insert(0, lines[number].strip()[2:].strip())
            number -= 1
        for target in targets:
            if isinstance(target, ast.Name) and comment:
                found[target.id] = " ".join(comment)
    return found


def _own_doc(obj: t.Any) -> str:
    """``obj``'s own docstring: not one inherited, not the one ``dataclass`` makes up."""
    if inspect.isclass(obj):
        doc = vars(obj).get("__doc__") or ""
        if doc.startswith(f"{obj.__name__}("):
            return ""
        return inspect.cleandoc(doc)
    # inspect.unwrap: a pytest fixture (dashboard.testing) wraps its function and keeps its docstring.
    if inspect.isfunction(inspect.unwrap(obj)) or inspect.ismethod(obj) or isinstance(obj, property):
        return inspect.cleandoc(obj.__doc__ or "")
    return ""


def _markdown(text: str) -> str:
    """reST inline markup as Markdown: ``code`` and :role:`~target` both become `code`."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _split(doc: str) -> tuple[str, list[str]]:
    """The first paragraph of ``doc`` on one line, and its fields (``:param:``, ``:cvar:``,
    ``:ivar:``, ``:raises:``, ``:returns:``) as list items."""
    paragraphs = re.split(r"\n\s*\n", doc.strip(), maxsplit=1)
    first = " ".join(line.strip() for line in paragraphs[0].splitlines() if not line.startswith(":"))
    fields = []
    for match in re.finditer(r"^:(param|cvar|ivar|raises|returns) ?([^:]*):(.*(?:\n(?![ \t]*:)[ \t]+.*)*)", doc, re.M):
        kind, name, text = match.group(1), match.group(2).strip(), " ".join(match.group(3).split())
        if kind == "raises":
            fields.append(f"- raises `{name}`: {text}")
        elif kind == "returns":
            fields.append(f"- returns: {text}")
        else:
            fields.append(f"- `{name}`: {text}")
    return _markdown(first), [_markdown(field) for field in fields]


def _entry(title: str, doc: str) -> str:
    first, fields = _split(doc)
    return "\n\n".join(part for part in (f"#### `{title}`", first, "\n".join(fields)) if part)


def _methods(cls: type) -> list[tuple[str, t.Any]]:
    """``cls``'s own public methods and properties, less routes and overrides of another library's."""
    found = []
    for name, value in vars(cls).items():
        if name.startswith("_") or not (inspect.isfunction(value) or isinstance(value, (property, classmethod))):
            continue
        function = value.__func__ if isinstance(value, classmethod) else value
        if hasattr(function, "_urls"):  # a Flask-Admin route (@expose): a URL, not API
            continue
        overridden = [base for base in cls.__mro__[1:] if name in vars(base)]
        if overridden and not overridden[0].__module__.startswith("dashboard"):
            continue  # another library's hook, documented there (``Page.is_accessible``...)
        found.append((name, function))
    return found


def _names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    names = set(PLUGIN_API[module_name])
    if module_name == "dashboard.hookspecs":
        return ["hookimpl", *hook_names()]
    source = inspect.getsource(module)
    lines: dict[str, int] = {}
    for node in ast.walk(ast.parse(source)):
        bound = []
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound = [node.name]
        elif isinstance(node, ast.Assign):
            bound = [target.id for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bound = [node.target.id]
        elif isinstance(node, ast.ImportFrom):
            bound = [alias.asname or alias.name for alias in node.names]
        # A name imported from elsewhere comes after the module's own (``LookupField``).
        line = getattr(node, "lineno", 0) + (10**6 if isinstance(node, ast.ImportFrom) else 0)
        for name in bound:
            lines[name] = min(lines.get(name, line), line)
    return sorted(names, key=lambda name: (lines.get(name, 10**9), name))


def _reference() -> tuple[str, list[str]]:
    """The Reference section's text, and the public names that have no docstring."""
    modules = [m for m in MODULE_ORDER if m in PLUGIN_API] + sorted(set(PLUGIN_API) - set(MODULE_ORDER))
    parts = [HEADING, INTRO]
    undocumented = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        comments = _comments(module)
        parts.append(f"### `{module_name}`")
        module_doc, _fields = _split(inspect.cleandoc(module.__doc__ or ""))
        if module_doc:
            parts.append(module_doc)
        for name in _names(module_name):
            if not hasattr(module, name):
                undocumented.append(f"{module_name}.{name} (named in PLUGIN_API, missing from the module)")
                continue
            value = getattr(module, name)
            if inspect.isclass(value):
                signature = _signature(value)
                title = f"class {name}{signature if signature not in ('', '()') else ''}"
                doc = _own_doc(value)
            elif inspect.isfunction(inspect.unwrap(value)):  # a function, or a pytest fixture's
                title, doc = f"{name}{_signature(value)}", _own_doc(value)
            else:
                defining = inspect.getmodule(value) if module_name != "dashboard.hookspecs" else module
                doc = comments.get(name) or _comments(defining).get(name, "") if defining else comments.get(name, "")
                title = f"{name} = {value!r}" if isinstance(value, (str, int, tuple, frozenset)) else name
            if not doc:
                undocumented.append(f"{module_name}.{name}")
            parts.append(_entry(title, doc))
            if inspect.isclass(value):
                for method_name, method in _methods(value):
                    method_doc = _own_doc(method)
                    if not method_doc:
                        undocumented.append(f"{module_name}.{name}.{method_name}")
                    if isinstance(method, property):
                        method_title = f"{name}.{method_name}"
                    else:
                        signature = _signature(method).replace("(self, ", "(").replace("(self)", "()")
                        signature = signature.replace("(cls, ", "(").replace("(cls)", "()")
                        method_title = f"{name}.{method_name}{signature}"
                    parts.append(_entry(method_title, method_doc))
    received, missing = _received()
    parts += received
    undocumented += missing
    text = "\n\n".join(parts) + "\n"
    assert " at 0x" not in text, "an object's address in the reference: give it a stable repr"
    return text, undocumented


def _class_comments(cls: type) -> dict[str, str]:
    """The ``#:`` comment above each field of ``cls``'s body, by field name."""
    lines, _start = inspect.getsourcelines(cls)
    source = textwrap.dedent("".join(lines))
    body = source.splitlines()
    found = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            comment = []
            number = node.lineno - 2
            while number >= 0 and body[number].strip().startswith("#:"):
                comment.insert(0, body[number].strip()[2:].strip())
                number -= 1
            if comment:
                found[node.target.id] = " ".join(comment)
    return found


def _received() -> tuple[list[str], list[str]]:
    """The "What the hooks receive" part, and its attributes that have no documentation."""
    parts = ["### What the hooks receive", RECEIVED_INTRO]
    undocumented = []
    for path, attributes in RECEIVED.items():
        module_name, _dot, name = path.rpartition(".")
        cls = getattr(importlib.import_module(module_name), name)
        comments = _class_comments(cls)
        items = []
        for attribute in attributes:
            value = inspect.getattr_static(cls, attribute, None)
            if isinstance(value, property):
                text, _fields = _split(_own_doc(value))
                title = attribute
            elif inspect.isfunction(value):
                text, _fields = _split(_own_doc(value))
                title = attribute + _signature(value).replace("(self, ", "(").replace("(self)", "()")
            else:
                text, title = _markdown(comments.get(attribute, "")), attribute
            if not text:
                undocumented.append(f"{path}.{attribute}")
            items.append(f"- `{title}`: {text}")
        first, _fields = _split(_own_doc(cls))
        parts.append("\n\n".join((f"#### `{name}`", first, "\n".join(items))))
    return parts, undocumented


def _section(readme: str) -> tuple[str, str]:
    """The README before its Reference section, and the section (to the end of the file)."""
    start = readme.find(f"\n{HEADING}\n")
    if start < 0:
        return readme.rstrip("\n") + "\n", ""
    return readme[: start + 1], readme[start + 1 :]


def test_every_public_name_has_a_docstring() -> None:
    _text, undocumented = _reference()
    assert not undocumented, f"public names without a docstring (or a #: comment): {undocumented}"


def test_the_readme_reference_is_the_docstrings() -> None:
    expected, _undocumented = _reference()
    readme = README.read_text(encoding="utf-8")
    before, section = _section(readme)
    if os.environ.get("DASHBOARD_WRITE_REFERENCE") == "1" and section != expected:
        README.write_text(before.rstrip("\n") + "\n\n" + expected, encoding="utf-8")
        before, section = _section(README.read_text(encoding="utf-8"))
    diff = difflib.unified_diff(section.splitlines(), expected.splitlines(), "README.md", "docstrings", lineterm="")
    assert section == expected, (
        "plugins/README.md's Reference section differs from the docstrings "
        "(DASHBOARD_WRITE_REFERENCE=1 rewrites it):\n" + "\n".join(diff)
    )


def test_the_reference_shows_signatures_first_paragraphs_and_parameters() -> None:
    """What the generator makes of a documented function (so a pass above means something)."""
    text, _undocumented = _reference()
    assert "### `dashboard.hookspecs`" in text and "#### `hookimpl`" in text
    for hook in hook_names():
        assert re.search(rf"^#### `{hook}\(", text, re.M), hook
    spec = inspect.cleandoc(hookspecs.register_pages.__doc__ or "")
    assert spec in text
    assert "#### `class BulkAction(name: str, label: str, " in text
    assert "- `confirmation`: a question asked before running it, if any." in text
