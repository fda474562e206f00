"""``/admin/-/users/``: the operators, managed in the browser by administrators.

What ``dashboard users`` does (:mod:`dashboard.cli.users`), and more: list every operator
with their role, state and last login; add one (name, role, first password); change a
role; disable and enable (a disabled operator logs in by no means, and their sessions and
API tokens stop at once); set a new password; remove. Every form is a POST with the
session's CSRF token, every change an audit entry (action ``user``), and every refusal a
message on the page. The last enabled administrator can be neither disabled, demoted nor
removed, by themselves or anybody: the site would have nobody left to manage it.

Only administrators reach it (the site-wide action :data:`ACTION`, which no table role
grants), never an API token.
"""

from __future__ import annotations

import typing as t

from flask import Flask, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from dashboard import statedb, statedb_users
from dashboard.i18n.formatting import format_moment
from dashboard.i18n.translation import gettext, lazy_gettext, translate
from dashboard.messages import N_
from dashboard.security import audit, auth
from dashboard.security.permissions import can
from dashboard.site_state import current_site
from dashboard.urls import own_endpoint, own_url

#: The page's endpoint: ``url_for(f"{ENDPOINT}.index")``.
ENDPOINT = own_endpoint("users")
#: The site-wide action the page asks for: administrators only.
ACTION = "manage_users"


def _store() -> statedb.StateStore:
    return statedb.get_store(current_app)


def _audit(username: str, message: str, changes: dict[str, t.Any] | None = None) -> None:
    audit.record_write("user", None, row_key=username, changes=changes, message=message)


class UserPage(BaseView):
    """The list of operators, a form for a new one, and a few buttons per operator."""

    def is_accessible(self) -> bool:
        return can(ACTION)

    def _render(self, *, status: int = 200, errors: list[str] | None = None) -> t.Any:
        store = _store()
        linked = statedb_users.linked_usernames(store)
        operators = [
            {
                "username": user.username,
                "role": user.role,
                "disabled": user.disabled,
                "sso": user.username in linked,
                "last_login": format_moment(user.last_login_at) if user.last_login_at else "",
                "created": format_moment(user.created_at),
                "me": user.username == current_user.username,
            }
            for user in store.list_users()
        ]
        form = request.form if errors else None
        body = self.render(
            "dashboard/users.html",
            operators=operators,
            roles=auth.ROLES,
            errors=errors or [],
            chosen={
                "username": form.get("username", "") if form and request.endpoint == f"{ENDPOINT}.add" else "",
                "role": form.get("role", "viewer") if form and request.endpoint == f"{ENDPOINT}.add" else "viewer",
            },
            min_password=auth.MIN_PASSWORD_LENGTH,
        )
        return body, status

    def _refuse(self, message: str) -> t.Any:
        return self._render(status=400, errors=[message])

    def _done(self, message: str) -> t.Any:
        flash(message, "success")
        return redirect(url_for(".index"))

    def _target(self) -> statedb.UserRecord | None:
        return _store().user_by_name(request.form.get("username", ""))

    def _last_admin(self, user: statedb.UserRecord) -> bool:
        return user.role == "admin" and not user.disabled and statedb_users.active_admins(_store()) == [user.username]

    def _last_admin_refusal(self, user: statedb.UserRecord) -> t.Any:
        return self._refuse(
            gettext(
                "%(user)s is the last active administrator: make another operator an administrator first.",
                user=user.username,
            )
        )

    @expose("/")
    def index(self) -> t.Any:
        return self._render()

    @expose("/add", methods=["POST"])
    def add(self) -> t.Any:
        username = request.form.get("username", "").strip()
        role = request.form.get("role", "")
        password = request.form.get("password", "")
        errors = [translate(p) for p in (auth.username_problem(username), auth.password_problem(password)) if p]
        if role not in auth.ROLES:
            errors.append(gettext("Choose one of the roles."))
        if errors:
            return self._render(status=400, errors=errors)
        hashed = auth.hash_password(password, current_app.config["PASSWORD_HASH_METHOD"])
        try:
            _store().add_user(username, hashed, role)
        except IntegrityError:
            return self._render(status=400, errors=[gettext("A user called %(user)s exists already.", user=username)])
        _audit(username, N_("added"), {"role": {"old": None, "new": role}})
        return self._done(gettext("User %(user)s added as %(role)s.", user=username, role=role))

    @expose("/role", methods=["POST"])
    def role(self) -> t.Any:
        user, role = self._target(), request.form.get("role", "")
        if user is None:
            return self._refuse(gettext("There is no such user."))
        if role not in auth.ROLES:
            return self._refuse(gettext("Choose one of the roles."))
        if role != "admin" and self._last_admin(user):
            return self._last_admin_refusal(user)
        statedb_users.set_role(_store(), user.username, role)
        _audit(user.username, N_("role changed"), {"role": {"old": user.role, "new": role}})
        return self._done(gettext("%(user)s is now %(role)s.", user=user.username, role=role))

    @expose("/disable", methods=["POST"])
    def disable(self) -> t.Any:
        user = self._target()
        if user is None:
            return self._refuse(gettext("There is no such user."))
        if self._last_admin(user):
            return self._last_admin_refusal(user)
        statedb_users.set_disabled(_store(), user.username, True)
        _audit(user.username, N_("disabled"), {"disabled": {"old": "false", "new": "true"}})
        return self._done(gettext("%(user)s is disabled and logged out everywhere.", user=user.username))

    @expose("/enable", methods=["POST"])
    def enable(self) -> t.Any:
        user = self._target()
        if user is None:
            return self._refuse(gettext("There is no such user."))
        statedb_users.set_disabled(_store(), user.username, False)
        _audit(user.username, N_("enabled"), {"disabled": {"old": "true", "new": "false"}})
        return self._done(gettext("%(user)s may log in again.", user=user.username))

    @expose("/password", methods=["POST"])
    def password(self) -> t.Any:
        user, password = self._target(), request.form.get("password", "")
        if user is None:
            return self._refuse(gettext("There is no such user."))
        problem = auth.password_problem(password)
        if problem:
            return self._refuse(translate(problem))
        _store().set_password_hash(
            user.username, auth.hash_password(password, current_app.config["PASSWORD_HASH_METHOD"])
        )
        _audit(user.username, N_("password reset"))
        return self._done(gettext("New password set for %(user)s; their sessions have ended.", user=user.username))

    @expose("/remove", methods=["POST"])
    def remove(self) -> t.Any:
        user = self._target()
        if user is None:
            return self._refuse(gettext("There is no such user."))
        if self._last_admin(user):
            return self._last_admin_refusal(user)
        _store().remove_user(user.username)
        _audit(user.username, N_("removed"), {"role": {"old": user.role, "new": None}})
        return self._done(gettext("User %(user)s removed.", user=user.username))


def init_app(app: Flask) -> None:
    """Add the users page to the app's ``Admin`` (in the menu of administrators)."""
    current_site(app).admin.add_view(UserPage(name=lazy_gettext("Users"), endpoint=ENDPOINT, url=own_url("users")))
