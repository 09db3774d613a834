"""BM25 over chunks (bm25s), persisted next to the store and rebuilt when chunks change."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from banyan.index.vectors import top_k
from banyan.text import bm25_tokens as tokenize

CURRENT = "current.json"
IDS_FILE = "banyan_ids.json"


def _pointer(path: Path) -> tuple[int, str] | None:
    """(version, directory name) of the current saved index, or None (nothing saved, or the old layout)."""
    try:
        raw = json.loads((path / CURRENT).read_text())
        return int(raw["version"]), str(raw["dir"])
    except (FileNotFoundError, ValueError, KeyError):
        return None


_NO_NONOCCURRENCE = frozenset({"lucene", "robertson", "atire"})
"""bm25s methods whose scores are exactly the sums of the saved per-(term, chunk) scores"""


class SavedBM25:
    """A saved bm25s index read with numpy alone: the per-(term, chunk) scores bm25s precomputes,
    summed over the query's terms exactly as ``bm25s.BM25.get_scores`` does. Loading it does not
    import bm25s (nor scipy), which a fresh ``banyan search`` process would otherwise pay for."""

    def __init__(self, directory: Path) -> None:
        params = json.loads((directory / "params.index.json").read_text())
        self.idf_method = params.get("idf_method", params.get("method"))
        self.dtype = np.dtype(params.get("dtype", "float32"))
        self.vocab_dict: dict[str, int] = json.loads((directory / "vocab.index.json").read_text(encoding="utf-8"))

        def arr(name: str) -> np.ndarray:
            return np.load(directory / f"{name}.csc.index.npy", mmap_mode="r", allow_pickle=False)

        self.scores = {"data": arr("data"), "indices": arr("indices"), "indptr": arr("indptr"),
                       "num_docs": int(params["num_docs"])}

    def get_tokens_ids(self, tokens: list[str]) -> list[int]:
        return [self.vocab_dict[t] for t in tokens if t in self.vocab_dict]

    def get_scores(self, tokens: list[str]) -> np.ndarray:
        data, indices, indptr = self.scores["data"], self.scores["indices"], self.scores["indptr"]
        out = np.zeros(self.scores["num_docs"], dtype=self.dtype)
        for tid in self.get_tokens_ids(tokens):
            lo, hi = int(indptr[tid]), int(indptr[tid + 1])
            out[indices[lo:hi]] += data[lo:hi]
        return out


def _load_bm25s(directory: Path):  # type: ignore[no-untyped-def]
    try:
        params = json.loads((directory / "params.index.json").read_text())
    except FileNotFoundError:
        params = {}
    if params.get("method") in _NO_NONOCCURRENCE and params.get("backend", "numpy") == "numpy":
        return SavedBM25(directory)
    import bm25s

    return bm25s.BM25.load(str(directory), show_progress=False, verbosity=0)


class BM25Index:
    """Sparse lexical index. ``search`` returns (chunk id, score) pairs, best first."""

    def __init__(self, ids: list[str], retriever) -> None:  # type: ignore[no-untyped-def]
        self.ids = ids
        self._r = retriever

    @classmethod
    def build(cls, rows: Iterable[tuple[str, str]], k1: float, b: float) -> BM25Index:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        ids, tokens = [], []
        for cid, text in rows:
            ids.append(cid)
            tokens.append(tokenize(text))
        r = bm25s.BM25(k1=k1, b=b)
        if ids:
            r.index(tokens, show_progress=False)
        return cls(ids, r)

    def save(self, path: Path, version: int) -> None:
        """Write a new version beside the current one, then switch ``current.json`` atomically:
        a reader loading at the same time sees the old index or the new one, never half of one."""
        path.mkdir(parents=True, exist_ok=True)
        previous = _pointer(path)
        name = f"v{version}-{os.getpid()}-{time.time_ns()}"
        tmp = path / f"{name}.tmp"
        tmp.mkdir()
        if self.ids:
            self._r.save(str(tmp), show_progress=False)
        (tmp / IDS_FILE).write_text(json.dumps({"version": version, "ids": self.ids}))
        tmp.rename(path / name)
        pointer = path / "current.json.tmp"
        pointer.write_text(json.dumps({"version": version, "dir": name}))
        os.replace(pointer, path / CURRENT)
        keep = {CURRENT, name, previous[1] if previous else ""}  # a reader may still be loading the previous one
        for old in path.iterdir():
            if old.name not in keep:
                shutil.rmtree(old) if old.is_dir() else old.unlink(missing_ok=True)

    @classmethod
    def saved_version(cls, path: Path) -> int | None:
        """The store version the saved index was built for, or None if there is none."""
        found = _pointer(path)
        if found is not None:
            return found[0]
        legacy = path / IDS_FILE
        return json.loads(legacy.read_text()).get("version") if legacy.is_file() else None

    @classmethod
    def load(cls, path: Path, version: int | None) -> BM25Index | None:
        """The saved index if it was built for store ``version`` (any saved one for None), else None."""
        for _ in range(3):  # a writer may replace it while we read: the next pointer is complete
            found = _pointer(path)
            directory = path / found[1] if found else path
            try:
                meta = json.loads((directory / IDS_FILE).read_text())
                if version is not None and meta.get("version") != version:
                    return None
                if not meta["ids"]:
                    import bm25s

                    return cls([], bm25s.BM25())
                return cls(meta["ids"], _load_bm25s(directory))
            except FileNotFoundError:
                if found is None:
                    return None
        return None

    def search(self, query: str | Sequence[str], k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The ``k`` best chunks for ``query`` (a text, or its tokens as ``text.bm25_tokens`` gives them);
        with ``mask`` (one bool per id), only chunks where it is True, scored as if only those were
        indexed (``masked_scores``)."""
        if not self.ids:
            return []
        vocab = self._r.vocab_dict
        toks = [t for t in (tokenize(query) if isinstance(query, str) else query) if t in vocab]
        if not toks:
            return []
        scores = self._r.get_scores(toks) if mask is None else self.masked_scores(toks, mask)
        return [(self.ids[i], float(scores[i])) for i in top_k(scores, k) if scores[i] > 0]

    def chunks_with_all(self, tokens: Iterable[str], mask: np.ndarray | None = None) -> list[str]:
        """The chunks that contain every one of ``tokens`` (BM25 tokens), in index order; with ``mask``
        (one bool per id), only those where it is True."""
        r, docs = self._r, None
        wanted = list(dict.fromkeys(tokens))
        if not self.ids or not wanted or any(t not in r.vocab_dict for t in wanted):
            return []
        indices, indptr = r.scores["indices"], r.scores["indptr"]
        for tid in r.get_tokens_ids(wanted):
            found = np.asarray(indices[int(indptr[tid]) : int(indptr[tid + 1])])
            docs = found if docs is None else np.intersect1d(docs, found, assume_unique=True)
        assert docs is not None
        if mask is not None:
            docs = docs[mask[docs]]
        return [self.ids[i] for i in np.sort(docs).tolist()]

    def masked_scores(self, tokens: list[str], mask: np.ndarray) -> np.ndarray:
        """Scores of the chunks in ``mask`` (0 elsewhere), each term's idf computed from those chunks
        alone: how many of them contain it, out of how many. So text a caller may not read never
        moves a score it sees: a term only hidden chunks contain weighs what it would weigh without
        them (length normalization still uses the whole index's average chunk length)."""
        r = self._r
        if r.idf_method != "lucene":  # our indexes are all lucene; anything else: plain masking
            return np.where(mask, r.get_scores(tokens), 0.0)
        data, indices, indptr = r.scores["data"], r.scores["indices"], r.scores["indptr"]
        n_all, n_seen = len(self.ids), int(mask.sum())
        out = np.zeros(len(self.ids), dtype=np.float64)
        for tid in r.get_tokens_ids(tokens):
            lo, hi = int(indptr[tid]), int(indptr[tid + 1])
            docs = indices[lo:hi]
            keep = mask[docs]
            df = int(keep.sum())
            if df:
                out[docs[keep]] += data[lo:hi][keep] * (_lucene_idf(df, n_seen) / _lucene_idf(hi - lo, n_all))
        return out


def _lucene_idf(df: int, n: int) -> float:
    """bm25s's (and Lucene's) idf of a term in ``df`` of ``n`` documents."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))
