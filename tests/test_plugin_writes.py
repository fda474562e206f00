"""The plugins' write API (dashboard/writes.py, dashboard/plugins/write_api/): a refused write is a
``WriteFailed`` shown on the page's form, naming the constraint and the row; ``transaction()``
writes several tables all or none, audited with its reason; ``rows()`` filters, pages and keeps
secret columns out. On every dialect.

One site per dialect for the module: each test writes rows of its own (orders 10, 20, 21, 30,
41 and 42) and reads back only those, so the tests share the database and the app.
"""

from __future__ import annotations

import typing as t
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_login import login_user

from dashboard import statedb
from dashboard.plugins import loader
from dashboard.security.auth import User
from dashboard.writes import MAX_ROWS, WriteFailed, WriteRefused, table_writer, transaction
from tests.apps import add_user, logged_in
from tests.databases import database_with
from tests.plugin_kit import error_details, error_panels, plugin_site
from tests.site import Site, rows

PAGE = "/admin/-/pages/refund/"

PLUGIN = """
from decimal import Decimal

from flask import request

from dashboard.hookspecs import hookimpl
from dashboard.pages import ALL_ROLES, BulkAction, Page
from dashboard.writes import WriteFailed, table_writer, transaction

heard = []


class Refund(Page):
    title = "Refund"
    roles = ALL_ROLES
    template = "refunds/page.html"

    def context(self):
        return {"count": table_writer("orders", plugin="refunds").count()}

    def post(self):
        order = int(request.form["order"])
        amount = Decimal(request.form["amount"])
        orders = table_writer("orders", plugin="refunds")
        refunds = table_writer("refunds", plugin="refunds")
        if request.form["mode"] == "total":
            orders.update({"id": order}, {"total": amount})
        elif request.form["mode"] == "refund":
            with transaction(reason=request.form.get("reason") or None):
                orders.update({"id": order}, {"status": "refunded"})
                refunds.insert({"id": order, "order_id": order, "amount": amount})
        else:
            try:
                orders.update({"id": order}, {"total": amount})
            except WriteFailed as failed:
                return f"{failed.reason}|{failed.table}|{failed.row}"
        return None


class Gone(Page):
    title = "Gone"
    roles = ALL_ROLES

    def context(self):
        table_writer("orders", plugin="refunds").delete({"id": 999})  # no such order
        return {}


def take_fifty(rows, writer):
    with transaction(reason="discount"):
        for row in rows:
            writer.update(row, {"total": row["total"] - 50})
    return "Discounted."


@hookimpl
def register_pages(app):
    return [Refund, Gone]


@hookimpl
def table_actions(table):
    if table.name == "orders":
        return [BulkAction(name="take_fifty", label="Take 50 off", run=take_fifty)]
    return None


@hookimpl
def after_write(table, action, old, new):
    heard.append((table.name, action, (new or old)["id"]))
"""

TEMPLATE = """
{% extends "dashboard/page.html" %}
{% block page_content %}
<p>{{ count }} orders</p>
<form method="post"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}"></form>
{% endblock %}
"""


def build_shop(url: str) -> None:
    """``orders`` (45 rows; order 42's total is 10, every other's ten times its id) with a
    CHECK on the total, a hidden ``note``, secret-looking ``password`` and ``api_key``; ``refunds`` empty,
    with a foreign key to orders and a CHECK on the amount."""
    metadata = sa.MetaData()
    orders = sa.Table(
        "orders",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total", sa.Numeric(10, 2), nullable=False),
        sa.Column("note", sa.String(50)),
        sa.Column("password", sa.String(50)),
        sa.Column("api_key", sa.String(50)),  # secret-looking, but the settings show it
        # Named: MariaDB and SQLite name an unnamed CHECK after the table or not at all.
        sa.CheckConstraint("total > 0", name="orders_total_positive"),
        mysql_engine="InnoDB",
    )
    refunds = sa.Table(
        "refunds",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("amount", sa.Numeric(10, 2), nullable=False),
        sa.CheckConstraint("amount > 0", name="refunds_amount_positive"),
        mysql_engine="InnoDB",
    )
    engine = sa.create_engine(url)
    try:
        metadata.create_all(engine)
        statuses = ("paid", "pending", "shipped")
        with engine.begin() as connection:
            connection.execute(
                orders.insert(),
                [
                    {
                        "id": i,
                        "status": statuses[i % 3],
                        "total": Decimal(10 if i == 42 else i * 10),
                        "note": f"note {i}" if i % 2 else None,
                        "password": "hunter2",
                        "api_key": f"key-{i}",
                    }
                    for i in range(1, 46)
                ],
            )
    finally:
        engine.dispose()
    del refunds


