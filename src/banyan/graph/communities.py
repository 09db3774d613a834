"""Community detection with no LLM: dual perception (structure + semantics), and Leiden to compare.

Dual perception:
1. Each entity is represented by what its one-hop neighbourhood says: its name vector plus the
   mean of its neighbours' name vectors (``semantic_vectors``), built from cached embeddings.
2. Initial communities: k-means on those vectors (seeded, so results are deterministic).
3. Assignment: each entity moves to the candidate community (its own or a neighbour's) with the
   best ``lam * structural + (1 - lam) * semantic`` score, where structural is the share of its
   edge weight going into the community and semantic the cosine to the community centroid.
   A community is then split into its connected parts (``split_disconnected``): similar names alone
   never put unrelated documents in one community.
4. Hierarchy: neighbouring communities are merged pairwise while
   ``lam * modularity gain (scaled) + (1 - lam) * centroid cosine`` passes ``threshold``, the gain is
   positive and the merged size stays within ``size_cap``; each merge round is one level up, so
   levels nest by construction.
All functions are pure: arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from banyan.graph.kg import KnowledgeGraph
    from banyan.settings import CommunitySettings


@dataclass(frozen=True, slots=True)
class DualParams:
    """Built from ``CommunitySettings`` (where the defaults live) by ``params_from``."""

    lam: float
    threshold: float
    size_cap: int
    init_size: int
    """average size of the initial k-means clusters"""
    max_levels: int
    seed: int
    rounds: int = 3


def params_from(cfg: CommunitySettings) -> DualParams:
    return DualParams(cfg.lam, cfg.threshold, cfg.size_cap, cfg.init_size, cfg.max_levels, cfg.seed)


def semantic_vectors(adj: sp.csr_matrix, name_vecs: np.ndarray) -> np.ndarray:
    """Name vector plus the mean neighbour name vector, L2-normalized (one-hop semantics)."""
    deg = np.asarray(adj.sum(axis=1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg, dtype=np.float64), where=deg > 0)
    neigh = sp.diags(inv) @ adj @ name_vecs
    v = name_vecs + neigh
    return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _kmeans(vecs: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import MiniBatchKMeans

    k = max(1, min(k, len(vecs)))
    km = MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=2048, n_init=1, max_iter=50)
    return km.fit_predict(vecs).astype(np.int64)


def _relabel(labels: np.ndarray) -> np.ndarray:
    _, out = np.unique(labels, return_inverse=True)
    return out.astype(np.int64)


def _centroids(vecs: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    h = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(n, len(labels)))
    c = np.asarray(h @ vecs)
    return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)


def assign(adj: sp.csr_matrix, vecs: np.ndarray, labels: np.ndarray, lam: float, rounds: int) -> np.ndarray:
    """Move each node to its best candidate community, ``rounds`` times (synchronous updates)."""
    labels = labels.copy()
    deg = np.maximum(np.asarray(adj.sum(axis=1)).ravel(), 1e-12)
    n = len(labels)
    for _ in range(rounds):
        c = int(labels.max()) + 1
        member = sp.csr_matrix((np.ones(n), (np.arange(n), labels)), shape=(n, c))
        share = (sp.diags(1.0 / deg) @ adj @ member).tocoo()  # structural share per (node, community)
        rows = np.concatenate([share.row, np.arange(n)])
        cols = np.concatenate([share.col, labels])
        struct = np.concatenate([share.data, np.zeros(n)])
        cent = _centroids(vecs, labels, c)
        sem = np.einsum("ij,ij->i", vecs[rows], cent[cols])
        score = lam * struct + (1 - lam) * sem
        # best candidate per node: sort by (row, -score) and keep the first of each row
        order = np.lexsort((-score, rows))
        first = np.ones(len(order), dtype=bool)
        first[1:] = rows[order][1:] != rows[order][:-1]
        best = np.empty(n, dtype=np.int64)
        best[rows[order][first]] = cols[order][first]
        if np.array_equal(best, labels):
            break
        labels = _relabel(best)
    return labels


def split_disconnected(adj: sp.csr_matrix, labels: np.ndarray) -> np.ndarray:
    """Each community split into its connected components (edges between members only): k-means
    and semantic moves can group entities that no triple or shared chunk connects."""
    from scipy.sparse.csgraph import connected_components

    coo = adj.tocoo()
    inside = labels[coo.row] == labels[coo.col]
    n = len(labels)
    within = sp.csr_matrix((coo.data[inside], (coo.row[inside], coo.col[inside])), shape=(n, n))
    _, parts = connected_components(within, directed=False)
    return _relabel(parts.astype(np.int64))


def merge_level(adj: sp.csr_matrix, vecs: np.ndarray, labels: np.ndarray, p: DualParams) -> np.ndarray | None:
    """One round of pairwise merges of neighbouring communities; None when nothing merges."""
    n, c = len(labels), int(labels.max()) + 1
    h = sp.csr_matrix((np.ones(n), (np.arange(n), labels)), shape=(n, c))
    between = (h.T @ adj @ h).tocoo()
    sizes = np.bincount(labels, minlength=c).astype(np.float64)
    mask = between.row < between.col
    a, b, w = between.row[mask], between.col[mask], between.data[mask]
    if not len(a):
        return None
    # structure: the modularity gain of merging a and b (Louvain's criterion), scaled to [0, 1]
    deg = np.asarray(adj.sum(axis=1)).ravel()
    vol = np.bincount(labels, weights=deg, minlength=c)
    two_m = max(float(deg.sum()), 1e-12)
    gain = 2 * w / two_m - 2 * vol[a] * vol[b] / two_m**2
    struct = np.clip(gain / max(float(gain.max()), 1e-12), 0.0, None)
    cent = _centroids(vecs, labels, c)
    score = np.where(gain > 0, p.lam * struct + (1 - p.lam) * np.einsum("ij,ij->i", cent[a], cent[b]), -1.0)
    parent = np.arange(c)
    used = np.zeros(c, dtype=bool)
    merged = False
    for i in np.argsort(-score, kind="stable"):
        if score[i] < p.threshold:
            break
        x, y = a[i], b[i]
        if used[x] or used[y] or sizes[x] + sizes[y] > p.size_cap:
            continue
        parent[y] = x
        used[x] = used[y] = True
        merged = True
    return _relabel(parent[labels]) if merged else None


def dual_perception(adj: sp.csr_matrix, vecs: np.ndarray, p: DualParams) -> list[np.ndarray]:
    """Community labels per level, finest first; every level nests inside the next."""
    n = adj.shape[0]
    if n == 0:
        return [np.zeros(0, dtype=np.int64)]
    labels = _relabel(_kmeans(vecs, max(min(n, 2), n // p.init_size), p.seed))
    labels = split_disconnected(adj, assign(adj, vecs, labels, p.lam, p.rounds))
    levels = [labels]
    for _ in range(p.max_levels - 1):
        up = merge_level(adj, vecs, levels[-1], p)
        if up is None:
            break
        levels.append(up)
    return levels


def entity_graph(kg: KnowledgeGraph) -> sp.csr_matrix:
    """Entity-entity graph for communities: triples plus co-mention in a chunk."""
    n = kg.n_entities
    ee = kg.adjacency[:n, :n]
    ec = (kg.adjacency[:n, n:] > 0).astype(np.float64)
    co = (ec @ ec.T).tocsr()
    co.setdiag(0)
    co.eliminate_zeros()
    return (ee + co).tocsr()


def compare(adj: sp.csr_matrix, name_vecs: np.ndarray, p: DualParams) -> dict[str, dict[str, object]]:
    """Both algorithms on one graph: levels, sizes, modularity, coherence (vs random), seconds."""
    import time

    vecs = semantic_vectors(adj, name_vecs)
    t0 = time.perf_counter()
    levels = dual_perception(adj, vecs, p)
    dual_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    lab = leiden(adj, seed=p.seed)
    leiden_s = time.perf_counter() - t0

    def describe(labs: list[np.ndarray], seconds: float) -> dict[str, object]:
        top = labs[-1]
        sizes = np.bincount(top)
        return {
            "n_communities": [int(lv.max()) + 1 for lv in labs],
            "sizes": {"max": int(sizes.max()), "median": float(np.median(sizes)), "singletons": int((sizes == 1).sum())},
            "modularity": [round(modularity(adj, lv), 4) for lv in labs],
            "coherence": [round(coherence(vecs, lv), 4) for lv in labs],
            "random_coherence": [round(random_coherence(vecs, lv, p.seed), 4) for lv in labs],
            "seconds": round(seconds, 2),
        }

    return {"dual": describe(levels, dual_s), "leiden": describe([lab], leiden_s)}


def leiden(adj: sp.csr_matrix, seed: int = 0, resolution: float = 1.0) -> np.ndarray:
    """Leiden (modularity, via leidenalg on igraph) labels, for comparison."""
    import igraph as ig
    import leidenalg

    upper = sp.triu(adj, k=1).tocoo()
    g = ig.Graph(n=adj.shape[0], edges=list(zip(upper.row.tolist(), upper.col.tolist())), directed=False)
    g.es["weight"] = upper.data.tolist()
    part = leidenalg.find_partition(g, leidenalg.RBConfigurationVertexPartition, weights="weight",
                                    resolution_parameter=resolution, seed=seed)
    return _relabel(np.asarray(part.membership, dtype=np.int64))


def modularity(adj: sp.csr_matrix, labels: np.ndarray) -> float:
    two_m = float(adj.sum())
    if two_m == 0:
        return 0.0
    n, c = len(labels), int(labels.max()) + 1
    h = sp.csr_matrix((np.ones(n), (np.arange(n), labels)), shape=(n, c))
    inside = np.asarray((h.T @ adj @ h).diagonal()).ravel()
    vol = np.asarray(h.T @ np.asarray(adj.sum(axis=1)).ravel()).ravel()
    return float(np.sum(inside / two_m - (vol / two_m) ** 2))


def coherence(vecs: np.ndarray, labels: np.ndarray) -> float:
    """Mean intra-community cosine of unit vectors (communities of two or more members)."""
    c = int(labels.max()) + 1
    sums = np.zeros((c, vecs.shape[1]))
    np.add.at(sums, labels, vecs)
    sizes = np.bincount(labels, minlength=c)
    ok = sizes >= 2
    if not ok.any():
        return 0.0
    pair_mean = (np.sum(sums[ok] ** 2, axis=1) - sizes[ok]) / (sizes[ok] * (sizes[ok] - 1))
    return float(np.average(pair_mean, weights=sizes[ok]))


def random_coherence(vecs: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """Coherence of a random grouping with the same community sizes."""
    rng = np.random.default_rng(seed)
    return coherence(vecs, labels[rng.permutation(len(labels))])
