"""`banyan bench scale`: vector storage and search at N chunks, for each vector backend side by side.

Storage and search scale, not retrieval quality. The corpus is synthetic and seeded: pseudo-words,
topics of 120 words each, a chunk = 40 words (60% from its topic, 40% Zipf background). The
embedder is a seeded bag of word vectors: each word has a fixed 384-d vector (a 48-d latent factor
projected up, plus noise, so that vectors have the low intrinsic dimension of real text embeddings),
a chunk's vector is the normalized sum of its words' vectors. It embeds a million chunks in
seconds, so what is timed is the store and the indexes.

Phases, each timed:

1. **store**: write N chunks (documents of 50 chunks) and their vectors into a real ``SQLiteStore``
   through ``replace_file`` and ``put_embeddings``, as ``banyan index`` does after embedding.
2. **cache**: the read side's first open: vectors read from SQLite into the memory-mapped ``.npy``
   cache (``index.vector_cache``), once for every backend.
3. per backend, in a **fresh process**: ``open_vector_index`` builds the backend from the cache
   (exact: nothing; hnsw: the usearch graph; milvus: the collection, milvus-lite unless a URI is
   given); then a second fresh process opens it from disk (cold open) and runs the queries, one
   at a time, k = 10. Peak memory is that process's peak RSS (``getrusage`` ``ru_maxrss``), which
   counts the pages of memory-mapped files it touched.

Recall@10 is the share of exact search's top 10 that a backend returns, over the same queries.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from banyan.index.ann import HnswSearcher, open_vector_index
from banyan.index.vector_cache import VectorCache
from banyan.settings import VectorSettings
from banyan.store import SQLiteStore
from banyan.types import Chunk, Document

BACKENDS = ("exact", "hnsw", "milvus")
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
CHUNK_WORDS, QUERY_WORDS, TOPIC_WORDS, LATENT = 40, 10, 120, 48
DOC_CHUNKS, FILE_CHUNKS = 50, 10_000
EF_SWEEP = (64, 128, 256, 512)


class SyntheticCorpus:
    """Seeded synthetic chunks and queries with their vectors (see the module docstring)."""

    def __init__(self, n: int, *, dim: int = 384, seed: int = 7, vocab: int = 30_000) -> None:
        rng = np.random.default_rng(seed)
        self.n, self.dim, self.seed, self.vocab_size = n, dim, seed, vocab
        self.words = [self._word(i) for i in range(vocab)]
        self.topics = rng.integers(0, vocab, (max(20, n // 400), TOPIC_WORDS))
        latent = rng.standard_normal((vocab, LATENT)) @ rng.standard_normal((LATENT, dim)) / np.sqrt(LATENT)
        self.word_vectors = (latent + 0.3 * rng.standard_normal((vocab, dim))).astype(np.float32)
        zipf = 1.0 / np.arange(1, vocab + 1) ** 1.1
        self.background = zipf / zipf.sum()
        self.model = f"synthetic:{dim}:{seed}"

    @staticmethod
    def _word(i: int) -> str:
        out = [SYLLABLES[i % len(SYLLABLES)]]
        while i >= len(SYLLABLES):
            i //= len(SYLLABLES)
            out.append(SYLLABLES[i % len(SYLLABLES)])
        return "".join(out)

    def _draw(self, rng: np.random.Generator, rows: int, length: int) -> np.ndarray:
        topic = rng.integers(0, len(self.topics), rows)
        own = self.topics[topic[:, None], rng.integers(0, TOPIC_WORDS, (rows, length))]
        return np.where(rng.random((rows, length)) < 0.6, own, rng.choice(self.vocab_size, (rows, length),
                                                                          p=self.background))

    def embed(self, words: np.ndarray) -> np.ndarray:
        vecs = np.zeros((len(words), self.dim), np.float32)
        for j in range(words.shape[1]):
            vecs += self.word_vectors[words[:, j]]
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)

    def text(self, words: np.ndarray) -> str:
        return " ".join(self.words[w] for w in words)

    def chunk_id(self, i: int) -> str:
        return hashlib.blake2b(f"{self.seed}:{i}".encode(), digest_size=8).hexdigest()

    def batches(self, size: int = FILE_CHUNKS) -> Iterator[tuple[list[str], list[str], np.ndarray]]:
        """(chunk ids, texts, vectors) of every chunk, ``size`` at a time."""
        rng = np.random.default_rng(self.seed + 1)
        for start in range(0, self.n, size):
            words = self._draw(rng, min(size, self.n - start), CHUNK_WORDS)
            yield ([self.chunk_id(i) for i in range(start, start + len(words))], [self.text(w) for w in words],
                   self.embed(words))

    def queries(self, count: int) -> tuple[list[str], np.ndarray]:
        words = self._draw(np.random.default_rng(self.seed + 2), count, QUERY_WORDS)
        return [self.text(w) for w in words], self.embed(words)


def write_store(corpus: SyntheticCorpus, index_dir: Path, log: Callable[[str], None] = lambda m: None) -> None:
    """Write every chunk and vector of ``corpus`` into a new store in ``index_dir``."""
    store = SQLiteStore(index_dir)
    try:
        for f, (ids, texts, vectors) in enumerate(corpus.batches()):
            docs, chunks = [], []
            for d in range(0, len(ids), DOC_CHUNKS):
                part = texts[d:d + DOC_CHUNKS]
                doc = Document.create(f"synthetic/{f}.txt", f"Synthetic {f}.{d // DOC_CHUNKS}", "\n\n".join(part))
                docs.append(doc)
                start = 0
                for o, text in enumerate(part):
                    chunks.append(Chunk(ids[d + o], doc.id, o, text, start, start + len(text), "en", CHUNK_WORDS))
                    start += len(text) + 2
            store.replace_file(f"synthetic/{f}.txt", f"hash{f}", docs, chunks)
            store.put_embeddings(corpus.model, ids, vectors)
            if f % 10 == 9:
                log(f"stored {min((f + 1) * FILE_CHUNKS, corpus.n):,} chunks")
    finally:
        store.close()


@dataclass
class BackendResult:
    backend: str
    vectors: int
    build_s: float
    """building the backend from the vector cache (exact: nothing to build)"""
    open_s: float
    """a fresh process opening the built backend from disk (cold open)"""
    p50_ms: float
    p95_ms: float
    recall_at_10: float | None
    peak_build_mb: float
    peak_search_mb: float
    ef: int | None = None
    note: str = ""

    def per_100k(self, seconds: float) -> float:
        return seconds * 100_000 / max(self.vectors, 1)


@dataclass
class ScaleBenchResult:
    chunks: int
    dim: int
    queries: int
    store_s: float
    store_peak_mb: float
    cache_s: float
    cache_peak_mb: float
    backends: list[BackendResult] = field(default_factory=list)
    sweep: list[BackendResult] = field(default_factory=list)
    """hnsw at other ef (search-time candidates): recall against latency, same graph"""
    settings: dict[str, Any] = field(default_factory=dict)
    cpus: int = 0

    def per_100k(self, seconds: float) -> float:
        return seconds * 100_000 / max(self.chunks, 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _cache_phase(index_dir: str, model: str) -> dict[str, float]:
    store = SQLiteStore(Path(index_dir), create=False)
    started = time.perf_counter()
    VectorCache(Path(index_dir), model).load(store, store.vectors_version())
    store.close()
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}


def _backend_phase(index_dir: str, model: str, settings: dict[str, Any], queries: np.ndarray | None,
                   sweep: Sequence[int]) -> dict[str, Any]:
    """Open (build or load) one backend; with ``queries``, time them one at a time."""
    s = VectorSettings(**settings)
    store = SQLiteStore(Path(index_dir), create=False)
    started = time.perf_counter()
    index = open_vector_index(store, model, Path(index_dir), s)
    out: dict[str, Any] = {"seconds": time.perf_counter() - started, "vectors": len(index), "kind": index.kind}
    if queries is not None:
        for q in queries[:5]:  # warm-up: first touches of the memory map, connection set-up
            index.search(q, 10)
        out["runs"] = [_timed(index, queries)]
        searcher = getattr(index, "searcher", None)
        if isinstance(searcher, HnswSearcher):
            for ef in sweep:
                searcher.index.expansion_search = ef
                out["runs"].append(_timed(index, queries) | {"ef": ef})
    store.close()
    out["peak_mb"] = _peak_mb()
    return out


def _timed(index: Any, queries: np.ndarray) -> dict[str, Any]:
    lat, top = [], []
    for q in queries:
        t0 = time.perf_counter()
        hits = index.search(q, 10)
        lat.append((time.perf_counter() - t0) * 1000)
        top.append([cid for cid, _ in hits])
    return {"p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)), "top": top}


def _in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(*args)`` in a new interpreter (spawn): its peak memory is its own."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(fn, args)


def run_scale_bench(chunks: int, backends: Sequence[str] = ("exact", "hnsw"), *, queries: int = 200,
                    workdir: Path | None = None, keep: bool = False, settings: dict[str, Any] | None = None,
                    seed: int = 7, dim: int = 384, log: Callable[[str], None] = lambda m: None) -> ScaleBenchResult:
    """Run every phase; ``workdir`` (default: a temporary folder) holds the store and the indexes."""
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        raise ValueError(f"unknown backends {unknown}: --backends takes {', '.join(BACKENDS)}")
    if chunks < 10:
        raise ValueError("--chunks must be at least 10")
    base = VectorSettings(**(settings or {})).model_dump()
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="banyan-bench-scale-"))
    index_dir = root / "index"
    if index_dir.exists():
        shutil.rmtree(index_dir)
    try:
        corpus = SyntheticCorpus(chunks, dim=dim, seed=seed)
        _, qvecs = corpus.queries(queries)
        log(f"writing {chunks:,} synthetic chunks and {dim}-d vectors into {index_dir}")
        started = time.perf_counter()
        write_store(corpus, index_dir, log)
        store_s = time.perf_counter() - started
        result = ScaleBenchResult(chunks, dim, queries, store_s, _peak_mb(), 0.0, 0.0, settings=base,
                                  cpus=os.cpu_count() or 1)
        log(f"stored in {store_s:.1f} s; reading vectors from SQLite into the memory-mapped cache")
        cache = _in_fresh_process(_cache_phase, str(index_dir), corpus.model)
        result.cache_s, result.cache_peak_mb = cache["seconds"], cache["peak_mb"]
        exact_top: list[list[str]] | None = None
        for name in sorted(backends, key=lambda b: b != "exact"):  # exact first: it is the recall reference
            cfg = {**base, "backend": name, "ann_threshold": 0}
            log(f"{name}: building")
            built = _in_fresh_process(_backend_phase, str(index_dir), corpus.model, cfg, None, ())
            log(f"{name}: built in {built['seconds']:.1f} s; searching from a fresh process")
            ran = _in_fresh_process(_backend_phase, str(index_dir), corpus.model, cfg, qvecs,
                                    EF_SWEEP if name == "hnsw" else ())
            if name == "exact":
                exact_top = ran["runs"][0]["top"]
            for i, run in enumerate(ran["runs"]):
                row = BackendResult(name, built["vectors"], built["seconds"] if name != "exact" else 0.0,
                                    ran["seconds"], run["p50"], run["p95"], _recall(run["top"], exact_top),
                                    built["peak_mb"], ran["peak_mb"],
                                    run.get("ef", cfg["hnsw_expansion_search"]) if name in ("hnsw", "milvus")
                                    else None)
                (result.backends if i == 0 else result.sweep).append(row)
        return result
    finally:
        if not keep and workdir is None:
            shutil.rmtree(root, ignore_errors=True)


def _recall(top: list[list[str]], exact: list[list[str]] | None) -> float | None:
    if exact is None:
        return None
    return float(np.mean([len(set(a[:10]) & set(e[:10])) / max(1, min(10, len(e))) for a, e in zip(top, exact,
                                                                                                     strict=True)]))

