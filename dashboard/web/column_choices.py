"""The columns an operator chose for a table's list, in their order (the list's "Columns" button).

A choice is kept per operator and table in the state database (``column_choices`` in
:mod:`dashboard.statedb`), by column name, so it follows the operator to another browser.
Without one, a list shows the view's ``column_list``: the table's settings, else
:func:`dashboard.db.list_columns.default_list_columns`.

Views are shared by every thread of a process, so the choice is never set on the view:
:class:`ColumnChoices` answers Flask-Admin's ``get_list_columns()`` and ``_list_columns``
(read by its list, its sort links and the export's sort) for the current request, from the
choice read once per request (``g``). Only columns the operator may see (``view.visible``:
no hidden or secret-looking column) are ever offered, stored or shown; a stored name whose
column has since left the database is skipped. The list page is kept whole in a shared
cache: :func:`page_key_part` puts the choice into its key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import typing as t

import sqlalchemy as sa
from flask import current_app, g, has_request_context, jsonify, request
from flask_admin.base import expose
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from dashboard import statedb
from dashboard.i18n.translation import gettext
from dashboard.web.caching import listing_cache
from dashboard.web.table_base import TableBase

#: How much of a refused name the message repeats.
NAME_LIMIT = 100

_table = statedb.column_choices


# -- the state database ------------------------------------------------------------------------
def saved_names(store: statedb.StateStore, username: str, table_id: str) -> list[str] | None:
    """The column names ``username`` chose for ``table_id``, or ``None`` for the defaults."""
    statement = sa.select(_table.c.columns).where(_table.c.username == username, _table.c.table_id == table_id)
    with store.engine.connect() as connection:
        found = connection.execute(statement).scalar()
    # Anything but a list of names (a row written by hand) counts as no choice.
    if not isinstance(found, list) or not all(isinstance(name, str) for name in found):
        return None
    return found


def save_names(store: statedb.StateStore, username: str, table_id: str, names: list[str]) -> None:
    """Keep ``names`` as ``username``'s columns for ``table_id``, replacing an earlier choice."""
    row = (_table.c.username == username) & (_table.c.table_id == table_id)
    values = {"columns": names, "saved_at": dt.datetime.now(dt.UTC)}
    for _ in range(2):
        try:
            with store.engine.begin() as connection:
                if connection.execute(_table.update().where(row).values(**values)).rowcount:
                    return
                connection.execute(_table.insert().values(username=username, table_id=table_id, **values))
                return
        except IntegrityError:
            continue  # the same operator's other save inserted the row first: update it
    raise RuntimeError("the column choice could not be saved")


def forget_names(store: statedb.StateStore, username: str, table_id: str) -> None:
    """Drop ``username``'s choice for ``table_id``: the list shows its defaults again."""
    with store.engine.begin() as connection:
        connection.execute(_table.delete().where(_table.c.username == username, _table.c.table_id == table_id))


# -- the shared cache in front of it -----------------------------------------------------------
#: How long the shared cache answers for an operator's choice. Saves and resets through the
#: dashboard write it there at once (every worker reads the new one); the TTL only bounds what
#: a change behind the dashboard's back leaves (a removed operator's choice: still only
#: columns the reader may see, :func:`chosen_keys` checks).
CACHE_TTL_SECONDS = 300


def _cache_key(username: str, table_id: str) -> str:
    payload = json.dumps(["column-choice", username, table_id])
    return "columns:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cached_names(store: statedb.StateStore, username: str, table_id: str) -> list[str] | None:
    """:func:`saved_names` through the listing cache: a list page is served from the cache in
    a few milliseconds, and a state-database query on each was a tenth of that."""
    cache = listing_cache()
    if cache is None:
        return saved_names(store, username, table_id)
    key = _cache_key(username, table_id)
    found = cache.get(key)
    if isinstance(found, dict):
        return t.cast("list[str] | None", found.get("names"))
    names = saved_names(store, username, table_id)
    cache.add(key, {"names": names}, ttl=CACHE_TTL_SECONDS)
    return names


def _remember(username: str, table_id: str, names: list[str] | None) -> None:
    """Put a choice just written to the state database into the shared cache."""
    cache = listing_cache()
    if cache is not None:
        cache.set(_cache_key(username, table_id), {"names": names}, ttl=CACHE_TTL_SECONDS)


# -- the current request -----------------------------------------------------------------------
def _operator() -> str | None:
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return None
    return str(current_user.username)


