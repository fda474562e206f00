"""``dashboard inspect``: every table and view the dashboard would serve, and whether it can be edited."""

from __future__ import annotations

import click

from dashboard.cli.common import fail
from dashboard.db.engine import DatabaseUnavailable, is_empty, make_engine
from dashboard.db.privileges import NOT_POPULATED, WRITES
from dashboard.db.reflection import reflect_schema
from dashboard.i18n.translation import exception_text, translate
from dashboard.i18n.translation import gettext as _
from dashboard.messages import Message


@click.command("inspect")
@click.argument("database_url")
@click.option("--schema", "schemas", multiple=True, help="Also inspect this schema ('*' for all).")
def inspect(database_url: str, schemas: tuple[str, ...]) -> None:
    """Print every table and view, its key, and whether it will be editable (and why not)."""
    try:
        engine = make_engine(database_url)
    except DatabaseUnavailable as exc:
        fail(exception_text(exc))
    if is_empty(engine, [None, *[s for s in schemas if s != "*"]]) and "*" not in schemas:
        fail(_("the database has no tables or views. Check the URL names the right database."))
    info = reflect_schema(engine, list(schemas))
    for table in sorted(info.tables, key=lambda t: (t.schema or "", t.name)):
        key = ", ".join(table.row_key) if table.row_key else "-"
        source = {"primary_key": _("primary key"), "unique": _("unique key"), "rowid": "rowid"}.get(
            table.row_key_source, _("none")
        )
        status = _("editable") if table.editable else _("read-only")
        notes = [table.read_only_reason, *table.notes]
        # What the connected database user may do wins over what the relation would allow.
        if not table.readable:
            status = _("not readable by this database user")
        elif table.editable and not table.privileges & WRITES:
            status = _("read-only: this database user may not insert, update or delete")
        elif table.editable:
            notes.append(table.privilege_notice)
        if table.populated is False:
            notes.append(Message(NOT_POPULATED))
        click.echo(f"{table.kind:5} {table.id!r:40} key={key!r} ({source}) {status} -> /admin/{table.url_path}/")
        for note in filter(None, notes):
            click.echo(f"      {translate(note)}")
        if table.full_text is not None:  # what its search box runs on (dashboard.db.fulltext)
            sentence = _("Full-text search (%(index)s).", index=table.full_text.label)
            click.echo(f"      {sentence}")
    engine.dispose()
