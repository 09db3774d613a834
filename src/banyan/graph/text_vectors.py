"""Vectors of short texts (entity names, relation phrases, community keywords), embedded once and
kept in the store by text. A module of its own so the read path can use it without importing the
extraction pipeline (``graph.build``) and, through it, the LLM layer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from banyan.embed import Embedder
from banyan.store import GraphStore


def cached_embed(store: GraphStore, embedder: Embedder, *, write: bool = True) -> Callable[[list[str]], np.ndarray]:
    """Embed short texts (names, phrases) once: vectors are kept in the store by text.

    With ``write=False`` (the read path) missing vectors are computed but not stored."""
    model = f"text:{embedder.name}"

    def embed(texts: list[str]) -> np.ndarray:
        unique = list(dict.fromkeys(texts))
        have = store.text_vectors(model, unique)
        missing = [t for t in unique if t not in have]
        for i in range(0, len(missing), 2048):
            part = missing[i : i + 2048]
            vecs = embedder.embed_documents(part)
            if write:
                store.put_text_vectors(model, part, vecs)
            have.update(zip(part, vecs))
        if not texts:
            return np.zeros((0, embedder.dim), np.float32)
        return np.stack([have[t] for t in texts]).astype(np.float32)

    return embed
