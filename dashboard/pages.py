"""What a plugin subclasses or returns to add a page, a bulk action or a menu link.

A page is a Flask-Admin view with the dashboard's frame, menu entry, login requirement
and CSRF protection; the plugin writes only its content::

    class Hello(Page):
        title = "Hello"
        roles = ALL_ROLES                  # default: administrators only
        template = "hello/page.html"       # extends "dashboard/page.html"

        def context(self):
            return {"greeting": "Hello"}

Deny by default: a page without ``roles`` is for administrators only, and every page
needs a logged-in operator. A POST reaches :meth:`Page.post` only with a valid CSRF
token (the site-wide check), and writes go through :mod:`dashboard.writes`, which checks
the operator's rights, read-only mode, and records them in the audit log. An exception
raised by the page's code shows an error panel inside the frame (details for
administrators), never a bare 500 page, and leaves every other page working.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from flask import Flask, abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.menu import MenuLink as FlaskAdminMenuLink
from werkzeug.exceptions import HTTPException

from dashboard.db.errors import is_gone
from dashboard.i18n.translation import gettext
from dashboard.plugins import charting
from dashboard.plugins.plugin_settings import settings_of
from dashboard.plugins.runtime import plugin_static, report, sees_details
from dashboard.plugins.write_api.failures import status_of as write_failure_status
from dashboard.security.auth import ROLES
from dashboard.security.permissions import can, operator_role
from dashboard.urls import own_endpoint, own_url
from dashboard.web.lookup_field import LookupField as LookupField
from dashboard.web.lookup_field import has_lookup
from dashboard.writes import TableWriter, WriteFailed

#: Give a page or a link ``roles = ALL_ROLES`` to open it to every logged-in operator.
ALL_ROLES: tuple[str, ...] = tuple(ROLES)
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def page_endpoint(slug: str) -> str:
    """The endpoint of the page ``slug``: in the dashboard's own namespace, so no table can take it."""
    return own_endpoint(f"page:{slug}")


def page_url(slug: str) -> str | None:
    """The URL of the page ``slug`` (``page_url()`` in templates), or ``None`` when no such page is served."""
    endpoint = page_endpoint(slug)
    if endpoint not in current_app.blueprints:
        return None
    return url_for(f"{endpoint}.index")


def plugin_settings(name: str, app: Flask | None = None) -> t.Mapping[str, t.Any]:
    """The settings of plugin ``name``: its ``[plugins.<name>]`` table of the settings file, read-only.

    An empty mapping when there is none. Inside a request it reads the current app; in a
    start-up hook pass the ``app`` the hook gets: ``plugin_settings("restock", app)``.
    ``DASHBOARD_PLUGINS__RESTOCK__LOW_STOCK=5`` in the environment sets ``low_stock``.
    """
    return settings_of(name, app)


def role_allows(roles: t.Sequence[str], action: str) -> bool:
    """Whether the current operator is an administrator (who may ``action``) or has one of ``roles``."""
    return can(action) or operator_role() in roles


