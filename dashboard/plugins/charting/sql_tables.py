"""Which served tables an ``sql=`` chart reads, found in its SQL when the chart does not say.

Conservative on purpose: the chart is refreshed by writes to the tables found only when every
name after ``FROM``, ``JOIN`` (and the commas of a ``FROM`` list) is a served table or a
``WITH`` query of the statement itself. A view, a table function, a subquery alias or any
name it cannot place (``EXTRACT(YEAR FROM ordered_at)`` included) makes the answer "every
table": a write to a view's base table must refresh a chart reading the view.
"""

from __future__ import annotations

import re
import typing as t

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView

_TOKEN = re.compile(
    r"""
      (?P<skip>--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\s+)          # comments, strings, blanks
    | "(?P<double>(?:[^"]|"")*)"                                # "quoted"
    | `(?P<back>(?:[^`]|``)*)`                                  # `quoted`
    | \[(?P<square>[^\]]*)\]                                    # [quoted]
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
#: Words that end a FROM item's alias: what follows a table in a FROM clause that is not its alias.
_CLAUSE_WORDS = frozenset(
    "where group order having limit offset union intersect except join inner left right full outer cross "
    "natural on using window fetch for lateral tablesample with as select from".split()
)


def _tokens(sql: str) -> list[tuple[str, str]]:
    """``(kind, text)`` pairs: ``name`` (quoted or bare, as written, dotted parts joined), ``word``
    (a bare word, lower-cased, that may be a keyword) or ``other`` (punctuation)."""
    found: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(sql):
        if match.group("skip") is not None:
            continue
        quoted = next((match.group(k) for k in ("double", "back", "square") if match.group(k) is not None), None)
        if quoted is not None:
            part, kind = quoted.replace('""', '"').replace("``", "`"), "name"
        elif match.group("word") is not None:
            part, kind = match.group("word"), "word"
        else:
            found.append(("other", match.group("other")))
            continue
        if len(found) >= 2 and found[-1] == ("other", ".") and found[-2][0] in ("name", "word"):
            # schema.table: one dotted name.
            found[-2:] = [("name", f"{found[-2][1]}.{part}")]
        else:
            found.append((kind, part))
    return found


def _closing(tokens: list[tuple[str, str]]) -> int:
    """The position of the parenthesis closing the one ``tokens`` opens with."""
    depth = 0
    for position, (kind, text) in enumerate(tokens):
        if kind == "other" and text in "()":
            depth += 1 if text == "(" else -1
            if depth == 0:
                return position
    return len(tokens)


def _is_alias(token: tuple[str, str]) -> bool:
    return token[0] in ("name", "word") and token[1] not in _CLAUSE_WORDS


def tables_read(sql: str, views: t.Mapping[str, TableView]) -> tuple[str, ...] | None:
    """The ids of the served tables ``sql`` reads, or ``None`` when that cannot be told for sure."""
    tokens = _tokens(sql)
    lowered = [(kind, text.lower()) for kind, text in tokens]
    served = {table_id.lower(): table_id for table_id, view in views.items()}
    kinds = {table_id: view.info.kind for table_id, view in views.items()}
    # WITH name [(columns)] AS ( ... ): names the statement defines for itself.
    own = set()
    for index, (kind, text) in enumerate(lowered):
        if kind in ("name", "word") and index + 2 < len(lowered):
            after = lowered[index + 1 :]
            if after[0] == ("other", "("):
                after = after[_closing(after) + 1 :]
            if len(after) >= 2 and after[0] == ("word", "as") and after[1] == ("other", "("):
                own.add(text)
    found: list[str] = []
    index = 0
    while index < len(lowered):
        if lowered[index] not in (("word", "from"), ("word", "join")):
            index += 1
            continue
        index += 1
        while index < len(lowered):
            kind, text = lowered[index]
            if (kind, text) == ("other", "("):
                break  # a subquery: its own FROM is read in turn
            if kind not in ("name", "word") or (kind == "word" and text in _CLAUSE_WORDS):
                return None
            if text not in own:
                table_id = served.get(text)
                if table_id is None or kinds[table_id] != "table":
                    return None
                if table_id not in found:
                    found.append(table_id)
            index += 1
            if index < len(lowered) and lowered[index] == ("word", "as"):
                index += 1
            if index < len(lowered) and _is_alias(lowered[index]):
                index += 1
            if index < len(lowered) and lowered[index] == ("other", ","):
                index += 1
                continue
            break
    return tuple(found) if found else None
