"""Approximate nearest-neighbour search above a size threshold, exact below it.

``open_vector_index`` is the one entry point: it takes the store's vectors through the memory-mapped
cache (``index.vector_cache``) and returns an ``ExactVectorIndex`` when there are fewer than
``vectors.ann_threshold`` of them (or ``vectors.backend = "exact"``), otherwise an
``AnnVectorIndex`` whose candidates come from an ``AnnSearcher``:

- ``hnsw``: a usearch HNSW graph saved beside the cache (``<stem>.hnsw-M..-ef..-f16.usearch``) and
  memory-mapped by later processes; built from the cache when the store's vectors change.
- ``milvus``: a Milvus collection kept in step with the store (``index.milvus``).

Every candidate list is rescored with the exact float32 vectors, so scores are true cosines and
the ranking of what the ANN search found is exact. Access control (a boolean mask over the rows)
is honoured without trusting the ANN index to filter: a caller who sees fewer than
``ann_threshold`` chunks gets an exact search over exactly those rows; otherwise the ANN search
over-fetches by the inverse of the visible share, drops hidden rows, and widens (x4) until k
visible rows are found, falling back to the exact search over the visible rows past
``MAX_FETCH`` candidates. A restricted caller so never sees a hidden chunk and never gets fewer
than k results while k visible chunks exist.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from banyan.errors import ConfigError
from banyan.index.vector_cache import CachedVectors, EmbeddingSource, VectorCache, file_lock, temp_path
from banyan.index.vectors import ExactVectorIndex

if TYPE_CHECKING:
    from banyan.settings import VectorSettings

log = logging.getLogger(__name__)

MIN_FETCH = 64
"""candidates an ANN search fetches at least: exact rescoring of 64 rows costs next to nothing, and
stored-vector rounding (f16, i8) can push a true top-k row a few places down the approximate order"""
MAX_FETCH = 4096
"""the most candidates one ANN search asks for when a mask hides rows (then: exact over the visible rows)"""
ADD_BLOCK = 65_536
"""rows handed to the HNSW builder at a time (so a memory-mapped cache is read block by block)"""


class AnnSearcher(Protocol):
    """An approximate index over the rows of one ``CachedVectors``."""

    name: str

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        """Up to ``count`` candidate rows (int64), roughly best first."""
        ...


class AnnVectorIndex(ExactVectorIndex):
    """``ExactVectorIndex`` whose ``search`` takes its candidates from an ANN searcher."""

    def __init__(self, ids: list[str], matrix: np.ndarray, searcher: AnnSearcher, *, candidates: float = 2.0,
                 exact_below: int = 0) -> None:
        super().__init__(ids, matrix)
        self.searcher, self.candidates, self.exact_below = searcher, candidates, exact_below

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.searcher.name

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        if not self.ids or k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32)
        n = len(self.ids)
        visible = n if mask is None else int(np.count_nonzero(mask))
        if visible == 0:
            return []
        if mask is not None and (visible < self.exact_below or visible <= k):
            return self.search_rows(q, k, np.flatnonzero(mask))
        fetch = max(k, MIN_FETCH, math.ceil(k * self.candidates * n / visible))
        while True:
            rows = self.searcher.search(q, min(fetch, n))
            found = len(rows)
            rows = rows[(rows >= 0) & (rows < n)]  # an engine may hold ids this version has not (yet)
            if mask is not None:
                rows = rows[mask[rows]]
            if len(rows) >= k or mask is None:
                return self.rescore(q, rows, k)
            if found < min(fetch, n) or fetch >= MAX_FETCH:  # the searcher has nothing more, or too many hidden
                return self.search_rows(q, k, np.flatnonzero(mask))
            fetch = min(fetch * 4, MAX_FETCH)


class HnswSearcher:
    """A usearch HNSW index (inner product on normalized vectors = cosine), keyed by row number."""

    name = "hnsw"

    def __init__(self, index: Any, expansion_search: int) -> None:
        self.index = index
        index.expansion_search = expansion_search
        self._lock = threading.Lock()
        """one search at a time: concurrent single-threaded searches would share usearch's thread slot 0"""

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        # usearch widens ef to ``count`` itself when more results are asked for than ef
        with self._lock:
            return np.asarray(self.index.search(query, count, threads=1).keys, dtype=np.int64)

    @staticmethod
    def file_name(stem: Path, s: VectorSettings) -> Path:
        return Path(f"{stem}.hnsw-M{s.hnsw_connectivity}-ef{s.hnsw_expansion_add}-{s.hnsw_dtype}.usearch")

    @classmethod
    def open(cls, cached: CachedVectors, s: VectorSettings) -> HnswSearcher:
        """The HNSW index of ``cached``: memory-mapped from its file, or built (and saved) when there is
        none or it is damaged."""
        path = None if cached.stem is None else cls.file_name(cached.stem, s)
        if path is None:
            return cls(cls.build(cached.matrix, s, None), s.hnsw_expansion_search)
        index = cls._restore(path, cached.matrix.shape)
        if index is None:
            with file_lock(Path(f"{path}.lock")):  # one process builds; the others wait and map its file
                index = cls._restore(path, cached.matrix.shape) or cls.build(cached.matrix, s, path)
        return cls(index, s.hnsw_expansion_search)

    @staticmethod
    def _restore(path: Path, shape: tuple[int, ...]) -> Any:
        """The saved index memory-mapped, or None when there is none or it is damaged."""
        if not path.is_file():
            return None
        try:
            index = _usearch().Index.restore(str(path), view=True)
            if index is None or index.size != shape[0] or index.ndim != shape[1]:
                raise ValueError(f"{None if index is None else index.size} vectors, expected {shape[0]}")
            return index
        except (RuntimeError, ValueError, OSError) as exc:
            log.warning("HNSW index %s is damaged (%s); rebuilding it", path.name, exc)
            return None

    @staticmethod
    def build(matrix: np.ndarray, s: VectorSettings, path: Path | None) -> Any:
        """Build the index over every row of ``matrix``; save it to ``path`` (atomically) and map it back."""
        usearch_index = _usearch()
        rows, dim = matrix.shape
        started = time.perf_counter()
        index = usearch_index.Index(ndim=dim, metric="ip", dtype=s.hnsw_dtype, connectivity=s.hnsw_connectivity,
                                    expansion_add=s.hnsw_expansion_add)
        threads = s.build_threads or os.cpu_count() or 1
        for start in range(0, rows, ADD_BLOCK):
            block = np.ascontiguousarray(matrix[start:start + ADD_BLOCK], dtype=np.float32)
            index.add(np.arange(start, start + len(block), dtype=np.uint64), block, threads=threads)
        log.info("built HNSW over %d vectors in %.1f s", rows, time.perf_counter() - started)
        if path is None:
            return index
        tmp = temp_path(path)
        try:
            index.save(str(tmp))
            os.replace(tmp, path)
        except (OSError, RuntimeError) as exc:
            tmp.unlink(missing_ok=True)
            log.warning("could not save the HNSW index to %s (%s); keeping it in memory", path, exc)
            return index
        mapped = usearch_index.Index.restore(str(path), view=True)
        return index if mapped is None else mapped


