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
from dashboard.web.table_base import URL_SAFE, TableBase

#: The id of the page's one delete form, which every row's delete button submits.
DELETE_FORM_ID = "dashboard-delete"


def _buttons(view: TableBase) -> set[str]:
    """The row buttons the current reader gets: details, edit, delete (as the view allows them)."""
    shown = set()
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
    details = view.get_url(".details_view") if "details" in buttons else None
    edit = view.get_url(".edit_view") if "edit" in buttons else None
    texts = {
        "select": escape(gettext("Select record")),
        "details": escape(gettext("View Record")),
        "edit": escape(gettext("Edit Record")),
        "delete": escape(gettext("Delete Record")),
    }
    # A row's details and edit pages lead back to this listing; to the plain list, the
    # default anyway, without saying so on every row.
    index = view.get_url(".index_view")
    back = "" if return_url in (index, f"{index}?page_size={view.page_size}") else f"&url={_url_argument(return_url)}"
    parts: list[str] = []
    append = parts.append
    for record in records:
        row_id = view.get_pk_value(record)
        id_arg = _url_argument(row_id)
        append("<tr>")
        if with_checkboxes:
            append(
                f'<td><input type="checkbox" name="rowid" class="action-checkbox" value="{escape(row_id)}" '
                f'title="{texts["select"]}"></td>'
            )
        if buttons:
            # Icons are the links themselves (class "fa ..."): a row is a third lighter without inner spans.
            append('<td class="list-buttons-column">')
            if details:
                append(
                    f'<a class="icon fa fa-eye" href="{escape(f"{details}?id={id_arg}{back}")}" '
                    f'title="{texts["details"]}"></a>'
                )
            if edit:
                append(
                    f'<a class="icon fa fa-pencil" href="{escape(f"{edit}?id={id_arg}{back}")}" '
                    f'title="{texts["edit"]}"></a>'
                )
            if "delete" in buttons:
                append(
                    f'<button form="{DELETE_FORM_ID}" name="id" value="{escape(row_id)}" '
                    f'class="icon fa fa-trash" title="{texts["delete"]}"></button>'
                )
            append("</td>")
        for key, cell_class in classes:
            append(f"<td{cell_class}>{cell_html(view, formatters, record, key)}</td>")
        append("</tr>")
    return Markup("".join(parts))  # nosec B704 -- every value escaped or a formatter's Markup


def cell_html(view: TableBase, formatters: t.Mapping[str, t.Any], record: Record, key: str) -> Markup:
    """One value of ``record`` as its column's formatter writes it (escaped; empty for none)."""
    formatter = formatters.get(key)
    value = formatter(view, None, record, key) if formatter else getattr(record, key, None)
    return escape(value) if value is not None else Markup("")


def _url_argument(value: str) -> str:
    """``value`` quoted for a query string as ``url_for`` quotes it."""
    return quote_plus(value, safe=URL_SAFE)
