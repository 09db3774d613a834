"""The typed values that flow between stages: file -> Document -> Chunk -> Hit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def content_id(*parts: str, length: int = 16) -> str:
    """A stable id from content: the same parts always give the same id."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()[:length]


@dataclass(frozen=True, slots=True)
class Document:
    """One logical document. ``id`` is a hash of title and text, so re-ingesting is a no-op."""

    id: str
    source: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, source: str, title: str, text: str, metadata: dict[str, Any] | None = None) -> Document:
        return cls(content_id(title, text), source, title, text, dict(metadata or {}))


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span of a document: ``text == document.text[start:end]``."""

    id: str
    doc_id: str
    ordinal: int
    text: str
    start: int
    end: int
    lang: str
    n_tokens: int


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a passage comes from, precise enough to show the user."""

    doc_id: str
    source: str
    title: str
    chunk_id: str
    ordinal: int
    start: int
    end: int
    page: int | None = None
    """first page (1-based) of the chunk, for paged documents (PDF); None otherwise"""
    last_page: int | None = None

    def pages(self) -> str:
        """"p. 3", "pp. 3-4", or "" for a document without pages."""
        if self.page is None:
            return ""
        last = self.last_page or self.page
        return f"p. {self.page}" if last == self.page else f"pp. {self.page}-{last}"

    def label(self) -> str:
        where = f"{self.pages()}, " if self.page is not None else ""
        return f"{self.title or self.source} [{where}chunk {self.ordinal}, chars {self.start}-{self.end}]"


@dataclass(frozen=True, slots=True)
class Hit:
    """A chunk scored by one retrieval route (or by fusion, with every route that found it)."""

    chunk_id: str
    score: float
    routes: tuple[str, ...]
    confidence: float | None = None
    """how much of the question this hit's evidence explains (0..1), for routes that can tell; fusion
    weighs such a route by its best hit's confidence (``retrieve.search.route_weight``)"""


@dataclass(frozen=True, slots=True)
class SearchResult:
    """A ranked passage returned to the user: text, score and citation."""

    rank: int
    score: float
    text: str
    citation: Citation
    routes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        c = self.citation
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "routes": list(self.routes),
            "text": self.text,
            "citation": {
                "doc_id": c.doc_id,
                "source": c.source,
                "title": c.title,
                "chunk_id": c.chunk_id,
                "chunk": c.ordinal,
                "start": c.start,
                "end": c.end,
                **({"page": c.page, "last_page": c.last_page or c.page} if c.page is not None else {}),
            },
        }


@dataclass(frozen=True, slots=True)
class IngestFailure:
    """A file that could not be indexed, and why (one line for the user)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(slots=True)
class IndexReport:
    """What an indexing run did, with seconds spent per stage."""

    files_seen: int = 0
    files_unchanged: int = 0
    files_indexed: int = 0
    """files read and stored by this run (new or changed)"""
    documents_added: int = 0
    documents_removed: int = 0
    chunks_added: int = 0
    chunks_embedded: int = 0
    failures: list[IngestFailure] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """things the user should know about this run (e.g. what a schema change made it redo)"""
    extraction: ExtractionSummary | None = None
    """what LLM (or hybrid) graph extraction did in this run, with its token use; None for NLP only"""

    def add_time(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @property
    def files_failed(self) -> int:
        """Files (or named paths) that could not be indexed; each is listed in ``failures``."""
        return len(self.failures)


# -- the knowledge graph ------------------------------------------------------------------------
# Raw extractions belong to one chunk (provenance) and disappear with it; resolved entities are
# derived from all mentions. Names are referred to by their normalized form (``norm``).

LLM_SOURCE_PREFIX = "llm:"
"""The ``source`` of rows an LLM extracted starts with this, followed by the model name."""


@dataclass(frozen=True, slots=True)
class Mention:
    """A span of a chunk that names an entity. ``norm`` is the resolution key."""

    chunk_id: str
    surface: str
    norm: str
    type: str
    start: int
    end: int
    topic: bool = False
    """True for the entity the chunk is about (subject of its first sentence, or its title)."""
    source: str = ""
    """what extracted it: an NLP extractor's name, ``title``, or ``llm:MODEL`` (see ``LLM_SOURCE_PREFIX``)"""


@dataclass(frozen=True, slots=True)
class Triple:
    """One extracted relation: ``head --phrase--> tail`` (norms), typed by the schema, from one chunk."""

    chunk_id: str
    head: str
    phrase: str
    tail: str
    type: str = "related_to"
    source: str = ""
    """what extracted it (an NLP extractor's name or ``llm:MODEL``); LLM triples keep the LLM's type"""


