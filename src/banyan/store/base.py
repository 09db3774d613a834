"""The Store protocol: the source of truth for everything an index holds."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from banyan.types import (
    AttributeValue,
    Chunk,
    ChunkSpan,
    Citation,
    Community,
    Document,
    DocumentInfo,
    Entity,
    ExtractionFailure,
    Mention,
    Merge,
    Provenance,
    Triple,
    TypeEvidence,
    TypeProposal,
)


@dataclass(frozen=True, slots=True)
class FileChange:
    """What replacing one source file's documents did."""

    documents_added: int
    documents_removed: int
    chunks_added: int


@dataclass(frozen=True, slots=True)
class PendingChunk:
    """A chunk waiting for extraction; ``previous`` is the key it was extracted under, if any."""

    chunk_id: str
    lang: str
    previous: str | None


@dataclass(frozen=True, slots=True)
class Passage:
    """A chunk's text with where it comes from."""

    citation: Citation
    text: str


@dataclass(frozen=True, slots=True)
class RelationEdge:
    """One relation between two resolved entities: every triple with the same head entity, tail
    entity and type, merged (what exports write and ``graph_stats()["relations"]`` counts)."""

    head: str
    tail: str
    type: str
    phrases: tuple[str, ...]
    chunk_ids: tuple[str, ...]
    count: int
    """how many extracted triples support it"""


@dataclass(frozen=True, slots=True)
class StoreStats:
    files: int
    documents: int
    chunks: int
    embeddings: dict[str, int]
    languages: dict[str, int]


@dataclass(frozen=True, slots=True)
class PendingWork:
    """Stages an earlier run left unfinished (killed, or still running: see ``writer``)."""

    chunks: int
    embedder: str | None
    """the embedder whose vectors were counted (the one that last wrote vectors)"""
    chunks_without_vector: int
    chunks_unextracted: int
    graph_built: bool
    graph_stale: bool
    """chunks or extractions changed since entities were last resolved"""
    communities_stale: bool
    """communities were built from an older graph"""
    bm25_stale: bool = False
    writer: str | None = None
    """who is writing the index right now, if anyone"""
    unfinished_run: str | None = None
    """a writing command that was killed or failed (files it had not read yet are not in the index)"""

    def incomplete(self, graph_enabled: bool = True) -> list[str]:
        """One line per unfinished stage (empty when the index is complete)."""
        out = []
        if self.unfinished_run:
            out.append(f"a run by {self.unfinished_run} stopped before finishing; run that command again "
                       "(files it had not read yet are not in the index)")
        if self.chunks_without_vector:
            out.append(f"{self.chunks_without_vector} of {self.chunks} chunks have no vector"
                       + (f" from {self.embedder}" if self.embedder else ""))
        if graph_enabled and self.chunks_unextracted:
            out.append(f"{self.chunks_unextracted} of {self.chunks} chunks are not extracted into the graph")
        if graph_enabled and self.graph_stale:
            out.append("the graph is older than its chunks (entities not re-resolved)")
        if graph_enabled and self.chunks and not self.graph_built:
            out.append("the knowledge graph has not been built")
        if self.communities_stale:
            out.append("communities were built from an older graph")
        if self.bm25_stale:
            out.append("the BM25 index is older than the chunks")
        return out


class Store(Protocol):
    """Documents, chunks and embeddings, changed only in whole transactions."""

    def file_hash(self, path: str) -> str | None:
        """The content hash recorded when ``path`` was last indexed, or None."""
        ...

    def existing_documents(self, doc_ids: Sequence[str]) -> set[str]:
        ...

    def replace_file(self, path: str, file_hash: str, documents: Sequence[Document],
                     chunks: Sequence[Chunk], allow: Iterable[str] | None = None) -> FileChange:
        """Atomically make ``path``'s documents exactly ``documents``.

        ``chunks`` are those of documents not yet stored; documents no longer produced by any
        file are removed with their chunks and embeddings.
        """
        ...

    def remove_file(self, path: str) -> int:
        """Forget ``path``; returns how many documents were removed with it. Raises NotIndexedError
        if ``path`` was never indexed."""
        ...

    def indexed_files(self) -> list[str]:
        ...

    def chunks_without_embedding(self, model: str) -> list[tuple[str, str, str]]:
        """(chunk id, document title, chunk text) for every chunk with no vector from ``model``."""
        ...

    def put_embeddings(self, model: str, chunk_ids: Sequence[str], vectors: np.ndarray) -> None:
        ...

    def load_embeddings(self, model: str) -> tuple[list[str], np.ndarray]:
        ...

    def iter_chunks(self) -> Iterator[tuple[str, str, str]]:
        """(chunk id, title, text) for every chunk, in a stable order."""
        ...

    def citations(self, chunk_ids: Sequence[str]) -> dict[str, Passage]:
        """Citation and text of each chunk id that exists."""
        ...

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """Chunks by id, in the order asked (missing ids are left out)."""
        ...

    def chunk_order(self) -> list[tuple[str, str, int]]:
        """(chunk id, document id, ordinal) of every chunk, by document and position."""
        ...

    def version(self) -> int:
        """A counter that changes whenever documents or chunks change."""
        ...

    def vectors_version(self) -> str:
        """Changes whenever chunks or vectors change."""
        ...

    def pending_work(self, model: str | None) -> PendingWork:
        """What earlier runs left unfinished."""
        ...

    def writing(self, *, wait: bool = True, shared: bool = False) -> AbstractContextManager[None]:
        """Hold the index's writer lock; a writer it excludes waits or raises IndexBusyError.

        ``shared``: per-file work (reading, storing, embedding files) that a server store lets
        several writers do at once; a nested exclusive ``writing()`` then waits for the index alone.
        SQLite has one writer whatever ``shared`` says."""
        ...

    def writer(self) -> str | None:
        """Who is writing the index right now, or None."""
        ...

    def get_meta(self, key: str) -> str | None:
        ...

    def set_meta(self, key: str, value: str) -> None:
        ...

    def stats(self) -> StoreStats:
        ...

    def close(self) -> None:
        ...

    def llm_database(self) -> Any | None:
        """Where the LLM cache and ledger live (an ``llm.ledger.LLMDatabase``): a server store's own
        database, so every machine shares them; None for the file beside the index (``llm.sqlite``)."""
        ...

    # -- access control (store/access_tables.py) ----------------------------------------------
    def set_allow(self, paths: Collection[str], allow: Iterable[str]) -> int: ...
    def acl_version(self) -> str: ...
    def all_public(self) -> bool: ...
    def document_allow(self, doc_ids: Collection[str] | None = None) -> dict[str, set[str]]: ...
    def shared_documents(self) -> dict[str, list[tuple[str, tuple[str, ...]]]]: ...
    def chunk_documents(self) -> Iterator[tuple[str, str]]: ...
    def documents_info(self, doc_ids: Collection[str] | None = None) -> list[DocumentInfo]: ...
    def document_text(self, doc_id: str) -> tuple[str, list[ChunkSpan]] | None: ...
    def document_files(self, doc_id: str) -> list[str]: ...
    def file_allow(self, paths: Collection[str]) -> dict[str, tuple[str, ...]]: ...


