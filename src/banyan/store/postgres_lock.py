"""Writers of a PostgreSQL store: session advisory locks instead of the SQLite store's file lock.

Every process that writes takes the index's writer lock, ``pg_advisory_lock(WRITER_CLASS, key)``
(``key`` names the database and schema), on a connection of its own:

- **shared** (``writing(shared=True)``, what ``banyan index`` takes for reading files, storing
  them and embedding their chunks): several writers at once; their transactions are serialized
  one at a time by a transaction-level lock (``pg_advisory_xact_lock``, as SQLite's ``BEGIN
  IMMEDIATE``), so concurrent writers never deadlock or see half of another's change;
- **exclusive** (``writing()``, every global stage: extraction, entity resolution, communities,
  the BM25 rebuild, ``remove``, ``graph unmerge``): one writer, no shared holder. A nested
  exclusive ``writing()`` inside a shared one *upgrades*: it gives the shared lock up first (so
  two upgrading writers never wait for each other), waits for the exclusive one, and keeps it
  until the outermost ``writing()`` ends.

PostgreSQL drops a session's advisory locks when its connection ends, so a killed writer (even
``kill -9``: the server sees the socket close) never leaves the index locked. ``banyan_writers``
says who holds the lock: one row per server backend, shown only while that backend holds it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from banyan.errors import IndexBusyError
from banyan.store.lock import WriterInfo, _default_command

WRITER_CLASS = 0x62616E79
"""first key of the writer lock ("bany"); the second names the database and schema"""
TX_CLASS = 0x62616E7A
"""first key of the transaction lock (write transactions one at a time) and of schema migrations"""
log = logging.getLogger(__name__)


class PgWriteLock:
    """The writer lock of one PostgreSQL store; re-entrant within one object and one thread."""

    def __init__(self, connect: Callable[[], Any], key: int, where: str) -> None:
        self._connect = connect
        self.key = key
        self.where = where
        self._thread_lock = threading.RLock()
        self._conn: Any = None
        self._shared = False
        self._depth = 0
        self.info = ""

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def held(self) -> bool:
        return self._depth > 0

    def acquire(self, *, wait: bool = True, shared: bool = False, command: str | None = None) -> None:
        """Take the lock (shared or exclusive, see the module doc); busy: wait (saying so once) or
        raise IndexBusyError."""
        if not self._thread_lock.acquire(blocking=wait):
            raise IndexBusyError(f"{self.where} is being written by another thread of this process")
        try:
            if self._depth == 0:
                self._conn = self._connect()
                desc = WriterInfo(os.getpid(), command or _default_command(), time.time()).describe()
                self.info = f"{desc[:-1]}, on {socket.gethostname()})"
                self._conn.execute("INSERT INTO banyan_writers VALUES (pg_backend_pid(), %s) ON CONFLICT (backend_pid) "
                                   "DO UPDATE SET info = EXCLUDED.info", (self.info,))
                self._take(shared, wait)
                self._shared = shared
            elif self._shared and not shared:  # upgrade: never wait while holding the shared lock
                self._unlock(shared=True)
                try:
                    self._take(False, wait)
                except IndexBusyError:
                    self._take(True, True)
                    raise
                self._shared = False
            self._depth += 1
        except BaseException:
            if self._depth == 0:
                self._close()
            self._thread_lock.release()
            raise

    def release(self) -> None:
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0:
            self._unlock(shared=self._shared)
            self._conn.execute("DELETE FROM banyan_writers WHERE backend_pid = pg_backend_pid()")
            self._close()
        self._thread_lock.release()

    def holders(self) -> list[str]:
        """Who holds the writer lock now (this object included), by description."""
        if self._conn is not None:
            return self._holders(self._conn)
        conn = self._connect()
        try:
            return self._holders(conn)
        finally:
            conn.close()

    def _holders(self, conn: Any) -> list[str]:
        rows = conn.execute(
            """SELECT w.info FROM pg_locks l JOIN banyan_writers w ON w.backend_pid = l.pid
               WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = %s AND l.objid::bigint = %s
                 AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               ORDER BY w.info""", (WRITER_CLASS, self.key)).fetchall()
        return [r[0] for r in rows]

    def _take(self, shared: bool, wait: bool) -> None:
        suffix = "_shared" if shared else ""
        if self._conn.execute(f"SELECT pg_try_advisory_lock{suffix}(%s, %s)", (WRITER_CLASS, self.key)).fetchone()[0]:
            return
        who = ", ".join(h for h in self._holders(self._conn) if h != self.info) or "another process"
        if not wait:
            step = "a step that needs the index alone" if shared else "its own work, and this step needs the index alone"
            raise IndexBusyError(
                f"{self.where} is being written by {who} ({step}). "
                "Try again when it has finished, or wait for it (the default; not --no-wait / wait=False)")
        log.warning("%s is being written by %s; waiting for it to finish", self.where, who)
        self._conn.execute(f"SELECT pg_advisory_lock{suffix}(%s, %s)", (WRITER_CLASS, self.key))

    def _unlock(self, *, shared: bool) -> None:
        suffix = "_shared" if shared else ""
        self._conn.execute(f"SELECT pg_advisory_unlock{suffix}(%s, %s)", (WRITER_CLASS, self.key))

    def _close(self) -> None:
        conn, self._conn, self.info = self._conn, None, ""
        if conn is not None:
            conn.close()
