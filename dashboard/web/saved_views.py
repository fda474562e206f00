"""Saved views of a table's list: its filters, search, sort, page size and columns under a name.

A view belongs to the operator who saved it and is private to them, or shared with one role
(only administrators share). Its stable address is ``<list>/?view=<slug>``; that address alone
answers with a redirect to the list's address carrying the view's stored arguments and
``view=<slug>``, so filters, search, sort and page size are the list's ordinary arguments (in
every key of the shared page cache). The ``view`` argument then only shows the view's columns
(through :func:`dashboard.web.column_choices.show_for_request`, in place of the operator's own
choice) and its name, and names the stored columns that have left the database.

Opening a view never widens what the operator may see: the list's own permission checks run
as for any list (a table the operator may not read is 403), only the view's columns the
operator may see are shown, and a private view of another operator is 404.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import typing as t
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl

import sqlalchemy as sa
from flask import abort, current_app, flash, g, has_request_context, jsonify, redirect, request, url_for
from flask_admin.base import expose
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from dashboard import statedb
from dashboard.i18n.translation import gettext
from dashboard.security.auth import ROLES
from dashboard.web import column_choices
from dashboard.web.table_base import TableBase

#: The longest name a view may have, and the longest slug made from it.
NAME_LIMIT = 100
SLUG_LIMIT = 60
#: The list arguments a view keeps: everything else (page, refresh, exact_count) is the moment's.
KEPT_ARGS = ("search", "sort", "desc", "page_size")
FILTER_ARG = re.compile(r"flt\d+_")
ADMIN = "admin"

# Defined here on the state database's metadata (statedb.py is at its length limit): this
# module is imported with the table views, before the app creates the state tables.
saved_views = sa.Table(
    "saved_views",
    statedb.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("table_id", sa.String(255), nullable=False),
    sa.Column("slug", sa.String(SLUG_LIMIT + 8), nullable=False),
    sa.Column("name", sa.String(NAME_LIMIT), nullable=False),
    sa.Column("owner", sa.String(150), nullable=False, index=True),
    #: ``None``: private to its owner; else the role it is shared with.
    sa.Column("shared_role", sa.String(32), nullable=True),
    #: The list's arguments, ``[[name, value], ...]``; the sort as a column name (``sort_column``)
    #: and each filter by its column and kind (``filter``: see :func:`_filter_kind`), as indexes
    #: move when a column leaves the database.
    sa.Column("arguments", sa.JSON, nullable=False),
    #: The column names shown, in order; ``None`` for the operator's own columns or the defaults.
    sa.Column("columns", sa.JSON, nullable=True),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("table_id", "slug", name="uq_saved_views_table_slug"),
)


@dataclass(frozen=True)
class SavedView:
    """One row of ``saved_views``."""

    id: int
    table_id: str
    slug: str
    name: str
    owner: str
    shared_role: str | None
    arguments: list[list[str]]
    columns: list[str] | None

    def may_open(self, username: str, role: str | None) -> bool:
        """Whether ``username`` (of ``role``) may open this view: their own, or shared with their role
        (administrators may open every shared view)."""
        if self.owner == username:
            return True
        return self.shared_role is not None and role is not None and role in (self.shared_role, ADMIN)


class NameTaken(ValueError):
    """The operator already has a view of that name on the table."""


# -- the state database ------------------------------------------------------------------------
def _view(row: t.Any) -> SavedView:
    arguments = row.arguments if isinstance(row.arguments, list) else []
    pairs = [[str(p[0]), str(p[1])] for p in arguments if isinstance(p, list) and len(p) == 2]
    columns = row.columns if isinstance(row.columns, list) else None
    names = [str(name) for name in columns] if columns is not None else None
    return SavedView(row.id, row.table_id, row.slug, row.name, row.owner, row.shared_role, pairs, names)


def slug_for(name: str) -> str:
    """The address part made from a view's name: lower-case ASCII letters, digits and dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:SLUG_LIMIT].strip("-")
    return slug or "view"


