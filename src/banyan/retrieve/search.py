"""Search modes: baseline routes (dense, BM25), hybrid fusion, and the graph fusions on top."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from banyan.embed import Embedder, covers
from banyan.index.bm25 import BM25Index
from banyan.index.vectors import VectorIndex
from banyan.ingest.lang import detect_lang
from banyan.retrieve.fusion import rrf
from banyan.retrieve.graph_routes import GraphRetriever
from banyan.settings import RetrievalSettings, SearchMode
from banyan.types import Hit

log = logging.getLogger(__name__)
# graph: PPR, plus the chunks of the entities the question names, plus two-hop bridge chunks
GRAPH_WEIGHTS = {"ppr": 1.0, "bridge": 0.5, "home": 1.0}
HOME_LIMIT = 4
# hybrid+graph: the graph fusion above, with the baseline and the other graph routes as minor voices
ALL_WEIGHTS = {**GRAPH_WEIGHTS, "bm25": 0.3, "dense": 0.3, "entity": 0.3, "path": 0.3}
MODES: tuple[SearchMode, ...] = ("auto", "dense", "bm25", "hybrid", "graph", "hybrid+graph")
GRAPH_LANGS = frozenset({"en"})
"""Languages whose extractor parses dependencies (spaCy); Chinese extraction is POS-only, and on
CMRC 2018 graph mode trails hybrid (98.6 vs 99.0 recall@5), so auto sends Chinese to hybrid."""


@dataclass
class Retriever:
    """Runs the routes a mode needs and fuses them. Indexes are loaded on first use."""

    cfg: RetrievalSettings
    embedder: Callable[[], Embedder]
    vectors: Callable[[], VectorIndex]
    bm25: Callable[[], BM25Index]
    graph: Callable[[], GraphRetriever]
    has_graph: Callable[[], bool] = lambda: False
    query_vector: Callable[[str], np.ndarray] | None = None
    """the query's embedding, shared by every route that needs it (embedded once per query)"""

    def dense(self, query: str, n: int) -> list[Hit]:
        vec = self.query_vector(query) if self.query_vector else self.embedder().embed_query(query)
        return [Hit(cid, s, ("dense",)) for cid, s in self.vectors().search(vec, n)]

    def lexical(self, query: str, n: int) -> list[Hit]:
        return [Hit(cid, s, ("bm25",)) for cid, s in self.bm25().search(query, n)]

    def _baseline_routes(self, query: str, n: int) -> dict[str, list[str]]:
        routes = {"bm25": [h.chunk_id for h in self.lexical(query, n)]}
        lang = detect_lang(query)
        if covers(self.embedder(), lang):
            routes["dense"] = [h.chunk_id for h in self.dense(query, n)]
        else:
            log.info("dense route skipped: embedder %s is not meant for %r text", self.embedder().name, lang)
        return routes

    def resolve_mode(self, query: str, mode: SearchMode) -> SearchMode:
        if mode != "auto":
            return mode
        return "graph" if detect_lang(query) in GRAPH_LANGS and self.has_graph() else "hybrid"

    def search(self, query: str, mode: SearchMode, k: int) -> list[Hit]:
        mode = self.resolve_mode(query, mode)
        if mode == "dense":
            return self.dense(query, k)
        if mode == "bm25":
            return self.lexical(query, k)
        n = max(k, self.cfg.candidates)
        routes = self._baseline_routes(query, n)
        hybrid = rrf(routes, k=self.cfg.rrf_k)
        if mode == "hybrid":
            return hybrid[:k]
        if mode in ("graph", "hybrid+graph"):
            g = self.graph()
            links = g.link(query)
            ppr = g.ppr_route(links, hybrid, n, query)
            bridge = g.bridge_route(query, links, n)
            home = g.home_route(links, ppr)
            if mode == "graph":
                if not home:  # the question names no entity that has its own text: nothing to walk from
                    return hybrid[:k]
                fused = {"ppr": [h.chunk_id for h in ppr], "bridge": [h.chunk_id for h in bridge],
                         "home": [h.chunk_id for h in home][:HOME_LIMIT]}
                weights = dict(GRAPH_WEIGHTS)
                if g.cfg.community_weight > 0:
                    fused["community"] = [h.chunk_id for h in g.community_route(query, n)]
                    weights["community"] = g.cfg.community_weight
                return rrf(fused, k=self.cfg.rrf_k, weights=weights)[:k]
            routes["ppr"] = [h.chunk_id for h in ppr]
            routes["bridge"] = [h.chunk_id for h in bridge]
            routes["home"] = [h.chunk_id for h in home][:HOME_LIMIT]
            routes["entity"] = [h.chunk_id for h in g.entity_route(links, n)]
            routes["path"] = [h.chunk_id for h in g.path_route(links, n)]
            return rrf(routes, k=self.cfg.rrf_k, weights=ALL_WEIGHTS)[:k]
        raise ValueError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}")
