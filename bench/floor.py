"""The "floor": the least a web app must do to serve the demo ``orders`` pages.

A bare Flask app, no login, no CSRF, no admin framework: SQLAlchemy Core runs the same
SQL the dashboard runs for a page (one ``count(*)`` with the page's WHERE, then one
``SELECT ... ORDER BY <sort>, id LIMIT 20 OFFSET page*20``) and a plain Jinja template
renders it. ``bench/run.py`` serves it with gunicorn exactly like ``dashboard serve
--workers N --threads T`` (``gthread`` workers, the app loaded before the fork, access log
on), so the difference between the two is what the dashboard adds on top of the database work.

Routes (``page`` counts from 0, like Flask-Admin's)::

    /orders/?page=N&sort=<column>&desc=1&search=<text>&status=<value>
    /orders/<id>            one row
    /orders/<id>/edit       the row as an HTML form; the customer is a plain text input
    /orders.csv?limit=N     every row (the first N by id), streamed from a server-side cursor
    /healthz                "ok" once the app is up

Run it: ``python bench/floor.py DATABASE_URL --port 8001 [--workers 2 --threads 4]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import typing as t

import sqlalchemy as sa
from flask import Flask, Response, abort, render_template_string, request, stream_with_context

PAGE_SIZE = 20
# The columns the dashboard searches on orders: the text ones (status is a CHECK pick list
# of text, note is TEXT). The dashboard matches lower(column) LIKE '%word%' per word.
SEARCH_COLUMNS = ("status", "note")

_LIST = """<!doctype html><html><head><meta charset="utf-8"><title>orders</title></head><body>
<h1>orders</h1><p>{{ count }} rows</p>
<form method="get"><input name="search" value="{{ search }}"><button>Search</button></form>
<table><thead><tr>{% for c in columns %}<th><a href="?sort={{ c }}">{{ c }}</a></th>{% endfor %}</tr></thead>
<tbody>{% for row in rows %}<tr data-id="{{ row.id }}">{% for c in columns %}<td>
{%- if c == "id" %}<a href="/orders/{{ row.id }}">{{ row.id }}</a> <a href="/orders/{{ row.id }}/edit">edit</a>
{%- else %}{{ "" if row[c] is none else row[c] }}{% endif %}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{% if page > 0 %}<a href="?page={{ page - 1 }}">previous</a>{% endif %}
<a href="?page={{ page + 1 }}">next</a></body></html>"""

_DETAILS = """<!doctype html><html><head><meta charset="utf-8"><title>order {{ row.id }}</title></head><body>
<h1>order {{ row.id }}</h1><dl>{% for c in columns %}<dt>{{ c }}</dt>
<dd>{{ "" if row[c] is none else row[c] }}</dd>{% endfor %}</dl>
<a href="/orders/{{ row.id }}/edit">edit</a></body></html>"""

_EDIT = """<!doctype html><html><head><meta charset="utf-8"><title>edit order {{ row.id }}</title></head><body>
<h1>edit order {{ row.id }}</h1><form method="post">{% for c in columns %}
<label>{{ c }} {% if c == "note" %}<textarea name="{{ c }}">{{ row[c] or "" }}</textarea>
{%- else %}<input name="{{ c }}" value="{{ "" if row[c] is none else row[c] }}">{% endif %}</label>{% endfor %}
<button>Save</button></form></body></html>"""


def create_floor_app(database_url: str) -> Flask:
    """Build the floor app for the demo database at ``database_url``.

    The ``orders`` table is reflected once at start-up, like the dashboard does.
    """
    engine = sa.create_engine(database_url)
    orders = sa.Table("orders", sa.MetaData(), autoload_with=engine)
    columns = [c.name for c in orders.columns]
    app = Flask("floor")
    app.extensions["floor_engine"] = engine

    def conditions() -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        # The same condition the dashboard's search builds: every word in some column.
        for word in request.args.get("search", "").lower().split():
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(sa.or_(*(sa.func.lower(orders.c[name]).like(pattern, escape="\\") for name in SEARCH_COLUMNS)))
        if request.args.get("status"):
            where.append(orders.c.status == request.args["status"])
        return where

    @app.get("/orders/")
    def order_list() -> str:
        page = max(0, request.args.get("page", 0, type=int))
        sort = request.args.get("sort", "")
        where = conditions()
        order: list[t.Any] = []
        if sort in orders.c:
            order.append(orders.c[sort].desc() if request.args.get("desc") == "1" else orders.c[sort].asc())
        order.append(orders.c.id)  # the tie-breaker the dashboard adds, so pages are stable
        # One connection for both statements: the least a page can cost.
        with engine.connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(orders).where(*where)).scalar_one()
            rows = (
                connection.execute(
                    sa.select(orders).where(*where).order_by(*order).limit(PAGE_SIZE).offset(page * PAGE_SIZE)
                )
                .mappings()
                .all()
            )
        return render_template_string(
            _LIST, rows=rows, count=count, columns=columns, page=page, search=request.args.get("search", "")
        )

    def one(order_id: int) -> t.Any:
        with engine.connect() as connection:
            row = connection.execute(sa.select(orders).where(orders.c.id == order_id)).mappings().first()
        if row is None:
            abort(404)
        return row

    @app.get("/orders/<int:order_id>")
    def details(order_id: int) -> str:
        return render_template_string(_DETAILS, row=one(order_id), columns=columns)

    @app.get("/orders/<int:order_id>/edit")
    def edit(order_id: int) -> str:
        return render_template_string(_EDIT, row=one(order_id), columns=columns)

    @app.get("/orders.csv")
    def export() -> Response:
        # ?limit=N: the dashboard stops an export at EXPORT_MAX_ROWS; the floor does as much.
        limit = request.args.get("limit", type=int)

        def lines() -> t.Iterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(columns)
            with engine.connect() as connection:
                # A server-side cursor on PostgreSQL (psycopg named cursor); SQLite steps
                # its cursor lazily anyway. Memory stays flat whatever the table size.
                result = connection.execution_options(stream_results=True, yield_per=1000).execute(
                    sa.select(orders).order_by(orders.c.id).limit(limit)
                )
                for partition in result.partitions():
                    writer.writerows(("" if v is None else v for v in row) for row in partition)
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

        return Response(
            stream_with_context(lines()),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
        )

    @app.get("/healthz")
    def healthz() -> str:
        return "ok\n"

    return app


def serve(database_url: str, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the floor with gunicorn, configured like ``dashboard serve --workers N --threads T``."""
    from gunicorn.app.base import BaseApplication

    app = create_floor_app(database_url)

    def release_connections() -> None:
        # As dashboard/cli/server.py does: a forked worker never reuses its parent's connections.
        app.extensions["floor_engine"].dispose(close=False)

    class FloorServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            # The options of dashboard/cli/server.py (run_gunicorn), so both servers differ
            # only by the app: threaded workers, the app built once before the fork.
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "preload_app": True,
                "post_fork": lambda _server, _worker: release_connections(),
                "accesslog": "-",
                "timeout": 120,
                "graceful_timeout": 10,
                "control_socket_disable": True,
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    release_connections()
    FloorServer().run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")
    args = parser.parse_args()
    serve(args.database_url, args.host, args.port, args.workers, args.threads)


if __name__ == "__main__":
    main()
