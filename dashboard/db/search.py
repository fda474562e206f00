"""The list search box: every typed word must match some searchable column, literally."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

MAX_SEARCH_LENGTH = 200
MAX_SEARCH_TERMS = 10


def like_pattern(term: str) -> str:
    """A ``LIKE`` pattern matching ``term`` anywhere, with ``%``, ``_`` and ``\\`` taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_condition(columns: t.Sequence[sa.ColumnElement[t.Any]], text: str) -> sa.ColumnElement[bool] | None:
    """A condition requiring each word of ``text`` in at least one of ``columns``.

    Input is cut to :data:`MAX_SEARCH_LENGTH` characters and :data:`MAX_SEARCH_TERMS`
    words so a pasted novel cannot build a giant query.
    """
    # PostgreSQL text cannot hold NUL, and no stored value contains one: drop it.
    terms = text[:MAX_SEARCH_LENGTH].replace("\x00", "").split()[:MAX_SEARCH_TERMS]
    if not terms or not columns:
        return None
    per_term = [
        sa.or_(*(sa.func.lower(column).like(like_pattern(term.lower()), escape="\\") for column in columns))
        for term in terms
    ]
    return sa.and_(*per_term)
