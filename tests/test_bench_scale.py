"""`banyan bench scale`, short: every backend side by side on 2,000 synthetic chunks (behaviour only, no
timing asserts)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from banyan.cli_bench import bench_scale
from banyan.eval.scale_bench import SyntheticCorpus, run_scale_bench


def test_synthetic_corpus_is_seeded_and_normalized():
    a, b = SyntheticCorpus(500, dim=32, seed=1), SyntheticCorpus(500, dim=32, seed=1)
    (ids_a, texts_a, vecs_a), = list(a.batches())
    (ids_b, texts_b, vecs_b), = list(b.batches())
    assert ids_a == ids_b and texts_a == texts_b and np.array_equal(vecs_a, vecs_b)
    assert len(set(ids_a)) == 500 and np.allclose(np.linalg.norm(vecs_a, axis=1), 1.0, atol=1e-5)
    assert len(texts_a[0].split()) == 40


def test_bench_scale_cli_prints_every_backend_and_writes_json(tmp_path):
    app = typer.Typer()
    app.command()(bench_scale)
    out = tmp_path / "scale.json"
    res = CliRunner().invoke(app, ["--chunks", "2000", "--backends", "exact,hnsw,milvus", "--queries", "40",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    for word in ("exact", "hnsw", "milvus", "recall@10", "p50 ms", "per 100k"):
        assert word in res.output
    data = json.loads(out.read_text())
    assert data["chunks"] == 2000 and data["queries"] == 40
    rows = {r["backend"]: r for r in data["backends"]}
    assert list(rows) == ["exact", "hnsw", "milvus"] and all(r["vectors"] == 2000 for r in rows.values())
    assert rows["exact"]["recall_at_10"] == 1.0
    assert rows["hnsw"]["recall_at_10"] >= 0.95 and rows["milvus"]["recall_at_10"] >= 0.95
    assert all(r["p95_ms"] >= r["p50_ms"] > 0 and r["peak_search_mb"] > 0 for r in rows.values())
    assert [r["ef"] for r in data["sweep"]] == [64, 128, 256, 512]


def test_bench_scale_rejects_unknown_backends():
    with pytest.raises(ValueError, match="unknown backends"):
        run_scale_bench(100, ["exact", "faiss"])
