"""An export stops at ``EXPORT_MAX_ROWS`` and says so: in the file's last line and beside the button."""

from __future__ import annotations

import csv
import io
import typing as t

from tests.checklist import filter_arg
from tests.site import Site, make_site, rows


def _export(site: Site, table: str, query: str = "") -> list[list[str]]:
    response = site.get(site.url(table, "export/csv") + query)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _site(demo_url: str, tmp_path: t.Any, limit: int) -> Site:
    return make_site(demo_url, tmp_path / f"instance-{limit}", EXPORT_MAX_ROWS=limit)


def test_an_export_cut_at_the_limit_says_so_in_its_last_line(demo_url, tmp_path):
    site = _site(demo_url, tmp_path, limit=10)
    try:
        lines = _export(site, "orders", "?sort=0")
        header, rows, last = lines[0], lines[1:-1], lines[-1]
        assert header[:3] == ["id", "customer_id", "status"]
        assert [row[0] for row in rows] == [str(n) for n in range(1, 11)]
        assert last == [
            "Export cut at 10 rows (the EXPORT_MAX_ROWS setting): more rows match. "
            "Narrow it with a search or a filter to export the rest."
        ]
        # The list page says it beside the export button: the demo has 50 orders.
        page = site.text(site.url("orders"))
        assert "An export writes the first 10 rows only." in page
        assert page.index("dashboard-export-limit") < page.index("<table")
    finally:
        site.state.engine.dispose()


def test_an_export_of_exactly_the_limit_or_fewer_rows_is_not_cut(demo_url, tmp_path):
    cancelled = sorted(row[0] for row in rows(demo_url, "orders") if row[2] == "cancelled")
    assert 0 < len(cancelled) < 50
    site = _site(demo_url, tmp_path, limit=len(cancelled))
    try:
        # Exactly the limit: every row, no notice.
        narrowed = _export(site, "orders", f"?{filter_arg(site, 'orders', 'status', 'equals')}=cancelled")
        assert sorted(int(row[0]) for row in narrowed[1:]) == cancelled
        assert not any("EXPORT_MAX_ROWS" in cell for row in narrowed for cell in row)
        # The whole table is more than the limit: cut, and said so.
        whole = _export(site, "orders")
        assert len(whole) == 1 + len(cancelled) + 1 and "EXPORT_MAX_ROWS" in whole[-1][0]
    finally:
        site.state.engine.dispose()
    site = _site(demo_url, tmp_path, limit=50)  # the demo has exactly 50 orders
    try:
        lines = _export(site, "orders")
        assert sorted(int(row[0]) for row in lines[1:]) == list(range(1, 51))
        assert "dashboard-export-limit" not in site.text(site.url("orders"))
    finally:
        site.state.engine.dispose()
