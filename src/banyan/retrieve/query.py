"""The question, analysed once: language, words, embedding, linked entities, route results.

A ``Query`` belongs to one request. Its expensive parts (the embedding, entity linking) are
computed on first use and kept, so every route that needs them pays once; the results of routes
that other routes build on (hybrid passages seed PageRank, PageRank orders the home chunks) are
memoized on it too. Nothing here is shared between requests, so concurrent searches never see
each other's state.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from banyan.text import bm25_tokens, detect_lang, is_function_word, word_tokens
from banyan.types import Hit

if TYPE_CHECKING:
    from banyan.retrieve.routes import Route


class Query:
    """One question and everything computed about it for retrieval."""

    def __init__(self, text: str, embed_query: Callable[[str], np.ndarray],
                 link: Callable[[Query], dict[int, float]] | None = None) -> None:
        self.text = text
        self.lang = detect_lang(text)
        self._embed_query = embed_query
        self._link = link
        self._memo: dict[tuple[str, int], list[Hit]] = {}

    @cached_property
    def tokens(self) -> list[str]:
        """Words as written (case kept; Chinese segmented)."""
        return word_tokens(self.text)

    @cached_property
    def stems(self) -> tuple[str, ...]:
        """The question's BM25 tokens (``text.bm25_tokens``: stemmed English, segmented Chinese), computed
        once for the BM25 route and the fact walk."""
        return tuple(bm25_tokens(self.text))

    @cached_property
    def keywords(self) -> list[str]:
        """Content words: the tokens that are not function words of the question's language."""
        return [t for t in self.tokens if not is_function_word(t, self.lang)]

    @cached_property
    def vector(self) -> np.ndarray:
        """The question's embedding (embedded once, shared by dense, bridge and community routes)."""
        return self._embed_query(self.text)

    @cached_property
    def links(self) -> dict[int, float]:
        """Graph entity node -> linking confidence (empty without a graph)."""
        return self._link(self) if self._link is not None else {}

    def run(self, route: Route, n: int) -> list[Hit]:
        """``route``'s top ``n`` hits for this question, computed once per question."""
        key = (route.name, n)
        if key not in self._memo:
            self._memo[key] = route.search(self, n)
        return self._memo[key]
