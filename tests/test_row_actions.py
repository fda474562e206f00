"""Plugins' row and table actions (dashboard.pages.RowAction, TableAction) and the lookup field
of plugin forms (LookupField): buttons shown by right and role, forms asked first, CSRF,
refusals shown on the form, crashes reported; on every dialect.

One site per module and dialect; each test writes to rows no other test reads.
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from dashboard import statedb
from tests.apps import csrf_token, logged_in
from tests.databases import make_database
from tests.plugin_kit import create_shop, error_panels, plugin_site, read_orders

ACTIONS = """
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from dashboard.hookspecs import hookimpl
from dashboard.pages import ALL_ROLES, LookupField, Page, RowAction, TableAction
from dashboard.writes import WriteRefused


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired()])


class StatusForm(FlaskForm):
    status = StringField("New status", validators=[DataRequired()])


class ProductForm(FlaskForm):
    product = LookupField("products", label="Product", validators=[DataRequired()])
    comment = StringField("Comment", validators=[DataRequired()])


def refund(row, writer, form):
    writer.update(row, {"status": "refunded", "note": form.reason.data})
    return f"Order {row['id']} refunded: {form.reason.data}"


def flag(row, writer, form):
    writer.update(row, {"note": "flagged"})
    return None


def explode(row, writer, form):
    raise RuntimeError("the refund service is down")


def refuse(row, writer, form):
    raise WriteRefused("Refunds are closed today.")


def break_total(row, writer, form):
    writer.update(row, {"total": None})


def pick(row, writer, form):
    writer.update(row, {"note": f"product {form.product.data}"})
    return f"Picked {form.product.data}"


def relabel(writer, form):
    rows = writer.rows({"status": "cancelled"})
    count = writer.update(rows, {"status": form.status.data})
    return f"{count} cancelled orders are now {form.status.data}"


class MoveForm(FlaskForm):
    move = LookupField("moves", validators=[DataRequired()])


def choose_move(writer, form):
    return f"Chose {sorted(form.move.data.items())}"


class Picker(Page):
    title = "Pick a product"
    roles = ALL_ROLES
    template = "acts/picker.html"

    def context(self):
        return {"form": ProductForm()}


@hookimpl
def register_pages():
    return [Picker]


@hookimpl
def table_actions(table):
    if table.name != "orders":
        return None
    return [
        RowAction(name="refund", label="Refund", run=refund, form=ReasonForm, roles=("editor",)),
        RowAction(name="flag", label="Flag", run=flag, confirmation="Flag this order?", on_list=False),
        RowAction(name="explode", label="Explode", run=explode, on_list=False),
        RowAction(name="refuse", label="Refuse", run=refuse, on_list=False),
        RowAction(name="break_total", label="Break total", run=break_total, on_list=False),
        RowAction(name="pick", label="Pick a product", run=pick, form=ProductForm, on_list=False),
        RowAction(name="peek", label="Peek", run=flag, permission="view", roles=("admin",)),
        TableAction(name="relabel", label="Relabel cancelled", run=relabel, form=StatusForm),
        TableAction(name="choose_move", label="Choose a move", run=choose_move, form=MoveForm, permission="view"),
        RowAction(name="Bad Name", label="Bad", run=flag),
    ]
