"""``dashboard.testing``, the public pytest plugin for plugin authors' tests, used as
plugins/README.md ("Testing a plugin") shows: the restock example on the demo shop of each
dialect, with operators of every role."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.testing import DashboardSite, build_site, dashboard_site  # noqa: F401 -- the fixture
from tests.plugin_kit import write_plugin

RESTOCK = Path(__file__).resolve().parent.parent / "plugins" / "restock"


def test_editors_restock_viewers_may_not_and_the_row_changes(dashboard_site, demo_url: str) -> None:  # noqa: F811
    site = dashboard_site(plugin=RESTOCK, database_url=demo_url)
    product = site.table_rows("products")[0]
    editor = site.client("editor")
    assert "Restock" in editor.text(site.page_url("restock"))
    response = editor.post(site.page_url("restock"), {"sku": product["sku"], "quantity": "3"}, follow_redirects=True)
    assert response.status_code == 200
    assert f"{product['name']}: stock is now {product['stock'] + 3}." in editor.messages(response)
    assert site.table_rows("products")[0]["stock"] == product["stock"] + 3
    assert site.client("viewer").get(site.page_url("restock")).status_code == 403
    assert site.anonymous().get(site.page_url("restock")).status_code == 302  # to the login page


def test_only_the_plugin_given_is_loaded_and_a_post_without_its_token_is_refused(tmp_path: Path) -> None:
    site = build_site(tmp_path, plugin=RESTOCK, settings={"DISABLED_PLUGINS": ["overview"]})
    try:
        loaded = site.app.extensions["dashboard_plugins"].plugins
        assert [plugin.name for plugin in loaded if plugin.source == "folder"] == ["restock"]
        admin = site.client("admin")
        refused = admin.flask_client.post(site.page_url("restock"), data={"sku": "x", "quantity": "1"})
        assert refused.status_code == 400
    finally:
        site.close()


def test_wrong_arguments_are_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="give plugin or plugins, not both"):
        build_site(tmp_path / "a", plugin=RESTOCK, plugins=RESTOCK.parent)
    with pytest.raises(ValueError, match="is not a plugin package"):
        build_site(tmp_path / "b", plugin=tmp_path)
    with pytest.raises(ValueError, match="give database_url or sql, not both"):
        build_site(tmp_path / "c", database_url="sqlite://", sql="SELECT 1")


def test_a_site_of_its_own_per_call(dashboard_site) -> None:  # noqa: F811
    first: DashboardSite = dashboard_site(sql="CREATE TABLE a (id INTEGER PRIMARY KEY);")
    second: DashboardSite = dashboard_site(sql="CREATE TABLE b (id INTEGER PRIMARY KEY);")
    assert first.database_url != second.database_url
    assert "/admin/a/" in first.client().text("/admin/")
    assert "/admin/b/" not in first.client().text("/admin/")


BROKEN = """
from dashboard.hookspecs import hookimpl
from dashboard.pages import ALL_ROLES, Page


class Broken(Page):
    roles = ALL_ROLES

    def context(self):
        raise RuntimeError("the plugin's own bug")


@hookimpl
def register_pages():
    return [Broken]
"""


def test_a_page_that_fails_names_the_plugins_problem_in_the_tests_failure(dashboard_site, tmp_path: Path) -> None:  # noqa: F811
    write_plugin(tmp_path / "plugins", "broken", BROKEN)
    site = dashboard_site(plugins=tmp_path / "plugins", sql="CREATE TABLE t (id INTEGER PRIMARY KEY);")
    assert site.problems() == []
    with pytest.raises(
        AssertionError, match=r"answered 500\n  broken · page broken: RuntimeError: the plugin's own bug"
    ):
        site.client("viewer").text(site.page_url("broken"))
    assert site.problems() == ["broken · page broken: RuntimeError: the plugin's own bug"]
