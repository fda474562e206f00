"""A small library of documents for the full-text search tests: the same rows on every dialect,
each with the full-text index its database offers (tests/test_fulltext.py, its browser twin)."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

ROWS = [
    {"id": 1, "title": "Morning routine", "body": "He runs along the river before breakfast."},
    {"id": 2, "title": "Quiet evenings", "body": "Reading about glaciers and penguins."},
    {"id": 3, "title": "Tax forms", "body": "A dull document about deductions."},
]
PLAIN_ROWS = [{"id": 1, "name": "Harbour crane", "note": "rusty"}, {"id": 2, "name": "Lighthouse", "note": "white"}]


def create_library(url: str) -> None:
    """``documents`` with the dialect's full-text index, ``notes`` under a PostgreSQL expression
    index, and ``plain`` without any."""
    engine = sa.create_engine(url)
    dialect = engine.dialect.name
    metadata = sa.MetaData()
    columns: list[t.Any] = [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("title", sa.String(100)),
        sa.Column("body", sa.Text),
    ]
    if dialect == "postgresql":
        vector = "to_tsvector('english', coalesce(title, '') || ' ' || coalesce(body, ''))"
        columns.append(sa.Column("document", sa.dialects.postgresql.TSVECTOR, sa.Computed(vector, persisted=True)))
    documents = sa.Table("documents", metadata, *columns)
    plain = sa.Table(
        "plain",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(50)),
        sa.Column("note", sa.String(50)),
    )
    notes = sa.Table("notes", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("body", sa.Text))
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            if dialect == "postgresql":
                connection.exec_driver_sql("CREATE INDEX documents_search ON documents USING gin (document)")
                connection.exec_driver_sql(
                    "CREATE INDEX notes_search ON notes USING gin (to_tsvector('english', body))"
                )
                # Pagila's film table: a vector kept by tsvector_update_trigger, which names its config.
                connection.exec_driver_sql("CREATE TABLE films (id integer PRIMARY KEY, title text, fulltext tsvector)")
                connection.exec_driver_sql("CREATE INDEX films_fulltext ON films USING gist (fulltext)")
                connection.exec_driver_sql(
                    "CREATE TRIGGER films_fulltext BEFORE INSERT OR UPDATE ON films FOR EACH ROW EXECUTE FUNCTION "
                    "tsvector_update_trigger(fulltext, 'pg_catalog.english', title)"
                )
                connection.exec_driver_sql("INSERT INTO films (id, title) VALUES (1, 'Dancing Queens'), (2, 'Jaws')")
            elif dialect == "sqlite":
                connection.exec_driver_sql(
                    "CREATE VIRTUAL TABLE documents_fts USING fts5(title, body, content='documents', "
                    "content_rowid='id', tokenize = 'porter unicode61')"
                )
            else:
                connection.exec_driver_sql("CREATE FULLTEXT INDEX documents_search ON documents (title, body)")
            connection.execute(documents.insert(), ROWS)
            connection.execute(plain.insert(), PLAIN_ROWS)
            connection.execute(notes.insert(), [{"id": 1, "body": "Swimming lessons"}, {"id": 2, "body": "Chess"}])
            if dialect == "sqlite":
                connection.exec_driver_sql("INSERT INTO documents_fts(documents_fts) VALUES ('rebuild')")
    finally:
        engine.dispose()
