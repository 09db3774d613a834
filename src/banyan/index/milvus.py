"""Milvus as the ANN backend (``vectors.backend = "milvus"``), through pymilvus.

With ``vectors.milvus_uri`` empty, pymilvus starts milvus-lite embedded (``<index>/vectors/milvus.db``,
served in-process over the same gRPC protocol); with ``http://host:19530`` (and ``milvus_token``) the
same code talks to a Milvus server or cluster. The collection is a copy, never the source of truth:
one row per chunk (``chunk_id`` VARCHAR primary key, ``vector`` FLOAT_VECTOR, HNSW index, inner
product), synced from the store's vectors when ``vectors_version`` changes:

- the chunk ids of the last synced version are kept in ``<index>/vectors/milvus-<slug>.json``; a
  new version deletes the chunks that left and inserts the ones that came (chunk ids are content
  hashes: a chunk's vector for one embedder never changes);
- with no such record, a record for another collection or server, or a collection whose row count
  disagrees with it, the collection is dropped and filled again from the store's vectors.

Syncing holds an OS lock on ``<index>/vectors/milvus-<slug>.lock`` so two processes on one index
never interleave their deletes and inserts. Searches return chunk ids, turned back into rows of the
memory-mapped cache, which rescores them exactly (``index.ann.AnnVectorIndex``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from banyan.errors import ConfigError
from banyan.index.vector_cache import VECTORS_DIR, CachedVectors, atomic_write, file_lock, model_slug

if TYPE_CHECKING:
    from banyan.settings import VectorSettings

log = logging.getLogger(__name__)

INSERT_BATCH = 2_000
DELETE_BATCH = 1_000
MAX_LIMIT = 16_384
"""Milvus's largest top-k"""
ID_FIELD, VECTOR_FIELD = "chunk_id", "vector"


def collection_name(index_dir: Path, model: str, configured: str = "") -> str:
    """``configured``, or ``banyan_<model>_<index folder hash>`` (letters, digits and underscores only)."""
    if configured:
        return configured
    where = hashlib.sha1(str(Path(index_dir).resolve()).encode()).hexdigest()[:10]
    return re.sub(r"[^A-Za-z0-9_]", "_", f"banyan_{model_slug(model)}_{where}")[:200]


class MilvusSearcher:
    """An ``AnnSearcher`` over a Milvus collection that mirrors one embedder's vectors."""

    name = "milvus"

    def __init__(self, client: Any, collection: str, ids: list[str], ef: int) -> None:
        self.client, self.collection, self._ids, self.ef = client, collection, ids, ef

    @cached_property
    def _rows(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self._ids)}

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        limit = min(count, MAX_LIMIT)
        hits = self.client.search(self.collection, data=[np.asarray(query, dtype=np.float32).tolist()], limit=limit,
                                  search_params={"metric_type": "IP", "params": {"ef": max(self.ef, limit)}})[0]
        rows = self._rows
        return np.fromiter((rows.get(h[ID_FIELD], -1) for h in hits), dtype=np.int64, count=len(hits))

    @classmethod
    def open(cls, cached: CachedVectors, s: VectorSettings, index_dir: Path, model: str) -> MilvusSearcher:
        """Connect (milvus-lite when ``milvus_uri`` is empty) and bring the collection in step with ``cached``."""
        try:
            from pymilvus import MilvusClient
            from pymilvus.exceptions import MilvusException
        except ImportError as exc:
            raise ConfigError("vectors.backend = milvus needs pymilvus: `pip install 'banyan-rag[milvus]'` "
                              "(pymilvus and milvus-lite), or set vectors.backend = hnsw") from exc
        vectors_dir = Path(index_dir) / VECTORS_DIR
        uri = s.milvus_uri or str(vectors_dir / "milvus.db")
        if not s.milvus_uri:
            vectors_dir.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {"uri": uri}
        if s.milvus_token:
            options["token"] = s.milvus_token
        if s.milvus_db:
            options["db_name"] = s.milvus_db
        collection = collection_name(index_dir, model, s.milvus_collection)
        try:
            client = MilvusClient(**options)
            sync = _Sync(client, collection, uri, vectors_dir / f"milvus-{model_slug(model)}", s)
            with file_lock(sync.lock):
                sync.run(cached)
        except MilvusException as exc:
            raise ConfigError(f"Milvus at {uri} (collection {collection}): {exc}; check vectors.milvus_uri and "
                              "vectors.milvus_token, or set vectors.backend = hnsw") from exc
        return cls(client, collection, cached.ids, s.hnsw_expansion_search)


