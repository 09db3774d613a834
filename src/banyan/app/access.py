"""Access control on the read side: which chunks a caller may see, and reads limited to them.

A caller sees the chunks of documents whose files allow one of its principals (or ``public``).
Everything a restricted caller reads goes through what is defined here: the retrieval indexes
masked to its chunks, the knowledge graph rebuilt from its chunks only (``KnowledgeGraph.load``
with ``visible``), and ``ScopedStore``, the store reads of the answer engine and the graph use
cases with every row from a hidden chunk dropped. The design is in docs/access-control.md.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from banyan.store import IndexStore, Passage, RelationEdge
from banyan.text import normalize_name
from banyan.types import Access, AttributeValue, Chunk, Community, Entity, Provenance, Triple

if TYPE_CHECKING:
    from banyan.graph.kg import KnowledgeGraph

OVERFETCH = 8
"""store rows read per row wanted when hidden rows are dropped afterwards (then all of them)"""
MEMBER_NAMES = 100
"""member names a community shows (its most mentioned members), as ``store.get_community`` does"""


def visible_documents(store: IndexStore, access: Access) -> frozenset[str] | None:
    """Document ids ``access`` may see, or None when it may see everything (no filtering needed)."""
    if access.all_documents or store.all_public():
        return None
    return frozenset(d for d, allowed in store.document_allow().items() if access.can_see(allowed))


def visible_chunks(store: IndexStore, docs: frozenset[str] | None) -> frozenset[str] | None:
    if docs is None:
        return None
    return frozenset(c for c, d in store.chunk_documents() if d in docs)


def visible_sources(store: IndexStore, access: Access) -> dict[str, str]:
    """Document id -> the source to show ``access``, for documents that several files produced and
    that it sees through some of them only: the first of those (the stored source may name a file it
    may not see, and a file's name can say what it holds)."""
    out = {}
    for doc_id, files in store.shared_documents().items():
        seen = [path for path, allow in files if access.can_see(allow)]
        if seen and len(seen) < len(files):
            out[doc_id] = seen[0]
    return out


def chunk_sources(store: IndexStore, doc_sources: Mapping[str, str]) -> dict[str, str]:
    """Chunk id -> the source to show, for the chunks of the documents in ``doc_sources``."""
    if not doc_sources:
        return {}
    return {c: doc_sources[d] for c, d in store.chunk_documents() if d in doc_sources}


def id_mask(ids: Sequence[str], visible: Collection[str]) -> np.ndarray:
    """One bool per id: whether the caller may see it."""
    return np.fromiter((i in visible for i in ids), dtype=bool, count=len(ids))


class MaskedIndex:
    """A vector or BM25 index that only ever returns the caller's chunks (masked before top-k, so a
    restricted caller still gets k results)."""

    def __init__(self, index: Any, mask: np.ndarray) -> None:
        """``mask``: ``id_mask(index.ids, visible)``."""
        self._index, self._mask = index, mask

    def search(self, query: Any, k: int) -> list[tuple[str, float]]:
        return self._index.search(query, k, mask=self._mask)


@dataclass(frozen=True)
class SeenNames:
    """The entities of a restricted graph by id, and every name (normalized) it shows: built once
    per request, read for every community."""

    pos: dict[str, int]
    shown: frozenset[str]
    names: list[str]
    chunks: np.ndarray

    @classmethod
    def of(cls, kg: KnowledgeGraph) -> SeenNames:
        return cls({eid: i for i, eid in enumerate(kg.entity_ids)},
                   frozenset({normalize_name(n) for n in kg.names} | set(kg.norm_index)), kg.names,
                   np.asarray(kg.entity_chunks))


def scoped_community(c: Community, visible: Collection[str], seen: SeenNames) -> Community | None:
    """``c`` as a restricted caller may see it, or None if none of its members is visible.

    Members, names and keywords are only the visible entities; the report keeps only evidence from
    visible chunks, and an LLM summary only if every chunk and entity it was written from is visible
    (a summary cannot be taken apart claim by claim, so it is shown whole or not at all)."""
    pos, shown = seen.pos, seen.shown
    members = tuple(m for m in c.members if m in pos)
    if c.members and not members:
        return None
    names = [seen.names[pos[m]] for m in members] if members else [n for n in c.keywords if normalize_name(n) in shown]
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
    top = sorted(members, key=lambda m: -int(seen.chunks[pos[m]]))[:MEMBER_NAMES]
    return replace(c, size=len(members) or len(names), title=" / ".join(names[:3]), keywords=keywords,
                   report=report, members=members, member_names=tuple(seen.names[pos[m]] for m in top))


def scoped_communities(found: Iterable[Community], visible: Collection[str], kg: KnowledgeGraph) -> list[Community]:
    """Every community (given with all its members) as a restricted caller may see it."""
    seen = SeenNames.of(kg)
    return [s for c in found if (s := scoped_community(c, visible, seen)) is not None]


class CommunityList:
    """Communities of every level in display order (level, then largest first), with all members;
    loaded once per version and caller (``IndexView.communities``)."""

    def __init__(self, items: Iterable[Community]) -> None:
        self.items = sorted(items, key=lambda c: (c.level, -c.size, c.id))
        self.entity_community = {m: c.id for c in self.items if c.level == 0 for m in c.members}
        """entity id -> its finest community's id"""

    def select(self, level: int | None = None, limit: int | None = None) -> list[Community]:
        """Of one level (or all), without members and member names, as ``store.communities`` lists them."""
        out = [replace(c, members=(), member_names=()) for c in self.items if level is None or c.level == level]
        return out if limit is None else out[:limit]

    def find(self, cid: str) -> Community | None:
        """By id, else by id prefix (the smallest matching id), with its members and the names of the most mentioned."""
        match = [c for c in self.items if c.id == cid] or sorted(
            (c for c in self.items if c.id.startswith(cid)), key=lambda c: c.id)
        return match[0] if match else None


class ScopedStore:
    """The store reads of the answer engine and the graph use cases, limited to ``visible`` chunks.

    Only the methods below exist: a read path that needs another one fails loudly instead of
    reading unfiltered rows."""

    def __init__(self, store: IndexStore, visible: frozenset[str], kg: KnowledgeGraph | None,
                 communities: Callable[[], CommunityList], sources: Mapping[str, str] | None = None) -> None:
        """``sources``: chunk id -> the source path to show instead of the stored one (``chunk_sources``)."""
        self._store, self.visible, self._kg, self._communities = store, visible, kg, communities
        self._sources = sources or {}

    def _relabel(self, p: Passage) -> Passage:
        src = self._sources.get(p.citation.chunk_id)
        return p if src is None else replace(p, citation=replace(p.citation, source=src))

    def _keep(self, rows: Sequence[Any], limit: int | None = None) -> list[Any]:
        kept = [r for r in rows if r.chunk_id in self.visible]
        return kept if limit is None else kept[:limit]

    # -- passages -------------------------------------------------------------------------------
    def citations(self, chunk_ids: Sequence[str]) -> dict[str, Passage]:
        found = self._store.citations([c for c in chunk_ids if c in self.visible])
        return {c: self._relabel(p) for c, p in found.items()} if self._sources else found

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        return self._store.get_chunks([c for c in chunk_ids if c in self.visible])

    def chunk_order(self) -> list[tuple[str, str, int]]:
        return [row for row in self._store.chunk_order() if row[0] in self.visible]

    # -- entities -------------------------------------------------------------------------------
    def _visible_norms(self) -> dict[str, int]:
        return self._kg.norm_index if self._kg is not None else {}

    @cached_property
    def _aliases(self) -> dict[int, tuple[str, ...]]:
        """Entity node -> its visible names, sorted (built once per request, read for each entity)."""
        out: dict[int, list[str]] = {}
        for norm, node in self._visible_norms().items():
            out.setdefault(node, []).append(norm)
        return {node: tuple(sorted(norms)) for node, norms in out.items()}

    def _entity(self, kg: KnowledgeGraph, node: int) -> Entity:
        return Entity(kg.entity_ids[node], kg.names[node], kg.types[node], int(kg.entity_chunks[node]),
                      self._aliases.get(node, ()))

    def find_entity(self, norm: str) -> Entity | None:
        node = self._visible_norms().get(norm)
        return None if node is None or self._kg is None else self._entity(self._kg, node)

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
        rows = self._fetch(self._store.provenance_of, norms, limit)
        return [replace(r, source=self._sources.get(r.chunk_id, r.source)) for r in rows]

    def load_entities(self) -> list[Entity]:
        kg = self._kg
        return [] if kg is None else [self._entity(kg, i) for i in range(kg.n_entities)]

    def relation_edges(self) -> list[RelationEdge]:
        kept = {e.id for e in self.load_entities()}
        return [e for e in self._store.relation_edges(chunks=self.visible) if e.head in kept and e.tail in kept]

    # -- communities ----------------------------------------------------------------------------
    def communities(self, level: int | None = None, limit: int | None = None, *,
                    with_members: bool = False) -> list[Community]:
        if not with_members:
            return self._communities().select(level, limit)
        out = [c for c in self._communities().items if level is None or c.level == level]
        return out if limit is None else out[:limit]

    def get_community(self, cid: str) -> Community | None:
        return self._communities().find(cid)