@pytest.fixture(scope="module")
def site(dialect: str, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Site]:
    with database_with(dialect, "plugin_writes_shop", build_shop) as url:
        built = plugin_site(
            url,
            tmp_path_factory.mktemp("plugin-writes"),
            {"refunds": PLUGIN},
            files={"refunds": {"templates/refunds/page.html": TEMPLATE}},
            TABLES={"orders": {"columns": {"note": {"hidden": True}, "api_key": {"visible": True}}}},
        )
        built.app.config["database_url"] = url
        yield built
        built.state.engine.dispose()


def url_of(site: Site) -> str:
    return t.cast(str, site.app.config["database_url"])


def order(site: Site, key: int) -> tuple[str, Decimal]:
    found = {row[0]: (row[1], Decimal(row[2])) for row in rows(url_of(site), "orders")}
    return found[key]


def refunds_of(site: Site, key: int) -> list[tuple[t.Any, ...]]:
    return [row for row in rows(url_of(site), "refunds") if row[1] == key]


def entries(site: Site, table: str, key: str) -> list[dict[str, t.Any]]:
    found = statedb.get_store(site.app).audit_entries({"table": table}, offset=0, limit=500)
    return [e for e in found if e["row_key"] == key]


def heard(site: Site) -> list[tuple[str, str, int]]:
    plugin = loader.registry(site.app).plugin("refunds")
    assert plugin is not None and plugin.module is not None
    return t.cast(list[tuple[str, str, int]], plugin.module.heard)


