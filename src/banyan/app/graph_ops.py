"""Graph use cases: entity pages, unmerge, export, and building the knowledge tree's communities."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from banyan.embed import Embedder
from banyan.errors import BanyanError, CommunityNotFoundError, EntityNotFoundError
from banyan.settings import Settings
from banyan.store import IndexStore
from banyan.text import normalize_name
from banyan.types import Community, EntityView

if TYPE_CHECKING:
    from banyan.graph.kg import KnowledgeGraph

ExportFormat = Literal["graphml", "neo4j-csv"]
CommunityAlgorithm = Literal["dual", "leiden"]


@dataclass(frozen=True, slots=True)
class ExportReport:
    path: Path
    format: str
    entities: int
    relations: int


@dataclass(frozen=True, slots=True)
class CommunityBuildReport:
    communities: int
    levels: int
    algorithm: str
    llm_written: int = 0
    llm_failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def entity_view(store: IndexStore, name: str, index_dir: Path) -> EntityView:
    """Everything the graph holds about the entity called ``name`` (any of its aliases)."""
    found = store.find_entity(normalize_name(name))
    if found is None:
        raise EntityNotFoundError(f"no entity named {name!r} in {index_dir}; try `banyan graph stats` or a search")
    relations = tuple(store.relations_of(found.aliases))
    names = {}
    for norm in {n for r in relations for n in (r.head, r.tail)}:
        other = store.find_entity(norm)
        if other is not None:
            names[norm] = other.name
    return EntityView(found, found.aliases, relations, tuple(store.attributes_of(found.aliases)),
                      tuple(store.provenance_of(found.aliases)), names)


def keep_apart(store: IndexStore, a: str, b: str, index_dir: Path) -> tuple[str, str]:
    """Record that names ``a`` and ``b`` must never merge; returns their norms."""
    na, nb = normalize_name(a), normalize_name(b)
    for name, norm in ((a, na), (b, nb)):
        if store.find_entity(norm) is None:
            raise BanyanError(f"no entity named {name!r} in {index_dir}")
    store.add_keep_apart(na, nb)
    return na, nb


def export_graph(store: IndexStore, out: Path, fmt: str) -> ExportReport:
    from banyan.graph.export import export_graphml, export_neo4j_csv

    if fmt not in ("graphml", "neo4j-csv"):
        raise BanyanError(f"unknown format {fmt!r}; choose graphml or neo4j-csv")
    n, m = export_graphml(store, out) if fmt == "graphml" else export_neo4j_csv(store, out)
    return ExportReport(out, fmt, n, m)


def build_communities(store: IndexStore, kg: KnowledgeGraph, embedder: Embedder, settings: Settings,
                      index_dir: Path, *, algorithm: str = "dual", llm_reports: bool = False,
                      llm_model: str | None = None, max_reports: int = 100) -> CommunityBuildReport:
    """Detect communities, write keywords and cited reports (LLM summaries if asked), store them.

    Once built, communities are kept in step with the graph by every command that changes it
    (``graph.maintain.refresh_communities``)."""
    from banyan.graph.maintain import ALGORITHMS, detect_communities, store_communities

    if algorithm not in ALGORITHMS:
        raise BanyanError(f"unknown community algorithm {algorithm!r}; choose dual or leiden")
    t0 = time.perf_counter()
    tree, n_levels = detect_communities(store, kg, settings, algorithm)
    written = failed = 0
    errors: list[str] = []
    if llm_reports:
        from banyan.graph.reports import summarize, with_summary
        from banyan.llm import build_llm

        cfg = settings.llm.model_copy(update={"model": llm_model}) if llm_model else settings.llm
        stack = build_llm(cfg, index_dir, database=store.llm_database())
        chosen = {c.id for c in sorted(tree, key=lambda c: -c.size)[:max_reports]}
        picked = [c for c in tree if c.id in chosen]
        results = summarize(stack.llm, picked, concurrency=cfg.max_concurrency)
        summarized = {c.id: with_summary(c, r) for c, r in zip(picked, results)}
        tree = [summarized.get(c.id, c) for c in tree]
        failed = sum(not r.ok for r in results)
        written = len(results) - failed
        errors = [r.error for r in results if not r.ok and r.error][:5]
    store_communities(store, embedder, tree, algorithm)
    return CommunityBuildReport(len(tree), n_levels, algorithm, written, failed,
                                round(time.perf_counter() - t0, 3), errors)


def compare_communities(kg: KnowledgeGraph, settings: Settings) -> dict[str, dict[str, object]]:
    """Dual perception vs Leiden on this graph: levels, sizes, modularity, coherence, seconds."""
    from banyan.graph.communities import compare, entity_graph, params_from

    return compare(entity_graph(kg), kg.entity_vectors, params_from(settings.communities))


def list_communities(store: IndexStore, level: int | None = None, limit: int = 50) -> list[Community]:
    found = store.communities(level, limit)
    if not found:
        raise BanyanError("no communities stored: run `banyan communities build`")
    return found


def get_community(store: IndexStore, cid: str) -> Community:
    found = store.get_community(cid)
    if found is None:
        raise CommunityNotFoundError(f"no community {cid!r}; see `banyan communities list`")
    return found
