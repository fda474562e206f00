"""Messages for operators, marked for translation where Flask is not at hand.

Modules that import no Flask (:mod:`dashboard.db.reflection`, :mod:`dashboard.db.codecs`,
:mod:`dashboard.db.records`, :mod:`dashboard.db.engine`) cannot ask for the operator's language:
they run at start-up, in the CLI, or below the request. They mark a message with
:func:`N_` (so ``dashboard translations extract`` finds it) and hand back a
:class:`Message`: a plain ``str`` holding the English text, so logs, the audit log and
every ``"..." in message`` keep working, which also remembers its message id and
parameters. Whoever shows it to an operator translates it with
:func:`dashboard.i18n.translation.translate`.
"""

from __future__ import annotations

import typing as t


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction without translating it (gettext's ``N_`` convention)."""
    return msgid


class Message(str):
    """English text that can be translated later: ``Message(N_("At most %(n)s."), n=3)``.

    The ``str`` value is ``msgid % params``. Parameters are shown as given: they carry names
    and values from the database or the operator, never translated.
    """

    msgid: str
    params: dict[str, t.Any]

    def __new__(cls, msgid: str, **params: t.Any) -> t.Self:
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid = msgid
        self.params = params
        return self

    def __reduce__(self) -> tuple[t.Any, ...]:
        # Pickled with its id and parameters (cache backends pickle reflected schemas).
        return (_rebuild, (self.msgid, self.params))


def _rebuild(msgid: str, params: dict[str, t.Any]) -> Message:
    return Message(msgid, **params)
