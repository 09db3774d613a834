"""Store: the index's source of truth (SQLite now, a server database later)."""

from banyan.store.base import FileChange, Store, StoreStats
from banyan.store.sqlite import SQLiteStore

__all__ = ["FileChange", "SQLiteStore", "Store", "StoreStats"]
