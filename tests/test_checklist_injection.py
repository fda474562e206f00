"""Cases 1-7 of shared/SECURITY-CHECKLIST.md: what the client sends never shapes the SQL.

Sort, filter, search, page and id arguments are taken from allow-lists or parsed into
typed values; anything else is ignored or refused, never a 500 and never an order or a
condition on a column the operator may not see. Run on SQLite, PostgreSQL and MariaDB.
Test names carry the case number.
"""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa
from markupsafe import escape
from sqlalchemy.dialects import mysql

from tests import schemas
from tests.checklist import filter_arg, row_ids, site_on
from tests.site import rows

CUSTOMER_IDS = [str(row["id"]) for row in schemas.CUSTOMER_ROWS]


@pytest.fixture(scope="module")
def reader(module_hostile_database_url, tmp_path_factory):
    site = site_on(
        module_hostile_database_url,
        tmp_path_factory.mktemp("reader"),
        TABLES={schemas.CUSTOMERS: {"columns": {"email": {"hidden": True}}}},
    )
    yield site
    site.state.engine.dispose()


@pytest.fixture
def site(hostile_site):
    return hostile_site


def listed(site, table_id: str, query: str = "") -> list[str]:
    response = site.get(site.url(table_id) + ("?" + query if query else ""))
    assert response.status_code == 200, (query, response.status_code)
    return row_ids(response.get_data(as_text=True))


def sort_index(site, table_id: str, label: str) -> str:
    page = site.text(site.url(table_id))
    match = re.search(r'\?sort=(\d+)[^"]*" title="Sort by ' + re.escape(label) + '"', page)
    assert match, f"no sort link for {label}"
    return match.group(1)


# -- 1: sort parameter abuse --------------------------------------------------------------------


def test_1_sorting_by_a_listed_column_reorders_the_rows(reader):
    by_name = listed(reader, schemas.CUSTOMERS, "sort=" + sort_index(reader, schemas.CUSTOMERS, "name"))
    assert sorted(by_name) == CUSTOMER_IDS and by_name != CUSTOMER_IDS


@pytest.mark.parametrize(
    "sort",
    [
        "email",
        "user.password",
        "customers.email",
        "999",
        "-1",
        "abc",
        "1;DROP TABLE customers",
        "1 desc",
        "0x1",
        "1e3",
        "%00",
        "99999999999999999999999",
    ],
)
def test_1_sort_abuse_keeps_the_default_order(reader, module_hostile_database_url, sort):
    # "email" is hidden on this site: neither its name nor a position may sort by it.
    assert listed(reader, schemas.CUSTOMERS, "sort=" + sort) == CUSTOMER_IDS
    assert listed(reader, schemas.CUSTOMERS, "desc=1&sort=" + sort) == CUSTOMER_IDS
    assert len(rows(module_hostile_database_url, schemas.CUSTOMERS)) == len(CUSTOMER_IDS)


def test_1_a_hidden_column_has_no_sort_link(reader):
    page = reader.text(reader.url(schemas.CUSTOMERS))
    assert 'title="Sort by email"' not in page
    assert 'title="Sort by name"' in page


# -- 2: filters on columns that are not allowed -----------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "password_hash__startswith={}",
        "password_hash={}",
        "_to_field=password_hash&q={}",
        "flt0_password_hash={}",
        "flt0_999={}",
        "flt99_0={}",
        "flt0_-1={}",
    ],
)
def test_2_filters_on_hidden_columns_are_ignored_and_leak_nothing(reader, query):
    # The stored hash starts "pbkdf2": a filter acting on it would list row 1 for one
    # prefix and not for the other.
    matching = listed(reader, schemas.ALL_TYPES, query.format("pbkdf2"))
    other = listed(reader, schemas.ALL_TYPES, query.format("zzz"))
    assert matching == other == ["1", str(schemas.ALL_TYPES_NULL_ID)]


def test_2_hidden_columns_are_not_offered_as_filters(reader):
    page = reader.text(reader.url(schemas.ALL_TYPES))
    groups = re.search(r'id="filter-groups-data"[^>]*>(.*?)</', page, re.DOTALL)
    assert groups and "integer_col" in groups.group(1)
    assert "password_hash" not in groups.group(1)
    customers = reader.text(reader.url(schemas.CUSTOMERS))
    names = re.search(r'id="filter-groups-data"[^>]*>(.*?)</', customers, re.DOTALL).group(1)
    assert "email" not in names and '"name"' in names


