"""Files, documents, chunks and embeddings: the SQL every store shares (mixed into SQLiteStore and
PostgresStore; written in SQLite's dialect, see ``store.dialect``). Every change is one transaction."""

from __future__ import annotations

import bisect
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager

import numpy as np

from banyan.errors import NotIndexedError, StoreError
from banyan.store.access_tables import ACL_META, encode_allow
from banyan.store.base import FileChange, Passage, PendingWork, StoreStats
from banyan.types import Chunk, Citation, Document

RUN_META = "unfinished_run"
"""set while a writing command runs; left behind when it is killed or fails"""

DOCUMENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, content_hash TEXT NOT NULL, n_documents INTEGER NOT NULL,
    indexed_at REAL NOT NULL, allow TEXT NOT NULL DEFAULT 'public');
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    metadata TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS doc_sources (
    path TEXT NOT NULL, doc_id TEXT NOT NULL REFERENCES documents(id), ordinal INTEGER NOT NULL,
    PRIMARY KEY (path, doc_id));
CREATE INDEX IF NOT EXISTS doc_sources_doc ON doc_sources(doc_id);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(id), ordinal INTEGER NOT NULL,
    text TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, lang TEXT NOT NULL,
    n_tokens INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS embeddings (
    chunk_id TEXT NOT NULL REFERENCES chunks(id), model TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (model, chunk_id));