def find(store: statedb.StateStore, table_id: str, slug: str) -> SavedView | None:
    """The view of ``table_id`` at ``slug``, whoever may open it."""
    statement = sa.select(saved_views).where(saved_views.c.table_id == table_id, saved_views.c.slug == slug)
    with store.engine.connect() as connection:
        row = connection.execute(statement).first()
    return None if row is None else _view(row)


def openable(
    store: statedb.StateStore, username: str, role: str | None, table_id: str | None = None
) -> list[SavedView]:
    """The views ``username`` may open (of ``table_id``, or of every table), by name."""
    shared = saved_views.c.shared_role.is_not(None) if role == ADMIN else saved_views.c.shared_role == role
    statement = sa.select(saved_views).where(sa.or_(saved_views.c.owner == username, shared))
    if table_id is not None:
        statement = statement.where(saved_views.c.table_id == table_id)
    with store.engine.connect() as connection:
        rows = connection.execute(statement.order_by(saved_views.c.name, saved_views.c.id)).all()
    return [view for view in map(_view, rows) if view.may_open(username, role)]


def add(store: statedb.StateStore, table_id: str, name: str, owner: str, **values: t.Any) -> SavedView:
    """Keep a new view; its slug is made from ``name``, with a number after it when taken.

    :raises NameTaken: when ``owner`` already has a view named ``name`` on ``table_id``.
    """
    mine = (saved_views.c.table_id == table_id) & (saved_views.c.owner == owner) & (saved_views.c.name == name)
    base = slug_for(name)
    for attempt in range(1, 100):
        slug = base if attempt == 1 else f"{base}-{attempt}"
        try:
            with store.engine.begin() as connection:
                if connection.execute(sa.select(saved_views.c.id).where(mine)).first() is not None:
                    raise NameTaken(name)
                connection.execute(
                    saved_views.insert().values(
                        table_id=table_id, slug=slug, name=name, owner=owner, saved_at=dt.datetime.now(dt.UTC), **values
                    )
                )
        except IntegrityError:
            continue  # the slug is another view's: try the next number
        found = find(store, table_id, slug)
        if found is not None:
            return found
    raise RuntimeError("no free address for the view")


def remove(store: statedb.StateStore, view_id: int) -> None:
    with store.engine.begin() as connection:
        connection.execute(saved_views.delete().where(saved_views.c.id == view_id))


# -- the current request -----------------------------------------------------------------------
def _operator() -> tuple[str, str | None] | None:
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return None
    return str(current_user.username), getattr(current_user, "role", None)


def _opened(view: TableBase) -> tuple[SavedView, list[str]] | None:
    """The saved view open in this request's list of ``view``, and its vanished columns."""
    opened = g.get("dashboard_saved_view")
    return opened if opened is not None and opened[0].table_id == view.info.id else None


def list_url(view: TableBase, pairs: t.Iterable[tuple[str, str]]) -> str:
    args: dict[str, t.Any] = {}
    for name, value in pairs:
        args.setdefault(name, []).append(value)
    return url_for(f"{view.endpoint}.index_view", **args)


def open_for_request(view: TableBase) -> t.Any:
    """Apply the ``view`` argument of this list request; a response when it answers instead
    of the list (the redirect to the view's arguments, a 404), else ``None``."""
    slug = request.args.get("view")
    operator = _operator()
    if slug is None or operator is None:
        return None
    found = find(statedb.get_store(current_app), view.info.id, slug)
    if found is None:
        flash(gettext('There is no saved view "%(name)s" of this table: the list as it is.', name=slug[:NAME_LIMIT]))
        return None
    if not found.may_open(*operator):
        abort(404)
    by_name = {c.name: c for c in view.visible}
    names = found.columns or []
    keys = [by_name[name].key for name in dict.fromkeys(names) if name in by_name]
    if found.columns is not None:
        column_choices.show_for_request(view, keys)
    if set(request.args) == {"view"} and found.arguments:
        return redirect(list_url(view, [*_list_pairs(view, found.arguments), ("view", slug)]))
    known = {c.name for c in view.info.columns}
    gone = [name for name in names if name not in known] + _gone_filter_columns(view, found.arguments)
    g.dashboard_saved_view = (found, list(dict.fromkeys(gone)))
    return None