def test_2_lookups_exist_only_for_foreign_keys(reader):
    for name in ("password_hash", "id", "no_such_column"):
        response = reader.get(reader.url(schemas.ALL_TYPES, "ajax/lookup") + f"?name={name}&query=a")
        assert response.status_code == 404
    lookup = reader.get(reader.url(schemas.ORDER, "ajax/lookup") + "?name=customer_id&query=ali&_to_field=email")
    assert lookup.get_json() == [["1", "Alice (1)"]]


# -- 3: values of the wrong type ---------------------------------------------------------------


@pytest.mark.parametrize(
    "table_id, column, operation, value",
    [
        (schemas.ORDER, "amount", "equals", "notanumber"),
        (schemas.ORDER, "id", "greater than", "1.5"),
        (schemas.ALL_TYPES, "date_col", "equals", "2024-13-45"),
        (schemas.ALL_TYPES, "datetime_col", "smaller than", "yesterday"),
        (schemas.ALL_TYPES, "bigint_col", "equals", "9" * 40),
        (schemas.ALL_TYPES, "float_col", "greater than", "nan"),
        (schemas.ALL_TYPES, "boolean_col", "equals", "maybe"),
    ],
)
def test_3_wrong_type_filter_value_is_a_banner(reader, table_id, column, operation, value):
    response = reader.get(reader.url(table_id) + f"?{filter_arg(reader, table_id, column, operation)}={value}")
    assert response.status_code == 200
    assert any(f"Invalid Filter Value: {value}" in f for f in reader.flashes(response.get_data(as_text=True)))


@pytest.mark.parametrize("page", ["-5", "abc", "", "1.5", "99999999999999999999", str(2**63), "0x10"])
def test_3_bad_page_numbers_never_fail(reader, page):
    ids = listed(reader, schemas.ORDER, f"page={page}")
    assert ids in ([], ["1", "2", "3", "4"])


@pytest.mark.parametrize("key", ["abc", "1.0", "-0x1", "1 OR 1=1", "9" * 40, "%00", "1,2"])
@pytest.mark.parametrize("page", ["details", "edit"])
def test_3_bad_ids_say_the_record_does_not_exist(reader, key, page):
    response = reader.get(reader.url(schemas.ORDER, page, key))
    assert response.status_code == 302
    follow = reader.get(response.headers["Location"])
    assert any("Record does not exist" in f for f in reader.flashes(follow.get_data(as_text=True)))


@pytest.mark.parametrize("page", ["details", "edit"])
def test_3_an_empty_or_missing_id_goes_back_to_the_list(reader, page):
    for query in ("?id=", "", "?id"):
        response = reader.get(reader.url(schemas.ORDER, page) + query)
        assert response.status_code == 302
        assert response.headers["Location"].endswith(reader.url(schemas.ORDER))