"""


class DocumentTables:
    """Needs ``self._db`` (a connection), ``self._tx()`` (one write transaction), ``self.writer()``
    and the graph mixin (``delete_chunk_rows``, ``resolved_version``, ...)."""

    _db: sqlite3.Connection
    _tx: Callable[[], AbstractContextManager[None]]

    def _bump(self, key: str = "version") -> None:
        self._db.execute("INSERT OR IGNORE INTO meta VALUES (?, '0')", (key,))
        self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key=?", (key,))

    # -- files and documents ----------------------------------------------------------------
    def file_hash(self, path: str) -> str | None:
        row = self._db.execute("SELECT content_hash FROM files WHERE path=?", (path,)).fetchone()
        return row[0] if row else None

    def indexed_files(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT path FROM files ORDER BY path")]

    def existing_documents(self, doc_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        ids = list(doc_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = f"SELECT id FROM documents WHERE id IN ({','.join('?' * len(part))})"
            found.update(r[0] for r in self._db.execute(q, part))
        return found

    def replace_file(self, path: str, file_hash: str, documents: Sequence[Document],
                     chunks: Sequence[Chunk], allow: Iterable[str] | None = None) -> FileChange:
        """Store a new version of ``path``. ``allow`` (principals) is set in the same transaction, so
        a restricted file is never visible to others, not even for a moment; None keeps the file's
        allow-list (``public`` for a new file)."""
        db = self._db
        with self._tx():
            old = {r[0] for r in db.execute("SELECT doc_id FROM doc_sources WHERE path=?", (path,))}
            db.execute("DELETE FROM doc_sources WHERE path=?", (path,))
            added = 0
            for ordinal, doc in enumerate(documents):
                cur = db.execute(
                    "INSERT OR IGNORE INTO documents VALUES (?,?,?,?,?)",
                    (doc.id, doc.source, doc.title, doc.text, json.dumps(doc.metadata, ensure_ascii=False)),
                )
                added += cur.rowcount
                db.execute("INSERT OR IGNORE INTO doc_sources VALUES (?,?,?)", (path, doc.id, ordinal))
            cur = db.executemany(
                "INSERT OR IGNORE INTO chunks VALUES (?,?,?,?,?,?,?,?)",
                [(c.id, c.doc_id, c.ordinal, c.text, c.start, c.end, c.lang, c.n_tokens) for c in chunks],
            )
            n_chunks = cur.rowcount
            removed = self._drop_orphans(old - {d.id for d in documents})
            db.execute(  # keeps the file's allow-list when it changes
                "INSERT INTO files (path, content_hash, n_documents, indexed_at) VALUES (?,?,?,?) ON CONFLICT(path) "
                "DO UPDATE SET content_hash=excluded.content_hash, n_documents=excluded.n_documents, "
                "indexed_at=excluded.indexed_at", (path, file_hash, len(documents), time.time()))
            if allow is not None:
                db.execute("UPDATE files SET allow=? WHERE path=?", (encode_allow(allow), path))
                self._bump(ACL_META)
            if added or removed or n_chunks:
                self._bump()
        return FileChange(added, removed, n_chunks)

    def remove_file(self, path: str) -> int:
        """Forget ``path``; raises NotIndexedError if it was never indexed."""
        with self._tx():
            if self._db.execute("SELECT 1 FROM files WHERE path=?", (path,)).fetchone() is None:
                raise NotIndexedError(f"{path} is not indexed here")
            old = {r[0] for r in self._db.execute("SELECT doc_id FROM doc_sources WHERE path=?", (path,))}
            self._db.execute("DELETE FROM doc_sources WHERE path=?", (path,))
            self._db.execute("DELETE FROM files WHERE path=?", (path,))
            removed = self._drop_orphans(old)
            self._bump()
        return removed

    def _drop_orphans(self, candidates: set[str]) -> int:
        removed = 0
        for doc_id in candidates:
            if self._db.execute("SELECT 1 FROM doc_sources WHERE doc_id=? LIMIT 1", (doc_id,)).fetchone():
                continue
            gone = self._db.execute(
                "DELETE FROM embeddings WHERE chunk_id IN (SELECT id FROM chunks WHERE doc_id=?)", (doc_id,)
            ).rowcount
            if gone:
                self._bump("vectors_changes")
            self.delete_chunk_rows(r[0] for r in self._db.execute("SELECT id FROM chunks WHERE doc_id=?", (doc_id,)).fetchall())
            self._db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
            removed += self._db.execute("DELETE FROM documents WHERE id=?", (doc_id,)).rowcount
        return removed

    # -- embeddings -------------------------------------------------------------------------
    def chunks_without_embedding(self, model: str) -> list[tuple[str, str, str]]:
        rows = self._db.execute(
            """SELECT c.id, d.title, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id
               WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model=? AND e.chunk_id=c.id)
               ORDER BY c.rowid""",
            (model,),
        )
        return rows.fetchall()

    def put_embeddings(self, model: str, chunk_ids: Sequence[str], vectors: np.ndarray) -> None:
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(chunk_ids) != len(vecs):
            raise StoreError(f"{len(chunk_ids)} chunk ids but {len(vecs)} vectors")
        with self._tx():
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?,?,?)",
                [(cid, model, vecs[i].tobytes()) for i, cid in enumerate(chunk_ids)],
            )
            self._bump("vectors_changes")
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('embedder', ?)", (model,))

    def load_embeddings(self, model: str) -> tuple[list[str], np.ndarray]:
        rows = self._db.execute(
            "SELECT chunk_id, vector FROM embeddings WHERE model=? ORDER BY chunk_id", (model,)
        ).fetchall()
        if not rows:
            return [], np.zeros((0, 0), np.float32)
        ids = [r[0] for r in rows]
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return ids, mat

    # -- reading ----------------------------------------------------------------------------
    def iter_chunks(self) -> Iterator[tuple[str, str, str]]:
        yield from self._db.execute(
            "SELECT c.id, d.title, c.text FROM chunks c JOIN documents d ON d.id=c.doc_id ORDER BY c.id"
        )

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """Chunks by id, in the order asked (missing ids are left out)."""
        found: dict[str, Chunk] = {}
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = f"""SELECT id, doc_id, ordinal, text, start, "end", lang, n_tokens FROM chunks
                    WHERE id IN ({','.join('?' * len(part))})"""
            for row in self._db.execute(q, part):
                found[row[0]] = Chunk(*row)
        return [found[c] for c in ids if c in found]

    def chunk_order(self) -> list[tuple[str, str, int]]:
        """(chunk id, document id, ordinal) of every chunk, for the lexical graph layer."""
        return self._db.execute("SELECT id, doc_id, ordinal FROM chunks ORDER BY doc_id, ordinal").fetchall()

    def citations(self, chunk_ids: Sequence[str]) -> dict[str, Passage]:
        out: dict[str, Passage] = {}
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = f"""SELECT c.id, c.doc_id, d.source, d.title, c.ordinal, c.start, c."end", c.text, d.metadata
                    FROM chunks c JOIN documents d ON d.id=c.doc_id WHERE c.id IN ({','.join('?' * len(part))})"""
            for cid, did, src, title, ordinal, start, end, text, meta in self._db.execute(q, part):
                first, last = _pages(meta, start, end)
                out[cid] = Passage(Citation(did, src, title, cid, ordinal, start, end, first, last), text)
        return out

    def version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        return int(row[0])

    def vectors_version(self) -> str:
        """Changes whenever chunks or vectors change (a vector index loaded at one value stays valid)."""
        rows = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('version', 'vectors_changes')"))
        return f"{rows.get('version', 0)}.{rows.get('vectors_changes', 0)}"

    def pending_work(self, model: str | None) -> PendingWork:
        """What earlier runs left unfinished: chunks without a vector from ``model`` (by default the
        last embedder that wrote vectors), chunks never extracted, a graph or communities older than
        their input."""
        one = lambda q, *a: self._db.execute(q, a).fetchone()[0]
        if model is None:
            row = self._db.execute("SELECT model FROM embeddings GROUP BY model ORDER BY COUNT(*) DESC LIMIT 1")
            model = self.get_meta("embedder") or next((r[0] for r in row), None)
        chunks = one("SELECT COUNT(*) FROM chunks")
        with_vector = one("SELECT COUNT(*) FROM embeddings WHERE model=?", model) if model else 0
        extracted = one("SELECT COUNT(*) FROM extracted")
        resolved = self.resolved_version()
        communities = self.communities_version()
        unfinished = self.get_meta(RUN_META)
        return PendingWork(
            chunks=chunks,
            embedder=model,
            chunks_without_vector=chunks - with_vector,
            chunks_unextracted=chunks - extracted,
            graph_built=resolved is not None,
            graph_stale=resolved is not None and resolved != self.graph_version(),
            communities_stale=bool(communities) and not communities.startswith(f"{resolved}@"),
            unfinished_run=unfinished if unfinished and self.writer() is None else None,
        )

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (key, value))

    def stats(self) -> StoreStats:
        one = lambda q: self._db.execute(q).fetchone()[0]
        return StoreStats(
            files=one("SELECT COUNT(*) FROM files"),
            documents=one("SELECT COUNT(*) FROM documents"),
            chunks=one("SELECT COUNT(*) FROM chunks"),
            embeddings=dict(self._db.execute("SELECT model, COUNT(*) FROM embeddings GROUP BY model").fetchall()),
            languages=dict(self._db.execute("SELECT lang, COUNT(*) FROM chunks GROUP BY lang").fetchall()),
        )


def _pages(metadata: str, start: int, end: int) -> tuple[int | None, int | None]:
    """First and last page (1-based) of ``start:end`` in a paged document (``page_starts`` in its metadata)."""
    if "page_starts" not in metadata:
        return None, None
    starts = json.loads(metadata).get("page_starts")
    if not starts:
        return None, None
    return bisect.bisect_right(starts, start), bisect.bisect_right(starts, max(start, end - 1))
