"""A real deadlock is told apart from other failures, so a short write (the login throttle's
claim) can run again instead of failing the request with a 503.

Two sessions lock two rows in opposite orders; the server rolls one back. SQLite has one
writer at a time and no deadlock, so these run on the servers only.
"""

from __future__ import annotations

import threading
import typing as t

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from dashboard.db.errors import is_deadlock
from tests.databases import make_database


@pytest.fixture(params=["postgresql", "mariadb"])
def server_database_url(request: pytest.FixtureRequest) -> t.Iterator[str]:
    with make_database(request.param) as url:
        yield url


def test_a_deadlock_the_server_broke_is_recognised_and_other_errors_are_not(server_database_url: str) -> None:
    engine = sa.create_engine(server_database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE pair (id INTEGER PRIMARY KEY, n INTEGER)")
            connection.exec_driver_sql("INSERT INTO pair (id, n) VALUES (1, 0), (2, 0)")
        both_hold_one = threading.Barrier(2, timeout=30)
        failures: list[BaseException] = []

        def lock_in_order(first: int, second: int) -> None:
            try:
                with engine.begin() as connection:
                    connection.exec_driver_sql(f"UPDATE pair SET n = n + 1 WHERE id = {first}")
                    both_hold_one.wait()
                    connection.exec_driver_sql(f"UPDATE pair SET n = n + 1 WHERE id = {second}")
            except OperationalError as exc:
                failures.append(exc)

        threads = [threading.Thread(target=lock_in_order, args=order) for order in ((1, 2), (2, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(failures) == 1, failures
        assert is_deadlock(failures[0])
        with engine.connect() as connection:
            with pytest.raises(sa.exc.DBAPIError) as missing:
                connection.exec_driver_sql("SELECT * FROM no_such_table")
        assert not is_deadlock(missing.value)
    finally:
        engine.dispose()
