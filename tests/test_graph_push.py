"""Personalized PageRank by forward push (``graph.push``): the power iteration's fixed point, within
the mass it leaves unspread, from the compiled loop and from the same loop run as plain Python."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from banyan import Banyan
from banyan.graph.ppr import personalized_pagerank, prepare_walk, transition
from banyan.graph.push import _push, approximate_pagerank
from banyan.retrieve import graph_routes
from conftest import HASH


def _random_graph(rng: np.random.Generator, n: int, edges: int) -> sp.csr_matrix:
    rows, cols = rng.integers(0, n, edges), rng.integers(0, n, edges)
    upper = sp.coo_matrix((rng.random(edges) + 0.1, (rows, cols)), shape=(n, n))
    adj = (upper + upper.T).tocsr()
    adj.setdiag(0)
    adj.eliminate_zeros()
    return adj


def _cases(rng: np.random.Generator):
    for n, edges in [(50, 60), (400, 900), (3000, 5000)]:  # sparse enough to leave dead ends and islands
        walk = prepare_walk(transition(_random_graph(rng, n, edges)))
        assert len(walk.dead) > 0
        for n_seeds in (1, 3, n // 4):
            seeds = np.zeros(n)
            seeds[rng.choice(n, n_seeds, replace=False)] = rng.random(n_seeds) + 0.01
            for damping in (0.5, 0.85):
                yield walk, seeds, damping


def test_push_reaches_the_power_iterations_fixed_point():
    for walk, seeds, damping in _cases(np.random.default_rng(7)):
        exact = personalized_pagerank(walk, seeds, damping, tol=1e-13, max_iter=1000)
        got = approximate_pagerank(walk, seeds, damping, eps=1e-13)
        assert np.allclose(got, exact, rtol=1e-7, atol=1e-10)


def test_what_push_leaves_unspread_bounds_its_error():
    """Each node keeps less than ``eps`` per out-edge unspread: the scores miss at most that much mass
    in all, and no score exceeds the exact one."""
    eps = 1e-4
    for walk, seeds, damping in _cases(np.random.default_rng(11)):
        exact = personalized_pagerank(walk, seeds, damping, tol=1e-13, max_iter=1000)
        got = approximate_pagerank(walk, seeds, damping, eps=eps)
        bound = eps * (walk.trans.nnz + walk.trans.shape[0])
        assert 1 - bound <= got.sum() <= 1 + 1e-9
        assert np.all(got <= exact + 1e-12)
        assert np.abs(got - exact).sum() <= bound


def test_the_compiled_loop_is_the_python_loop():
    rng = np.random.default_rng(3)
    walk = prepare_walk(transition(_random_graph(rng, 300, 700)))
    seeded = np.sort(rng.choice(300, 5, replace=False)).astype(np.int64)
    share = rng.random(5)
    share /= share.sum()
    trans = walk.trans
    args = (trans.indptr, trans.indices, trans.data, seeded, share, 0.5, 1e-6)
    seeds = np.zeros(300)
    seeds[walk.order[seeded]] = share
    compiled = approximate_pagerank(walk, seeds, 0.5, 1e-6)
    plain = np.zeros(300)
    plain[walk.order] = _push(*args)
    assert np.allclose(compiled, plain, rtol=1e-12, atol=1e-15)


def test_seeds_without_edges_keep_their_mass_and_no_seeds_walk_nowhere():
    adj = sp.csr_matrix(np.array([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                                  [0.0, 0.0, 0.0, 0.0]]))
    walk = prepare_walk(transition(adj))
    assert np.allclose(approximate_pagerank(walk, np.array([0.0, 0.0, 1.0, 3.0]), eps=1e-12), [0, 0, 0.25, 0.75])
    assert approximate_pagerank(walk, np.zeros(4)).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert np.allclose(approximate_pagerank(walk, np.array([1.0, 0, 0, 0]), 0.5, 1e-12), [2 / 3, 1 / 3, 0, 0])


def test_the_compiled_loop_checks_what_it_is_given():
    ext = pytest.importorskip("banyan.graph._push")
    indptr, indices = np.array([0, 1, 2], np.int64), np.array([1, 5], np.int64)  # node 5 does not exist
    seeded, order = np.array([0], np.int64), np.arange(2, dtype=np.int64)
    with pytest.raises(ValueError, match="out of range"):
        ext.push(indptr, indices, np.ones(2), seeded, np.ones(1), 0.5, 1e-9, order, np.zeros(2))
    with pytest.raises(ValueError, match="out of range"):  # a seed twice
        ext.push(indptr, np.array([1, 0]), np.ones(2), np.array([0, 0]), np.ones(2), 0.5, 1e-9, order, np.zeros(2))
    with pytest.raises(TypeError, match="indices must be"):
        ext.push(indptr, indices.astype(np.int32), np.ones(2), seeded, np.ones(1), 0.5, 1e-9, order, np.zeros(2))
    with pytest.raises(ValueError, match="lengths"):
        ext.push(indptr, indices, np.ones(2), seeded, np.ones(1), 0.5, 1e-9, order, np.zeros(3))
    with pytest.raises(ValueError, match="damping"):
        ext.push(indptr, np.array([1, 0]), np.ones(2), seeded, np.ones(1), 1.0, 1e-9, order, np.zeros(2))


def test_without_the_compiled_loop_graph_mode_walks_by_power_iteration(monkeypatch, tmp_path: Path, sample_dir: Path):
    monkeypatch.setattr(graph_routes, "compiled", lambda: False)
    q = "Where was the founder of Harrow & Vale Construction born?"
    with Banyan(tmp_path / "idx", HASH) as bn:
        bn.index([sample_dir])
        hits = bn.search(q, mode="graph", k=2)
    assert {h.citation.title for h in hits} == {"Harrow & Vale Construction", "Thomas Harrow"}


@pytest.mark.parametrize("method", ["push", "power"])
def test_graph_mode_ranks_the_same_with_either_method(tmp_path: Path, sample_dir: Path, method: str):
    q = "Where was the founder of Harrow & Vale Construction born?"
    with Banyan(tmp_path / "idx", {**HASH, "graph": {"ppr_method": method}}) as bn:
        bn.index([sample_dir])
        hits = bn.search(q, mode="graph", k=2)
    assert {h.citation.title for h in hits} == {"Harrow & Vale Construction", "Thomas Harrow"}
