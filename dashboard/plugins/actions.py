"""Plugins' row and table actions: checked once at start, then asked, run and answered per request.

:func:`register` takes a :class:`~dashboard.pages.RowAction` or :class:`~dashboard.pages.TableAction`
that a ``table_actions`` hook returned, and puts an :class:`ActionEntry` on the table's view
(:class:`dashboard.web.plugin_actions.PluginActions`), which shows its buttons and routes
``action/<name>/`` here. Serving one:

- the operator needs the action's rights (``allowed_on``: the table right, read-only mode, a
  writable table, and its roles) on every request: a forged POST is a 403 and runs nothing;
- a POST carries the session's CSRF token (the site-wide check has already refused one that
  does not), and runs the action only when its form validates; an invalid form is shown
  again with its errors (422);
- a write error the action lets escape (``WriteRefused``, a database refusal, a write
  hook's veto) is a message on the form (403, 409 or 422), nothing else: it was refused,
  not crashed. Any other exception is the plugin's problem: reported
  (:func:`dashboard.plugins.runtime.report`) and shown as the error panel, status 500.
"""

from __future__ import annotations

import re
import traceback
import typing as t

from flask import flash, redirect, request
from flask_admin.helpers import get_redirect_target
from werkzeug.exceptions import abort
from werkzeug.wrappers import Response as BaseResponse

from dashboard.db.errors import Kind, is_gone
from dashboard.db.records import WriteError
from dashboard.i18n.translation import gettext, translate
from dashboard.pages import RowAction, TableAction
from dashboard.plugins import runtime
from dashboard.plugins.write_api.failures import status_of
from dashboard.security.auth import ROLES, TABLE_ACTIONS
from dashboard.web.lookup_field import has_lookup
from dashboard.web.unavailable import DatabaseUnreachable
from dashboard.writes import TableWriter, WriteFailed

if t.TYPE_CHECKING:
    from dashboard.db.records import Record
    from dashboard.plugins.loader import PluginRegistry
    from dashboard.web.table_view import TableView

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: What an action may raise to say "refused" rather than "crashed": the public API's one error
#: type for writes, and the record store's own (a plugin that writes some other way).
_WRITE_ERRORS: tuple[type[BaseException], ...] = (WriteFailed, WriteError)
TEMPLATE = "dashboard/plugin_action.html"


def register(found: PluginRegistry, view: TableView, plugin: str, action: RowAction | TableAction) -> bool:
    """Offer ``action`` on ``view``'s pages; ``False`` (and a problem of ``plugin``) when it cannot be."""
    where = f"{view.info.id}: action {action.name!r}"
    problem = None
    if not isinstance(action.name, str) or not _NAME.match(action.name):
        problem = "its name must be 1-63 of a-z, 0-9 and _, starting with a letter or _"
    elif action.name in view.plugin_actions or action.name in view._actions_data:
        problem = "another action of this table already has that name"
    elif action.permission not in TABLE_ACTIONS:
        problem = f"unknown permission {action.permission!r}; use one of {', '.join(TABLE_ACTIONS)}"
    elif action.roles is not None and set(action.roles) - set(ROLES):
        problem = f"unknown role(s) {', '.join(sorted(set(action.roles) - set(ROLES)))}"
    elif not callable(action.run):
        problem = "run is not a function"
    elif action.form is not None and not (isinstance(action.form, type) and hasattr(action.form, "validate")):
        problem = "form must be a FlaskForm subclass"
    if problem:
        found.add_problem(plugin, "table_actions", f"{where}: {problem}")
        return False
    if "plugin_actions" not in vars(view):
        view.plugin_actions = {}  # the view's own, not the class's shared empty one
    view.plugin_actions[action.name] = ActionEntry(view, plugin, action)
    return True


