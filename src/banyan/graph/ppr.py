"""Personalized PageRank and bounded path search on sparse graphs. Pure functions."""

from __future__ import annotations

from collections import deque

import numpy as np
import scipy.sparse as sp


def transition(adj: sp.csr_matrix) -> sp.csr_matrix:
    """Row-stochastic transition matrix of a weighted adjacency matrix (empty rows stay empty)."""
    deg = np.asarray(adj.sum(axis=1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg, dtype=np.float64), where=deg > 0)
    return sp.diags(inv) @ adj


def personalized_pagerank(trans: sp.csr_matrix, seeds: np.ndarray, damping: float = 0.5, max_iter: int = 100,
                          tol: float = 1e-8) -> np.ndarray:
    """Stationary scores of a walk that follows an edge with probability ``damping`` and jumps
    back to the seed distribution otherwise. Mass at dead ends returns to the seeds. Sums to 1."""
    s = np.asarray(seeds, dtype=np.float64)
    total = s.sum()
    if total <= 0:
        return np.zeros_like(s)
    s = s / total
    dead = np.asarray(trans.sum(axis=1)).ravel() == 0
    trans_t = trans.T.tocsr()
    r = s.copy()
    for _ in range(max_iter):
        nxt = damping * (trans_t @ r) + (1 - damping + damping * r[dead].sum()) * s
        if np.abs(nxt - r).sum() < tol:
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
