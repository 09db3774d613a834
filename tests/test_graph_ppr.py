"""Personalized PageRank on a prepared walk (nodes renumbered for locality): the plain power
iteration's numbers, up to the order floating-point sums are added in."""

import numpy as np
import scipy.sparse as sp

from banyan.graph.kg import KnowledgeGraph
from banyan.graph.ppr import personalized_pagerank, prepare_walk, transition
from banyan.graph.ragged import Ragged, row_entries
from conftest import random_graph


def _reference(trans: sp.csr_matrix, seeds: np.ndarray, damping: float = 0.5, max_iter: int = 100,
               tol: float = 1e-8) -> np.ndarray:
    """The power iteration written plainly (the walk's matrices rebuilt on every call)."""
    s = seeds / seeds.sum()
    dead = np.asarray(trans.sum(axis=1)).ravel() == 0
    trans_t = trans.T.tocsr()
    r = s.copy()
    for _ in range(max_iter):
        nxt = damping * (trans_t @ r) + (1 - damping + damping * r[dead].sum()) * s
        if np.abs(nxt - r).sum() < tol:
            return nxt
        r = nxt
    return r


def test_prepared_walk_matches_the_plain_iteration():
    rng = np.random.default_rng(7)
    for n, edges in [(50, 60), (400, 900), (3000, 5000)]:  # sparse enough to leave dead ends and islands
        trans = transition(random_graph(rng, n, edges))
        walk = prepare_walk(trans)
        assert len(walk.dead) > 0
        for n_seeds in (1, 3, n // 4):  # few seeds: the first steps take the sparse path
            seeds = np.zeros(n)
            seeds[rng.choice(n, n_seeds, replace=False)] = rng.random(n_seeds) + 0.01
            for damping in (0.5, 0.85):
                want = _reference(trans, seeds, damping)
                assert np.allclose(personalized_pagerank(walk, seeds, damping), want, rtol=1e-12, atol=1e-15)
                assert np.allclose(personalized_pagerank(trans, seeds, damping), want, rtol=1e-12, atol=1e-15)


def test_seeds_without_edges_keep_their_mass():
    """Isolated seeds: the first sparse step reads no entries at all (and must stay in floats)."""
    adj = sp.csr_matrix(np.array([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                                  [0.0, 0.0, 0.0, 0.0]]))
    walk = prepare_walk(transition(adj))
    got = personalized_pagerank(walk, np.array([0.0, 0.0, 1.0, 3.0]))
    assert got.dtype == np.float64
    assert np.allclose(got, [0.0, 0.0, 0.25, 0.75])


def test_prepared_walk_parts():
    adj = sp.csr_matrix(np.array([[0.0, 2.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    walk = prepare_walk(transition(adj))
    assert sorted(walk.order.tolist()) == [0, 1, 2]
    assert walk.order[walk.dead].tolist() == [2]
    assert walk.trans_t.has_sorted_indices
    assert np.array_equal(walk.trans_t.toarray(), walk.trans.toarray().T)
    assert personalized_pagerank(walk, np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    assert np.allclose(personalized_pagerank(walk, np.array([1.0, 0.0, 0.0]), 0.5, tol=0), [2 / 3, 1 / 3, 0.0])


def test_walk_order_puts_neighbours_near_each_other():
    """A path graph numbered at random: in walk order every edge joins adjacent positions."""
    rng = np.random.default_rng(3)
    n = 40
    label = rng.permutation(n)
    rows = label[:-1]
    cols = label[1:]
    adj = sp.coo_matrix((np.ones(n - 1), (rows, cols)), shape=(n, n))
    walk = prepare_walk(transition((adj + adj.T).tocsr()))
    coo = walk.trans.tocoo()
    assert np.abs(coo.row - coo.col).max() == 1


def test_graph_prepares_its_walk_once():
    adj = sp.csr_matrix(np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.2], [1.0, 0.2, 0.0]]))
    kg = KnowledgeGraph(["e1"], ["E"], ["other"], np.array([2]), {"e": 0}, ["c1", "c2"], adj, prepare_walk(transition(adj)),
                        np.zeros((1, 4), np.float32))
    assert kg.walk is kg.walk
    assert kg.chunk_nodes == {"c1": 1, "c2": 2}
    assert kg.chunk_node(kg.chunk_nodes["c2"]) == "c2"


def test_a_walk_can_reuse_a_given_node_order():
    """A reweighted copy of a graph (a query's boosted relations) reuses the graph's own order."""
    rng = np.random.default_rng(5)
    trans = transition(random_graph(rng, 200, 400))
    own = prepare_walk(trans)
    given = np.arange(200)[::-1].copy()
    reused = prepare_walk(trans, given)
    assert np.array_equal(reused.order, given)
    seeds = np.zeros(200)
    seeds[[3, 50]] = 1.0
    assert np.allclose(personalized_pagerank(reused, seeds), personalized_pagerank(own, seeds), rtol=1e-12, atol=1e-15)


def test_row_entries_lists_the_given_rows_entries_in_order():
    rows = Ragged.of([[5, 6], [], [7], [8, 9, 10]])
    entries, counts = row_entries(rows.indptr, np.array([3, 1, 0, 3]))
    assert rows.values[entries].tolist() == [8, 9, 10, 5, 6, 8, 9, 10]
    assert counts.tolist() == [3, 0, 2, 3]
    entries, counts = row_entries(rows.indptr, np.array([], dtype=np.int64))
    assert len(entries) == 0 and len(counts) == 0
