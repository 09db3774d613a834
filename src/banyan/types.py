"""The typed values that flow between stages: file -> Document -> Chunk -> Hit."""

from __future__ import annotations

import hashlib
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
    def create(cls, source: str, title: str, text: str, metadata: dict[str, Any] | None = None) -> "Document":
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

    def label(self) -> str:
        return f"{self.title or self.source} [chunk {self.ordinal}, chars {self.start}-{self.end}]"


@dataclass(frozen=True, slots=True)
class Hit:
    """A chunk scored by one retrieval route (or by fusion, with every route that found it)."""

    chunk_id: str
    score: float
    routes: tuple[str, ...]


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
    documents_added: int = 0
    documents_removed: int = 0
    chunks_added: int = 0
    chunks_embedded: int = 0
    failures: list[IngestFailure] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def add_time(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
