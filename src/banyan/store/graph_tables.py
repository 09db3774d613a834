"""Graph tables of the SQLite store: raw extractions (per chunk) and resolved entities.

Raw rows (mentions, triples, attributes) belong to a chunk and disappear with it. Resolved
entities are derived from all mentions by the resolution stage and replaced as a whole.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager

import numpy as np

from banyan.extract.base import AttributeValue, Extraction, Mention, Triple

GRAPH_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS extracted (chunk_id TEXT PRIMARY KEY REFERENCES chunks(id), extractor TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS mentions (chunk_id TEXT NOT NULL REFERENCES chunks(id), surface TEXT NOT NULL,
       norm TEXT NOT NULL, type TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, topic INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS mentions_chunk ON mentions(chunk_id)",
    """CREATE TABLE IF NOT EXISTS triples (chunk_id TEXT NOT NULL REFERENCES chunks(id), head TEXT NOT NULL,
       phrase TEXT NOT NULL, tail TEXT NOT NULL, type TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS triples_chunk ON triples(chunk_id)",
    "CREATE INDEX IF NOT EXISTS triples_phrase ON triples(phrase)",
    """CREATE TABLE IF NOT EXISTS attributes (chunk_id TEXT NOT NULL REFERENCES chunks(id), entity TEXT NOT NULL,
       key TEXT NOT NULL, value TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS attributes_chunk ON attributes(chunk_id)",
    """CREATE TABLE IF NOT EXISTS entities (id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
       n_chunks INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS entity_keys (norm TEXT NOT NULL, type TEXT NOT NULL, entity_id TEXT NOT NULL,
       PRIMARY KEY (norm, type))""",
    """CREATE TABLE IF NOT EXISTS merges (entity_id TEXT NOT NULL, member TEXT NOT NULL, rule TEXT NOT NULL,
       score REAL NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS keep_apart (a TEXT NOT NULL, b TEXT NOT NULL, PRIMARY KEY (a, b))",
    """CREATE TABLE IF NOT EXISTS communities (id TEXT PRIMARY KEY, level INTEGER NOT NULL, parent TEXT,
       size INTEGER NOT NULL, title TEXT NOT NULL, keywords TEXT NOT NULL, report TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS community_members (community_id TEXT NOT NULL, entity_id TEXT NOT NULL,
       PRIMARY KEY (community_id, entity_id))""",
    """CREATE TABLE IF NOT EXISTS text_vectors (model TEXT NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL,
       PRIMARY KEY (model, text))""",
]

CHUNK_OWNED = ("extracted", "mentions", "triples", "attributes")


class GraphTables:
    """Mixed into SQLiteStore: needs ``self._db`` and ``self._tx``."""

    _db: sqlite3.Connection
    _tx: Callable[[], AbstractContextManager[None]]

    def chunks_without_extraction(self, extractor_for: Callable[[str], str | None]) -> list[tuple[str, str]]:
        """(chunk id, language) of chunks not yet extracted (or extracted by an outdated extractor)."""
        rows = self._db.execute(
            "SELECT c.id, c.lang, e.extractor FROM chunks c LEFT JOIN extracted e ON e.chunk_id=c.id ORDER BY c.rowid"
        )
        return [(cid, lang) for cid, lang, done in rows if extractor_for(lang) and done != extractor_for(lang)]

    def put_extraction(self, extractor: str, chunk_ids: Sequence[str], ex: Extraction) -> None:
        """Replace the extraction of ``chunk_ids`` in one transaction."""
        with self._tx():
            for table in CHUNK_OWNED:
                self._db.executemany(f"DELETE FROM {table} WHERE chunk_id=?", [(c,) for c in chunk_ids])
            self._db.executemany("INSERT INTO extracted VALUES (?,?)", [(c, extractor) for c in chunk_ids])
            self._db.executemany(
                "INSERT INTO mentions VALUES (?,?,?,?,?,?,?)",
                [(m.chunk_id, m.surface, m.norm, m.type, m.start, m.end, int(m.topic)) for m in ex.mentions],
            )
            self._db.executemany("INSERT INTO triples VALUES (?,?,?,?,?)",
                                 [(t.chunk_id, t.head, t.phrase, t.tail, t.type) for t in ex.triples])
            self._db.executemany("INSERT INTO attributes VALUES (?,?,?,?)",
                                 [(a.chunk_id, a.entity, a.key, a.value) for a in ex.attributes])
            self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='graph_changes'")

    def first_chunk_titles(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        """Document title of each given chunk that opens its document (ordinal 0)."""
        out: dict[str, str] = {}
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = f"""SELECT c.id, d.title FROM chunks c JOIN documents d ON d.id = c.doc_id
                    WHERE c.ordinal = 0 AND c.id IN ({','.join('?' * len(part))})"""
            out.update(self._db.execute(q, part).fetchall())
        return out

    def delete_chunk_rows(self, chunk_ids: Iterable[str]) -> None:
        """Called inside a store transaction when chunks go away."""
        ids = [(c,) for c in chunk_ids]
        for table in CHUNK_OWNED:
            self._db.executemany(f"DELETE FROM {table} WHERE chunk_id=?", ids)

    def load_mentions(self) -> list[Mention]:
        return [Mention(c, s, n, t, a, b, bool(tp)) for c, s, n, t, a, b, tp in self._db.execute(
            'SELECT chunk_id, surface, norm, type, start, "end", topic FROM mentions ORDER BY rowid')]

    def load_triples(self) -> list[Triple]:
        return [Triple(*r) for r in self._db.execute(
            "SELECT chunk_id, head, phrase, tail, type FROM triples ORDER BY rowid")]

    def load_attributes(self) -> list[AttributeValue]:
        return [AttributeValue(*r) for r in self._db.execute(
            "SELECT chunk_id, entity, key, value FROM attributes ORDER BY rowid")]

    def set_triple_types(self, phrase_types: dict[str, str]) -> None:
        with self._tx():
            self._db.executemany("UPDATE triples SET type=? WHERE phrase=?", [(t, p) for p, t in phrase_types.items()])

    def replace_entities(self, entities: Sequence[tuple[str, str, str, int]], keys: Sequence[tuple[str, str, str]],
                         merges: Sequence[tuple[str, str, str, float]], graph_version: str) -> None:
        """Swap in a whole new resolution result: (id, name, type, n_chunks), (norm, type, id), merges."""
        with self._tx():
            for table in ("entities", "entity_keys", "merges"):
                self._db.execute(f"DELETE FROM {table}")
            self._db.executemany("INSERT INTO entities VALUES (?,?,?,?)", entities)
            self._db.executemany("INSERT INTO entity_keys VALUES (?,?,?)", keys)
            self._db.executemany("INSERT INTO merges VALUES (?,?,?,?)", merges)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('resolved_at', ?)", (graph_version,))

    def graph_version(self) -> str:
        """Changes whenever chunks or extractions change: resolution must rerun when it differs."""
        row = self._db.execute("SELECT value FROM meta WHERE key='graph_changes'").fetchone()
        return f"{self.version()}.{row[0] if row else 0}"  # type: ignore[attr-defined]

    def resolved_version(self) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key='resolved_at'").fetchone()
        return row[0] if row else None

    def load_entities(self) -> tuple[list[tuple[str, str, str, int]], dict[tuple[str, str], str]]:
        ents = self._db.execute("SELECT id, name, type, n_chunks FROM entities ORDER BY id").fetchall()
        keys = {(n, t): e for n, t, e in self._db.execute("SELECT norm, type, entity_id FROM entity_keys")}
        return ents, keys

    def load_merges(self) -> list[tuple[str, str, str, float]]:
        return self._db.execute("SELECT entity_id, member, rule, score FROM merges ORDER BY entity_id").fetchall()

    def keep_apart(self) -> set[tuple[str, str]]:
        return {(a, b) for a, b in self._db.execute("SELECT a, b FROM keep_apart")}

    def add_keep_apart(self, a: str, b: str) -> None:
        with self._tx():
            self._db.execute("INSERT OR IGNORE INTO keep_apart VALUES (?,?)", tuple(sorted((a, b))))
            self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='graph_changes'")

    def text_vectors(self, model: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(texts), 500):
            part = list(texts[i : i + 500])
            q = f"SELECT text, vector FROM text_vectors WHERE model=? AND text IN ({','.join('?' * len(part))})"
            for text, blob in self._db.execute(q, [model, *part]):
                out[text] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_text_vectors(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._tx():
            self._db.executemany("INSERT OR REPLACE INTO text_vectors VALUES (?,?,?)",
                                 [(model, t, vecs[i].tobytes()) for i, t in enumerate(texts)])

    # -- communities ----------------------------------------------------------------------------
    def replace_communities(self, rows: Sequence[tuple[str, int, str | None, int, str, str, str]],
                            members: Sequence[tuple[str, str]], version: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM communities")
            self._db.execute("DELETE FROM community_members")
            self._db.executemany("INSERT INTO communities VALUES (?,?,?,?,?,?,?)", rows)
            self._db.executemany("INSERT INTO community_members VALUES (?,?)", members)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('communities_at', ?)", (version,))

    def community_members(self, level: int) -> list[tuple[str, str, list[str]]]:
        """(community id, keyword text, member entity ids) of every community at ``level``."""
        rows = self._db.execute("SELECT id, keywords FROM communities WHERE level=? ORDER BY id", (level,)).fetchall()
        members: dict[str, list[str]] = {}
        for cid, eid in self._db.execute(
                "SELECT m.community_id, m.entity_id FROM community_members m JOIN communities c ON c.id = m.community_id "
                "WHERE c.level=?", (level,)):
            members.setdefault(cid, []).append(eid)
        return [(cid, ", ".join(json.loads(kw)), members.get(cid, [])) for cid, kw in rows]

    def list_communities(self, level: int | None = None, limit: int = 50) -> list[tuple[str, int, str | None, int, str]]:
        where, args = ("WHERE level=?", [level]) if level is not None else ("", [])
        return self._db.execute(f"SELECT id, level, parent, size, title FROM communities {where} "
                                f"ORDER BY level, size DESC LIMIT ?", [*args, limit]).fetchall()

    def get_community(self, cid: str) -> dict[str, object] | None:
        row = self._db.execute("SELECT id, level, parent, size, title, keywords, report FROM communities "
                               "WHERE id=? OR id LIKE ?", (cid, cid + "%")).fetchone()
        if row is None:
            return None
        members = [r[0] for r in self._db.execute(
            "SELECT e.name FROM community_members m JOIN entities e ON e.id = m.entity_id WHERE m.community_id=? "
            "ORDER BY e.n_chunks DESC LIMIT 100", (row[0],))]
        return {"id": row[0], "level": row[1], "parent": row[2], "size": row[3], "title": row[4],
                "keywords": json.loads(row[5]), "report": json.loads(row[6]), "members": members}

    # -- inspection ---------------------------------------------------------------------------
    def find_entity(self, norm: str) -> tuple[str, str, str, int] | None:
        row = self._db.execute(
            "SELECT e.id, e.name, e.type, e.n_chunks FROM entity_keys k JOIN entities e ON e.id = k.entity_id "
            "WHERE k.norm = ? ORDER BY e.n_chunks DESC LIMIT 1", (norm,)).fetchone()
        return tuple(row) if row else None  # type: ignore[return-value]

    def entity_norms(self, entity_id: str) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT norm FROM entity_keys WHERE entity_id=? ORDER BY norm",
                                               (entity_id,))]

    def triples_of(self, norms: Sequence[str], limit: int = 50) -> list[tuple[str, str, str, str, str]]:
        """(head, phrase, tail, type, chunk id) of triples touching any of ``norms``."""
        marks = ",".join("?" * len(norms))
        return self._db.execute(
            f"SELECT head, phrase, tail, type, chunk_id FROM triples WHERE head IN ({marks}) OR tail IN ({marks}) "
            f"LIMIT ?", [*norms, *norms, limit]).fetchall()

    def attributes_of(self, norms: Sequence[str]) -> list[tuple[str, str, str]]:
        marks = ",".join("?" * len(norms))
        return self._db.execute(f"SELECT key, value, chunk_id FROM attributes WHERE entity IN ({marks})",
                                list(norms)).fetchall()

    def provenance_of(self, norms: Sequence[str], limit: int = 20) -> list[tuple[str, str, str, int]]:
        """(chunk id, document title, source, topic) of chunks mentioning any of ``norms``."""
        marks = ",".join("?" * len(norms))
        return self._db.execute(
            f"""SELECT m.chunk_id, d.title, d.source, MAX(m.topic) FROM mentions m JOIN chunks c ON c.id = m.chunk_id
                JOIN documents d ON d.id = c.doc_id WHERE m.norm IN ({marks}) GROUP BY m.chunk_id
                ORDER BY MAX(m.topic) DESC, d.title LIMIT ?""", [*norms, limit]).fetchall()

    def graph_stats(self) -> dict[str, object]:
        one = lambda q: self._db.execute(q).fetchone()[0]  # noqa: E731
        return {
            "entities": one("SELECT COUNT(*) FROM entities"),
            "mentions": one("SELECT COUNT(*) FROM mentions"),
            "triples": one("SELECT COUNT(*) FROM triples"),
            "attributes": one("SELECT COUNT(*) FROM attributes"),
            "merges": dict(self._db.execute("SELECT rule, COUNT(*) FROM merges GROUP BY rule").fetchall()),
            "entity_types": dict(self._db.execute(
                "SELECT type, COUNT(*) FROM entities GROUP BY type ORDER BY 2 DESC").fetchall()),
            "relation_types": dict(self._db.execute(
                "SELECT type, COUNT(*) FROM triples GROUP BY type ORDER BY 2 DESC").fetchall()),
            "extracted_chunks": one("SELECT COUNT(*) FROM extracted"),
        }
