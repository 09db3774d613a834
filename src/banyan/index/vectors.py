"""Vector search. Exact (numpy) below a size threshold; above it an ANN index (``index.ann``) behind the
same protocol. Every index here scores with the exact float32 vectors, so a score means the same
cosine whichever index found the chunk."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Protocol, runtime_checkable

import numpy as np


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first (ties keep index order)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


@runtime_checkable
class VectorIndex(Protocol):
    """What the dense route, the graph routes and access control read from a vector index."""

    ids: Sequence[str]
    """one chunk id per row; a ``mask`` has one bool per id"""

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The ``k`` nearest chunks (id, cosine), best first; with ``mask``, only rows where it is True."""
        ...

    def scores(self, query: np.ndarray, ids: list[str]) -> np.ndarray:
        """Cosine of ``query`` with the given chunks (0 for chunks without a vector)."""
        ...

    def __len__(self) -> int:
        ...


class ExactVectorIndex:
    """Brute-force cosine similarity on L2-normalized vectors.

    ``matrix`` may be a read-only memory map (the vector cache): nothing is copied, so a cold
    process answers its first search without reading every vector into memory first.
    """

    kind = "exact"

    def __init__(self, ids: list[str], matrix: np.ndarray) -> None:
        self.ids = ids
        matrix = np.asarray(matrix)
        if matrix.dtype != np.float32 or not matrix.flags.c_contiguous:
            matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.matrix = matrix

    @cached_property
    def _pos(self) -> dict[str, int]:
        """Row of each chunk id; built on the first ``scores`` call (a million ids take a while)."""
        return {cid: i for i, cid in enumerate(self.ids)}

    def rows_of(self, ids: Sequence[str]) -> np.ndarray:
        """Row of each id, -1 for ids without a vector."""
        pos = self._pos
        return np.fromiter((pos.get(c, -1) for c in ids), dtype=np.int64, count=len(ids))

    def scores(self, query: np.ndarray, ids: list[str]) -> np.ndarray:
        """Cosine of ``query`` with the given chunks (0 for chunks without a vector)."""
        rows = self.rows_of(ids)
        out = np.zeros(len(ids), np.float32)
        valid = np.flatnonzero(rows >= 0)
        if len(valid):
            out[valid] = self.matrix[rows[valid]] @ np.asarray(query, dtype=np.float32)
        return out

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The ``k`` nearest chunks; with ``mask`` (one bool per id), only chunks where it is True."""
        if not self.ids:
            return []
        q = np.asarray(query, dtype=np.float32)
        if mask is not None and _selective(mask):
            return self.search_rows(q, k, np.flatnonzero(mask))
        scores = self.matrix @ q
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        return [(self.ids[i], float(scores[i])) for i in top_k(scores, k) if np.isfinite(scores[i])]

    def search_rows(self, query: np.ndarray, k: int, rows: np.ndarray) -> list[tuple[str, float]]:
        """Exact search over the given rows only (sorted row numbers): a restricted caller's chunks."""
        if not len(rows):
            return []
        scores = self.matrix[rows] @ np.asarray(query, dtype=np.float32)
        best = top_k(scores, k)
        return [(self.ids[rows[i]], float(scores[i])) for i in best]

    def rescore(self, query: np.ndarray, rows: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The best ``k`` of candidate ``rows`` (an ANN search's) by exact cosine, best first."""
        rows = np.unique(rows[rows >= 0])  # sorted: reads the memory map in file order
        return self.search_rows(query, k, rows)


def _selective(mask: np.ndarray) -> bool:
    """Whether gathering the visible rows beats scoring every row (under a fifth of them visible)."""
    return len(mask) > 4096 and int(np.count_nonzero(mask)) * 5 < len(mask)
