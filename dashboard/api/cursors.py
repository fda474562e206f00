"""The ``next`` cursor of an API listing: where the next page starts, signed.

A cursor holds the position of the page's last row (its sort values and row key, as
text through the columns' codecs), so the next page is read with ``WHERE (sort, key) >
position`` as the list page's keyset paging does (:mod:`dashboard.db.listing`): as cheap
at row 1,000,000 as at row 50, and no row is skipped or repeated when rows are added
before it. A listing that cannot be keyed that way (no row key, a nullable sort column,
a sort value that does not travel as text exactly) pages by offset instead.

The cursor is signed with the site's secret and names the listing it belongs to, so a
cursor edited by hand or carried to another listing is refused (400), never read.
"""

from __future__ import annotations

import hashlib
import json
import typing as t

import sqlalchemy as sa
from flask import abort, current_app
from itsdangerous import BadSignature, URLSafeSerializer

from dashboard.db.codecs import Codec
from dashboard.db.records import Record, RecordStore
from dashboard.i18n.translation import gettext
from dashboard.problems import problem

# Sort values whose text reads back as exactly the stored value (a MySQL FLOAT read as a
# double does not: the row would be compared with a value it does not hold).
_EXACT_TEXT_KINDS = frozenset({"integer", "decimal", "boolean", "date", "datetime", "time", "string", "text", "enum"})
_KEY_KINDS = _EXACT_TEXT_KINDS | {"uuid", "hex"}
_SALT = "dashboard.api.cursor"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def listing_digest(identity: t.Any) -> str:
    """A short digest of what decides a listing's rows and order."""
    text = json.dumps(identity, default=str, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def keyset_ok(store: RecordStore, order: t.Sequence[tuple[str, bool]]) -> bool:
    """Whether the listing can page by position rather than by offset."""
    info = store.info
    if not info.row_key or not all(codec.kind in _KEY_KINDS for codec in store.key_codecs):
        return False
    return all(
        not info.column_by_key(key).nullable and store.codecs[key].kind in _EXACT_TEXT_KINDS for key, _desc in order
    )


def _position_codecs(store: RecordStore, order: t.Sequence[tuple[str, bool]]) -> list[Codec]:
    return [store.codecs[key] for key, _desc in order] + list(store.key_codecs)


def make_cursor(store: RecordStore, order: t.Sequence[tuple[str, bool]], digest: str, offset: int, last: Record) -> str:
    """The cursor of the page after the one ending with ``last`` (``offset`` rows in)."""
    payload: dict[str, t.Any] = {"l": digest}
    if keyset_ok(store, order):
        values = [getattr(last, key) for key, _desc in order] + list(last._key)
        payload["p"] = [
            codec.to_text(value) for codec, value in zip(_position_codecs(store, order), values, strict=True)
        ]
    else:
        payload["o"] = offset
    return _serializer().dumps(payload)


def _bad_cursor() -> t.NoReturn:
    message = gettext("This cursor is not valid for this listing: start again without it.")
    abort(problem(400, gettext("Bad request"), message, errors=[{"field": "cursor", "message": message}]))


class Resume(t.NamedTuple):
    """Where a page starts: after ``position`` (typed values), or at ``offset``."""

    position: list[t.Any] | None
    offset: int


def read_cursor(store: RecordStore, order: t.Sequence[tuple[str, bool]], digest: str, cursor: str | None) -> Resume:
    """Where the page that ``cursor`` points at starts; 400 when it is not one of this listing's."""
    if cursor is None:
        return Resume(None, 0)
    try:
        payload = _serializer().loads(cursor)
    except (BadSignature, ValueError, UnicodeError):
        _bad_cursor()
    if not isinstance(payload, dict) or payload.get("l") != digest:
        _bad_cursor()
    if "p" in payload and keyset_ok(store, order):
        texts = payload["p"]
        codecs = _position_codecs(store, order)
        if not isinstance(texts, list) or len(texts) != len(codecs) or not all(isinstance(x, str) for x in texts):
            _bad_cursor()
        try:
            return Resume([codec.from_text(text) for codec, text in zip(codecs, texts, strict=True)], 0)
        except ValueError:
            _bad_cursor()
    offset = payload.get("o")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        _bad_cursor()
    return Resume(None, offset)


def after(
    store: RecordStore, order: t.Sequence[tuple[str, bool]], position: t.Sequence[t.Any]
) -> sa.ColumnElement[bool]:
    """Rows after ``position`` in the listing's order (lexicographic, each column its direction),
    the row key breaking ties as :meth:`RecordStore.ordered_select` orders them."""
    columns = [(store.column(key), desc) for key, desc in order]
    columns += [(column, False) for column in store.key_columns()]
    alternatives = []
    for index, (column, desc) in enumerate(columns):
        equal = [c == position[i] for i, (c, _d) in enumerate(columns[:index])]
        beyond = column < position[index] if desc else column > position[index]
        alternatives.append(sa.and_(*equal, beyond))
    return sa.or_(*alternatives)
