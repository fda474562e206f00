"""Plugins' template blocks: pieces of the core pages (details side panel, list header, form
footer) that a plugin fills with its own template.

The ``template_blocks`` hook is asked once per table at start (:func:`extend_view`); what it
returns is checked and kept on the table's view. The core templates call
``dashboard_blocks(slot, admin_view, row)`` (:func:`render_blocks`), which renders each block
the operator may see with the dashboard's escaping. A block that raises shows the plugin error
panel in its own place only, and is reported as its plugin's problem; the page around it is
drawn as usual.

The list header is drawn outside the part of the list page kept in the shared cache
(:mod:`dashboard.web.page_cache`): a block may show what changes between two reads.
"""

from __future__ import annotations

import traceback
import typing as t

from flask import render_template
from markupsafe import Markup

from dashboard.db.errors import is_gone
from dashboard.db.records import Record
from dashboard.i18n.translation import gettext
from dashboard.pages import BLOCK_SLOTS, Block
from dashboard.plugins import runtime
from dashboard.plugins.actions import row_dict
from dashboard.security.auth import ROLES
from dashboard.writes import TableWriter

if t.TYPE_CHECKING:
    from dashboard.plugins.loader import PluginRegistry
    from dashboard.web.table_view import TableView

HOOK = "template_blocks"


def extend_view(found: PluginRegistry, view: TableView) -> None:
    """Keep the blocks the plugins return for ``view``'s table on the view, by slot."""
    if not found.has_implementations(HOOK):
        return
    kept: dict[str, list[tuple[str, Block]]] = {}
    for plugin, returned in reversed(found.call(HOOK, table=view.info)):
        for block in returned if isinstance(returned, (list, tuple)) else [returned]:
            problem = _problem(block)
            if problem:
                found.add_problem(plugin, HOOK, f"{view.info.id}: {problem}")
                found.discard(plugin, HOOK, block)  # not listed by `dashboard plugins`
                continue
            kept.setdefault(block.slot, []).append((plugin, block))
    if kept:
        view.plugin_blocks = kept


def _problem(block: t.Any) -> str | None:
    if not isinstance(block, Block):
        return f"returned {type(block).__name__}, not a dashboard.pages.Block"
    if block.slot not in BLOCK_SLOTS:
        return f"unknown slot {block.slot!r}; slots are {', '.join(BLOCK_SLOTS)}"
    if not isinstance(block.template, str) or not block.template:
        return "template must be a template's name"
    if block.roles is not None and set(block.roles) - set(ROLES):
        return f"unknown role(s) {', '.join(sorted(set(block.roles) - set(ROLES)))}"
    if block.context is not None and not callable(block.context):
        return "context must be a function"
    return None


def render_blocks(slot: str, view: t.Any, record: t.Any = None) -> Markup:
    """The blocks of ``slot`` on ``view``'s page the operator may see, as HTML (``dashboard_blocks`` in templates).

    :param record: the page's row (details, edit), or ``None`` (list, create).
    """
    blocks = getattr(view, "plugin_blocks", None)
    if not blocks or slot not in blocks:
        return Markup("")
    row = row_dict(view, record) if isinstance(record, Record) else None
    parts = [_render(view, plugin, block, row) for plugin, block in blocks[slot] if _shown(plugin, block)]
    if not parts:
        return Markup("")
    return Markup('<div class="dashboard-blocks dashboard-blocks-{}">{}</div>').format(slot, Markup("").join(parts))


def _shown(plugin: str, block: Block) -> bool:
    try:
        return block.shown()
    except Exception as exc:  # noqa: BLE001 -- a block that cannot say who sees it is not shown
        runtime.report(plugin, f"block {block.template}", exc, once=True)
        return False


def _render(view: TableView, plugin: str, block: Block, row: dict[str, t.Any] | None) -> Markup:
    writer = TableWriter(view, plugin)
    try:
        extra = dict(block.context(writer, row)) if block.context is not None else {}
        html = render_template(block.template, **{**extra, "row": row, "writer": writer, "table": view.info})
    except Exception as exc:
        if is_gone(exc):
            raise
        runtime.report(plugin, f"block {block.slot} {block.template}", exc)
        return Markup(
            render_template(
                "dashboard/_plugin_error.html",
                error_message=gettext("This part of the page could not be shown: its plugin failed."),
                error_details="".join(traceback.format_exception(exc)) if runtime.sees_details() else None,
            )
        )  # nosec B704 -- a template render (autoescaped)
    return Markup(  # nosec B704 -- the plugin's template, rendered with autoescaping
        f'<div class="dashboard-block" data-plugin="{Markup.escape(plugin)}">{html}</div>'
    )