def _usearch() -> Any:
    try:
        import usearch.index
    except ImportError as exc:
        raise ConfigError("vectors.backend = hnsw needs the usearch package (a dependency of banyan-rag): "
                          "`pip install usearch`, or set vectors.backend = exact") from exc
    return usearch.index


def open_vector_index(store: EmbeddingSource, model: str, index_dir: Path, s: VectorSettings,
                      version: str | None = None) -> ExactVectorIndex:
    """The vector index of ``model``'s vectors in ``store`` at ``version`` (default: the current one)."""
    version = store.vectors_version() if version is None else version
    cached = VectorCache(index_dir, model).load(store, version)
    rows = len(cached.ids)
    if s.backend == "exact" or rows == 0 or rows < s.ann_threshold:
        return ExactVectorIndex(cached.ids, cached.matrix)
    searcher: AnnSearcher
    if s.backend == "hnsw":
        searcher = HnswSearcher.open(cached, s)
    elif s.backend == "milvus":
        from banyan.index.milvus import MilvusSearcher

        searcher = MilvusSearcher.open(cached, s, index_dir, model)
    else:  # settings validate the name; a new backend must be added here
        raise ConfigError(f"vectors.backend: unknown backend {s.backend!r}; known: exact, hnsw, milvus")
    return AnnVectorIndex(cached.ids, cached.matrix, searcher, candidates=s.candidates, exact_below=s.ann_threshold)
