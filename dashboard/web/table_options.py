"""The operator's per-table settings (``TABLES`` in the config), read once per view."""

from __future__ import annotations

import typing as t

from dashboard.db.reflection import TableInfo


def is_sensitive(column_name: str, patterns: t.Sequence[str]) -> bool:
    """Whether a column looks like it holds a secret (password hashes, tokens)."""
    lowered = column_name.lower()
    return any(p in lowered for p in patterns)


def table_entry(tables: t.Mapping[str, t.Any], info: TableInfo) -> t.Mapping[str, t.Any] | None:
    """The operator's ``TABLES`` entry of a relation: under its endpoint (``schema_table``),
    else under its id (``schema.table``)."""
    return tables.get(info.endpoint) or tables.get(info.id)


class TableOptions:
    """The operator's overrides for one table from the ``TABLES`` setting, with defaults."""

    def __init__(self, raw: t.Mapping[str, t.Any] | None) -> None:
        raw = raw or {}
        self.hidden = bool(raw.get("hidden", False))
        self.label: str | None = raw.get("label")
        #: The label per language (``{de = "Bestellungen"}``), checked by :mod:`dashboard.web.labels`.
        self.labels: t.Any = raw.get("labels")
        self.read_only = bool(raw.get("read_only", False))
        self.display_column: str | None = raw.get("display_column")
        self.column_order: list[str] = list(raw.get("column_order", []))
        self.columns: dict[str, dict[str, t.Any]] = dict(raw.get("columns", {}))

    def column(self, name: str) -> dict[str, t.Any]:
        """Overrides for column ``name``."""
        return dict(self.columns.get(name, {}))
