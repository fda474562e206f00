"""Restock: add stock to a product, through the dashboard.

Two ways in: a "Restock" button on each product (its details page and its row in the
list: a row action), which asks the quantity and a reason, and a page of its own with a
form by SKU and the products lowest in stock. Either write goes through
``dashboard.writes``: it needs an operator allowed to edit ``products`` (viewers never see
the button), is refused in read-only mode, lands in the audit log (with the reason), and
the products list and charts show the new stock at once. Active on the demo shop database
only.
"""

from flask import flash
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from dashboard.hookspecs import hookimpl
from dashboard.i18n import gettext
from dashboard.i18n import lazy_gettext as _
from dashboard.pages import Page, RowAction
from dashboard.writes import served_tables, table_writer


class RestockForm(FlaskForm):
    sku = StringField(_("SKU"), validators=[DataRequired(), Length(max=32)])
    quantity = IntegerField(_("Quantity to add"), validators=[DataRequired(), NumberRange(min=1, max=10_000)])


class RestockRowForm(FlaskForm):
    """What the row action asks before it writes: the product is the row's."""

    # InputRequired, not DataRequired: 0 is an answer, which NumberRange refuses by name.
    quantity = IntegerField(_("Quantity to add"), validators=[InputRequired(), NumberRange(min=1, max=10_000)])
    reason = StringField(_("Reason"), validators=[DataRequired(), Length(max=200)])


def restock_row(row, writer, form):
    """The row action: add ``form.quantity`` to the product's stock, the reason in the audit log."""
    stock = row["stock"] + form.quantity.data
    writer.update(row, {"stock": stock}, reason=form.reason.data.strip())
    return gettext("%(name)s: stock is now %(stock)s.", name=row["name"], stock=stock)


class Restock(Page):
    """Add stock to a product by its SKU."""

    title = _("Restock")
    slug = "restock"
    roles = ("editor",)  # and administrators; viewers may not open it
    template = "restock/page.html"

    def context(self, form=None):
        products = table_writer("products", plugin="restock")
        low_stock = products.rows(order_by="stock", limit=5)
        return {
            "form": form or RestockForm(),
            "can_write": products.allowed("edit"),
            "low_stock": [(product, products.details_url(product)) for product in low_stock],
            "products_url": products.list_url(),
        }

    def post(self):
        form = RestockForm()
        if not form.validate_on_submit():
            return self.render(self.template, **self.context(form)), 400
        products = table_writer("products", plugin="restock")
        found = products.rows({"sku": form.sku.data.strip()}, limit=1)
        if not found:
            form.sku.errors.append(gettext("No product has this SKU."))
            return self.render(self.template, **self.context(form)), 400
        product = found[0]
        products.update(product, {"stock": product["stock"] + form.quantity.data})
        flash(
            gettext(
                "%(name)s: stock is now %(stock)s.", name=product["name"], stock=product["stock"] + form.quantity.data
            ),
            "success",
        )
        return None  # back to the page (post/redirect/get)


@hookimpl
def register_pages(app):
    return [Restock] if "products" in served_tables(app) else []


@hookimpl
def table_actions(table):
    if table.name != "products" or "stock" not in {column.name for column in table.columns}:
        return None
    # Offered to whoever may edit products (editors and administrators), unless read-only.
    return [RowAction(name="restock", label=_("Restock"), run=restock_row, form=RestockRowForm)]
