"""Graph tables of the SQLite store: raw extractions (per chunk) and resolved entities.

Raw rows (mentions, triples, attributes) belong to a chunk and disappear with it. Resolved
entities are derived from all mentions by the resolution stage and replaced as a whole.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager

import numpy as np

from banyan.store.base import PendingChunk, RelationEdge
from banyan.store.extraction_tables import EXTRACTION_SCHEMA, ExtractionTables
from banyan.types import (
    LLM_SOURCE_PREFIX,
    AttributeValue,
    Community,
    CommunityReport,
    Entity,
    Mention,
    Merge,
    Provenance,
    Triple,
    TypeEvidence,
)

GRAPH_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS extracted (chunk_id TEXT PRIMARY KEY REFERENCES chunks(id), extractor TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS mentions (chunk_id TEXT NOT NULL REFERENCES chunks(id), surface TEXT NOT NULL,
       norm TEXT NOT NULL, type TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, topic INTEGER NOT NULL,
       source TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS mentions_chunk ON mentions(chunk_id)",
    "CREATE INDEX IF NOT EXISTS mentions_norm ON mentions(norm)",  # entity pages: provenance_of
    """CREATE TABLE IF NOT EXISTS triples (chunk_id TEXT NOT NULL REFERENCES chunks(id), head TEXT NOT NULL,
       phrase TEXT NOT NULL, tail TEXT NOT NULL, type TEXT NOT NULL, source TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS triples_chunk ON triples(chunk_id)",
    "CREATE INDEX IF NOT EXISTS triples_phrase ON triples(phrase)",
    "CREATE INDEX IF NOT EXISTS triples_head ON triples(head)",  # relations_of
    "CREATE INDEX IF NOT EXISTS triples_tail ON triples(tail)",
    """CREATE TABLE IF NOT EXISTS attributes (chunk_id TEXT NOT NULL REFERENCES chunks(id), entity TEXT NOT NULL,
       key TEXT NOT NULL, value TEXT NOT NULL, source TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS attributes_chunk ON attributes(chunk_id)",
    "CREATE INDEX IF NOT EXISTS attributes_entity ON attributes(entity)",  # attributes_of
    """CREATE TABLE IF NOT EXISTS entities (id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
       n_chunks INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS entity_keys (norm TEXT NOT NULL, type TEXT NOT NULL, entity_id TEXT NOT NULL,
       PRIMARY KEY (norm, type))""",
    "CREATE INDEX IF NOT EXISTS entity_keys_entity ON entity_keys(entity_id)",  # an entity's aliases
    """CREATE TABLE IF NOT EXISTS merges (entity_id TEXT NOT NULL, member TEXT NOT NULL, rule TEXT NOT NULL,
       score REAL NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS keep_apart (a TEXT NOT NULL, b TEXT NOT NULL, PRIMARY KEY (a, b))",
    """CREATE TABLE IF NOT EXISTS communities (id TEXT PRIMARY KEY, level INTEGER NOT NULL, parent TEXT,
       size INTEGER NOT NULL, title TEXT NOT NULL, keywords TEXT NOT NULL, report TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS community_members (community_id TEXT NOT NULL, entity_id TEXT NOT NULL,
       PRIMARY KEY (community_id, entity_id))""",
    """CREATE TABLE IF NOT EXISTS text_vectors (model TEXT NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL,
       PRIMARY KEY (model, text))""",
    *EXTRACTION_SCHEMA,
]

CHUNK_OWNED = ("extracted", "mentions", "triples", "attributes", "extraction_failures", "type_evidence")


class GraphTables(ExtractionTables):
    """Mixed into SQLiteStore: needs ``self._db`` and ``self._tx``."""

    _db: sqlite3.Connection
    _tx: Callable[[], AbstractContextManager[None]]

    def chunks_without_extraction(self, extractor_for: Callable[[str], str | None]) -> list[PendingChunk]:
        """Chunks not yet extracted, or extracted under another extractor key than ``extractor_for(lang)``."""
        rows = self._db.execute(
            "SELECT c.id, c.lang, e.extractor FROM chunks c LEFT JOIN extracted e ON e.chunk_id=c.id ORDER BY c.rowid"
        )
        return [PendingChunk(cid, lang, done) for cid, lang, done in rows
                if extractor_for(lang) and done != extractor_for(lang)]

    def put_extraction(self, extractor: str, chunk_ids: Sequence[str], mentions: Sequence[Mention],
                       triples: Sequence[Triple], attributes: Sequence[AttributeValue],
                       proposals: Sequence[TypeEvidence] = (), *, source: str | None = None) -> None:
        """Replace the extraction of ``chunk_ids`` in one transaction (a row's empty ``source``
        becomes ``source``, else ``extractor``); clears their failure records and stores their type proposals."""
        default = source or extractor
        with self._tx():
            for table in CHUNK_OWNED:
                self._db.executemany(f"DELETE FROM {table} WHERE chunk_id=?", [(c,) for c in chunk_ids])
            self._db.executemany("INSERT INTO extracted VALUES (?,?)", [(c, extractor) for c in chunk_ids])
            self._db.executemany(
                "INSERT INTO mentions VALUES (?,?,?,?,?,?,?,?)",
                [(m.chunk_id, m.surface, m.norm, m.type, m.start, m.end, int(m.topic), m.source or default)
                 for m in mentions],
            )
            self._db.executemany("INSERT INTO triples VALUES (?,?,?,?,?,?)",
                                 [(t.chunk_id, t.head, t.phrase, t.tail, t.type, t.source or default)
                                  for t in triples])
            self._db.executemany("INSERT INTO attributes VALUES (?,?,?,?,?)",
                                 [(a.chunk_id, a.entity, a.key, a.value, a.source or default) for a in attributes])
            self._insert_evidence(proposals)
            self._bump_graph_changes()

    def chunk_titles(self, chunk_ids: Sequence[str], *, opening_only: bool = False) -> dict[str, str]:
        """Document title of each given chunk (``opening_only``: of those that open their document)."""
        out: dict[str, str] = {}
        ids = list(chunk_ids)
        opening = " AND c.ordinal = 0" if opening_only else ""
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = f"""SELECT c.id, d.title FROM chunks c JOIN documents d ON d.id = c.doc_id
                    WHERE c.id IN ({','.join('?' * len(part))}){opening}"""
            out.update(self._db.execute(q, part).fetchall())
        return out

    def delete_chunk_rows(self, chunk_ids: Iterable[str]) -> None:
        """Called inside a store transaction when chunks go away."""
        ids = [(c,) for c in chunk_ids]
        for table in CHUNK_OWNED:
            self._db.executemany(f"DELETE FROM {table} WHERE chunk_id=?", ids)

    def load_mentions(self) -> list[Mention]:
        return [Mention(c, s, n, t, a, b, bool(tp), src) for c, s, n, t, a, b, tp, src in self._db.execute(
            'SELECT chunk_id, surface, norm, type, start, "end", topic, source FROM mentions ORDER BY rowid')]

    def load_triples(self) -> list[Triple]:
        return [Triple(*r) for r in self._db.execute(
            "SELECT chunk_id, head, phrase, tail, type, source FROM triples ORDER BY rowid")]

    def load_attributes(self) -> list[AttributeValue]:
        return [AttributeValue(*r) for r in self._db.execute(
            "SELECT chunk_id, entity, key, value, source FROM attributes ORDER BY rowid")]

    def set_triple_types(self, phrase_types: dict[str, str]) -> None:
        """Type NLP relation phrases; triples an LLM extracted keep the type the LLM chose."""
        with self._tx():
            self._db.executemany("UPDATE triples SET type=? WHERE phrase=? AND source NOT LIKE ?",
                                 [(t, p, LLM_SOURCE_PREFIX + "%") for p, t in phrase_types.items()])

    def untype_out_of_range(self, rules: Mapping[str, tuple[Sequence[str], Sequence[str]]], *, untyped: str,
                            wildcard: str) -> int:
        """Relation type -> (allowed head types, allowed tail types; empty = any): NLP triples of that
        type whose resolved head (or tail) has only other entity types get type ``untyped`` (untyped
        rather than wrong; entity type ``wildcard`` fits everywhere). Returns how many changed."""
        changed = 0
        with self._tx():
            for kind, (heads, tails) in rules.items():
                clauses, params = [], [kind, LLM_SOURCE_PREFIX + "%"]
                for column, allowed in (("head", heads), ("tail", tails)):
                    if not allowed:
                        continue
                    marks = ",".join("?" * (len(allowed) + 1))
                    clauses.append(f"(EXISTS (SELECT 1 FROM entity_keys k WHERE k.norm = triples.{column}) AND NOT "
                                   f"EXISTS (SELECT 1 FROM entity_keys k WHERE k.norm = triples.{column} "
                                   f"AND k.type IN ({marks})))")
                    params.extend([*allowed, wildcard])
                if clauses:
                    cur = self._db.execute(f"UPDATE triples SET type=? WHERE type=? AND source NOT LIKE ? "
                                           f"AND ({' OR '.join(clauses)})", [untyped, *params])
                    changed += max(0, cur.rowcount)
        return changed

    def replace_entities(self, entities: Sequence[Entity], merges: Sequence[Merge], graph_version: str) -> None:
        """Swap in a whole new resolution result; each entity's ``aliases`` become its lookup keys."""
        with self._tx():
            for table in ("entities", "entity_keys", "merges"):
                self._db.execute(f"DELETE FROM {table}")
            self._db.executemany("INSERT INTO entities VALUES (?,?,?,?)",
                                 [(e.id, e.name, e.type, e.n_chunks) for e in entities])
            self._db.executemany("INSERT INTO entity_keys VALUES (?,?,?)",
                                 [(n, e.type, e.id) for e in entities for n in e.aliases])
            self._db.executemany("INSERT INTO merges VALUES (?,?,?,?)",
                                 [(m.entity_id, m.member, m.rule, m.score) for m in merges])
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('resolved_at', ?)", (graph_version,))

    def graph_version(self) -> str:
        """Changes whenever chunks or extractions change: resolution must rerun when it differs."""
        row = self._db.execute("SELECT value FROM meta WHERE key='graph_changes'").fetchone()
        return f"{self.version()}.{row[0] if row else 0}"  # type: ignore[attr-defined]

    def resolved_version(self) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key='resolved_at'").fetchone()
        return row[0] if row else None

    def load_entities(self) -> list[Entity]:
        """Every resolved entity, by id (``aliases`` left empty: see ``alias_index``)."""
        return [Entity(*r) for r in self._db.execute("SELECT id, name, type, n_chunks FROM entities ORDER BY id")]

    def alias_index(self) -> dict[str, str]:
        """norm -> entity id, for every name of every entity."""
        return {n: e for n, _, e in self._db.execute("SELECT norm, type, entity_id FROM entity_keys")}

    def load_merges(self) -> list[Merge]:
        return [Merge(*r) for r in self._db.execute(
            "SELECT entity_id, member, rule, score FROM merges ORDER BY entity_id")]

    def keep_apart(self) -> set[tuple[str, str]]:
        return {(a, b) for a, b in self._db.execute("SELECT a, b FROM keep_apart")}

    def add_keep_apart(self, a: str, b: str) -> None:
        with self._tx():
            self._db.execute("INSERT OR IGNORE INTO keep_apart VALUES (?,?)", tuple(sorted((a, b))))
            self._bump_graph_changes()

    def _bump_graph_changes(self) -> None:
        """Move the graph version (inside the caller's transaction): resolution reruns."""
        self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='graph_changes'")

    def mark_graph_changed(self) -> None:
        """Entities must be resolved again though no extraction changed (resolution's rules did)."""
        with self._tx():
            self._bump_graph_changes()

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
    def replace_communities(self, communities: Sequence[Community], version: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM communities")
            self._db.execute("DELETE FROM community_members")
            self._db.executemany("INSERT INTO communities VALUES (?,?,?,?,?,?,?)", [
                (c.id, c.level, c.parent, c.size, c.title, json.dumps(list(c.keywords), ensure_ascii=False),
                 json.dumps(c.report.to_dict(), ensure_ascii=False)) for c in communities])
            self._db.executemany("INSERT INTO community_members VALUES (?,?)",
                                 [(c.id, e) for c in communities for e in c.members])
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('communities_at', ?)", (version,))

    def communities_version(self) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key='communities_at'").fetchone()
        return row[0] if row else None

    def _community(self, row: tuple, members: tuple[str, ...] = (), names: tuple[str, ...] = ()) -> Community:
        cid, level, parent, size, title, keywords, report = row
        return Community(cid, level, parent, size, title, tuple(json.loads(keywords)),
                         CommunityReport.from_dict(json.loads(report)), members, names)

    def communities(self, level: int | None = None, limit: int | None = None, *,
                    with_members: bool = False) -> list[Community]:
        """Stored communities (of one level, or all), largest first within a level."""
        where, args = ("WHERE level=?", [level]) if level is not None else ("", [])
        rows = self._db.execute(
            f"SELECT id, level, parent, size, title, keywords, report FROM communities {where} "
            f"ORDER BY level, size DESC, id LIMIT {-1 if limit is None else int(limit)}", args).fetchall()
        members: dict[str, list[str]] = {}
        if with_members and rows:
            q = "SELECT community_id, entity_id FROM community_members" + (
                " WHERE community_id IN (SELECT id FROM communities WHERE level=?)" if level is not None else "")
            for cid, eid in self._db.execute(q, [level] if level is not None else []):
                members.setdefault(cid, []).append(eid)
        return [self._community(r, tuple(members.get(r[0], ()))) for r in rows]

    def get_community(self, cid: str) -> Community | None:
        """One community by id or id prefix, with the names of its 100 most mentioned members."""
        row = self._db.execute("SELECT id, level, parent, size, title, keywords, report FROM communities "
                               "WHERE id=? OR id LIKE ? ORDER BY id LIMIT 1", (cid, cid + "%")).fetchone()
        if row is None:
            return None
        found = self._db.execute(
            "SELECT e.id, e.name FROM community_members m JOIN entities e ON e.id = m.entity_id "
            "WHERE m.community_id=? ORDER BY e.n_chunks DESC LIMIT 100", (row[0],)).fetchall()
        return self._community(row, tuple(r[0] for r in found), tuple(r[1] for r in found))

    # -- inspection ---------------------------------------------------------------------------
    def find_entity(self, norm: str) -> Entity | None:
        """The most mentioned entity one of whose names normalizes to ``norm``, with all its aliases."""
        row = self._db.execute(
            "SELECT e.id, e.name, e.type, e.n_chunks FROM entity_keys k JOIN entities e ON e.id = k.entity_id "
            "WHERE k.norm = ? ORDER BY e.n_chunks DESC LIMIT 1", (norm,)).fetchone()
        if row is None:
            return None
        aliases = tuple(r[0] for r in self._db.execute(
            "SELECT norm FROM entity_keys WHERE entity_id=? ORDER BY norm", (row[0],)))
        return Entity(*row, aliases)

    def relations_of(self, norms: Sequence[str], limit: int = 50) -> list[Triple]:
        """Triples whose head or tail is one of ``norms``, each with its chunk."""
        marks = ",".join("?" * len(norms))
        return [Triple(*r) for r in self._db.execute(
            f"SELECT chunk_id, head, phrase, tail, type, source FROM triples WHERE head IN ({marks}) OR tail IN ({marks}) "
            f"ORDER BY rowid LIMIT ?", [*norms, *norms, limit])]

    def attributes_of(self, norms: Sequence[str], limit: int = 50) -> list[AttributeValue]:
        marks = ",".join("?" * len(norms))
        return [AttributeValue(*r) for r in self._db.execute(
            f"SELECT chunk_id, entity, key, value, source FROM attributes WHERE entity IN ({marks}) ORDER BY rowid LIMIT ?",
            [*norms, limit])]

    def provenance_of(self, norms: Sequence[str], limit: int = 20) -> list[Provenance]:
        """Chunks mentioning any of ``norms``, those about the entity first."""
        marks = ",".join("?" * len(norms))
        return [Provenance(c, t, s, bool(tp)) for c, t, s, tp in self._db.execute(
            f"""SELECT m.chunk_id, d.title, d.source, MAX(m.topic) FROM mentions m JOIN chunks c ON c.id = m.chunk_id
                JOIN documents d ON d.id = c.doc_id WHERE m.norm IN ({marks}) GROUP BY m.chunk_id, d.title, d.source
                ORDER BY MAX(m.topic) DESC, d.title LIMIT ?""", [*norms, limit])]

    def relation_edges(self, chunks: Collection[str] | None = None) -> list[RelationEdge]:
        """Triples mapped to resolved entities and merged per (head, tail, type), in a stable order
        (only triples from ``chunks``, when given).

        A name shared by entities of different types maps to the most mentioned one (then the
        smallest id); triples whose ends do not resolve, or resolve to one entity, are left out."""
        owner: dict[str, tuple[int, str]] = {}
        for norm, eid, n in self._db.execute(
                "SELECT k.norm, k.entity_id, e.n_chunks FROM entity_keys k JOIN entities e ON e.id = k.entity_id"):
            if norm not in owner or (-n, eid) < (-owner[norm][0], owner[norm][1]):
                owner[norm] = (n, eid)
        groups: dict[tuple[str, str, str], tuple[set[str], set[str], list[int]]] = {}
        for chunk_id, head, phrase, tail, kind in self._db.execute(
                "SELECT chunk_id, head, phrase, tail, type FROM triples"):
            a, b = owner.get(head), owner.get(tail)
            if a is None or b is None or a[1] == b[1] or (chunks is not None and chunk_id not in chunks):
                continue
            phrases, found, count = groups.setdefault((a[1], b[1], kind), (set(), set(), [0]))
            phrases.add(phrase)
            found.add(chunk_id)
            count[0] += 1
        return [RelationEdge(h, t, k, tuple(sorted(p)), tuple(sorted(c)), n[0])
                for (h, t, k), (p, c, n) in sorted(groups.items())]

    def graph_stats(self) -> dict[str, object]:
        """Counts; ``entities`` and ``relations`` are exactly what an export writes."""
        one = lambda q: self._db.execute(q).fetchone()[0]
        edges = self.relation_edges()
        relation_types: dict[str, int] = {}
        for e in edges:
            relation_types[e.type] = relation_types.get(e.type, 0) + 1
        return {
            "entities": one("SELECT COUNT(*) FROM entities"),
            "relations": len(edges),
            "mentions": one("SELECT COUNT(*) FROM mentions"),
            "triples": one("SELECT COUNT(*) FROM triples"),
            "attributes": one("SELECT COUNT(*) FROM attributes"),
            "merges": dict(self._db.execute("SELECT rule, COUNT(*) FROM merges GROUP BY rule ORDER BY rule").fetchall()),
            "entity_types": dict(self._db.execute(
                "SELECT type, COUNT(*) FROM entities GROUP BY type ORDER BY 2 DESC, 1").fetchall()),
            "relation_types": dict(sorted(relation_types.items(), key=lambda kv: (-kv[1], kv[0]))),
            "extracted_chunks": one("SELECT COUNT(*) FROM extracted"),
        }
