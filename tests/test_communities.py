"""Dual-perception community detection: planted partitions, determinism, nesting, comparison."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from banyan.graph.communities import (
    DualParams,
    coherence,
    compare,
    dual_perception,
    leiden,
    modularity,
    random_coherence,
    semantic_vectors,
    split_disconnected,
)


def planted(seed: int = 0, k: int = 10, size: int = 30, p_in: float = 0.3, p_out: float = 0.01, noise: float = 0.8):
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(k), size)
    n = len(truth)
    prob = np.where(truth[:, None] == truth[None, :], p_in, p_out)
    a = np.triu((rng.random((n, n)) < prob).astype(float), 1)
    centers = rng.normal(size=(k, 32))
    v = centers[truth] + noise * rng.normal(size=(n, 32))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return sp.csr_matrix(a + a.T), v.astype(np.float32), truth


PARAMS = DualParams(lam=0.5, threshold=0.35, size_cap=200, init_size=8, max_levels=4, seed=0)


def test_planted_partition_is_recovered():
    adj, vecs, truth = planted()
    levels = dual_perception(adj, vecs, PARAMS)
    assert max(adjusted_rand_score(truth, lv) for lv in levels) >= 0.9
    assert adjusted_rand_score(truth, levels[0]) >= 0.9


def test_deterministic_for_a_seed_and_levels_nest():
    adj, vecs, _ = planted(seed=3)
    a = dual_perception(adj, vecs, PARAMS)
    b = dual_perception(adj, vecs, PARAMS)
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
    assert len(a) >= 2
    for fine, coarse in itertools.pairwise(a):
        assert coarse.max() < fine.max()  # merging only ever reduces the number of communities
        for c in np.unique(fine):  # every fine community sits inside exactly one coarse community
            assert len(np.unique(coarse[fine == c])) == 1


def test_unconnected_entities_never_share_a_community():
    """Two documents about unrelated things whose entity names look alike: same vectors, no edge
    between them. Semantics alone would group them; every community must be connected."""
    clique = np.ones((4, 4)) - np.eye(4)
    adj = sp.csr_matrix(sp.block_diag([clique, clique]))
    vecs = np.tile(np.eye(8, dtype=np.float32)[0], (8, 1))
    levels = dual_perception(adj, vecs, DualParams(lam=0.2, threshold=0.0, size_cap=100, init_size=8,
                                                   max_levels=3, seed=0))
    for lv in levels:
        assert set(lv[:4]).isdisjoint(lv[4:])
    assert list(split_disconnected(adj, np.zeros(8, dtype=np.int64))) == [0, 0, 0, 0, 1, 1, 1, 1]


def test_size_cap_is_respected():
    adj, vecs, _ = planted(seed=1)
    capped = DualParams(lam=0.5, threshold=0.0, size_cap=45, init_size=8, max_levels=6, seed=0)
    for lv in dual_perception(adj, vecs, capped)[1:]:
        assert np.bincount(lv).max() <= 45


def test_metrics():
    adj, vecs, truth = planted()
    assert modularity(adj, truth) > modularity(adj, np.zeros(len(truth), dtype=np.int64))
    assert modularity(adj, np.zeros(len(truth), dtype=np.int64)) == pytest.approx(0.0, abs=1e-9)
    assert coherence(vecs, truth) > random_coherence(vecs, truth) + 0.2
    lab = leiden(adj)
    assert adjusted_rand_score(truth, lab) >= 0.9


def test_compare_reports_both_algorithms():
    adj, vecs, _ = planted()
    out = compare(adj, vecs, PARAMS)
    for name in ("dual", "leiden"):
        r = out[name]
        assert {"n_communities", "sizes", "modularity", "coherence", "random_coherence", "seconds"} <= set(r)
        assert r["coherence"][-1] > r["random_coherence"][-1]
    assert semantic_vectors(adj, vecs).shape == vecs.shape


def test_cli_build_list_show_on_the_sample_corpus(tmp_path, sample_dir, monkeypatch):
    import json

    from typer.testing import CliRunner

    from banyan.cli import app

    monkeypatch.setenv("BANYAN_EMBEDDING__BACKEND", "hash")
    runner = CliRunner()
    idx = str(tmp_path / "idx")
    assert runner.invoke(app, ["index", str(sample_dir), "--index", idx]).exit_code == 0
    assert runner.invoke(app, ["communities", "list", "--index", idx]).exit_code != 0  # nothing built yet
    res = runner.invoke(app, ["communities", "build", "--index", idx])
    assert res.exit_code == 0, res.output
    listed = runner.invoke(app, ["communities", "list", "--index", idx]).stdout.splitlines()
    assert listed
    cid = listed[0].split()[0]
    shown = json.loads(runner.invoke(app, ["communities", "show", cid, "--index", idx, "--json"]).stdout)
    assert shown["keywords"] and shown["members"] and shown["size"] >= 2
    assert all(ev["chunk_id"] and ev["text"] for ev in shown["report"]["evidence"])
    listed = json.loads(runner.invoke(app, ["communities", "list", "--index", idx, "--json"]).stdout)
    assert listed[0]["id"] == shown["id"] or any(c["id"] == shown["id"] for c in listed)
    res = runner.invoke(app, ["communities", "build", "--index", idx, "--communities", "leiden"])
    assert res.exit_code == 0 and "1 levels" in res.output


def test_community_route_returns_member_chunks(tmp_path, sample_dir):
    from typer.testing import CliRunner

    from banyan import Banyan
    from banyan.cli import app

    idx = tmp_path / "idx"
    with Banyan(idx, {"embedding": {"backend": "hash"}}) as bn:
        bn.index([sample_dir])
    assert CliRunner().invoke(app, ["communities", "build", "--index", str(idx)]).exit_code == 0
    with Banyan(idx, {"embedding": {"backend": "hash"}}) as bn:
        graph = bn.view.graph()
        hits = graph.community_route(bn.view.query("青石桥 林文远 临江市"), k=5)
        assert hits and all(h.routes == ("community",) for h in hits)
        assert bn.search("Who designed the Lumen Bridge?", mode="graph", k=3)
    # a mode declared in settings alone: the community route by itself
    custom = {"embedding": {"backend": "hash"}, "retrieval": {"modes": {"community": {"routes": {"community": 1.0}}}}}
    with Banyan(idx, custom) as bn:
        found = bn.search("青石桥 林文远 临江市", mode="community", k=5)
        assert found and all(r.routes == ("community",) for r in found)


def test_llm_community_reports_are_cached_and_stored(tmp_path, sample_dir, monkeypatch):
    import json

    from typer.testing import CliRunner

    from banyan import Banyan
    from banyan.cli import app
    from fake_openai import FakeOpenAI

    idx = tmp_path / "idx"
    with Banyan(idx, {"embedding": {"backend": "hash"}}) as bn:
        bn.index([sample_dir])
    reply = {"content": json.dumps({"title": "Bridges of Eastport", "summary": "Built by Harrow & Vale [x]."})}
    runner = CliRunner()
    with FakeOpenAI(lambda req: reply) as srv:
        monkeypatch.setenv("BANYAN_LLM_BASE_URL", srv.base_url)
        args = ["communities", "build", "--index", str(idx), "--llm-reports", "--llm", "test-model"]
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        calls = len(srv.requests)
        assert calls >= 1 and "failed" in res.output
        assert runner.invoke(app, args).exit_code == 0
        assert len(srv.requests) == calls  # the second build is answered from the cache
    cid = runner.invoke(app, ["communities", "list", "--index", str(idx)]).stdout.split()[0]
    shown = json.loads(runner.invoke(app, ["communities", "show", cid, "--index", str(idx), "--json"]).stdout)
    assert shown["report"]["llm_title"] == "Bridges of Eastport"
    usage = json.loads(runner.invoke(app, ["usage", "--index", str(idx), "--json"]).stdout)
    assert any(s["stage"] == "community-report" for s in usage["stages"])
