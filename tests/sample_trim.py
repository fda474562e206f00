"""The public sample databases, trimmed at load time to a few hundred rows per table.

:mod:`tests.samples` reads the upstream scripts unchanged (Chinook, Pagila, Sakila: several
MB each) and hands them here. The walks need every kind of table, type and key the samples
have, not thousands of rows of each: loading a few hundred rows takes a fraction of the time.

Rows are kept whole and as written (line for line), only whole rows are dropped, chosen so
that every foreign key of a kept row points at a kept row. Sequence values, definitions,
comments and layout are left as they are. Besides, the few statements that would not run
in the throw-away database the tests create are removed, each named where it is:
``CREATE DATABASE``/``USE`` and the like (the sample loads into a database of another name),
PostgreSQL's ``ALTER ... OWNER TO postgres`` (it loads as any user allowed to create
objects), and the ``sakila.`` qualifier in Sakila's ``actor_info`` view.

A script that does not look the way these functions expect (another upstream version)
raises :class:`SampleMismatch` naming what was missing, rather than loading something else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

__all__ = ["SampleMismatch", "split_row", "trim_chinook", "trim_pagila", "trim_sakila"]


class SampleMismatch(ValueError):
    """An upstream script is not the version the trimming was written for."""


# -- a small SQL literal splitter (enough for the dumps' VALUES rows) -----------------------

#: MySQL's executable comment ``/*!50705 value,*/``: its text is part of the row on MariaDB.
_EXECUTABLE_COMMENT = re.compile(r"/\*!\d*\s?(.*?)\*/", re.S)
#: One value of a row and the comma (or end) after it: a quoted string (``N'...'`` too, with
#: backslash escapes or doubled quotes) or anything up to the next comma.
_FIELD = re.compile(r"""\s*(N?'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|[^,'"]*?)\s*(?:,|\Z)""", re.S)
_ESCAPE = re.compile(r"\\(.)", re.S)


def split_row(text: str) -> list[str]:
    """The values of the row ``(v1, 'v,2', /*!50705 0x..,*/ v3)`` (``,`` or ``;`` may follow).

    Only the ids matter here (to choose rows): strings are unquoted simply, ``NULL`` stays
    the text ``NULL``.
    """
    text = text.strip().rstrip(",;").rstrip()
    if not (text.startswith("(") and text.endswith(")")):
        raise SampleMismatch(f"not a row of values: {text[:80]!r}")
    body = text[1:-1]
    if "/*" in body:
        body = _EXECUTABLE_COMMENT.sub(r"\1", body)
    values = _FIELD.findall(body)
    values.pop()  # the pattern also matches the empty text at the very end
    # (A value findall skipped over would leave a row of too few values: the callers count them.)
    return [_unquote(value) if value.endswith(("'", '"')) else value for value in values]


def _unquote(value: str) -> str:
    """``'it''s'``, ``N'it\\'s'`` -> ``it's`` (``value`` ends with its quote)."""
    quote = value[-1]
    inner = value[value.index(quote) + 1 : -1].replace(quote * 2, quote)
    return _ESCAPE.sub(r"\1", inner) if "\\" in inner else inner


def _without_lines(lines: list[str], statements: Sequence[str], source: str) -> list[str]:
    """``lines`` without those that are one of ``statements``, each of which must be there once."""
    found = [line.strip() for line in lines if line.strip() in statements]
    if sorted(found) != sorted(statements):
        raise SampleMismatch(f"{source}: expected the statements {list(statements)}, found {found}")
    return [line for line in lines if line.strip() not in statements]


# -- the selection Sakila and Pagila share ---------------------------------------------------

Rows = dict[str, list[dict[str, str]]]