def test_3_page_size_is_clamped_to_the_allowed_sizes(empty_database_url, tmp_path):
    engine = sa.create_engine(empty_database_url)
    items = sa.Table("items", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
    items.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(items.insert(), [{"id": n} for n in range(1, 151)])
    engine.dispose()
    site = site_on(empty_database_url, tmp_path, hostile=False)
    try:
        for asked, shown in [("1000000", 20), ("101", 20), ("0", 20), ("-1", 20), ("x", 20), ("50", 50), ("100", 100)]:
            assert len(listed(site, "items", f"page_size={asked}")) == shown, asked
        assert listed(site, "items", "page_size=100&page=1") == [str(n) for n in range(101, 151)]
    finally:
        site.state.engine.dispose()


# -- 4: search with LIKE metacharacters and huge input --------------------------------------------


@pytest.mark.parametrize(
    "term, codes",
    [
        ("%", ["50%"]),
        ("_", []),
        ("\\", ["back\\slash"]),
        ('"', ['quo"te']),
        ("'", ["apo'strophe"]),
        ("+", ["plus+sign"]),
        (";", ["semi;colon"]),
        ("[a-z]", []),
        ("a*", []),
        ("' OR 1=1 --", []),
        ("NEAR(a b)", []),
        ("50% \\", []),
    ],
)
def test_4_search_takes_metacharacters_literally(reader, term, codes):
    assert sorted(listed(reader, schemas.TEXT_KEYS_TABLE, "search=" + _quote(term))) == sorted(codes)


def test_4_a_ten_thousand_character_search_answers_quickly_with_nothing(reader):
    response = reader.get(reader.url(schemas.CUSTOMERS) + "?search=" + "x%" * 5_000)
    assert response.status_code == 200
    assert row_ids(response.get_data(as_text=True)) == []
    assert listed(reader, schemas.CUSTOMERS, "search=" + "Alice" + " " * 10_000) == ["1"]


def _quote(term: str) -> str:
    from urllib.parse import quote

    return quote(term, safe="")


# -- 5: hostile identifiers in the reflected schema ---------------------------------------------


def test_5_a_table_named_like_an_injection_is_listed_edited_created_and_deleted(site, hostile_database_url):
    table = schemas.INJECTION_TABLE
    page = site.text(site.url(table))
    assert str(escape(table)) in page
    assert row_ids(page) == ["1", "2"]
    quote_key, select_key = (site.state.views[table].info.column(name).key for name in ('x"y', "select"))
    edit_url = site.url(table, "edit", "1")
    values = site.form_values(edit_url)
    assert values[quote_key] == schemas.URL_LIKE_VALUES[0]
    values[select_key] = "edited; DROP TABLE customers --"
    assert site.post(edit_url, values).status_code == 302
    assert site.post(site.url(table, "new"), {quote_key: "new `row`", select_key: "]"}).status_code == 302
    assert site.post(site.url(table, "delete"), {"id": "2"}, token_from=site.url(table)).status_code == 302
    stored = {row[0]: row[1:] for row in rows(hostile_database_url, table, "id")}
    assert stored[1] == (schemas.URL_LIKE_VALUES[0], "edited; DROP TABLE customers --")
    assert 2 not in stored
    assert ("new `row`", "]") in stored.values()
    assert len(rows(hostile_database_url, schemas.CUSTOMERS)) == len(CUSTOMER_IDS)


def test_5_hostile_column_names_are_searched_sorted_and_filtered(reader):
    for column in ("a;b", "with space", "naïve ü"):
        index = sort_index(reader, schemas.CUSTOMERS, str(escape(column)))
        assert sorted(listed(reader, schemas.CUSTOMERS, f"sort={index}&desc=1")) == CUSTOMER_IDS
    assert listed(reader, schemas.CUSTOMERS, "search=1%3B2") == ["1"]  # the value "1;2" of column a;b
    key = reader.state.views[schemas.CUSTOMERS].info.column(schemas.HOSTILE_COLUMNS[5]).key
    arg = filter_arg(reader, schemas.CUSTOMERS, key, "contains")
    assert listed(reader, schemas.CUSTOMERS, f"{arg}=i%3Eimg") == ["1"]  # the value "<i>img</i>"


# -- 6: no SQL fragments from the client ---------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "where_clause=1%3D1",
        "where=id%3D1",
        "order=id%20desc",
        "order_by=name%20desc",
        "expr=1",
        "sql=DELETE%20FROM%20customers",
        "filter=id%3E3",
        "q=id%3D1",
        "columns=password_hash",
        "select=*",
        "limit=1",
        "offset=3",
    ],
)
def test_6_sql_fragments_in_the_query_string_are_ignored(reader, module_hostile_database_url, query):
    assert listed(reader, schemas.CUSTOMERS, query) == CUSTOMER_IDS
    assert len(rows(module_hostile_database_url, schemas.CUSTOMERS)) == len(CUSTOMER_IDS)


def test_6_sql_fragments_in_lookups_and_exports_are_ignored(reader):
    lookup = reader.get(reader.url(schemas.ORDER, "ajax/lookup") + "?name=customer_id&query=ali&where=1%3D1&order=x")
    assert lookup.get_json() == [["1", "Alice (1)"]]
    export = reader.get(reader.url(schemas.ORDER, "export/csv") + "?where_clause=1%3D0&limit=1&columns=x")
    assert len(export.get_data(as_text=True).strip().splitlines()) == 1 + len(schemas.ORDER_ROWS)


# -- 7: primary-key round trip ----------------------------------------------------------------

