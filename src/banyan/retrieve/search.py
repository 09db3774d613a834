"""Baseline retrieval routes (dense, BM25) and their fusion (hybrid)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from banyan.embed import Embedder, covers
from banyan.index.bm25 import BM25Index
from banyan.index.vectors import VectorIndex
from banyan.ingest.lang import detect_lang
from banyan.retrieve.fusion import rrf
from banyan.settings import RetrievalSettings, SearchMode
from banyan.types import Hit

log = logging.getLogger(__name__)
MODES: tuple[SearchMode, ...] = ("dense", "bm25", "hybrid")


@dataclass
class Retriever:
    """Runs the routes a mode needs and fuses them. Indexes are loaded on first use."""

    cfg: RetrievalSettings
    embedder: Callable[[], Embedder]
    vectors: Callable[[], VectorIndex]
    bm25: Callable[[], BM25Index]

    def dense(self, query: str, n: int) -> list[Hit]:
        vec = self.embedder().embed_query(query)
        return [Hit(cid, s, ("dense",)) for cid, s in self.vectors().search(vec, n)]

    def lexical(self, query: str, n: int) -> list[Hit]:
        return [Hit(cid, s, ("bm25",)) for cid, s in self.bm25().search(query, n)]

    def search(self, query: str, mode: SearchMode, k: int) -> list[Hit]:
        if mode == "dense":
            return self.dense(query, k)
        if mode == "bm25":
            return self.lexical(query, k)
        if mode == "hybrid":
            n = max(k, self.cfg.candidates)
            routes = {"bm25": [h.chunk_id for h in self.lexical(query, n)]}
            lang = detect_lang(query)
            if covers(self.embedder(), lang):
                routes["dense"] = [h.chunk_id for h in self.dense(query, n)]
            else:
                log.info("dense route skipped: embedder %s is not meant for %r text", self.embedder().name, lang)
            return rrf(routes, k=self.cfg.rrf_k)[:k]
        raise ValueError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}")
