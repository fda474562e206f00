"""Benchmark ``dashboard serve`` against the floor (bench/floor.py) on the same database.

    python bench/run.py --rows 1000000 --database sqlite|postgresql [--requests 200] [--concurrency 4]

Builds (or reuses) the demo database, starts both servers with gunicorn (the same
``--workers`` gthread workers of ``--threads`` threads each, 2 x 4 by default), logs in to
the dashboard, then runs every scenario on both with the same URLs and
the same number of requests, and prints a Markdown table of p50/p99 latencies and the
ratios dashboard/floor. The table is also written to bench/results/<date>-<db>-<rows>.md.

The machine may be shared and noisy, so only the ratios measured in one run mean much:
requests to the two servers are interleaved one by one (floor, dashboard, dashboard,
floor, ...), which spreads any background load evenly over both. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import platform
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from loadclient import BenchError, Client, LoadResult, load, percentile
from servers import (
    BENCH_DIR,
    BENCH_USER,
    Server,
    add_bench_user,
    free_port,
    memory_kb,
    postgresql_data,
    reset_peak_memory,
    source_under_test,
    sqlite_data,
    start,
)

PAGE_SIZE = 20
WARMUPS = 3


@dataclass
class Scenario:
    """The same page asked of both servers: URL lists (cycled) for the floor and the dashboard."""

    name: str
    floor: list[str]
    dashboard: list[str]
    # Warm-up URLs; by default the first of each list. "cold" warms up on another page so
    # that none of its own pages was ever requested before it is timed.
    warmup: tuple[str, str] | None = None
    compare_ids: bool = True
    requests: int | None = None


@dataclass
class Row:
    """One line of the result table; ``unit`` says how the numbers are shown."""

    name: str
    floor: list[float]
    dashboard: list[float]
    unit: str = "ms"  # "ms", "s", "KB", "MB", "req/s"
    single: bool = False  # one number per server (a size, a rate): no p99 columns


@dataclass
class Run:
    """Everything a run found out, for the table and the notes below it."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- scenarios


def discover(dashboard: Client) -> tuple[int, str, str]:
    """The dashboard's sort index of ``total`` and the URL arguments of "status equals" and
    "customer_id equals".

    Both are read from the list page as a browser would see them: the header links
    (``?sort=K``) and the filter definitions (``filter-groups-data``).
    """
    page = dashboard.get("/admin/orders/").body.decode()
    sorts = {
        html.unescape(label).strip(): int(index)
        for index, label in re.findall(r'<a href="[^"]*[?&;]sort=(\d+)[^"]*"[^>]*>\s*([^<]+?)\s*</a>', page)
    }
    if "total" not in sorts:
        raise BenchError(f"no sort link for 'total' on /admin/orders/ (found {sorted(sorts)})")
    match = re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S)
    if match is None:
        raise BenchError("no filter-groups-data on /admin/orders/")
    groups = _equals_args(json.loads(html.unescape(match.group(1))))
    found = []
    for column in ("status", "customer_id"):
        args = groups.get(column, [])
        if not args:
            raise BenchError(f"no '{column} equals' filter on /admin/orders/")
        found.append(f"flt0_{args[0]}")
    return sorts["total"], found[0], found[1]


