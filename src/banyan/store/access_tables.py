"""Who may read what: each indexed file's allow-list, and the document listing built on it.

A document is content-addressed and may come from several files; it is visible to a caller if
any file it came from allows one of the caller's principals (``public`` allows everyone).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager

from banyan.types import PUBLIC, ChunkSpan, DocumentInfo, normalize_principals

ACL_META = "acl_changes"


def add_allow_column(db: sqlite3.Connection) -> None:
    """Indexes written before access control lack ``files.allow``: add it, every file public (idempotent)."""
    cols = {r[1] for r in db.execute("PRAGMA table_info(files)")}
    if cols and "allow" not in cols:
        db.execute(f"ALTER TABLE files ADD COLUMN allow TEXT NOT NULL DEFAULT '{PUBLIC}'")


def encode_allow(allow: Iterable[str]) -> str:
    names = sorted(normalize_principals(allow))
    return ",".join(names) if names else PUBLIC


def decode_allow(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split(",") if p)


SQL_IN_MAX = 500
"""ids filtered in SQL (``IN (...)``) up to this many; more are read whole and filtered in Python"""


def _only(ids: Collection[str] | None, column: str) -> tuple[str, list[str]]:
    """A ``WHERE column IN (...)`` clause for a few ids, or none (all rows) for None or many ids."""
    if ids is None or len(ids) > SQL_IN_MAX:
        return "", []
    return f"WHERE {column} IN ({','.join('?' * len(ids))})", list(ids)


class AccessTables:
    """Allow-lists and document listings. Needs ``self._db``, ``self._tx`` and ``self._bump``."""

    _db: sqlite3.Connection
    _tx: Callable[[], AbstractContextManager[None]]
    _bump: Callable[[str], None]

    def set_allow(self, paths: Collection[str], allow: Iterable[str]) -> int:
        """Give the indexed files ``paths`` this allow-list; returns how many changed."""
        value = encode_allow(allow)
        changed = 0
        with self._tx():
            for path in paths:
                changed += self._db.execute("UPDATE files SET allow=? WHERE path=? AND allow<>?",
                                            (value, path, value)).rowcount
            if changed:
                self._bump(ACL_META)
        return changed

    def acl_version(self) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (ACL_META,)).fetchone()
        return str(row[0]) if row else "0"

    def all_public(self) -> bool:
        """Whether every indexed file is public (callers then need no filtering at all)."""
        return self._db.execute("SELECT 1 FROM files WHERE allow<>? LIMIT 1", (PUBLIC,)).fetchone() is None

    def document_allow(self, doc_ids: Collection[str] | None = None) -> dict[str, set[str]]:
        """Document id -> the union of its files' allow-lists (of every document, or of ``doc_ids``)."""
        where, args = _only(doc_ids, "s.doc_id")
        out: dict[str, set[str]] = {}
        for doc_id, allow in self._db.execute(
                f"SELECT s.doc_id, f.allow FROM doc_sources s JOIN files f ON f.path = s.path {where}", args):
            out.setdefault(doc_id, set()).update(decode_allow(allow))
        return out

    def shared_documents(self) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """Documents that more than one indexed file produced -> each file (sorted) with its allow-list."""
        out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for doc_id, path, allow in self._db.execute(
                """SELECT s.doc_id, s.path, f.allow FROM doc_sources s JOIN files f ON f.path = s.path
                   WHERE s.doc_id IN (SELECT doc_id FROM doc_sources GROUP BY doc_id HAVING COUNT(*) > 1)
                   ORDER BY s.doc_id, s.path"""):
            out.setdefault(doc_id, []).append((path, decode_allow(allow)))
        return out

    def chunk_documents(self) -> Iterator[tuple[str, str]]:
        """(chunk id, document id) for every chunk."""
        yield from self._db.execute("SELECT id, doc_id FROM chunks")

    def documents_info(self, doc_ids: Collection[str] | None = None) -> list[DocumentInfo]:
        """Indexed documents (all, or those in ``doc_ids``) with chunk counts and allow-lists, by source."""
        where, args = _only(doc_ids, "d.id")
        allow = self.document_allow(doc_ids if args else None)
        rows = self._db.execute(
            f"""SELECT d.id, d.source, d.title, COUNT(c.id), MAX(f.indexed_at) FROM documents d
               LEFT JOIN chunks c ON c.doc_id = d.id JOIN doc_sources s ON s.doc_id = d.id
               JOIN files f ON f.path = s.path {where} GROUP BY d.id ORDER BY d.source, d.title""", args)
        return [DocumentInfo(did, src, title, n, tuple(sorted(allow.get(did, {PUBLIC}))), float(at or 0.0))
                for did, src, title, n, at in rows if doc_ids is None or did in doc_ids]

    def document_text(self, doc_id: str) -> tuple[str, list[ChunkSpan]] | None:
        """A document's full text and its chunks' spans, or None if there is no such document."""
        row = self._db.execute("SELECT text FROM documents WHERE id=?", (doc_id,)).fetchone()
        if row is None:
            return None
        ids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE doc_id=? ORDER BY ordinal", (doc_id,))]
        found = self.citations(ids)  # type: ignore[attr-defined]
        spans = [ChunkSpan(c, found[c].citation.ordinal, found[c].citation.start, found[c].citation.end,
                           found[c].citation.page) for c in ids if c in found]
        return row[0], spans

    def file_allow(self, paths: Collection[str]) -> dict[str, tuple[str, ...]]:
        """Indexed file -> its allow-list (files not indexed are left out)."""
        rows = self._db.execute(f"SELECT path, allow FROM files WHERE path IN ({','.join('?' * len(paths))})",
                                list(paths)) if paths else []
        return {path: decode_allow(allow) for path, allow in rows}

    def document_files(self, doc_id: str) -> list[str]:
        """The indexed files a document came from."""
        return [r[0] for r in self._db.execute("SELECT path FROM doc_sources WHERE doc_id=? ORDER BY path", (doc_id,))]
