"""A table's Import in a real Chromium, on the demo shop served by ``dashboard serve``: the
list's Import link, an upload sent by static/import.js (with its progress bar), a preview
listing a refused value, then a good file written and the list saying how many rows came in;
no console error or CSP violation on the way. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from tests.browser import require_browser
from tests.test_e2e import _serve, logged_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    """The demo shop on SQLite, served; yields the base URL."""
    require_browser()
    instance: Path = tmp_path_factory.mktemp("instance")
    with _serve(instance) as base:
        yield base


def _csv(rows: list[str]) -> dict[str, t.Any]:
    body = "SKU,Name,Category,Price,Stock\n" + "".join(f"{row}\n" for row in rows)
    return {"name": "products.csv", "mimeType": "text/csv", "buffer": body.encode()}


def test_import_uploads_previews_and_writes(chromium: t.Any, served: str) -> None:
    with logged_in(chromium, served) as operator:
        page = operator.page
        operator.go("/admin/products/")
        operator.through(lambda: page.click("a.nav-link:text-is('Import')"))
        page.set_input_files("#import-file", _csv(["E2E-1,First,tools,1.50,3", "E2E-2,Second,tools,lots,4"]))
        operator.through(lambda: page.click("#dashboard-import-upload button[type=submit]"))
        assert "upload=" in page.url
        assert page.locator(".dashboard-import-error-list li").all_inner_texts() == ["Row 2, price: Enter a number."]
        assert page.locator(".dashboard-import-write").count() == 0
        assert page.locator("select[name=map-3]").input_value() == "price"
        operator.shot("import-preview-refused")

        operator.go("/admin/products/import/")
        page.set_input_files("#import-file", _csv(["E2E-1,First,tools,1.50,3", "E2E-2,Second,tools,2.25,4"]))
        operator.through(lambda: page.click("#dashboard-import-upload button[type=submit]"))
        assert page.locator(".dashboard-import-error-list").count() == 0
        operator.shot("import-preview")
        operator.through(lambda: page.click(".dashboard-import-write"))
        assert page.url.rstrip("/").endswith("/admin/products")
        assert "Imported products.csv: 2 rows inserted, 0 rows updated." in page.locator(".alert-success").inner_text()
        operator.go("/admin/products/?search=E2E-")
        assert page.locator("td.col-sku").all_inner_texts() == ["E2E-1", "E2E-2"]
        operator.shot("import-done")