def _film_rental_selection(data: Rows, payment_tables: Sequence[str]) -> dict[str, set[object]]:
    """The keys of the rows kept, per table, for Sakila's design (which Pagila ports).

    Films 1-100 with their categories and their actors among actors 1-80; customers 1-100;
    the inventory of films 1-40; the rentals of that inventory by those customers and
    their payments; the staff, stores, addresses and cities those rows need. Tables not
    named (actor, category, language, country) are kept whole.
    """
    keep: dict[str, set[object]] = {}
    keep["film"] = {r["film_id"] for r in data["film"] if int(r["film_id"]) <= 100}
    keep["film_category"] = {
        (r["film_id"], r["category_id"]) for r in data["film_category"] if r["film_id"] in keep["film"]
    }
    keep["film_actor"] = {
        (r["actor_id"], r["film_id"])
        for r in data["film_actor"]
        if r["film_id"] in keep["film"] and int(r["actor_id"]) <= 80
    }
    keep["customer"] = {r["customer_id"] for r in data["customer"] if int(r["customer_id"]) <= 100}
    keep["inventory"] = {r["inventory_id"] for r in data["inventory"] if int(r["film_id"]) <= 40}
    rentals = [
        r for r in data["rental"] if r["inventory_id"] in keep["inventory"] and r["customer_id"] in keep["customer"]
    ]
    keep["rental"] = {r["rental_id"] for r in rentals}
    payments = [
        r
        for table in payment_tables
        for r in data[table]
        if r["customer_id"] in keep["customer"] and r["rental_id"] in keep["rental"]
    ]
    keep["payment"] = {r["payment_id"] for r in payments}
    staff = (
        {r["staff_id"] for r in rentals}
        | {r["staff_id"] for r in payments}
        | {r["staff_id"] for r in data["staff"] if int(r["staff_id"]) <= 10}
    )
    stores = (
        {r["store_id"] for r in data["customer"] if r["customer_id"] in keep["customer"]}
        | {r["store_id"] for r in data["inventory"] if r["inventory_id"] in keep["inventory"]}
        | {r["store_id"] for r in data["staff"] if r["staff_id"] in staff}
        | {r["store_id"] for r in data["store"] if int(r["store_id"]) <= 10}
    )
    # A kept store's manager must be a kept member of staff (Sakila has that foreign key).
    staff |= {r["manager_staff_id"] for r in data["store"] if r["store_id"] in stores}
    stores |= {r["store_id"] for r in data["staff"] if r["staff_id"] in staff}
    keep["staff"], keep["store"] = set(staff), set(stores)
    addresses = (
        {r["address_id"] for r in data["customer"] if r["customer_id"] in keep["customer"]}
        | {r["address_id"] for r in data["staff"] if r["staff_id"] in staff}
        | {r["address_id"] for r in data["store"] if r["store_id"] in stores}
    )
    keep["address"] = set(addresses)
    keep["city"] = {r["city_id"] for r in data["address"] if r["address_id"] in addresses}
    for table in payment_tables:
        keep[table] = keep["payment"]
    return keep


def _film_rental_key(table: str, values: dict[str, str]) -> object:
    if table == "film_category":
        return (values["film_id"], values["category_id"])
    if table == "film_actor":
        return (values["actor_id"], values["film_id"])
    if table.startswith("payment"):
        return values["payment_id"]
    return values[table + "_id"]


# -- Chinook: INSERT INTO t (cols) VALUES \n (row),\n ... (row); ------------------------------

#: The statements creating and switching to Chinook's own database, per dialect.
CHINOOK_OWN_DATABASE = {
    "sqlite": (),
    "postgresql": ("DROP DATABASE IF EXISTS chinook;", "CREATE DATABASE chinook;", "\\c chinook;"),
    "mariadb": ("DROP DATABASE IF EXISTS `Chinook`;", "CREATE DATABASE `Chinook`;", "USE `Chinook`;"),
}
_CHINOOK_INSERT = re.compile(r"INSERT INTO (\S+) \((.*)\) VALUES\s*$")
_Row = tuple[str, dict[str, str]]
_Block = tuple[int, int, str, list[_Row]]


def _chinook_name(name: str) -> str:
    """``[InvoiceLine]``, ```InvoiceLine```, ``invoice_line`` all read ``invoiceline``."""
    return re.sub(r"[\[\]`\"_]", "", name).lower()


def _chinook_blocks(lines: list[str]) -> Iterator[_Block]:
    """``(first line, last line, table, rows)`` per INSERT; rows are ``(line, values)``."""
    i = 0
    while i < len(lines):
        match = _CHINOOK_INSERT.match(lines[i])
        if not match:
            i += 1
            continue
        table = _chinook_name(match.group(1))
        columns = [_chinook_name(c.strip()) for c in match.group(2).split(",")]
        rows = []
        j = i + 1
        while True:
            rows.append((lines[j], dict(zip(columns, split_row(lines[j]), strict=True))))
            if lines[j].rstrip().endswith(";"):
                break
            j += 1
        yield i, j, table, rows
        i = j + 1


def _chinook_selection(data: Rows) -> dict[str, set[object]]:
    """Albums 1-20 and their tracks; the invoice lines of those tracks; their invoices plus
    invoices 1-50; artists 1-100 plus those of the kept albums; the first 200 playlist
    entries of the kept tracks. Other tables (genres, media types, playlists, employees,
    customers) are kept whole."""
    keep: dict[str, set[object]] = {}
    keep["album"] = {r["albumid"] for r in data["album"] if int(r["albumid"]) <= 20}
    keep["track"] = {r["trackid"] for r in data["track"] if r["albumid"] in keep["album"]}
    lines = [r for r in data["invoiceline"] if r["trackid"] in keep["track"]]
    keep["invoiceline"] = {r["invoicelineid"] for r in lines}
    keep["invoice"] = {r["invoiceid"] for r in lines} | {
        r["invoiceid"] for r in data["invoice"] if int(r["invoiceid"]) <= 50
    }
    keep["artist"] = {r["artistid"] for r in data["artist"] if int(r["artistid"]) <= 100} | {
        r["artistid"] for r in data["album"] if r["albumid"] in keep["album"]
    }
    entries = [r for r in data["playlisttrack"] if r["trackid"] in keep["track"]][:200]
    keep["playlisttrack"] = {(r["playlistid"], r["trackid"]) for r in entries}
    return keep