class _Sync:
    """Makes one collection hold exactly the vectors of one ``CachedVectors``."""

    def __init__(self, client: Any, collection: str, uri: str, base: Path, s: VectorSettings) -> None:
        self.client, self.collection, self.uri, self.s = client, collection, uri, s
        self.record, self.lock = Path(f"{base}.json"), Path(f"{base}.lock")

    def run(self, cached: CachedVectors) -> None:
        started = time.perf_counter()
        last = self._last_record()
        exists = self.client.has_collection(self.collection)
        if exists and last is not None and last["version"] == cached.version and self._count() == len(cached.ids):
            self.client.load_collection(self.collection)  # idempotent; milvus-lite releases it with its process
            return
        if exists and last is not None and self._count() == len(last["ids"]):
            old, new = set(last["ids"]), set(cached.ids)
            gone = sorted(old - new)
            for i in range(0, len(gone), DELETE_BATCH):
                self.client.delete(self.collection, ids=gone[i:i + DELETE_BATCH])
            self._insert(cached, np.flatnonzero([cid not in old for cid in cached.ids]))
            how = f"-{len(gone)} +{len(new - old)}"
        else:
            if exists:
                self.client.drop_collection(self.collection)
            self._create(cached.matrix.shape[1])
            self._insert(cached, np.arange(len(cached.ids)))
            self._index()  # after the inserts: one build over everything
            how = "filled"
        self.client.flush(self.collection)
        self.client.load_collection(self.collection)
        record = {"uri": self.uri, "collection": self.collection, "version": cached.version, "ids": cached.ids}
        atomic_write(self.record, lambda f: f.write(json.dumps(record).encode("utf-8")))
        log.info("Milvus collection %s in step with vectors %s (%s, %.1f s)", self.collection, cached.version, how,
                 time.perf_counter() - started)

    def _last_record(self) -> dict[str, Any] | None:
        try:
            rec = json.loads(self.record.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("Milvus sync record %s is unreadable (%s); refilling the collection", self.record, exc)
            return None
        if not isinstance(rec, dict) or rec.get("uri") != self.uri or rec.get("collection") != self.collection:
            return None
        return rec if isinstance(rec.get("ids"), list) and isinstance(rec.get("version"), str) else None

    def _count(self) -> int:
        return int(self.client.get_collection_stats(self.collection).get("row_count", -1))

    def _create(self, dim: int) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID_FIELD, DataType.VARCHAR, is_primary=True, max_length=512)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=dim)
        self.client.create_collection(self.collection, schema=schema)

    def _index(self) -> None:
        params = self.client.prepare_index_params()
        params.add_index(VECTOR_FIELD, index_type="HNSW", metric_type="IP",
                         params={"M": self.s.hnsw_connectivity, "efConstruction": self.s.hnsw_expansion_add})
        self.client.flush(self.collection)
        self.client.create_index(self.collection, params, sync=False)  # load_collection waits for it

    def _insert(self, cached: CachedVectors, rows: np.ndarray) -> None:
        for i in range(0, len(rows), INSERT_BATCH):
            part = rows[i:i + INSERT_BATCH]
            block = np.asarray(cached.matrix[part], dtype=np.float32)
            self.client.insert(self.collection, [{ID_FIELD: cached.ids[r], VECTOR_FIELD: v}
                                                 for r, v in zip(part.tolist(), block.tolist(), strict=True)])