def _filter_kind(flt: t.Any) -> list[str]:
    """A filter of a list as a view keeps it: its column's name and its kind (class names; an
    "any of" twin with its base's)."""
    base = getattr(flt, "base", None)
    kind = type(flt).__name__ if base is None else f"{type(flt).__name__}:{type(base).__name__}"
    return [str(getattr(getattr(flt, "column", None), "name", "")), kind]


def _stored_filter(value: str) -> tuple[str, str, str] | None:
    try:
        column, kind, text = json.loads(value)
    except (ValueError, TypeError):
        return None
    return (column, kind, text) if all(isinstance(part, str) for part in (column, kind, text)) else None


def _list_pairs(view: TableBase, stored: list[list[str]]) -> list[tuple[str, str]]:
    """The list arguments of a view's stored ones: its sort column back to its index in the
    columns now shown, its filters back to their arguments (dropped when their column is gone)."""
    pairs = []
    listed = [str(key) for key, _label in view._list_columns]
    keys = {c.name: c.key for c in view.visible}
    filters = {tuple(_filter_kind(flt)): arg for arg, (_index, flt) in (view._filter_args or {}).items()}
    for name, value in stored:
        if name == "sort_column":
            if keys.get(value) in listed:
                pairs.append(("sort", str(listed.index(keys[value]))))
        elif name == "filter":
            found = _stored_filter(value)
            arg = filters.get(found[:2]) if found is not None else None
            if found is not None and arg is not None:
                pairs.append((f"flt{sum(p[0].startswith('flt') for p in pairs)}_{arg}", found[2]))
        else:
            pairs.append((name, value))
    return pairs


def _gone_filter_columns(view: TableBase, stored: list[list[str]]) -> list[str]:
    known = {c.name for c in view.info.columns}
    found = [_stored_filter(value) for name, value in stored if name == "filter"]
    return [f[0] for f in found if f is not None and f[0] not in known]


def page_key_part(view: TableBase) -> list[t.Any]:
    """What a kept list page's key needs for an open view (its name and notes are on the page)."""
    opened = _opened(view)
    if opened is not None:
        return [["view", opened[0].id, opened[0].slug]]
    return []


def notes(view: TableBase) -> list[str]:
    """The list's notes about the open view: its name, and its columns that left the database."""
    opened = _opened(view)
    if opened is None:
        return []
    found, vanished = opened
    said = [gettext('Saved view "%(name)s".', name=found.name)]
    if vanished:
        said.append(
            gettext(
                "Columns of this view that are no longer in the database: %(columns)s.", columns=", ".join(vanished)
            )
        )
    return said


def _refusal(message: str, status: int = 400) -> t.Any:
    return jsonify({"error": message}), status


