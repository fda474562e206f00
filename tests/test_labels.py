"""Labels of the reflected database per language, from the config, and the starter file."""

from __future__ import annotations

import html
import tomllib

import pytest
from click.testing import CliRunner
from markupsafe import escape

from dashboard.cli import main
from dashboard.settings import ConfigError
from dashboard.site_state import current_site
from dashboard.web.labels import LocalizedLabel, TranslatedLabel
from tests import schemas
from tests.apps import logged_in, make_app

LABELS = {
    "parent": {
        "label": "Parents",
        "labels": {"de": "Eltern", "pt-BR": "Pais", "ar": "الآباء"},
        "columns": {"name": {"labels": {"de": "Bezeichnung", "fr": "Désignation"}}},
    },
}


@pytest.fixture
def app(small_database_url, tmp_path):
    app = make_app(small_database_url, tmp_path / "instance", TABLES=LABELS)
    yield app
    current_site(app).engine.dispose()


def _page(client, url: str, language: str) -> str:
    response = client.get(url, headers={"Accept-Language": language})
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_table_and_column_labels_follow_the_operators_language(app) -> None:
    client = logged_in(app)
    german = _page(client, "/admin/parent/", "de")
    assert "<title>Tabellen - Eltern - dashboard</title>" in german and "Bezeichnung" in german
    assert "Eltern" in _page(client, "/admin/", "de")  # the home page's list of tables
    assert "Pais" in _page(client, "/admin/parent/", "pt-BR")
    french = _page(client, "/admin/parent/edit/?id=1", "fr")
    assert "Désignation" in french and "Parents" in french  # no French table label: the default one
    english = _page(client, "/admin/parent/", "en")
    assert "Parents" in english and "Bezeichnung" not in english and ">name<" in english.replace(" ", "")
    export = client.get("/admin/parent/export/csv/", headers={"Accept-Language": "de"})
    assert export.get_data(as_text=True).splitlines()[0] == "id,Bezeichnung"


def test_a_label_equals_what_hashes_like_it_in_every_language(app) -> None:
    """Equal objects hash alike, whatever language the request asks for."""
    label = LocalizedLabel("parent", {"de": "Eltern"})
    for language in ("de", "en"):
        with app.test_request_context("/", headers={"Accept-Language": language}):
            others: list[object] = [
                "parent",
                "Eltern",
                LocalizedLabel("parent", {"de": "Eltern"}),
                LocalizedLabel("parent"),
                TranslatedLabel("parent"),
            ]
            for other in others:
                assert label != other or hash(label) == hash(other), (language, other)
            assert [o for o in others if o == label] == ["parent", others[2]]
            assert {label: 1}.get("parent") == 1 and {label: 1}.get("Eltern") is None
            assert str(label) == ("Eltern" if language == "de" else "parent")


def test_labels_in_a_language_that_is_not_shipped_stop_start_up(small_database_url, tmp_path) -> None:
    tables = {"parent": {"labels": {"tlh": "yoS"}}}
    with pytest.raises(ConfigError, match=r"TABLES.parent.labels: unknown language 'tlh'"):
        make_app(small_database_url, tmp_path / "instance", TABLES=tables)
    tables = {"parent": {"columns": {"name": {"labels": {"de": 3}}}}}
    with pytest.raises(ConfigError, match=r"TABLES.parent.columns.name.labels.de must be a text"):
        make_app(small_database_url, tmp_path / "instance2", TABLES=tables)


def test_a_hostile_label_is_escaped(small_database_url, tmp_path) -> None:
    tables = {"parent": {"labels": {"de": schemas.XSS_NAME}, "columns": {"name": {"labels": {"de": schemas.XSS_NAME}}}}}
    app = make_app(small_database_url, tmp_path / "instance", TABLES=tables)
    client = logged_in(app)
    for url in ("/admin/", "/admin/parent/", "/admin/parent/edit/?id=1", "/admin/parent/details/?id=1"):
        page = client.get(url, headers={"Accept-Language": "de"}).get_data(as_text=True)
        assert schemas.XSS_NAME not in page and str(escape(schemas.XSS_NAME)) in page, url
    current_site(app).engine.dispose()


def test_the_starter_file_labels_every_table_and_column_and_is_valid_toml(hostile_database_url, tmp_path) -> None:
    config = tmp_path / "labels.toml"
    config.write_text('[tables.customers.labels]\nde = "Kundschaft"\n', encoding="utf-8")
    other = schemas.other_schema_name(hostile_database_url)
    result = CliRunner(env={"LANGUAGE": "de"}).invoke(
        main,
        [
            "translations",
            "labels",
            hostile_database_url,
            "--locale",
            "de-DE",
            "--config",
            str(config),
            *(["--schema", other] if other else []),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Bezeichnungen auf Deutsch (de)")
    labels = tomllib.loads(result.output)["tables"]
    assert labels["customers"]["labels"] == {"de": "Kundschaft"}  # configured: kept
    from dashboard.db.engine import make_engine
    from dashboard.db.reflection import reflect_schema

    engine = make_engine(hostile_database_url)
    try:
        reflected = reflect_schema(engine, [other] if other else [])
    finally:
        engine.dispose()
    for info in reflected.tables:
        entry = labels[info.endpoint]
        if info.endpoint != "customers":
            assert entry["labels"] == {"de": info.name}
        assert {name: column["labels"]["de"] for name, column in entry["columns"].items()} == {
            column.name: column.name for column in info.columns
        }
    # The file works as it is: every label is accepted by the dashboard.
    app = make_app(hostile_database_url, tmp_path / "instance", TABLES=labels, SCHEMAS=[other] if other else [])
    current_site(app).engine.dispose()


def test_the_starter_file_refuses_an_unknown_language(small_database_url) -> None:
    result = CliRunner(env={"LANGUAGE": "en"}).invoke(
        main, ["translations", "labels", small_database_url, "--locale", "tlh"]
    )
    assert result.exit_code == 2 and "unknown language 'tlh'" in result.output
