"""A knowledge graph saved as plain arrays, so a new process loads it in milliseconds.

``KnowledgeGraph.load`` rebuilds the graph from the store's rows (every mention, triple, alias and
name vector): seconds on a large index, paid by every fresh ``banyan search``. Once built, the graph
is written under ``<index>/cache/graph-<key>/`` as ``.npy`` arrays (memory-mapped, loaded with
``allow_pickle=False``) and one text file per list of strings. The arrays derived from the adjacency
(the walk's transition matrix prepared for PageRank: it, its transpose and its dead ends;
the entity neighbours) are kept too, so that no reader derives them
again; a cache written before they were kept is read by deriving them. The key covers everything
the graph is built from (the resolved graph version, the chunk version, the embedder of the name
vectors and this format), so a changed index never reads a stale graph; older caches are deleted
when a new one is written. The store stays the source of truth: a missing or unreadable cache is
rebuilt, never an error. A cache is written to a temporary directory and renamed into place, so
readers never see half of one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from banyan.graph.facts import FactTable, PhraseIndex
from banyan.graph.kg import KnowledgeGraph
from banyan.graph.ppr import Walk, prepare_walk, transition
from banyan.graph.ragged import PairChunks, Ragged
from banyan.text import bm25_tokens

FORMAT = "kg-2"
CACHE_DIR = "cache"
log = logging.getLogger(__name__)


def cache_key(*parts: str) -> str:
    return hashlib.sha256("|".join((FORMAT, *parts)).encode()).hexdigest()[:16]


def save(kg: KnowledgeGraph, index_dir: Path, key: str) -> Path:
    """Write ``kg`` under ``index_dir/cache/graph-KEY`` (atomically) and delete older graph caches."""
    root = index_dir / CACHE_DIR
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"graph-{key}"
    if final.is_dir():
        return final
    tmp = Path(tempfile.mkdtemp(prefix=".graph-", dir=root))
    try:
        arrays: dict[str, np.ndarray] = {"entity_chunks": kg.entity_chunks, "entity_vectors": kg.entity_vectors}
        arrays |= _csr("adjacency", kg.adjacency)
        # derived from the adjacency: kept so that no reader derives them again
        arrays |= _csr("trans", kg.walk.trans) | _csr("trans_t", kg.walk.trans_t)
        arrays["walk_dead"], arrays["walk_order"] = kg.walk.dead, kg.walk.order
        arrays["neighbors_indptr"], arrays["neighbors_values"] = kg.entity_neighbors.indptr, kg.entity_neighbors.values
        typed = sorted(kg.typed)
        for i, kind in enumerate(typed):
            arrays |= _csr(f"typed{i}", kg.typed[kind])
        homes = sorted(kg.home)
        arrays["home_keys"] = np.asarray(homes, dtype=np.int64)
        home = Ragged.of([kg.home[e] for e in homes])
        arrays["home_indptr"], arrays["home_values"] = home.indptr, home.values
        pairs = kg.pair_chunks or PairChunks.of({}, kg.chunk_ids, max(1, kg.n_entities))
        arrays["pair_codes"], arrays["pair_indptr"], arrays["pair_values"] = (
            pairs.codes, pairs.rows.indptr, pairs.rows.values)
        facts = kg.facts or FactTable.build([], kg.n_entities, bm25_tokens)
        for name in ("head", "tail", "chunk", "phrase", "kind"):
            arrays[f"fact_{name}"] = getattr(facts, name)
        arrays["fact_by_indptr"], arrays["fact_by_values"] = facts.by_entity.indptr, facts.by_entity.values
        stems = facts.index.matrix
        arrays["stem_data"], arrays["stem_indices"], arrays["stem_indptr"] = stems.data, stems.indices, stems.indptr
        arrays["norm_entity"] = np.fromiter(kg.norm_index.values(), dtype=np.int64, count=len(kg.norm_index))
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
        lists = {"entity_ids": kg.entity_ids, "names": kg.names, "types": kg.types, "chunk_ids": kg.chunk_ids,
                 "norms": list(kg.norm_index), "typed": typed, "phrases": facts.phrases, "kinds": facts.kinds,
                 "vocab": facts.index.vocab}
        for name, values in lists.items():  # one string per line: much faster to read back than JSON
            (tmp / f"{name}.txt").write_text("\n".join(_one_line(v) for v in values), encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps({"shape": list(kg.adjacency.shape),
                                                   "counts": {k: len(v) for k, v in lists.items()}}))
        try:
            os.rename(tmp, final)
        except OSError:  # another process wrote the same graph first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in root.glob("graph-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _one_line(s: str) -> str:
    return s.replace("\n", " ").replace("\r", " ")


def _csr(name: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    m = m.tocsr()
    return {f"{name}_data": m.data, f"{name}_indices": m.indices, f"{name}_indptr": m.indptr}


def load_path(index_dir: Path, key: str) -> Path | None:
    """Where the graph saved under ``key`` is, if it is saved."""
    path = index_dir / CACHE_DIR / f"graph-{key}"
    return path if path.is_dir() else None


def load(index_dir: Path, key: str) -> KnowledgeGraph | None:
    """The graph saved under ``key``, or None when there is none (or it cannot be read)."""
    path = load_path(index_dir, key)
    if path is None:
        return None
    try:
        return _read(path)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring the unreadable graph cache %s (%s); rebuilding it from the store", path, exc)
        shutil.rmtree(path, ignore_errors=True)
        return None


def _lines(path: Path, count: int) -> list[str]:
    """The ``count`` lines of a strings file (read as bytes: text mode's newline translation is slow)."""
    text = path.read_bytes().decode("utf-8")
    if "\r" in text:  # written where lines end in CRLF
        text = text.replace("\r\n", "\n")
    lines = text.split("\n") if count else []
    if len(lines) != count:
        raise ValueError(f"{path.name} holds {len(lines)} lines, expected {count}")
    return lines


def _read(path: Path) -> KnowledgeGraph:
    def arr(name: str) -> np.ndarray:  # mapped, seen as a plain array: reading an np.memmap goes through Python
        return np.asarray(np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False))

    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    shape = tuple(meta["shape"])
    strings = {name: _lines(path / f"{name}.txt", count) for name, count in meta["counts"].items()}

    def csr(name: str) -> sp.csr_matrix:
        return sp.csr_matrix((arr(f"{name}_data"), arr(f"{name}_indices"), arr(f"{name}_indptr")), shape=shape)

    adjacency = csr("adjacency")
    n_e = len(strings["entity_ids"])
    kept = (path / "trans_indptr.npy").is_file()  # older caches lack the derived arrays: derive them
    if (path / "walk_order.npy").is_file():
        walk = Walk(csr("trans"), csr("trans_t"), arr("walk_dead"), arr("walk_order"))
    else:  # a cache written before the prepared walk (in walk order) was kept
        walk = prepare_walk(csr("trans") if kept else transition(adjacency))
    if kept:
        neighbors = Ragged(arr("neighbors_indptr"), arr("neighbors_values"))
    else:
        ee = adjacency[:n_e, :n_e].tocsr()
        neighbors = Ragged(ee.indptr.astype(np.int64), ee.indices.astype(np.int64))
    chunk_ids = strings["chunk_ids"]
    home_at, home_values = arr("home_indptr").tolist(), arr("home_values").tolist()  # lists: array slices cost more
    home = {e: home_values[home_at[i]:home_at[i + 1]] for i, e in enumerate(arr("home_keys").tolist())}
    pair_chunks = PairChunks(arr("pair_codes"), Ragged(arr("pair_indptr"), arr("pair_values")), chunk_ids,
                             max(1, n_e))
    stems = sp.csr_matrix((arr("stem_data"), arr("stem_indices"), arr("stem_indptr")),
                          shape=(len(strings["phrases"]), len(strings["vocab"])))
    facts = FactTable(arr("fact_head"), arr("fact_tail"), arr("fact_chunk"), arr("fact_phrase"), arr("fact_kind"),
                      strings["phrases"], strings["kinds"], Ragged(arr("fact_by_indptr"), arr("fact_by_values")),
                      PhraseIndex(strings["vocab"], stems))
    return KnowledgeGraph(
        strings["entity_ids"], strings["names"], strings["types"], arr("entity_chunks"),
        dict(zip(strings["norms"], arr("norm_entity").tolist())),
        chunk_ids, adjacency, walk, arr("entity_vectors"), pair_chunks, neighbors, home,
        {kind: csr(f"typed{i}") for i, kind in enumerate(strings["typed"])}, facts)
