"""The Python API: ``Banyan(index_dir).index(paths)`` then ``.search(query)``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from banyan.embed import Embedder, create_embedder
from banyan.errors import IndexMismatchError
from banyan.extract.schema import Schema, load_schema, relation_text
from banyan.graph.build import cached_embed
from banyan.graph.kg import KnowledgeGraph
from banyan.index.bm25 import BM25Index
from banyan.index.pipeline import NoProgress, Progress, build_bm25, embed_missing, ingest_files
from banyan.index.vectors import ExactVectorIndex
from banyan.retrieve import Retriever
from banyan.retrieve.graph_routes import GraphRetriever
from banyan.settings import CONFIG_FILE, SearchMode, Settings, load_settings, settings_to_toml
from banyan.store import SQLiteStore, StoreStats
from banyan.types import IndexReport, SearchResult


class Banyan:
    """One index directory: its store, embedder and search indexes.

    ``settings`` overrides (a nested dict, e.g. ``{"embedding": {"backend": "e5"}}``) win over
    environment variables and the index's ``banyan.toml``.
    """

    def __init__(self, index_dir: Path | str = ".banyan", overrides: dict[str, Any] | None = None,
                 *, settings: Settings | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.settings = settings or load_settings(self.index_dir, overrides)
        self.store = SQLiteStore(self.index_dir)
        self._embedder: Embedder | None = None
        self._vectors: ExactVectorIndex | None = None
        self._vectors_version = -1
        self._bm25: BM25Index | None = None
        self._bm25_version = -1
        self._schema: Schema | None = None
        self._graph: GraphRetriever | None = None
        self._graph_version = ""
        self._last_query: tuple[str, np.ndarray] | None = None
        self.retriever = Retriever(self.settings.retrieval, self.embedder, self.vectors, self.bm25, self.graph,
                                   lambda: self.store.resolved_version() is not None, self.query_vector)

    # -- components, loaded lazily ----------------------------------------------------------
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = create_embedder(self.settings.embedding)
        return self._embedder

    def vectors(self) -> ExactVectorIndex:
        version = self.store.version()
        if self._vectors is None or self._vectors_version != version:
            name = self.embedder().name
            ids, matrix = self.store.load_embeddings(name)
            n_chunks = self.store.stats().chunks
            if len(ids) < n_chunks:
                others = {m: n for m, n in self.store.stats().embeddings.items() if m != name}
                hint = f" (it holds vectors from {', '.join(others)})" if others else ""
                raise IndexMismatchError(
                    f"{n_chunks - len(ids)} of {n_chunks} chunks have no vector from embedder {name}{hint}; "
                    f"run `banyan index` again to embed them, or set embedding.backend to the one used"
                )
            self._vectors, self._vectors_version = ExactVectorIndex(ids, matrix), version
        return self._vectors

    def bm25(self) -> BM25Index:
        version = self.store.version()
        if self._bm25 is None or self._bm25_version != version:
            self._bm25 = build_bm25(self.store, self.index_dir, self.settings, IndexReport())
            self._bm25_version = version
        return self._bm25

    def graph(self) -> GraphRetriever:
        """The knowledge graph and its routes, reloaded when the graph changed."""
        version = self.store.resolved_version()
        if version is None:
            raise IndexMismatchError(
                "graph modes need the knowledge graph, and this index has none: run `banyan index` with "
                "graph.enabled = true (the default)"
            )
        version = f"{version}|{self.store.get_meta('communities_at') or ''}"
        if self._graph is None or self._graph_version != version:
            emb = self.embedder()
            kg = KnowledgeGraph.load(self.store, f"text:{emb.name}", emb.dim)
            kinds = self.schema().typed_relations()
            rel_vecs = cached_embed(self.store, emb)([relation_text(r) for r in kinds])
            self._graph = GraphRetriever(kg, self.settings.graph, emb.embed_documents, self.schema(),
                                         self._score_chunks, [r.name for r in kinds], rel_vecs)
            communities = self.store.community_members(level=0)
            if communities:
                pos = {eid: i for i, eid in enumerate(kg.entity_ids)}
                self._graph.community_vectors = cached_embed(self.store, emb)([kw for _, kw, _ in communities])
                self._graph.community_members = [np.array([pos[e] for e in members if e in pos], dtype=np.int64)
                                                 for _, _, members in communities]
            self._graph_version = version
        return self._graph

    def query_vector(self, query: str) -> np.ndarray:
        """The query's embedding, remembered for the last query (several routes need it)."""
        if self._last_query is None or self._last_query[0] != query:
            self._last_query = (query, self.embedder().embed_query(query))
        return self._last_query[1]

    def _score_chunks(self, query: str, chunk_ids: list[str]) -> np.ndarray:
        return self.vectors().scores(self.query_vector(query), chunk_ids)

    # -- indexing ---------------------------------------------------------------------------
    def index(self, paths: Iterable[Path | str], *, progress: Progress | None = None,
              embed: bool = True) -> IndexReport:
        """Index files and folders; returns counts, failures and seconds per stage."""
        progress = progress or NoProgress()
        self._write_config()
        report = IndexReport()
        ingest_files(self.store, paths, self.settings, report, progress)
        if embed:
            embed_missing(self.store, self.embedder(), self.settings.embedding.include_title, report, progress)
        if self.settings.graph.enabled:
            self.build_graph(report, progress)
        build_bm25(self.store, self.index_dir, self.settings, report)
        return report

    def schema(self) -> Schema:
        if self._schema is None:
            self._schema = load_schema(self.settings.graph.schema_path)
        return self._schema

    def build_graph(self, report: IndexReport | None = None, progress: Progress | None = None) -> IndexReport:
        """Extract entities and relations from new chunks (no LLM), then resolve entities."""
        from banyan.graph.build import default_extractors, extract_missing, resolve_graph

        report = report or IndexReport()
        extract_missing(self.store, self.schema(), default_extractors(), report, progress or NoProgress())
        resolve_graph(self.store, self.schema(), self.embedder(), self.settings.graph, report)
        return report

    def remove(self, path: Path | str) -> int:
        """Forget one indexed file; returns how many documents went with it."""
        return self.store.remove_file(str(Path(path).resolve()))

    def _write_config(self) -> None:
        """Pin the settings an index was built with, so later commands use the same embedder."""
        path = self.index_dir / CONFIG_FILE
        if not path.exists():
            tmp = path.with_suffix(".toml.tmp")
            tmp.write_text(
                "# Settings this index was built with. Edit with care: changing the embedder means\n"
                "# re-embedding every chunk (`banyan index` does it).\n" + settings_to_toml(self.settings),
                encoding="utf-8",
            )
            tmp.replace(path)  # atomic: a killed run never leaves half a config behind

    # -- searching --------------------------------------------------------------------------
    def search(self, query: str, mode: SearchMode | None = None, k: int | None = None) -> list[SearchResult]:
        """Ranked, cited passages for ``query``."""
        if not query.strip():
            raise ValueError("empty query")
        hits = self.retriever.search(query, mode or self.settings.retrieval.default_mode,
                                     k or self.settings.retrieval.k)
        found = self.store.citations([h.chunk_id for h in hits])
        return [
            SearchResult(rank, h.score, found[h.chunk_id][1], found[h.chunk_id][0], h.routes)
            for rank, h in enumerate((h for h in hits if h.chunk_id in found), 1)
        ]

    def stats(self) -> StoreStats:
        return self.store.stats()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Banyan":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
