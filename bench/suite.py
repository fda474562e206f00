"""How long the test suite takes on this machine, as a ratio to a reference workload run just before.

The suite is CPU-bound (both cores busy about 97 % of a run), and the machines it runs on
differ: the same commit took 348 s on one 2-core machine and 672 s on another. A time alone
says more about the machine than about the suite; the ratio to a fixed piece of Python work,
timed on the same machine minutes apart, does not.

    python bench/suite.py                   # the README's test command, every service required
    python bench/suite.py -- -k sqlite      # with more pytest arguments

What it prints: the reference time (one fixed pure-Python workload per usable core, all at
once, the median of three rounds), the suite's wall time, their ratio, and where the CPU went
during the suite, read from ``/proc``: Chromium with Playwright's driver, the PostgreSQL and
MariaDB servers, and the rest (pytest's workers, ``dashboard serve`` subprocesses, the
kernel, the machine's other services).

Chromium is sampled by process name twice a second, not taken from the resource usage of
pytest's children: its processes are not all reaped through pytest's process tree, so their
CPU is missing from it (42 % of a browser module's CPU was).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The README's test command, as .ci/run runs it.
SUITE = [sys.executable, "-m", "pytest", "-n", "auto", "--dist", "worksteal", "-q", "-p", "no:cacheprovider"]
#: Rounds of the reference workload; the median is kept.
ROUNDS = 3
#: Iterations of the reference workload: about 3 s of one core on the 2-core machine of 2026-12-03.
REFERENCE_ITERATIONS = 25_000


def _reference_work(iterations: int) -> int:
    """Interpreter-bound work of the kind the suite does: dicts, strings, small objects, calls."""
    total = 0
    for i in range(iterations):
        rows = [{"id": n, "name": f"row {n}", "total": n * 1.5} for n in range(200)]
        text = "".join(f"<td>{row['name']}</td><td>{row['total']:.2f}</td>" for row in rows)
        total += len(text) + sum(len(key) for row in rows for key in row) + i % 7
    return total


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def reference_seconds() -> float:
    """Wall time of :func:`_reference_work` in one process per usable core at once (median of rounds)."""
    cores = usable_cores()
    times = []
    with multiprocessing.get_context("spawn").Pool(cores) as pool:
        pool.map(_reference_work, [10] * cores)  # the workers started and warm
        for _ in range(ROUNDS):
            start = time.perf_counter()
            pool.map(_reference_work, [REFERENCE_ITERATIONS] * cores)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _busy_jiffies() -> int:
    """Clock ticks all CPUs have been busy since boot (neither idle nor waiting for the disk)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:8]) - fields[3] - fields[4]  # less idle and iowait


#: Process names (``/proc/PID/comm``) of Chromium and of Playwright's driver.
BROWSER_NAMES = ("chromium", "chrome", "chrome_crashpad", "headless_shell", "node-MainThread", "node")


def _process_jiffies(pid: int, reaped: bool = False) -> int:
    """CPU ticks of process ``pid`` (with the children it has reaped when ``reaped``); 0 when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(v) for v in fields[11 : 15 if reaped else 13])  # utime, stime[, cutime, cstime]


def _pids_named(names: tuple[str, ...]) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _server_jiffies(name: str) -> int:
    """CPU ticks of server ``name``'s oldest process and the children it has reaped (PostgreSQL's backends)."""
    pids = _pids_named((name,))
    return _process_jiffies(min(pids), reaped=True) if pids else 0


def _servers() -> dict[str, int]:
    return {"PostgreSQL server": _server_jiffies("postgres"), "MariaDB server": _server_jiffies("mariadbd")}


class _BrowserSampler(threading.Thread):
    """Adds up the CPU of Chromium's and Playwright's processes, read twice a second until stopped.

    What a process spent after its last reading (at most half a second's worth) is missed.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.last: dict[int, int] = {}
        self.done = threading.Event()
        self.before = {pid: _process_jiffies(pid) for pid in _pids_named(BROWSER_NAMES)}

    def run(self) -> None:
        while not self.done.wait(0.5):
            for pid in _pids_named(BROWSER_NAMES):
                self.last[pid] = max(self.last.get(pid, 0), _process_jiffies(pid))

    def jiffies(self) -> int:
        self.done.set()
        self.join()
        return sum(ticks - self.before.get(pid, 0) for pid, ticks in self.last.items())


def run_suite(extra: list[str]) -> tuple[float, int, dict[str, float]]:
    """Run the suite; return its wall time, exit status and CPU seconds by kind."""
    tick = os.sysconf("SC_CLK_TCK")
    env = {**os.environ, "DASHBOARD_TEST_REQUIRE_SERVICES": "1"}
    busy0 = _busy_jiffies()
    servers0 = _servers()
    browsers = _BrowserSampler()
    browsers.start()
    start = time.perf_counter()
    status = subprocess.call([*SUITE, *extra], cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    busy1 = _busy_jiffies()
    servers1 = _servers()
    cpu = {"Chromium and Playwright's driver (sampled)": browsers.jiffies() / tick}
    cpu.update({name: (servers1[name] - servers0[name]) / tick for name in servers0})
    cpu["the rest: pytest's workers, dashboard serve, the kernel, other services"] = max(
        0.0, (busy1 - busy0) / tick - sum(cpu.values())
    )
    return wall, status, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("pytest_args", nargs="*", help="more arguments for pytest (after --)")
    args = parser.parse_args(argv)
    cores = usable_cores()
    reference = reference_seconds()
    print(f"reference workload: {reference:.2f} s ({cores} processes at once, median of {ROUNDS})", flush=True)
    wall, status, cpu = run_suite(args.pytest_args)
    total = sum(cpu.values())
    print()
    print(f"suite: {wall:.1f} s wall, exit status {status}")
    print(f"suite / reference: {wall / reference:.1f}")
    print(f"CPU during the suite: {total:.0f} s of {cores * wall:.0f} available ({total / (cores * wall):.0%})")
    for name, seconds in cpu.items():
        print(f"  {seconds:7.1f} s  {seconds / total:4.0%}  {name}")
    return status


if __name__ == "__main__":
    sys.exit(main())
