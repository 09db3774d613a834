"""Store: the index's source of truth (SQLite in the index directory, or a PostgreSQL server)."""

from __future__ import annotations

from pathlib import Path

from banyan.store.base import (
    FileChange,
    GraphStore,
    IndexStore,
    Passage,
    PendingWork,
    RelationEdge,
    Store,
    StoreStats,
)
from banyan.store.lock import WriteLock, WriterInfo, writer_of
from banyan.store.sqlite import DB_FILE, SQLiteStore, index_exists


def open_store(url: str, index_dir: Path | str, *, create: bool = True) -> IndexStore:
    """The store of an index: ``url`` empty -> SQLite in ``index_dir``; ``postgresql://...`` -> that
    database (``store.url`` in settings, ``banyan index --store``). ``create=False`` opens only an
    existing index (IndexNotFoundError otherwise). psycopg is imported only for PostgreSQL."""
    if not url:
        return SQLiteStore(Path(index_dir), create=create)
    from banyan.store.postgres import PostgresStore

    return PostgresStore(url, index_dir, create=create)


__all__ = ["DB_FILE", "FileChange", "GraphStore", "IndexStore", "Passage", "PendingWork", "RelationEdge", "SQLiteStore",
           "Store", "StoreStats", "WriteLock", "WriterInfo", "index_exists", "open_store", "writer_of"]
