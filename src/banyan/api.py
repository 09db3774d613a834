"""The Python API: every use case of one index as a typed operation.

``Banyan(index_dir)`` is the facade the CLI (and the REST and MCP servers) call: the shells only
parse arguments and print. One ``Banyan`` serves concurrent searches from many threads: the store
gives each thread its own connection, the read side (``app.view.IndexView``) is loaded once per
store version and then read-only, and every request carries its own ``Query``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from banyan.app import graph_ops
from banyan.app.view import IndexView
from banyan.embed import Embedder, create_embedder
from banyan.extract.schema import Schema, load_schema
from banyan.index.pipeline import NoProgress, Progress, build_bm25, embed_missing, ingest_files
from banyan.settings import CONFIG_FILE, Settings, load_settings, settings_to_toml
from banyan.store import SQLiteStore, StoreStats
from banyan.types import Community, EntityView, IndexReport, SearchResult


class Banyan:
    """One index directory: its store, embedder and search indexes.

    ``overrides`` (a nested dict, e.g. ``{"embedding": {"backend": "e5"}}``) win over environment
    variables and the index's ``banyan.toml``; with none, an index opens with the embedder and
    chunking it was built with.
    """

    def __init__(self, index_dir: Path | str = ".banyan", overrides: dict[str, Any] | None = None,
                 *, settings: Settings | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.settings = settings or load_settings(self.index_dir, overrides)
        self.store = SQLiteStore(self.index_dir)
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None
        self._schema: Schema | None = None
        self.view = IndexView(self.store, self.settings, self.index_dir, self.embedder, self.schema)

    # -- components, loaded once --------------------------------------------------------------
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = create_embedder(self.settings.embedding)
            return self._embedder

    def schema(self) -> Schema:
        with self._lock:
            if self._schema is None:
                self._schema = load_schema(self.settings.graph.schema_path)
            return self._schema

    # -- indexing -------------------------------------------------------------------------------
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

    # -- searching --------------------------------------------------------------------------------
    def search(self, query: str, mode: str | None = None, k: int | None = None) -> list[SearchResult]:
        """Ranked, cited passages for ``query``. Safe to call from many threads at once."""
        if not query.strip():
            raise ValueError("empty query")
        q = self.view.query(query)
        hits = self.view.retriever().search(q, mode or self.settings.retrieval.default_mode,
                                            k or self.settings.retrieval.k)
        found = self.store.citations([h.chunk_id for h in hits])
        return [
            SearchResult(rank, h.score, found[h.chunk_id].text, found[h.chunk_id].citation, h.routes)
            for rank, h in enumerate((h for h in hits if h.chunk_id in found), 1)
        ]

    def resolve_mode(self, query: str, mode: str | None = None) -> str:
        """The mode ``auto`` (or ``mode``) stands for with this question on this index."""
        return self.view.retriever().resolve_mode(self.view.query(query), mode or self.settings.retrieval.default_mode)

    # -- inspecting ------------------------------------------------------------------------------
    def stats(self) -> StoreStats:
        return self.store.stats()

    def graph_stats(self) -> dict[str, object]:
        return self.store.graph_stats()

    def entity(self, name: str) -> EntityView:
        """Type, aliases, relations, attributes and source chunks of the entity called ``name``."""
        return graph_ops.entity_view(self.store, name, self.index_dir)

    def unmerge(self, a: str, b: str) -> bool:
        """Keep names ``a`` and ``b`` apart from now on and re-resolve; True if they are now separate."""
        na, nb = graph_ops.keep_apart(self.store, a, b, self.index_dir)
        self.build_graph()
        ea, eb = self.store.find_entity(na), self.store.find_entity(nb)
        return not (ea is not None and eb is not None and ea.id == eb.id)

    def export_graph(self, out: Path, fmt: str = "graphml") -> graph_ops.ExportReport:
        """Write the graph as GraphML (a file) or neo4j-admin import CSVs (a folder)."""
        return graph_ops.export_graph(self.store, Path(out), fmt)

    # -- communities -------------------------------------------------------------------------------
    def build_communities(self, algorithm: str = "dual", *, llm_reports: bool = False, llm_model: str | None = None,
                          max_reports: int = 100) -> graph_ops.CommunityBuildReport:
        """Detect communities of the graph and store them with keywords and cited reports."""
        return graph_ops.build_communities(self.store, self.view.graph().kg, self.embedder(), self.settings,
                                           self.index_dir, algorithm=algorithm, llm_reports=llm_reports,
                                           llm_model=llm_model, max_reports=max_reports)

    def compare_communities(self) -> dict[str, dict[str, object]]:
        """Dual perception vs Leiden on this index's graph (levels, sizes, modularity, coherence, time)."""
        return graph_ops.compare_communities(self.view.graph().kg, self.settings)

    def communities(self, level: int | None = None, limit: int = 50) -> list[Community]:
        """Stored communities, largest first within each level."""
        return graph_ops.list_communities(self.store, level, limit)

    def community(self, community_id: str) -> Community:
        """One community (id or id prefix) with its report and main members."""
        return graph_ops.get_community(self.store, community_id)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Banyan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
