"""BM25 tokenization: English words stemmed with stopwords removed; Chinese segmented by jieba."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"(?u)\b\w\w+\b")
_HAS_WORD = re.compile(r"\w", re.UNICODE)


@lru_cache(maxsize=1)
def _english() -> tuple[Callable[[str], str], frozenset[str]]:
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    stemmer = Stemmer.Stemmer("english")
    return lru_cache(maxsize=200_000)(stemmer.stemWord), frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _latin_tokens(text: str) -> list[str]:
    stem, stop = _english()
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in stop]


def tokenize(text: str) -> list[str]:
    """Tokens for BM25, for English, Chinese or a mix of both."""
    if not _CJK_RUN.search(text):
        return _latin_tokens(text)
    jieba = _jieba()
    out: list[str] = []
    pos = 0
    for m in _CJK_RUN.finditer(text):
        out.extend(_latin_tokens(text[pos : m.start()]))
        out.extend(t for t in jieba.lcut(m.group()) if _HAS_WORD.search(t))
        pos = m.end()
    out.extend(_latin_tokens(text[pos:]))
    return out
