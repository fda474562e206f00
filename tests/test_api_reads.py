"""The API's read side: ``GET /api/<endpoint>/`` and ``GET /api/<endpoint>/<key>``.

One site per dialect on the hostile schema (tests.schemas), with a table of 120 rows added
for cursor walks: keys holding ``/``, ``,``, ``%``, composite keys, views and key-less
tables, secret-like columns, every filter operation. Who may see what runs on SQLite only.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from dashboard.api import values
from dashboard.api.arguments import operations_for
from dashboard.db.codecs import Codec
from dashboard.db.json_text import UnreadableJSON
from tests import schemas
from tests.apps import make_small_database
from tests.checklist import site_on
from tests.site import Site, make_site

WALK_TABLE = "api_walk"
WALK_ROWS = 120


def _add_walk_table(url: str) -> None:
    """``api_walk``: 120 rows, a sort column with 7 values each held by many rows, a nullable one."""
    engine = sa.create_engine(url)
    try:
        table = sa.Table(
            WALK_TABLE,
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("bucket", sa.Integer, nullable=False),
            sa.Column("label", sa.String(20)),
        )
        with engine.begin() as connection:
            table.create(connection)
            rows = [{"id": i, "bucket": (i * 5) % 7, "label": None if i % 3 else f"l{i % 4}"} for i in range(WALK_ROWS)]
            connection.execute(table.insert(), rows)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def site(module_hostile_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """An administrator on the hostile schema plus ``api_walk``, one per dialect, for reads only."""
    _add_walk_table(module_hostile_database_url)
    site = site_on(module_hostile_database_url, tmp_path_factory.mktemp("api-reads"))
    yield site
    site.state.engine.dispose()


def endpoint(site: Site, table_id: str) -> str:
    return str(site.state.views[table_id].info.endpoint)


def listing(site: Site, table_id: str, **args: t.Any) -> t.Any:
    response = site.client.get(f"/api/{endpoint(site, table_id)}/", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def row_url(site: Site, table_id: str, key: str) -> str:
    return f"/api/{endpoint(site, table_id)}/{quote(key, safe='')}"


def ids(body: t.Any) -> list[int]:
    return [row["values"]["id"] for row in body["rows"]]


# -- keys -------------------------------------------------------------------------------------------


def test_every_text_key_addresses_exactly_its_row(site: Site) -> None:
    body = listing(site, schemas.TEXT_KEYS_TABLE, limit=100)
    assert sorted(row["key"] for row in body["rows"]) == sorted(schemas.TEXT_KEYS)
    for key in schemas.TEXT_KEYS:
        response = site.client.get(row_url(site, schemas.TEXT_KEYS_TABLE, key))
        assert response.status_code == 200, (key, response.get_data(as_text=True))
        assert response.get_json()["key"] == key
        assert response.get_json()["values"]["code"] == key


def test_composite_keys_address_exactly_their_row(site: Site) -> None:
    body = listing(site, schemas.COMPOSITE_KEYS_TABLE)
    assert len(body["rows"]) == len(schemas.COMPOSITE_KEYS)
    for row in body["rows"]:
        response = site.client.get(row_url(site, schemas.COMPOSITE_KEYS_TABLE, row["key"]))
        assert response.status_code == 200
        assert response.get_json() == row
    assert {(r["values"]["part_a"], r["values"]["part_b"]) for r in body["rows"]} == set(schemas.COMPOSITE_KEYS)


def test_a_key_of_no_row_or_of_the_wrong_shape_is_404(site: Site) -> None:
    for key in ("no such key", "a,b,c"):
        response = site.client.get(row_url(site, schemas.COMPOSITE_KEYS_TABLE, key))
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    assert site.client.get(row_url(site, schemas.ORDER, "not a number")).status_code == 404
    assert site.client.get(row_url(site, schemas.ORDER, str(2**70))).status_code == 404


def test_etag_is_a_keyed_version_not_the_fingerprint_and_if_none_match_answers_304(site: Site) -> None:
    view = site.state.views[schemas.TEXT_KEYS_TABLE]
    response = site.client.get(row_url(site, schemas.TEXT_KEYS_TABLE, "x/y"))
    fingerprint = view.store.fingerprint(view.store.get(("x/y",)))
    tag = response.headers["ETag"]
    # The fingerprint hashes hidden columns too: shown as it is, it would let a caller test
    # guesses of their values. The ETag is keyed by the site's secret instead.
    assert fingerprint not in tag and len(tag.strip('"')) >= 32
    assert site.client.get(row_url(site, schemas.TEXT_KEYS_TABLE, "x/y")).headers["ETag"] == tag
    again = site.client.get(row_url(site, schemas.TEXT_KEYS_TABLE, "x/y"), headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b""
    other = site.client.get(row_url(site, schemas.TEXT_KEYS_TABLE, "x/y"), headers={"If-None-Match": '"0"'})
    assert other.status_code == 200


def test_views_and_keyless_tables_are_listed_with_key_null_and_have_no_row_address(site: Site) -> None:
    for table in (schemas.CUSTOMER_NAMES, schemas.LOG_LINES):
        body = listing(site, table)
        if site.state.views[table].info.has_row_identity:
            # SQLite's rowid tells even identical rows apart: they are addressed by it.
            assert table == schemas.LOG_LINES and site.state.schema.dialect == "sqlite"
            assert all(site.client.get(row_url(site, table, row["key"])).status_code == 200 for row in body["rows"])
            continue
        assert body["rows"] and all(row["key"] is None for row in body["rows"])
        assert site.client.get(row_url(site, table, "1")).status_code == 404
    # The two identical log lines are both there: nothing merged them.
    assert len(listing(site, schemas.LOG_LINES)["rows"]) == len(schemas.LOG_LINE_ROWS)
    document = site.client.get("/api/openapi.json").get_json()
    view_endpoint = endpoint(site, schemas.CUSTOMER_NAMES)
    assert set(document["paths"][f"/api/{view_endpoint}/"]) == {"get"}
    assert f"/api/{view_endpoint}/{{key}}" not in document["paths"]
    assert document["components"]["schemas"][f"{view_endpoint}.row"]["properties"]["key"]["type"] == "null"


# -- secret-like columns ------------------------------------------------------------------------------


def test_secret_like_columns_never_appear_nor_answer_questions(site: Site) -> None:
    body = listing(site, schemas.ALL_TYPES)
    assert body["rows"] and all("password_hash" not in row["values"] for row in body["rows"])
    key = body["rows"][0]["key"]
    assert "password_hash" not in site.client.get(row_url(site, schemas.ALL_TYPES, key)).get_json()["values"]
    base = f"/api/{endpoint(site, schemas.ALL_TYPES)}/"
    for args in (
        {"fields": "password_hash"},
        {"sort": "password_hash"},
        {"password_hash__isnull": "false"},
        {"password_hash__contains": "pbkdf2"},
    ):
        response = site.client.get(base, query_string=args)
        assert response.status_code == 400, args
        assert "pbkdf2" not in response.get_data(as_text=True)
    assert "password_hash" not in site.client.get("/api/openapi.json").get_data(as_text=True)


# -- listing arguments ------------------------------------------------------------------------------

ORDER_FILTERS = [
    ({"id__eq": "2"}, {2}),
    ({"id__ne": "2"}, {1, 3, 4}),
    ({"id__lt": "2"}, {1}),
    ({"id__le": "2"}, {1, 2}),
    ({"id__gt": "2"}, {3, 4}),
    ({"id__ge": "2"}, {2, 3, 4}),
    ({"id__in": "1,4,99"}, {1, 4}),
    ({"amount__lt": "0"}, {4}),
    ({"amount__ge": "10.50"}, {1, 3}),
    ({"group__eq": "x"}, {1, 4}),
    ({"group__ne": "x"}, {2, 3}),
    ({"group__contains": "Y"}, {2}),
    ({"group__isnull": "true"}, {3}),
    ({"group__isnull": "false", "amount__gt": "0"}, {1, 2}),
]


def test_filters_of_each_operation(site: Site) -> None:
    for args, expected in ORDER_FILTERS:
        body = listing(site, schemas.ORDER, count="exact", **args)
        assert set(ids(body)) == expected, args
        assert body["count"] == {"value": len(expected), "exact": True}, args


BAD_FILTERS = [
    {"id__eq": "abc"},
    {"amount__lt": "ten"},
    {"id__eq": str(2**70)},
    {"group__isnull": "maybe"},
    {"id__contains": "1"},
    {"nosuchcolumn__eq": "1"},
    {"id__like": "1"},
    {"group__eq": "a\x00b"},
    {"id__in": ""},
    {"id__gt": "1", "group__in": "x", "amount__eq": "1e"},
]


def test_a_bad_filter_is_a_400_naming_it(site: Site) -> None:
    for args in BAD_FILTERS:
        response = site.client.get(f"/api/{endpoint(site, schemas.ORDER)}/", query_string=args)
        assert response.status_code == 400, args
        assert response.mimetype == "application/problem+json"
        fields = [error["field"] for error in response.get_json()["errors"]]
        assert fields == [name for name in args if name not in ("id__gt", "group__in")], args


def test_limit_is_capped_by_the_largest_page_size(site: Site) -> None:
    assert len(listing(site, WALK_TABLE)["rows"]) == 50
    assert len(listing(site, WALK_TABLE, limit=100)["rows"]) == 100
    for bad in ("101", "0", "-1", "ten", ""):
        response = site.client.get(f"/api/{WALK_TABLE}/", query_string={"limit": bad})
        assert response.status_code == 400, bad
        assert response.get_json()["errors"][0]["field"] == "limit"


@pytest.mark.parametrize("sort", ["bucket", "-bucket,-id", "label,id"])
def test_a_cursor_walk_gives_every_row_exactly_once(site: Site, sort: str) -> None:
    seen: list[int] = []
    args: dict[str, t.Any] = {"limit": 17, "sort": sort, "fields": "id,bucket,label"}
    while True:
        body = listing(site, WALK_TABLE, **args)
        seen += ids(body)
        if body["next"] is None:
            break
        args["cursor"] = body["next"]
    assert sorted(seen) == list(range(WALK_ROWS))
    first = sort.split(",")[0]
    column, reverse = first.lstrip("-"), first.startswith("-")
    keys = [(row := site.state.views[WALK_TABLE].store.get((i,))) and getattr(row, column) for i in seen]
    if column == "bucket":
        assert keys == sorted(keys, reverse=reverse)


def test_a_tampered_or_foreign_cursor_is_a_400(site: Site) -> None:
    cursor = listing(site, WALK_TABLE, limit=10, sort="bucket")["next"]
    for args in (
        {"cursor": cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB"), "sort": "bucket"},
        {"cursor": cursor, "sort": "-bucket"},  # another listing's
        {"cursor": "garbage", "sort": "bucket"},
    ):
        response = site.client.get(f"/api/{WALK_TABLE}/", query_string={"limit": 10, **args})
        assert response.status_code == 400
        assert response.get_json()["errors"][0]["field"] == "cursor"


def test_fields_sort_and_search(site: Site) -> None:
    body = listing(site, schemas.ORDER, fields="amount,id", sort="-amount")
    assert [list(row["values"]) for row in body["rows"]] == [["amount", "id"]] * 4
    assert [row["values"]["amount"] for row in body["rows"]] == ["9999999999.99", "10.50", "0.01", "-3.00"]
    found = listing(site, schemas.TEXT_KEYS_TABLE, search="x/y", fields="code")
    assert [row["values"]["code"] for row in found["rows"]] == ["x/y"]
    for args in ({"fields": "id,nope"}, {"sort": "nope"}, {"count": "maybe"}):
        assert site.client.get(f"/api/{endpoint(site, schemas.ORDER)}/", query_string=args).status_code == 400


# -- who may see what (SQLite) ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """A viewer who may not see ``payments`` nor ``child.note`` (small database: parent, child, payments)."""
    folder = tmp_path_factory.mktemp("api-viewer")
    url = make_small_database(folder / "target.db")
    tables = {"payments": {"roles": {"viewer": []}}, "child": {"columns": {"note": {"hidden": True}}}}
    return make_site(url, folder, role="viewer", TABLES=tables)


def test_a_relation_the_caller_may_not_view_answers_as_if_absent(viewer: Site) -> None:
    hidden = viewer.client.get("/api/payments/")
    absent = viewer.client.get("/api/no_such_table/")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.get_json() == absent.get_json()
    assert viewer.client.get("/api/payments/1").get_json() == viewer.client.get("/api/no_such_table/1").get_json()
    assert viewer.client.get("/api/parent/1").status_code == 200
    document = viewer.client.get("/api/openapi.json").get_json()
    assert "/api/payments/" not in document["paths"] and "/api/parent/" in document["paths"]
    assert "payments" not in str(document)


def test_anonymous_calls_get_401_with_www_authenticate(viewer: Site) -> None:
    anonymous = viewer.app.test_client()
    for url in ("/api/parent/", "/api/parent/1", "/api/openapi.json", "/api/payments/"):
        response = anonymous.get(url)
        assert response.status_code == 401, url
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_column_hidden_by_the_settings_is_absent_from_every_channel(viewer: Site) -> None:
    rows = viewer.client.get("/api/child/").get_json()["rows"]
    assert rows and all("note" not in row["values"] for row in rows)
    assert "note" not in viewer.client.get("/api/child/1").get_json()["values"]
    for args in ({"fields": "note"}, {"sort": "note"}, {"note__contains": "a"}, {"note__isnull": "true"}):
        assert viewer.client.get("/api/child/", query_string=args).status_code == 400, args
    # The search runs over shown columns only: the hidden note's text finds nothing.
    assert viewer.client.get("/api/child/", query_string={"search": "a note"}).status_code == 400
    document = viewer.client.get("/api/openapi.json").get_json()
    assert "note" not in document["components"]["schemas"]["child.values"]["properties"]
    assert not any(
        p.get("name", "").startswith("note__") for p in document["paths"]["/api/child/"]["get"]["parameters"]
    )


def test_hostile_column_names_work_as_fields_sorts_and_filters(site: Site) -> None:
    for name in schemas.HOSTILE_COLUMNS:
        body = listing(site, schemas.CUSTOMERS, fields=name, sort=f"-{name}", **{f"{name}__isnull": "false"})
        assert all(list(row["values"]) == [name] and row["values"][name] is not None for row in body["rows"]), name
        assert len(body["rows"]) == sum(1 for row in schemas.CUSTOMER_ROWS if row.get(name) is not None), name


def test_every_value_the_api_shows_finds_its_row_again(site: Site) -> None:
    """A value read from the API, sent back as an ``eq`` filter, finds its row: every type, every dialect."""
    view = site.state.views[schemas.ALL_TYPES]
    shown = listing(site, schemas.ALL_TYPES, id__eq="1")["rows"][0]["values"]
    checked = []
    for column in view.visible:
        value = shown[column.name]
        if "eq" not in operations_for(view.store.codecs[column.key]) or value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        found = listing(site, schemas.ALL_TYPES, fields="id", **{f"{column.name}__eq": text})
        assert 1 in ids(found), (column.name, text)
        checked.append(column.name)
    assert {"bigint_col", "numeric_col", "datetime_col", "time_col", "uuid_col", "enum_col"} <= set(checked)


# -- values <-> JSON (no database) --------------------------------------------------------------------

TO_JSON = [
    (Codec(kind="decimal"), Decimal("12.50"), "12.50"),
    (Codec(kind="float"), float("nan"), None),
    (Codec(kind="boolean"), b"\x01", True),
    (Codec(kind="datetime"), dt.datetime(2024, 2, 29, 23, 59, 59, 123456), "2024-02-29T23:59:59.123456"),
    (Codec(kind="interval"), dt.timedelta(days=3, hours=4, minutes=5, seconds=6), "P3DT4H5M6S"),
    (Codec(kind="binary"), b"hi", "aGk="),
    (Codec(kind="set"), {"c", "a"}, ["a", "c"]),
    (Codec(kind="json"), UnreadableJSON("[[["), "[[["),
    (Codec(kind="integer"), "not a number", "not a number"),  # SQLite keeps text anywhere: its text
]


@pytest.mark.parametrize(("codec", "stored", "expected"), TO_JSON, ids=[c.kind for c, _s, _e in TO_JSON])
def test_stored_values_as_json(codec: Codec, stored: t.Any, expected: t.Any) -> None:
    assert values.to_json(codec, stored) == expected


def test_sent_values_are_parsed_or_refused_with_a_message() -> None:
    integer = Codec(kind="integer", minimum=-10, maximum=10)
    assert values.from_json(integer, 5) == 5
    for refused in (True, "5", 5.0, 11):
        with pytest.raises(values.BadValue):
            values.from_json(integer, refused)
    assert values.from_json(Codec(kind="decimal"), "1.50") == Decimal("1.50")
    assert values.from_json(Codec(kind="binary"), "aGk=") == b"hi"
    assert values.from_json(Codec(kind="datetime"), "2024-01-01T10:00:00") == dt.datetime(2024, 1, 1, 10)
    for codec, refused in ((Codec(kind="binary"), "!!"), (Codec(kind="boolean"), "yes"), (Codec(kind="date"), 5)):
        with pytest.raises(values.BadValue):
            values.from_json(codec, refused)
