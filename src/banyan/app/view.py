"""The read side of an index: vectors, BM25, the knowledge graph and the routes over them.

Each component is loaded on first use and kept while the store version it was built from holds.
Loading is serialized by a lock; once loaded, components are read-only and shared by every
thread. Nothing on this path writes to the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from banyan.app.access import (
    CommunityList,
    MaskedIndex,
    ScopedStore,
    chunk_sources,
    id_mask,
    scoped_communities,
    visible_chunks,
    visible_documents,
    visible_sources,
)
from banyan.embed import Embedder, covers, embedder_languages
from banyan.errors import IndexMismatchError
from banyan.index.ann import open_vector_index
from banyan.index.bm25 import BM25Index
from banyan.index.pipeline import BM25_DIR, bm25_rows
from banyan.index.vectors import ExactVectorIndex
from banyan.retrieve import Query, Retriever, Route, build_base_routes, build_graph_routes
from banyan.settings import Settings
from banyan.store import IndexStore
from banyan.types import Access

if TYPE_CHECKING:  # the graph (scipy, spaCy) loads only when a graph route or page asks for it
    from banyan.extract.schema import Schema
    from banyan.graph.kg import KnowledgeGraph
    from banyan.retrieve.graph_routes import GraphRetriever

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Visible:
    chunks: frozenset[str] | None
    sources: dict[str, str]
    """chunk id -> the source path to show (documents several files produced, some hidden)"""
    version: str
    """the store and ACL versions read before ``chunks`` was computed: what is derived from it is
    cached under this version, so a change made meanwhile makes it stale, never another's"""


@dataclass
class _Slot:
    version: str = ""
    value: Any = None


MAX_CALLERS = 16
"""distinct restricted callers (principal sets) whose visible chunks, graph and communities stay loaded"""


