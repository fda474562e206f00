"""``/admin/-/tokens/``: an operator's own API tokens, made and revoked in the browser.

Every operator sees, creates and revokes only their own tokens here, administrators too:
managing another operator's tokens is ``dashboard tokens`` (:mod:`dashboard.cli.tokens`).
A new token is shown once, in the answer to the form that made it, and never again (only
its hash is stored, :mod:`dashboard.security.tokens`). A token may be limited to relations
the operator may see now; it never has more rights than its operator in any case. Both
forms are POSTs with the session's CSRF token, like every form of the site.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from flask import Flask, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from dashboard import clock, statedb, statedb_tokens
from dashboard.i18n.translation import gettext, lazy_gettext, translate
from dashboard.messages import N_
from dashboard.security import tokens
from dashboard.security.permissions import can
from dashboard.site_state import current_site
from dashboard.urls import own_endpoint, own_url

#: The page's endpoint: ``url_for(f"{ENDPOINT}.index")``.
ENDPOINT = own_endpoint("tokens")
#: The lifetimes the form offers, as (value, label); ``""`` never expires.
LIFETIMES: tuple[tuple[str, str], ...] = (
    ("7d", N_("7 days")),
    ("30d", N_("30 days")),
    ("90d", N_("90 days")),
    ("365d", N_("1 year")),
    ("", N_("Never")),
)
DEFAULT_LIFETIME = "30d"


def _when(seconds: float | None) -> str:
    return "" if seconds is None else f"{dt.datetime.fromtimestamp(seconds, dt.UTC):%Y-%m-%d %H:%M} UTC"


def _visible_tables() -> list[tuple[str, str]]:
    """``(endpoint, name)`` of every relation the operator may see, by name."""
    found = [
        (view.info.endpoint, view.info.id)
        for view in current_site().views.values()
        if view.info.readable and can("view", view.info)
    ]
    return sorted(found, key=lambda item: item[1].lower())


class TokenPage(BaseView):
    """The operator's tokens: a list with a revoke button each, and a form for a new one."""

    def is_visible(self) -> bool:
        return False  # reached from the operator's menu in the navbar, not the main menu

    def is_accessible(self) -> bool:
        return bool(getattr(current_user, "is_authenticated", False))

    def _render(self, *, status: int = 200, new_token: str | None = None, errors: list[str] | None = None) -> t.Any:
        store = statedb.get_store(current_app)
        now = clock.now()
        mine = [
            {
                "name": token.name,
                "created": _when(token.created_at),
                "expires": _when(token.expires_at),
                "expired": token.expired(now),
                "last_used": _when(token.last_used_at),
                "read_only": token.read_only,
                "tables": token.tables,
            }
            for token in statedb_tokens.list_tokens(store, int(current_user.id))
        ]
        form = request.form if request.method == "POST" and new_token is None else None
        body = self.render(
            "dashboard/tokens.html",
            tokens=mine,
            new_token=new_token,
            errors=errors or [],
            lifetimes=[(value, gettext(label)) for value, label in LIFETIMES],
            tables=_visible_tables(),
            chosen={
                "name": form.get("name", "") if form else "",
                "expires": form.get("expires", DEFAULT_LIFETIME) if form else DEFAULT_LIFETIME,
                "read_only": bool(form.get("read_only")) if form else False,
                "tables": form.getlist("tables") if form else [],
            },
        )
        return body, status

    @expose("/", methods=["GET", "POST"])
    def index(self) -> t.Any:
        if request.method == "GET":
            return self._render()
        name = request.form.get("name", "").strip()
        errors = []
        problem = tokens.name_problem(name)
        if problem:
            errors.append(translate(problem))
        lifetime = request.form.get("expires", DEFAULT_LIFETIME)
        if lifetime not in dict(LIFETIMES):
            errors.append(gettext("Choose one of the offered lifetimes."))
        visible = dict(_visible_tables())
        chosen_tables = request.form.getlist("tables")
        if any(table not in visible for table in chosen_tables):
            errors.append(gettext("Choose tables among those you may see."))
        user = statedb.get_store(current_app).user_by_id(int(current_user.id))
        if user is None:  # removed a moment ago
            errors.append(gettext("Permission denied."))
        if errors or user is None:
            return self._render(status=400, errors=errors)
        try:
            token = tokens.create_token(
                statedb.get_store(current_app),
                user,
                name,
                now=clock.now(),
                expires_in_s=tokens.parse_duration(lifetime) if lifetime else None,
                read_only=bool(request.form.get("read_only")),
                tables=chosen_tables or None,
            )
        except IntegrityError:
            return self._render(status=400, errors=[gettext("You have a token with this name already.")])
        return self._render(new_token=token)

    @expose("/revoke", methods=["POST"])
    def revoke(self) -> t.Any:
        name = request.form.get("name", "")
        if statedb_tokens.remove_token(statedb.get_store(current_app), int(current_user.id), name):
            flash(gettext("Token %(name)s revoked: it no longer works.", name=name), "success")
        else:
            flash(gettext("You have no token called %(name)s.", name=name), "warning")
        return redirect(url_for(".index"))


def init_app(app: Flask) -> None:
    """Add the tokens page to the app's ``Admin`` (linked from the operator's menu)."""
    current_site(app).admin.add_view(
        TokenPage(name=lazy_gettext("API tokens"), endpoint=ENDPOINT, url=own_url("tokens"))
    )
