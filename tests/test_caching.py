"""The listing cache on every dialect, in process, in a folder several workers share and on Redis:
fast, fresh and never shared wrongly."""

from __future__ import annotations

import logging
import re
import time

import pytest
import redis
import sqlalchemy as sa

from dashboard.clock import set_clock
from dashboard.db.demo import write_demo_database
from dashboard.instance import file_cache_dir
from dashboard.settings import ConfigError
from dashboard.site_state import current_site
from tests.apps import logged_in, make_app
from tests.databases import require_service
from tests.site import form_values

LIST = "/admin/orders/"


@pytest.fixture(params=["SimpleCache", "RedisCache"])
def cache_settings(request):
    if request.param == "SimpleCache":
        return {"CACHE_TYPE": "SimpleCache"}
    return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": request.getfixturevalue("redis_url")}


@pytest.fixture
def demo_url(empty_database_url):
    write_demo_database(empty_database_url, rows=120)
    return empty_database_url


@pytest.fixture
def apps(demo_url, tmp_path):
    """Apps built by the test, disposed before their database is dropped."""
    built = []

    def build(**settings):
        # The orders list shows its free-text note (left out of lists by default), where
        # these tests write the values they look for.
        settings.setdefault("TABLES", {"orders": {"column_order": ["id", "customer_id", "status", "note"]}})
        app = make_app(demo_url, tmp_path / f"instance{len(built)}", **settings)
        built.append(app)
        return app

    yield build
    for app in built:
        current_site(app).engine.dispose()


class QueryCounter:
    """Counts the statements an app sends to the target database."""

    def __init__(self, app):
        self.count = 0
        sa.event.listen(current_site(app).engine, "before_cursor_execute", self._seen)

    def _seen(self, *args):
        self.count += 1


def test_a_cached_listing_is_served_without_touching_the_database(apps, cache_settings):
    app = apps(**cache_settings)
    client = logged_in(app, "admin")
    counter = QueryCounter(app)
    first = client.get(LIST)
    assert first.status_code == 200
    assert counter.count > 0
    counter.count = 0
    second = client.get(LIST)
    assert second.status_code == 200
    assert counter.count == 0
    assert _ids(second) == _ids(first)


def test_34_a_write_on_one_instance_is_seen_at_once_by_another(apps, redis_url, demo_url):
    settings = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url}
    first, second = apps(**settings), apps(**settings)
    reader = logged_in(second, "admin")
    assert "moved-by-the-other" not in reader.get(LIST).get_data(as_text=True)
    writer = logged_in(first, "admin")
    edit = "/admin/orders/edit/?id=1"
    values = _form(writer, edit)
    values["note"] = "moved-by-the-other"
    assert writer.post(edit, data=values).status_code == 302
    assert "moved-by-the-other" in reader.get(LIST).get_data(as_text=True)


def test_34_several_workers_share_the_listing_cache_in_the_instance_folder(apps, demo_url, tmp_path):
    # Two apps on one instance folder stand for two workers of `dashboard serve --workers 2`.
    instance = tmp_path / "shared"
    first, second = apps(INSTANCE_PATH=str(instance), WORKERS=2), apps(INSTANCE_PATH=str(instance), WORKERS=2)
    reader = logged_in(second, "admin", "reader")
    assert "seen-by-the-other-worker" not in reader.get(LIST).get_data(as_text=True)
    writer = logged_in(first, "admin", "writer")
    edit = "/admin/orders/edit/?id=1"
    values = _form(writer, edit)
    values["note"] = "seen-by-the-other-worker"
    assert writer.post(edit, data=values).status_code == 302
    assert "seen-by-the-other-worker" in reader.get(LIST).get_data(as_text=True)
    assert any(file_cache_dir(instance, demo_url).iterdir())


def test_one_worker_keeps_the_listing_cache_in_its_process(tmp_path, small_database_url):
    app = make_app(small_database_url, tmp_path / "instance", WORKERS=1)
    assert logged_in(app, "admin").get("/admin/parent/").status_code == 200
    assert app.config["CACHE_TYPE"] == "SimpleCache"
    assert not (tmp_path / "instance" / "cache").exists()


def test_a_cache_type_of_the_operator_is_kept_with_several_workers(tmp_path, small_database_url, redis_url):
    app = make_app(
        small_database_url, tmp_path / "instance", WORKERS=4, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url
    )
    assert logged_in(app, "admin").get("/admin/parent/").status_code == 200
    assert app.config["CACHE_TYPE"] == "RedisCache"
    stored = redis.Redis.from_url(redis_url)
    try:
        assert stored.keys("dashboard:listing:*")
    finally:
        stored.close()
    assert not (tmp_path / "instance" / "cache").exists()


@pytest.mark.parametrize("workers", [0, -2, "two", 1.5])
def test_workers_must_be_a_whole_number_of_at_least_one(tmp_path, small_database_url, workers):
    with pytest.raises(ConfigError, match="WORKERS must be a whole number of at least 1"):
        make_app(small_database_url, tmp_path / "instance", WORKERS=workers)


def test_34_a_write_in_the_same_process_is_seen_at_once(apps, cache_settings):
    app = apps(**cache_settings)
    client = logged_in(app, "admin")
    client.get(LIST)
    values = _form(client, "/admin/orders/edit/?id=1")
    values["note"] = "fresh-at-once"
    client.post("/admin/orders/edit/?id=1", data=values)
    assert "fresh-at-once" in client.get(LIST).get_data(as_text=True)


