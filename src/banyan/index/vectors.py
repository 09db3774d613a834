"""Vector search. Exact (numpy) by default, behind a protocol so an ANN index can replace it."""

from __future__ import annotations

from typing import Protocol

import numpy as np


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first (ties keep index order)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


class VectorIndex(Protocol):
    def search(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        ...


class ExactVectorIndex:
    """Brute-force cosine similarity on L2-normalized vectors."""

    def __init__(self, ids: list[str], matrix: np.ndarray) -> None:
        self.ids = ids
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self._pos = {cid: i for i, cid in enumerate(ids)}

    def scores(self, query: np.ndarray, ids: list[str]) -> np.ndarray:
        """Cosine of ``query`` with the given chunks (0 for chunks without a vector)."""
        rows = [self._pos.get(c, -1) for c in ids]
        q = np.asarray(query, dtype=np.float32)
        out = np.zeros(len(ids), np.float32)
        valid = [i for i, r in enumerate(rows) if r >= 0]
        if valid:
            out[valid] = self.matrix[[rows[i] for i in valid]] @ q
        return out

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The ``k`` nearest chunks; with ``mask`` (one bool per id), only chunks where it is True."""
        if not self.ids:
            return []
        scores = self.matrix @ np.asarray(query, dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        return [(self.ids[i], float(scores[i])) for i in top_k(scores, k) if np.isfinite(scores[i])]
