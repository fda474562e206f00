"""Labels of the reflected database in every language, from the config, without code.

A table's and a column's ``labels`` in the ``TABLES`` setting give its label per language;
``label`` (or the database name) is shown in every other language::

    [tables.orders]
    label = "Orders"
    [tables.orders.labels]
    de = "Bestellungen"
    fr = "Commandes"
    [tables.orders.columns.customer_id.labels]
    de = "Kunde"

``dashboard translations labels DATABASE_URL --locale de`` writes such a file for every
table and column, ready to be translated (:func:`starter_labels`).
"""

from __future__ import annotations

import json
import re
import typing as t

from dashboard.i18n.translation import LANGUAGE_NAMES, current_locale, gettext, supported_locale
from dashboard.messages import N_, Message
from dashboard.settings import ConfigError

if t.TYPE_CHECKING:
    from dashboard.db.reflection import SchemaInfo


class LocalizedLabel:
    """A name shown in the current operator's language, chosen each time it is shown.

    Not a ``str`` on purpose: Flask-Admin and Jinja turn it into text with ``str()`` (or
    ``%s``, f-strings, ``|lower``), which is where the language is picked. It has no
    ``__html__``: table and column names come from the database, so Jinja escapes them.
    Equality and hashing use the default text, so menus keyed at start-up stay stable.
    """

    __slots__ = ("by_locale", "default")

    def __init__(self, default: str, by_locale: t.Mapping[str, str] | None = None) -> None:
        self.default = default
        self.by_locale = dict(by_locale or {})

    def __str__(self) -> str:
        if not self.by_locale:
            return self.default
        locale = str(current_locale())
        found = self.by_locale.get(locale) or self.by_locale.get(locale.split("_")[0])
        return found or self.default

    def __repr__(self) -> str:
        return f"LocalizedLabel({self.default!r}, {self.by_locale!r})"

    def __len__(self) -> int:
        return len(str(self))

    def __eq__(self, other: object) -> bool:
        # The default text, as the hash: equal to its translation would break dicts and sets
        # (equal objects with different hashes), and the current language changes per request.
        if isinstance(other, LocalizedLabel):
            return (self.default, self.by_locale) == (other.default, other.by_locale)
        return self.default == other

    def __hash__(self) -> int:
        return hash(self.default)

    def __lt__(self, other: object) -> bool:
        return str(self) < str(other)

    def __add__(self, other: str) -> str:
        return str(self) + other

    def __radd__(self, other: str) -> str:
        return other + str(self)

    def __getattr__(self, name: str) -> t.Any:
        # str methods (lower, strip, capitalize...) on the text in the current language.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(str(self), name)


class TranslatedLabel(LocalizedLabel):
    """A name from the dashboard's catalog (menu entries, groups), translated each time it is shown.

    ``TranslatedLabel(N_("%(schema)s: tables"), schema="sales")``; like :class:`LocalizedLabel`
    it hashes by its English text, so Flask-Admin's menu groups stay the same in every language.
    """

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, **params: t.Any) -> None:
        super().__init__(msgid % params if params else msgid)
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        return gettext(self.msgid, **self.params)


def parse_labels(raw: t.Any, where: str) -> dict[str, str]:
    """A ``labels`` table of the config, keyed by shipped locale (``pt-BR`` and ``pt_BR`` both work).

    :param where: the setting's path, for the error message (``TABLES.orders.labels``).
    :raises ConfigError: when it is not a table of texts keyed by a shipped language.
    """
    if raw is None:
        return {}
    if not isinstance(raw, t.Mapping):
        raise ConfigError(
            Message(N_('%(where)s must be a table of labels by language, like { de = "..." }'), where=where)
        )
    labels: dict[str, str] = {}
    for code, text in raw.items():
        locale = supported_locale(code)
        if locale is None:
            raise ConfigError(
                Message(
                    N_("%(where)s: unknown language %(code)s; languages are %(locales)s"),
                    where=where,
                    code=repr(code),
                    locales=", ".join(LANGUAGE_NAMES),
                )
            )
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(Message(N_("%(where)s.%(code)s must be a text"), where=where, code=code))
        labels[locale] = text
    return labels


def table_label(options: t.Any, name: str, endpoint: str) -> LocalizedLabel:
    """The label of a table: its ``labels`` per language, else ``label``, else its name."""
    return LocalizedLabel(str(options.label or name), parse_labels(options.labels, f"TABLES.{endpoint}.labels"))


def column_label(options: t.Any, name: str, endpoint: str) -> LocalizedLabel:
    """The label of a column from its ``columns.<name>`` overrides, like :func:`table_label`."""
    override = options.column(name)
    return LocalizedLabel(
        str(override.get("label") or name),
        parse_labels(override.get("labels"), f"TABLES.{endpoint}.columns.{name}.labels"),
    )


# -- the starter file --------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(key: str) -> str:
    """``key`` as a TOML key: bare when it can be, else a quoted string."""
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON's escapes are TOML's, except ``\\u`` of surrogates)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def starter_labels(schema: SchemaInfo, locale: str, tables: t.Mapping[str, t.Any] | None = None) -> str:
    """TOML giving every table and column of ``schema`` a label in ``locale``, to be translated.

    Labels already configured in ``tables`` (the ``TABLES`` setting) for that language are
    kept; the others start as the configured ``label`` or the database name.
    """
    tables = tables or {}
    lines = [
        "# "
        + gettext(
            "Labels in %(language)s (%(locale)s) for the tables and columns of the database.",
            language=LANGUAGE_NAMES[locale],
            locale=locale,
        ),
        "# " + gettext("Translate the quoted texts, then add this file to the settings file given with --config."),
        "",
    ]
    for info in sorted(schema.tables, key=lambda i: (i.schema or "", i.name)):
        configured = tables.get(info.endpoint) or tables.get(info.id) or {}
        table_key = f"tables.{toml_key(info.endpoint)}"
        lines.append(f"[{table_key}.labels]")
        lines.append(f"{locale} = {toml_string(_configured(configured, locale) or info.name)}")
        lines.append("")
        columns = configured.get("columns", {}) if isinstance(configured, t.Mapping) else {}
        for column in info.columns:
            override = columns.get(column.name, {}) if isinstance(columns, t.Mapping) else {}
            lines.append(f"[{table_key}.columns.{toml_key(column.name)}.labels]")
            lines.append(f"{locale} = {toml_string(_configured(override, locale) or column.name)}")
        lines.append("")
    return "\n".join(lines)


def _configured(options: t.Any, locale: str) -> str | None:
    if not isinstance(options, t.Mapping):
        return None
    labels = options.get("labels")
    if isinstance(labels, t.Mapping):
        for code, text in labels.items():
            if supported_locale(code) == locale and isinstance(text, str):
                return text
    label = options.get("label")
    return label if isinstance(label, str) else None
