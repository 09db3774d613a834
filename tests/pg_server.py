"""A throwaway PostgreSQL server for the tests: ``initdb`` in a temporary folder, ``pg_ctl`` on a
unix socket inside it, stopped (and the folder removed) at the end of the session.

PostgreSQL refuses to run as root: when the tests run as root, the server runs as the ``postgres``
OS user (``runuser``) in a folder it owns. Each test gets a fresh database (``pg_url``).

Where no PostgreSQL is installed the PostgreSQL tests are skipped with the reason, except in CI
(the ``CI`` variable set), where that is a failure: CI must run them. ``BANYAN_TEST_PG_URL`` points
the tests at an existing server instead (each test still creates its own database there).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

PG_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/postgresql*/bin",
                "/usr/local/opt/postgresql*/bin")
_databases = itertools.count(1)


def find_bin() -> Path | None:
    """The folder holding initdb and pg_ctl (PATH first, then the usual install places, newest first)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    for pattern in PG_BIN_GLOBS:
        for folder in sorted(glob.glob(pattern), reverse=True):
            if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
                return Path(folder)
    return None


def unavailable(reason: str) -> None:
    """Fail in CI (PostgreSQL tests must run there), skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


class PgServer:
    """One server in ``root``: ``start()``, then ``url(dbname)``, ``create_database()``, ``stop()``."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir, self.root = bin_dir, root
        self.data, self.socket = root / "data", root / "sock"
        self._as_postgres = os.geteuid() == 0 if hasattr(os, "geteuid") else False

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        self.socket.mkdir(parents=True)
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket, "postgres")
            os.chmod(self.root, 0o755)
        done = self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                         "--no-locale", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        opts = (f"-c listen_addresses='' -c unix_socket_directories='{self.socket}' -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB")
        done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", opts,
                         "-w", "-t", "60", "start")
        if done.returncode:
            log = (self.root / "server.log").read_text(errors="replace") if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr or done.stdout}\n{log[-2000:]}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@/{dbname}?host={quote(str(self.socket), safe='/')}"


def create_database(base_url: str) -> str:
    """A new, empty database on the server of ``base_url``; returns its URL."""
    import psycopg

    name = f"banyan_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    head, sep, query = base_url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}{sep}{query}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a running server's maintenance database (``postgres``), for this test session."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed (pip install 'banyan-rag[postgres]')")
    if os.environ.get("BANYAN_TEST_PG_URL"):
        yield os.environ["BANYAN_TEST_PG_URL"]
        return
    bin_dir = find_bin()
    if bin_dir is None:
        unavailable("no initdb/pg_ctl found (install PostgreSQL, or set BANYAN_TEST_PG_URL)")
    server = PgServer(bin_dir, Path(tempfile.mkdtemp(prefix="banyan-pg-")))  # type: ignore[arg-type]
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        server.stop()
        unavailable(f"could not start a PostgreSQL server: {exc}")
    try:
        yield server.url()
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty database for one test."""
    return create_database(pg_server)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Runs a test on both backends: "" (SQLite in the index directory) or a fresh PostgreSQL database."""
    return "" if request.param == "sqlite" else request.getfixturevalue("pg_url")
