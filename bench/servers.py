"""The benchmark's fixtures: the demo data, the dashboard source, and the two servers.

Everything here shells out to the same commands an operator types (``dashboard demo``,
``dashboard users add``, ``dashboard serve``), so the benchmark measures what ships.
"""

from __future__ import annotations

import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import tarfile
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from loadclient import BenchError, Client
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEMO_TABLES = ("customers", "products", "orders", "order_lines", "tags", "product_tags", "event_log")


# --------------------------------------------------------------------------- source


def export_source(ref: str, into: Path) -> str:
    """Extract the repository at ``ref`` into ``into`` (``git archive``: reads, never writes).

    Lets a run measure a commit while someone edits the working tree. Returns the commit.
    """
    commit = _git("rev-parse", "--short", f"{ref}^{{commit}}")
    archive = subprocess.run(
        ["git", "-C", str(REPO_DIR), "archive", "--format=tar", commit], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


def working_tree_commit() -> str:
    """HEAD, with ``+dirty`` (and the changed files) when the working tree differs from it."""
    commit = _git("rev-parse", "--short", "HEAD")
    # Not stripped: a porcelain line starts with a status column that may be a space.
    changed = [
        line[3:]
        for line in _git(
            "status",
            "--porcelain",
            "--untracked-files=all",
            "--",
            "dashboard",
            "templates",
            "config",
            "plugins",
            strip=False,
        ).splitlines()
        if line
    ]
    return f"{commit}+dirty ({', '.join(changed)})" if changed else commit


def _git(*args: str, strip: bool = True) -> str:
    output = subprocess.run(["git", "-C", str(REPO_DIR), *args], check=True, capture_output=True, text=True).stdout
    return output.strip() if strip else output


def source_under_test(ref: str | None, temp: Path) -> tuple[dict[str, str], str, list[str]]:
    """The environment, commit and ``dashboard`` command of one run over ``ref`` (else the
    working tree), with every per-run path inside ``temp``.

    gunicorn >= 25 opens a control socket at $XDG_RUNTIME_DIR/gunicorn.ctl (else
    ~/.gunicorn/gunicorn.ctl), one path for every server of the user: each run gets its own.
    """
    env = dict(os.environ)
    env["DASHBOARD_INSTANCE_PATH"] = str(temp / "instance")
    env["XDG_RUNTIME_DIR"] = str(temp)
    env.pop("DASHBOARD_DATABASE_URL", None)
    if ref:
        commit = export_source(ref, temp / "src")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(temp / "src"), env.get("PYTHONPATH")]))
    else:
        commit = working_tree_commit()
    return env, commit, dashboard_command(env)


def dashboard_command(env: t.Mapping[str, str]) -> list[str]:
    """How to run ``dashboard``: the venv's script, importing the package ``env`` points at."""
    script = Path(sys.executable).with_name("dashboard")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "dashboard.cli"]
    # From "/", as the servers run from a temp folder: a cwd holding dashboard/ would win.
    found = subprocess.run(
        [sys.executable, "-c", "import dashboard; print(dashboard.__file__)"],
        env=dict(env),
        check=True,
        capture_output=True,
        text=True,
        cwd="/",
    ).stdout.strip()
    print(f"dashboard package: {found}", flush=True)
    return command


# --------------------------------------------------------------------------- data


def sqlite_data(rows: int, dashboard: list[str], env: t.Mapping[str, str]) -> str:
    """The SQLite demo of ``rows`` orders in bench/data/, built once and reused."""
    data = BENCH_DIR / "data"
    data.mkdir(exist_ok=True)
    path = data / f"demo-{rows}.db"
    if path.is_file():
        print(f"reusing {path}", flush=True)
    else:
        # Built under another name and renamed: an interrupted build is never reused.
        partial = data / f".demo-{rows}.building.db"
        subprocess.run(
            [*dashboard, "demo", "--rows", str(rows), "--output", str(partial), "--force"], env=dict(env), check=True
        )
        os.replace(partial, path)
    return f"sqlite:///{path}"


def postgresql_data(rows: int, admin_url: str, dashboard: list[str], env: t.Mapping[str, str]) -> str:
    """The PostgreSQL database ``bench_<rows>`` holding the demo, created and filled once.

    :param admin_url: a database to connect to for CREATE DATABASE (the ``test`` one).
    """
    name = f"bench_{rows}"
    url = make_url(admin_url).set(database=name)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if exists and not _complete_demo(url, rows):
                # Our own database, left half-built by an interrupted run: start again.
                print(f"{name} holds no complete demo of {rows} rows; dropping it", flush=True)
                connection.execute(sa.text(f'DROP DATABASE "{name}"'))
                exists = None
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    rendered = url.render_as_string(hide_password=False)
    if _complete_demo(url, rows):
        print(f"reusing {url.render_as_string()}", flush=True)
    else:
        subprocess.run([*dashboard, "demo", "--rows", str(rows), "--url", rendered], env=dict(env), check=True)
    # COPY leaves the visibility map empty until a VACUUM: count(*) cannot use an
    # index-only scan before it. Autovacuum would do it at some unknown moment; doing it
    # now makes every run start from the same state.
    engine = sa.create_engine(rendered, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
    return rendered


def _complete_demo(url: sa.URL, rows: int) -> bool:
    engine = sa.create_engine(url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        if not set(DEMO_TABLES) <= tables:
            return False
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT count(*) FROM orders")).scalar_one() == rows
    except OperationalError:
        return False
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- servers


#: The operator both benchmarks log in as.
BENCH_USER = "bench"


def add_bench_user(dashboard: list[str], env: t.Mapping[str, str]) -> str:
    """Create :data:`BENCH_USER` (an admin) in the state database ``env`` points at; its password."""
    password = secrets.token_urlsafe(18)
    subprocess.run(
        [*dashboard, "users", "add", BENCH_USER, "--role", "admin", "--password-stdin"],
        input=password + "\n",
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    return password


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """One gunicorn server the benchmark started: its master process and its log."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def client(self) -> Client:
        return Client("127.0.0.1", self.port)

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Poll ``/healthz`` (public on both) until it answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.client().request("GET", "/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def worker_pids(self, expected: int) -> list[int]:
        """The gunicorn workers: the master's children, ``expected`` of them."""
        output = subprocess.run(
            ["ps", "--ppid", str(self.process.pid), "-o", "pid="], capture_output=True, text=True
        ).stdout.split()
        if len(output) != expected:
            raise BenchError(f"{self.name}: expected {expected} gunicorn workers, found {output}")
        return [int(pid) for pid in output]

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL if it is still there after 20 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(name: str, command: list[str], port: int, env: t.Mapping[str, str], logs: Path) -> Server:
    """Start ``command`` with its output in ``logs/<name>.log``."""
    log = logs / f"{name}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=dict(env), cwd=logs
        )
    return Server(name, process, port, log)


def memory_kb(pid: int, field: str) -> int:
    """A ``Vm*`` line of /proc/<pid>/status, in kB (VmHWM: peak resident set)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise BenchError(f"no {field} for process {pid}")


def reset_peak_memory(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5), so the next peak is the export's.

    Returns False where the kernel refuses; the peak then covers the worker's whole life.
    """
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False
