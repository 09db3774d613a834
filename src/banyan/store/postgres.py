"""PostgreSQL implementation of the Store and GraphStore protocols (psycopg 3, imported on first use).

The SQL is the SQLite store's: the same table mixins (``DocumentTables``, ``GraphTables``,
``AccessTables``) run over a :class:`~banyan.store.dialect.PgConnection` that translates it. What
differs lives here: connecting, the versioned migrations (``postgres_schema``), one write
transaction at a time (``_tx``), and writers that may work at once (``postgres_lock``).

One store is one database (and schema: ``?options=-csearch_path%3Dmyschema`` in the URL picks
another). The index directory still holds ``banyan.toml`` (which records the URL), the BM25 index
and the LLM ledger; vectors are BYTEA rows holding the same float32 bytes as SQLite's blobs.
"""

from __future__ import annotations

import os
import re
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from banyan.errors import ConfigError, StoreError
from banyan.settings import redact_url
from banyan.store.access_tables import AccessTables
from banyan.store.connections import ThreadConnections
from banyan.store.dialect import PgConnection, PgTableAdapter
from banyan.store.document_tables import RUN_META, DocumentTables
from banyan.store.graph_tables import GraphTables
from banyan.store.postgres_lock import TX_CLASS, PgWriteLock
from banyan.store.postgres_schema import migrate

_ENV_REF = re.compile(r"\$\{(\w+)\}")
APPLICATION_NAME = "banyan"


def expand_env(url: str) -> str:
    """``${VAR}`` in a store URL, from the environment (ConfigError naming the variable if unset)."""
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in os.environ:
            raise ConfigError(f"the store URL {redact_url(url)} refers to ${{{m.group(1)}}}, which is not set")
        return os.environ[m.group(1)]

    return _ENV_REF.sub(sub, url)


def connect(url: str, where: str) -> Any:
    """A new autocommit psycopg connection; StoreError saying what to check when it fails."""
    try:
        import psycopg
    except ImportError as exc:
        raise StoreError(f"the store {where} is PostgreSQL, which needs psycopg: "
                         "pip install 'banyan-rag[postgres]'") from exc
    extra = {} if "connect_timeout" in url else {"connect_timeout": 15}
    try:
        return psycopg.connect(url, autocommit=True, application_name=APPLICATION_NAME, **extra)
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise StoreError(
            f"cannot connect to the PostgreSQL store {where}: {reason}. Check that the server is running and "
            f"reachable (`pg_isready -d '{where}'`), that the database exists (`createdb`), and the user and "
            "password (PGPASSWORD or ~/.pgpass; a password in the URL is not kept in banyan.toml)") from exc
    except psycopg.ProgrammingError as exc:  # a malformed URL
        raise ConfigError(f"invalid PostgreSQL store URL {where}: {exc}") from exc


class PostgresStore(DocumentTables, GraphTables, AccessTables):
    """An index held by a PostgreSQL server; several processes may read and write it at once.

    Each thread gets its own connection (autocommit; ``_tx`` opens a transaction). Readers see
    committed state only and never wait for writers.
    """

    def __init__(self, url: str, index_dir: Path | str | None = None, *, create: bool = True) -> None:
        self.url = url
        self.where = redact_url(url)
        self.index_dir = Path(index_dir) if index_dir is not None else None
        self._dsn = expand_env(url)
        self._conns: ThreadConnections[PgConnection] = ThreadConnections(
            lambda: PgConnection(self._connect()), self.where, alive=lambda c: not c.raw.closed)
        self._llm_db: PgTableAdapter | None = None
        self._llm_lock = threading.Lock()
        db = self._db.raw  # connects: StoreError saying what to check when it cannot
        import psycopg

        try:
            name, schema = db.execute("SELECT current_database(), current_schema()").fetchone()
            if schema is None:
                raise StoreError(f"{self.where}: no schema to create the index in (check search_path in the URL)")
            key = zlib.crc32(f"{name}.{schema}".encode()) & 0x7FFFFFFF
            self._write_lock = PgWriteLock(self._connect, key, self.where)
            self._tx_key = key
            migrate(db, create=create, where=self.where)
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"{self.where}: not a usable Banyan index ({exc})") from exc
        except BaseException:
            self.close()
            raise
        if create and self.index_dir is not None:  # banyan.toml, the BM25 index and the LLM ledger live there
            self.index_dir.mkdir(parents=True, exist_ok=True)

    def _connect(self) -> Any:
        return connect(self._dsn, self.where)

    @property
    def _db(self) -> PgConnection:  # type: ignore[override]
        return self._conns.get()

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One write transaction; write transactions of every process take turns (as SQLite's
        ``BEGIN IMMEDIATE``), so concurrent writers never deadlock. Rolled back on any exception."""
        raw = self._db.raw
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s, %s)", (TX_CLASS, self._tx_key))
            yield

    # -- writers ----------------------------------------------------------------------------
    @contextmanager
    def writing(self, *, wait: bool = True, shared: bool = False) -> Iterator[None]:
        """Hold the index's writer lock (re-entrant). ``shared``: per-file work (reading, storing and
        embedding files) beside other writers doing the same; otherwise exclusive: the global
        stages run alone (a nested exclusive ``writing()`` upgrades a shared one; see
        ``postgres_lock``). Busy: wait, or with ``wait=False`` raise IndexBusyError."""
        self._write_lock.acquire(wait=wait, shared=shared)
        outermost = self._write_lock.depth == 1
        me = self._write_lock.info
        try:
            if outermost:  # stays behind if the run is killed or fails: `status` tells
                self.set_meta(RUN_META, me)
            yield
            if outermost:  # another writer's mark stays (it has not finished)
                self._db.execute("DELETE FROM meta WHERE key=? AND value=?", (RUN_META, me))
        finally:
            self._write_lock.release()

    def writer(self) -> str | None:
        """Who is writing this index right now (this process included; writers of per-file work
        may be several), or None."""
        holders = self._write_lock.holders()
        return ", ".join(holders) if holders else None

    def llm_database(self) -> PgTableAdapter:
        """The LLM cache and ledger live in this database too (tables ``llm_cache``, ``llm_calls``,
        ``llm_events`` beside the index's), so every machine shares them. One connection, shared."""
        with self._llm_lock:
            if self._llm_db is None or self._llm_db.conn.raw.closed:
                self._llm_db = PgTableAdapter(self._conns.open_extra())
            return self._llm_db

    def close(self) -> None:
        """Close every thread's connection."""
        self._conns.close()