def _chinook_key(table: str, values: dict[str, str]) -> object:
    if table == "playlisttrack":
        return (values["playlistid"], values["trackid"])
    return values[table + "id"]


def trim_chinook(dialect: str, scripts: Sequence[str]) -> tuple[str]:
    """Chinook's script for ``dialect`` (``Chinook_Sqlite.sql``, ``Chinook_PostgreSql.sql``
    or ``Chinook_MySql.sql``), trimmed; the three choose the same rows.

    Each INSERT keeps its kept rows in their order; the last one ends with ``;`` instead of ``,``.
    """
    (script,) = scripts
    lines = script.splitlines()
    blocks = list(_chinook_blocks(lines))
    data: Rows = {}
    for _, _, table, rows in blocks:
        data.setdefault(table, []).extend(values for _, values in rows)
    try:
        keep = _chinook_selection(data)
    except KeyError as missing:
        raise SampleMismatch(f"Chinook ({dialect}): no table or column {missing}") from None
    result: list[str] = []
    last = 0
    for start, end, table, rows in blocks:
        result.extend(lines[last:start])
        last = end + 1
        kept = [line for line, values in rows if table not in keep or _chinook_key(table, values) in keep[table]]
        if not kept:
            continue
        result.append(lines[start])
        result.extend(line.rstrip().rstrip(",;") + "," for line in kept)
        result[-1] = result[-1][:-1] + ";"
    result.extend(lines[last:])
    result = _without_lines(result, CHINOOK_OWN_DATABASE[dialect], f"Chinook ({dialect})")
    return ("\n".join(result) + "\n",)


# -- Pagila: pg_dump's COPY public.t (cols) FROM stdin; ... \. --------------------------------

_COPY = re.compile(r"COPY (\S+) \((.*)\) FROM stdin;$")
#: ``ALTER TABLE public.actor OWNER TO postgres;`` and the like: the tests load as another user.
_OWNER_TO = re.compile(r"^ALTER [A-Z ]+ .* OWNER TO postgres;\n", re.M)


def _copy_blocks(lines: list[str]) -> Iterator[_Block]:
    """``(COPY line, \\. line, table, rows)`` per COPY block; rows are ``(line, values)``."""
    i = 0
    while i < len(lines):
        match = _COPY.match(lines[i])
        if not match:
            i += 1
            continue
        table = match.group(1).removeprefix("public.")
        columns = [c.strip() for c in match.group(2).split(",")]
        rows = []
        j = i + 1
        while lines[j] != "\\.":
            rows.append((lines[j], dict(zip(columns, lines[j].split("\t"), strict=True))))
            j += 1
        yield i, j, table, rows
        i = j + 1


def trim_pagila(dialect: str, scripts: Sequence[str]) -> tuple[str, str]:
    """Pagila's ``pagila-schema.sql`` without its ``OWNER TO postgres`` statements, and
    ``pagila-data.sql`` trimmed (the payments in each of the monthly partitions).

    The materialized view ``rental_by_category`` stays as upstream creates it: ``WITH NO
    DATA``, unpopulated.
    """
    schema, data_script = scripts
    if not _OWNER_TO.search(schema):
        raise SampleMismatch("pagila-schema.sql: no ALTER ... OWNER TO postgres statement")
    lines = data_script.splitlines()
    blocks = list(_copy_blocks(lines))
    data: Rows = {table: [values for _, values in rows] for _, _, table, rows in blocks}
    payment_tables = [table for table in data if table.startswith("payment")]
    try:
        keep = _film_rental_selection(data, payment_tables)
    except KeyError as missing:
        raise SampleMismatch(f"pagila-data.sql: no table or column {missing}") from None
    result: list[str] = []
    last = 0
    for start, end, table, rows in blocks:
        result.extend(lines[last : start + 1])
        result.extend(
            line for line, values in rows if table not in keep or _film_rental_key(table, values) in keep[table]
        )
        result.append("\\.")
        last = end + 1
    result.extend(lines[last:])
    return _OWNER_TO.sub("", schema), "\n".join(result) + "\n"


