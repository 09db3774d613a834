"""An answer without an LLM: the evidence sentences that best match the question, each cited."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from banyan.answer.types import Evidence
from banyan.text import bm25_tokens, detect_lang, is_function_word

_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"[^.!?。！？]+(?:[.!?。！？]+[\"'”’」』）)]*|$)")
_END = re.compile(r"[.!?。！？]+[\"'”’」』）)]*$")


COVERED_WEIGHT = 0.25
"""A question word an earlier picked sentence already holds counts this much for the next pick."""


@dataclass(frozen=True, slots=True)
class Scored:
    n: int
    sentence: str
    terms: frozenset[str]
    """the question's words this sentence (or its document's title) holds"""
    score: float
    """their share of the question's words, weighted by rarity among the evidence sentences"""


@dataclass(frozen=True, slots=True)
class Extract:
    text: str
    cited: tuple[int, ...]
    best: float
    """the best sentence's score (0 when nothing matches)"""


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage (lines wrapped inside a paragraph joined), without markdown headings and
    fragments of fewer than three words."""
    out = []
    for para in _PARAGRAPH.split(text):
        lines = [ln for ln in para.splitlines() if not ln.lstrip().startswith("#")]
        for m in _SENTENCE.finditer(" ".join(lines)):
            s = " ".join(m.group().split())
            words = len(s.split()) if s.isascii() else len(s) // 2
            if s and words >= 3:
                out.append(s)
    return out


def question_terms(question: str) -> set[str]:
    """The question's content words as BM25 tokens (stemmed; Chinese segmented; function words out)."""
    lang = detect_lang(question)
    return {t for t in bm25_tokens(question) if not is_function_word(t, lang)}


def score_sentences(question: str, evidence: Sequence[Evidence]) -> tuple[list[Scored], dict[str, float]]:
    """Every evidence sentence scored against the question, best first (ties: earlier evidence first),
    and the weight of each question word (rarer among the sentences weighs more; they sum to 1).

    A sentence also holds the words of its document's title: "It was designed by ..." on the Lumen
    Bridge page is about the Lumen Bridge."""
    terms = question_terms(question)
    titles = {e.n: set(bm25_tokens(e.citation.title)) for e in evidence}
    pool = [(e.n, s, frozenset((set(bm25_tokens(s)) | titles[e.n]) & terms))
            for e in evidence for s in split_sentences(e.text)]
    if not terms or not pool:
        return [], {}
    df = Counter(t for _, _, toks in pool for t in toks)
    raw = {t: math.log(1 + (len(pool) + 1) / (df[t] + 0.5)) for t in terms}
    total = sum(raw.values())
    weight = {t: w / total for t, w in raw.items()}
    scored = [Scored(n, s, toks, sum(weight[t] for t in toks)) for n, s, toks in pool]
    order = sorted(range(len(scored)), key=lambda i: (-scored[i].score, i))
    return [scored[i] for i in order], weight


def pick_sentences(scored: Sequence[Scored], weight: dict[str, float], k: int) -> list[Scored]:
    """Up to ``k`` distinct sentences, greedily: each adds the most question words not yet covered."""
    picked: list[Scored] = []
    covered: set[str] = set()
    seen: set[str] = set()
    while len(picked) < k:
        best, gain = None, 0.0
        for s in scored:
            if s.sentence.lower() in seen:
                continue
            g = sum(weight[t] * (COVERED_WEIGHT if t in covered else 1.0) for t in s.terms)
            if s.terms - covered and g > gain:
                best, gain = s, g
        if best is None:
            break
        picked.append(best)
        covered |= best.terms
        seen.add(best.sentence.lower())
    return picked


def cite(sentence: str, n: int) -> str:
    """``sentence`` with ``[n]`` before its final punctuation."""
    m = _END.search(sentence)
    return f"{sentence[:m.start()]} [{n}]{m.group()}" if m else f"{sentence} [{n}]"


def extractive_answer(question: str, evidence: Sequence[Evidence], max_sentences: int) -> Extract:
    """The best-matching evidence sentences (at most ``max_sentences``, each adding question words the
    others lack), each citing its passage."""
    scored, weight = score_sentences(question, evidence)
    picked = pick_sentences(scored, weight, max_sentences)
    text = ("" if detect_lang(question) == "zh" else " ").join(cite(s.sentence, s.n) for s in picked)
    return Extract(text, tuple(dict.fromkeys(s.n for s in picked)), scored[0].score if scored else 0.0)
