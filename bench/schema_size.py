"""How the dashboard's start-up and home page grow with the number of tables.

    python bench/schema_size.py [--tables 600] [--baseline 20] [--database sqlite postgresql] [--ref REF]

For each database, builds two schemas of the same shape (tests/wide_schema.py: keys, a
UNIQUE column, a CHECK pick list, a foreign key per table, keyless tables, views, a
quarter of the tables in a second schema on PostgreSQL), one of ``--baseline`` and one
of ``--tables`` relations, and measures on both in the same run:

- **create_app**: seconds for ``create_app()`` in a fresh interpreter (median of
  ``--repeat``), the reflection and view set-up an operator waits for;
- **first answer**: seconds from starting ``dashboard serve URL`` (gunicorn, one worker)
  to its first 200 on ``/healthz``;
- **first home page**: seconds for the first ``/admin/`` after logging in, and its size;
- **home page, warm**: the same page again (median of 5);
- **start to first page**: seconds from starting ``dashboard serve`` to the end of the
  first home page (first answer, login, first home page), what an operator waits for;
- **worker memory**: the gunicorn worker's resident set (VmRSS) after those pages, and
  the part of it that is its own (private pages in /proc/PID/smaps_rollup; the rest is
  shared with the master, which builds the app before the fork), and the master's RSS.

It prints a Markdown table with the ratio large / baseline per figure; the machine is
shared and noisy, so the ratios of one run mean more than the absolute seconds. ``--ref``
measures a commit instead of the working tree (``git archive``, as bench/run.py does).
Nothing is asserted: tests/test_schema_size.py checks what a user sees, this prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from loadclient import BenchError
from servers import (
    BENCH_DIR,
    BENCH_USER,
    add_bench_user,
    free_port,
    memory_kb,
    source_under_test,
    start,
)
from sqlalchemy.engine import make_url

sys.path.insert(0, str(BENCH_DIR.parent))
from tests.wide_schema import create_wide_schema  # noqa: E402 -- the repository root is on the path only now

SECOND_SCHEMA = "archive"
_CREATE_APP = """
import json, sys, time
started = time.perf_counter()
from dashboard.app import create_app
imported = time.perf_counter()
app = create_app({"DATABASE_URL": sys.argv[1], "SCHEMAS": sys.argv[2:]})
done = time.perf_counter()
print(json.dumps({"import": imported - started, "create_app": done - imported,
                  "views": len(app.extensions["dashboard"].views)}))
