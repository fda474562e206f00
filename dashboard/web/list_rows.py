"""The rows of a list page as one piece of HTML, rendered in Python.

A list page's rows were its cost: a Jinja macro call and ``get_list_value`` per cell, a
``url_for`` and a form with a CSRF token per row. Here one function per column (the view's
formatters, built once per table at start) writes each cell, and the row buttons are plain
links and a button pointing at the page's single delete form (``form="dashboard-delete"``).

Nothing per session is inside (the CSRF token lives in that one form), so the rows can be
part of the list page that :mod:`dashboard.web.page_cache` keeps for every reader alike.
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote_plus

from markupsafe import Markup, escape

from dashboard.db.records import Record
from dashboard.i18n.translation import gettext
from dashboard.web.plugin_actions import PluginActions, list_row_buttons
from dashboard.web.table_base import URL_SAFE, TableBase

#: The id of the page's one delete form, which every row's delete button submits.
DELETE_FORM_ID = "dashboard-delete"


def _buttons(view: TableBase) -> set[str]:
    """The row buttons the current reader gets: details, edit, delete (as the view allows them),
    and ``actions`` when plugins' row actions are offered in the list."""
    shown = set()
    if _row_actions(view):
        shown.add("actions")
    if view.column_display_actions:
        if view.can_view_details:
            shown.add("details")
        if view.can_edit:
            shown.add("edit")
        if view.can_delete:
            shown.add("delete")
    return shown


def rows_html(
    view: TableBase,
    records: t.Sequence[Record],
    columns: t.Sequence[str],
    return_url: str,
    with_checkboxes: bool,
) -> Markup:
    """The ``<tr>`` elements of ``records``, with the buttons the current reader may use."""
    buttons = _buttons(view)
    formatters = view.column_formatters
    classes = [(key, Markup(' class="col-{}{}"').format(key, view.cell_classes.get(key, ""))) for key in columns]
    # Row links are relative to the list page, whose URL is the view's index: "details/?id=1".
    index = view.get_url(".index_view")
    details = _relative(view.get_url(".details_view"), index) if "details" in buttons else None
    edit = _relative(view.get_url(".edit_view"), index) if "edit" in buttons else None
    # The key cell links to the row's details, as in Django's and Datasette's lists, where the
    # key is a number shown as it is (never empty, never another table's link); otherwise an
    # eye icon does.
    key_link = _key_cell(view, columns) if details else None
    button_cell = has_button_cell(view, columns)
    row_actions = _row_actions(view) if "actions" in buttons else []
    texts = {
        "select": escape(gettext("Select record")),
        "details": escape(gettext("View Record")),
        "edit": escape(gettext("Edit Record")),
        "delete": escape(gettext("Delete Record")),
    }
    # A row's details and edit pages lead back to this listing; to the plain list, the
    # default anyway, without saying so on every row.
    back = "" if return_url == index else f"&url={_url_argument(return_url)}"
    parts: list[str] = []
    append = parts.append
    for record in records:
        row_id = view.get_pk_value(record)
        id_arg = _url_argument(row_id)
        append("<tr>")
        if with_checkboxes:
            append(
                # No name: dashboard/static/handlers.js names the copies it posts "rowid".
                f'<td><input type="checkbox" class="action-checkbox" value="{escape(row_id)}" '
                f'title="{texts["select"]}"></td>'
            )
        if button_cell:
            # Icons are the links themselves (class "fa ..."): a row is a third lighter without inner spans.
            # Row bytes count twenty times a page: nothing here that CSS or a script can do without.
            append("<td>")
            if details and not key_link:
                append(
                    f'<a class="fa fa-eye" href="{escape(f"{details}?id={id_arg}{back}")}" '
                    f'title="{texts["details"]}"></a>'
                )
            if edit:
                append(
                    f'<a class="fa fa-pencil" href="{escape(f"{edit}?id={id_arg}{back}")}" title="{texts["edit"]}"></a>'
                )
            if "delete" in buttons:
                append(
                    f'<button form="{DELETE_FORM_ID}" name="id" value="{escape(row_id)}" '
                    f'class="fa fa-trash" title="{texts["delete"]}"></button>'
                )
            if row_actions:
                append(list_row_buttons(row_actions, id_arg, back))
            append("</td>")
        for key, cell_class in classes:
            if key == key_link:
                details_url = escape(f"{details}?id={id_arg}{back}")
                append(f'<td{cell_class}><a href="{details_url}">{cell_html(view, formatters, record, key)}</a></td>')
            else:
                append(f"<td{cell_class}>{cell_html(view, formatters, record, key)}</td>")
        append("</tr>")
    return Markup("".join(parts))  # nosec B704 -- every value escaped or a formatter's Markup


def has_button_cell(view: TableBase, columns: t.Sequence[str]) -> bool:
    """Whether the rows have a cell of buttons (the header then has a column for it)."""
    buttons = _buttons(view)
    return bool(buttons - {"details"}) or ("details" in buttons and _key_cell(view, columns) is None)


def _row_actions(view: TableBase) -> list[t.Any]:
    """Plugins' row actions the current reader may run from a list row (dashboard.web.plugin_actions)."""
    return view.plugin_actions_for("list") if isinstance(view, PluginActions) else []


def _key_cell(view: TableBase, columns: t.Sequence[str]) -> str | None:
    """The listed column that can link to a row's details: a one-column integer key shown in
    the list that is not itself a foreign key (its cell links to the other table's row)."""
    if len(view.info.primary_key) != 1:
        return None
    name = view.info.primary_key[0]
    key = view.info.column(name).key
    if key not in columns or name in view.fk_by_column:
        return None
    return key if view.store.codecs[key].kind == "integer" else None


def cell_html(view: TableBase, formatters: t.Mapping[str, t.Any], record: Record, key: str) -> Markup:
    """One value of ``record`` as its column's formatter writes it (escaped; empty for none)."""
    formatter = formatters.get(key)
    value = formatter(view, None, record, key) if formatter else getattr(record, key, None)
    return escape(value) if value is not None else Markup("")


def _relative(url: str, index: str) -> str:
    """``url`` relative to the list page at ``index`` when it lies below it (it does, for a view's own pages)."""
    return url[len(index) :] if url.startswith(index) else url


def _url_argument(value: str) -> str:
    """``value`` quoted for a query string as ``url_for`` quotes it."""
    return quote_plus(value, safe=URL_SAFE)
