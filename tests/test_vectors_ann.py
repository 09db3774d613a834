"""The vector cache (memory-mapped, kept in step with the store) and the HNSW index above the threshold."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from banyan.eval.scale_bench import SyntheticCorpus, write_store
from banyan.index import vector_cache
from banyan.index.ann import AnnVectorIndex, HnswSearcher, open_vector_index
from banyan.index.vector_cache import VECTORS_DIR, VectorCache
from banyan.index.vectors import ExactVectorIndex
from banyan.settings import Settings, VectorSettings
from banyan.store import SQLiteStore

N, DIM = 3000, 64
HNSW = VectorSettings(backend="hnsw", ann_threshold=0)


@pytest.fixture(scope="module")
def corpus() -> SyntheticCorpus:
    return SyntheticCorpus(N, dim=DIM, seed=3)


@pytest.fixture
def index_dir(tmp_path: Path, corpus: SyntheticCorpus) -> Path:
    d = tmp_path / "idx"
    write_store(corpus, d)
    return d


@pytest.fixture
def store(index_dir: Path):
    st = SQLiteStore(index_dir)
    yield st
    st.close()


def _files(index_dir: Path) -> list[str]:
    return sorted(p.name for p in (index_dir / VECTORS_DIR).iterdir())


def test_settings_section_defaults_and_env(monkeypatch):
    s = Settings()
    assert (s.vectors.backend, s.vectors.ann_threshold) == ("hnsw", 50_000)
    monkeypatch.setenv("BANYAN_VECTORS__BACKEND", "milvus")
    monkeypatch.setenv("BANYAN_VECTORS__MILVUS_URI", "http://milvus:19530")
    s = Settings()
    assert (s.vectors.backend, s.vectors.milvus_uri) == ("milvus", "http://milvus:19530")


def test_cache_is_written_once_then_mapped_without_reading_the_store(store, index_dir, corpus, monkeypatch):
    first = open_vector_index(store, corpus.model, index_dir, VectorSettings())
    assert type(first) is ExactVectorIndex and len(first) == N  # below the threshold: exact
    names = _files(index_dir)
    assert [n.rsplit(".", 1)[1] for n in names] == ["ids", "json", "npy"] and not any(".tmp" in n for n in names)

    def no_sqlite(model):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(store, "load_embeddings", no_sqlite)
    second = open_vector_index(store, corpus.model, index_dir, VectorSettings())
    assert isinstance(second.matrix, np.memmap) or isinstance(second.matrix.base, np.memmap)
    assert second.ids == first.ids and np.array_equal(np.asarray(second.matrix), np.asarray(first.matrix))


def test_cache_follows_the_store_and_drops_old_versions(store, index_dir, corpus):
    old = open_vector_index(store, corpus.model, index_dir, HNSW)
    old_files = _files(index_dir)
    assert any(n.endswith(".usearch") for n in old_files)
    cid = old.ids[0]
    store.put_embeddings(corpus.model, [cid], -np.asarray(old.matrix[:1]))  # a vector changes in the store
    new = open_vector_index(store, corpus.model, index_dir, HNSW)
    assert np.allclose(new.matrix[0], -old.matrix[0])
    assert new.search(-np.asarray(old.matrix[0]), 1)[0][0] == cid
    assert not set(old_files) & set(_files(index_dir))  # every file of the old version is gone
    assert sorted(n.split(".", 2)[2] for n in _files(index_dir)) == [
        "hnsw-M32-ef128-f16.usearch", "hnsw-M32-ef128-f16.usearch.lock", "ids", "json", "npy"]


def test_damaged_or_foreign_cache_is_rebuilt_not_an_error(store, index_dir, corpus, caplog):
    good = open_vector_index(store, corpus.model, index_dir, HNSW)
    want = good.search(corpus.queries(1)[1][0], 10)
    stem = VectorCache(index_dir, corpus.model).stem(store.vectors_version())
    Path(f"{stem}.npy").write_bytes(b"\x93NUMPY garbage")
    usearch_file = HnswSearcher.file_name(stem, HNSW)
    usearch_file.write_bytes(b"not an index")
    with caplog.at_level(logging.WARNING):
        again = open_vector_index(store, corpus.model, index_dir, HNSW)
    assert "damaged" in caplog.text
    assert again.search(corpus.queries(1)[1][0], 10) == want
    # a manifest from another store (deleted and re-created: version counters restart) is not trusted
    manifest = Path(f"{stem}.json")
    manifest.write_text(manifest.read_text().replace('"store": "', '"store": "other'))
    assert VectorCache(index_dir, corpus.model)._read(store.vectors_version()) is None


def test_unwritable_cache_searches_from_memory(store, index_dir, corpus, monkeypatch, caplog):
    def fail(path, write):
        raise PermissionError(13, "read-only file system", str(path))

    monkeypatch.setattr(vector_cache, "atomic_write", fail)
    with caplog.at_level(logging.WARNING):
        index = open_vector_index(store, corpus.model, index_dir, VectorSettings())
    assert len(index) == N and "could not write the vector cache" in caplog.text


def test_threshold_picks_exact_below_and_hnsw_above(store, index_dir, corpus):
    assert type(open_vector_index(store, corpus.model, index_dir, VectorSettings(ann_threshold=N + 1))) \
        is ExactVectorIndex
    assert type(open_vector_index(store, corpus.model, index_dir, VectorSettings(backend="exact",
                                                                                 ann_threshold=0))) is ExactVectorIndex
    ann = open_vector_index(store, corpus.model, index_dir, VectorSettings(ann_threshold=N))
    assert isinstance(ann, AnnVectorIndex) and ann.kind == "hnsw"


def test_hnsw_recall_and_exact_scores(store, index_dir, corpus):
    exact = open_vector_index(store, corpus.model, index_dir, VectorSettings(backend="exact"))
    ann = open_vector_index(store, corpus.model, index_dir, HNSW)
    _, queries = corpus.queries(100)
    recall = []
    for q in queries:
        want, got = exact.search(q, 10), ann.search(q, 10)
        recall.append(len({c for c, _ in want} & {c for c, _ in got}) / 10)
        assert np.allclose([s for _, s in got], exact.scores(q, [c for c, _ in got]), atol=1e-5)
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    assert np.mean(recall) >= 0.95
    assert ann.scores(queries[0], ["missing", exact.ids[5]])[0] == 0.0


def test_hnsw_file_is_reused_by_the_next_process(store, index_dir, corpus, monkeypatch):
    open_vector_index(store, corpus.model, index_dir, HNSW)
    path = HnswSearcher.file_name(VectorCache(index_dir, corpus.model).stem(store.vectors_version()), HNSW)
    mtime = path.stat().st_mtime_ns

    def no_build(*args):
        raise AssertionError("the saved HNSW file should have been mapped")

    monkeypatch.setattr(HnswSearcher, "build", staticmethod(no_build))
    again = open_vector_index(store, corpus.model, index_dir, HNSW)
    assert path.stat().st_mtime_ns == mtime and len(again.search(corpus.queries(1)[1][0], 5)) == 5


@pytest.mark.parametrize("share", [0.5, 0.1, 0.01])
def test_masked_search_returns_only_visible_chunks_and_k_of_them(store, index_dir, corpus, share):
    exact = open_vector_index(store, corpus.model, index_dir, VectorSettings(backend="exact"))
    ann = open_vector_index(store, corpus.model, index_dir, VectorSettings(backend="hnsw", ann_threshold=100))
    mask = np.random.default_rng(5).random(N) < share
    visible = {c for c, m in zip(exact.ids, mask, strict=True) if m}
    recall = []
    for q in corpus.queries(30)[1]:
        want, got = exact.search(q, 10, mask=mask), ann.search(q, 10, mask=mask)
        assert {c for c, _ in got} <= visible and len(got) == min(10, len(visible))
        recall.append(len({c for c, _ in want} & {c for c, _ in got}) / len(want))
        if len(visible) < 100:  # fewer visible chunks than the threshold: exact over exactly those
            assert [c for c, _ in got] == [c for c, _ in want]
            assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-6)
    assert np.mean(recall) >= 0.9
    assert ann.search(corpus.queries(1)[1][0], 10, mask=np.zeros(N, bool)) == []


def test_importing_banyan_loads_no_vector_engine():
    code = ("import sys, banyan, banyan.api, banyan.app.view, banyan.index.ann; "
            "print([m for m in sys.modules if m.split('.')[0] in ('usearch', 'pymilvus', 'faiss', 'milvus_lite')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_hnsw_concurrent_searches_match_sequential_ones(store, index_dir, corpus):
    from concurrent.futures import ThreadPoolExecutor

    ann = open_vector_index(store, corpus.model, index_dir, HNSW)
    queries = list(corpus.queries(40)[1])
    want = [ann.search(q, 10) for q in queries]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda q: ann.search(q, 10), queries * 3)) == want * 3