BIG = [2**53 + 1, 2**53, 2**63 - 1, -(2**63)]
UUIDS = [uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID("ffffffff-ffff-ffff-ffff-fffffffffffe")]
BLOBS = [b"\x00\x01", b"\x00\x02", b"\xff" * 16]


@pytest.fixture
def keyed(empty_database_url, tmp_path):
    """Tables keyed by a bigint beyond 2**53, a UUID and a binary value; three rows each."""
    engine = sa.create_engine(empty_database_url)
    metadata = sa.MetaData()
    binary = sa.LargeBinary(16).with_variant(mysql.VARBINARY(16), "mysql", "mariadb")
    tables = {
        "big_keys": (
            sa.Table(
                "big_keys",
                metadata,
                sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
                sa.Column("label", sa.String(50)),
            ),
            BIG,
        ),
        "uuid_keys": (
            sa.Table(
                "uuid_keys", metadata, sa.Column("id", sa.Uuid, primary_key=True), sa.Column("label", sa.String(50))
            ),
            UUIDS,
        ),
        "bin_keys": (
            sa.Table(
                "bin_keys", metadata, sa.Column("id", binary, primary_key=True), sa.Column("label", sa.String(50))
            ),
            BLOBS,
        ),
    }
    metadata.create_all(engine)
    with engine.begin() as connection:
        for table, keys in tables.values():
            connection.execute(table.insert(), [{"id": key, "label": f"label {n}"} for n, key in enumerate(keys)])
    engine.dispose()
    site = site_on(empty_database_url, tmp_path, hostile=False)
    yield site, empty_database_url
    site.state.engine.dispose()


def _labels(url: str, table: str) -> dict[str, str]:
    return {_as_text(key): label for key, label in rows(url, table)}


def _as_text(key) -> str:
    if isinstance(key, bytes):
        return key.hex()
    return str(uuid.UUID(key)) if isinstance(key, str) and len(key) == 32 else str(key)


@pytest.mark.parametrize("table, count", [("big_keys", len(BIG)), ("uuid_keys", len(UUIDS)), ("bin_keys", len(BLOBS))])
def test_7_wide_and_binary_keys_address_exactly_their_row(keyed, table, count):
    site, url = keyed
    ids = listed(site, table)
    assert len(set(ids)) == count
    before = _labels(url, table)
    for key in ids:  # every listed key opens its own row
        details = site.text(site.url(table, "details", key))
        label = re.findall(r"label \d", details)
        assert len(set(label)) == 1
    first, second, *others = ids
    edit_url = site.url(table, "edit", first)
    values = site.form_values(edit_url)
    opened = values["label"]
    values["label"] = "edited"
    assert site.post(edit_url, values).status_code == 302
    assert site.post(site.url(table, "delete"), {"id": second}, token_from=site.url(table)).status_code == 302
    response = site.post(site.url(table, "action"), {"action": "delete", "rowid": others}, token_from=site.url(table))
    assert response.status_code == 302
    after = _labels(url, table)
    assert list(after.values()) == ["edited"]
    assert [k for k, v in before.items() if v == opened] == list(after)


def test_7_bigint_keys_beyond_javascript_numbers_keep_every_digit(keyed):
    site, _url = keyed
    assert sorted(listed(site, "big_keys"), key=int) == sorted(str(k) for k in BIG)
    page = site.text(site.url("big_keys", "details", str(2**53 + 1)))
    assert "label 0" in page


def test_7_text_keys_with_every_special_character_round_trip(site, hostile_database_url):
    listed_keys = listed(site, schemas.TEXT_KEYS_TABLE, "page_size=50")
    assert sorted(listed_keys) == sorted(schemas.TEXT_KEYS)
    chosen = [code for code in schemas.TEXT_KEYS if code in ("semi;colon", "plus+sign", "ta\tb", "L" * 190)]
    response = site.post(
        site.url(schemas.TEXT_KEYS_TABLE, "action"),
        {"action": "delete", "rowid": chosen},
        token_from=site.url(schemas.TEXT_KEYS_TABLE),
    )
    assert response.status_code == 302
    remaining = {code for code, _label in rows(hostile_database_url, schemas.TEXT_KEYS_TABLE)}
    assert remaining == set(schemas.TEXT_KEYS) - set(chosen)