@dataclass(frozen=True, slots=True)
class AttributeValue:
    """A literal fact about an entity (a date, a number), from one chunk."""

    chunk_id: str
    entity: str
    """norm of the entity it belongs to"""
    key: str
    value: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class Entity:
    """A resolved entity: every mention whose norm maps to it (its aliases) is the same thing."""

    id: str
    name: str
    type: str
    n_chunks: int
    aliases: tuple[str, ...] = ()
    """every norm that names this entity (the resolution keys), most frequent first"""


@dataclass(frozen=True, slots=True)
class Merge:
    """Why a name became part of an entity: the rule that merged it and its score."""

    entity_id: str
    member: str
    rule: str
    score: float


@dataclass(frozen=True, slots=True)
class Provenance:
    """A chunk that mentions an entity (``topic``: the chunk is about it)."""

    chunk_id: str
    title: str
    source: str
    topic: bool


@dataclass(frozen=True, slots=True)
class EntityView:
    """Everything the graph knows about one entity, each fact with the chunk it came from."""

    entity: Entity
    aliases: tuple[str, ...]
    relations: tuple[Triple, ...]
    attributes: tuple[AttributeValue, ...]
    provenance: tuple[Provenance, ...]
    names: dict[str, str] = field(default_factory=dict)
    """display name of each entity the relations name (by norm), where the graph knows it"""

    def to_dict(self) -> dict[str, Any]:
        e = self.entity
        return {
            "id": e.id, "name": e.name, "type": e.type, "chunks": e.n_chunks, "aliases": list(self.aliases),
            "relations": [{"head": r.head, "phrase": r.phrase, "tail": r.tail, "type": r.type, "chunk_id": r.chunk_id,
                           "source": r.source, "head_name": self.names.get(r.head, r.head),
                           "tail_name": self.names.get(r.tail, r.tail)} for r in self.relations],
            "attributes": [{"key": a.key, "value": a.value, "chunk_id": a.chunk_id} for a in self.attributes],
            "provenance": [{"chunk_id": p.chunk_id, "title": p.title, "source": p.source, "topic": p.topic}
                           for p in self.provenance],
        }


@dataclass(frozen=True, slots=True)
class ReportEvidence:
    chunk_id: str
    text: str


@dataclass(frozen=True, slots=True)
class CommunityReport:
    """What a community is about: its main entities and cited evidence; an LLM summary when written."""

    entities: tuple[str, ...]
    size: int
    evidence: tuple[ReportEvidence, ...]
    llm_title: str | None = None
    llm_summary: str | None = None
    llm_error: str | None = None

    def text(self) -> str:
        """The report as prose for a prompt: the summary if any, else the cited evidence."""
        head = f"{self.llm_title}: {self.llm_summary}" if self.llm_summary else ", ".join(self.entities)
        lines = [head] + [f"[{e.chunk_id}] {e.text}" for e in self.evidence]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"entities": list(self.entities), "size": self.size,
                               "evidence": [{"chunk_id": e.chunk_id, "text": e.text} for e in self.evidence]}
        for key in ("llm_title", "llm_summary", "llm_error"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CommunityReport:
        return cls(tuple(d.get("entities", ())), int(d.get("size", 0)),
                   tuple(ReportEvidence(e["chunk_id"], e["text"]) for e in d.get("evidence", ())),
                   d.get("llm_title"), d.get("llm_summary"), d.get("llm_error"))


@dataclass(frozen=True, slots=True)
class Community:
    """A community of entities at one level of the knowledge tree (level 0 = finest)."""

    id: str
    level: int
    parent: str | None
    size: int
    title: str
    keywords: tuple[str, ...]
    report: CommunityReport
    members: tuple[str, ...] = ()
    """entity ids (all of them when built; the largest 100 by name when read for display)"""
    member_names: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "level": self.level, "parent": self.parent, "size": self.size, "title": self.title,
                "keywords": list(self.keywords), "report": self.report.to_dict(), "members": list(self.member_names)}


# -- LLM extraction: outcomes, failures and schema proposals -------------------------------------


@dataclass(frozen=True, slots=True)
class ExtractionSummary:
    """What one run of LLM or hybrid extraction did: chunks, calls and tokens (from the LLM ledger)."""

    mode: str
    chunks: int = 0
    """chunks this run had to extract"""
    llm_chunks: int = 0
    """of those, chunks sent to the LLM (all of them in ``llm`` mode; those the policy picked in ``hybrid``)"""
    extracted: int = 0
    failed: int = 0
    left: int = 0
    """chunks not attempted because the run stopped (token budget): the next run resumes with them"""
    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stopped: str | None = None


