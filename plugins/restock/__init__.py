"""Restock: a small page with a form that adds stock to a product, through the dashboard.

The write goes through ``dashboard.writes``: it needs an operator allowed to edit
``products``, is refused in read-only mode, lands in the audit log, and the products
list and charts show the new stock at once. Active on the demo shop database only.
"""

from flask import flash
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from dashboard.hookspecs import hookimpl
from dashboard.i18n import gettext
from dashboard.i18n import lazy_gettext as _
from dashboard.pages import Page
from dashboard.writes import served_tables, table_writer


class RestockForm(FlaskForm):
    sku = StringField(_("SKU"), validators=[DataRequired(), Length(max=32)])
    quantity = IntegerField(_("Quantity to add"), validators=[DataRequired(), NumberRange(min=1, max=10_000)])


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
