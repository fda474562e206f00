"""May the current operator do this: :func:`can`, the one permission question of the site.

Every page, button, menu entry, chart and plugin asks it here rather than calling the app's
authorizer (``current_site().authorize``, made by :func:`dashboard.security.auth.make_authorizer`)
itself, so the deny-by-default rules live in one place: no app, no authorizer, no request
or nobody logged in all mean no. What each role may do, and the ``TABLES.<table>.roles``
overrides, are the authorizer's business. A request made with an API token is narrowed by
the token's scope first (:mod:`dashboard.security.tokens`): read-only, some tables only, and
no site-wide action.
"""

from __future__ import annotations

import typing as t

from flask import has_request_context
from flask_login import current_user

from dashboard.security.tokens import token_scope
from dashboard.site_state import current_site, has_site

if t.TYPE_CHECKING:
    from dashboard.db.reflection import TableInfo


def can(action: str, table: TableInfo | None = None) -> bool:
    """Whether the current operator may do ``action`` on ``table``, or site-wide when ``None``.

    ``action`` is a table action ("view", "create", "edit", "delete", "export") or a
    site-wide one ("manage_users", ``page:<slug>``...); an action no role grants is for
    administrators only.
    """
    if not has_site():
        return False
    scope = token_scope()
    if scope is not None and not scope.allows(action, table):
        return False
    authorize = current_site().authorize
    return authorize is not None and bool(authorize(table, action))


def operator_role() -> str | None:
    """The current operator's role, or ``None`` when nobody is logged in or the site denies
    everything (it has no authorizer). A request made with an API token has none: what a role
    grants site-wide (plugin pages, charts by role) is not given to tokens."""
    if not has_request_context() or not has_site() or current_site().authorize is None:
        return None
    if token_scope() is not None:
        return None
    if not getattr(current_user, "is_authenticated", False):
        return None
    return t.cast("str | None", getattr(current_user, "role", None))