def test_34_operators_with_different_rights_never_share_a_cached_listing(apps, cache_settings):
    app = apps(**cache_settings)
    admin, viewer = logged_in(app, "admin"), logged_in(app, "viewer")
    counter = QueryCounter(app)
    admin.get(LIST)
    counter.count = 0
    page = viewer.get(LIST)
    assert page.status_code == 200
    assert counter.count > 0, "the viewer was served the admin's cached listing"
    assert "Delete Record" not in page.get_data(as_text=True)


def test_34_writes_by_other_programs_show_within_the_ttl(apps, demo_url, cache_settings):
    app = apps(LISTING_TTL_SECONDS=30, **cache_settings)
    clock = HandClock(app)
    client = logged_in(app, "admin")
    assert "written-outside" not in client.get(LIST).get_data(as_text=True)
    _write_note_outside(demo_url, "written-outside")
    clock.advance(29)
    assert "written-outside" not in client.get(LIST).get_data(as_text=True)
    clock.advance(2)
    page = client.get(LIST).get_data(as_text=True)
    assert "written-outside" in page
    assert re.search(r"Read at \d\d:\d\d:\d\d UTC", page)
    # Within the TTL again, asking for a refresh reads past the cache.
    _write_note_outside(demo_url, "written-again")
    assert "written-again" not in client.get(LIST).get_data(as_text=True)
    assert "written-again" in client.get(LIST + "?refresh=1").get_data(as_text=True)


@pytest.mark.parametrize("sort", [None, "total_desc"])
def test_keyset_pages_agree_with_offset_pages(apps, sort):
    app = apps()
    client = logged_in(app, "admin")
    query = "" if sort is None else f"sort={_column_index(client, 'total')}&desc=1&"
    walked = [_ids(client.get(f"{LIST}?{query}page={n}")) for n in range(6)]
    fresh = logged_in(apps(), "admin")  # a new app has no cached page boundaries: pure offsets
    jumped = [_ids(fresh.get(f"{LIST}?{query}page={n}")) for n in reversed(range(6))][::-1]
    assert walked == jumped
    flat = [i for page in walked for i in page]
    assert len(flat) == len(set(flat)) == 120


def test_a_redis_that_is_gone_degrades_to_uncached_pages(apps, caplog):
    require_service("redis", "Redis is needed to compare against")
    app = apps(CACHE_TYPE="RedisCache", CACHE_REDIS_URL="redis://127.0.0.1:1/0")
    client = logged_in(app, "admin")
    with caplog.at_level(logging.WARNING, logger="dashboard.web.caching"):
        assert client.get(LIST).status_code == 200
        assert client.get(LIST).status_code == 200
    assert any("listing cache unavailable" in r.getMessage() for r in caplog.records)


def test_33_filtered_counts_are_capped_and_exact_on_request(apps):
    app = apps(COUNT_CAP=5)
    client = logged_in(app, "admin")
    page = client.get(LIST + "?search=a").get_data(as_text=True)
    assert "More than 5 rows match." in page
    exact = client.get(LIST + "?search=a&exact_count=1").get_data(as_text=True)
    assert re.search(r"\d+ rows\.", exact)


def test_33_large_tables_show_the_database_estimate(apps, demo_url, dialect):
    engine = sa.create_engine(demo_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE orders" if dialect != "mariadb" else "ANALYZE TABLE orders"))
    engine.dispose()
    app = apps(COUNT_ESTIMATE_ABOVE=10)
    page = logged_in(app, "admin").get(LIST).get_data(as_text=True)
    if dialect == "sqlite":  # SQLite keeps no estimate: its counts are exact (and cached)
        assert "120 rows." in page
    else:
        assert re.search(r"About [\d,]+ rows \(the database(&#39;|')s estimate\)", page)


def test_export_streams_every_row(apps):
    app = apps()
    response = logged_in(app, "admin").get("/admin/orders/export/csv/")
    assert response.is_streamed
    assert len(response.get_data(as_text=True).strip().splitlines()) == 121


class HandClock:
    """The app's clock (its listing cache expires entries by it), moved on by the test instead of waited for."""

    def __init__(self, app):
        self.now = time.time()
        set_clock(app, lambda: self.now)

    def advance(self, seconds):
        self.now += seconds


def _write_note_outside(url, note):
    """Change order 1 the way another program would: straight in the database, past the dashboard."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE orders SET note = :note WHERE id = 1"), {"note": note})
    engine.dispose()


def _ids(response):
    return re.findall(r'class="action-checkbox" value="([^"]+)"', response.get_data(as_text=True))


def _column_index(client, name):
    page = client.get(LIST).get_data(as_text=True)
    return re.search(r'\?sort=(\d+)[^"]*" title="Sort by ' + name + '"', page).group(1)


def _form(client, url):
    return form_values(client.get(url).get_data(as_text=True))


def test_33_a_listing_that_runs_too_long_is_cancelled_with_a_message(tmp_path):
    """SQLite has no statement timeout of its own; the dashboard's progress handler cancels it."""
    url = f"sqlite:///{tmp_path / 'slow.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)"))
        connection.execute(
            sa.text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
                "INSERT INTO items SELECT i, 'item ' || i FROM n"
            )
        )
    engine.dispose()
    app = make_app(url, tmp_path / "instance", STATEMENT_TIMEOUT_MS=1)
    client = logged_in(app, "admin")
    page = client.get("/admin/items/?search=zzz")
    assert page.status_code == 200
    assert "took too long and was cancelled" in page.get_data(as_text=True)
    export = client.get("/admin/items/export/csv/")
    assert len(export.get_data(as_text=True).splitlines()) == 300_001  # exports are exempt
    assert client.get("/admin/").status_code == 200
