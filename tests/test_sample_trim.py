"""Trimming the public sample databases at load time (:mod:`tests.sample_trim`).

These run without the samples: the trimmed samples themselves are checked where they are
loaded (tests/test_samples.py: every foreign key points at a row, every page answers).
"""

from __future__ import annotations

import pytest

from tests.sample_trim import SampleMismatch, split_row, trim_chinook

#: A Chinook script in the PostgreSQL file's spelling, with a row on each side of each cut.
CHINOOK = """DROP DATABASE IF EXISTS chinook;
CREATE DATABASE chinook;
\\c chinook;
CREATE TABLE album (album_id INT NOT NULL, title VARCHAR(160) NOT NULL, artist_id INT NOT NULL);
INSERT INTO artist (artist_id, name) VALUES
    (1, N'AC/DC'),
    (101, N'Kept: the artist of a kept album'),
    (102, N'Dropped: over 100, no kept album');
INSERT INTO album (album_id, title, artist_id) VALUES
    (2, N'Balls to the Wall; kept', 101),
    (21, N'Dropped: over 20', 1);
INSERT INTO track (track_id, name, album_id) VALUES
    (1, N'Kept, its album is', 2),
    (2, N'Dropped: its album is', 21);
INSERT INTO invoice (invoice_id, total) VALUES
    (1, 1.98),
    (51, 0.99),
    (52, 0.99);
INSERT INTO invoice_line (invoice_line_id, invoice_id, track_id) VALUES
    (1, 52, 1),
    (2, 51, 2);
INSERT INTO playlist_track (playlist_id, track_id) VALUES
    (1, 2),
    (1, 1);
"""


def test_chinook_keeps_whole_rows_whose_references_are_kept() -> None:
    (trimmed,) = trim_chinook("postgresql", [CHINOOK])
    assert (
        trimmed
        == """CREATE TABLE album (album_id INT NOT NULL, title VARCHAR(160) NOT NULL, artist_id INT NOT NULL);
INSERT INTO artist (artist_id, name) VALUES
    (1, N'AC/DC'),
    (101, N'Kept: the artist of a kept album');
INSERT INTO album (album_id, title, artist_id) VALUES
    (2, N'Balls to the Wall; kept', 101);
INSERT INTO track (track_id, name, album_id) VALUES
    (1, N'Kept, its album is', 2);
INSERT INTO invoice (invoice_id, total) VALUES
    (1, 1.98),
    (52, 0.99);
INSERT INTO invoice_line (invoice_line_id, invoice_id, track_id) VALUES
    (1, 52, 1);
INSERT INTO playlist_track (playlist_id, track_id) VALUES
    (1, 1);
"""
    )


def test_another_upstream_version_is_refused_by_name() -> None:
    without_switch = CHINOOK.replace("\\c chinook;\n", "")
    with pytest.raises(SampleMismatch, match=r"Chinook \(postgresql\): expected the statements"):
        trim_chinook("postgresql", [without_switch])
    without_albums = CHINOOK.replace("INSERT INTO album ", "INSERT INTO records ")
    with pytest.raises(SampleMismatch, match="no table or column 'album'"):
        trim_chinook("postgresql", [without_albums])


def test_rows_split_as_sql_reads_them() -> None:
    row = """(1, N'it''s, ok', 'a\\'b;', /*!50705 0x0101,*/'2014-09-25', NULL, "q,", ''),"""
    assert split_row(row) == ["1", "it's, ok", "a'b;", "0x0101", "2014-09-25", "NULL", "q,", ""]
    with pytest.raises(SampleMismatch):
        split_row("INSERT INTO t VALUES (1)")
