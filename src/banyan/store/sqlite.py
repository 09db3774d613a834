"""SQLite (WAL) implementation of the Store protocol. Every change is one transaction."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from banyan.errors import IndexNotFoundError, StoreError
from banyan.store.access_tables import AccessTables, add_allow_column
from banyan.store.connections import ThreadConnections
from banyan.store.document_tables import DOCUMENT_SCHEMA as _SCHEMA
from banyan.store.document_tables import RUN_META, DocumentTables
from banyan.store.extraction_tables import add_source_columns
from banyan.store.graph_tables import GRAPH_SCHEMA, GraphTables
from banyan.store.lock import WriteLock

SCHEMA_VERSION = 4
_CREATED = re.compile(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)")
DB_FILE = "banyan.sqlite"


def index_exists(index_dir: Path | str) -> bool:
    """Whether ``index_dir`` holds a Banyan index (checks without creating anything)."""
    return (Path(index_dir) / DB_FILE).is_file()


class SQLiteStore(DocumentTables, GraphTables, AccessTables):
    """The embedded store: ``<index_dir>/banyan.sqlite``.

    Each thread gets its own connection (SQLite connections must not be shared by threads that
    run statements at the same time); WAL lets readers go on while one writer commits.
    """

    def __init__(self, index_dir: Path, *, create: bool = True) -> None:
        self.path = Path(index_dir) / DB_FILE
        if not self.path.is_file() and not create:
            raise IndexNotFoundError(
                f"no Banyan index in {Path(index_dir).resolve()} (looked for {DB_FILE}); create one with "
                f"`banyan index PATH --index {index_dir}`, or point --index (or BANYAN_INDEX__DIR) at an index")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conns: ThreadConnections[sqlite3.Connection] = ThreadConnections(self._connect, str(self.path))
        self._write_lock = WriteLock(self.path.parent)
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable Banyan index ({exc})") from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @property
    def _db(self) -> sqlite3.Connection:
        return self._conns.get()

    # -- schema -----------------------------------------------------------------------------
    def _migrate(self) -> None:
        if self._current_schema():
            return  # a reader never needs the write lock just to open an index
        with self._tx():
            for stmt in [*filter(str.strip, _SCHEMA.split(";")), *GRAPH_SCHEMA]:
                self._db.execute(stmt)
            add_source_columns(self._db)  # v2 -> v3: provenance column on raw graph rows
            add_allow_column(self._db)  # v3 -> v4: each file's allow-list
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('version', '0')")
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('graph_changes', '0')")
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None or int(row[0]) < SCHEMA_VERSION:  # v1 -> ... -> v4: tables and columns added above
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer Banyan (schema {row[0]} > {SCHEMA_VERSION}); upgrade banyan-rag"
                )

    def _current_schema(self) -> bool:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError:  # no meta table yet: a new index
            return False
        if row is None or int(row[0]) != SCHEMA_VERSION:
            return False
        wanted = {m.group(1) for stmt in [_SCHEMA, *GRAPH_SCHEMA] for m in _CREATED.finditer(stmt)}
        present = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
        return wanted <= present

    # -- one writer at a time ---------------------------------------------------------------
    @contextmanager
    def writing(self, *, wait: bool = True, shared: bool = False) -> Iterator[None]:
        """Hold the index's write lock (re-entrant): a second writer waits, or with ``wait=False``
        raises IndexBusyError. Reads never need it. ``shared`` (per-file work that a server store
        lets several writers do at once) makes no difference here: SQLite has one writer."""
        self._write_lock.acquire(wait=wait)
        outermost = self._write_lock.depth == 1
        try:
            if outermost:  # stays behind if the run is killed or fails: `status` tells
                self.set_meta(RUN_META, self._write_lock.holder().describe())  # type: ignore[union-attr]
            yield
            if outermost:
                self._db.execute("DELETE FROM meta WHERE key=?", (RUN_META,))
        finally:
            self._write_lock.release()

    def writer(self) -> str | None:
        """Who is writing this index right now (this process included), or None."""
        info = self._write_lock.holder()
        return info.describe() if info else None

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)

    def llm_database(self) -> None:
        """None: the LLM cache and ledger stay in their own file beside the index (``<index>/llm.sqlite``)."""

    def close(self) -> None:
        """Close every thread's connection."""
        self._conns.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (which then propagates)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
