"""Personalized PageRank and bounded path search on sparse graphs. Pure functions.

A walk over one graph runs once per question, so what does not depend on the question (the
transposed transition matrix, the dead ends) is prepared once (``Walk``) and reused.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

SPARSE_SHARE = 8
"""a step multiplies only the nonzero entries while fewer than 1/SPARSE_SHARE of the nodes have mass"""


def transition(adj: sp.csr_matrix) -> sp.csr_matrix:
    """Row-stochastic transition matrix of a weighted adjacency matrix (empty rows stay empty)."""
    deg = np.asarray(adj.sum(axis=1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg, dtype=np.float64), where=deg > 0)
    return sp.diags(inv) @ adj


@dataclass(frozen=True)
class Walk:
    """A transition matrix prepared for many walks: read-only, shared by threads."""

    trans: sp.csr_matrix
    """row-stochastic transitions (row ``j``: where a walker at ``j`` goes)"""
    trans_t: sp.csr_matrix
    """its transpose in CSR with sorted indices (row ``i``: where mass at ``i`` comes from)"""
    dead: np.ndarray
    """nodes without out-edges"""


def prepare_walk(trans: sp.csr_matrix) -> Walk:
    """What every walk over ``trans`` reads (a graph's own walk is prepared once: ``KnowledgeGraph.walk``)."""
    trans = sp.csr_matrix(trans)
    trans_t = trans.T.tocsr()
    trans_t.sort_indices()
    dead = np.flatnonzero(np.asarray(trans.sum(axis=1)).ravel() == 0)
    return Walk(trans, trans_t, dead)


def _step(walk: Walk, r: np.ndarray, nz: np.ndarray | None) -> np.ndarray:
    """``walk.trans_t @ r``, reading only the rows of ``trans`` at ``nz`` (the nonzero entries of a
    sparse ``r``) when given. Each sum then adds the same nonzero terms in the same (column) order as
    the full product and skips exact zeros only, so the result is bit-for-bit the full product's."""
    if nz is None:
        return walk.trans_t @ r
    return walk.trans[nz].T @ r[nz]


def personalized_pagerank(trans: sp.csr_matrix | Walk, seeds: np.ndarray, damping: float = 0.5,
                          max_iter: int = 100, tol: float = 1e-8) -> np.ndarray:
    """Stationary scores of a walk that follows an edge with probability ``damping`` and jumps
    back to the seed distribution otherwise. Mass at dead ends returns to the seeds. Sums to 1."""
    walk = trans if isinstance(trans, Walk) else prepare_walk(trans)
    s = np.asarray(seeds, dtype=np.float64)
    total = s.sum()
    if total <= 0:
        return np.zeros_like(s)
    s = s / total
    seeded = np.flatnonzero(s)
    r = s.copy()
    sparse = True
    diff = np.empty_like(s)
    for _ in range(max_iter):
        nz = np.flatnonzero(r) if sparse else None
        sparse = nz is not None and len(nz) * SPARSE_SHARE < len(r)  # mass only spreads: once dense, dense
        nxt = _step(walk, r, nz if sparse else None)
        nxt *= damping
        # + jump * s, where s is nonzero (elsewhere it adds an exact 0.0)
        nxt[seeded] += (1 - damping + damping * r[walk.dead].sum()) * s[seeded]
        np.subtract(nxt, r, out=diff)
        np.abs(diff, out=diff)
        if diff.sum() < tol:
            return nxt
        r = nxt
    return r


def bounded_paths(neighbors: list[np.ndarray], sources: list[int], targets: set[int], max_hops: int,
                  max_paths: int = 50) -> list[list[int]]:
    """Shortest paths (as node lists) from each source to the other targets within ``max_hops``."""
    paths: list[list[int]] = []
    for src in sources:
        parent = {src: -1}
        frontier = deque([(src, 0)])
        while frontier and len(paths) < max_paths:
            node, depth = frontier.popleft()
            if node != src and node in targets:
                path = [node]
                while parent[path[-1]] != -1:
                    path.append(parent[path[-1]])
                paths.append(path[::-1])
                continue
            if depth == max_hops:
                continue
            for nb in neighbors[node]:
                nb = int(nb)
                if nb not in parent:
                    parent[nb] = node
                    frontier.append((nb, depth + 1))
    return paths