class Page(BaseView):
    """A plugin's page at ``/admin/-/pages/<slug>/``: subclass it, set its class attributes.

    :cvar title: the menu entry and the heading.
    :cvar slug: the URL part (a-z, 0-9, ``_``, ``-``); the class name in lower case by default.
    :cvar category: the menu group, or none for the bar itself.
    :cvar roles: who besides administrators may open it (``ALL_ROLES``: every operator).
    :cvar template: the page's template, extending ``dashboard/page.html`` and filling its
        ``page_content`` block; it gets :meth:`context`'s variables and ``page``.
    :cvar charts: names of charts shown under the content.
    :cvar description: a line under the heading.
    """

    title: t.ClassVar[str] = ""
    slug: t.ClassVar[str] = ""
    category: t.ClassVar[str | None] = None
    roles: t.ClassVar[tuple[str, ...]] = ()
    template: t.ClassVar[str] = "dashboard/page.html"
    charts: t.ClassVar[tuple[str, ...]] = ()
    description: t.ClassVar[str] = ""
    #: Set by the dashboard: the plugin that registered the page.
    plugin: str = ""

    def __init__(self) -> None:
        slug = self.page_slug()
        if not SLUG.match(slug):
            raise ValueError(f"page slug {slug!r} must be 1-63 of a-z, 0-9, _ and -, starting with a letter or digit")
        unknown = sorted(set(self.roles) - set(ROLES))
        if unknown:
            raise ValueError(f"page {slug!r}: unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")
        super().__init__(
            name=self.title or type(self).__name__,
            category=type(self).category,
            endpoint=page_endpoint(slug),
            url=own_url(f"pages/{slug}"),
        )

    @property
    def settings(self) -> t.Mapping[str, t.Any]:
        """The settings of the page's plugin (:func:`plugin_settings`), read-only; empty when none."""
        return settings_of(self.plugin)

    @classmethod
    def page_slug(cls) -> str:
        """The page's URL part."""
        return cls.slug or cls.__name__.lower()

    # -- who may open it ------------------------------------------------------------------
    def is_accessible(self) -> bool:
        return role_allows(self.roles, f"page:{self.page_slug()}")

    # -- what a plugin writes -------------------------------------------------------------
    def context(self) -> t.Mapping[str, t.Any]:
        """Variables for :attr:`template`; called for every GET."""
        return {}

    def post(self) -> t.Any:
        """Handle a POST (its CSRF token is already checked); return a response, or ``None`` to reload the page.

        A :class:`~dashboard.writes.WriteFailed` it lets escape shows the page again, its
        ``message`` above the content (status 422; 403 for a permission, 409 for a conflict),
        and nothing of the write is saved. The default refuses: a page takes POSTs only when
        it says how.
        """
        abort(405)

    # -- serving ------------------------------------------------------------------------------
    @expose("/", methods=("GET", "POST"))
    def index(self) -> t.Any:
        if request.method == "POST":
            try:
                response = self.post()
            except WriteFailed as failed:
                if isinstance(failed, HTTPException):
                    raise  # WriteGone: the "database not reachable" page
                # The reason on the page, above its form as the operator filled it in.
                flash(failed.message, "error")
                return self.render(self.template, **self.context()), write_failure_status(failed)
            # Post/redirect/get: a reload does not send the form again.
            return response if response is not None else redirect(self.get_url(".index"))
        return self.render(self.template, **self.context())

    def render(self, template: str, **kwargs: t.Any) -> str:
        found = current_app.extensions["dashboard_plugins"].charts
        kwargs.setdefault("page", self)
        # A form with a LookupField needs the select2 scripts and styles of the core forms.
        kwargs.setdefault("lookup_assets", any(has_lookup(value) for value in kwargs.values()))
        if "chart_panels" not in kwargs:
            kwargs["chart_panels"] = charting.panels(
                found[name] if name in found else charting.missing(name, self.plugin) for name in self.charts
            )
        return super().render(template, **kwargs)

    def static_url(self, filename: str) -> str:
        """The URL of ``filename`` in the page's plugin's ``static/`` folder."""
        return plugin_static(self.plugin, filename)

    def _run_view(self, fn: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
        # Flask-Admin's own version retries a TypeError with other arguments, which would
        # hide a plugin's real error behind a second one.
        try:
            return fn(self, *args, **kwargs)
        except HTTPException:
            raise
        except WriteFailed as failed:
            return self._error(failed.message, None, write_failure_status(failed))
        except Exception as exc:
            if is_gone(exc):
                raise
            report(self.plugin, f"page {self.page_slug()}", exc)
            return self._error(None, exc, 500)

    def _error(self, message: str | None, exc: BaseException | None, status: int) -> t.Any:
        import traceback

        details = "".join(traceback.format_exception(exc)) if exc is not None and sees_details() else None
        try:
            return super().render(
                "dashboard/page_error.html", page=self, message=message, details=details, plugin=self.plugin
            ), status
        except Exception:  # noqa: BLE001 -- the frame itself failed: a plain page still answers
            return gettext("This page could not be shown."), status, {"Content-Type": "text/plain; charset=utf-8"}


@dataclass(frozen=True)
class BulkAction:
    """An action on the rows an operator selects in a table's list.

    :param name: its id (letters, digits, ``_``), unique within the table.
    :param label: the menu text.
    :param run: ``run(rows, writer)``: ``rows`` are the selected rows as dicts by column
        name, ``writer`` a :class:`dashboard.writes.TableWriter` for the table; returns the
        message to show (or ``None`` for a default one). A
        :class:`~dashboard.writes.WriteFailed` it lets escape is shown above the list instead
        (naming the row refused); wrap its writes in ``transaction()`` to make them all or none.
    :param confirmation: a question asked before running it, if any.
    :param permission: the table action the operator needs: ``edit`` (default; the table must
        also be writable), ``create``, ``delete``, ``view`` or ``export``.
    """

    name: str
    label: str
    run: t.Callable[[list[dict[str, t.Any]], t.Any], str | None]
    confirmation: str | None = None
    permission: str = "edit"

    def allowed_on(self, writer: TableWriter) -> bool:
        """Whether the current operator may run it on ``writer``'s table (a write also needs the
        table writable and the dashboard not read-only)."""
        return writer.allowed(self.permission)


@dataclass(frozen=True)
class MenuLink:
    """A link in the navigation bar.

    :param name: the text shown.
    :param url: a path on this site (``/admin/...``) or an ``http(s)://`` address.
    :param category: the menu group, or none for the bar itself.
    :param roles: who besides administrators sees it (default: every operator).
    """

    name: str
    url: str
    category: str | None = None
    roles: tuple[str, ...] = ALL_ROLES


class RoleMenuLink(FlaskAdminMenuLink):
    """Flask-Admin's menu link, shown only to operators with one of its roles."""

    def __init__(self, link: MenuLink) -> None:
        super().__init__(name=link.name, url=link.url, category=link.category)
        self.roles = tuple(link.roles)

    def is_accessible(self) -> bool:
        return role_allows(self.roles, "menu_link")


# -- extension points on the core pages ------------------------------------------------------------
# Returned from the hooks ``table_actions`` (RowAction, TableAction) and ``template_blocks``
# (Block); served by dashboard.plugins.actions and dashboard.plugins.blocks.


@dataclass(frozen=True)
class RowAction:
    """An action on one row: a button on the row's details page and in its list row.

    With a ``form``, the button opens a page (``/admin/<table>/action/<name>/?id=<key>``)
    that asks it; a valid POST runs the action, an invalid one shows the form again with
    the fields' errors. Without one, the details page's button posts at once (after the
    ``confirmation``, if any) and the list's opens a page asking to confirm.

    :param name: its id (a-z, 0-9, ``_``), unique within the table; part of its URL.
    :param label: the button's text.
    :param run: ``run(row, writer, form)``: ``row`` is the row as a dict by column name (its
        visible columns and its key, as :meth:`dashboard.writes.TableWriter.rows` returns
        rows), ``writer`` a :class:`~dashboard.writes.TableWriter` for the table, ``form`` the
        validated form (or ``None``). Returns the message to show (``None``: a default one)
        or a response. A :class:`~dashboard.writes.WriteFailed` it lets escape (a refusal, a
        constraint, a conflict) is shown as a message on the form, with status 403, 409 or
        422; any other exception is reported as the plugin's problem and shows the error panel.
    :param form: a ``flask_wtf.FlaskForm`` subclass asked before running, or ``None``.
    :param permission: the table right the operator needs: ``edit`` (default; the table
        must also be writable and the dashboard not read-only), ``create``, ``delete``,
        ``view`` or ``export``.
    :param roles: when given, the operator also needs one of these roles (administrators
        always may).
    :param confirmation: a question asked before running a form-less action.
    :param on_list: show the button in the list's rows.
    :param on_details: show the button on the details page.
    """

    name: str
    label: str
    run: t.Callable[[dict[str, t.Any], TableWriter, t.Any], t.Any]
    form: type | None = None
    permission: str = "edit"
    roles: tuple[str, ...] | None = None
    confirmation: str | None = None
    on_list: bool = True
    on_details: bool = True

    def __post_init__(self) -> None:
        if self.roles is not None:
            object.__setattr__(self, "roles", tuple(self.roles))

    def allowed_on(self, writer: TableWriter) -> bool:
        """Whether the current operator may run it on ``writer``'s table: the ``permission`` (with
        read-only mode and writable tables) and, when ``roles`` is given, one of them. A subclass
        may narrow it, by the operator's role and table rights only (list rows are cached by them)."""
        return writer.allowed(self.permission) and (
            self.roles is None or role_allows(self.roles, f"action:{writer.info.id}:{self.name}")
        )


@dataclass(frozen=True)
class TableAction:
    """An action on a whole table: a link in its list page's menu bar, to a page
    (``/admin/<table>/action/<name>/``) that asks its ``form`` (or a confirmation) and runs it.

    :param name: its id (a-z, 0-9, ``_``), unique within the table.
    :param label: the link's text and the page's title.
    :param run: ``run(writer, form)``: a :class:`~dashboard.writes.TableWriter` for the table
        and the validated form (or ``None``); returns a message to show (``None``: a default
        one) or a response. Errors are handled as for :class:`RowAction`.
    :param form: a ``flask_wtf.FlaskForm`` subclass asked before running, or ``None``.
    :param permission: the table right the operator needs (default ``edit``), as for :class:`RowAction`.
    :param roles: when given, the operator also needs one of these roles (administrators always may).
    :param confirmation: a question shown above the form's button.
    """

    name: str
    label: str
    run: t.Callable[[TableWriter, t.Any], t.Any]
    form: type | None = None
    permission: str = "edit"
    roles: tuple[str, ...] | None = None
    confirmation: str | None = None

    def __post_init__(self) -> None:
        if self.roles is not None:
            object.__setattr__(self, "roles", tuple(self.roles))

    def allowed_on(self, writer: TableWriter) -> bool:
        """Whether the current operator may run it on ``writer``'s table (as :meth:`RowAction.allowed_on`)."""
        return writer.allowed(self.permission) and (
            self.roles is None or role_allows(self.roles, f"action:{writer.info.id}:{self.name}")
        )


#: The places of the core pages a :class:`Block` may fill.
BLOCK_SLOTS: tuple[str, ...] = ("details_side", "list_header", "form_footer")


@dataclass(frozen=True)
class Block:
    """A piece of a core page that a plugin fills with its own template.

    :param slot: where: ``details_side`` (a panel beside a row's details; the template gets
        ``row``), ``list_header`` (above a table's list) or ``form_footer`` (under the create and
        edit forms; ``row`` is ``None`` on create).
    :param template: the plugin's template (in its ``templates/`` folder), rendered with the
        dashboard's escaping; it gets ``row`` (a dict by column name, or ``None``), ``writer``
        (a :class:`~dashboard.writes.TableWriter` for the table) and ``table`` (its description).
    :param roles: who besides administrators sees it (default: every operator who sees the
        page); ``None`` is the same as every operator.
    :param context: ``context(writer, row)`` returns more variables for the template.
    """

    slot: str
    template: str
    roles: tuple[str, ...] | None = ALL_ROLES
    context: t.Callable[[TableWriter, dict[str, t.Any] | None], t.Mapping[str, t.Any]] | None = None

    def __post_init__(self) -> None:
        if self.roles is not None:
            object.__setattr__(self, "roles", tuple(self.roles))

    def shown(self) -> bool:
        """Whether the current operator sees it."""
        return self.roles is None or role_allows(self.roles, "block")
