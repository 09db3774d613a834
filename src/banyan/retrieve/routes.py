"""Retrieval routes: each turns a ``Query`` into ranked ``Hit``s, behind one protocol.

A mode (``retrieval.modes`` in settings) names routes and weights; ``Retriever`` runs them and
fuses. Adding a route is a new small class here plus its name in a mode: nothing else changes.
Routes hold only read-only indexes, so one set of routes serves every thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from banyan.embed import Embedder, covers
from banyan.index.bm25 import BM25Index
from banyan.index.vectors import VectorIndex
from banyan.retrieve.fusion import decisiveness, rrf
from banyan.retrieve.query import Query
from banyan.types import Hit

if TYPE_CHECKING:
    from banyan.retrieve.graph_routes import GraphRetriever


class Route(Protocol):
    """One way of finding passages for a question."""

    name: str

    def applies(self, q: Query) -> bool:
        """Whether this route has anything to say about ``q`` (fusion skips it otherwise)."""
        ...

    def search(self, q: Query, n: int) -> list[Hit]:
        """The best ``n`` chunks for ``q``, best first."""
        ...


@runtime_checkable
class Bounded(Protocol):
    """A route that reports confidence (``Hit.confidence``) and can bound it before doing the work."""

    def ceiling(self, q: Query) -> float:
        """The highest confidence any hit for ``q`` could have (a mode with a higher floor skips the route)."""
        ...


@dataclass(frozen=True)
class DenseRoute:
    """Cosine similarity of the question's embedding to every chunk's."""

    vectors: VectorIndex
    embedder: Embedder
    name: str = "dense"

    def applies(self, q: Query) -> bool:
        return covers(self.embedder, q.lang)  # an English-only model adds noise to a Chinese question

    def search(self, q: Query, n: int) -> list[Hit]:
        return [Hit(cid, s, (self.name,)) for cid, s in self.vectors.search(q.vector, n)]


@dataclass(frozen=True)
class BM25Route:
    index: BM25Index
    name: str = "bm25"

    def applies(self, q: Query) -> bool:
        return True

    def search(self, q: Query, n: int) -> list[Hit]:
        return [Hit(cid, s, (self.name,)) for cid, s in self.index.search(q.stems, n)]


@dataclass(frozen=True)
class HybridRoute:
    """BM25 and dense fused by reciprocal rank (dense left out where the embedder does not fit)."""

    bm25: Route
    dense: Route
    rrf_k: int
    name: str = "hybrid"

    def applies(self, q: Query) -> bool:
        return True

    def search(self, q: Query, n: int) -> list[Hit]:
        hits = {r.name: q.run(r, n) for r in (self.bm25, self.dense) if r.applies(q)}
        ranked = {name: [h.chunk_id for h in found] for name, found in hits.items()}
        weights = {name: decisiveness([h.score for h in found]) for name, found in hits.items()}
        return rrf(ranked, k=self.rrf_k, weights=weights if any(weights.values()) else None)


@dataclass(frozen=True)
class PPRRoute:
    """Personalized PageRank seeded by the question's entities and the best ``seeds`` passages."""

    graph: GraphRetriever
    seeds: Route
    name: str = "ppr"

    def applies(self, q: Query) -> bool:
        return True

    def search(self, q: Query, n: int) -> list[Hit]:
        return self.graph.ppr_route(q, q.run(self.seeds, n), n)


@dataclass(frozen=True)
class HomeRoute:
    """Each linked entity's own chunk (where it is the topic; of homonyms, the one the question's words
    title best), in the order ``order`` ranks them."""

    graph: GraphRetriever
    order: Route
    name: str = "home"

    def applies(self, q: Query) -> bool:
        return True

    def search(self, q: Query, n: int) -> list[Hit]:
        return self.graph.home_route(q, q.run(self.order, n))[:n]


@dataclass(frozen=True)
class BridgeRoute:
    """Two hops: the linked entities' chunks -> entities they mention -> those entities' own chunks."""

    graph: GraphRetriever
    name: str = "bridge"

    def applies(self, q: Query) -> bool:
        return True

    def search(self, q: Query, n: int) -> list[Hit]:
        return self.graph.bridge_route(q, n)


@dataclass(frozen=True)
class EntityRoute:
    """Chunks mentioning the linked entities, by mention weight x entity specificity."""

    graph: GraphRetriever
    name: str = "entity"

    def applies(self, q: Query) -> bool:
        return True

    def search(self, q: Query, n: int) -> list[Hit]:
        return self.graph.entity_route(q.links, n)


@dataclass(frozen=True)
class PathRoute:
    """Chunks whose triples lie on short paths between two linked entities."""

    graph: GraphRetriever
    name: str = "path"

    def applies(self, q: Query) -> bool:
        return True

    def search(self, q: Query, n: int) -> list[Hit]:
        return self.graph.path_route(q.links, n)


@dataclass(frozen=True)
class FactRoute:
    """Chunks stating the relations the question asks about, walked from the entities it names."""

    graph: GraphRetriever
    name: str = "facts"

    def applies(self, q: Query) -> bool:
        return True

    def search(self, q: Query, n: int) -> list[Hit]:
        return self.graph.fact_route(q, n)

    def ceiling(self, q: Query) -> float:
        return self.graph.fact_ceiling(q)


@dataclass(frozen=True)
class CommunityRoute:
    """Chunks of the communities whose keywords best match the question."""

    graph: GraphRetriever
    name: str = "community"

    def applies(self, q: Query) -> bool:
        return True

    def search(self, q: Query, n: int) -> list[Hit]:
        return self.graph.community_route(q, n)


def build_base_routes(bm25: BM25Index, vectors: VectorIndex, embedder: Embedder, rrf_k: int) -> dict[str, Route]:
    dense, lexical = DenseRoute(vectors, embedder), BM25Route(bm25)
    return {"dense": dense, "bm25": lexical, "hybrid": HybridRoute(lexical, dense, rrf_k)}


def build_graph_routes(graph: GraphRetriever, hybrid: Route) -> dict[str, Route]:
    ppr = PPRRoute(graph, hybrid)
    return {"ppr": ppr, "home": HomeRoute(graph, ppr), "bridge": BridgeRoute(graph), "entity": EntityRoute(graph),
            "path": PathRoute(graph), "community": CommunityRoute(graph), "facts": FactRoute(graph)}
