"""What the answer engine reads from an index: cited passages, whole documents, entity neighbourhoods.

``IndexReader`` is built by the API from the index's store, retriever and graph (passed in, so
this package never imports the API). Everything it returns is a typed record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from banyan.answer.types import Candidate, Fact
from banyan.graph.kg import KnowledgeGraph
from banyan.retrieve import Query, Retriever, rrf
from banyan.settings import AnswerSettings, RetrievalSettings
from banyan.store import IndexStore
from banyan.text import normalize_name
from banyan.types import Entity, Hit

CORPUS_BATCH = 256
RELATED = "related_to"


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """The question's entities as the graph knows them."""

    entities: tuple[Fact, ...]
    """one line per entity (name, type, aliases), then its attributes"""
    relations: tuple[Fact, ...]
    """relations between the entities first, then the others, each from its chunk"""
    chunks: tuple[str, ...]
    """chunks that mention the entities, those about them first"""


def relation_line(head: str, phrase: str, tail: str, kind: str) -> str:
    label = phrase if kind == RELATED or not kind else f"{phrase} ({kind})"
    return f"{head} — {label} → {tail}"


def entity_line(e: Entity, shown_aliases: Sequence[str]) -> str:
    also = f"; also: {', '.join(shown_aliases)}" if shown_aliases else ""
    return f"{e.name} ({e.type}{also})"


def _useful_value(value: str) -> bool:
    return len(value.strip()) > 1 and any(ch.isalnum() for ch in value)


@dataclass(frozen=True)
class IndexReader:
    store: IndexStore
    retriever: Retriever
    graph: Callable[[], KnowledgeGraph | None]
    """the loaded knowledge graph, or None on an index without one"""
    settings: AnswerSettings
    retrieval: RetrievalSettings

    # -- passages ------------------------------------------------------------------------------
    def candidates(self, hits: Sequence[Hit]) -> list[Candidate]:
        found = self.store.citations([h.chunk_id for h in hits])
        return [Candidate(found[h.chunk_id].citation, found[h.chunk_id].text, h.score, h.routes)
                for h in hits if h.chunk_id in found]

    def chunk_candidates(self, chunk_ids: Sequence[str], route: str, score: float = 0.0) -> list[Candidate]:
        return self.candidates([Hit(c, score, (route,)) for c in chunk_ids])

    def search(self, q: Query, mode: str, k: int) -> list[Candidate]:
        return self.candidates(self.retriever.search(q, mode, k))

    def fused(self, q: Query, modes: Mapping[str, float], k: int) -> list[Candidate]:
        """Several retrieval modes fused by weighted reciprocal rank (routes: every mode that found a chunk)."""
        runs = {m: self.retriever.search(q, m, k) for m in modes}
        if len(runs) == 1:
            return self.candidates(next(iter(runs.values())))
        routes: dict[str, tuple[str, ...]] = {}
        for hits in runs.values():
            for h in hits:
                routes[h.chunk_id] = tuple(dict.fromkeys((*routes.get(h.chunk_id, ()), *h.routes)))
        fused = rrf({m: [h.chunk_id for h in hits] for m, hits in runs.items()}, k=self.retrieval.rrf_k,
                    weights=dict(modes))[:k]
        return self.candidates([Hit(h.chunk_id, h.score, routes.get(h.chunk_id, h.routes)) for h in fused])

    # -- whole documents (full mode) -------------------------------------------------------------
    def read_chunks(self, order: Iterable[str], count: Callable[[str], int], limit: int) -> list[Candidate] | None:
        """Chunks in ``order`` with their text, or None as soon as their tokens pass ``limit``."""
        ids = list(order)
        out: list[Candidate] = []
        total = 0
        for i in range(0, len(ids), CORPUS_BATCH):
            part = self.chunk_candidates(ids[i: i + CORPUS_BATCH], "full")
            for c in part:
                total += count(c.text)
                if total > limit:
                    return None
            out.extend(part)
        return out

    def corpus(self, count: Callable[[str], int], limit: int) -> list[Candidate] | None:
        """Every chunk, by document and position, if the corpus fits ``limit`` tokens (else None, cheaply)."""
        order = self.store.chunk_order()
        if len(order) > limit:  # every chunk has at least one token
            return None
        return self.read_chunks([c for c, _, _ in order], count, limit)

    def document_chunks(self, doc_ids: Sequence[str]) -> dict[str, list[str]]:
        """Chunk ids of each document, in order."""
        wanted, out = set(doc_ids), {}
        for cid, did, _ in self.store.chunk_order():
            if did in wanted:
                out.setdefault(did, []).append(cid)
        return out

    # -- the graph -----------------------------------------------------------------------------
    def linked(self, q: Query) -> list[int]:
        """The question's entity nodes, most confident (then most specific) first."""
        kg = self.graph()
        if kg is None or not q.links:
            return []
        return sorted(q.links, key=lambda e: (-q.links[e], float(kg.entity_chunks[e])))

    def home_chunks(self, entities: Sequence[int]) -> list[str]:
        """The chunks the entities are the topic of (their own documents)."""
        kg = self.graph()
        if kg is None:
            return []
        return list(dict.fromkeys(kg.chunk_node(c) for e in entities for c in kg.home.get(e, [])))

    def _entity(self, kg: KnowledgeGraph, node: int) -> Entity:
        found = self.store.find_entity(normalize_name(kg.names[node]))
        if found is not None and found.id == kg.entity_ids[node]:
            return found
        return Entity(kg.entity_ids[node], kg.names[node], kg.types[node], int(kg.entity_chunks[node]),
                      (normalize_name(kg.names[node]),))

    def neighbourhood(self, entities: Sequence[int], max_relations: int, chunks_per_entity: int) -> Neighbourhood:
        """Entity lines with attributes, relations (among the entities first) and the entities' chunks."""
        kg = self.graph()
        if kg is None or not entities:
            return Neighbourhood((), (), ())
        ents = [self._entity(kg, e) for e in entities]
        ours = {a for e in ents for a in e.aliases}

        def name(norm: str) -> str:
            return kg.names[kg.norm_index[norm]] if norm in kg.norm_index else norm

        lines: list[Fact] = []
        for e in ents:
            shown = [a for a in e.aliases if a != normalize_name(e.name)][:4]
            lines.append(Fact(entity_line(e, shown)))
            lines.extend(Fact(f"{e.name} — {a.key}: {a.value}", a.chunk_id)
                         for a in self.store.attributes_of(list(e.aliases), limit=20) if _useful_value(a.value))
        triples = [t for e in ents for t in self.store.relations_of(list(e.aliases), limit=max_relations)]
        triples.sort(key=lambda t: not (t.head in ours and t.tail in ours))
        relations = [Fact(relation_line(name(t.head), t.phrase, name(t.tail), t.type), t.chunk_id) for t in triples]
        chunks = [p.chunk_id for e in ents for p in self.store.provenance_of(list(e.aliases), limit=chunks_per_entity)]
        return Neighbourhood(tuple(lines), tuple(relations[:max_relations]), tuple(dict.fromkeys(chunks)))
