"""JSON columns' stored text: read as documents, or kept as the text it is when it cannot be
(nested deeper than any parser survives, or not JSON at all)."""

from __future__ import annotations

import json
import re
import typing as t

#: Deepest JSON read or accepted: deeper values overflow the parser's recursion (a
#: document nested 5,000 levels deep was a server error), and no real document needs it.
MAX_JSON_DEPTH = 256
# A JSON string literal (written unrolled: several times faster than "(?:[^"\\]|\\.)*").
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")


class UnreadableJSON(str):
    """A JSON column's stored text that could not be read as JSON (nested too deep, or not
    JSON at all): shown and edited as the text it is, marked as such on the page."""

    __slots__ = ()


def json_too_deep(text: str | bytes) -> bool:
    """Whether ``text`` nests arrays and objects more than :data:`MAX_JSON_DEPTH` levels deep.

    Cheap on the documents of real tables, which are shallow: the brackets outside strings
    (ASCII, once the strings are gone) lose their innermost pairs once per level.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    skeleton = _JSON_STRING.sub("", text).encode("ascii", "ignore").translate(None, _NOT_BRACKETS)
    for _level in range(MAX_JSON_DEPTH):
        inner = _INNERMOST.sub(b"", skeleton)
        if inner == skeleton:
            return False  # unbalanced: not JSON, which the parser says in its own words
        skeleton = inner
    return bool(skeleton)


def read_json(text: str | bytes | int | float) -> t.Any:
    """The engine's JSON deserializer: a stored document, or an :class:`UnreadableJSON`
    holding its text when it is nested too deep or is not JSON."""
    if isinstance(text, (int, float)):
        # SQLite gives a JSON column numeric affinity: a document that is a bare number ("0")
        # is stored, and handed back, as that number, which is already the value.
        return text
    if not json_too_deep(text):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            pass
    return UnreadableJSON(text.decode("utf-8", "replace") if isinstance(text, bytes) else text)