"""


PICKER = """{% extends "dashboard/page.html" %}
{% block page_content %}<form method="POST">{{ form.product() }}</form>{% endblock %}
"""


@pytest.fixture(scope="module")
def shop(dialect, tmp_path_factory):
    with make_database(dialect) as url:
        create_shop(url)
        create_moves(url)
        site = plugin_site(
            url,
            tmp_path_factory.mktemp("actions"),
            {"acts": ACTIONS},
            role="editor",
            files={"acts": {"templates/acts/picker.html": PICKER}},
            TABLES={"products": {"roles": {"viewer": []}}},
        )
        site.viewer = logged_in(site.app, "viewer")
        site.admin = logged_in(site.app, "admin")
        yield site, url
        site.state.engine.dispose()


def create_moves(url):
    """``moves``: a table keyed by two text columns (warehouse, sku)."""
    moves = sa.Table(
        "moves",
        sa.MetaData(),
        sa.Column("warehouse", sa.String(20), primary_key=True),
        sa.Column("sku", sa.String(20), primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
    )
    engine = sa.create_engine(url)
    try:
        moves.create(engine)
        with engine.begin() as connection:
            connection.execute(
                moves.insert(),
                [
                    {"warehouse": "north", "sku": "A-1", "quantity": 5},
                    {"warehouse": "south", "sku": "A-1", "quantity": 2},
                ],
            )
    finally:
        engine.dispose()


def order(url, key):
    return next(row for row in read_orders(url) if row["id"] == key)


def test_a_row_action_with_a_reason_form_runs_for_an_editor(shop):
    site, url = shop
    details = site.text("/admin/orders/details/?id=1")
    button = '<a class="btn btn-sm btn-outline-primary dashboard-row-action" href="/admin/orders/action/refund/?id=1">'
    assert button + "Refund</a>" in details
    listing = site.text("/admin/orders/")
    assert 'href="action/refund/?id=1">Refund</a>' in listing and 'href="action/refund/?id=13">Refund</a>' in listing
    assert "action/flag/" not in listing  # on_list=False
    form = site.text("/admin/orders/action/refund/?id=1")
    assert re.search(r"<h4[^>]*>Refund: 1</h4>", form)
    assert '<label for="reason">Reason</label>' in form
    # An empty reason: the form again, with the field's error, and nothing written.
    empty = site.post("/admin/orders/action/refund/?id=1", {"reason": ""})
    assert empty.status_code == 422
    assert "This field is required." in empty.get_data(as_text=True)
    assert order(url, 1)["status"] == "paid"
    done = site.post("/admin/orders/action/refund/?id=1", {"reason": "damaged <box>"})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/orders/details/?id=1"
    page = site.client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Order 1 refunded: damaged &lt;box&gt;" in page
    assert (order(url, 1)["status"], order(url, 1)["note"]) == ("refunded", "damaged <box>")
    entry = statedb.get_store(site.app).audit_entries({})[0]
    assert (entry["action"], entry["table_id"], entry["row_key"], entry["message"]) == (
        "plugin",
        "orders",
        "1",
        "acts: edit",
    )


def test_a_viewer_sees_no_button_and_a_forged_post_is_refused(shop):
    site, url = shop
    assert "Refund" not in site.viewer.get("/admin/orders/details/?id=2").get_data(as_text=True)
    # The list page kept in the cache for the editor is not the viewer's (its key holds role and rights).
    assert "action/refund/?id=2" in site.text("/admin/orders/?search=pending")
    assert "action/refund/" not in site.viewer.get("/admin/orders/?search=pending").get_data(as_text=True)
    assert site.viewer.get("/admin/orders/action/refund/?id=2").status_code == 403
    token = csrf_token(site.viewer, "/admin/orders/details/?id=2")
    forged = site.viewer.post("/admin/orders/action/refund/?id=2", data={"reason": "mine", "csrf_token": token})
    assert forged.status_code == 403
    assert (order(url, 2)["status"], order(url, 2)["note"]) == ("pending", None)
    # The editor without the token of this session is refused too.
    assert site.client.post("/admin/orders/action/refund/?id=2", data={"reason": "x"}).status_code in (400, 403)
    assert order(url, 2)["status"] == "pending"
    # Roles narrow it: "peek" is for administrators only, although editors may view.
    assert "action/peek/" not in site.text("/admin/orders/")
    assert "action/peek/?id=2" in site.admin.get("/admin/orders/").get_data(as_text=True)
    # From a list row, a form-less action opens a page with its button, which posts it.
    confirm = site.admin.get("/admin/orders/action/peek/?id=2").get_data(as_text=True)
    assert '<button type="submit" class="btn btn-primary">Peek</button>' in confirm
    assert site.get("/admin/orders/action/peek/?id=2").status_code == 403


def test_a_form_less_row_action_posts_from_the_details_page(shop):
    site, url = shop
    details = site.text("/admin/orders/details/?id=3")
    assert 'data-dashboard-confirm="Flag this order?">Flag</button>' in details
    response = site.post("/admin/orders/action/flag/?id=3", {}, token_from="/admin/orders/details/?id=3")
    assert response.status_code == 302
    assert "Done." in site.client.get(response.headers["Location"]).get_data(as_text=True)
    assert order(url, 3)["note"] == "flagged"
    assert site.get("/admin/orders/action/flag/?id=999").status_code == 404
    assert site.get("/admin/orders/action/nope/?id=3").status_code == 404


def test_refusals_are_messages_on_the_form_and_a_crash_is_the_plugins_problem(shop):
    site, url = shop
    before = order(url, 4)
    refused = site.post("/admin/orders/action/refuse/?id=4", {}, token_from="/admin/orders/details/?id=4")
    assert refused.status_code == 422 and "Refunds are closed today." in refused.get_data(as_text=True)
    broken = site.post("/admin/orders/action/break_total/?id=4", {}, token_from="/admin/orders/details/?id=4")
    assert broken.status_code == 422
    assert "dashboard-action-refused" in broken.get_data(as_text=True)
    assert error_panels(broken.get_data(as_text=True)) == []
    crashed = site.post("/admin/orders/action/explode/?id=4", {}, token_from="/admin/orders/details/?id=4")
    page = crashed.get_data(as_text=True)
    assert crashed.status_code == 500
    assert error_panels(page) == [
        "This action could not be run: its plugin failed. The rest of the dashboard works as usual."
    ]
    assert "the refund service is down" not in page  # details for administrators only
    problems = [(p.plugin, p.part) for p in site.app.extensions["dashboard_plugins"].problems]
    assert ("acts", "action explode") in problems
    assert order(url, 4) == before
    assert site.get("/admin/orders/details/?id=4").status_code == 200


def test_a_table_action_asks_its_form_then_runs(shop):
    site, url = shop
    listing = site.text("/admin/orders/")
    assert '<a class="nav-link dashboard-table-action" href="action/relabel/">Relabel cancelled</a>' in listing
    assert "Relabel cancelled" not in site.viewer.get("/admin/orders/").get_data(as_text=True)
    token = csrf_token(site.viewer, "/admin/orders/")
    forged = site.viewer.post("/admin/orders/action/relabel/", data={"status": "mine", "csrf_token": token})
    assert forged.status_code == 403 and not [r for r in read_orders(url) if r["status"] == "mine"]
    form = site.text("/admin/orders/action/relabel/")
    assert '<label for="status">New status</label>' in form
    assert site.post("/admin/orders/action/relabel/", {"status": ""}).status_code == 422
    done = site.post("/admin/orders/action/relabel/", {"status": "void"})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/orders/"
    assert "2 cancelled orders are now void" in site.client.get("/admin/orders/").get_data(as_text=True)
    assert sorted(r["id"] for r in read_orders(url) if r["status"] == "void") == [5, 13]


def test_a_bad_action_is_a_problem_of_its_plugin(shop):
    site, _url = shop
    found = site.app.extensions["dashboard_plugins"]
    assert any(p.part == "table_actions" and "'Bad Name'" in p.message for p in found.problems)
    assert site.get("/admin/orders/action/Bad Name/?id=1").status_code == 404


def test_lookup_field_searches_the_table_and_rejects_an_unknown_key(shop):
    site, url = shop
    form = site.text("/admin/orders/action/pick/?id=6")
    field = re.search(r'<input[^>]*name="product"[^>]*>', form).group(0)
    assert 'data-role="select2-ajax"' in field and 'data-url="/admin/products/lookup/"' in field
    assert "select2" in form  # the lookup's scripts and styles
    found = json.loads(site.text("/admin/products/lookup/?query=anv"))
    assert found == [["1", "Anvil (1)"]]
    unknown = site.post("/admin/orders/action/pick/?id=6", {"product": "99", "comment": "c"})
    assert unknown.status_code == 422 and "No such row: choose one from the list." in unknown.get_data(as_text=True)
    assert site.post("/admin/orders/action/pick/?id=6", {"product": "x,y", "comment": "c"}).status_code == 422
    # A chosen row is shown with its label when the form comes back for another field.
    again = site.post("/admin/orders/action/pick/?id=6", {"product": "2", "comment": ""})
    assert again.status_code == 422 and 'data-json="[&#34;2&#34;, &#34;Bell (2)&#34;]"' in again.get_data(as_text=True)
    assert order(url, 6)["note"] is None
    picked = site.post("/admin/orders/action/pick/?id=6", {"product": "2", "comment": "c"})
    assert picked.status_code == 302
    assert order(url, 6)["note"] == "product 2"
    # Only tables the operator may view are searchable.
    assert site.viewer.get("/admin/products/lookup/?query=anv").status_code == 403


def test_lookup_field_on_a_plugin_page_loads_the_lookup_for_those_who_may_search(shop):
    site, _url = shop
    page = site.text("/admin/-/pages/picker/")
    field = re.search(r'<input[^>]*name="product"[^>]*>', page).group(0)
    assert 'data-url="/admin/products/lookup/"' in field
    assert "vendor/select2/select2.css" in page and "admin/js/form.js" in page
    # A viewer may not open products: the field searches nothing.
    hidden = site.viewer.get("/admin/-/pages/picker/").get_data(as_text=True)
    assert 'name="product"' in hidden and "/admin/products/lookup/" not in hidden


def test_lookup_field_gives_a_composite_key_as_a_dict(shop):
    site, _url = shop
    found = json.loads(site.text("/admin/moves/lookup/?query=south"))
    assert [key for key, _label in found] == ["south,A-1"]
    assert site.post("/admin/orders/action/choose_move/", {"move": "east,A-1"}).status_code == 422
    chosen = site.post("/admin/orders/action/choose_move/", {"move": "south,A-1"})
    assert chosen.status_code == 302
    assert "Chose [(&#39;sku&#39;, &#39;A-1&#39;), (&#39;warehouse&#39;, &#39;south&#39;)]" in site.text(
        "/admin/orders/"
    )
