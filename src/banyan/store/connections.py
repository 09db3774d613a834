"""One database connection per thread, opened on first use, all closed together: what both the
SQLite and the PostgreSQL store need (a connection is never shared by two threads)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from banyan.errors import StoreError


class _Closeable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closeable)


class ThreadConnections(Generic[C]):
    """``get()`` returns the calling thread's connection, opening it with ``open_`` the first time
    (or again when ``alive`` says it was lost); ``close()`` closes every connection ever opened."""

    def __init__(self, open_: Callable[[], C], where: str, alive: Callable[[C], bool] = lambda _c: True) -> None:
        self._open, self._where, self._alive = open_, where, alive
        self._local = threading.local()
        self._all: list[C] = []
        self._lock = threading.Lock()
        self._closed = False

    def get(self) -> C:
        conn = getattr(self._local, "conn", None)
        if conn is None or not self._alive(conn):
            conn = self.open_extra()
            self._local.conn = conn
        return conn

    def open_extra(self) -> C:
        """A new connection, not bound to this thread, closed with the others."""
        if self._closed:
            raise StoreError(f"{self._where}: the store is closed")
        conn = self._open()
        with self._lock:
            self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._all:
                conn.close()
            self._all.clear()
