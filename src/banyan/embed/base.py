"""The Embedder protocol and small helpers shared by the backends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns passages and queries into L2-normalized float32 vectors."""

    name: str
    """Identity of the model and its options; vectors from different names never mix."""
    dim: int
    languages: frozenset[str] | None
    """Languages the model handles well (e.g. {"en"}); None means multilingual."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        ...

    def embed_query(self, text: str) -> np.ndarray:
        ...


def l2_normalize(mat: np.ndarray) -> np.ndarray:
    mat = np.asarray(mat, dtype=np.float32)
    norms = np.linalg.norm(mat, axis=-1, keepdims=True)
    return mat / np.maximum(norms, 1e-12)


def covers(embedder: Embedder, lang: str) -> bool:
    """Whether ``embedder`` is meant for text in ``lang``."""
    return embedder.languages is None or lang in embedder.languages
