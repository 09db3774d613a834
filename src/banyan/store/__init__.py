"""Store: the index's source of truth (SQLite now, a server database later)."""

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

__all__ = ["DB_FILE", "FileChange", "GraphStore", "IndexStore", "Passage", "PendingWork", "RelationEdge", "SQLiteStore", "Store",
           "StoreStats", "WriteLock", "WriterInfo", "index_exists", "writer_of"]
