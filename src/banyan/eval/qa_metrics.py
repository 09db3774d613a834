"""Answer metrics, as pure functions: SQuAD exact match and F1, and answer-in-context recall.

Normalization follows the SQuAD evaluation script (lowercase, drop punctuation, drop the articles
a/an/the, collapse spaces), with punctuation taken from Unicode (so Chinese and typographic marks
such as "，" or "–" go too). Where the gold answer contains Chinese characters, F1 counts
characters instead of words (CMRC 2018's mixed segmentation: one token per CJK character, Latin
words whole), and spaces are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from banyan.text import CJK, has_han

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_MIXED_TOKEN = re.compile(f"[{CJK}]|[^\\s{CJK}]+")
_CJK_CHAR = re.compile(f"[{CJK}]")
YES_NO = frozenset({"yes", "no"})


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P") or (ch.isascii() and not ch.isalnum() and not ch.isspace())


def normalize_answer(text: str) -> str:
    """SQuAD normalization: lowercase, no punctuation, no articles, single spaces."""
    s = "".join(ch for ch in text.lower() if not _is_punct(ch))
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def answer_tokens(text: str, chinese: bool) -> list[str]:
    """Tokens of a normalized answer: words, or for Chinese one per CJK character (Latin words whole)."""
    norm = normalize_answer(text)
    return _MIXED_TOKEN.findall(norm) if chinese else norm.split()


def exact_match(prediction: str, gold: str) -> float:
    """1.0 if prediction and gold are equal after normalization (spaces ignored for Chinese), else 0.0."""
    chinese = has_han(gold)
    return float(answer_tokens(prediction, chinese) == answer_tokens(gold, chinese))


def f1_score(prediction: str, gold: str) -> float:
    """Token-level F1 (SQuAD); character-level where the gold answer is Chinese."""
    chinese = has_han(gold)
    pred, ref = answer_tokens(prediction, chinese), answer_tokens(gold, chinese)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_exact_match(prediction: str, golds: Sequence[str]) -> float:
    """Exact match against the closest of several gold answers."""
    return max((exact_match(prediction, g) for g in golds), default=0.0)


def best_f1(prediction: str, golds: Sequence[str]) -> float:
    """F1 against the closest of several gold answers."""
    return max((f1_score(prediction, g) for g in golds), default=0.0)


def is_yes_no(golds: Iterable[str]) -> bool:
    """Whether every gold answer is "yes" or "no": such answers cannot be found by string matching."""
    norms = [normalize_answer(g) for g in golds]
    return bool(norms) and all(n in YES_NO for n in norms)


def _bounded(haystack: str, needle: str) -> bool:
    """``needle`` occurs in ``haystack`` not glued to a Latin letter or digit on either side."""
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = haystack[start - 1] if start else " "
        after = haystack[end] if end < len(haystack) else " "
        if not _glued(before, needle[0]) and not _glued(after, needle[-1]):
            return True
        start = haystack.find(needle, start + 1)
    return False


def _glued(neighbour: str, edge: str) -> bool:
    """Two adjacent characters belong to one word (neither is a space or a CJK character)."""
    return neighbour.isalnum() and edge.isalnum() and not _CJK_CHAR.match(neighbour) and not _CJK_CHAR.match(edge)


def answer_in_context(context: str, golds: Sequence[str]) -> bool:
    """Whether any gold answer appears in ``context`` after normalization.

    English answers must match whole words ("851" is not found in "1851"); Chinese answers are
    matched with all spaces removed, as Chinese text does not separate words. Gold answers that
    normalize to nothing (e.g. "the") are ignored.
    """
    norm_ctx = normalize_answer(context)
    squeezed_ctx: str | None = None
    for gold in golds:
        norm = normalize_answer(gold)
        if not norm:
            continue
        if has_han(gold):
            if squeezed_ctx is None:
                squeezed_ctx = "".join(norm_ctx.split())
            if "".join(norm.split()) in squeezed_ctx:
                return True
        elif _bounded(norm_ctx, norm):
            return True
    return False
