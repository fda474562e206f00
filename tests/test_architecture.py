"""The package's layout holds: layers import only downwards, no import cycle, small modules.

``dashboard.db`` stays free of Flask and of the layers above it; no module imports one that
(directly or not) imports it back; no module passes ``MAX_MODULE_LINES``. Read from the source
(every import statement, those inside functions and under ``TYPE_CHECKING`` included), so a
rule broken in a branch no test runs is still caught; and once at run time, where an import
hidden from the source (``importlib``) would show.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dashboard"
#: Third-party packages that are Flask or need it (Flask-Admin, Flask-Babel and the rest).
FLASK_PACKAGES = (
    "flask",
    "flask_admin",
    "flask_babel",
    "flask_caching",
    "flask_login",
    "flask_wtf",
    "werkzeug",
    "jinja2",
    "wtforms",
    "markupsafe",
)
#: What ``dashboard.db`` may import of the package besides itself: the Flask-free shared modules.
DB_MAY_IMPORT = ("dashboard.db", "dashboard.messages", "dashboard.urls")
#: Layers and what each may never import (the layers above it).
FORBIDDEN = {
    "dashboard.i18n": (
        "dashboard.db",
        "dashboard.web",
        "dashboard.security",
        "dashboard.plugins",
        "dashboard.cli",
        "dashboard.app",
    ),
    "dashboard.security": ("dashboard.web", "dashboard.api", "dashboard.plugins", "dashboard.cli", "dashboard.app"),
    "dashboard.web": ("dashboard.api", "dashboard.plugins", "dashboard.cli", "dashboard.app"),
    "dashboard.api": ("dashboard.plugins", "dashboard.cli", "dashboard.app"),
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
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


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
            elif (
                top == "dashboard"
                and imported.target != "dashboard"
                and not any(_within(imported.target, allowed) for allowed in DB_MAY_IMPORT)
            ):
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
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PACKAGE.parent, timeout=120
    )
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
                return path[path.index(nxt) :] + [nxt]
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
    wrong = [
        imported
        for imported in _package_imports()
        for layer, above in FORBIDDEN.items()
        if _within(imported.source, layer) and any(_within(imported.target, upper) for upper in above)
    ]
    assert not wrong, "\n".join(f"{i.source}:{i.line} imports {i.target} ({i.kind})" for i in wrong)


def test_no_module_is_longer_than_the_limit() -> None:
    """A module past ~500 lines holds more than one concept: split it."""
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()}
    assert len(sizes) > 50
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not too_long, too_long


# -- the plugin boundary ------------------------------------------------------------------------------

PLUGINS = PACKAGE.parent / "plugins"
#: Everything of the dashboard a plugin may use (plugins/README.md): module -> its public names.
PLUGIN_API: dict[str, frozenset[str]] = {
    "dashboard.hookspecs": frozenset({"hookimpl"}),
    "dashboard.pages": frozenset(
        {
            "Page",
            "BulkAction",
            "MenuLink",
            "ALL_ROLES",
            "page_url",
            "plugin_settings",
            "RowAction",
            "TableAction",
            "Block",
            "BLOCK_SLOTS",
            "LookupField",
        }
    ),
    "dashboard.charts": frozenset({"Chart"}),
    "dashboard.writes": frozenset(
        {
            "served_tables",
            "table_writer",
            "TableWriter",
            "transaction",
            "WriteFailed",
            "WriteRefused",
            "WriteGone",
            "REASONS",
            "OPERATORS",
            "MAX_ROWS",
        }
    ),
    "dashboard.i18n": frozenset({"gettext", "ngettext", "lazy_gettext", "register_translations"}),
    # A plugin's tests (pytest_plugins = ["dashboard.testing"]), not the plugin itself.
    "dashboard.testing": frozenset({"dashboard_site", "build_site", "DashboardSite", "DashboardClient"}),
}
#: Reaching the site object, its table views or their stores: what the public API stands in for.
INTERNALS = re.compile(r"""extensions\s*(\[|\.get\()\s*["']dashboard|\.views\b|\._?store\b|\._view\b""")


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _outside_plugin_api(source: str) -> list[str]:
    """What ``source``, a plugin's Python code, uses of the dashboard beyond :data:`PLUGIN_API`."""
    problems = []
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # a local name bound to a dashboard module -> that module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "dashboard" or alias.name.startswith("dashboard."):
                    if alias.name not in PLUGIN_API:
                        problems.append(f"line {node.lineno}: import {alias.name}")
                    aliases[alias.asname or alias.name] = alias.name if alias.asname else "dashboard"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if node.module == "dashboard":
                for alias in node.names:
                    module = f"dashboard.{alias.name}"
                    if module not in PLUGIN_API:
                        problems.append(f"line {node.lineno}: from dashboard import {alias.name}")
                    aliases[alias.asname or alias.name] = module
            elif node.module.startswith("dashboard."):
                allowed = PLUGIN_API.get(node.module, frozenset())
                problems += [
                    f"line {node.lineno}: from {node.module} import {alias.name}"
                    for alias in node.names
                    if alias.name not in allowed
                ]
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if (
            node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            problems.append(f"line {node.lineno}: private attribute .{node.attr}")
        dotted = _dotted(node)
        head = dotted.split(".", 1)[0] if dotted else None
        if dotted is None or head not in aliases:
            continue
        # ``dashboard.pages.Page.title`` is fine: some prefix is a public module and what follows a public name.
        parts = (aliases[head] + dotted[len(head) :]).split(".")
        if not any(
            ".".join(parts[:end]) in PLUGIN_API
            and (end == len(parts) or parts[end] in PLUGIN_API[".".join(parts[:end])])
            for end in range(1, len(parts) + 1)
        ):
            problems.append(f"line {node.lineno}: {dotted}")
    return problems


def _readme_code() -> list[tuple[str, str]]:
    """The fenced code blocks of plugins/README.md: ``(language, code)``."""
    text = (PLUGINS / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.M | re.S)


def test_plugin_api_check_finds_what_is_outside() -> None:
    """The check below sees each way past the public API (so a pass there means something)."""
    assert (
        _outside_plugin_api(
            "from dashboard.writes import table_writer\nfrom dashboard.i18n import gettext\n"
            "import dashboard.pages\nx = dashboard.pages.Page.title\n"
        )
        == []
    )
    assert (
        len(
            _outside_plugin_api(
                "from dashboard.web.site import DashboardState\n"
                "from dashboard.writes import TableWriter, WRITE_ACTIONS\n"
                "from dashboard import statedb\nimport dashboard.security.audit\n"
                "from dashboard import writes as w\nw.current_site()\n"
                "writer._store.insert({})\n"
            )
        )
        == 6
    )
    assert INTERNALS.search('app.extensions["dashboard"].views') and INTERNALS.search("writer.store.table")


def test_plugins_and_their_guide_use_only_the_public_api() -> None:
    """The bundled plugins, their templates and plugins/README.md's examples use only ``PLUGIN_API``:
    no import of another dashboard module, no site object, table view or record store."""
    sources = {
        str(path.relative_to(PACKAGE.parent)): path.read_text(encoding="utf-8")
        for path in sorted(PLUGINS.rglob("*"))
        if path.suffix in (".py", ".html")
    }
    blocks = _readme_code()
    assert len(sources) >= 4 and sum(language == "python" for language, _ in blocks) >= 8
    sources.update(
        {
            f"plugins/README.md, {language or 'text'} example {number}.{'py' if language == 'python' else 'txt'}": code
            for number, (language, code) in enumerate(blocks, 1)
        }
    )
    found = {
        name: [f"{match.group(0)!r} at offset {match.start()}" for match in INTERNALS.finditer(source)]
        for name, source in sources.items()
    }
    for name, source in sources.items():
        if name.endswith(".py"):
            found[name] += _outside_plugin_api(source)
    found = {name: problems for name, problems in found.items() if problems}
    assert not found, found