class SavedViews(TableBase):
    """The routes that list, save and delete a table's views (static/saved_views.js).

    A floor of the view (under :class:`~dashboard.web.table_reads.TableReads`), like
    :class:`~dashboard.web.column_choices.ColumnChoices`.
    """

    def saved_view_url(self, found: SavedView) -> str:
        return url_for(f"{self.endpoint}.index_view", view=found.slug)

    @expose("/views.json")
    def views_json_view(self) -> t.Any:
        """The views of this table the operator may open, and the texts of the menu and form."""
        operator = _operator()
        if operator is None:
            return _refusal(gettext("Log in to save views."), 403)
        username, role = operator
        views = openable(statedb.get_store(current_app), username, role, self.info.id)
        return jsonify(
            {
                "views": [
                    {
                        "slug": found.slug,
                        "name": found.name,
                        "url": self.saved_view_url(found),
                        "owner": found.owner,
                        "shared": found.shared_role,
                        "deletable": found.owner == username or role == ADMIN,
                    }
                    for found in views
                ],
                "roles": list(ROLES) if role == ADMIN else [],
                "text": {
                    "title": gettext("Saved views"),
                    "none": gettext("No saved views of this table yet."),
                    "name": gettext("Name of the view"),
                    "private": gettext("Only me"),
                    "share": gettext("Share with the role"),
                    "save": gettext("Save"),
                    "cancel": gettext("Cancel"),
                    "delete": gettext("Delete"),
                    "confirm": gettext("Delete this saved view?"),
                    "by": gettext("by %(owner)s"),
                    "shared": gettext("shared with %(role)s"),
                },
            }
        )

    @expose("/views", methods=("POST",))
    def views_save_view(self) -> t.Any:
        """Save the list as it is (``arguments``: its query string) under ``name``."""
        operator = _operator()
        if operator is None:
            return _refusal(gettext("Log in to save views."), 403)
        username, role = operator
        name = " ".join(request.form.get("name", "").split())
        if not name:
            return _refusal(gettext("Give the view a name."))
        if len(name) > NAME_LIMIT:
            return _refusal(gettext("A view's name is at most %(limit)s characters long.", limit=NAME_LIMIT))
        share = request.form.get("share") or None
        if share is not None and role != ADMIN:
            return _refusal(gettext("Only administrators share views."), 403)
        if share is not None and share not in ROLES:
            return _refusal(gettext("No such role: %(role)s.", role=share[:NAME_LIMIT]))
        arguments, columns = self._saved_state(request.form.get("arguments", ""))
        try:
            found = add(
                statedb.get_store(current_app),
                self.info.id,
                name,
                username,
                shared_role=share,
                arguments=arguments,
                columns=columns,
            )
        except NameTaken:
            return _refusal(gettext('You already have a view named "%(name)s" of this table.', name=name))
        return jsonify({"saved": True, "slug": found.slug, "url": self.saved_view_url(found)})

    def _saved_state(self, query: str) -> tuple[list[list[str]], list[str] | None]:
        """The arguments and columns a view keeps from the list at ``query`` (with the columns
        of a view open there, else the operator's own choice)."""
        args = parse_qsl(query.lstrip("?"), keep_blank_values=True)
        slug = dict(args).get("view")
        operator = _operator()
        found = find(statedb.get_store(current_app), self.info.id, slug) if slug else None
        if found is not None and operator is not None and found.may_open(*operator) and found.columns is not None:
            by_name = {c.name: c.key for c in self.visible}
            column_choices.show_for_request(self, [by_name[n] for n in found.columns if n in by_name])
        chosen = column_choices.chosen_keys(self)
        listed = [str(key) for key, _label in self._list_columns]
        names = {c.key: c.name for c in self.visible}
        arguments: list[list[str]] = []
        for name, value in args:
            if name == "sort":
                index = int(value) if value.isdigit() else -1
                if 0 <= index < len(listed) and listed[index] in names:
                    arguments.append(["sort_column", names[listed[index]]])
            elif FILTER_ARG.match(name):
                flt = (self._filter_args or {}).get(name.split("_", 1)[1])
                if flt is not None:
                    arguments.append(["filter", json.dumps([*_filter_kind(flt[1]), value])])
            elif name in KEPT_ARGS:
                arguments.append([name, value])
        columns = None if chosen is None else [names[key] for key in chosen if key in names]
        return arguments, columns

    @expose("/views/delete", methods=("POST",))
    def views_delete_view(self) -> t.Any:
        """Delete a view: one's own, or any for an administrator."""
        operator = _operator()
        if operator is None:
            return _refusal(gettext("Log in to save views."), 403)
        username, role = operator
        found = find(statedb.get_store(current_app), self.info.id, request.form.get("slug", ""))
        if found is None or not found.may_open(username, role):
            return _refusal(gettext("There is no such saved view."), 404)
        if found.owner != username and role != ADMIN:
            return _refusal(gettext("Only its owner or an administrator deletes a view."), 403)
        remove(statedb.get_store(current_app), found.id)
        return jsonify({"deleted": True})


def finder_entries(tables: t.Mapping[str, t.Any]) -> list[dict[str, str]]:
    """The navbar finder's entries for the views the operator may open, of the tables in
    ``tables`` (the ones they may open, by id, with their labels)."""
    operator = _operator()
    if operator is None:
        return []
    entries = []
    for found in openable(statedb.get_store(current_app), *operator):
        table = tables.get(found.table_id)
        if table is None:
            continue
        entries.append(
            {
                "id": f"view:{found.table_id}:{found.slug}",
                "label": found.name,
                "group": gettext("Saved views of %(table)s", table=table["label"]),
                "url": f"{table['url']}?view={found.slug}",
            }
        )
    return entries
