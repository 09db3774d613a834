"""The Python API: every use case of one index as a typed operation.

``Banyan(index_dir)`` is the facade the CLI (and the REST and MCP servers) call: the shells only
parse arguments and print. One ``Banyan`` serves concurrent searches from many threads: the store
gives each thread its own connection, the read side (``app.view.IndexView``) is loaded once per
store version and then read-only, and every request carries its own ``Query``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from banyan.app.view import IndexView
from banyan.embed import Embedder, create_embedder, embedder_name
from banyan.errors import BanyanError, IndexMismatchError
from banyan.index.pipeline import (
    NoProgress,
    Progress,
    bm25_stale,
    build_bm25,
    embed_missing,
    ingest_files,
    remove_paths,
)
from banyan.settings import CONFIG_FILE, Settings, load_settings, settings_to_toml
from banyan.store import PendingWork, StoreStats, open_store
from banyan.types import (
    PUBLIC,
    Access,
    Community,
    DocumentInfo,
    DocumentText,
    EntityView,
    GraphNode,
    IndexReport,
    SearchResult,
    Subgraph,
    TypeProposal,
    normalize_principals,
)

if TYPE_CHECKING:  # indexing, the graph use cases, the answer engine and the LLM layer load on first use:
    # a search does not pay for them
    from banyan.answer import Answer, AnswerContext, AnswerEngine
    from banyan.app import graph_ops, schema_ops
    from banyan.extract.schema import Schema
    from banyan.llm import LLM


log = logging.getLogger(__name__)


class Banyan:
    """One index directory: its store, embedder and search indexes.

    ``overrides`` (a nested dict, e.g. ``{"embedding": {"backend": "e5"}}``) win over environment
    variables and the index's ``banyan.toml``; with none, an index opens with the embedder and
    chunking it was built with.
    """

    def __init__(self, index_dir: Path | str = ".banyan", overrides: dict[str, Any] | None = None,
                 *, settings: Settings | None = None, create: bool = True) -> None:
        """``create=False`` opens only an existing index (IndexNotFoundError otherwise) and creates nothing."""
        self.index_dir = Path(index_dir)
        self.settings = settings or load_settings(self.index_dir, overrides)
        self.store = open_store(self.settings.store.url, self.index_dir, create=create)
        self._lock = threading.Lock()
        self._embedder_lock = threading.Lock()  # apart: the graph loads its schema while the model loads
        self._embedder: Embedder | None = None
        self._embedder_loader: threading.Thread | None = None
        self._schema: Schema | None = None
        self._llm: LLM | None = None
        self.view = IndexView(self.store, self.settings, self.index_dir, self.embedder, self.schema,
                              self.embedder_name)

    # -- components, loaded once --------------------------------------------------------------
    def embedder(self) -> Embedder:
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = create_embedder(self.settings.embedding)
            return self._embedder

    def embedder_name(self) -> str:
        """The embedder's name (what its vectors are filed under), from the settings where they tell
        it, so the caches keyed by it load while the model itself is still loading."""
        loaded = self._embedder
        if loaded is not None:
            return loaded.name
        return embedder_name(self.settings.embedding) or self.embedder().name

    def _load_embedder_ahead(self) -> None:
        """Start loading the embedder in a thread (once); ``close`` waits for it."""
        with self._lock:
            if self._embedder_loader is None:
                self._embedder_loader = threading.Thread(target=self._load_embedder_quietly, name="banyan-embedder",
                                                         daemon=True)
                self._embedder_loader.start()

    def _load_embedder_quietly(self) -> None:
        """``embedder()`` ahead of need; a failure is left to the call that needs it, which raises it."""
        try:
            self.embedder()
        except BanyanError as exc:
            log.debug("loading the embedder ahead of need failed (%s); the search will report it", exc)

    def schema(self) -> Schema:
        from banyan.app import schema_ops
        from banyan.extract.schema import load_schema

        with self._lock:
            if self._schema is None:
                self._schema = schema_ops.effective_schema(load_schema(self.settings.graph.schema_path), self.store)
            return self._schema

    # -- indexing -------------------------------------------------------------------------------
    def index(self, paths: Iterable[Path | str], *, progress: Progress | None = None,
              embed: bool = True, wait: bool = True, allow: Iterable[str] | None = None) -> IndexReport:
        """Index files and folders; returns counts, failures and seconds per stage.

        One writer at a time: while another process writes this index, wait for it (``wait``) or
        raise IndexBusyError. With no paths, finishes what an earlier run left undone."""
        progress = progress or NoProgress()
        # PostgreSQL: files are read, stored and embedded beside other writers; the global stages
        # (graph, BM25) run alone (nested writing(), docs/postgresql.md). SQLite: one writer throughout.
        with self.store.writing(wait=wait, shared=True):
            self._write_config()
            report = IndexReport()
            ingest_files(self.store, paths, self.settings, report, progress,
                         None if allow is None else normalize_principals(allow) or {PUBLIC})
            if embed:
                embed_missing(self.store, self.embedder(), self.settings.embedding.include_title, report, progress)
            if self.settings.graph.enabled:
                self.build_graph(report, progress)
            with self.store.writing():
                build_bm25(self.store, self.index_dir, self.settings, report)
                self._warm_read_caches(report)
        return report

    def _warm_read_caches(self, report: IndexReport | None = None) -> None:
        """Build what the next search would otherwise build: the memory-mapped vectors (and their ANN
        index above ``vectors.ann_threshold``) and the graph's arrays, so a new process answers at once."""
        t0 = time.perf_counter()
        if self.store.stats().chunks:
            try:
                self.view.vectors()
            except IndexMismatchError as exc:  # vectors of another embedder only: the search says so
                log.debug("no vector cache to warm: %s", exc)
        if report is not None:
            report.add_time("vector cache", time.perf_counter() - t0)
        if self.settings.graph.enabled:
            t0 = time.perf_counter()
            if self.view.save_graph_cache() and report is not None:
                report.add_time("graph cache", time.perf_counter() - t0)

    def build_graph(self, report: IndexReport | None = None, progress: Progress | None = None) -> IndexReport:
        """Extract entities and relations from new chunks (no LLM), then resolve entities."""
        from banyan.graph.build import extract_missing, resolve_graph, select_extractors
        from banyan.graph.maintain import refresh_communities

        report = report or IndexReport()
        with self.store.writing():
            extract_missing(self.store, self.schema(), select_extractors(self.settings, self.index_dir, self.store), report,
                            progress or NoProgress(), auto_accept_min_chunks=self.settings.graph.auto_accept_min_chunks)
            resolve_graph(self.store, self.schema(), self.embedder(), self.settings.graph, report)
            refresh_communities(self.store, self.embedder(), self.settings, report)
        return report

    def remove(self, path: Path | str, *, wait: bool = True) -> int:
        """Forget an indexed file (or every indexed file under a folder) and everything derived from
        it, graph included, in this call; returns how many documents went. NotIndexedError if
        ``path`` names nothing indexed."""
        return self._remove([path], wait=wait)

    def _remove(self, paths: list[Path | str], *, wait: bool = True) -> int:
        with self.store.writing(wait=wait):
            _, documents = remove_paths(self.store, paths)
            report = IndexReport()
            if self.settings.graph.enabled:
                self.build_graph(report)
            build_bm25(self.store, self.index_dir, self.settings, report)
            self._warm_read_caches()
        return documents

    def pending(self) -> PendingWork:
        """Stages an earlier run left unfinished, and who is writing the index now."""
        from dataclasses import replace

        work = self.store.pending_work(None)
        return replace(work, bm25_stale=bool(work.chunks) and bm25_stale(self.store, self.index_dir),
                       writer=self.store.writer())

    def _write_config(self) -> None:
        """Pin the settings an index was built with, so later commands use the same embedder."""
        path = self.index_dir / CONFIG_FILE
        if not path.exists():
            tmp = path.with_suffix(f".toml.{os.getpid()}.{threading.get_ident()}.tmp")  # writers may race here
            tmp.write_text(
                "# Settings this index was built with. Edit with care: changing the embedder means\n"
                "# re-embedding every chunk (`banyan index` does it).\n" + settings_to_toml(self.settings),
                encoding="utf-8",
            )
            tmp.replace(path)  # atomic: a killed run never leaves half a config behind

    # -- searching --------------------------------------------------------------------------------
    def search(self, query: str, mode: str | None = None, k: int | None = None, *,
               access: Access | None = None) -> list[SearchResult]:
        """Ranked, cited passages for ``query``. Safe to call from many threads at once."""
        if not query.strip():
            raise ValueError("empty query")
        mode = mode or self.settings.retrieval.default_mode
        if self._embedder is None and mode != "bm25":  # a fresh process: load the model while BM25 loads
            self._load_embedder_ahead()
        snap = self.view.snapshot(access)  # one consistent set of indexes for this request
        q = snap.query(query)
        hits = snap.retriever().search(q, mode, k or self.settings.retrieval.k)
        found = snap.store().citations([h.chunk_id for h in hits])
        return [
            SearchResult(rank, h.score, found[h.chunk_id].text, found[h.chunk_id].citation, h.routes)
            for rank, h in enumerate((h for h in hits if h.chunk_id in found), 1)
        ]

    def resolve_mode(self, query: str, mode: str | None = None, *, access: Access | None = None) -> str:
        """The mode ``auto`` (or ``mode``) stands for with this question on this index."""
        snap = self.view.snapshot(access)
        return snap.retriever().resolve_mode(snap.query(query), mode or self.settings.retrieval.default_mode)

    # -- answering (banyan.answer) ------------------------------------------------------------------
    def answer_context(self, question: str, mode: str = "auto", budget: int | None = None, *,
                       access: Access | None = None) -> AnswerContext:
        """What ``ask`` would give the model (no LLM call): the mode's sections, numbered evidence, tokens."""
        return self._answers(access).context(question, mode, budget)

    def ask(self, question: str, mode: str = "auto", *, budget: int | None = None, reject: bool = False,
            llm: LLM | None = None, transform: str | None = None, access: Access | None = None) -> Answer:
        """A cited answer from ``llm``, else the configured LLM, else extractive (the best evidence sentences).
        An LLM failure is reported in ``Answer.error`` with the evidence still there. ``transform``: none,
        multi-query, hyde or step-back (default ``answer.transform``; needs an LLM)."""
        return self._answers(access).ask(question, mode, budget=budget, reject=reject, llm=llm, transform=transform)

    def ask_stream(self, question: str, mode: str = "auto", *, budget: int | None = None, reject: bool = False,
                   llm: LLM | None = None, transform: str | None = None,
                   access: Access | None = None) -> Iterator[str | Answer]:
        """The answer's text pieces as the model writes them, then the final ``Answer``."""
        return self._answers(access).stream(question, mode, budget=budget, reject=reject, llm=llm, transform=transform)

    def _answers(self, access: Access | None = None) -> AnswerEngine:
        from banyan.answer import AnswerEngine, IndexReader

        view = self.view.snapshot(access)  # one request: the question is linked and walked on one graph
        reader = IndexReader(view.store(), view.retriever(), lambda: view.graph().kg if view.has_graph() else None,
                             self.settings.answer, self.settings.retrieval)
        return AnswerEngine(reader, self.settings.llm, view.query,
                            self._configured_llm if self.settings.llm.model else None)

    def _configured_llm(self) -> LLM:
        """The configured LLM stack, built on first use."""
        with self._lock:
            if self._llm is None:
                from banyan.llm import build_llm

                self._llm = build_llm(self.settings.llm, self.index_dir, database=self.store.llm_database()).llm
            return self._llm

    # -- inspecting ------------------------------------------------------------------------------
    def stats(self) -> StoreStats:
        return self.store.stats()

    def graph_walk(self) -> str:
        """How graph mode computes its PageRank walk here: ``push`` (the compiled loop), ``power`` (as
        configured), or ``power`` because the compiled loop was not built at install."""
        from banyan.graph.push import compiled

        if self.settings.graph.ppr_method == "power":
            return "power (graph.ppr_method)"
        if compiled():
            return "push (compiled)"
        return "power: the compiled push loop was not built at install (reinstall with a C compiler present)"

    def graph_stats(self) -> dict[str, object]:
        return self.store.graph_stats()

    # -- schema expansion and LLM extraction ------------------------------------------------------
    def schema_proposals(self, *, include_all: bool = False) -> list[TypeProposal]:
        """Types the LLM proposed, supported by ``graph.proposal_min_chunks`` chunks (all with ``include_all``)."""
        from banyan.app import schema_ops

        return schema_ops.proposals(self.store, self.settings.graph.proposal_min_chunks, include_all=include_all)

    def decide_type(self, name: str, status: str, *, kind: str | None = None,
                    description: str | None = None) -> TypeProposal:
        """Accept or reject a proposed type (``pending`` undoes it); an accepted type applies from the next run."""
        from banyan.app import schema_ops

        with self.store.writing():
            return schema_ops.decide(self.store, name, status, kind=kind, description=description)

    def export_schema(self, out: Path | str) -> Path:
        """Write the effective schema (file + accepted types) to a new file."""
        from banyan.app import schema_ops

        return schema_ops.export_schema(self.schema(), Path(out))

    def failed_chunks(self, limit: int | None = 50) -> list[schema_ops.FailedChunk]:
        """Chunks whose LLM extraction failed; the next ``index`` retries them."""
        from banyan.app import schema_ops

        return schema_ops.failed_chunks(self.store, limit)

    def entity(self, name: str, *, access: Access | None = None) -> EntityView:
        """Type, aliases, relations, attributes and source chunks of the entity called ``name``."""
        from banyan.app import graph_ops

        return graph_ops.entity_view(self.view.snapshot(access).store(), name, self.index_dir)

    def unmerge(self, a: str, b: str) -> bool:
        """Keep names ``a`` and ``b`` apart from now on and re-resolve; True if they are now separate."""
        from banyan.app import graph_ops

        with self.store.writing():
            na, nb = graph_ops.keep_apart(self.store, a, b, self.index_dir)
            self.build_graph()
        ea, eb = self.store.find_entity(na), self.store.find_entity(nb)
        return not (ea is not None and eb is not None and ea.id == eb.id)

    def export_graph(self, out: Path, fmt: str = "graphml", *, access: Access | None = None) -> graph_ops.ExportReport:
        """Write the graph as GraphML (a file) or neo4j-admin import CSVs (a folder)."""
        from banyan.app import graph_ops

        return graph_ops.export_graph(self.view.snapshot(access).store(), Path(out), fmt)

    # -- communities -------------------------------------------------------------------------------
    def build_communities(self, algorithm: str = "dual", *, llm_reports: bool = False, llm_model: str | None = None,
                          max_reports: int = 100) -> graph_ops.CommunityBuildReport:
        """Detect communities of the graph and store them with keywords and cited reports."""
        from banyan.app import graph_ops

        with self.store.writing():
            return graph_ops.build_communities(self.store, self.view.graph().kg, self.embedder(), self.settings,
                                               self.index_dir, algorithm=algorithm, llm_reports=llm_reports,
                                               llm_model=llm_model, max_reports=max_reports)

    def compare_communities(self) -> dict[str, dict[str, object]]:
        """Dual perception vs Leiden on this index's graph (levels, sizes, modularity, coherence, time)."""
        from banyan.app import graph_ops

        return graph_ops.compare_communities(self.view.graph().kg, self.settings)

    def communities(self, level: int | None = None, limit: int = 50, *,
                    access: Access | None = None) -> list[Community]:
        """Stored communities, largest first within each level."""
        from banyan.app import graph_ops

        return graph_ops.list_communities(self.view.snapshot(access).store(), level, limit)

    def community(self, community_id: str, *, access: Access | None = None) -> Community:
        """One community (id or id prefix) with its report and main members."""
        from banyan.app import graph_ops

        return graph_ops.get_community(self.view.snapshot(access).store(), community_id)

    # -- documents and graph exploration (the server and web UI) ---------------------------------
    # Each shows only what ``access`` may see (None: everything); something hidden is reported
    # exactly like something missing (a NotFoundError), so its existence does not leak.
    def documents(self, *, access: Access | None = None) -> list[DocumentInfo]:
        """Indexed documents the caller may see, by source."""
        from banyan.app import documents

        return documents.list_documents(self.store, access or Access.everything())

    def document(self, doc_id: str, *, access: Access | None = None) -> DocumentText:
        """One document's text and chunk spans (DocumentNotFoundError if missing or not visible)."""
        from banyan.app import documents

        return documents.read_document(self.store, doc_id, access or Access.everything())

    def remove_document(self, doc_id: str, *, access: Access | None = None, wait: bool = True) -> int:
        """Remove the file(s) a visible document came from, and all derived from them; returns documents removed."""
        from banyan.app import documents

        return self._remove(list(documents.document_files(self.store, doc_id, access or Access.everything())),
                            wait=wait)

    def find_entities(self, text: str, limit: int = 20, *, access: Access | None = None) -> list[GraphNode]:
        """Entities whose name or an alias matches ``text`` (exact, prefix, substring; most mentioned first)."""
        from banyan.app import explore

        snap = self.view.snapshot(access)
        return explore.find_entities(snap.graph().kg, text, limit, snap.communities().entity_community)

    def neighbourhood(self, name: str, depth: int = 1, limit: int = 200, *,
                      access: Access | None = None) -> Subgraph:
        """The entity and what its relations reach within ``depth`` hops (at most ``limit`` nodes)."""
        from banyan.app import explore

        snap = self.view.snapshot(access)
        return explore.neighbourhood(snap.graph().kg, name, depth, limit, snap.communities().entity_community)

    def graph_overview(self, limit: int = 2000, *, access: Access | None = None) -> Subgraph:
        """The best-connected ``limit`` entities and the relations among them (the explorer's first view)."""
        from banyan.app import explore

        snap = self.view.snapshot(access)
        return explore.overview(snap.graph().kg, limit, snap.communities().entity_community)

    def close(self) -> None:
        # a model still loading when the process exits (a search that failed fast, or needed no
        # vectors) aborts the interpreter inside the runtime: let it finish first
        if self._embedder_loader is not None:
            self._embedder_loader.join()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
