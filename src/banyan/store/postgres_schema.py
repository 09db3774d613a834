"""Versioned schema migrations of the PostgreSQL store.

``schema_migrations`` lists every migration applied (version, what it did, when). Opening a store
applies the missing ones in one transaction under an advisory lock, so processes that open a new
database at the same time never race; a store that is up to date is opened without any lock or
write (readers never block writers). A database written by a newer Banyan is refused.

A new migration is appended to ``MIGRATIONS`` with the next number; applied ones are never edited.
The SQL of the tables is the SQLite store's (``DOCUMENT_SCHEMA``, ``GRAPH_SCHEMA``), translated by
``store.dialect.pg_schema``, so both backends always hold the same tables and columns.
"""

from __future__ import annotations

from typing import Any

from banyan.errors import IndexNotFoundError, StoreError
from banyan.store.dialect import pg_schema
from banyan.store.document_tables import DOCUMENT_SCHEMA
from banyan.store.graph_tables import GRAPH_SCHEMA
from banyan.store.postgres_lock import TX_CLASS

MIGRATE_KEY = 0x6D696772
"""second key of the migration lock ("migr"), with ``TX_CLASS``"""

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, ("files, documents, chunks, embeddings, raw extractions, entities, communities, text vectors, "
         "extraction failures and type proposals (as SQLite schema 4); writer registry"),
     [*(pg_schema(s) for s in DOCUMENT_SCHEMA.split(";") if s.strip()),
      *(pg_schema(s) for s in GRAPH_SCHEMA),
      "CREATE TABLE IF NOT EXISTS banyan_writers (backend_pid INTEGER PRIMARY KEY, info TEXT NOT NULL)",
      "INSERT INTO meta VALUES ('version', '0') ON CONFLICT DO NOTHING",
      "INSERT INTO meta VALUES ('graph_changes', '0') ON CONFLICT DO NOTHING"]),
]
LATEST = MIGRATIONS[-1][0]

_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"""


def applied_version(conn: Any) -> int | None:
    """The last migration applied to the connection's database and schema; None if none ever was."""
    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None:
        return None
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])


def migrate(conn: Any, *, create: bool, where: str) -> int:
    """Bring the schema up to ``LATEST``; returns how many migrations were applied."""
    version = applied_version(conn)
    if version is None and not create:
        raise IndexNotFoundError(
            f"no Banyan index in the PostgreSQL database {where}; create one with "
            f"`banyan index PATH --store '{where}'`, or point --index at the index directory that uses it")
    if version is not None and version > LATEST:
        raise StoreError(f"{where} was written by a newer Banyan (schema {version} > {LATEST}); upgrade banyan-rag")
    if version == LATEST:
        return 0
    applied = 0
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (TX_CLASS, MIGRATE_KEY))
        conn.execute(_LEDGER)
        version = applied_version(conn) or 0  # another process may have migrated while we waited
        for number, description, statements in MIGRATIONS:
            if number <= version:
                continue
            for stmt in statements:
                conn.execute(stmt)
            conn.execute("INSERT INTO schema_migrations (version, description) VALUES (%s, %s)", (number, description))
            applied += 1
        conn.execute("INSERT INTO meta VALUES ('schema_version', %s) ON CONFLICT (key) DO UPDATE SET value = "
                     "EXCLUDED.value", (str(LATEST),))
    return applied
