"""The vectors of one embedder as a memory-mapped file beside the store, kept in step with it.

The store (SQLite) stays the source of truth. A reader that finds no cache for the store's current
``vectors_version`` reads the vectors from the store once and writes::

    <index>/vectors/<model-slug>@<version>.npy    float32 rows, L2-normalized, in chunk-id order
    <index>/vectors/<model-slug>@<version>.ids    the chunk id of each row (JSON list)
    <index>/vectors/<model-slug>@<version>.json   the manifest: written last, so its presence means
                                                  the other two are complete

Each file is written to a temporary name and renamed into place, so no reader ever opens a
half-written file. Later processes map the ``.npy`` file instead of reading every vector from
SQLite (a cold start answers in milliseconds), and ANN indexes built from it (``index.ann``)
live beside it under the same stem. A missing, stale or damaged cache is rebuilt, never an
error; an index folder that cannot be written to is searched from memory. Files of older
versions are deleted once a newer one is in place (a process that still maps one keeps reading
it: the data stays until it unmaps it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from banyan.store import DB_FILE

try:
    import fcntl
except ImportError:  # Windows: no flock; two processes may then build the same file (the last rename wins)
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

VECTORS_DIR = "vectors"
FORMAT = 1
STALE_TMP_S = 3600.0
"""temporary files older than this are left over from a killed process and are deleted"""


class EmbeddingSource(Protocol):
    """The store reads the cache needs."""

    def load_embeddings(self, model: str) -> tuple[list[str], np.ndarray]:
        ...

    def vectors_version(self) -> str:
        ...


@dataclass(frozen=True)
class CachedVectors:
    ids: list[str]
    matrix: np.ndarray
    """float32, one row per id: a read-only memory map, or an in-memory array when the cache could not be written"""
    version: str
    stem: Path | None
    """``<index>/vectors/<slug>@<version>``: ANN files are this plus a suffix (None: nothing on disk)"""


def model_slug(model: str) -> str:
    """A file-name-safe, unique name for an embedder (its name may be a path or a URL)."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", model).strip("._-")[:48] or "model"
    return f"{readable}-{hashlib.sha1(model.encode()).hexdigest()[:8]}"


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` through a temporary file in the same folder, flushed to disk, then renamed over it."""
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive OS lock on ``path`` (created if missing), released even if the process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def temp_path(path: Path) -> Path:
    """A temporary name beside ``path`` for libraries that write a file by name (rename it into place)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")


def _version_key(version: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return None


class VectorCache:
    """The cache of one embedder's vectors for one index folder."""

    def __init__(self, index_dir: Path, model: str) -> None:
        self.index_dir = Path(index_dir)
        self.dir = self.index_dir / VECTORS_DIR
        self.model = model
        self.slug = model_slug(model)

    def stem(self, version: str) -> Path:
        return self.dir / f"{self.slug}@{version}"

    def _store_id(self) -> str:
        """Which store the cache was made from: a store deleted and re-created restarts its version
        counters, and must not pick up the old store's files."""
        try:
            st = (self.index_dir / DB_FILE).stat()
        except OSError:
            return ""
        return f"{st.st_dev}:{st.st_ino}"

    def load(self, store: EmbeddingSource, version: str) -> CachedVectors:
        """The vectors of ``version`` (the store's current ``vectors_version``): from the cache if it is
        there and sound, otherwise read from the store and cached."""
        cached = self._read(version)
        if cached is not None:
            return cached
        started = time.perf_counter()
        ids, matrix = store.load_embeddings(self.model)
        if not ids:
            return CachedVectors([], np.zeros((0, 0), np.float32), version, None)
        if store.vectors_version() != version:  # a writer committed meanwhile: what we read is newer
            return CachedVectors(ids, matrix, version, None)  # serve it, but never file it under the old name
        try:
            written = self._write(version, ids, matrix)
        except OSError as exc:
            log.warning("could not write the vector cache in %s (%s); searching vectors held in memory",
                        self.dir, exc)
            return CachedVectors(ids, matrix, version, None)
        log.info("cached %d vectors of %s in %s (%.1f s)", len(ids), self.model, self.dir,
                 time.perf_counter() - started)
        self.clean(version)
        return written

    def _read(self, version: str) -> CachedVectors | None:
        stem = self.stem(version)
        manifest = stem.with_suffix(stem.suffix + ".json")
        if not manifest.is_file():
            return None
        try:
            meta = json.loads(manifest.read_text(encoding="utf-8"))
            if (meta.get("format") != FORMAT or meta.get("model") != self.model or meta.get("version") != version
                    or meta.get("store") != self._store_id()):
                return None
            matrix = np.load(f"{stem}.npy", mmap_mode="r", allow_pickle=False)
            ids = json.loads(Path(f"{stem}.ids").read_text(encoding="utf-8"))
            rows, dim = int(meta["rows"]), int(meta["dim"])
            if matrix.dtype != np.float32 or matrix.shape != (rows, dim) or len(ids) != rows:
                raise ValueError(f"shape {matrix.shape} {matrix.dtype}, {len(ids)} ids; manifest says ({rows}, {dim})")
        except (OSError, ValueError, KeyError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
            log.warning("vector cache %s is damaged (%s); rebuilding it from the store", stem.name, exc)
            return None
        return CachedVectors(ids, matrix, version, stem)

    def _write(self, version: str, ids: list[str], matrix: np.ndarray) -> CachedVectors:
        self.dir.mkdir(parents=True, exist_ok=True)
        stem = self.stem(version)
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        atomic_write(Path(f"{stem}.npy"), lambda f: np.save(f, matrix, allow_pickle=False))
        atomic_write(Path(f"{stem}.ids"), lambda f: f.write(json.dumps(ids).encode("utf-8")))
        meta = {"format": FORMAT, "model": self.model, "version": version, "store": self._store_id(),
                "rows": int(matrix.shape[0]), "dim": int(matrix.shape[1])}
        atomic_write(Path(f"{stem}.json"), lambda f: f.write(json.dumps(meta).encode("utf-8")))
        mapped = np.load(f"{stem}.npy", mmap_mode="r", allow_pickle=False)  # the heap copy can go
        return CachedVectors(ids, mapped, version, stem)

    def clean(self, current: str) -> list[Path]:
        """Delete this model's files of versions older than ``current`` and temporary files left by
        killed processes; returns what was deleted."""
        now, key, gone = time.time(), _version_key(current), []
        if key is None or not self.dir.is_dir():
            return gone
        for path in self.dir.iterdir():
            name = path.name
            try:
                if name.startswith(".") and name.endswith(".tmp"):
                    if now - path.stat().st_mtime > STALE_TMP_S:
                        path.unlink()
                        gone.append(path)
                    continue
                if not name.startswith(f"{self.slug}@"):
                    continue
                version = name[len(self.slug) + 1:].split(".", 2)
                older = _version_key(".".join(version[:2]))
                if older is None or older < key:
                    path.unlink()
                    gone.append(path)
            except FileNotFoundError:
                continue  # another process cleaned it first
            except PermissionError as exc:  # a platform that cannot delete a mapped file: next time
                log.debug("could not delete stale vector file %s: %s", path, exc)
        return gone
