"""Keeping the derived graph layers in step with the chunks: communities.

Entities, relations and attributes follow their chunks already (raw extractions are owned by a
chunk and leave with it; ``build.resolve_graph`` re-resolves entities whenever chunks or
extractions change). Communities are derived from the resolved graph, so once built they are
recomputed whenever it changes, in the same command that changed it (``index``, ``remove``,
``graph unmerge``). Detection is deterministic (seeded), so the same graph always gives the same
communities, and an LLM summary is kept for every community whose members and cited evidence
did not change.
"""

from __future__ import annotations

import time
from dataclasses import replace

from banyan.embed import Embedder
from banyan.graph.kg import KnowledgeGraph
from banyan.graph.text_vectors import cached_embed
from banyan.settings import Settings
from banyan.store import IndexStore
from banyan.types import Community, IndexReport

ALGORITHM_META = "communities_algorithm"
ALGORITHMS = ("dual", "leiden")


def detect_communities(store: IndexStore, kg: KnowledgeGraph, settings: Settings,
                       algorithm: str = "dual") -> tuple[list[Community], int]:
    """Communities of every level with keywords and extractive reports (no LLM), and the level count."""
    from banyan.graph.communities import dual_perception, entity_graph, leiden, params_from, semantic_vectors
    from banyan.graph.tree import build_tree

    adj = entity_graph(kg)
    vecs = semantic_vectors(adj, kg.entity_vectors)
    levels = (dual_perception(adj, vecs, params_from(settings.communities)) if algorithm == "dual"
              else [leiden(adj, seed=settings.communities.seed)])
    texts = {cid: p.text for cid, p in store.citations(
        [kg.chunk_node(h) for hs in kg.home.values() for h in hs]).items()}
    return build_tree(kg, adj, vecs, levels, texts), len(levels)


def store_communities(store: IndexStore, embedder: Embedder, tree: list[Community], algorithm: str) -> None:
    """Save communities with the keyword vectors the community route needs (searches never write)."""
    cached_embed(store, embedder)([", ".join(c.keywords) for c in tree if c.level == 0])
    store.replace_communities(tree, f"{store.resolved_version() or ''}@{time.time():.3f}")
    store.set_meta(ALGORITHM_META, algorithm)


def keep_summaries(tree: list[Community], old: list[Community]) -> list[Community]:
    """Carry LLM summaries over to communities that are the same (id = members) with the same evidence."""
    before = {c.id: c.report for c in old if c.report.llm_summary or c.report.llm_error}
    out = []
    for c in tree:
        prev = before.get(c.id)
        if prev is not None and prev.evidence == c.report.evidence:
            c = replace(c, report=replace(c.report, llm_title=prev.llm_title, llm_summary=prev.llm_summary,
                                          llm_error=prev.llm_error))
        out.append(c)
    return out


def refresh_communities(store: IndexStore, embedder: Embedder, settings: Settings, report: IndexReport) -> bool:
    """Recompute stored communities if the graph changed since they were built; True if it did.

    An index whose communities were never built is left alone (``banyan communities build`` builds
    them). Communities left with no entity are gone; none cites a chunk that no longer exists.
    """
    built = store.communities_version()
    resolved = store.resolved_version()
    if not built or resolved is None or built.startswith(f"{resolved}@"):
        return False
    t0 = time.perf_counter()
    algorithm = store.get_meta(ALGORITHM_META) or "dual"
    kg = KnowledgeGraph.load(store, f"text:{embedder.name}", embedder.dim)
    old = store.communities(with_members=False)
    tree, _ = detect_communities(store, kg, settings, algorithm if algorithm in ALGORITHMS else "dual")
    store_communities(store, embedder, keep_summaries(tree, old), algorithm)
    report.add_time("communities", time.perf_counter() - t0)
    report.notes.append(f"the graph changed: communities recomputed ({len(tree)} communities)")
    return True
