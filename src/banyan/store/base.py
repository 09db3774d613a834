"""The Store protocol: the source of truth for everything an index holds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from banyan.types import Chunk, Citation, Document


@dataclass(frozen=True, slots=True)
class FileChange:
    """What replacing one source file's documents did."""

    documents_added: int
    documents_removed: int
    chunks_added: int


@dataclass(frozen=True, slots=True)
class StoreStats:
    files: int
    documents: int
    chunks: int
    embeddings: dict[str, int]
    languages: dict[str, int]


class Store(Protocol):
    """Documents, chunks and embeddings, changed only in whole transactions."""

    def file_hash(self, path: str) -> str | None:
        """The content hash recorded when ``path`` was last indexed, or None."""
        ...

    def existing_documents(self, doc_ids: Sequence[str]) -> set[str]:
        ...

    def replace_file(self, path: str, file_hash: str, documents: Sequence[Document],
                     chunks: Sequence[Chunk]) -> FileChange:
        """Atomically make ``path``'s documents exactly ``documents``.

        ``chunks`` are those of documents not yet stored; documents no longer produced by any
        file are removed with their chunks and embeddings.
        """
        ...

    def remove_file(self, path: str) -> int:
        """Forget ``path``; returns how many documents were removed with it."""
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

    def citations(self, chunk_ids: Sequence[str]) -> dict[str, tuple[Citation, str]]:
        """Citation and text of each chunk id that exists."""
        ...

    def version(self) -> int:
        """A counter that changes whenever documents or chunks change."""
        ...

    def get_meta(self, key: str) -> str | None:
        ...

    def set_meta(self, key: str, value: str) -> None:
        ...

    def stats(self) -> StoreStats:
        ...

    def close(self) -> None:
        ...
