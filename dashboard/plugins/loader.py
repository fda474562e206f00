"""Finding, loading and isolating plugins.

Plugins come from three places, loaded in this order, and are all alike once loaded:

1. built in: the features of :mod:`dashboard.plugins.builtins`, written as ordinary plugins;
2. installed packages declaring an entry point in the group ``dashboard``
   (``[project.entry-points.dashboard] my_plugin = "my_package"``);
3. every package (a folder with ``__init__.py``) in the plugins folder: ``PLUGINS_DIR``
   (``dashboard serve --plugins DIR``), else the bundled ``plugins/``.

A plugin's ``templates/`` folder joins the template search path (after the dashboard's
own, so a plugin cannot replace a core page by accident), its ``static/`` folder is served
at ``/plugins-static/<name>/``, and its ``translations/`` join the dashboard's ``_()``.

Every plugin gets its own :class:`pluggy.PluginManager` per app (kept in
``app.extensions``, never in a module global), and the dashboard calls each
implementation on its own (:meth:`PluginRegistry.call`): a plugin that fails to import,
names a hook that does not exist, or raises in a hook is reported once in the log with its
traceback, listed by ``dashboard plugins`` and shown to administrators in an error panel,
while the rest of the site and the other plugins carry on. ``DISABLED_PLUGINS`` names
plugins not to load.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import logging
import re
import sys
import traceback as traceback_module
import types
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import pluggy
from flask import Blueprint, Flask, current_app
from jinja2 import ChoiceLoader, FileSystemLoader

from dashboard import hookspecs
from dashboard.i18n.translation import register_translations
from dashboard.paths import bundled_dir
from dashboard.plugins import plugin_settings
from dashboard.plugins.builtins import BUILTIN_PLUGINS, ONLY_WHEN_SET
from dashboard.plugins.runtime import (
    EXTENSION_KEY,
    plugin_static,
    static_endpoint,
)

if t.TYPE_CHECKING:
    from dashboard.charts import ChartEntry
    from dashboard.pages import Page

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "dashboard"
#: Problems kept per app; beyond that they are only logged.
MAX_PROBLEMS = 200
#: Hooks whose results are not listed as additions: pages and charts are listed apart (once
#: accepted); the others run for every page or every row written, and add nothing to list.
NOT_ADDITIONS = frozenset(
    {"register_pages", "register_charts", "template_variables", "startup", "before_write", "after_write"}
)
#: Additions kept per plugin (a hook asked about thousands of tables and columns).
MAX_ADDITIONS = 2000
_PLUGIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass
class LoadedPlugin:
    """One plugin: where it came from and what it added."""

    name: str
    #: ``builtin``, ``entry point`` or ``folder``.
    source: str
    #: A folder, a file, or ``package version (module)`` for an entry point.
    location: str
    module: types.ModuleType | None = None
    #: Its own folder, where ``templates/``, ``static/`` and ``translations/`` are looked for.
    folder: Path | None = None
    hooks: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    #: What its start-up hooks returned and the dashboard took (cell renderers, actions, links...).
    additions: list[Addition] = field(default_factory=list)
    #: Additions past :data:`MAX_ADDITIONS`, counted but not kept.
    additions_left_out: int = 0
    failed: bool = False
    #: Loaded, but something of it failed since (a hook, a chart, a renderer): see the problems.
    degraded: bool = False

    @property
    def state(self) -> str:
        """``failed`` (not loaded), ``degraded`` (loaded, with problems) or ``loaded``."""
        return "failed" if self.failed else "degraded" if self.degraded else "loaded"


@dataclass
class Addition:
    """One object a plugin's hook returned: a cell renderer, a bulk action, a menu link... with
    the table (and column) the hook was asked about."""

    hook: str
    item: t.Any
    table: str | None = None
    column: str | None = None


@dataclass
class PluginProblem:
    """Something a plugin got wrong: at import, in a hook, or in a declaration."""

    plugin: str
    #: What failed: ``import``, a hook name, ``chart NAME``, ``page SLUG``...
    part: str
    message: str
    traceback: str = ""


@dataclass(frozen=True)
class PerPlugin:
    """A hook argument each plugin gets its own of, ``make(plugin name)``, made only for an
    implementation that takes it (a :class:`~dashboard.writes.TableWriter` records its plugin's
    name with every write)."""

    make: t.Callable[[str], t.Any]


class PluginRegistry:
    """The plugins of one app, their hooks, and what went wrong; ``app.extensions["dashboard_plugins"]``."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.plugins: list[LoadedPlugin] = []
        self.problems: list[PluginProblem] = []
        self.charts: dict[str, ChartEntry] = {}
        self.pages: list[Page] = []
        self._reported: set[tuple[str, str, str]] = set()
        self._added: set[tuple[t.Any, ...]] = set()
        self._failed_parts: set[tuple[str, str]] = set()

    def plugin(self, name: str) -> LoadedPlugin | None:
        """The loaded plugin called ``name``."""
        return next((p for p in self.plugins if p.name == name), None)

    def add_problem(self, plugin: str, part: str, message: str, details: str = "") -> None:
        """Record a problem once; the same one raised on every request is kept only once."""
        key = (plugin, part, message)
        if key in self._reported:
            return
        self._reported.add(key)
        loaded = self.plugin(plugin)
        if loaded is not None and not loaded.failed:
            loaded.degraded = True
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(PluginProblem(plugin, part, message, details))

    def call(self, hook: str, **kwargs: t.Any) -> list[tuple[str, t.Any]]:
        """``(plugin name, result)`` of each implementation of ``hook`` that returned something.

        Implementations run in pluggy's order (the plugins loaded last first, so a folder
        plugin comes before an installed one, and that before the built-ins), each on its
        own: one that raises is reported and skipped. An argument given as a :class:`PerPlugin`
        is made for each implementation that takes it.
        """
        caller = getattr(self.manager.hook, hook)
        results: list[tuple[str, t.Any]] = []
        for impl in reversed(caller.get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                # Calling each implementation on its own is what isolates them; a wrapper
                # around the others has no place in that.
                self.add_problem(impl.plugin_name, hook, "hook wrappers are not supported; implement the hook itself")
                continue
            try:
                result = impl.function(*[_argument(kwargs[name], impl.plugin_name) for name in impl.argnames])
            except Exception as exc:  # noqa: BLE001 -- a plugin's failure is reported, never fatal
                self.report(impl.plugin_name, hook, exc)
                continue
            if result is not None:
                results.append((impl.plugin_name, result))
                if hook not in NOT_ADDITIONS:
                    self._note_additions(impl.plugin_name, hook, result, kwargs)
        return results

    def _note_additions(self, plugin: str, hook: str, result: t.Any, kwargs: t.Mapping[str, t.Any]) -> None:
        loaded = self.plugin(plugin)
        if loaded is None:
            return
        table = getattr(kwargs.get("table"), "id", None)
        column = getattr(kwargs.get("column"), "name", None)
        for item in list(result) if isinstance(result, (list, tuple)) else [result]:
            # A hook asked again (for each page) must not list the same thing twice.
            key = (plugin, hook, table, column, _identity(item))
            if key in self._added:
                continue
            self._added.add(key)
            if len(loaded.additions) >= MAX_ADDITIONS:
                loaded.additions_left_out += 1
            else:
                loaded.additions.append(Addition(hook, item, table, column))

    def discard(self, plugin: str, hook: str, item: t.Any) -> None:
        """Unlist ``item`` that ``plugin``'s ``hook`` returned: the dashboard refused it (a problem says why)."""
        loaded = self.plugin(plugin)
        if loaded is not None:
            loaded.additions = [a for a in loaded.additions if not (a.hook == hook and a.item is item)]

    def first_failure(self, plugin: str, part: str) -> bool:
        """Whether this is the first failure of ``plugin`` in ``part`` (reported ``once``), noting it."""
        if (plugin, part) in self._failed_parts:
            return False
        self._failed_parts.add((plugin, part))
        return True

    def has_implementations(self, hook: str) -> bool:
        """Whether any plugin implements ``hook``."""
        return bool(getattr(self.manager.hook, hook).get_hookimpls())

    def report(self, plugin: str, part: str, exc: BaseException, *, traceback: bool = True, once: bool = False) -> None:
        """Log ``exc`` raised by ``plugin`` in ``part`` with its traceback, and keep it as a problem.

        :param once: report only the first failure of ``part``, whatever its message (a cell
            renderer failing on many values is one problem, not one per value).
        """
        if once and not self.first_failure(plugin, part):
            return
        message, details = failure_text(exc) if traceback else (str(getattr(exc, "message", exc)), "")
        if (plugin, part, message) not in self._reported:
            if traceback:
                log.error("plugin %s failed in %s: %s\n%s", plugin, part, message, details)
            else:
                log.warning("plugin %s: %s: %s", plugin, part, message)
        self.add_problem(plugin, part, message, details)


def failure_text(exc: BaseException) -> tuple[str, str]:
    """A failure as a problem shows it: ``Type: message``, and its formatted traceback."""
    return f"{type(exc).__name__}: {exc}", "".join(traceback_module.format_exception(exc))


def _identity(item: t.Any) -> t.Any:
    """What tells ``item`` apart from another result: its value when it has one (a frozen
    dataclass returned anew on each call), else the object itself."""
    if callable(item):
        return id(item)
    try:
        hash(item)
    except Exception:  # noqa: BLE001 -- unhashable, or a field that cannot hash (a lazy text without an app)
        return id(item)
    return item


def _argument(value: t.Any, plugin: str) -> t.Any:
    return value.make(plugin) if isinstance(value, PerPlugin) else value


def registry(app: Flask | None = None) -> PluginRegistry:
    """The plugin registry of ``app`` (default: the current app)."""
    return t.cast(PluginRegistry, (app or current_app).extensions[EXTENSION_KEY])


# -- discovery ----------------------------------------------------------------------------------


def plugins_dir(app: Flask) -> Path:
    """The plugins folder of ``app``: ``PLUGINS_DIR``, else the bundled ``plugins/``."""
    configured = str(app.config.get("PLUGINS_DIR") or "")
    return Path(configured).resolve() if configured else bundled_dir("plugins")


def _builtins() -> list[tuple[str, str]]:
    return list(BUILTIN_PLUGINS)


def _load_builtins(found: PluginRegistry, disabled: set[str]) -> None:
    for name, module_name in _builtins():
        if name in disabled:
            continue
        plugin = LoadedPlugin(name=name, source="builtin", location=module_name)
        _import_and_register(found, plugin, functools.partial(importlib.import_module, module_name))


@functools.lru_cache(maxsize=8)
def _installed_entry_points(search_path: tuple[str, ...]) -> tuple[importlib.metadata.EntryPoint, ...]:
    """The plugin entry points of the packages installed on ``search_path`` (``sys.path``).

    Reading every installed distribution's metadata takes several milliseconds per app
    built; what is installed changes only with the search path within a process (a newly
    installed plugin needs a restart anyway, for its code).
    """
    return tuple(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def _load_entry_points(found: PluginRegistry, disabled: set[str]) -> None:
    for entry_point in _installed_entry_points(tuple(sys.path)):
        if entry_point.name in disabled:
            continue
        dist = getattr(entry_point, "dist", None)
        origin = f"{dist.name} {dist.version}" if dist is not None else "an installed package"
        plugin = LoadedPlugin(name=entry_point.name, source="entry point", location=f"{origin} ({entry_point.value})")
        _import_and_register(found, plugin, entry_point.load)


def _load_folder(found: PluginRegistry, folder: Path, disabled: set[str]) -> None:
    if not folder.is_dir():
        return
    # One namespace per folder: two apps with different plugin folders in one process (the
    # tests, a copied plugin) never share modules, and a restart re-imports changed code.
    prefix = "_dashboard_plugins_" + hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    for stale in [name for name in sys.modules if name == prefix or name.startswith(prefix + "_")]:
        del sys.modules[stale]
    for package in sorted(folder.iterdir()):
        if not (package / "__init__.py").is_file() or package.name in disabled:
            continue
        plugin = LoadedPlugin(name=package.name, source="folder", location=str(package), folder=package)
        if not _PLUGIN_NAME.match(package.name):
            found.plugins.append(plugin)
            plugin.failed = True
            found.add_problem(
                package.name,
                "import",
                "a plugin folder's name must be a Python identifier (letters, digits and _, not starting with a digit)",
            )
            continue
        module_name = f"{prefix}_{package.name}"
        _import_and_register(found, plugin, functools.partial(_import_package, package, module_name))


def _import_package(package: Path, module_name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        module_name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"{package} is not an importable package", path=str(package))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _import_and_register(found: PluginRegistry, plugin: LoadedPlugin, load: t.Callable[[], t.Any]) -> None:
    found.plugins.append(plugin)
    if any(p.name == plugin.name and p is not plugin for p in found.plugins):
        first = next(p for p in found.plugins if p.name == plugin.name)
        plugin.failed = True
        found.add_problem(
            plugin.name,
            "import",
            f"another plugin called {plugin.name!r} is already loaded "
            f"(from {first.location}); rename one or disable it",
        )
        return
    try:
        module = load()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 -- a plugin that cannot import is reported
        plugin.failed = True
        found.report(plugin.name, "import", exc)
        return
    plugin.module = module
    if plugin.folder is None and isinstance(module, types.ModuleType) and getattr(module, "__path__", None):
        plugin.folder = Path(next(iter(module.__path__)))
    try:
        found.manager.register(module, name=plugin.name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        plugin.failed = True
        found.report(plugin.name, "import", exc, traceback=False)
        return
    implemented = sorted(caller.name for caller in found.manager.get_hookcallers(module) or [])
    unknown = [name for name in implemented if name not in hook_names()]
    if unknown:
        found.manager.unregister(module)
        plugin.failed = True
        found.add_problem(
            plugin.name, "import", f"unknown hook(s) {', '.join(unknown)}; hooks are {', '.join(hook_names())}"
        )
        return
    plugin.hooks = implemented


def hook_names() -> list[str]:
    """Every hook of :mod:`dashboard.hookspecs`, in declaration order."""
    return [
        name
        for name, value in vars(hookspecs).items()
        if isinstance(value, types.FunctionType) and hasattr(value, f"{hookspecs.PROJECT}_spec")
    ]


# -- a plugin's own folders -----------------------------------------------------------------


def _attach_folders(app: Flask, found: PluginRegistry) -> None:
    loaders = []
    for plugin in found.plugins:
        if plugin.failed or plugin.folder is None:
            continue
        templates, static, translations = (plugin.folder / name for name in ("templates", "static", "translations"))
        if templates.is_dir():
            loaders.append(FileSystemLoader(str(templates)))
        if static.is_dir():
            app.register_blueprint(
                Blueprint(
                    static_endpoint(plugin.name),
                    __name__,
                    static_folder=str(static),
                    static_url_path=f"/plugins-static/{plugin.name}",
                )
            )
        if translations.is_dir():
            try:
                register_translations(app, translations, plugin.name)
            except Exception as exc:  # noqa: BLE001 -- broken catalogs must not stop the site
                found.report(plugin.name, "translations", exc)
    if loaders:
        # The app's own templates first: a plugin adds pages, it does not replace core ones.
        app.jinja_loader = ChoiceLoader([t.cast(t.Any, app.jinja_loader), *loaders])


def init_app(app: Flask) -> PluginRegistry:
    """Find and import every plugin of ``app`` and attach their folders; their hooks run later.

    Never raises for a plugin's fault: failures are kept in the registry's ``problems``.
    """
    plugin_settings.init_app(app)
    found = PluginRegistry()
    app.extensions[EXTENSION_KEY] = found
    disabled = {str(name) for name in app.config.get("DISABLED_PLUGINS") or ()}
    unset = {name for name, setting in ONLY_WHEN_SET.items() if not app.config.get(setting)}
    _load_builtins(found, disabled | unset)
    _load_entry_points(found, disabled)
    _load_folder(found, plugins_dir(app), disabled)
    plugin_settings.report_unknown_names(app, found, disabled | {name for name, _module in _builtins()})
    _attach_folders(app, found)
    app.jinja_env.globals["plugin_static"] = plugin_static
    return found
