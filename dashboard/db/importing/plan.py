"""Which file column goes to which table column, and each row's values as the table takes them.

The caller (a page, the API) says which columns the operator may write, as :class:`Target`
objects, so a generated, read-only or hidden column can never be mapped: :class:`ImportPlan`
only knows those. A row's text is parsed by the column's codec exactly as a form field's is:
empty text is NULL where the column allows it, a column the database fills in (a default,
a serial number) is left out of the row when its cell is empty, and a refused value is a
:class:`RowError` naming the row, the column and the codec's reason.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from dashboard.db.codecs import Codec
from dashboard.db.importing.readers import Source, SourceRow
from dashboard.messages import N_, Message

MODES = ("insert", "upsert")
#: Codec kinds whose empty text is a value (an empty string), not a missing one.
_TEXT_KINDS = ("string", "text")


@dataclass(frozen=True)
class Target:
    """A table column an import may write.

    :param key: the column's key (:attr:`dashboard.db.reflection.ColumnInfo.key`).
    :param name: its name, as the file and the messages call it.
    :param required: a new row must have a value (no NULL, no default, not numbered).
    :param fills_itself: the database gives a value when none is written.
    """

    key: str
    name: str
    codec: Codec
    nullable: bool
    required: bool
    fills_itself: bool


@dataclass(frozen=True)
class RowError:
    """A value or row the import refuses: ``row`` counts from 1, ``column`` is ``None`` for the row."""

    row: int
    column: str | None
    message: str


def normalized(name: str) -> str:
    """A column name compared case-, space-, ``_`` and ``-``-insensitively."""
    return re.sub(r"[\s_\-]+", "", name).casefold()


def guess_mapping(columns: t.Sequence[str], targets: t.Sequence[Target]) -> list[str | None]:
    """For each file column, the key of the target of the same name, or ``None``; each target once."""
    by_name = {normalized(target.name): target.key for target in reversed(targets)}
    taken: set[str] = set()
    mapping: list[str | None] = []
    for column in columns:
        key = by_name.get(normalized(column))
        mapping.append(key if key is not None and key not in taken else None)
        if key is not None:
            taken.add(key)
    return mapping


@dataclass
class ImportPlan:
    """What to write: ``mapping`` gives each file column's target key (``None``: ignored);
    ``mode`` is ``insert`` or ``upsert``, the latter by the target keys in ``key``."""

    targets: t.Sequence[Target]
    mapping: t.Sequence[str | None]
    mode: str = "insert"
    key: tuple[str, ...] = ()
    _by_key: dict[str, Target] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {target.key: target for target in self.targets}

    def target(self, key: str) -> Target:
        return self._by_key[key]

    def problems(self) -> list[str]:
        """Why the mapping cannot be imported at all (messages), or nothing."""
        found: list[str] = []
        mapped = [key for key in self.mapping if key is not None]
        unknown = [key for key in mapped if key not in self._by_key]
        if unknown or self.mode not in MODES:
            return [Message(N_("The mapping names a column that cannot be written."))]
        for key in dict.fromkeys(k for k in mapped if mapped.count(k) > 1):
            found.append(Message(N_("Column %(column)s is mapped more than once."), column=self.target(key).name))
        if not mapped:
            found.append(Message(N_("No column of the file is mapped to a column of the table.")))
        for target in self.targets:
            if target.required and target.key not in mapped:
                found.append(
                    Message(N_("Column %(column)s needs a value: map a file column to it."), column=target.name)
                )
        if self.mode == "upsert":
            if not self.key:
                found.append(Message(N_("Choose the key that says which rows exist already.")))
            for key in self.key:
                if key not in mapped:
                    name = self.target(key).name if key in self._by_key else key
                    found.append(Message(N_("Key column %(column)s must be mapped to upsert."), column=name))
        return found

    def convert(self, row: SourceRow) -> tuple[dict[str, t.Any], list[RowError]]:
        """The values of ``row`` by column key, and what is refused in it."""
        errors: list[RowError] = []
        if row.problem is not None:
            errors.append(RowError(row.number, None, row.problem))
        values: dict[str, t.Any] = {}
        for index, key in enumerate(self.mapping):
            if key is None or index >= len(row.cells):
                continue
            target = self._by_key[key]
            text = row.cells[index]
            try:
                present, value = self._value(target, text)
            except ValueError as exc:
                errors.append(RowError(row.number, target.name, exc.args[0] if exc.args else str(exc)))
                continue
            if present:
                values[key] = value
        for key in self.key if self.mode == "upsert" else ():
            if values.get(key) is None and not any(e.column == self._by_key[key].name for e in errors):
                errors.append(RowError(row.number, self._by_key[key].name, Message(N_("The key needs a value."))))
        return values, errors

    def _value(self, target: Target, text: str | None) -> tuple[bool, t.Any]:
        """``(written, value)`` for one cell, as the create form would take it."""
        empty = text is None or (text == "" and (target.nullable or target.codec.kind not in _TEXT_KINDS))
        if empty:
            if target.nullable:
                return True, None
            if target.fills_itself:
                return False, None
            raise ValueError(Message(N_("This field is required.")))
        return True, target.codec.from_text(t.cast(str, text))


@dataclass
class Checked:
    """A validation pass over a whole file: rows read, rows refused, errors (the first ``limit``)."""

    rows: int = 0
    refused_rows: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)


def check(source: Source, plan: ImportPlan, limit: int = 100) -> Checked:
    """Read every row of ``source`` through ``plan``: how many there are and what is refused.

    :raises dashboard.db.importing.readers.UnreadableFile: where the file breaks.
    """
    checked = Checked()
    for row in source.rows():
        checked.rows += 1
        _, errors = plan.convert(row)
        if errors:
            checked.refused_rows += 1
            checked.error_count += len(errors)
            room = limit - len(checked.errors)
            if room > 0:
                checked.errors.extend(errors[:room])
    return checked
