"""Row keys <-> the text that travels in URLs and forms.

A single-column key is its value's text (``?id=42``, ``?id=a,b``). A composite key joins
its parts with ``,`` after escaping ``.`` and ``,`` the way Flask-Admin does, so a part
containing the separator can never be split into another row's key (the naive comma
split that made other tools delete the wrong rows).
"""

from __future__ import annotations

import typing as t

from flask_admin.tools import iterdecode, iterencode

from dashboard.db.codecs import Codec


class BadKey(ValueError):
    """A key from a URL or form that does not fit the table's key."""


def encode_key(values: t.Sequence[t.Any], codecs: t.Sequence[Codec]) -> str:
    """Text for a row key made of ``values``."""
    texts = [codec.to_text(value) for value, codec in zip(values, codecs, strict=True)]
    if len(texts) == 1:
        return texts[0]
    return iterencode(texts)


def decode_key(text: str, codecs: t.Sequence[Codec]) -> tuple[t.Any, ...]:
    """The typed key values that ``text`` stands for.

    :raises BadKey: when the text has the wrong number of parts or a part of the wrong type.
    """
    parts: tuple[str, ...] = (text,) if len(codecs) == 1 else iterdecode(text)
    if len(parts) != len(codecs):
        raise BadKey(f"expected {len(codecs)} key parts, got {len(parts)}")
    try:
        return tuple(codec.from_text(part) for part, codec in zip(parts, codecs, strict=True))
    except ValueError as exc:
        raise BadKey(str(exc)) from None
