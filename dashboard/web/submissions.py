"""One row per create form, however often it is sent.

A double click on "Save", or a browser resending a POST after a time-out, sends the same
create form twice; without care that is two rows. Every create form carries a one-time
token (a hidden field filled when the form is drawn). Saving first claims the token in the
state database, shared by every worker, and a token already claimed means "already
saved": nothing is created and the operator is sent to the list. A save that fails gives
its token back, so the form, shown again with the error, can be corrected and sent.
A POST without a token (a script) gets a fresh one and is saved as before.
"""

from __future__ import annotations

import secrets
import typing as t

from flask import abort, current_app, flash, redirect

from dashboard import statedb
from dashboard.i18n.translation import gettext

#: Name of the hidden form field; a reserved column key (:mod:`dashboard.db.reflection`).
FIELD = "submission_token"
#: How long a claimed token is remembered.
KEEP_S = 24 * 3600

T = t.TypeVar("T")


def new_token() -> str:
    """A token for one create form."""
    return secrets.token_urlsafe(24)


def create_once(form: t.Any, create: t.Callable[[], T], return_url: str) -> T:
    """Run ``create()`` unless ``form``'s token was claimed before; then redirect to ``return_url``.

    :param form: the submitted create form (its :data:`FIELD` holds the token).
    :param create: saves the row; a false result (or an exception) means nothing was saved.
    """
    field = getattr(form, FIELD, None)
    token = field.data if field is not None and isinstance(field.data, str) and field.data else new_token()
    store = statedb.get_store(current_app)
    if not store.claim_submission(token, keep_s=KEEP_S):
        flash(gettext("This form was already sent, and its row saved once; it was not saved again."), "info")
        abort(redirect(return_url))
    saved = False
    try:
        result = create()
        saved = bool(result)
        return result
    finally:
        if not saved:
            store.release_submission(token)
