"""``dashboard plugins new NAME [--dir DIR]``: start a plugin package that works and is tested.

It writes, from the templates in ``plugin_template/`` (package data), a package ``NAME/``
holding a page, a chart and a row action (``__init__.py``), the page's template, a README
and a pytest test that builds a dashboard around the plugin with :mod:`dashboard.testing`;
the test passes as written. ``DIR`` defaults to the configured plugins folder
(``PLUGINS_DIR``), else ``./plugins``.

``dashboard plugins`` itself lists plugins (:mod:`dashboard.cli.plugins`); its command class,
:class:`PluginsCommand`, hands ``dashboard plugins new ...`` to :func:`new_command` here,
because a click group could not also take the listing's optional ``DATABASE_URL``.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import string
import typing as t
from pathlib import Path

import click

from dashboard.cli.common import fail, file_settings
from dashboard.i18n.translation import gettext as _
from dashboard.plugins.builtins import BUILTIN_PLUGINS

TEMPLATES = Path(__file__).resolve().parent / "plugin_template"
#: Template -> where it goes inside the new package (``$name``: the plugin's name).
FILES = {
    "__init__.py.tmpl": "__init__.py",
    "page.html.tmpl": "templates/$name/page.html",
    "README.md.tmpl": "README.md",
    "conftest.py.tmpl": "tests/conftest.py",
    "test_plugin.py.tmpl": "tests/test_$name.py",
}
#: What the plugin loader accepts as a folder plugin's name.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def name_problem(name: str, folder: Path) -> str | None:
    """Why ``name`` cannot be a new plugin in ``folder``, or ``None`` when it can."""
    if not NAME.match(name) or keyword.iskeyword(name):
        return _(
            "%(name)r is not a valid plugin name: use a Python identifier of at most 63 letters, digits "
            "and _, not starting with a digit, and not a Python keyword (e.g. team_sales).",
            name=name,
        )
    if (folder / name).exists():
        return _("%(path)s already exists: choose another name, or remove it first.", path=folder / name)
    if name in {builtin for builtin, _module in BUILTIN_PLUGINS}:
        return _("%(name)r is the name of a built-in plugin: choose another name.", name=name)
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        where = spec.origin or ", ".join(spec.submodule_search_locations or ()) or name
        return _(
            "a module called %(name)r can already be imported (%(where)s): a plugin of that name would be "
            "confused with it. Choose another name.",
            name=name,
            where=where,
        )
    return None


def configured_plugins_dir(config_file: str | None) -> Path:
    """``PLUGINS_DIR`` of the settings (files and environment), else ``./plugins``."""
    configured = str(file_settings(config_file).get("PLUGINS_DIR") or "")
    return Path(configured) if configured else Path("plugins")


def _values(name: str) -> dict[str, str]:
    words = [word for word in name.split("_") if word]
    return {
        "name": name,
        "upper": name.upper(),
        "class_name": "".join(word[:1].upper() + word[1:] for word in words) or "Plugin",
        "slug": "-".join(word.lower() for word in words) or "plugin",
        "title": " ".join(words).capitalize() or name,
    }


def write_plugin(name: str, folder: Path) -> list[Path]:
    """Write the new package ``folder/name`` from the templates; return the files written."""
    values = _values(name)
    written = []
    for template, target in FILES.items():
        path = folder / name / string.Template(target).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = string.Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


@click.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False),
    help="Plugins folder to create it in [default: the configured PLUGINS_DIR, else ./plugins].",
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML settings file (for PLUGINS_DIR).")
def new_command(name: str, folder: str | None, config_file: str | None) -> None:
    """Start plugin NAME: a package with a page, a chart, a row action, a README and a passing test."""
    target = Path(folder) if folder else configured_plugins_dir(config_file)
    problem = name_problem(name, target)
    if problem:
        fail(problem)
    target.mkdir(parents=True, exist_ok=True)
    written = write_plugin(name, target)
    click.echo(_("Created plugin %(name)s in %(folder)s:", name=name, folder=(target / name).resolve()))
    for path in written:
        click.echo(f"  {path.relative_to(target)}")
    click.echo(_("Serve it, restarting as you edit:  dashboard serve --reload --plugins %(folder)s", folder=target))
    click.echo(_("Run its tests:                      python -m pytest %(tests)s", tests=target / name / "tests"))


class PluginsCommand(click.Command):
    """``dashboard plugins [DATABASE_URL]`` lists; ``dashboard plugins new NAME`` goes to :func:`new_command`."""

    subcommands: t.ClassVar[dict[str, click.Command]] = {"new": new_command}

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: t.Any
    ) -> click.Context:
        # click's group runs the command of the context returned here (``sub_ctx.command``).
        if args and args[0] in self.subcommands:
            command = self.subcommands[args[0]]
            return command.make_context(f"{info_name} {args[0]}", list(args[1:]), parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        with formatter.section(_("Commands")):
            formatter.write_dl([("new NAME [--dir DIR]", _("Start a plugin package (dashboard plugins new --help)."))])
