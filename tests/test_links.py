"""Rows linked through an association table, on both sides' details pages, on every dialect."""

from __future__ import annotations

import html
import re

import pytest

from tests.apps import table_rows
from tests.site import Site, make_site


@pytest.fixture
def site(demo_site: Site) -> Site:
    return demo_site


def linked(page: str) -> dict[str, list[str]]:
    """Each "linked through" section of a details page: its title and the rows it lists."""
    sections = re.findall(r'<section class="dashboard-linked[^"]*">\s*<h5>(.*?)</h5>(.*?)</section>', page, re.S)
    return {
        html.unescape(title): [html.unescape(item) for item in re.findall(r"<li>\s*(.*?)\s*</li>", body, re.S)]
        for title, body in sections
    }


def _tag_names(url: str) -> dict[int, str]:
    return {row[0]: row[1] for row in table_rows(url, "tags")}


def test_a_product_lists_its_tags_and_a_tag_its_products(site, demo_url) -> None:
    links = table_rows(demo_url, "product_tags")
    product_id = links[0][0]
    names = _tag_names(demo_url)
    expected = sorted(f"{names[tag]} ({tag})" for product, tag in links if product == product_id)
    page = site.text(site.url("products", "details", str(product_id)))
    shown = linked(page)["tags, linked through product_tags"]
    assert sorted(re.sub(r"<[^>]+>", "", item) for item in shown) == expected
    assert f'href="/admin/tags/details/?id={links[0][1]}"' in page

    tag_id = links[0][1]
    other_side = linked(site.text(site.url("tags", "details", str(tag_id))))["products, linked through product_tags"]
    products_of_tag = {product for product, tag in links if tag == tag_id}
    assert len(other_side) == len(products_of_tag)
    assert all(re.search(rf"\(({'|'.join(map(str, products_of_tag))})\)</a>$", item) for item in other_side)


def test_add_a_link_opens_the_association_form_with_the_row_chosen_and_saves_it(site, demo_url) -> None:
    linked_pairs = set(table_rows(demo_url, "product_tags"))
    product_id = table_rows(demo_url, "products")[0][0]
    tag_id = next(tag for tag in _tag_names(demo_url) if (product_id, tag) not in linked_pairs)
    details = site.url("products", "details", str(product_id))
    add = re.search(r'href="([^"]*/admin/product_tags/new/[^"]*)"', site.text(details))
    assert add, "no 'Add a link' on the details page"
    form_url = html.unescape(add.group(1))
    values = site.form_values(form_url)
    assert values["product_id"] == str(product_id)  # chosen already
    values["tag_id"] = str(tag_id)
    response = site.post(form_url, values)
    assert response.status_code == 302
    assert (product_id, tag_id) in set(table_rows(demo_url, "product_tags"))
    # Back on the product, the new tag is listed at once (the write refreshed every listing).
    assert response.headers["Location"].endswith(details.split("/admin", 1)[1])
    shown = linked(site.text(details))["tags, linked through product_tags"]
    assert any(f"({tag_id})</a>" in item for item in shown)


@pytest.mark.parametrize("value", ["not-a-number", "1; DROP TABLE tags", ""])
def test_a_prefilled_value_that_does_not_parse_is_left_out(site, value) -> None:
    values = site.form_values(f"/admin/product_tags/new/?product_id={value}")
    assert values["product_id"] == ""


def test_a_viewer_sees_the_links_but_no_way_to_add_one(demo_url, tmp_path) -> None:
    viewer = make_site(demo_url, tmp_path, "viewer")
    try:
        product_id = table_rows(demo_url, "product_tags")[0][0]
        page = viewer.text(viewer.url("products", "details", str(product_id)))
        assert linked(page)["tags, linked through product_tags"]
        assert "/admin/product_tags/new/" not in page
    finally:
        viewer.state.engine.dispose()
