"""Indexing as a sequence of idempotent stages: ingest -> chunk -> store -> embed -> bm25.

Each file is replaced in one transaction and embeddings are committed in blocks, so a run
killed at any point leaves a consistent index, and the next run finishes the work: unchanged
files are skipped by content hash and only chunks without a vector are embedded.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from banyan.embed import Embedder
from banyan.errors import IngestError, NotIndexedError
from banyan.index.bm25 import BM25Index
from banyan.progress import NoProgress, Progress
from banyan.settings import Settings
from banyan.store import Store
from banyan.types import IndexReport, IngestFailure

EMBED_BLOCK = 256
BM25_DIR = "bm25"
__all__ = [
    "BM25_DIR",
    "NoProgress",
    "Progress",
    "bm25_rows",
    "bm25_stale",
    "build_bm25",
    "embed_missing",
    "ingest_files",
    "remove_paths",
]


@contextmanager
def _timed(report: IndexReport, stage: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        report.add_time(stage, time.perf_counter() - t0)


def ingest_files(store: Store, paths: Iterable[Path | str], settings: Settings, report: IndexReport,
                 progress: Progress, allow: Collection[str] | None = None) -> None:
    """Read, chunk and store every changed file under ``paths``; failures go to ``report``.
    ``allow``: the principals that may read these files (None keeps each file's, public when new);
    an unchanged file only gets the new allow-list, nothing is re-read."""
    from banyan.ingest import chunk_document, discover, read_file  # the readers: not on the search path

    files, failures = discover(paths, settings.ingest.extensions)
    report.failures.extend(failures)
    report.files_seen += len(files)
    max_bytes = int(settings.ingest.max_file_mb * 1024 * 1024)
    progress.start("ingest", len(files))
    legacy: dict[str, list[str]] = {}
    for path in files:
        progress.advance()
        key = str(path.resolve())
        with _timed(report, "ingest"):
            try:
                size = path.stat().st_size
                if size > max_bytes:
                    raise IngestError(
                        f"{size / 1e6:.0f} MB is over ingest.max_file_mb={settings.ingest.max_file_mb:g}"
                    )
                data = path.read_bytes()
            except OSError as exc:
                report.failures.append(IngestFailure(str(path), f"cannot read: {exc.strerror or exc}"))
                continue
            except IngestError as exc:
                report.failures.append(IngestFailure(str(path), str(exc)))
                continue
            digest = hashlib.sha256(data).hexdigest()
            if store.file_hash(key) == digest:
                report.files_unchanged += 1
                if allow is not None:
                    store.set_allow([key], allow)
                continue
            try:
                docs = read_file(path, data)
            except IngestError as exc:
                report.failures.append(IngestFailure(str(path), str(exc)))
                continue
            docs = list({d.id: d for d in docs}.values())
            known = store.existing_documents([d.id for d in docs])
        with _timed(report, "chunk"):
            cfg = settings.chunking
            chunks = [c for d in docs if d.id not in known for c in chunk_document(d, cfg.max_tokens, cfg.overlap_tokens)]
        with _timed(report, "store"):
            change = store.replace_file(key, digest, docs, chunks, allow)
        report.files_indexed += 1
        report.documents_added += change.documents_added
        report.documents_removed += change.documents_removed
        report.chunks_added += change.chunks_added
        encoding = next((str(d.metadata["encoding"]) for d in docs if "encoding" in d.metadata), None)
        if encoding:
            legacy.setdefault(encoding, []).append(path.name)
    progress.done()
    for encoding, names in sorted(legacy.items()):
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        report.notes.append(f"{len(names)} file(s) decoded as {encoding} (not UTF-8): {shown}")


def remove_paths(store: Store, paths: Iterable[Path | str]) -> tuple[int, int]:
    """Forget indexed files, or every indexed file under a folder: (files, documents) removed.

    Every path is checked first: one that names nothing indexed raises NotIndexedError (with the
    indexed files of the same name, if any) and nothing is removed.
    """
    indexed = store.indexed_files()
    known = set(indexed)
    targets: list[str] = []
    for raw in paths:
        key = str(Path(raw).resolve())
        if key in known:
            targets.append(key)
            continue
        under = [f for f in indexed if f.startswith(key.rstrip("/") + "/")]
        if not under:
            same_name = [f for f in indexed if Path(f).name == Path(key).name][:3]
            hint = (f"; indexed files with that name: {', '.join(same_name)}" if same_name
                    else f"; none of the {len(indexed)} files this index holds is there")
            raise NotIndexedError(f"{raw} is not indexed (looked for {key}){hint}")
        targets.extend(under)
    documents = sum(store.remove_file(t) for t in dict.fromkeys(targets))
    return len(dict.fromkeys(targets)), documents


def embed_missing(store: Store, embedder: Embedder, include_title: bool, report: IndexReport,
                  progress: Progress) -> None:
    """Embed every chunk that has no vector from ``embedder`` yet, committing block by block."""
    with _timed(report, "store"):
        todo = store.chunks_without_embedding(embedder.name)
    if not todo:
        return
    # Similar lengths together: less padding inside the embedder's batches.
    todo.sort(key=lambda row: len(row[1]) + len(row[2]))
    progress.start("embed", len(todo))
    for i in range(0, len(todo), EMBED_BLOCK):
        block = todo[i : i + EMBED_BLOCK]
        texts = [f"{title}\n{text}" if include_title and title else text for _, title, text in block]
        with _timed(report, "embed"):
            vectors = embedder.embed_documents(texts)
        with _timed(report, "store"):
            store.put_embeddings(embedder.name, [row[0] for row in block], vectors)
        report.chunks_embedded += len(block)
        progress.advance(len(block))
    progress.done()


def bm25_rows(store: Store) -> Iterator[tuple[str, str]]:
    """(chunk id, indexed text) of every chunk: the title is indexed with each chunk."""
    return ((cid, f"{title}\n{text}" if title else text) for cid, title, text in store.iter_chunks())


def bm25_stale(store: Store, index_dir: Path) -> bool:
    """Whether the saved BM25 index is missing or older than the store's chunks."""
    return BM25Index.saved_version(index_dir / BM25_DIR) != store.version()


def build_bm25(store: Store, index_dir: Path, settings: Settings, report: IndexReport) -> BM25Index:
    """Rebuild the BM25 index if the store changed since it was saved; return it."""
    version = store.version()
    path = index_dir / BM25_DIR
    with _timed(report, "bm25"):
        existing = BM25Index.load(path, version)
        if existing is not None:
            return existing
        index = BM25Index.build(bm25_rows(store), settings.retrieval.bm25_k1, settings.retrieval.bm25_b)
        index.save(path, version)
    return index
