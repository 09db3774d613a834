"""Personalized PageRank by forward push (``graph.push``): the power iteration's fixed point, within
the mass it leaves unspread, from the compiled loop and from the same loop run as plain Python."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from banyan import Banyan
from banyan.graph import push
from banyan.graph.ppr import personalized_pagerank, prepare_walk, transition
from banyan.graph.push import _extension, _push, approximate_pagerank, compiled
from banyan.retrieve import graph_routes
from conftest import HASH, random_graph

needs_extension = pytest.mark.skipif(not compiled(), reason="the C extension banyan.graph._push was not built")


def _cases(rng: np.random.Generator):
    for n, edges in [(50, 60), (400, 900), (3000, 5000)]:  # sparse enough to leave dead ends and islands
        walk = prepare_walk(transition(random_graph(rng, n, edges)))
        assert len(walk.dead) > 0
        for n_seeds in (1, 3, n // 4):
            seeds = np.zeros(n)
            seeds[rng.choice(n, n_seeds, replace=False)] = rng.random(n_seeds) + 0.01
            for damping in (0.5, 0.85):
                yield walk, seeds, damping


@pytest.fixture
def unbounded(monkeypatch):
    """No work budget: the pushes themselves, never the power iteration that takes over past it."""
    monkeypatch.setattr(push, "WORK_PASSES", 10**9)


@needs_extension
def test_push_reaches_the_power_iterations_fixed_point(unbounded):
    for walk, seeds, damping in _cases(np.random.default_rng(7)):
        exact = personalized_pagerank(walk, seeds, damping, tol=1e-13, max_iter=1000)
        got = approximate_pagerank(walk, seeds, damping, eps=1e-13)
        assert np.allclose(got, exact, rtol=1e-7, atol=1e-10)


@needs_extension
def test_what_push_leaves_unspread_bounds_its_error(unbounded):
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


@needs_extension
def test_the_compiled_loop_is_the_python_loop(unbounded):
    """Bit for bit (no fused multiply-adds), with 32- and 64-bit indices, dead ends among the seeds."""
    rng = np.random.default_rng(3)
    for case in range(20):
        n = int(rng.integers(5, 300))
        walk = prepare_walk(transition(random_graph(rng, n, int(rng.integers(n // 2, 3 * n)))))
        k = int(rng.integers(1, min(n, 8) + 1))
        seeded = np.sort(rng.choice(n, k, replace=False)).astype(np.int64)
        share = rng.random(k)
        share /= share.sum()
        damping, eps = float(rng.uniform(0.1, 0.9)), float(10 ** rng.uniform(-9, -3))
        plain = np.zeros(n)
        plain[walk.order] = _push(walk.trans.indptr, walk.trans.indices, walk.trans.data, seeded, share, damping, eps)
        indptr, indices, data, order = walk.push_arrays
        assert indptr.dtype == np.int32
        for width in (np.int32, np.int64):
            nodes, scores = np.empty(n, np.int64), np.empty(n)
            m = _extension().push(indptr.astype(width), indices.astype(width), data, seeded, share, damping, eps,
                                  10**12, order, nodes, scores)
            assert len(set(nodes[:m].tolist())) == m  # each reached node once
            compiled_out = np.zeros(n)
            compiled_out[nodes[:m]] = scores[:m]
            assert np.array_equal(compiled_out, plain), (case, width)
        seeds = np.zeros(n)
        seeds[walk.order[seeded]] = share  # the wrapper sums the shares in another order: equal up to rounding
        assert np.allclose(approximate_pagerank(walk, seeds, damping, eps), plain, rtol=1e-12, atol=1e-18), case


def test_a_push_over_its_budget_gives_the_power_iterations_scores(monkeypatch):
    rng = np.random.default_rng(5)
    walk = prepare_walk(transition(random_graph(rng, 400, 900)))
    seeds = np.zeros(400)
    seeds[[3, 50, 77]] = [1.0, 2.0, 0.5]
    monkeypatch.setattr(push, "WORK_PASSES", 0)
    if compiled():
        got = approximate_pagerank(walk, seeds, 0.99, 1e-9, tol=1e-10)
        assert np.allclose(got, personalized_pagerank(walk, seeds, 0.99, tol=1e-10), rtol=1e-12, atol=1e-15)


@needs_extension
def test_seeds_without_edges_keep_their_mass_and_no_seeds_walk_nowhere(unbounded):
    adj = sp.csr_matrix(np.array([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                                  [0.0, 0.0, 0.0, 0.0]]))
    walk = prepare_walk(transition(adj))
    assert np.allclose(approximate_pagerank(walk, np.array([0.0, 0.0, 1.0, 3.0]), eps=1e-12), [0, 0, 0.25, 0.75])
    assert approximate_pagerank(walk, np.zeros(4)).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert np.allclose(approximate_pagerank(walk, np.array([1.0, 0, 0, 0]), 0.5, 1e-12), [2 / 3, 1 / 3, 0, 0])


def test_the_compiled_loop_checks_what_it_is_given():
    ext = pytest.importorskip("banyan.graph._push")
    indptr, indices = np.array([0, 1, 2], np.int64), np.array([1, 5], np.int64)  # node 5 does not exist
    seeded, order, one = np.array([0], np.int64), np.arange(2, dtype=np.int64), np.ones(1)

    def run(*, ip=indptr, ix=indices, seeds=seeded, shares=one, damping=0.5, work=100, order=order, n=2):
        return ext.push(ip, ix, np.ones(len(ix)), seeds, shares, damping, 1e-9, work, order, np.empty(n, np.int64),
                        np.empty(n))

    with pytest.raises(ValueError, match="out of range"):
        run()
    with pytest.raises(ValueError, match="repeated"):
        run(ix=np.array([1, 0]), seeds=np.array([0, 0]), shares=np.ones(2))
    with pytest.raises(ValueError, match="bounds"):
        run(ip=np.array([0, 2, 1]), ix=np.array([1, 0]))
    with pytest.raises(ValueError, match="out of range"):
        run(ix=np.array([1, 0]), order=np.array([0, 7]))
    with pytest.raises(TypeError, match="indices must be"):
        run(ix=indices.astype(np.int16))
    with pytest.raises(ValueError, match="widths"):
        run(ix=indices.astype(np.int32))
    with pytest.raises(ValueError, match="lengths"):
        run(ix=np.array([1, 0]), n=3)
    with pytest.raises(ValueError, match="damping"):
        run(ix=np.array([1, 0]), damping=1.0)
    assert run(ix=np.array([1, 0])) == 2  # both nodes reached
    assert run(ix=np.array([1, 0]), work=0) == -1  # over budget


def test_a_walk_order_must_be_a_permutation():
    walk = prepare_walk(transition(sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]))), np.array([0, 0]))
    with pytest.raises(ValueError, match="each node once"):
        assert walk.push_arrays is None


def test_without_the_compiled_loop_graph_mode_walks_by_power_iteration(monkeypatch, tmp_path: Path, sample_dir: Path):
    monkeypatch.setattr(graph_routes, "compiled", lambda: False)
    q = "Where was the founder of Harrow & Vale Construction born?"
    with Banyan(tmp_path / "idx", HASH) as bn:
        bn.index([sample_dir])
        hits = bn.search(q, mode="graph", k=2)
    assert {h.citation.title for h in hits} == {"Harrow & Vale Construction", "Thomas Harrow"}


@pytest.mark.parametrize("method", ["push", "power"])
def test_graph_mode_ranks_the_same_with_either_method(monkeypatch, tmp_path: Path, sample_dir: Path, method: str):
    if method == "push" and not compiled():
        pytest.skip("the C extension banyan.graph._push was not built")
    walked: list[str] = []
    for name in ("pagerank_from", "power_from"):
        real = getattr(graph_routes, name)
        monkeypatch.setattr(graph_routes, name, lambda *a, _real=real, _name=name, **k: walked.append(_name) or
                            _real(*a, **k))
    q = "Where was the founder of Harrow & Vale Construction born?"
    with Banyan(tmp_path / "idx", {**HASH, "graph": {"ppr_method": method}}) as bn:
        bn.index([sample_dir])
        hits = bn.search(q, mode="graph", k=2)
    assert {h.citation.title for h in hits} == {"Harrow & Vale Construction", "Thomas Harrow"}
    assert set(walked) == {"pagerank_from" if method == "push" else "power_from"}


def test_status_says_how_graph_mode_walks(monkeypatch, tmp_path: Path):
    with Banyan(tmp_path / "idx", {**HASH, "graph": {"ppr_method": "power"}}) as bn:
        assert bn.graph_walk() == "power (graph.ppr_method)"
    with Banyan(tmp_path / "idx2", HASH) as bn:
        assert bn.graph_walk() == ("push (compiled)" if compiled() else bn.graph_walk())
        monkeypatch.setattr(push, "compiled", lambda: False)
        assert bn.graph_walk().startswith("power: the compiled push loop was not built")