class GraphStore(Protocol):
    """The knowledge graph's seam: raw extractions per chunk, resolved entities, communities.

    Everything crosses it as typed records (``banyan.types``). ``SQLiteStore`` is the embedded
    implementation, ``PostgresStore`` the server one.
    """

    def chunks_without_extraction(self, extractor_for: Callable[[str], str | None]) -> list[PendingChunk]:
        """Chunks not extracted under ``extractor_for(language)`` (the extractor's versioned key)."""
        ...

    def put_extraction(self, extractor: str, chunk_ids: Sequence[str], mentions: Sequence[Mention],
                       triples: Sequence[Triple], attributes: Sequence[AttributeValue],
                       proposals: Sequence[TypeEvidence] = (), *, source: str | None = None) -> None:
        """Replace everything extracted from ``chunk_ids`` in one transaction (rows, failure records,
        type proposals); a row with no ``source`` is recorded as coming from ``source`` (default:
        ``extractor``)."""
        ...

    def record_extraction_failures(self, failures: Sequence[ExtractionFailure]) -> None:
        """Chunks whose extraction failed this run (retried by the next), replacing earlier records."""
        ...

    def extraction_failures(self, limit: int | None = None) -> list[ExtractionFailure]: ...
    def type_proposals(self) -> list[TypeProposal]: ...

    def set_type_decision(self, kind: str, name: str, status: str, description: str = "") -> None:
        """``accepted`` or ``rejected`` (``pending`` undoes a decision)."""
        ...

    def chunk_titles(self, chunk_ids: Sequence[str], *, opening_only: bool = False) -> dict[str, str]:
        """Document title of each given chunk (``opening_only``: of those that open their document)."""
        ...

    def load_mentions(self) -> list[Mention]: ...
    def load_triples(self) -> list[Triple]: ...
    def load_attributes(self) -> list[AttributeValue]: ...
    def set_triple_types(self, phrase_types: dict[str, str]) -> None: ...

    def untype_out_of_range(self, rules: Mapping[str, tuple[Sequence[str], Sequence[str]]], *, untyped: str,
                            wildcard: str) -> int:
        """NLP triples whose resolved head or tail type is outside their relation type's domain or
        range (``rules``: type -> allowed head types, allowed tail types) get type ``untyped``."""
        ...
    def replace_entities(self, entities: Sequence[Entity], merges: Sequence[Merge], graph_version: str) -> None: ...
    def graph_version(self) -> str: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def resolved_version(self) -> str | None: ...
    def load_entities(self) -> list[Entity]: ...
    def alias_index(self) -> dict[str, str]: ...
    def load_merges(self) -> list[Merge]: ...
    def keep_apart(self) -> set[tuple[str, str]]: ...
    def add_keep_apart(self, a: str, b: str) -> None: ...
    def mark_graph_changed(self) -> None: ...
    def text_vectors(self, model: str, texts: Sequence[str]) -> dict[str, np.ndarray]: ...
    def put_text_vectors(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> None: ...
    def replace_communities(self, communities: Sequence[Community], version: str) -> None: ...
    def communities_version(self) -> str | None: ...

    def communities(self, level: int | None = None, limit: int | None = None, *,
                    with_members: bool = False) -> list[Community]: ...

    def get_community(self, cid: str) -> Community | None: ...
    def find_entity(self, norm: str) -> Entity | None: ...
    def relations_of(self, norms: Sequence[str], limit: int = 50) -> list[Triple]: ...
    def attributes_of(self, norms: Sequence[str], limit: int = 50) -> list[AttributeValue]: ...
    def provenance_of(self, norms: Sequence[str], limit: int = 20) -> list[Provenance]: ...
    def relation_edges(self, chunks: Collection[str] | None = None) -> list[RelationEdge]: ...
    def graph_stats(self) -> dict[str, object]: ...


class IndexStore(Store, GraphStore, Protocol):
    """A store that holds both the documents and the graph (what ``Banyan`` needs)."""