# -- Sakila (mysqldump): INSERT INTO t VALUES (row),\n(row); ----------------------------------

#: The columns of each table the data script fills, in order (its INSERTs name none).
SAKILA_COLUMNS = {
    "actor": ["actor_id", "first_name", "last_name", "last_update"],
    "address": [
        "address_id",
        "address",
        "address2",
        "district",
        "city_id",
        "postal_code",
        "phone",
        "location",
        "last_update",
    ],
    "category": ["category_id", "name", "last_update"],
    "city": ["city_id", "city", "country_id", "last_update"],
    "country": ["country_id", "country", "last_update"],
    "customer": [
        "customer_id",
        "store_id",
        "first_name",
        "last_name",
        "email",
        "address_id",
        "active",
        "create_date",
        "last_update",
    ],
    "film": [
        "film_id",
        "title",
        "description",
        "release_year",
        "language_id",
        "original_language_id",
        "rental_duration",
        "rental_rate",
        "length",
        "replacement_cost",
        "rating",
        "special_features",
        "last_update",
    ],
    "film_actor": ["actor_id", "film_id", "last_update"],
    "film_category": ["film_id", "category_id", "last_update"],
    "inventory": ["inventory_id", "film_id", "store_id", "last_update"],
    "language": ["language_id", "name", "last_update"],
    "payment": ["payment_id", "customer_id", "staff_id", "rental_id", "amount", "payment_date", "last_update"],
    "rental": ["rental_id", "rental_date", "inventory_id", "customer_id", "return_date", "staff_id", "last_update"],
    "staff": [
        "staff_id",
        "first_name",
        "last_name",
        "address_id",
        "picture",
        "email",
        "store_id",
        "active",
        "username",
        "password",
        "last_update",
    ],
    "store": ["store_id", "manager_staff_id", "address_id", "last_update"],
}
_SAKILA_INSERT = re.compile(r"(INSERT INTO (\S+) VALUES )(.*)$")
#: The statements that create and switch to a database named ``sakila``.
SAKILA_OWN_DATABASE = ("DROP SCHEMA IF EXISTS sakila;", "CREATE SCHEMA sakila;", "USE sakila;")
#: ``sakila.film``: the view ``actor_info`` names its tables so; the tests' database has another name.
_SAKILA_QUALIFIED = re.compile(r"\bsakila\.(?=\w)")


def _sakila_blocks(lines: list[str]) -> Iterator[tuple[int, int, str, str, list[_Row]]]:
    """``(first line, last line, table, "INSERT INTO t VALUES ", rows)`` per INSERT; rows
    are ``(text without its trailing comma, values)``, the first on the INSERT's line."""
    i = 0
    while i < len(lines):
        match = _SAKILA_INSERT.match(lines[i])
        if not match:
            i += 1
            continue
        table = match.group(2).strip("`")
        if table not in SAKILA_COLUMNS:
            raise SampleMismatch(f"sakila-data.sql: rows of an unknown table {table!r}")
        rows = []
        j = i
        text = match.group(3)
        while True:
            values = split_row(text)
            columns = SAKILA_COLUMNS[table]
            rows.append((text.rstrip().rstrip(",;"), dict(zip(columns, values, strict=True))))
            if text.rstrip().endswith(";"):
                break
            j += 1
            text = lines[j]
        yield i, j, table, match.group(1), rows
        i = j + 1


def trim_sakila(dialect: str, scripts: Sequence[str]) -> tuple[str, str]:
    """Sakila's ``sakila-schema.sql`` loading into a database of any name, and
    ``sakila-data.sql`` trimmed (an INSERT none of whose rows are kept goes too)."""
    schema, data_script = scripts
    lines = data_script.splitlines()
    blocks = list(_sakila_blocks(lines))
    data: Rows = {}
    for _, _, table, _, rows in blocks:
        data.setdefault(table, []).extend(values for _, values in rows)
    try:
        keep = _film_rental_selection(data, ["payment"])
    except KeyError as missing:
        raise SampleMismatch(f"sakila-data.sql: no table or column {missing}") from None
    result: list[str] = []
    last = 0
    for start, end, table, head, rows in blocks:
        result.extend(lines[last:start])
        last = end + 1
        kept = [text for text, values in rows if table not in keep or _film_rental_key(table, values) in keep[table]]
        if kept:
            result.append(head + ",\n".join(kept) + ";")
    result.extend(lines[last:])
    result = _without_lines(result, ("USE sakila;",), "sakila-data.sql")
    schema_lines = _without_lines(schema.splitlines(), SAKILA_OWN_DATABASE, "sakila-schema.sql")
    schema = _SAKILA_QUALIFIED.sub("", "\n".join(schema_lines) + "\n")
    return schema, "\n".join(result) + "\n"