"""


@dataclass
class Figures:
    """What one schema size measured."""

    relations: int
    views: int
    create_app: float
    first_answer: float
    first_home: float
    home_warm: float
    home_kb: float
    start_to_first_page: float
    worker_rss_mb: float
    worker_private_mb: float
    master_rss_mb: float


def private_kb(pid: int) -> int:
    """Private_Clean + Private_Dirty of /proc/<pid>/smaps_rollup: memory no other process shares."""
    total = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total


@contextlib.contextmanager
def wide_database(dialect: str, count: int, postgresql_url: str, temp: Path) -> Iterator[tuple[str, list[str]]]:
    """A fresh database holding the wide schema of ``count`` relations; yields its URL and extra schemas."""
    if dialect == "sqlite":
        url = f"sqlite:///{temp / f'wide-{count}.db'}"
        create_wide_schema(url, count)
        yield url, []
        return
    name = f"bench_wide_{count}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    url = make_url(postgresql_url).set(database=name).render_as_string(hide_password=False)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            engine = sa.create_engine(url)
            with engine.begin() as connection:
                connection.exec_driver_sql(f'CREATE SCHEMA "{SECOND_SCHEMA}"')
            engine.dispose()
            create_wide_schema(url, count, SECOND_SCHEMA)
            engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                # As a database in use would be: statistics known, so row estimates exist.
                connection.exec_driver_sql("VACUUM ANALYZE")
            engine.dispose()
            yield url, [SECOND_SCHEMA]
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def time_create_app(url: str, schemas: list[str], env: t.Mapping[str, str], repeat: int) -> tuple[float, int]:
    """Median seconds of ``create_app`` in a fresh interpreter, and how many views it built."""
    seconds, views = [], 0
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, "-c", _CREATE_APP, url, *schemas],
            env=dict(env),
            cwd="/",
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(output.strip().splitlines()[-1])
        seconds.append(result["create_app"])
        views = result["views"]
    return statistics.median(seconds), views


def measure(
    dialect: str, count: int, args: argparse.Namespace, env: dict[str, str], dashboard: list[str], temp: Path
) -> Figures:
    """Build the schema of ``count`` relations and measure start-up and the home page on it."""
    with wide_database(dialect, count, args.postgresql_url, temp) as (url, schemas):
        create_app_s, views = time_create_app(url, schemas, env, args.repeat)
        instance = temp / f"instance-{dialect}-{count}"
        server_env = {**env, "DASHBOARD_INSTANCE_PATH": str(instance)}
        password = add_bench_user(dashboard, server_env)
        port = free_port()
        command = [*dashboard, "serve", url, "--port", str(port), "--workers", "1"]
        command += [part for schema in schemas for part in ("--schema", schema)]
        started = time.perf_counter()
        server = start(f"dashboard-{dialect}-{count}", command, port, server_env, temp)
        try:
            server.wait_ready(timeout=600)
            first_answer = time.perf_counter() - started
            client = server.client()
            client.login(BENCH_USER, password)
            first = client.get("/admin/")
            start_to_first_page = time.perf_counter() - started
            warm = [client.get("/admin/").seconds for _ in range(5)]
            (worker,) = server.worker_pids(1)
            worker_rss, worker_private = memory_kb(worker, "VmRSS"), private_kb(worker)
            master_rss = memory_kb(server.process.pid, "VmRSS")
        finally:
            server.stop()
    return Figures(
        relations=count,
        views=views,
        create_app=create_app_s,
        first_answer=first_answer,
        first_home=first.seconds,
        home_warm=statistics.median(warm),
        home_kb=first.size / 1024,
        start_to_first_page=start_to_first_page,
        worker_rss_mb=worker_rss / 1024,
        worker_private_mb=worker_private / 1024,
        master_rss_mb=master_rss / 1024,
    )


def _shown(value: float, unit: str) -> str:
    return f"{value:.2f} s" if unit == "s" else f"{value:.1f} {unit}"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def report(results: dict[str, tuple[Figures, Figures]], commit: str, command: str, load: str) -> str:
    """The Markdown table: each figure for both sizes and their ratio."""
    lines = [f"# dashboard start-up and home page by schema size ({commit})", "", f"`{command}`", ""]
    for dialect, (small, large) in results.items():
        lines += [
            f"## {dialect}: {small.relations} vs {large.relations} relations "
            f"({small.views} and {large.views} views served)",
            "",
            f"| figure | {small.relations} relations | {large.relations} relations | ratio |",
            "|---|---:|---:|---:|",
        ]
        for label, attribute, unit in (
            ("create_app()", "create_app", "s"),
            ("serve: first answer (/healthz)", "first_answer", "s"),
            ("first home page after login", "first_home", "s"),
            ("home page, warm (median of 5)", "home_warm", "s"),
            ("home page size", "home_kb", "KB"),
            ("serve: start to first home page", "start_to_first_page", "s"),
            ("worker RSS after the home pages", "worker_rss_mb", "MB"),
            ("worker RSS: its own (private) part", "worker_private_mb", "MB"),
            ("master RSS", "master_rss_mb", "MB"),
        ):
            a, b = getattr(small, attribute), getattr(large, attribute)
            lines.append(f"| {label} | {_shown(a, unit)} | {_shown(b, unit)} | {b / a:.1f}x |")
        lines.append("")
    lines.append(f"Load average (1, 5, 15 min) {load}: the machine may be shared; compare ratios, not seconds.")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Start-up time and home page size by number of tables.")
    parser.add_argument("--tables", type=int, default=600, help="relations in the large schema")
    parser.add_argument("--baseline", type=int, default=20, help="relations in the small schema")
    parser.add_argument("--database", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=3, help="create_app() timings per schema (median)")
    parser.add_argument(
        "--postgresql-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="server and database used to CREATE DATABASE",
    )
    parser.add_argument("--ref", help="measure this git commit instead of the working tree")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    temp = Path(tempfile.mkdtemp(prefix="dashboard-schema-size-"))
    try:
        env, commit, dashboard = source_under_test(args.ref, temp)
        load_before = loadavg()
        results: dict[str, tuple[Figures, Figures]] = {}
        for dialect in args.database:
            small = measure(dialect, args.baseline, args, env, dashboard, temp)
            large = measure(dialect, args.tables, args, env, dashboard, temp)
            results[dialect] = (small, large)
            print(f"{dialect}: {small} / {large}", flush=True)
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"temp folder kept: {temp}", file=sys.stderr)
        return 1
    shutil.rmtree(temp, ignore_errors=True)
    print()
    command = "python bench/schema_size.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(report(results, commit, command, f"{load_before} before, {loadavg()} after"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
