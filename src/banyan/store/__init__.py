"""Store: the index's source of truth (SQLite now, a server database later)."""

from banyan.store.base import FileChange, GraphStore, IndexStore, Passage, Store, StoreStats
from banyan.store.sqlite import SQLiteStore

__all__ = ["FileChange", "GraphStore", "IndexStore", "Passage", "SQLiteStore", "Store", "StoreStats"]
