"""The interface in the operator's language, on every dialect: pages, choice of language, formats.

A small shop (``customers``, ``orders`` with a date, a datetime, a decimal and an integer,
plus a ``timestamptz`` on PostgreSQL) is served once per dialect; each test logs in its own
operator, who asks for a language with ``Accept-Language`` or the language menu.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
import typing as t
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from dashboard import i18n
from dashboard.settings import ConfigError
from dashboard.site_state import current_site
from tests.apps import csrf_token, logged_in, make_app
from tests.databases import make_database
from tests.site import form_values, rows

#: A few strings each page must show per language: the dashboard's own (home, list,
#: details, login) and Flask-Admin's (its "Add Filter" on the list, "Save" on the edit page),
#: with the list's numbers and dates in the locale's format. Written out, not read from the
#: catalogs, so a catalog that loses or garbles them fails here.
EXPECTED: dict[str, dict[str, str]] = {
    "en": {
        "home": "Every table and view of the database.",
        "list": "2 rows.",
        "details": "Rows that refer to this one",
        "login": "User name",
        "admin": "Add Filter",
        "save": "Save",
        "number": "1,234,567.50",
        "date": "Mar 1, 2024",
    },
    "de": {
        "home": "Alle Tabellen und Sichten der Datenbank.",
        "list": "2 Zeilen.",
        "details": "Zeilen, die auf diese verweisen",
        "login": "Benutzername",
        "admin": "Filter hinzufügen",
        "save": "Speichern",
        "number": "1.234.567,50",
        "date": "01.03.2024",
    },
    "fr": {
        "home": "Toutes les tables et vues de la base de données.",
        "list": "2 lignes.",
        "details": "Lignes qui font référence à celle-ci",
        "login": "Nom d’utilisateur",
        "admin": "Ajouter un filtre",
        "save": "Enregistrer",
        "number": "1\u202f234\u202f567,50",
        "date": "1 mars 2024",
    },
    "es": {
        "home": "Todas las tablas y vistas de la base de datos.",
        "list": "2 filas.",
        "details": "Filas que hacen referencia a esta",
        "login": "Nombre de usuario",
        "admin": "Añadir filtro",
        "save": "Salvar",
        "number": "1.234.567,50",
        "date": "1 mar 2024",
    },
    "pt_BR": {
        "home": "Todas as tabelas e visões do banco de dados.",
        "list": "2 linhas.",
        "details": "Linhas que fazem referência a esta",
        "login": "Nome de usuário",
        "admin": "Adicionar Filtro",
        "save": "Salvar",
        "number": "1.234.567,50",
        "date": "1 de mar. de 2024",
    },
    "it": {
        "home": "Tutte le tabelle e le viste del database.",
        "list": "2 righe.",
        "details": "Righe che fanno riferimento a questa",
        "login": "Nome utente",
        "admin": "Aggiungi filtro",
        "save": "Salva",
        "number": "1.234.567,50",
        "date": "1 mar 2024",
    },
    "nl": {
        "home": "Alle tabellen en views van de database.",
        "list": "2 rijen.",
        "details": "Rijen die naar deze verwijzen",
        "login": "Gebruikersnaam",
        "admin": "Filter toevoegen",
        "save": "Opslaan",
        "number": "1.234.567,50",
        "date": "1 mrt 2024",
    },
    "pl": {
        "home": "Wszystkie tabele i widoki bazy danych.",
        "list": "2 wiersze.",
        "details": "Wiersze wskazujące na ten",
        "login": "Nazwa użytkownika",
        "admin": "Dodaj filtr",
        "save": "Zapisz",
        "number": "1\xa0234\xa0567,50",
        "date": "1 mar 2024",
    },
    "ru": {
        "home": "Все таблицы и представления базы данных.",
        "list": "2 строки.",
        "details": "Строки, ссылающиеся на эту",
        "login": "Имя пользователя",
        "admin": "Добавить Фильтр",
        "save": "Сохранить",
        "number": "1\xa0234\xa0567,50",
        "date": "1 мар. 2024\u202fг.",
    },
    "zh_Hans_CN": {
        "home": "数据库中的所有表和视图。",
        "list": "2 行。",
        "details": "引用此行的行",
        "login": "用户名",
        "admin": "添加筛选器",
        "save": "保存",
        "number": "1,234,567.50",
        "date": "2024年3月1日",
    },
    "ja": {
        "home": "データベースのすべてのテーブルとビューです。",
        "list": "2 行。",
        "details": "この行を参照している行",
        "login": "ユーザー名",
        "admin": "フィルターを追加",
        "save": "保存",
        "number": "1,234,567.50",
        "date": "2024/03/01",
    },
    "ar": {
        "home": "كل جداول قاعدة البيانات وعروضها.",
        "list": "صفان.",
        "details": "الصفوف التي تشير إلى هذا الصف",
        "login": "اسم المستخدم",
        "admin": "إضافة تصفية",
        "save": "حفظ",
        "number": "1,234,567.50",
        "date": "01\u200f/03\u200f/2024",
    },
}
_users = itertools.count()


def _create_shop(url: str) -> None:
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    sa.Table(
        "customers",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(100), nullable=False),
    )
    columns = [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id")),
        sa.Column("placed_on", sa.Date),
        sa.Column("placed_at", sa.DateTime),
        sa.Column("total", sa.Numeric(12, 2)),
        sa.Column("quantity", sa.Integer),
        sa.Column("note", sa.String(200)),
    ]
    if engine.dialect.name == "postgresql":
        columns.append(sa.Column("paid_at", sa.DateTime(timezone=True)))
    orders = sa.Table("orders", metadata, *columns)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(metadata.tables["customers"].insert(), [{"id": 1, "name": "Ada"}])
            paid = {"paid_at": dt.datetime(2024, 3, 1, 14, 30, 5, tzinfo=dt.UTC)} if "paid_at" in orders.c else {}
            connection.execute(
                orders.insert(),
                [
                    {
                        "id": 1,
                        "customer_id": 1,
                        "placed_on": dt.date(2024, 3, 1),
                        "placed_at": dt.datetime(2024, 3, 1, 14, 30, 5),
                        "total": Decimal("1234567.50"),
                        "quantity": 12345,
                        "note": "first",
                        **paid,
                    },
                    {
                        "id": 2,
                        "customer_id": 1,
                        "placed_on": dt.date(2024, 12, 24),
                        "placed_at": dt.datetime(2024, 12, 24, 8, 5),
                        "total": Decimal("0.10"),
                        "quantity": 3,
                        "note": None,
                        **({"paid_at": None} if paid else {}),
                    },
                ],
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def shop_url(dialect: str) -> t.Iterator[str]:
    with make_database(dialect) as url:
        _create_shop(url)
        yield url


@pytest.fixture(scope="module")
def app(shop_url: str, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Flask]:
    app = make_app(shop_url, tmp_path_factory.mktemp("i18n"), BABEL_DEFAULT_TIMEZONE="Europe/Berlin")
    app.config["PROPAGATE_EXCEPTIONS"] = True  # a server error fails the test with its traceback
    yield app
    current_site(app).engine.dispose()


def operator(app: Flask, language: str | None = None, role: str = "admin") -> FlaskClient:
    """A newly logged-in operator whose browser asks for ``language``."""
    client = logged_in(app, role, username=f"{role}-{next(_users)}")
    if language is not None:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def page(client: FlaskClient, url: str, **kwargs: t.Any) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    return html.unescape(response.get_data(as_text=True))


def html_tag(text: str) -> str:
    found = re.search(r"<html[^>]*>", text)
    assert found, "no <html> tag"
    return found.group(0)


# -- every page in every language ------------------------------------------------------------


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_pages_come_out_in_each_language(app: Flask, locale: str) -> None:
    expected = EXPECTED[locale]
    client = operator(app, locale.replace("_", "-"))
    lang = f'lang="{locale.replace("_", "-")}"'
    home = page(client, "/admin/")
    listing = page(client, "/admin/orders/")
    details = page(client, "/admin/customers/details/?id=1")
    edit = page(client, "/admin/orders/edit/?id=1")
    login = page(app.test_client(), "/login", headers={"Accept-Language": locale.replace("_", "-")})
    for shown in (home, listing, details, edit, login):
        assert lang in html_tag(shown)
    assert expected["home"] in home
    assert expected["list"] in listing and expected["admin"] in listing
    assert expected["number"] in listing and expected["date"] in listing
    assert expected["details"] in details
    assert expected["save"] in edit
    assert expected["login"] in login


def test_arabic_pages_are_right_to_left_with_the_mirrored_stylesheet(app: Flask) -> None:
    arabic = operator(app, "ar")
    for url in ("/admin/", "/admin/orders/", "/admin/orders/edit/?id=1", "/admin/customers/details/?id=1"):
        shown = page(arabic, url)
        assert 'dir="rtl"' in html_tag(shown)
        assert "dashboard-rtl.css" in shown
    login = page(app.test_client(), "/login", headers={"Accept-Language": "ar"})
    assert 'dir="rtl"' in html_tag(login) and "dashboard-rtl.css" in login
    german = page(operator(app, "de"), "/admin/orders/")
    assert 'dir="ltr"' in html_tag(german) and "dashboard-rtl.css" not in german


# -- choosing the language -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("de-AT,de;q=0.9,en;q=0.5", "de"),
        ("sv, nl;q=0.8, fr;q=0.5", "nl"),
        ("pt-PT", "pt_BR"),
        ("zh-CN,zh;q=0.9", "zh_Hans_CN"),
        ("zh-TW, ja;q=0.5", "ja"),
        ("en-GB", "en"),
        ("fr;q=0, it", "it"),
    ],
)
def test_the_browser_language_picks_the_best_supported_one(app: Flask, header: str, locale: str) -> None:
    shown = page(operator(app, header), "/admin/")
    assert f'lang="{locale.replace("_", "-")}"' in html_tag(shown)
    assert EXPECTED[locale]["home"] in shown


@pytest.mark.parametrize(
    "header",
    [
        "xx",
        "*",
        "de;q=abc",
        "../../etc/passwd",
        "zh-TW",
        "x" * 300,
        "de;q=0",
        "en-",
        "-",
        "\u00e9\u00e9",
        "i-klingon",
        "de-DE-u-co-phonebk-x-private-" + "a" * 80,
    ],
)
def test_unknown_or_malformed_language_codes_fall_back_quietly(app: Flask, header: str) -> None:
    client = operator(app)
    response = client.get("/admin/orders/", headers={"Accept-Language": header})
    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    if header.startswith("de-DE"):
        assert 'lang="de"' in html_tag(shown)  # a long but valid tag still means German
    else:
        assert 'lang="en"' in html_tag(shown) and EXPECTED["en"]["list"] in shown


def test_an_unknown_code_posted_or_planted_in_the_session_falls_back(app: Flask) -> None:
    client = operator(app, "de")
    token = csrf_token(client, "/admin/")
    for code in ("klingon", "", "de\x00", "<script>", "x" * 500):
        response = client.post("/language", data={"locale": code, "next": "/admin/", "csrf_token": token})
        assert response.status_code == 302
        assert EXPECTED["de"]["home"] in page(client, "/admin/")  # the browser's language again
    with client.session_transaction() as session:
        session[i18n.SESSION_KEY] = ["not", "a", "code"]
    assert EXPECTED["de"]["home"] in page(client, "/admin/")


def test_the_chosen_language_wins_over_the_browser_and_outlives_logout(app: Flask) -> None:
    client = operator(app, "de")
    token = csrf_token(client, "/admin/orders/")
    menu = page(client, "/admin/orders/")
    # The navbar's menu lists every language named in itself (its buttons are made from this list).
    offered = json.loads(html.unescape(re.search(r"data-dashboard-languages='([^']*)'", menu).group(1)))
    assert 'action="/language"' in menu and ["fr", "Français"] in offered and ["ar", "العربية"] in offered
    response = client.post("/language", data={"locale": "fr", "next": "/admin/orders/?sort=1", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/orders/?sort=1"
    assert EXPECTED["fr"]["list"] in page(client, "/admin/orders/")
    logout = client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")}, follow_redirects=True)
    shown = html.unescape(logout.get_data(as_text=True))
    assert "Vous êtes déconnecté." in shown and EXPECTED["fr"]["login"] in shown


def test_language_can_be_chosen_on_the_login_page_before_logging_in(app: Flask) -> None:
    client = app.test_client()
    login = page(client, "/login")
    assert 'name="locale" value="ja"' in login
    response = client.post(
        "/language", data={"locale": "ja", "next": "/login", "csrf_token": csrf_token(client, "/login")}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert EXPECTED["ja"]["login"] in page(client, "/login")


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_the_language_menu_only_goes_back_to_this_site(app: Flask, target: str) -> None:
    client = operator(app)
    response = client.post("/language", data={"locale": "it", "next": target, "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert EXPECTED["it"]["home"] in page(client, "/admin/")


def test_the_language_menu_needs_the_csrf_token(app: Flask) -> None:
    client = operator(app, "de")
    response = client.post("/language", data={"locale": "ru", "next": "/admin/"})
    assert response.status_code == 400
    assert "Das CSRF-Token fehlt." in html.unescape(response.get_data(as_text=True))
    assert EXPECTED["de"]["home"] in page(client, "/admin/")


def test_the_configured_default_applies_when_nobody_asks(shop_url: str, tmp_path) -> None:
    app = make_app(shop_url, tmp_path, BABEL_DEFAULT_LOCALE="pl")
    try:
        assert EXPECTED["pl"]["home"] in page(operator(app), "/admin/")
        assert EXPECTED["en"]["home"] in page(operator(app, "en-US"), "/admin/")
    finally:
        current_site(app).engine.dispose()


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("BABEL_DEFAULT_LOCALE", "klingon", "BABEL_DEFAULT_LOCALE must be one of"),
        ("BABEL_DEFAULT_TIMEZONE", "Mars/Olympus", "BABEL_DEFAULT_TIMEZONE must be a time zone name"),
    ],
)
def test_an_unknown_default_language_or_zone_stops_start_up(
    small_database_url: str, tmp_path, setting: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        make_app(small_database_url, tmp_path, **{setting: value})


# -- formats -----------------------------------------------------------------------------------


def test_details_show_localized_values_and_keep_the_stored_text_at_hand(app: Flask) -> None:
    details = page(operator(app, "de"), "/admin/orders/details/?id=1")
    assert "1.234.567,50" in details and "12.345" in details
    assert "01.03.2024, 14:30:05" in details
    assert 'title="2024-03-01"' in details and 'title="2024-03-01 14:30:05"' in details


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)  # only timestamptz keeps a zone
def test_datetimes_with_a_zone_are_shown_in_the_configured_zone(app: Flask, dialect: str) -> None:
    details = page(operator(app, "de"), "/admin/orders/details/?id=1")
    assert "01.03.2024, 15:30:05 CET" in details  # 14:30:05 UTC, configured zone Europe/Berlin
    english = page(operator(app, "en"), "/admin/orders/details/?id=1")
    assert "Mar 1, 2024, 3:30:05\u202fPM CET" in english


def test_key_columns_are_not_grouped_like_quantities(app: Flask, shop_url: str) -> None:
    engine = sa.create_engine(shop_url)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO orders (id, customer_id, quantity) VALUES (10042, 1, 10042)"))
    client = operator(app, "de")
    try:
        details = page(client, "/admin/orders/details/?id=10042")
        assert re.search(r">\s*10042\s*<", details)  # the key, as stored
        assert "10.042" in details  # the quantity, grouped
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM orders WHERE id = 10042"))
        engine.dispose()


# -- forms keep the locale-neutral text ------------------------------------------------------


def test_a_german_edit_form_round_trips_every_unchanged_value_exactly(app: Flask, shop_url: str) -> None:
    client = operator(app, "de")
    before = {row[0]: row for row in rows(shop_url, "orders")}[2]
    edit_url = "/admin/orders/edit/?id=2"
    shown = page(client, edit_url)
    values = form_values(shown)
    assert values["total"] == "0.10" and values["placed_on"] == "2024-12-24"
    assert "Geben Sie einen Punkt als Dezimaltrennzeichen ein" in shown  # the hint, in German
    values["note"] = "geändert"
    assert client.post(edit_url, data=values).status_code == 302
    after = {row[0]: row for row in rows(shop_url, "orders")}[2]
    assert after[6] == "geändert"  # note
    assert after[:6] + after[7:] == before[:6] + before[7:]


def test_a_value_typed_the_local_way_is_refused_in_the_operators_language(app: Flask, shop_url: str) -> None:
    client = operator(app, "de")
    before = rows(shop_url, "orders")
    values = form_values(page(client, "/admin/orders/edit/?id=1"))
    values["total"] = "1.234,50"
    response = client.post("/admin/orders/edit/?id=1", data=values)
    assert response.status_code == 200
    assert "Geben Sie eine Zahl ein." in html.unescape(response.get_data(as_text=True))
    assert rows(shop_url, "orders") == before


def test_list_filters_and_messages_are_translated(app: Flask) -> None:
    client = operator(app, "ru")
    listing = page(client, "/admin/orders/")
    data = json.loads(re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', listing, re.DOTALL).group(1))
    # The filter bar's compact data (dashboard/web/filter_bar.py): each operation points at its
    # label in "l" and, 1-based in its fourth place, at its option list in "o".
    groups = {
        column: [
            {"operation": data["l"][op[1]], "options": data["o"][op[3] - 1] if len(op) > 3 and op[3] else None}
            for op in operations
        ]
        for column, operations in data["g"].items()
    }
    assert {f["operation"] for f in groups["note"]} >= {"содержит", "не содержит", "равно", "не равно", "пусто"}
    assert {f["operation"] for f in groups["total"]} >= {"больше", "меньше"}
    assert ["1", "Да"] in next(f["options"] for f in groups["note"] if f["operation"] == "пусто")
    assert "Поиск: note" in listing  # search placeholder
    assert "Таблицы" in listing  # the menu group


# -- plugins and the command line --------------------------------------------------------------


def test_a_plugins_catalog_joins_the_dashboards_underscore(small_database_url: str, tmp_path) -> None:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po
    from flask import render_template_string

    catalog = Catalog(locale="de")
    catalog.add("Reorder point", "Meldebestand")
    catalog.add("Refresh", "Erfrischen")  # also one of the dashboard's own messages
    folder = tmp_path / "translations"
    (folder / "de" / "LC_MESSAGES").mkdir(parents=True)
    with open(folder / "de" / "LC_MESSAGES" / "restock.po", "wb") as handle:
        write_po(handle, catalog)
    app = make_app(small_database_url, tmp_path / "instance")
    try:
        with app.test_request_context(headers={"Accept-Language": "de"}):
            assert i18n.gettext("Reorder point") == "Reorder point"
        i18n.register_translations(app, folder, "restock")
        with app.test_request_context(headers={"Accept-Language": "de"}):
            assert i18n.gettext("Reorder point") == "Meldebestand"
            assert render_template_string("{{ _('Reorder point') }}") == "Meldebestand"
            assert i18n.gettext("Refresh") == "Aktualisieren"  # the dashboard's translation wins
        with app.test_request_context(headers={"Accept-Language": "fr"}):
            assert i18n.gettext("Reorder point") == "Reorder point"  # no French catalog: the message itself
    finally:
        current_site(app).engine.dispose()


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"LANG": "de_DE.UTF-8"}, "Fehler: keine SQLite-Datenbankdatei unter"),
        ({"LANG": "C.UTF-8", "LANGUAGE": "sv:ar"}, "خطأ: لا يوجد ملف قاعدة بيانات SQLite"),
        ({"LC_ALL": "pt_BR.UTF-8", "LANG": "de_DE.UTF-8"}, "erro: nenhum arquivo de banco SQLite"),
        ({"LANG": "C"}, "error: no SQLite database file at"),
        ({"LANG": "sv_SE.UTF-8"}, "error: no SQLite database file at"),
    ],
)
def test_the_command_line_speaks_the_terminals_language(tmp_path, environment: dict[str, str], expected: str) -> None:
    from click.testing import CliRunner

    from dashboard.cli import main

    env = {"LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": None, **environment}
    result = CliRunner(env=env).invoke(main, ["inspect", f"sqlite:///{tmp_path}/missing.db"])
    assert result.exit_code == 2
    assert expected in result.output
