"""Store tables for LLM extraction: failed chunks and schema-type proposals (mixed into GraphTables).

``extraction_failures`` and ``type_evidence`` rows belong to a chunk: re-extracting the chunk
replaces them and deleting it removes them. ``type_decisions`` (accepted or rejected types)
belong to the index and stay when the evidence goes.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from banyan.types import ExtractionFailure, TypeEvidence, TypeProposal

EXTRACTION_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS extraction_failures (chunk_id TEXT PRIMARY KEY REFERENCES chunks(id),
       extractor TEXT NOT NULL, error TEXT NOT NULL, attempts INTEGER NOT NULL, updated REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS type_evidence (chunk_id TEXT NOT NULL REFERENCES chunks(id), kind TEXT NOT NULL,
       name TEXT NOT NULL, description TEXT NOT NULL, example TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS type_evidence_chunk ON type_evidence(chunk_id)",
    "CREATE INDEX IF NOT EXISTS type_evidence_name ON type_evidence(kind, name)",
    """CREATE TABLE IF NOT EXISTS type_decisions (kind TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
       description TEXT NOT NULL, decided REAL NOT NULL, PRIMARY KEY (kind, name))""",
]

SOURCE_COLUMNS = ("mentions", "triples", "attributes")
"""Raw graph tables that record which extractor produced each row (column ``source``)."""

EXAMPLES = 3


def add_source_columns(db: sqlite3.Connection) -> None:
    """Indexes written before LLM extraction lack the ``source`` column: add it (idempotent)."""
    for table in SOURCE_COLUMNS:
        cols = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if cols and "source" not in cols:
            db.execute(f"ALTER TABLE {table} ADD COLUMN source TEXT NOT NULL DEFAULT ''")


class ExtractionTables:
    """Failed chunks and schema proposals. Needs ``self._db`` and ``self._tx``."""

    _db: sqlite3.Connection
    _tx: Callable[[], AbstractContextManager[None]]

    def _insert_evidence(self, evidence: Sequence[TypeEvidence]) -> None:
        """Inside the caller's transaction."""
        self._db.executemany("INSERT INTO type_evidence VALUES (?,?,?,?,?)",
                             [(e.chunk_id, e.kind, e.name, e.description, e.example) for e in evidence])

    # -- failed chunks --------------------------------------------------------------------------
    def record_extraction_failures(self, failures: Sequence[ExtractionFailure]) -> None:
        """Remember chunks whose extraction failed (replacing an earlier record of the same chunk)."""
        now = time.time()
        with self._tx():
            self._db.executemany("INSERT OR REPLACE INTO extraction_failures VALUES (?,?,?,?,?)",
                                 [(f.chunk_id, f.extractor, f.error[:500], f.attempts, now) for f in failures])

    def extraction_failures(self, limit: int | None = None) -> list[ExtractionFailure]:
        """Chunks whose last extraction failed, most recent first."""
        rows = self._db.execute("SELECT chunk_id, extractor, error, attempts FROM extraction_failures "
                                f"ORDER BY updated DESC, chunk_id LIMIT {-1 if limit is None else int(limit)}")
        return [ExtractionFailure(*r) for r in rows]

    # -- schema proposals -----------------------------------------------------------------------
    def type_proposals(self) -> list[TypeProposal]:
        """Every proposed type with the number of chunks supporting it and its decision, most supported first."""
        decided = {(k, n): (s, d) for k, n, s, d in self._db.execute(
            "SELECT kind, name, status, description FROM type_decisions")}
        grouped: dict[tuple[str, str], tuple[set[str], Counter[str], list[str]]] = {}
        for cid, kind, name, desc, example in self._db.execute(
                "SELECT chunk_id, kind, name, description, example FROM type_evidence ORDER BY rowid"):
            chunks, descs, examples = grouped.setdefault((kind, name), (set(), Counter(), []))
            chunks.add(cid)
            if desc:
                descs[desc] += 1
            if example and example not in examples and len(examples) < EXAMPLES:
                examples.append(example)
        out = []
        for key in set(grouped) | set(decided):
            chunks, descs, examples = grouped.get(key, (set(), Counter(), []))
            status, decided_desc = decided.get(key, ("pending", ""))
            desc = decided_desc or (descs.most_common(1)[0][0] if descs else "")
            out.append(TypeProposal(key[0], key[1], desc, len(chunks), tuple(examples), status))
        return sorted(out, key=lambda p: (-p.n_chunks, p.kind, p.name))

    def set_type_decision(self, kind: str, name: str, status: str, description: str = "") -> None:
        """Accept or reject a proposed type (``status``: accepted, rejected or pending to undo)."""
        with self._tx():
            if status == "pending":
                self._db.execute("DELETE FROM type_decisions WHERE kind=? AND name=?", (kind, name))
            else:
                self._db.execute("INSERT OR REPLACE INTO type_decisions VALUES (?,?,?,?,?)",
                                 (kind, name, status, description, time.time()))
