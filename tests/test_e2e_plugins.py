"""Plugins in a real Chromium, as a new plugin author tries them: the examples copied under a new
name into a plugins folder, ``dashboard serve --plugins DIR`` on the demo, and the charts drawn
under the strict Content-Security-Policy, with a hostile label that must stay text."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa

from tests.browser import require_browser
from tests.plugin_kit import copy_examples_with_team_sales
from tests.test_e2e import Operator, logged_in, prepare_demo, serve

pytestmark = pytest.mark.e2e

HOSTILE = '<img src=x onerror="window.__xss=1">'


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    """The demo served with a copy of the example plugins plus ``team_sales``, copied from one."""
    require_browser()
    root = tmp_path_factory.mktemp("plugins-e2e")
    instance = root / "instance"
    instance.mkdir()
    prepare_demo(instance)
    engine = sa.create_engine(f"sqlite:///{instance / 'demo.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE products SET category = :c WHERE id = 1"), {"c": HOSTILE})
    engine.dispose()
    plugins = copy_examples_with_team_sales(root / "plugins")
    with serve(instance, "--plugins", str(plugins)) as base:
        yield base


@pytest.fixture
def operator(chromium: t.Any, served: str) -> t.Iterator[Operator]:
    with logged_in(chromium, served) as who:
        # The example pages ask nothing of the operator: a dialog would be a bug.
        who.page.on("dialog", lambda dialog: who.problems.append(f"dialog: {dialog.message}"))
        yield who


def drawn_charts(page: t.Any) -> list[dict[str, t.Any]]:
    """What Chart.js drew on each canvas of the page: its kind, labels and values."""
    return t.cast(
        list,
        page.evaluate("""() => Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => {
        const chart = window.Chart && window.Chart.getChart(c);
        return chart ? {kind: chart.config.type, labels: chart.data.labels, values: chart.data.datasets[0].data,
                        spec: JSON.parse(c.getAttribute('data-chart')), width: c.width}
                     : {missing: c.closest('figure').getAttribute('data-chart-name')};
    })"""),
    )


def test_copied_plugin_page_draws_its_charts(operator: Operator) -> None:
    page = operator.page
    operator.through(lambda: page.click("a.nav-link:has-text('Team sales')"))
    assert page.url.endswith("/admin/-/pages/team-sales/")
    charts = drawn_charts(page)
    assert len(charts) == 5 and all("missing" not in c for c in charts), charts
    # The best customers are named, not numbered (grouped by the orders' foreign key).
    best = next(c for c in charts if c["spec"]["title"] == "Top 10 customers by revenue")
    assert len(best["labels"]) == 10 and not any(str(label).isdigit() for label in best["labels"])
    for chart in charts:
        assert chart["labels"] == chart["spec"]["labels"] and chart["values"] == chart["spec"]["values"]
        assert chart["kind"] == {"bar": "bar", "line": "line", "pie": "pie"}[chart["spec"]["kind"]]
        assert chart["width"] > 100
    assert page.locator(".dashboard-chart-number").count() == 2
    operator.shot("plugin-team-sales")


def test_home_and_list_charts_are_drawn(operator: Operator) -> None:
    charts = drawn_charts(operator.page)
    assert len(charts) == 4 and all("missing" not in c for c in charts), charts
    assert all(sum(v for v in c["values"] if v) > 0 for c in charts)
    operator.shot("home-charts")
    operator.go("/admin/orders/")
    weekly = drawn_charts(operator.page)
    # The example's weekly chart, and its copy's.
    assert [(c["spec"]["title"], c["kind"]) for c in weekly] == [("Orders per week", "line")] * 2


def test_hostile_label_stays_text_in_tooltips_and_figures(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/-/pages/sales-overview/")
    figure = page.locator("figure[data-chart-name='sales.products_by_category']")
    figure.scroll_into_view_if_needed()
    canvas = figure.locator("canvas")
    box = canvas.bounding_box()
    assert box is not None
    chart = next(c for c in drawn_charts(page) if c["spec"]["title"] == "Products per category")
    index = chart["labels"].index(HOSTILE)
    # Hover the hostile bar so its tooltip (drawn on the canvas) shows.
    point = page.evaluate(
        "([i]) => { const c = window.Chart.getChart(document.querySelector("
        "\"figure[data-chart-name='sales.products_by_category'] canvas\"));"
        " const bar = c.getDatasetMeta(0).data[i]; return {x: bar.x, y: (bar.y + bar.base) / 2}; }",
        [index],
    )
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    chart_js = (
        "window.Chart.getChart(document.querySelector(\"figure[data-chart-name='sales.products_by_category'] canvas\"))"
    )
    page.wait_for_function(f"() => {chart_js}.tooltip.opacity > 0")
    tooltip = page.evaluate(f"() => {chart_js}.tooltip.title")
    assert tooltip == [HOSTILE]
    operator.shot("chart-tooltip-hostile-label")
    figure.locator("summary").click()
    assert figure.locator("table.dashboard-chart-data td", has_text=HOSTILE).count() == 1
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("figure img").count() == 0
    operator.settle()


def test_restock_form_writes_and_the_list_shows_it(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/-/pages/restock/")
    sku = page.locator("table.dashboard-low-stock td").first.inner_text()
    before = int(page.locator("table.dashboard-low-stock tr:has(td) td.text-right").first.inner_text())
    page.fill("#sku", sku)
    page.fill("#quantity", "25")
    operator.shot("restock-form")
    operator.through(lambda: page.click("form.dashboard-restock [type=submit]"))
    assert page.locator(".alert-success", has_text=f"stock is now {before + 25}").is_visible()
    operator.go(f"/admin/products/?search={sku}")
    assert page.locator("td.col-stock").first.inner_text().strip() == str(before + 25)


def test_restock_button_on_a_product_asks_quantity_and_reason(operator: Operator) -> None:
    """The restock example's row action: the button on a product's details page opens a form
    asking the quantity and a reason; the details page then shows the new stock."""
    page = operator.page
    operator.go("/admin/products/details/?id=2")
    before = int(page.locator("td", has_text="Stock").locator("xpath=following-sibling::td[1]").first.inner_text())
    operator.through(lambda: page.click("a.dashboard-row-action:has-text('Restock')"))
    assert "/admin/products/action/restock/" in page.url
    page.fill("input[name=quantity]", "12")
    page.fill("input[name=reason]", "delivery from the supplier")
    operator.shot("restock-row-action-form")
    operator.through(lambda: page.click("form.dashboard-action-form [type=submit]"))
    assert page.url.endswith("/admin/products/details/?id=2")
    assert page.locator(".alert-success", has_text=f"stock is now {before + 12}").is_visible()
