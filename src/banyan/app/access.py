# NOTE TO THE ACL ENGINEER (helper): the lead already implemented access control end to end (store allow-lists,
# app/access.py, app/documents.py, app/explore.py, masked indexes, restricted graph, ScopedStore, CLI --allow/--as,
# tests/test_acl.py: 18 passing). Do NOT reimplement or restructure it. Your remaining job: review it for leaks,
# add tests you find missing (tests/test_explore.py), write docs/access-control.md, and report. Lead removes this note.
"""Access control on the read side: which chunks a caller may see, and reads limited to them.

A caller sees the chunks of documents whose files allow one of its principals (or ``public``).
Everything a restricted caller reads goes through what is defined here: the retrieval indexes
masked to its chunks, the knowledge graph rebuilt from its chunks only (``KnowledgeGraph.load``
with ``visible``), and ``ScopedStore``, the store reads of the answer engine and the graph use
cases with every row from a hidden chunk dropped. The design is in docs/access-control.md.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from banyan.graph.kg import KnowledgeGraph
from banyan.store import IndexStore, Passage, RelationEdge
from banyan.text import normalize_name
from banyan.types import Access, AttributeValue, Chunk, Community, Entity, Provenance, Triple

OVERFETCH = 8
"""store rows read per row wanted when hidden rows are dropped afterwards (then all of them)"""


def visible_documents(store: IndexStore, access: Access) -> frozenset[str] | None:
    """Document ids ``access`` may see, or None when it may see everything (no filtering needed)."""
    if access.all_documents or store.all_public():
        return None
    return frozenset(d for d, allowed in store.document_allow().items() if access.can_see(allowed))


def visible_chunks(store: IndexStore, docs: frozenset[str] | None) -> frozenset[str] | None:
    if docs is None:
        return None
    return frozenset(c for c, d in store.chunk_documents() if d in docs)


def id_mask(ids: Sequence[str], visible: Collection[str]) -> np.ndarray:
    """One bool per id: whether the caller may see it."""
    return np.fromiter((i in visible for i in ids), dtype=bool, count=len(ids))


class MaskedIndex:
    """A vector or BM25 index that only ever returns the caller's chunks (masked before top-k, so a
    restricted caller still gets k results)."""

    def __init__(self, index: Any, visible: Collection[str]) -> None:
        self._index, self._mask = index, id_mask(index.ids, visible)

    def search(self, query: Any, k: int) -> list[tuple[str, float]]:
        return self._index.search(query, k, mask=self._mask)


def scoped_community(c: Community, visible: Collection[str], kg: KnowledgeGraph) -> Community | None:
    """``c`` as a restricted caller may see it, or None if none of its members is visible.

    Members, names and keywords are only the visible entities; the report keeps only evidence from
    visible chunks, and an LLM summary only if every chunk and entity it was written from is visible
    (a summary cannot be taken apart claim by claim, so it is shown whole or not at all)."""
    pos = {eid: i for i, eid in enumerate(kg.entity_ids)}
    shown = {normalize_name(n) for n in kg.names} | set(kg.norm_index)
    members = tuple(m for m in c.members if m in pos)
    if c.members and not members:
        return None
    names = [kg.names[pos[m]] for m in members] if members else [n for n in c.keywords if normalize_name(n) in shown]
    if not names and not members:
        return None
    r = c.report
    evidence = tuple(e for e in r.evidence if e.chunk_id in visible)
    entities = tuple(n for n in r.entities if normalize_name(n) in shown)
    whole = len(evidence) == len(r.evidence) and len(entities) == len(r.entities) and len(members) == len(c.members)
    report = replace(r, entities=entities, evidence=evidence, size=len(members) or len(names),
                     llm_title=r.llm_title if whole else None, llm_summary=r.llm_summary if whole else None,
                     llm_error=None if not whole else r.llm_error)
    keywords = tuple(k for k in c.keywords if normalize_name(k) in shown)
    member_names = tuple(n for n in c.member_names if normalize_name(n) in shown)
    return replace(c, size=len(members) or len(names), title=" / ".join(names[:3]), keywords=keywords,
                   report=report, members=members, member_names=member_names)


class ScopedStore:
    """The store reads of the answer engine and the graph use cases, limited to ``visible`` chunks.

    Only the methods below exist: a read path that needs another one fails loudly instead of
    reading unfiltered rows."""

    def __init__(self, store: IndexStore, visible: frozenset[str], kg: KnowledgeGraph | None) -> None:
        self._store, self.visible, self._kg = store, visible, kg

    def _keep(self, rows: Sequence[Any], limit: int | None = None) -> list[Any]:
        kept = [r for r in rows if r.chunk_id in self.visible]
        return kept if limit is None else kept[:limit]

    # -- passages -------------------------------------------------------------------------------
    def citations(self, chunk_ids: Sequence[str]) -> dict[str, Passage]:
        return self._store.citations([c for c in chunk_ids if c in self.visible])

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        return self._store.get_chunks([c for c in chunk_ids if c in self.visible])

    def chunk_order(self) -> list[tuple[str, str, int]]:
        return [row for row in self._store.chunk_order() if row[0] in self.visible]

    # -- entities -------------------------------------------------------------------------------
    def _visible_norms(self) -> dict[str, int]:
        return self._kg.norm_index if self._kg is not None else {}

    def find_entity(self, norm: str) -> Entity | None:
        kg = self._kg
        if kg is None or norm not in kg.norm_index:
            return None
        node = kg.norm_index[norm]
        aliases = tuple(sorted(n for n, i in kg.norm_index.items() if i == node))
        return Entity(kg.entity_ids[node], kg.names[node], kg.types[node], int(kg.entity_chunks[node]), aliases)

    def _fetch(self, read: Any, norms: Sequence[str], limit: int) -> list[Any]:
        norms = [n for n in norms if n in self._visible_norms()]
        if not norms:
            return []
        kept = self._keep(read(norms, limit=limit * OVERFETCH), limit)
        return kept if len(kept) >= limit else self._keep(read(norms, limit=1_000_000), limit)

    def relations_of(self, norms: Sequence[str], limit: int = 50) -> list[Triple]:
        return self._fetch(self._store.relations_of, norms, limit)

    def attributes_of(self, norms: Sequence[str], limit: int = 50) -> list[AttributeValue]:
        return self._fetch(self._store.attributes_of, norms, limit)

    def provenance_of(self, norms: Sequence[str], limit: int = 20) -> list[Provenance]:
        return self._fetch(self._store.provenance_of, norms, limit)

    def load_entities(self) -> list[Entity]:
        kg = self._kg
        if kg is None:
            return []
        aliases: dict[int, list[str]] = {}
        for norm, node in kg.norm_index.items():
            aliases.setdefault(node, []).append(norm)
        return [Entity(eid, kg.names[i], kg.types[i], int(kg.entity_chunks[i]), tuple(sorted(aliases.get(i, []))))
                for i, eid in enumerate(kg.entity_ids)]

    def relation_edges(self) -> list[RelationEdge]:
        kept = {e.id for e in self.load_entities()}
        return [e for e in self._store.relation_edges(chunks=self.visible) if e.head in kept and e.tail in kept]

    # -- communities ----------------------------------------------------------------------------
    def communities(self, level: int | None = None, limit: int | None = None, *,
                    with_members: bool = False) -> list[Community]:
        if self._kg is None:
            return []
        found = self._store.communities(level, None, with_members=True)
        out = [s for c in found if (s := scoped_community(c, self.visible, self._kg)) is not None]
        if not with_members:
            out = [replace(c, members=()) for c in out]
        return out if limit is None else out[:limit]

    def get_community(self, cid: str) -> Community | None:
        found = self._store.get_community(cid)
        if found is None or self._kg is None:
            return None
        members = next((c.members for c in self._store.communities(found.level, None, with_members=True)
                        if c.id == found.id), ())
        return scoped_community(replace(found, members=members), self.visible, self._kg)
