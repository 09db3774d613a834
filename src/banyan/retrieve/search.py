"""Modes: the routes a mode names, run on one ``Query`` and fused by weighted reciprocal rank."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from banyan.errors import ConfigError, IndexMismatchError
from banyan.retrieve.fusion import rrf
from banyan.retrieve.query import Query
from banyan.retrieve.routes import Bounded, Route
from banyan.settings import RetrievalSettings
from banyan.types import Hit

MODES: tuple[str, ...] = ("auto", "dense", "bm25", "hybrid", "graph", "hybrid+graph", "hybrid+facts", "hybrid+ppr")
"""The built-in modes (``retrieval.modes`` may add more)."""
BASE_ROUTES = frozenset({"dense", "bm25", "hybrid"})
"""the routes an index without a graph has"""


def needs_graph(mode: str, cfg: RetrievalSettings) -> bool:
    """Whether ``mode`` uses a graph route (``auto`` does not need one: it falls back to hybrid)."""
    spec = cfg.modes.get(mode)
    return spec is not None and not set(spec.routes) <= BASE_ROUTES


@dataclass(frozen=True)
class Retriever:
    """Runs modes over a fixed set of routes. Stateless: one instance serves concurrent queries."""

    cfg: RetrievalSettings
    routes: Mapping[str, Route]
    has_graph: bool
    entity_titled: float | None = None
    """share of documents about an entity their title names (None: not measured, an older index)"""

    def resolve_mode(self, q: Query, mode: str) -> str:
        if mode == "auto":
            if not self.has_graph:
                return self.cfg.auto_fallback
            chosen = self.cfg.auto_modes.get(q.lang)
            fits = self.entity_titled is None or self.entity_titled >= self.cfg.auto_graph_min_titled
            if chosen is not None and fits:
                return chosen
            dense = self.routes.get("dense")
            if dense is not None and not dense.applies(q):  # no embedding for this language: the walk stands in
                return self.cfg.auto_uncovered
            return self.cfg.auto_with_graph
        if mode not in self.cfg.modes:
            raise ConfigError(f"unknown search mode {mode!r}; choose one of auto, {', '.join(self.cfg.modes)}")
        return mode

    def _route(self, name: str, mode: str) -> Route:
        route = self.routes.get(name)
        if route is None:
            if not self.has_graph:
                raise IndexMismatchError(
                    f"mode {mode!r} needs the knowledge graph, and this index has none: run `banyan index` with "
                    "graph.enabled = true (the default)")
            raise ConfigError(f"mode {mode!r} names an unknown route {name!r}; known: {', '.join(self.routes)}")
        return route

    def search(self, q: Query, mode: str, k: int) -> list[Hit]:
        name = self.resolve_mode(q, mode)
        spec = self.cfg.modes[name]
        n = max(k, self.cfg.candidates)
        if len(spec.routes) == 1:
            [only] = spec.routes
            return q.run(self._route(only, name), n)[:k]
        ranked: dict[str, list[str]] = {}
        weights: dict[str, float] = {}
        for route_name in spec.routes:
            route = self._route(route_name, name)
            floor = spec.min_confidence.get(route_name, 0.0)
            if not route.applies(q) or (floor > 0 and isinstance(route, Bounded) and route.ceiling(q) < floor):
                continue
            hits = q.run(route, n)
            if route_name in spec.limits:
                hits = hits[: spec.limits[route_name]]
            weight = route_weight(spec.routes[route_name], hits, floor)
            if weight <= 0:
                continue
            ranked[route_name] = [h.chunk_id for h in hits]
            weights[route_name] = weight
        if spec.requires is not None and not ranked.get(spec.requires) and spec.fallback is not None:
            return self.search(q, spec.fallback, k)
        return rrf(ranked, k=self.cfg.rrf_k, weights=weights, limit=k)


def route_weight(weight: float, hits: list[Hit], min_confidence: float = 0.0) -> float:
    """A route's vote in fusion: the mode's weight, times the square of its best hit's confidence when
    the route reports one (the facts walk: the share of the question its path explains), and nothing
    below ``min_confidence``. A path that explains half of the question gets a quarter of the vote:
    the rest of the question is usually about something the passage it found does not say."""
    confidence = hits[0].confidence if hits else None
    if confidence is None:
        return weight
    return weight * confidence ** 2 if confidence >= min_confidence else 0.0
