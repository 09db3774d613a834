"""What linking reads of the corpus for a question typed without capitals: the chunks holding a
phrase's words (BM25 postings) and how a sample of them writes it, over the chunks one caller may
read. Readings are kept per phrase for as long as the BM25 index they came from is current."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from banyan.app.access import id_mask
from banyan.index.bm25 import BM25Index
from banyan.retrieve.linking import written_as_name
from banyan.store import IndexStore
from banyan.text import bm25_tokens
from banyan.types import PhraseReading

SAMPLE = 16
"""chunks read per phrase at most (spread over all that hold its words)"""
KEPT = 4096
"""phrase readings kept (all are forgotten when there are more)"""


class CorpusReader:
    """``read`` for ``GraphRetriever.read_phrase``: one per loaded graph (and so per caller)."""

    def __init__(self, bm25: Callable[[], BM25Index], store: IndexStore, visible: frozenset[str] | None) -> None:
        """``bm25``: the current BM25 index (loaded on first use); ``visible``: the chunks the caller
        may read (None: all)."""
        self._bm25, self._store, self._visible = bm25, store, visible
        self._lock = threading.Lock()
        self._index: BM25Index | None = None
        self._mask: np.ndarray | None = None
        self._kept: dict[str, PhraseReading] = {}

    def _current(self) -> tuple[BM25Index, np.ndarray | None]:
        """The BM25 index and the caller's mask over it; readings of an older index are dropped."""
        bm25 = self._bm25()
        with self._lock:
            if bm25 is not self._index:
                self._index, self._kept = bm25, {}
                self._mask = None if self._visible is None else id_mask(bm25.ids, self._visible)
            return bm25, self._mask

    def read(self, words: Sequence[str]) -> PhraseReading:
        bm25, mask = self._current()
        key = " ".join(words).lower()
        kept = self._kept.get(key)
        if kept is not None:
            return kept
        ids = bm25.chunks_with_all(bm25_tokens(key), mask)
        sample = ids[:: max(1, len(ids) // SAMPLE)][:SAMPLE]
        reading = PhraseReading(tuple(ids), written_as_name(self.texts(sample), words) if sample else None)
        with self._lock:
            if bm25 is self._index:
                if len(self._kept) >= KEPT:
                    self._kept = {}
                self._kept[key] = reading
        return reading

    def texts(self, ids: list[str]) -> list[str]:
        """Each chunk's title and text (one read: ``citations`` joins the two)."""
        return [f"{p.citation.title}\n{p.text}" for p in self._store.citations(ids).values()]