@dataclass(frozen=True, slots=True)
class ExtractionFailure:
    """A chunk whose LLM reply could not be used; it is retried by the next ``banyan index``."""

    chunk_id: str
    extractor: str
    """the extraction key it failed under"""
    error: str
    attempts: int = 1
    """runs that tried it and failed"""


@dataclass(frozen=True, slots=True)
class TypeEvidence:
    """One chunk's evidence that the schema lacks a type: the LLM proposed it or used it."""

    chunk_id: str
    kind: str
    """``entity`` or ``relation``"""
    name: str
    description: str = ""
    example: str = ""


@dataclass(frozen=True, slots=True)
class TypeProposal:
    """A proposed schema type, counted over the chunks that support it, and the user's decision."""

    kind: str
    name: str
    description: str
    n_chunks: int
    examples: tuple[str, ...] = ()
    status: str = "pending"
    """``pending``, ``accepted`` (part of the schema from the next run) or ``rejected``"""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "description": self.description, "chunks": self.n_chunks,
                "examples": list(self.examples), "status": self.status}


# -- access control -------------------------------------------------------------------------------

PUBLIC = "public"
"""The principal every caller has: a document allowed to ``public`` (the default) is visible to all."""


def normalize_principals(names: Iterable[str]) -> frozenset[str]:
    """Principals as stored and compared: stripped, lower-cased, empty names dropped."""
    return frozenset(n.strip().lower() for n in names if n and n.strip())


@dataclass(frozen=True, slots=True)
class Access:
    """Who is asking. ``principals`` are names a caller acts as (a user and its groups); a document
    is visible if its allow-list names ``public`` or one of them. ``Access.everything()`` (the local
    CLI, an admin key) sees every document without filtering."""

    principals: frozenset[str] = frozenset()
    all_documents: bool = False

    @classmethod
    def everything(cls) -> Access:
        return cls(frozenset(), True)

    @classmethod
    def of(cls, *principals: str) -> Access:
        return cls(normalize_principals(principals) | {PUBLIC})

    def can_see(self, allowed: Iterable[str]) -> bool:
        """Whether a document allowed to ``allowed`` is visible to this caller."""
        return self.all_documents or any(p == PUBLIC or p in self.principals for p in allowed)

    @property
    def key(self) -> str:
        """A stable cache key: callers with the same principals see the same documents, and two
        different sets of principals never share a key (a name may hold a comma: JSON, not a join)."""
        return "*" if self.all_documents else json.dumps(sorted(self.principals | {PUBLIC}), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """An indexed document as listed to a caller."""

    id: str
    source: str
    title: str
    chunks: int
    allow: tuple[str, ...]
    """the principals its files allow (``public``: everyone)"""
    indexed_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "title": self.title, "chunks": self.chunks,
                "allow": list(self.allow), "indexed_at": self.indexed_at}


@dataclass(frozen=True, slots=True)
class ChunkSpan:
    """Where one chunk lies in its document's text."""

    chunk_id: str
    ordinal: int
    start: int
    end: int
    page: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"chunk_id": self.chunk_id, "ordinal": self.ordinal, "start": self.start, "end": self.end,
                "page": self.page}


@dataclass(frozen=True, slots=True)
class DocumentText:
    """A document's full text and its chunks' spans (to show a cited passage in place)."""

    info: DocumentInfo
    text: str
    chunks: tuple[ChunkSpan, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.info.to_dict(), "text": self.text, "spans": [c.to_dict() for c in self.chunks]}


@dataclass(frozen=True, slots=True)
class GraphNode:
    """An entity as the graph explorer shows it: a name, not an id."""

    id: str
    name: str
    type: str
    community: str | None
    chunks: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.type, "community": self.community,
                "chunks": self.chunks}


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """Relations between two entities (node ids), merged: the phrase of the strongest, their count."""

    source: str
    target: str
    relation: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "relation": self.relation, "weight": self.weight}


@dataclass(frozen=True, slots=True)
class Subgraph:
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    truncated: bool = False
    """True when more nodes qualified than the limit allowed"""

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": [n.to_dict() for n in self.nodes], "edges": [e.to_dict() for e in self.edges],
                "truncated": self.truncated}


@dataclass(frozen=True, slots=True)
class PhraseReading:
    """What the corpus says about a phrase of a question typed without capitals
    (``app.corpus.CorpusReader.read``, read by ``retrieve.graph_routes.GraphRetriever.used_as_name``)."""

    chunks: tuple[str, ...]
    """the chunks (the caller may read) holding all its words"""
    written_as_name: bool | None
    """``retrieve.linking.written_as_name`` over a sample of them (None: no occurrence told)"""
