"""Choices hidden in CHECK constraints: ``status IN ('a', 'b')`` becomes a pick list.

Only the plain forms the three dialects print for a one-column list of literals are
understood; anything else is left alone (the database still enforces it on save).
"""

from __future__ import annotations

import re

import sqlalchemy as sa

_QUOTED = r"'((?:[^']|'')*)'"
# SQLite / MariaDB: col IN ('a', 'b')    PostgreSQL: (col)::text = ANY (ARRAY['a'::..., 'b'::...])
_IN_LIST = re.compile(r"^\(?\s*[`\"]?(?P<column>[^`\"()\s]+)[`\"]?\s*\)?\s+in\s*\((?P<items>.*)\)\s*$", re.I | re.S)
_ANY_ARRAY = re.compile(
    r"^\(?\s*\(?[`\"]?(?P<column>[^`\"()\s:]+)[`\"]?\)?(::\w+(\s+\w+)?)?\s*=\s*any\s*\(\s*\(?array\[(?P<items>.*)\]",
    re.I | re.S,
)


def choices_from_check(sqltext: str) -> tuple[str, tuple[str, ...]] | None:
    """``(column, choices)`` when ``sqltext`` limits one column to a list of string literals."""
    text = sqltext.strip()
    while text.startswith("(") and text.endswith(")") and text.count("(") == text.count(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    for pattern in (_IN_LIST, _ANY_ARRAY):
        match = pattern.match(text)
        if match:
            items = re.findall(_QUOTED, match.group("items"))
            if items:
                return match.group("column"), tuple(item.replace("''", "'") for item in items)
    return None


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def check_choices(table: sa.Table) -> dict[str, tuple[str, ...]]:
    """Choices per column of a reflected ``table``, found in its CHECK constraints.

    Read from what ``MetaData.reflect`` already brought back: asking the inspector again,
    table by table, cost one query per table (two seconds for 600 tables on PostgreSQL).
    """
    found: dict[str, tuple[str, ...]] = {}
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint):
            parsed = choices_from_check(str(constraint.sqltext))
            if parsed:
                found[parsed[0]] = parsed[1]
    return found