class ActionEntry:
    """One plugin action on one table (:class:`dashboard.web.plugin_actions.ActionEntry`)."""

    def __init__(self, view: TableView, plugin: str, action: RowAction | TableAction) -> None:
        self.view = view
        self.plugin = plugin
        self.action = action
        self.name = action.name
        self.kind = "row" if isinstance(action, RowAction) else "table"
        self.on_list = bool(getattr(action, "on_list", False))
        self.on_details = bool(getattr(action, "on_details", False))
        self.asks_first = action.form is not None or bool(action.confirmation)
        self.confirmation = action.confirmation

    @property
    def label(self) -> str:
        return str(self.action.label)

    def shown(self) -> bool:
        if self.kind == "row" and not _addressable(self.view):
            return False
        try:
            return bool(self.action.allowed_on(TableWriter(self.view, self.plugin)))
        except Exception as exc:  # noqa: BLE001 -- a plugin's allowed_on that raises hides its button
            runtime.report(self.plugin, f"action {self.name}", exc, once=True)
            return False

    # -- serving ------------------------------------------------------------------------------
    def serve(self, view: TableView, name: str) -> t.Any:
        if not self.shown():
            abort(403)
        row: dict[str, t.Any] | None = None
        record = None
        if self.kind == "row":
            record = view.get_one(request.args.get("id", ""))
            if record is None:
                abort(404)
            row = row_dict(view, record)
        form = self.action.form() if self.action.form is not None else None
        if request.method == "POST":
            if form is None or form.validate():
                return self._run(view, record, row, form)
            return self._page(view, record, form, status=422)
        return self._page(view, record, form)

    def _run(self, view: TableView, record: Record | None, row: dict[str, t.Any] | None, form: t.Any) -> t.Any:
        writer = TableWriter(view, self.plugin)
        try:
            if isinstance(self.action, RowAction):
                result = self.action.run(t.cast(dict[str, t.Any], row), writer, form)
            else:
                result = self.action.run(writer, form)
        except _WRITE_ERRORS as refused:
            if isinstance(refused, DatabaseUnreachable) or getattr(refused, "unavailable", False):
                raise  # the "database not reachable" page
            return self._page(view, record, form, refused=refused)
        except Exception as exc:
            if is_gone(exc):
                raise
            runtime.report(self.plugin, f"action {self.name}", exc)
            return self._page(view, record, form, failed=exc)
        if isinstance(result, BaseResponse):
            return result
        flash(str(result) if result else gettext("Done."), "success")
        return redirect(self._back(view, record))

    def _back(self, view: TableView, record: Record | None) -> str:
        target = get_redirect_target()
        if target:
            return target
        if record is not None and view.can_view_details:
            return view.get_url(".details_view", id=view.get_pk_value(record))
        return view.get_url(".index_view")

    def _page(
        self,
        view: TableView,
        record: Record | None,
        form: t.Any,
        *,
        status: int = 200,
        refused: BaseException | None = None,
        failed: BaseException | None = None,
    ) -> t.Any:
        message = None
        if refused is not None:
            message = translate(getattr(refused, "message", None) or str(refused))
            status = _status(refused)
        if failed is not None:
            status = 500
        row_label = view.lookup_label(record) if record is not None else None
        return view.render(
            TEMPLATE,
            action=self,
            form=form,
            fields=_fields(form),
            row_label=row_label,
            refusal=message,
            failed=failed is not None,
            failure_details=(
                "".join(traceback.format_exception(failed)) if failed is not None and runtime.sees_details() else None
            ),
            return_url=self._back(view, record),
            lookup_assets=has_lookup(form),
        ), status


def _status(refused: BaseException) -> int:
    """The status of a form shown again with a write's refusal, as a plugin page answers it
    (permission 403, conflict 409, timeout 503, any other 422)."""
    if isinstance(refused, WriteFailed):
        return status_of(refused)
    return 403 if getattr(refused, "kind", None) == Kind.REFUSED else 422


def _fields(form: t.Any) -> list[t.Any]:
    """The form's fields to show: all but its CSRF token (the page carries the session's)."""
    if form is None:
        return []
    return [field for field in form if field.type != "CSRFTokenField"]


def _addressable(view: TableView) -> bool:
    info = view.info
    return bool(info.row_key) and info.row_key_source != "rowid" and view.can_view_details


def row_dict(view: TableView, record: Record) -> dict[str, t.Any]:
    """A row as plugins get it: a dict by column name of its visible columns and its key."""
    shown = {c.name for c in view.visible} | set(view.info.row_key)
    return {c.name: getattr(record, c.key) for c in view.info.columns if c.name in shown}