class IndexView:
    """Loads and caches the read-side components of one index, per store version."""

    def __init__(self, store: IndexStore, settings: Settings, index_dir: Path, embedder: Callable[[], Embedder],
                 schema: Callable[[], Schema], embedder_name: Callable[[], str] | None = None) -> None:
        """``embedder_name``: the embedder's name without waiting for its model (by default: from
        ``embedder()``). The vectors and the graph are filed under it, so they load meanwhile."""
        self.store, self.settings, self.index_dir = store, settings, index_dir
        self._embedder, self._schema = embedder, schema
        self._embedder_name = embedder_name or (lambda: self._embedder().name)
        self._lock = threading.RLock()
        self._slots: dict[str, _Slot] = {}
        self._callers: dict[str, dict[str, _Slot]] = {}
        """the slots of each restricted caller (access key), least recently used first"""

    def _cached(self, name: str, version: str, build: Callable[[], Any], slots: dict[str, _Slot] | None = None) -> Any:
        with self._lock:
            slot = (self._slots if slots is None else slots).setdefault(name, _Slot())
            if slot.value is None or slot.version != version:
                slot.value, slot.version = build(), version
            return slot.value

    def _for(self, access: Access, name: str, version: str, build: Callable[[], Any]) -> Any:
        """``_cached`` for one restricted caller."""
        with self._lock:
            return self._cached(name, version, build, self._caller(access))

    def _caller(self, access: Access) -> dict[str, _Slot]:
        """The slots of one restricted caller; the least recently seen callers beyond ``MAX_CALLERS``
        are forgotten (a caller's graph can be as large as the whole one). Call with the lock held."""
        slots = self._callers.pop(access.key, None) or {}
        self._callers[access.key] = slots
        while len(self._callers) > MAX_CALLERS:
            del self._callers[next(iter(self._callers))]
        return slots

    # -- components -------------------------------------------------------------------------
    def vectors(self) -> ExactVectorIndex:
        version = self.store.vectors_version()
        return self._cached("vectors", version, lambda: self._load_vectors(version))

    def _load_vectors(self, version: str | None = None) -> ExactVectorIndex:
        """The committed vectors, memory-mapped from ``<index>/vectors/`` (written from the store on
        the first read of a new ``vectors_version``), searched exactly below ``vectors.ann_threshold``
        and through the ``vectors.backend`` ANN index above it (docs/vector-search.md). Chunks still
        waiting for their vectors (a run in progress, or one that was stopped) are left out of dense
        search until their block commits."""
        name = self._embedder_name()
        index = open_vector_index(self.store, name, self.index_dir, self.settings.vectors, version)
        if not len(index):
            stats = self.store.stats()
            chunks, others = stats.chunks, [m for m in stats.embeddings if m != name]
            if others:
                raise IndexMismatchError(
                    f"this index holds vectors from {', '.join(others)} and none from embedder {name}; set "
                    f"embedding.backend to the one used, or run `banyan index` to embed every chunk with {name}")
        else:
            chunks = self.store.pending_work(name).chunks  # a count, without stats()' scan of every chunk
        if len(index) < chunks and self.store.writer() is None:
            log.warning("%d of %d chunks have no vector from embedder %s (an indexing run was stopped?); dense "
                        "search leaves them out until `banyan index` embeds them", chunks - len(index), chunks, name)
        return index

    def bm25(self) -> BM25Index:
        version = self.store.version()
        path = self.index_dir / BM25_DIR
        saved = BM25Index.saved_version(path)
        if saved is not None and saved != version and self.store.writer() is not None:
            # an indexing run is adding chunks: search the last committed BM25 index until it commits the next
            last = self._cached("bm25", f"saved:{saved}", lambda: BM25Index.load(path, None) or False)
            if last is not False:
                return last

        def load() -> BM25Index:
            current = BM25Index.load(path, version)
            if current is not None:
                return current
            r = self.settings.retrieval  # saved index is stale (an interrupted run): build in memory only
            return BM25Index.build(bm25_rows(self.store), r.bm25_k1, r.bm25_b)

        return self._cached("bm25", str(version), load)

    def has_graph(self) -> bool:
        return self.store.resolved_version() is not None

    def entity_titled(self) -> float | None:
        """The corpus's share of documents about an entity their title names (``graph.corpus``)."""
        from banyan.graph.corpus import ENTITY_TITLED_META

        raw = self.store.get_meta(ENTITY_TITLED_META)
        return float(raw) if raw is not None else None

    def visible(self, access: Access | None) -> frozenset[str] | None:
        """The chunk ids ``access`` may see, or None when it sees everything (the unfiltered fast path)."""
        vis = self._visibility(access)
        return None if vis is None else vis.chunks

    def _visibility(self, access: Access | None) -> _Visible | None:
        if access is None or access.all_documents:
            return None
        version = f"{self.store.version()}|{self.store.acl_version()}"
        return self._for(access, "visible", version, lambda: self._load_visibility(access, version))

    def _load_visibility(self, access: Access, version: str) -> _Visible:
        docs = visible_documents(self.store, access)
        if docs is None:
            return _Visible(None, {}, version)
        return _Visible(visible_chunks(self.store, docs),
                        chunk_sources(self.store, visible_sources(self.store, access)), version)

    def mask(self, name: str, index: Any, access: Access, visible: frozenset[str]) -> MaskedIndex:
        """``index`` masked to ``visible`` (the chunks of ``access``). The mask is kept with the index
        object and the visible set it was computed from, and reused only for those same objects: an
        index reloaded or an allow-list changed meanwhile never gets another's mask."""
        with self._lock:
            slot = self._caller(access).setdefault(f"mask:{name}", _Slot())
            if slot.value is None or slot.value[0] is not index or slot.value[1] is not visible:
                slot.value = (index, visible, id_mask(index.ids, visible))
            return MaskedIndex(index, slot.value[2])

    def graph(self, access: Access | None = None) -> GraphRetriever:
        resolved = self.store.resolved_version()
        if resolved is None:
            raise IndexMismatchError(
                "graph modes need the knowledge graph, and this index has none: run `banyan index` with "
                "graph.enabled = true (the default)"
            )
        version = f"{resolved}|{self.store.communities_version() or ''}"
        vis = self._visibility(access)
        if access is None or vis is None or vis.chunks is None:
            return self._cached("graph", version, self._load_graph)
        visible = vis.chunks
        return self._for(access, "graph", f"{version}|{vis.version}", lambda: self._load_graph(visible))

    def communities(self, access: Access | None = None) -> CommunityList:
        """The stored communities as ``access`` may see them (members, names, keywords and report
        evidence from its chunks only; see ``app.access.scoped_community``), loaded once per version."""
        built = self.store.communities_version()
        if not built or not self.has_graph():
            return CommunityList(())
        vis = self._visibility(access)
        if access is None or vis is None or vis.chunks is None:
            return self._cached("communities", built, lambda: CommunityList(self.store.communities(with_members=True)))
        visible, kg = vis.chunks, self.graph(access).kg
        return self._for(access, "communities", f"{built}|{self.store.resolved_version()}|{vis.version}",
                         lambda: CommunityList(scoped_communities(self.store.communities(with_members=True),
                                                                  visible, kg)))

    def _load_graph(self, visible: frozenset[str] | None = None) -> GraphRetriever:
        """The graph routes over the whole graph, or over the graph of the ``visible`` chunks only
        (no community route there: community keywords are built from every document)."""
        from banyan.app.corpus import CorpusReader
        from banyan.extract.schema import relation_text
        from banyan.graph.text_vectors import cached_embed
        from banyan.retrieve.graph_routes import GraphRetriever

        emb = _LazyEmbedder(self._embedder, self._embedder_name(),  # the graph loads while the model does
                            languages=embedder_languages(self.settings.embedding))
        schema = self._schema()
        kg = self._knowledge_graph(emb, visible)
        embed = cached_embed(self.store, emb, write=False)
        kinds = schema.typed_relations()
        communities = self.store.communities(level=0, with_members=True) if visible is None else []
        community_vectors, members = None, []
        if communities:
            pos = {eid: i for i, eid in enumerate(kg.entity_ids)}
            community_vectors = embed([", ".join(c.keywords) for c in communities])
            members = [np.array([pos[e] for e in c.members if e in pos], dtype=np.int64) for c in communities]
        vectors = self.vectors()
        return GraphRetriever(kg, self.settings.graph, emb.embed_documents, schema, vectors.scores,
                              [r.name for r in kinds], embed([relation_text(r) for r in kinds]),
                              community_vectors=community_vectors, community_members=members,
                              chunk_titles=self.store.chunk_titles,
                              read_phrase=CorpusReader(self.bm25, self.store, visible).read,
                              covers=lambda lang: covers(emb, lang))

    def save_graph_cache(self) -> bool:
        """Build and save the whole graph's array cache if it is missing (the writer calls this at the
        end of a run, so the first search of a new process does not rebuild the graph); returns
        whether it built one."""
        from banyan.graph import kg_cache

        if not self.has_graph():
            return False
        if kg_cache.load_path(self.index_dir, self._graph_key(self._embedder_name())) is not None:
            return False
        self._knowledge_graph(self._embedder(), None)
        return True

    def _graph_key(self, embedder_name: str) -> str:
        from banyan.graph import kg_cache

        return kg_cache.cache_key(self.store.resolved_version() or "", str(self.store.version()), embedder_name)

    def _knowledge_graph(self, emb: Embedder, visible: frozenset[str] | None) -> KnowledgeGraph:
        """The whole graph from its array cache (``graph.kg_cache``; built and saved on first use), or
        the graph of the ``visible`` chunks, built from the store (per caller, never saved)."""
        from banyan.graph import kg_cache
        from banyan.graph.kg import KnowledgeGraph

        if visible is not None:
            return KnowledgeGraph.load(self.store, f"text:{emb.name}", emb.dim, visible)
        key = self._graph_key(emb.name)
        kg = kg_cache.load(self.index_dir, key)
        if kg is None:
            kg = KnowledgeGraph.load(self.store, f"text:{emb.name}", emb.dim)
            try:
                kg_cache.save(kg, self.index_dir, key)
            except OSError as exc:  # a read-only index still answers, from the store
                log.warning("could not save the graph cache under %s: %s", self.index_dir, exc)
        return kg

    # -- per-request reads --------------------------------------------------------------------
    def embedder(self) -> Embedder:
        return self._embedder()

    def query(self, text: str, access: Access | None = None) -> Query:
        """A ``Query`` on a fresh snapshot (a request that also searches uses one ``snapshot()`` for both)."""
        return self.snapshot(access).query(text)

    def snapshot(self, access: Access | None = None) -> ReadSnapshot:
        """A consistent read view for one request by ``access`` (None: everything; see ``ReadSnapshot``)."""
        return ReadSnapshot(self, access)


