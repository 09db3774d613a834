"""Graph exploration for the explorer and the server: find entities, a neighbourhood, an overview.

All three read the loaded ``KnowledgeGraph`` of the request (restricted to the caller's chunks
when access control applies), so they cost array work, not one query per node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from banyan.errors import EntityNotFoundError
from banyan.text import normalize_name
from banyan.types import GraphEdge, GraphNode, Subgraph

if TYPE_CHECKING:
    from banyan.graph.kg import KnowledgeGraph

RELATED_LABEL = "related"


def node(kg: KnowledgeGraph, i: int, community: Mapping[str, str]) -> GraphNode:
    eid = kg.entity_ids[i]
    return GraphNode(eid, kg.names[i], kg.types[i], community.get(eid), int(kg.entity_chunks[i]))


def find_entities(kg: KnowledgeGraph, text: str, limit: int, community: Mapping[str, str]) -> list[GraphNode]:
    """Entities whose name or an alias matches ``text``: exact, then prefix, then substring; the most
    mentioned first within each."""
    want = normalize_name(text)
    if not want:
        return []
    rank: dict[int, int] = {}
    for norm, i in kg.norm_index.items():
        r = 0 if norm == want else 1 if norm.startswith(want) else 2 if want in norm else None
        if r is not None and r < rank.get(i, 3):
            rank[i] = r
    best = sorted(rank, key=lambda i: (rank[i], -int(kg.entity_chunks[i]), kg.names[i]))[:limit]
    return [node(kg, i, community) for i in best]


def locate(kg: KnowledgeGraph, name: str) -> int:
    i = kg.norm_index.get(normalize_name(name))
    if i is None:
        raise EntityNotFoundError(f"no entity named {name!r}; search for it first (find_entities)")
    return i


def subgraph(kg: KnowledgeGraph, chosen: Sequence[int], community: Mapping[str, str], truncated: bool) -> Subgraph:
    """The chosen entities and the relations among them, labelled by their strongest relation type."""
    sel = np.asarray(sorted(set(chosen)), dtype=np.int64)
    edges: list[GraphEdge] = []
    if len(sel) > 1:
        ee = kg.adjacency[sel][:, sel].tocoo()
        label: dict[tuple[int, int], tuple[float, str]] = {}
        for kind, matrix in kg.typed.items():
            sub = matrix[sel][:, sel].tocoo()
            for a, b, w in zip(sub.row, sub.col, sub.data, strict=True):
                if a < b and w > label.get((a, b), (0.0, ""))[0]:
                    label[(a, b)] = (float(w), kind)
        for a, b, w in zip(ee.row, ee.col, ee.data, strict=True):
            if a < b:
                kind = label.get((a, b), (0.0, RELATED_LABEL))[1]
                edges.append(GraphEdge(kg.entity_ids[sel[a]], kg.entity_ids[sel[b]], kind, float(w)))
    nodes = tuple(node(kg, int(i), community) for i in chosen)
    return Subgraph(nodes, tuple(edges), truncated)


def neighbourhood(kg: KnowledgeGraph, name: str, depth: int, limit: int, community: Mapping[str, str]) -> Subgraph:
    """The entity and the entities its relations reach in ``depth`` hops, nearest and most mentioned
    first, at most ``limit`` of them."""
    start = locate(kg, name)
    order, seen, frontier = [start], {start}, [start]
    truncated = False
    for _ in range(max(0, depth)):
        nxt: list[int] = []
        for i in frontier:
            nbrs = sorted((int(j) for j in kg.entity_neighbors[i] if int(j) not in seen),
                          key=lambda j: -int(kg.entity_chunks[j]))
            for j in nbrs:
                seen.add(j)
                nxt.append(j)
        room = limit - len(order)
        if len(nxt) > room:
            nxt, truncated = nxt[:max(0, room)], True
        order.extend(nxt)
        frontier = nxt
        if truncated or not frontier:
            break
    return subgraph(kg, order, community, truncated)


def overview(kg: KnowledgeGraph, limit: int, community: Mapping[str, str]) -> Subgraph:
    """The ``limit`` best-connected entities (relations, then mentions) and the relations among them."""
    degree = np.array([len(n) for n in kg.entity_neighbors], dtype=np.float64)
    score = degree * 1e6 + np.asarray(kg.entity_chunks, dtype=np.float64)
    chosen = [int(i) for i in np.argsort(-score, kind="stable")[:limit]]
    return subgraph(kg, chosen, community, kg.n_entities > limit)
