"""The store's SQL is written once, in SQLite's dialect; this module speaks it to PostgreSQL.

The shared table mixins (``document_tables``, ``graph_tables``, ``access_tables``,
``extraction_tables``) call ``self._db.execute(sql, params)`` and ``executemany``. On PostgreSQL
``self._db`` is a :class:`PgConnection`, which rewrites each statement once (cached):

- ``?`` placeholders become ``%s`` (a literal ``%`` becomes ``%%``), outside quoted strings;
- ``INSERT OR IGNORE`` becomes ``INSERT ... ON CONFLICT DO NOTHING``;
- ``INSERT OR REPLACE`` becomes ``INSERT ... ON CONFLICT (key) DO UPDATE SET`` every other column
  (the keys are listed in ``UPSERT_KEYS``: a table missing there is a programming error);
- ``LIMIT -1`` (no limit) becomes ``LIMIT ALL``; an empty ``IN ()`` becomes ``IN (NULL)``.

Table definitions go through :func:`pg_schema`: ``BLOB`` -> ``BYTEA``, ``REAL`` -> ``DOUBLE
PRECISION`` (SQLite's REAL is 8 bytes), ``TEXT`` -> ``TEXT COLLATE "C"`` (byte order, as SQLite
sorts, so every ``ORDER BY`` gives the same order on both), and tables read ``ORDER BY rowid`` get
a ``rowid BIGSERIAL`` column (insertion order, as SQLite's rowid).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from banyan.errors import StoreError

if TYPE_CHECKING:  # psycopg is imported only when a PostgreSQL store is opened
    import psycopg

UPSERT_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # table: (conflict key, every column in declaration order)
    "meta": (("key",), ("key", "value")),
    "embeddings": (("model", "chunk_id"), ("chunk_id", "model", "vector")),
    "text_vectors": (("model", "text"), ("model", "text", "vector")),
    "extraction_failures": (("chunk_id",), ("chunk_id", "extractor", "error", "attempts", "updated")),
    "type_decisions": (("kind", "name"), ("kind", "name", "status", "description", "decided")),
}

ROWID_TABLES = ("chunks", "mentions", "triples", "attributes", "type_evidence")
"""tables the mixins read in insertion order (``ORDER BY rowid``)"""

_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\s+", re.IGNORECASE)
_OR_REPLACE = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*", re.IGNORECASE)
_LIMIT_NONE = re.compile(r"\bLIMIT\s+-1\b", re.IGNORECASE)
_EMPTY_IN = re.compile(r"\bIN\s*\(\s*\)", re.IGNORECASE)
_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(\w+)\s*\(", re.IGNORECASE)


def _placeholders(sql: str) -> str:
    """``?`` -> ``%s`` and ``%`` -> ``%%`` outside single-quoted strings and double-quoted names."""
    out: list[str] = []
    quote = ""
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """One SQLite statement of the store, as PostgreSQL runs it."""
    text = sql.strip().rstrip(";")
    suffix = ""
    if _OR_IGNORE.match(text):
        text = _OR_IGNORE.sub("INSERT INTO ", text, count=1)
        suffix = " ON CONFLICT DO NOTHING"
    elif m := _OR_REPLACE.match(text):
        table = m.group(1)
        if table not in UPSERT_KEYS:
            raise StoreError(f"INSERT OR REPLACE INTO {table}: no conflict key known for PostgreSQL "
                             "(add the table to banyan.store.dialect.UPSERT_KEYS)")
        keys, columns = UPSERT_KEYS[table]
        text = _OR_REPLACE.sub(f"INSERT INTO {table} ", text, count=1)
        updates = ", ".join(f"{c}=EXCLUDED.{c}" for c in columns if c not in keys)
        suffix = f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    text = _EMPTY_IN.sub("IN (NULL)", _LIMIT_NONE.sub("LIMIT ALL", text))
    return _placeholders(text) + suffix


def pg_schema(statement: str) -> str:
    """A ``CREATE TABLE`` / ``CREATE INDEX`` statement of the SQLite schema in PostgreSQL types."""
    text = statement.strip().rstrip(";")
    text = re.sub(r"\bBLOB\b", "BYTEA", text)
    text = re.sub(r"\bREAL\b", "DOUBLE PRECISION", text)
    text = re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', text)
    m = _TABLE.match(text)
    if m and m.group(1) in ROWID_TABLES:
        text = text[: text.rstrip().rfind(")")] + ", rowid BIGSERIAL)"
    return text


class PgConnection:
    """A psycopg connection that takes the mixins' SQLite statements (see the module doc).

    It stays in autocommit mode: a statement outside ``transaction()`` commits alone, as a
    statement outside ``BEGIN`` does on SQLite.
    """

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        return self.raw.execute(translate(sql), tuple(params or ()))  # () too: it turns %% back into %

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        rows = [tuple(r) for r in rows]
        if not rows:
            return _NO_ROWS  # type: ignore[return-value]
        cur = self.raw.cursor()
        cur.executemany(translate(sql), rows)
        return cur

    def close(self) -> None:
        self.raw.close()


class PgTableAdapter:
    """A connection for callers outside the store that bring their own tables in SQLite's dialect
    (the LLM cache and ledger, ``llm.ledger.LLMDatabase``): statements translated, tables created
    through ``pg_schema``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params)

    def create_table(self, statement: str) -> None:
        self.conn.execute(pg_schema(statement))


class _NoRows:
    """What ``executemany`` over no rows returns (SQLite: rowcount 0, not psycopg's -1)."""

    rowcount = 0

    def fetchall(self) -> list[tuple[Any, ...]]:
        return []


_NO_ROWS = _NoRows()