def scenarios(rows: int, requests: int, sort_index: int, status_arg: str) -> list[Scenario]:
    """The list, details and edit scenarios; the export and the load test are run apart."""
    middle = rows // 2 // PAGE_SIZE
    # Pages 2, 4, 6, ...: each requested once, and never the page just before it either, so
    # no per-page cache and no "continue after the previous page" shortcut can help.
    last_page = max(1, (rows - 1) // PAGE_SIZE)
    cold = [2 * i for i in range(1, requests + 1) if 2 * i <= last_page] or [1]
    return [
        Scenario("list, first page, warm (same URL)", ["/orders/?page=0"], ["/admin/orders/?page=0"]),
        Scenario(
            f"list, cold: pages 2, 4, ..., {2 * len(cold)} once each",
            [f"/orders/?page={p}" for p in cold],
            [f"/admin/orders/?page={p}" for p in cold],
            warmup=("/orders/?page=0", "/admin/orders/?page=0"),
            requests=len(cold),
        ),
        Scenario(
            f"list, page {middle} (offset {middle * PAGE_SIZE:,})",
            [f"/orders/?page={middle}"],
            [f"/admin/orders/?page={middle}"],
        ),
        Scenario(
            "list, sorted by total desc (no index)",
            ["/orders/?sort=total&desc=1"],
            [f"/admin/orders/?sort={sort_index}&desc=1"],
        ),
        Scenario("list, search 'cancel'", ["/orders/?search=cancel"], ["/admin/orders/?search=cancel"]),
        Scenario("list, filter status = paid", ["/orders/?status=paid"], [f"/admin/orders/?{status_arg}=paid"]),
        Scenario("details of id 1", ["/orders/1"], ["/admin/orders/details/?id=1"], compare_ids=False),
        Scenario("edit form of id 1", ["/orders/1/edit"], ["/admin/orders/edit/?id=1"], compare_ids=False),
    ]


def _equals_args(data: t.Any) -> dict[str, list[str]]:
    """Column -> URL args of its "equals" filters, from the filter data of either format: Flask-Admin's
    (column -> operations as objects) or the compact one of dashboard/web/filter_bar.py since 5d700e0
    (``{"l": labels, "g": {column: [[index, label, type, options, arg], ...]}}``)."""
    if isinstance(data, dict) and "g" in data and "l" in data:
        labels = data["l"]
        return {
            column: [str(op[4]) if len(op) > 4 and op[4] else str(op[0]) for op in ops if labels[op[1]] == "equals"]
            for column, ops in data["g"].items()
        }
    return {column: [f["arg"] for f in ops if f.get("operation") == "equals"] for column, ops in (data or {}).items()}


def facet_scenarios(rows: int, requests: int, customer_arg: str) -> list[Scenario]:
    """The list page with two facets (status, customer_id) against the dashboard's own plain list.

    Both columns of these rows are the dashboard: "floor" is the plain list, "dashboard" the
    same list with the facets panel counting status and customer_id (status is a default
    facet of the plain list too; ``facet=`` adds customer_id, with its customers' names).
    Warm: the same URL again. Pages: distinct pages of one listing, whose facet counts are
    read once and kept. Cold: a filter on a customer not asked before on either side, so the
    rows, the count and the facet counts are all read anew.
    """
    # Pages after those the cold list scenario asked (2, 4, ..., 2 x requests): none kept yet.
    last_page = max(1, (rows - 1) // PAGE_SIZE)
    first = 2 * requests + 1
    pages = [p for p in range(first, first + 2 * requests) if p <= last_page] or [1]
    facets = "facet=status&facet=customer_id"
    customers = max(4, rows // 20)  # the demo has about one customer per 20 orders
    return [
        Scenario(
            "two facets vs the plain list, page 1, warm (same URL)",
            ["/admin/orders/?page=0"],
            [f"/admin/orders/?{facets}&page=0"],
            compare_ids=False,
        ),
        Scenario(
            f"two facets vs the plain list, pages {pages[0] + 1}, {pages[0] + 2}, ... once each",
            [f"/admin/orders/?page={p}" for p in pages[0::2]],
            [f"/admin/orders/?{facets}&page={p}" for p in pages[1::2]],
            compare_ids=False,
            requests=min(requests, len(pages) // 2) or 1,
        ),
        Scenario(
            "two facets vs the plain list, filtered by a new customer each time (cold)",
            [f"/admin/orders/?{customer_arg}={c}" for c in range(1, customers, 2)],
            [f"/admin/orders/?{facets}&{customer_arg}={c}" for c in range(2, customers, 2)],
            warmup=("/admin/orders/?page=0", f"/admin/orders/?{facets}&page=0"),
            compare_ids=False,
            requests=min(requests, customers // 2 - 1),
        ),
    ]


def page_ids(body: bytes, server: str) -> list[str]:
    """The row keys a list page shows: the dashboard's row checkboxes, the floor's data-id."""
    text = body.decode()
    if server == "dashboard":
        return re.findall(r'class="action-checkbox"[^>]*value="([^"]+)"', text)
    return re.findall(r'<tr data-id="([^"]+)"', text)


def measure(scenario: Scenario, floor: Client, dashboard: Client, requests: int, budget: float, run: Run) -> None:
    """Time ``scenario`` on both servers, one request each in turn, after the warm-ups.

    Stops early (after at least 10 pairs) once ``budget`` seconds are spent, so a full
    table scan on a million rows does not take an hour; the table says how many were made.
    """
    warm_floor, warm_dashboard = scenario.warmup or (scenario.floor[0], scenario.dashboard[0])
    for _ in range(WARMUPS):
        floor.get(warm_floor)
        dashboard.get(warm_dashboard)
    count = scenario.requests or requests
    times: dict[str, list[float]] = {"floor": [], "dashboard": []}
    sizes: dict[str, list[float]] = {"floor": [], "dashboard": []}
    started = time.monotonic()
    for i in range(count):
        paths = {
            "floor": scenario.floor[i % len(scenario.floor)],
            "dashboard": scenario.dashboard[i % len(scenario.dashboard)],
        }
        # Alternate who goes first, so neither always runs right after the other.
        order = ("floor", "dashboard") if i % 2 == 0 else ("dashboard", "floor")
        responses = {}
        for server in order:
            client = floor if server == "floor" else dashboard
            responses[server] = client.get(paths[server])
            times[server].append(responses[server].seconds)
            sizes[server].append(responses[server].size)
        if scenario.compare_ids and i < 3:
            ids = {server: page_ids(r.body, server) for server, r in responses.items()}
            if ids["floor"] != ids["dashboard"] or not ids["floor"]:
                raise BenchError(
                    f"{scenario.name}: the servers show different rows for "
                    f"{paths}: floor {ids['floor'][:5]}..., dashboard {ids['dashboard'][:5]}..."
                )
        if time.monotonic() - started > budget and i + 1 >= 10:
            break
    made = len(times["floor"])
    print(f"  {scenario.name}: {made} pairs in {time.monotonic() - started:.1f} s", flush=True)
    run.rows.append(Row(f"{scenario.name} (n={made})", times["floor"], times["dashboard"]))
    if scenario.name.startswith("list, first page"):
        run.rows.append(
            Row(
                f"list of {PAGE_SIZE} rows: response size",
                [sizes["floor"][0] / 1024],
                [sizes["dashboard"][0] / 1024],
                unit="KB",
                single=True,
            )
        )
    if scenario.name.startswith("edit form"):
        run.rows.append(
            Row(
                "edit form of id 1: response size",
                [sizes["floor"][0] / 1024],
                [sizes["dashboard"][0] / 1024],
                unit="KB",
                single=True,
            )
        )


def measure_export(
    floor: Server,
    dashboard: Server,
    clients: dict[str, Client],
    requests: int,
    max_rows: int,
    label: str,
    workers: int,
    run: Run,
) -> None:
    """Time CSV exports of up to ``max_rows`` rows, and the workers' peak memory while exporting.

    The dashboard stops at ``EXPORT_MAX_ROWS`` (set to ``max_rows`` for its server); the
    floor is asked for as many rows (``?limit=``), so both write the same lines.
    """
    paths = {"floor": f"/orders.csv?limit={max_rows}", "dashboard": "/admin/orders/export/csv/"}
    servers = {"floor": floor, "dashboard": dashboard}
    pids = {name: server.worker_pids(workers) for name, server in servers.items()}
    before = {name: max(memory_kb(pid, "VmRSS") for pid in group) for name, group in pids.items()}
    reset = all(reset_peak_memory(pid) for group in pids.values() for pid in group)
    times: dict[str, list[float]] = {"floor": [], "dashboard": []}
    lines: dict[str, int] = {}
    for i in range(requests):
        for name in ("floor", "dashboard") if i % 2 == 0 else ("dashboard", "floor"):
            response = clients[name].get(paths[name], keep_body=False)
            times[name].append(response.seconds)
            lines[name] = response.lines
    # Whichever worker answered the export has the highest peak.
    peak = {name: max(memory_kb(pid, "VmHWM") for pid in group) for name, group in pids.items()}
    run.rows.append(Row(f"CSV export, {label} (n={requests})", times["floor"], times["dashboard"], unit="s"))
    run.rows.append(
        Row("CSV export: worker peak RSS", [peak["floor"] / 1024], [peak["dashboard"] / 1024], unit="MB", single=True)
    )
    run.notes.append(
        f"CSV export: {lines['floor']:,} lines from the floor, {lines['dashboard']:,} from the dashboard "
        f"(header included; the dashboard adds a last line when EXPORT_MAX_ROWS cut the export). "
        f"Largest worker RSS before the exports: floor {before['floor'] / 1024:.0f} MB, "
        f"dashboard {before['dashboard'] / 1024:.0f} MB; peak RSS is the largest worker's "
        + (
            "VmHWM reset just before the exports (/proc/PID/clear_refs), so it is the exports' own peak."
            if reset
            else "VmHWM over the worker's whole life (the kernel refused to reset it)."
        )
    )


def measure_load(clients: dict[str, Client], concurrency: int, seconds: float, run: Run) -> None:
    """Requests/s on the first list page with ``concurrency`` clients, in alternating rounds."""
    results = {"floor": LoadResult(), "dashboard": LoadResult()}
    paths = {"floor": "/orders/?page=0", "dashboard": "/admin/orders/?page=0"}
    # Two rounds per server, in the order F D D F, so a burst of background load hurts both.
    for name in ("floor", "dashboard", "dashboard", "floor"):
        load(clients[name], paths[name], concurrency, seconds / 2, results[name])
    for name, result in results.items():
        print(f"  load {name}: {result.completed} requests in {result.seconds:.1f} s", flush=True)
    run.rows.append(
        Row(
            f"throughput, first page, {concurrency} clients, {seconds:.0f} s each",
            [results["floor"].per_second],
            [results["dashboard"].per_second],
            unit="req/s",
            single=True,
        )
    )
    run.rows.append(
        Row(
            f"latency under that load (n={results['floor'].completed}/{results['dashboard'].completed})",
            results["floor"].latencies,
            results["dashboard"].latencies,
        )
    )


# --------------------------------------------------------------------------- report


def _fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value * 1000:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "req/s":
        return f"{value:.1f} req/s"
    return f"{value:.1f} {unit}"


def table(rows: list[Row]) -> str:
    """The Markdown table: p50 and p99 per server and the ratios dashboard/floor."""
    lines = [
        "| scenario | floor p50 | dashboard p50 | ratio p50 | floor p99 | dashboard p99 | ratio p99 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cells = [row.name]
        points = [50] if row.single else [50, 99]
        for p in points:
            f, d = percentile(row.floor, p), percentile(row.dashboard, p)
            cells += [_fmt(f, row.unit), _fmt(d, row.unit), f"{d / f:.2f}x" if f else "-"]
        if row.single:
            cells += ["", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine(database_url: str) -> list[str]:
    """What the numbers were measured on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory = next(
        (line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")),
        "0",
    )
    facts = [
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
        f"{int(memory) / 1024 / 1024:.0f} GB RAM, Linux {platform.release()}, Python {platform.python_version()}"
    ]
    if database_url.startswith("sqlite"):
        facts.append(f"SQLite {sqlite3.sqlite_version}")
    else:
        import sqlalchemy as sa

        engine = sa.create_engine(database_url)
        try:
            with engine.connect() as connection:
                facts.append(str(connection.execute(sa.text("SELECT version()")).scalar_one()).split(" on ")[0])
        finally:
            engine.dispose()
    return facts


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark dashboard serve against a bare Flask floor.")
    parser.add_argument("--rows", type=int, default=1_000_000, help="orders in the demo database")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per scenario and server")
    parser.add_argument("--concurrency", type=int, default=4, help="clients in the throughput test")
    parser.add_argument("--load-seconds", type=float, default=10.0, help="length of the throughput test per server")
    parser.add_argument("--export-requests", type=int, default=3, help="timed CSV exports per server")
    parser.add_argument(
        "--export-max-rows",
        type=int,
        default=1_000_000,
        help="rows an export stops at on both servers (the dashboard's EXPORT_MAX_ROWS, whose default this is)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes of each server")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker of each server (dashboard serve's default)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=120.0,
        help="seconds per scenario after which it stops early (at least 10 pairs are made)",
    )
    parser.add_argument(
        "--postgresql-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="server and database used to CREATE DATABASE bench_<rows>",
    )
    parser.add_argument(
        "--ref",
        help="benchmark this git commit (git archive into a temp folder) "
        "instead of the dashboard package installed in this venv",
    )
    parser.add_argument("--keep-temp", action="store_true", help="keep the temp folder (server logs, state database)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    temp = Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    servers: list[Server] = []
    run = Run()
    failed = True
    try:
        env, commit, dashboard = source_under_test(args.ref, temp)
        if args.database == "sqlite":
            url = sqlite_data(args.rows, dashboard, env)
        else:
            url = postgresql_data(args.rows, args.postgresql_url, dashboard, env)
        password = add_bench_user(dashboard, env)

        floor_port, dashboard_port = free_port(), free_port()
        # The same gunicorn set-up for both: --workers gthread workers of --threads threads.
        pool = ["--workers", str(args.workers), "--threads", str(args.threads)]
        servers.append(
            start(
                "floor",
                [sys.executable, str(BENCH_DIR / "floor.py"), url, "--port", str(floor_port), *pool],
                floor_port,
                env,
                temp,
            )
        )
        servers.append(
            start(
                "dashboard",
                [*dashboard, "serve", url, "--port", str(dashboard_port), *pool],
                dashboard_port,
                {**env, "DASHBOARD_EXPORT_MAX_ROWS": str(args.export_max_rows)},
                temp,
            )
        )
        for server in servers:
            server.wait_ready()
        floor_server, dashboard_server = servers
        clients = {"floor": floor_server.client(), "dashboard": dashboard_server.client()}
        clients["dashboard"].login(BENCH_USER, password)
        sort_index, status_arg, customer_arg = discover(clients["dashboard"])
        load_before = loadavg()
        started = time.monotonic()

        for scenario in scenarios(args.rows, args.requests, sort_index, status_arg):
            measure(scenario, clients["floor"], clients["dashboard"], args.requests, args.budget, run)
        for scenario in facet_scenarios(args.rows, args.requests, customer_arg):
            # Both sides are the dashboard: the plain list in the "floor" column (see facet_scenarios).
            measure(scenario, clients["dashboard"], clients["dashboard"], args.requests, args.budget, run)
        run.notes.append(
            "The 'two facets vs the plain list' rows time the dashboard against itself: the floor "
            "column is the dashboard's plain list, the dashboard column the same list with the facets "
            "panel counting status and customer_id, so their ratio is what the facets cost."
        )
        exported = min(args.rows, args.export_max_rows)
        label = "whole table" if exported == args.rows else f"first {exported:,} rows (EXPORT_MAX_ROWS)"
        measure_export(
            floor_server, dashboard_server, clients, args.export_requests, exported, label, args.workers, run
        )
        measure_load(clients, args.concurrency, args.load_seconds, run)
        run.notes.append(
            f"Load average (1, 5, 15 min) {load_before} before the scenarios, {loadavg()} after; "
            f"the scenarios took {time.monotonic() - started:.0f} s."
        )
        failed = False
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
    finally:
        for server in servers:
            server.stop()
        if failed:
            for server in servers:
                print(f"--- {server.name} log ({server.log}) ---\n{server.log_tail()}", file=sys.stderr)
        if args.keep_temp or failed:
            print(f"temp folder kept: {temp}", file=sys.stderr)
        else:
            shutil.rmtree(temp, ignore_errors=True)
    if failed:
        return 1

    today = dt.date.today().isoformat()
    shown_url = url.replace(f":{password}@", "@")
    header = [
        f"# dashboard vs floor: {args.database}, {args.rows:,} orders",
        "",
        f"- date: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- dashboard: {commit}" + (f" (`--ref {args.ref}`)" if args.ref else " (installed package, working tree)"),
        f"- database: {shown_url}",
        f"- servers: gunicorn, {args.workers} gthread workers x {args.threads} threads each, for both",
        f"- machine: {'; '.join(machine(url))}",
        f"- command: `python bench/run.py {' '.join(sys.argv[1:] if argv is None else argv)}`",
        "",
    ]
    notes = [
        "Ratios are dashboard / floor: above 1x the dashboard is slower (for req/s, below 1x it serves fewer).",
        "p99 is nearest-rank: with fewer than 100 samples it is the slowest one.",
        *run.notes,
    ]
    report = "\n".join([*header, table(run.rows), "", *(f"- {note}" for note in notes)]) + "\n"
    print("\n" + report)
    results = BENCH_DIR / "results"
    results.mkdir(exist_ok=True)
    # With --ref the commit joins the name, so runs of two commits on one day both stay.
    suffix = f"-{commit}" if args.ref else ""
    path = results / f"{today}-{args.database}-{args.rows}{suffix}.md"
    path.write_text(report)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