def test_a_check_violation_in_a_page_post_names_the_constraint_on_the_form(site):
    before = order(site, 10)
    response = site.post(PAGE, {"mode": "total", "order": "10", "amount": "-1"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422  # the page again, not the crash panel
    shown = " ".join(site.flashes(text))
    assert 'Row 10 was not saved: the CHECK constraint "orders_total_positive" refused the values' in shown
    assert "45 orders" in text  # the page's own content, under the message
    assert "dashboard-plugin-error" not in text
    assert order(site, 10) == before
    (entry,) = entries(site, "orders", "10")
    assert entry["outcome"] == "failed" and "[constraint]" in entry["message"]


def test_a_transaction_failing_on_its_second_write_leaves_both_tables_unchanged(site):
    before = order(site, 20)
    response = site.post(PAGE, {"mode": "refund", "order": "20", "amount": "-5", "reason": "customer asked"})
    assert response.status_code == 422
    assert 'the CHECK constraint "refunds_amount_positive" refused the values' in " ".join(
        site.flashes(response.get_data(as_text=True))
    )
    assert order(site, 20) == before  # the first write, made, was rolled back
    assert refunds_of(site, 20) == []
    logged = entries(site, "orders", "20")
    assert [e["outcome"] for e in logged] == ["failed"]
    assert "transaction was rolled back" in logged[0]["message"]
    assert [e["outcome"] for e in entries(site, "refunds", "20")] == ["failed"]
    assert not [h for h in heard(site) if h[2] == 20]  # after_write hears only what committed


def test_a_transaction_that_succeeds_records_its_reason_on_each_entry(site):
    response = site.post(PAGE, {"mode": "refund", "order": "21", "amount": "5", "reason": "customer asked"})
    assert response.status_code == 302
    assert order(site, 21)[0] == "refunded"
    assert len(refunds_of(site, 21)) == 1
    logged = entries(site, "orders", "21") + entries(site, "refunds", "21")
    assert [(e["outcome"], e["reason"]) for e in logged] == [("ok", "customer asked")] * 2
    assert {("orders", "edit", 21), ("refunds", "create", 21)} <= set(heard(site))
    assert "Reason: customer asked" in site.text("/admin/-/audit/?table=refunds")
    # The row's own history says why too, for every operator who may open its details.
    assert "Reason: customer asked" in site.text(site.url("orders", "details", key="21"))
    export = site.text("/admin/-/audit/export/csv/?table=refunds")
    assert export.splitlines()[0].endswith(",message,reason") and "customer asked" in export


def test_a_bulk_action_that_fails_names_the_row_and_writes_none(site):
    before = order(site, 41), order(site, 42)
    page = site.post(
        site.url("orders", "action"),
        {"action": "take_fifty", "rowid": ["41", "42"], "url": site.url("orders")},
        token_from=site.url("orders"),
        follow=True,
    )
    shown = " ".join(site.flashes(page.get_data(as_text=True)))
    assert 'Row 42 was not saved: the CHECK constraint "orders_total_positive" refused the values' in shown
    assert (order(site, 41), order(site, 42)) == before  # all or none: 41 was written, then undone
    assert [e["outcome"] for e in entries(site, "orders", "41")] == ["failed"]


def test_a_viewers_write_raises_write_failed_for_permission(site):
    viewer = Site(site.app)
    viewer.client = logged_in(site.app, "viewer")
    response = viewer.post(PAGE, {"mode": "catch", "order": "30", "amount": "7"})
    assert response.get_data(as_text=True) == "permission|orders|30"
    response = viewer.post(PAGE, {"mode": "total", "order": "30", "amount": "7"})
    assert response.status_code == 403 and "Permission denied." in " ".join(
        viewer.flashes(response.get_data(as_text=True))
    )
    assert order(site, 30) == ("paid", Decimal(300))


# -- rows() ------------------------------------------------------------------------------------


def as_role(site: Site, role: str) -> t.Any:
    """A request context of ``site`` with an operator of ``role`` logged in."""
    context = site.app.test_request_context("/admin/")
    context.push()
    login_user(User(add_user(site.app, f"reader-{uuid.uuid4().hex[:12]}", role)))
    return context


def ids(found: list[dict[str, t.Any]]) -> list[int]:
    return [row["id"] for row in found]


def test_rows_filters_with_every_operator_pages_and_keeps_secret_columns_out(site):
    context = as_role(site, "viewer")
    try:
        orders = table_writer("orders", plugin="probe")
        first = {"id": ("le", 9)}
        assert ids(orders.rows({**first, "status": "paid"})) == [3, 6, 9]
        assert ids(orders.rows({**first, "status": ("ne", "paid")}, limit=3)) == [1, 2, 4]
        assert ids(orders.rows({"id": ("lt", 3)})) == [1, 2]
        assert ids(orders.rows({"id": ("ge", 44)})) == [44, 45]
        assert ids(orders.rows({"id": ("gt", 44)})) == [45]
        assert ids(orders.rows({"id": ("in", [5, 7, 99])})) == [5, 7]
        assert ids(orders.rows({"id": ("not_in", range(2, 46))})) == [1]
        assert ids(orders.rows({**first, "status": ("contains", "END")})) == [1, 4, 7]
        assert ids(orders.rows({**first, "status": ("startswith", "sh")})) == [2, 5, 8]
        assert ids(orders.rows({**first, "total": ("le", Decimal(30))})) == [1, 2, 3]
        assert ids(orders.rows(first, order_by="-id", limit=3, offset=2)) == [7, 6, 5]
        assert ids(orders.rows(first, order_by=["status", "-id"], limit=4)) == [9, 6, 3, 7]
        assert orders.count({**first, "status": "paid"}) == 3
        (row,) = orders.rows({"id": 3})
        # Neither the hidden note nor the password; the secret-looking column the settings show.
        assert row == {"id": 3, "status": "paid", "total": Decimal(30), "api_key": "key-3"}
        for where, problem in (
            ({"password": "hunter2"}, "no column 'password'"),
            ({"note": ("is_null",)}, "no column 'note'"),
            ({"nope": 1}, "no column 'nope'"),
            ({"id": ("like", 1)}, "unknown operator 'like'"),
            ({"id": ("contains", "1")}, "contains needs a text column"),
            ({"id": ("in", 5)}, "takes a list of values"),
        ):
            with pytest.raises(ValueError, match=problem):
                orders.rows(where)
        with pytest.raises(ValueError, match=f"from 1 to {MAX_ROWS}"):
            orders.rows(limit=MAX_ROWS + 1)
        with pytest.raises(ValueError, match="no column 'password'"):
            orders.rows(order_by="password")
        assert len(orders.rows(limit=MAX_ROWS)) == 45
    finally:
        context.pop()


def test_a_viewers_own_write_is_refused_for_permission_also_inside_a_transaction(site):
    context = as_role(site, "viewer")
    try:
        orders = table_writer("orders", plugin="probe")
        with pytest.raises(WriteRefused) as refused:
            orders.insert({"id": 99, "status": "paid", "total": Decimal(1)})
        assert refused.value.reason == "permission" and isinstance(refused.value, WriteFailed)
        assert rows(url_of(site), "orders", "id")[-1][0] == 45
        with pytest.raises(WriteFailed, match="Permission denied"), transaction(reason="never"):
            orders.delete({"id": 1})
    finally:
        context.pop()


def test_an_older_state_database_gets_the_audit_logs_reason_column(tmp_path):
    import datetime as dt

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at DATETIME NOT NULL, username VARCHAR(150) NOT NULL,"
            " role VARCHAR(32) NOT NULL, action VARCHAR(32) NOT NULL, table_id VARCHAR(255), row_key TEXT,"
            " changes JSON, outcome VARCHAR(16) NOT NULL, message TEXT NOT NULL)"
        )
    engine.dispose()
    store = statedb.make_state_store(url)
    entry = {"at": dt.datetime.now(dt.UTC), "username": "u", "role": "admin", "action": "plugin", "outcome": "ok"}
    store.add_audit_entry({**entry, "message": "", "reason": "stocktaking"})
    assert [e["reason"] for e in store.audit_entries({}, offset=0, limit=5)] == ["stocktaking"]
    store.engine.dispose()


def test_a_transaction_writes_to_one_database_and_a_caught_failure_still_undoes_it(site):
    import copy

    from dashboard.db.records import RecordStore
    from dashboard.writes import TableWriter

    context = as_role(site, "admin")
    other = sa.create_engine(url_of(site))
    try:
        orders = table_writer("orders", plugin="probe")
        # The same table through another engine, as a writer kept from another app would be.
        view = copy.copy(site.state.views["orders"])
        view.store = RecordStore(other, view.info)
        stray = TableWriter(view, "probe")
        with pytest.raises(WriteRefused, match="a transaction writes to one database"), transaction():
            orders.update({"id": 44}, {"status": "paid"})
            stray.update({"id": 45}, {"status": "paid"})
        with pytest.raises(WriteFailed) as failed, transaction(reason="caught"):
            orders.update({"id": 44}, {"status": "paid"})
            try:
                orders.update({"id": 45}, {"total": Decimal(-1)})
            except WriteFailed:
                pass  # caught: the transaction is undone all the same, and says so on leaving
        assert failed.value.reason == "constraint" and failed.value.constraint == "orders_total_positive"
        assert (failed.value.table, failed.value.row, failed.value.column) == ("orders", "45", None)
        assert [order(site, 44)[0], order(site, 45)[0]] == ["shipped", "paid"]
        assert all(e["outcome"] == "failed" for e in entries(site, "orders", "44"))
        # A single write takes a reason too.
        assert orders.update({"id": 43}, {"status": "paid"}, reason="stocktaking") == 1
        assert [(e["outcome"], e["reason"]) for e in entries(site, "orders", "43")] == [("ok", "stocktaking")]
    finally:
        context.pop()
        other.dispose()


def test_a_write_to_a_database_that_cannot_be_reached_is_write_gone(site, tmp_path):
    import copy

    from werkzeug.exceptions import HTTPException

    from dashboard.db.records import RecordStore
    from dashboard.writes import TableWriter, WriteGone

    context = as_role(site, "admin")
    lost = sa.create_engine(f"sqlite:///{tmp_path / 'no such folder' / 'gone.db'}")
    try:
        view = copy.copy(site.state.views["orders"])
        view.store = RecordStore(lost, view.info)
        with pytest.raises(WriteGone) as gone:
            TableWriter(view, "probe").update({"id": 45}, {"status": "paid"})
        # A WriteFailed to the plugin; left uncaught, the dashboard's 503 "not reachable" page.
        assert gone.value.reason == "gone" and isinstance(gone.value, WriteFailed)
        assert isinstance(gone.value, HTTPException) and gone.value.code == 503
        assert "not reachable" in gone.value.message
    finally:
        context.pop()
        lost.dispose()


def test_a_write_failing_in_a_pages_context_shows_its_reason_in_the_frame(site):
    response = site.get("/admin/-/pages/gone/")
    assert response.status_code == 409  # reason "conflict": the row is not there
    text = response.get_data(as_text=True)
    assert error_panels(text) == ["Row 999 was not deleted: no row has this key any more"]
    assert error_details(text) == []  # a refusal, not a crash: no traceback