class ReadSnapshot:
    """The components one request reads, each taken from the view once and then kept.

    A writer may commit (and the view reload the graph) while a request runs; a request that
    linked its question against one graph must walk that same graph, so the query, the routes and
    the graph of one request all come from one snapshot.
    """

    def __init__(self, view: IndexView, access: Access | None = None) -> None:
        self._view = view
        self._lock = threading.RLock()  # building the graph routes loads the graph through _once too
        self._got: dict[str, Any] = {}
        self.access = access
        vis = view._visibility(access)
        self.visible = None if vis is None else vis.chunks
        """the chunks this request may read, or None for all of them"""
        self._sources = {} if vis is None else vis.sources

    def _once(self, name: str, load: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._got:
                self._got[name] = load()
            return self._got[name]

    def vectors(self) -> ExactVectorIndex:
        return self._once("vectors", self._view.vectors)

    def bm25(self) -> BM25Index:
        return self._once("bm25", self._view.bm25)

    def _searchable(self, name: str, load: Callable[[], Any]) -> Any:
        """An index as this request may search it: masked to its chunks when it is restricted."""
        if self.visible is None or self.access is None:
            return load()
        return self._view.mask(name, load(), self.access, self.visible)

    def has_graph(self) -> bool:
        return self._once("has_graph", self._view.has_graph)

    def graph(self) -> GraphRetriever:
        return self._once("graph", lambda: self._view.graph(self.access))

    def store(self) -> IndexStore | ScopedStore:
        """The store reads of this request: limited to its chunks when it is restricted."""
        if self.visible is None:
            return self._view.store
        return self._once("store", lambda: ScopedStore(self._view.store, self.visible,
                                                       self.graph().kg if self.has_graph() else None,
                                                       self.communities, self._sources))

    def communities(self) -> CommunityList:
        """The communities this request may see (all of them for an unrestricted one)."""
        return self._once("communities", lambda: self._view.communities(self.access))

    def get(self, name: str) -> Route | None:
        """The route called ``name`` over this snapshot's components (None if unknown). The routes are
        built once per snapshot; the graph ones (and so the graph) only when a graph route is asked for."""
        base = self._once("base routes", lambda: build_base_routes(
            _Lazy(lambda: self._searchable("bm25", self.bm25)), _Lazy(lambda: self._searchable("vectors", self.vectors)),
            _LazyEmbedder(self._view.embedder, languages=embedder_languages(self._view.settings.embedding)),
            self._view.settings.retrieval.rrf_k))
        if name in base:
            return base[name]
        if not self.has_graph():
            return None
        return self._once("graph routes", lambda: build_graph_routes(self.graph(), base["hybrid"])).get(name)

    def retriever(self) -> Retriever:
        return Retriever(self._view.settings.retrieval, self, self.has_graph(),
                         self._once("entity_titled", self._view.entity_titled))

    def query(self, text: str) -> Query:
        """A fresh ``Query`` (its embedding and entity links are computed on demand, on this snapshot)."""
        return Query(text, lambda t: self._view.embedder().embed_query(t), lambda q: self.graph().link(q))


class _Lazy:
    """Defers loading an index until a route actually searches it (a bm25 search loads no vectors)."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load

    def search(self, *args: Any) -> Any:
        return self._load().search(*args)


class _LazyEmbedder:
    """Loads the embedder when a route first embeds or reads one of its attributes; ``name``, when
    given, is known before (``IndexView`` files the vectors and the graph under it)."""

    name: str

    def __init__(self, load: Callable[[], Embedder], name: str | None = None, *,
                 languages: frozenset[str] | None) -> None:
        self._load = load
        if name is not None:
            self.name = name
        self.languages = languages  # from the settings (``embed.embedder_languages``): reading it loads nothing

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._load().embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._load().embed_query(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)