def chosen_keys(view: TableBase) -> list[str] | None:
    """The keys of the columns the current operator chose for ``view``'s list, in their
    order, or ``None`` (no choice, or none of its columns is left): the view's defaults."""
    username = _operator()
    if username is None:
        return None
    memo: dict[str, list[str] | None] = g.setdefault("dashboard_column_choices", {})
    if view.info.id not in memo:
        names = cached_names(statedb.get_store(current_app), username, view.info.id) or []
        keys = {c.name: c.key for c in view.visible}
        memo[view.info.id] = [keys[name] for name in dict.fromkeys(names) if name in keys] or None
    return memo[view.info.id]


def show_for_request(view: TableBase, keys: list[str]) -> None:
    """Show the columns ``keys`` in ``view``'s list for the rest of this request, in place of
    the operator's choice (an open saved view: dashboard.web.saved_views); none left: the defaults."""
    g.setdefault("dashboard_column_choices", {})[view.info.id] = keys or None


def page_key_part(view: TableBase) -> list[t.Any]:
    """What a kept list page's key needs for the operator's columns (nothing for the defaults)."""
    keys = chosen_keys(view)
    return [] if keys is None else [["columns", keys]]


def _refusal(message: str) -> t.Any:
    return jsonify({"error": message}), 400


class ColumnChoices(TableBase):
    """The list's columns per operator, and the routes that read and save the choice.

    A floor of the view (under :class:`~dashboard.web.table_reads.TableReads`), not a mixin:
    Flask-Admin's metaclass sets a wrapped copy of every exposed view on each class it makes,
    so a mixin placed first would answer ``index_view`` with Flask-Admin's own.
    """

    @property
    def _list_columns(self) -> list[tuple[t.Any, str]]:
        # Flask-Admin sets this once at start-up (the defaults, for every operator) and reads
        # it in the list and to map a ``sort`` index to its column.
        if chosen_keys(self) is None:
            return self._default_list_columns
        return self.get_list_columns()

    @_list_columns.setter
    def _list_columns(self, columns: list[tuple[t.Any, str]]) -> None:
        # Always the view's own columns, whoever's request this would run in: what is set
        # here is shown to every operator without a choice.
        self._default_list_columns = self.get_column_names(only_columns=self.column_list, excluded_columns=None)

    def get_list_columns(self) -> list[tuple[t.Any, str]]:
        keys = chosen_keys(self)
        return self.get_column_names(only_columns=keys or self.column_list, excluded_columns=None)

    def listed_keys(self) -> list[str]:
        """The keys of the columns the current list shows."""
        return [str(key) for key, _label in self._list_columns]

    @expose("/columns.json")
    def columns_json_view(self) -> t.Any:
        """Every column the operator may show, shown ones first in their order, with the
        texts of the chooser (static/columns.js builds it only when asked)."""
        shown = self.listed_keys()
        order = {key: index for index, key in enumerate(shown)}
        columns = sorted(self.visible, key=lambda c: order.get(c.key, len(order)))
        return jsonify(
            {
                "columns": [
                    {"name": c.name, "label": str(self.column_labels.get(c.key, c.name)), "shown": c.key in order}
                    for c in columns
                ],
                "chosen": chosen_keys(self) is not None,
                "text": {
                    "title": gettext("Columns shown in this list"),
                    "up": gettext("Move up"),
                    "down": gettext("Move down"),
                    "save": gettext("Save"),
                    "reset": gettext("Reset to the defaults"),
                    "cancel": gettext("Cancel"),
                    "none": gettext("Choose at least one column."),
                },
            }
        )

    @expose("/columns", methods=("POST",))
    def columns_save_view(self) -> t.Any:
        """Save the operator's columns (``columns``, in order), or drop them (``reset``)."""
        username = _operator()
        if username is None:
            return _refusal(gettext("Log in to choose columns."))
        store = statedb.get_store(current_app)
        if request.form.get("reset"):
            forget_names(store, username, self.info.id)
            _remember(username, self.info.id, None)
            return jsonify({"saved": False})
        names = request.form.getlist("columns")
        visible = {c.name for c in self.visible}
        unknown = [name for name in names if name not in visible]
        if unknown:
            shown = ", ".join(f'"{name[:NAME_LIMIT]}"' for name in unknown[:5])
            return _refusal(gettext("Not a column of this list: %(names)s. Nothing was saved.", names=shown))
        if not names:
            return _refusal(gettext("Choose at least one column."))
        chosen = list(dict.fromkeys(names))
        save_names(store, username, self.info.id, chosen)
        _remember(username, self.info.id, chosen)
        return jsonify({"saved": True})
