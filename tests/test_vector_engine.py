"""The same retrieval assertions for every vector backend: exact, the embedded HNSW index and Milvus
(through milvus-lite, the embedded form of the engine that the same client uses for a cluster)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from banyan import Banyan
from banyan.eval.scale_bench import SyntheticCorpus
from banyan.index.ann import AnnVectorIndex
from banyan.index.milvus import collection_name
from banyan.index.vector_cache import VECTORS_DIR, model_slug
from banyan.types import Access

BACKENDS = ("exact", "hnsw", "milvus")
TEAM, BOB = Access.of("carol", "team"), Access.of("bob")


def _settings(backend: str) -> dict:
    # float32 storage and a one-thread build: the HNSW graph is the same on every run (a multi-threaded
    # build is not), so the equality assertions below test the wiring, not the luck of approximation
    return {"embedding": {"backend": "hash"}, "graph": {"enabled": False},
            "vectors": {"backend": backend, "ann_threshold": 0, "hnsw_dtype": "f32", "build_threads": 1}}


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    """40 public and 6 restricted files of synthetic paragraphs (a few hundred chunks)."""
    root = tmp_path_factory.mktemp("engine")
    gen = SyntheticCorpus(1400, dim=32, seed=11)
    texts = [t for _, batch, _ in gen.batches(1400) for t in batch]
    for folder, files in (("public", range(40)), ("team", range(40, 46))):
        (root / folder).mkdir()
        for f in files:
            paras = texts[f * 30:(f + 1) * 30]
            (root / folder / f"doc{f:02d}.md").write_text(f"# Document {f}\n\n" + "\n\n".join(paras), "utf-8")
    (root / "extra").mkdir()
    (root / "extra" / "late.md").write_text("# Late\n\n" + "\n\n".join(texts[1380:1400]), "utf-8")
    return root


@pytest.fixture(scope="module")
def queries() -> list[str]:
    return SyntheticCorpus(1400, dim=32, seed=11).queries(12)[0]


@pytest.fixture(scope="module")
def indexes(corpus_dir, tmp_path_factory) -> dict[str, Banyan]:
    out = {}
    for backend in BACKENDS:
        bn = Banyan(tmp_path_factory.mktemp(backend) / "idx", _settings(backend))
        bn.index([corpus_dir / "public"])
        bn.index([corpus_dir / "team"], allow=["team"])
        out[backend] = bn
    yield out
    for bn in out.values():
        bn.close()


def _ids(bn: Banyan, query: str, mode: str = "dense", access: Access | None = None, k: int = 5) -> list[str]:
    return [r.citation.chunk_id for r in bn.search(query, mode=mode, k=k, access=access)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_is_used(indexes, backend):
    vectors = indexes[backend].view.vectors()
    assert len(vectors) > 200
    assert (type(vectors).__name__ == "ExactVectorIndex") if backend == "exact" else \
        (isinstance(vectors, AnnVectorIndex) and vectors.kind == backend)


@pytest.mark.parametrize("backend", ["hnsw", "milvus"])
@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_same_top_results_as_exact(indexes, queries, backend, mode):
    for q in queries:
        want = indexes["exact"].search(q, mode=mode, k=5)
        got = indexes[backend].search(q, mode=mode, k=5)
        assert [r.citation.chunk_id for r in got] == [r.citation.chunk_id for r in want]
        assert [round(r.score, 5) for r in got] == [round(r.score, 5) for r in want]


@pytest.mark.parametrize("backend", BACKENDS)
def test_restricted_callers_see_only_their_chunks(indexes, queries, backend):
    bn = indexes[backend]
    team_chunks = {r.citation.chunk_id for q in queries for r in bn.search(q, mode="dense", k=50, access=TEAM)
                   if "/team/" in r.citation.source}
    assert team_chunks  # the team sees its files
    for q in queries:
        for mode in ("dense", "hybrid"):
            hits = bn.search(q, mode=mode, k=10, access=BOB)
            assert len(hits) == 10 and not any("/team/" in r.citation.source for r in hits)
            assert _ids(bn, q, mode, BOB, 10) == _ids(indexes["exact"], q, mode, BOB, 10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_follows_added_and_removed_files(indexes, corpus_dir, backend):
    bn = indexes[backend]
    late = (corpus_dir / "extra" / "late.md").read_text("utf-8").split("\n\n")[3]
    bn.index([corpus_dir / "extra"])
    top = bn.search(late, mode="dense", k=1)[0]
    assert top.citation.source.endswith("late.md") and top.score > 0.9
    bn.remove(corpus_dir / "extra")
    assert not any(r.citation.source.endswith("late.md") for r in bn.search(late, mode="dense", k=20))


def test_milvus_collection_is_kept_in_step_incrementally(indexes, corpus_dir):
    bn = indexes["milvus"]
    model = bn.view.embedder().name
    record = bn.index_dir / VECTORS_DIR / f"milvus-{model_slug(model)}.json"
    before = json.loads(record.read_text())
    bn.index([corpus_dir / "extra"])
    vectors = bn.view.vectors()
    after = json.loads(record.read_text())
    assert after["version"] == bn.store.vectors_version() != before["version"]
    assert sorted(after["ids"]) == sorted(vectors.ids) and len(after["ids"]) > len(before["ids"])
    client, name = vectors.searcher.client, collection_name(bn.index_dir, model)
    assert after["collection"] == name
    assert int(client.get_collection_stats(name)["row_count"]) == len(vectors)
    bn.remove(corpus_dir / "extra")
    bn.view.vectors()
    assert int(client.get_collection_stats(name)["row_count"]) == len(before["ids"])
