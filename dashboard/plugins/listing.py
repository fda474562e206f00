"""What each plugin adds, in words: the lines ``dashboard plugins`` prints and the Plugins page shows.

Everything a plugin's start-up hooks returned and the dashboard took is listed (the registry
notes it as :class:`~dashboard.plugins.loader.Addition`): pages and charts, menu links, cell
renderers by table and column, actions by table, table options, and whatever else a hook
returns, an object of a kind this module does not know being listed by its class and name.
Hooks that return nothing to list (the write hooks, ``template_variables``, ``startup``) are
named with when they run.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from dashboard.i18n.translation import gettext as _
from dashboard.pages import Block, BulkAction, MenuLink, RowAction, TableAction
from dashboard.urls import own_url

if t.TYPE_CHECKING:
    from dashboard.plugins.loader import Addition, LoadedPlugin, PluginRegistry

#: Attributes that name an object of a kind not known here, the first one found wins.
NAME_ATTRIBUTES = ("name", "slot", "slug", "title", "label")
#: Further attributes shown after the name, when the object has them.
DETAIL_ATTRIBUTES = ("label", "template", "permission")


@dataclass(frozen=True)
class Line:
    """One thing a plugin adds, as a line of text; ``page`` is the slug of a page it links to."""

    text: str
    page: str | None = None


def describe(found: PluginRegistry, plugin: LoadedPlugin) -> list[Line]:
    """Every line of what ``plugin`` adds, pages and charts first, the hooks that run later last."""
    lines = [Line(_("page: %(url)s", url=own_url(f"pages/{slug}/")), slug) for slug in plugin.pages]
    lines += [Line(_chart(found, name)) for name in plugin.charts]
    renderers: dict[str, list[str]] = {}
    for addition in plugin.additions:
        if addition.hook == "cell_renderer" and callable(addition.item):
            renderers.setdefault(addition.table or "?", []).append(addition.column or "?")
        else:
            lines.append(Line(_addition(addition)))
    for table, columns in renderers.items():
        lines.append(Line(_("cell renderer: %(table)s (%(columns)s)", table=table, columns=", ".join(columns))))
    if plugin.additions_left_out:
        lines.append(Line(_("and %(count)s more", count=plugin.additions_left_out)))
    for hook in plugin.hooks:
        later = _later_hook(hook)
        if later:
            lines.append(Line(later))
    return lines


def _chart(found: PluginRegistry, name: str) -> str:
    entry = found.charts[name]
    chart = entry.chart
    places = [place for place, shown in (("home", chart.home), ("list", chart.on_list)) if shown]
    if getattr(chart, "on_details", None):
        places.append(_("details of %(table)s", table=chart.on_details))
    where = f" [{', '.join(places)}]" if places else ""
    if entry.problem:
        where += " " + _("INVALID: %(problem)s", problem=entry.problem)
    return _(
        "chart: %(name)s (%(kind)s of %(source)s)%(where)s",
        name=name,
        kind=chart.kind,
        source=chart.table or "SQL",
        where=where,
    )


def _addition(addition: Addition) -> str:
    item, table = addition.item, addition.table
    if isinstance(item, MenuLink):
        return _("menu link: %(name)s → %(url)s", name=item.name, url=item.url)
    if isinstance(item, BulkAction):
        return _("bulk action on %(table)s: %(label)s (%(name)s)", table=table, label=item.label, name=item.name)
    if isinstance(item, RowAction):
        text = _("row action on %(table)s: %(label)s (%(name)s)", table=table, label=item.label, name=item.name)
        return text + (" " + _("with a form") if item.form is not None else "")
    if isinstance(item, TableAction):
        text = _("table action on %(table)s: %(label)s (%(name)s)", table=table, label=item.label, name=item.name)
        return text + (" " + _("with a form") if item.form is not None else "")
    if isinstance(item, Block):
        return _("block on %(table)s: %(slot)s (%(template)s)", table=table, slot=item.slot, template=item.template)
    if addition.hook == "table_options" and isinstance(item, t.Mapping):
        return _("table options: %(table)s (%(options)s)", table=table, options=", ".join(sorted(map(str, item))))
    return _unknown(addition)


def _unknown(addition: Addition) -> str:
    """An object of a kind not known here: its class in words, its table, its name and details."""
    item = addition.item
    kind = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", type(item).__name__).replace("_", " ").lower()
    name = next((str(v) for a in NAME_ATTRIBUTES if (v := getattr(item, a, None)) not in (None, "")), None)
    if name is None:
        name = getattr(item, "__qualname__", None) or repr(item)[:80]
    details = [
        f"{attribute}: {value}"
        for attribute in DETAIL_ATTRIBUTES
        if (value := getattr(item, attribute, None)) not in (None, "") and str(value) != name
    ]
    where = f"{addition.table}.{addition.column}" if addition.column else addition.table
    text = f"{kind} on {where}: {name}" if where else f"{kind}: {name}"
    text = f"{addition.hook}: {text}" if addition.hook not in KNOWN_HOOKS else text
    return text + (f" ({'; '.join(details)})" if details else "")


#: Hooks whose additions read well without the hook's name in front.
KNOWN_HOOKS = frozenset({"table_actions", "menu_links", "cell_renderer", "table_options", "template_blocks"})


def _later_hook(hook: str) -> str | None:
    """A line for a hook that adds nothing to list but runs later, saying when."""
    if hook in ("before_write", "after_write"):
        return _("write hook: %(hook)s (every row written)", hook=hook)
    if hook == "template_variables":
        return _("template variables (every page)")
    if hook == "startup":
        return _("start-up hook")
    return None
