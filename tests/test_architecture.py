"""The package's layout holds: layers import only downwards, no import cycle, small modules.

``dashboard.db`` stays free of Flask and of the layers above it; no module imports one that
(directly or not) imports it back; no module passes ``MAX_MODULE_LINES``. Read from the source
(every import statement, those inside functions and under ``TYPE_CHECKING`` included), so a
rule broken in a branch no test runs is still caught; and once at run time, where an import
hidden from the source (``importlib``) would show.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dashboard"
#: Third-party packages that are Flask or need it (Flask-Admin, Flask-Babel and the rest).
FLASK_PACKAGES = ("flask", "flask_admin", "flask_babel", "flask_caching", "flask_login", "flask_wtf",
                  "werkzeug", "jinja2", "wtforms", "markupsafe")
#: What ``dashboard.db`` may import of the package besides itself: the Flask-free shared modules.
DB_MAY_IMPORT = ("dashboard.db", "dashboard.messages", "dashboard.urls")
#: Layers and what each may never import (the layers above it).
FORBIDDEN = {
    "dashboard.i18n": ("dashboard.db", "dashboard.web", "dashboard.security", "dashboard.plugins", "dashboard.cli",
                       "dashboard.app"),
    "dashboard.security": ("dashboard.web", "dashboard.plugins", "dashboard.cli", "dashboard.app"),
    "dashboard.web": ("dashboard.plugins", "dashboard.cli", "dashboard.app"),
    "dashboard.plugins": ("dashboard.cli", "dashboard.app"),
}
#: The one place a type-only import may point back: a hookspec names the types of its hooks.
TYPE_ONLY_ALLOWED_IN = ("dashboard.hookspecs",)
MAX_MODULE_LINES = 500


@dataclass(frozen=True)
class Import:
    """One imported module as a statement of ``source`` names it."""

    source: str
    target: str
    line: int
    #: ``top`` (module level), ``local`` (inside a function) or ``typing`` (under TYPE_CHECKING).
    kind: str


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports_of(path: Path) -> t.Iterator[Import]:
    """Every name an import statement of ``path`` loads (``from a import b``: ``a.b``, a module
    of the package or a name in ``a``)."""
    source = _module_name(path)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]

    def walk(node: ast.AST, kind: str) -> t.Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(source, alias.name, child.lineno, kind)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in child.names:
                    yield Import(source, f"{base}.{alias.name}", child.lineno, kind)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    yield from walk(ast.Module(body=[statement], type_ignores=[]), "typing")
                for statement in child.orelse:
                    yield from walk(ast.Module(body=[statement], type_ignores=[]), kind)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from walk(child, "typing" if kind == "typing" else "local")
            else:
                yield from walk(child, kind)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")), "top")


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_db_layer_imports_no_flask_and_nothing_above_it() -> None:
    """``dashboard.db`` runs before any app exists and under the command line without one."""
    modules = _modules()
    db_modules = [name for name in modules if _within(name, "dashboard.db")]
    assert len(db_modules) > 10, db_modules  # the layer is where this test looks for it
    found = []
    for name in db_modules:
        for imported in _imports_of(modules[name]):
            top = imported.target.split(".")[0]
            if top in FLASK_PACKAGES:
                found.append(imported)
            elif top == "dashboard" and imported.target != "dashboard" \
                    and not any(_within(imported.target, allowed) for allowed in DB_MAY_IMPORT):
                found.append(imported)
    assert not found, "\n".join(f"{i.source}:{i.line} imports {i.target} ({i.kind})" for i in found)


def test_db_layer_loads_without_flask() -> None:
    """Importing every module of ``dashboard.db`` loads no Flask package, not even indirectly."""
    script = (
        "import importlib, pkgutil, sys, dashboard.db as db\n"
        "for m in pkgutil.walk_packages(db.__path__, 'dashboard.db.'): importlib.import_module(m.name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FLASK_PACKAGES!r}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('dashboard.db.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            cwd=PACKAGE.parent, timeout=120)
    flask_modules, db_modules = result.stdout.splitlines()
    assert flask_modules == "[]"
    assert "dashboard.db.demo.load" in db_modules and "dashboard.db.reflection" in db_modules


def _package_imports() -> list[Import]:
    """Imports between the package's modules, each naming the module it loads."""
    modules = _modules()
    found = []
    for name, path in modules.items():
        for imported in _imports_of(path):
            target = imported.target
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.append(Import(name, target, imported.line, imported.kind))
    return found


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``edges`` as the list of its modules, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycle_not_even_type_only() -> None:
    """Data flows one way (database -> db -> web -> pages); a cycle means two modules that can
    only be understood, tested and imported together. Only a hookspec may name a type of a
    module that imports it, under ``TYPE_CHECKING``."""
    edges: dict[str, set[str]] = {}
    imports = _package_imports()
    assert len(imports) > 100, len(imports)
    for imported in imports:
        if imported.kind == "typing" and imported.source in TYPE_ONLY_ALLOWED_IN:
            continue
        edges.setdefault(imported.source, set()).add(imported.target)
    cycle = _cycle(edges)
    assert cycle is None, " -> ".join(cycle or ())


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_layers_import_only_downwards() -> None:
    """A layer never imports one above it, not even inside a function or for a type."""
    wrong = [imported for imported in _package_imports()
             for layer, above in FORBIDDEN.items() if _within(imported.source, layer)
             and any(_within(imported.target, upper) for upper in above)]
    assert not wrong, "\n".join(f"{i.source}:{i.line} imports {i.target} ({i.kind})" for i in wrong)


def test_no_module_is_longer_than_the_limit() -> None:
    """A module past ~500 lines holds more than one concept: split it."""
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()}
    assert len(sizes) > 50
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not too_long, too_long
