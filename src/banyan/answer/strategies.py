"""One context strategy per mode over the shared ``ContextBuilder`` (graphrag v3's shape).

Each strategy fills a builder for one question and returns notes saying how, when that differs
from what the mode promises (no graph, no linked entity, a corpus too large for full text). A
new mode is a small class here plus its name in ``answer.auto_modes`` or the ``--mode`` list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from banyan.answer.context import ContextBuilder, passage_line
from banyan.answer.sources import IndexReader
from banyan.answer.types import Candidate
from banyan.retrieve import Query

NO_GRAPH = "this index has no knowledge graph (built with --no-graph?)"
FULL_FALLBACK = ("full: neither the corpus nor the documents the question links to fit the budget; answered from "
                 "mix passages")


class Strategy(Protocol):
    name: str

    def fill(self, q: Query, b: ContextBuilder) -> list[str]:
        """Add this mode's sections to ``b`` (no LLM call); returns notes on how."""
        ...


@dataclass(frozen=True)
class NaiveSearch:
    """Dense passages (BM25 + dense where the embedder does not cover the question's language)."""

    reader: IndexReader
    name: str = "naive"

    def fill(self, q: Query, b: ContextBuilder) -> list[str]:
        mode = self.reader.settings.naive_search
        dense = self.reader.retriever.routes.get("dense")
        notes = []
        if mode == "dense" and dense is not None and not dense.applies(q):
            mode = "hybrid"
            notes.append(f"naive: the embedder does not cover {q.lang!r} questions, so passages came from hybrid "
                         "search (BM25)")
        b.add_passages(self.reader.search(q, mode, self.reader.settings.passages))
        return notes


@dataclass(frozen=True)
class MixSearch:
    """Graph + hybrid passages, plus the question's entities and relations in small sections."""

    reader: IndexReader
    name: str = "mix"

    def fill(self, q: Query, b: ContextBuilder) -> list[str]:
        s = self.reader.settings
        entities = self.reader.linked(q)[: s.max_entities]
        hood = self.reader.neighbourhood(entities, s.max_relations, 0)
        b.add_facts("entities", hood.entities, cap=int(b.budget * s.entity_share))
        b.add_facts("relations", hood.relations, cap=int(b.budget * s.relation_share))
        b.add_passages(self.reader.fused(q, s.mix_searches, s.passages))
        return [f"mix: {NO_GRAPH}; passages only"] if self.reader.graph() is None else []


@dataclass(frozen=True)
class LocalSearch:
    """The question's entity neighbourhood first: entities, their relations, their chunks; then passages."""

    reader: IndexReader
    name: str = "local"

    def fill(self, q: Query, b: ContextBuilder) -> list[str]:
        s = self.reader.settings
        if self.reader.graph() is None:
            MixSearch(self.reader).fill(q, b)
            return [f"local: {NO_GRAPH}; answered from passages"]
        entities = self.reader.linked(q)[: s.max_entities]
        if not entities:
            return ["local: the question names no entity of the graph; answered from mix passages",
                    *MixSearch(self.reader).fill(q, b)]
        hood = self.reader.neighbourhood(entities, s.max_relations, s.entity_chunks)
        b.add_facts("entities", hood.entities, cap=int(b.budget * s.local_entity_share))
        b.add_facts("relations", hood.relations, cap=int(b.budget * s.local_relation_share))
        home = self.reader.home_chunks(entities)
        b.add_passages(self.reader.chunk_candidates(home, "home", 1.0))
        b.add_passages(self.reader.chunk_candidates([c for c in hood.chunks if c not in home], "entity", 0.5))
        b.add_passages(self.reader.fused(q, s.mix_searches, s.passages))
        return []


@dataclass(frozen=True)
class FullSearch:
    """The full text instead of retrieval: the whole corpus when it fits the budget, else the documents
    the question links to (its entities' own documents, then those of the best passages), whole."""

    reader: IndexReader
    name: str = "full"

    def corpus(self, b: ContextBuilder) -> list[Candidate] | None:
        """Every chunk in document order if all of it fits ``b`` (lines and headings counted), else None."""
        chunks = self.reader.corpus(b.count, b.remaining)
        if chunks is None:
            return None
        cost = sum(b.count(passage_line(i, c.text, c.citation.title)) for i, c in enumerate(chunks, 1))
        return chunks if cost + b.count(b.prompts.sections["documents"]) + 1 <= b.remaining else None

    def fill(self, q: Query, b: ContextBuilder) -> list[str]:
        whole = self.corpus(b)
        if whole is not None:
            b.add_passages(whole, section="documents")
            return []
        s = self.reader.settings
        seeds = self.reader.home_chunks(self.reader.linked(q))
        top = self.reader.fused(q, s.mix_searches, s.full_seed_passages)
        found = self.reader.store.citations(seeds)
        docs = list(dict.fromkeys([found[c].citation.doc_id for c in seeds if c in found]
                                  + [c.citation.doc_id for c in top]))
        chunks_of = self.reader.document_chunks(docs)
        read = 0
        for doc in docs:
            chunks = self.reader.read_chunks(chunks_of.get(doc, []), b.count, b.remaining)
            if chunks and b.add_passages(chunks, section="documents") == len(chunks):
                read += 1
        if not read:
            MixSearch(self.reader).fill(q, b)
            return [FULL_FALLBACK]
        return [f"full: the corpus does not fit the budget; read {read} linked document(s) whole"]
