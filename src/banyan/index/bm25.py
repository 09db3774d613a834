"""BM25 over chunks (bm25s), persisted next to the store and rebuilt when chunks change."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

from banyan.index.vectors import top_k
from banyan.text import bm25_tokens as tokenize


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
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.ids:
            self._r.save(str(tmp), show_progress=False)
        (tmp / "banyan_ids.json").write_text(json.dumps({"version": version, "ids": self.ids}))
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)

    @classmethod
    def load(cls, path: Path, version: int) -> BM25Index | None:
        """The saved index if it was built for store ``version``, else None."""
        import bm25s

        meta_file = path / "banyan_ids.json"
        if not meta_file.is_file():
            return None
        meta = json.loads(meta_file.read_text())
        if meta.get("version") != version:
            return None
        if not meta["ids"]:
            return cls([], bm25s.BM25())
        return cls(meta["ids"], bm25s.BM25.load(str(path), show_progress=False, verbosity=0))

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        vocab = self._r.vocab_dict
        toks = [t for t in tokenize(query) if t in vocab]
        if not toks:
            return []
        scores = self._r.get_scores(toks)
        return [(self.ids[i], float(scores[i])) for i in top_k(scores, k) if scores[i] > 0]
