"""Per-plugin settings: ``[plugins.<name>]`` in the settings file, ``DASHBOARD_PLUGINS__<NAME>__<KEY>``
in the environment, read by the plugin through ``dashboard.pages.plugin_settings`` and ``Page.settings``.

Settings are not database-facing: one SQLite site (built with the public ``dashboard.testing``)
serves the module.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from click.testing import CliRunner

from dashboard.cli import main
from dashboard.settings import ConfigError, plugin_settings_from_environment
from dashboard.testing import DashboardSite, build_site
from tests.plugin_kit import write_plugin

GREETER = """
from flask import current_app

from dashboard.hookspecs import hookimpl
from dashboard.pages import ALL_ROLES, Page, plugin_settings


class Greeter(Page):
    title = "Greeter"
    roles = ALL_ROLES
    template = "greeter/page.html"

    def context(self):
        try:
            self.settings["greeting"] = "changed"
            writable = "writable"
        except TypeError:
            writable = "read-only"
        return {
            "greeting": self.settings.get("greeting", "no greeting"),
            "low": self.settings["limits"]["low"],
            "tags": ",".join(self.settings["tags"]),
            "writable": writable,
            "at_startup": current_app.extensions["greeter_seen"],
            "others": len(plugin_settings("nobody")),
        }


@hookimpl
def register_pages():
    return [Greeter]


@hookimpl
def startup(app):
    app.extensions["greeter_seen"] = plugin_settings("greeter", app).get("greeting")
"""
PAGE = """
{% extends "dashboard/page.html" %}
{% block page_content %}
<p id="greeting">{{ greeting }}|{{ low }}|{{ tags }}|{{ writable }}|{{ at_startup }}|{{ others }}</p>
{% endblock %}
"""
CONFIG = """
[plugins.greeter]
greeting = "Hello from the file"
tags = ["a", "b"]
api_key = "s3cret-plugin-value"

[plugins.greeter.limits]
low = 3

[plugins.gretter]
api_key = "another-s3cret-value"
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("plugin-settings")
    write_plugin(base / "plugins", "greeter", GREETER, {"templates/greeter/page.html": PAGE})
    (base / "settings.toml").write_text(CONFIG)
    return base


@pytest.fixture(scope="module")
def site(folder: Path) -> t.Iterator[DashboardSite]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DASHBOARD_PLUGINS__GREETER__GREETING", "Hello from the environment")
        built = build_site(folder / "site", plugins=folder / "plugins", config_file=folder / "settings.toml")
    yield built
    built.close()


def test_a_page_reads_its_plugins_settings_read_only_in_requests_and_at_start_up(site: DashboardSite) -> None:
    """The environment wins over the file; nested tables and lists come through; nothing can
    change them; another plugin's name with no table reads as empty."""
    page = site.client("viewer").text(site.page_url("greeter"))
    assert '<p id="greeting">Hello from the environment|3|a,b|read-only|Hello from the environment|0</p>' in page, page


def test_a_table_for_no_plugin_is_a_problem_shown_without_its_values(site: DashboardSite, folder: Path) -> None:
    """A typo in ``[plugins.<name>]`` is listed on the Plugins page and by ``dashboard plugins``;
    the site serves anyway, and no plugin setting's value is shown in either."""
    plugins_page = site.client("admin").text(site.page_url("plugins"))
    assert "no plugin is called &#39;gretter&#39;" in plugins_page
    result = CliRunner().invoke(
        main,
        ["plugins", site.database_url, "--plugins", str(folder / "plugins"), "--config", str(folder / "settings.toml")],
        env={"DASHBOARD_INSTANCE_PATH": str(folder / "cli-instance")},
    )
    assert result.exit_code == 1, result.output
    assert "gretter · settings: the settings file has a [plugins.gretter] table, but no plugin is called" in (
        result.output
    )
    assert "greeter · settings" not in result.output
    for shown in (plugins_page, result.output):
        assert "s3cret" not in shown and "Hello from the file" not in shown


def test_settings_for_a_disabled_plugin_are_no_problem(tmp_path: Path) -> None:
    site = build_site(
        tmp_path,
        sql="CREATE TABLE t (id INTEGER PRIMARY KEY);",
        settings={"DISABLED_PLUGINS": ["restock"], "PLUGINS": {"restock": {"low": 1}, "overview": {"x": 1}}},
    )
    try:
        assert "settings" not in site.client("admin").text(site.page_url("plugins"))
    finally:
        site.close()


@pytest.mark.parametrize("plugins", [{"greeter": 5}, ["greeter"], "greeter"])
def test_plugins_that_is_not_a_table_of_tables_stops_start_up_with_the_reason(tmp_path: Path, plugins: t.Any) -> None:
    with pytest.raises(ConfigError, match=r"one table of settings per plugin: \[plugins.<name>\]"):
        build_site(tmp_path, sql="CREATE TABLE t (id INTEGER PRIMARY KEY);", settings={"PLUGINS": plugins})


def test_the_cli_refuses_a_malformed_plugins_table_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[plugins]\ngreeter = 5\n")
    result = CliRunner().invoke(
        main,
        ["plugins", "sqlite:///" + str(tmp_path / "none.db"), "--config", str(tmp_path / "bad.toml")],
        env={"DASHBOARD_INSTANCE_PATH": str(tmp_path / "instance")},
    )
    assert result.exit_code == 2
    assert "error: PLUGINS must hold one table of settings per plugin" in result.output


def test_the_environment_makes_tables_lower_cases_names_and_reads_json() -> None:
    """``DASHBOARD_PLUGINS__<NAME>__<KEY>`` needs no table in the file; a value that is not JSON stays text."""
    merged = plugin_settings_from_environment(
        {"restock": {"low_stock": 5, "keep": "yes"}},
        {
            "DASHBOARD_PLUGINS__RESTOCK__LOW_STOCK": "3",
            "DASHBOARD_PLUGINS__NEW_ONE__SUPPLIER__URL": "https://supplier.example.com",
            "DASHBOARD_PLUGINS__NEW_ONE__TAGS": '["a", "b"]',
            "DASHBOARD_TABLES__ORDERS__LABEL": "not a plugin setting",
        },
    )
    assert merged == {
        "restock": {"low_stock": 3, "keep": "yes"},
        "new_one": {"supplier": {"url": "https://supplier.example.com"}, "tags": ["a", "b"]},
    }
