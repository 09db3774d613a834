"""Citation markers in answers: ``[1]``, ``[1, 3]``, ``[2-4]``, ``【1】``. Pure functions.

The model cites the context's numbered passages. Numbers that are not in the context are removed
(and counted); the rest are normalized to ``[n]`` / ``[n, m]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

MAX_RANGE = 20
"""A range wider than this (``[1-500]``) is not a citation the model meant: its numbers are dropped."""

CITE_RE = re.compile(r"(?P<pre>[ \t]*)[\[【]\s*(?P<body>\d+(?:\s*(?:[,，、;；]|-|–)\s*\d+)*)\s*[\]】]")
_SPLIT = re.compile(r"\s*[,，、;；]\s*")
_RANGE = re.compile(r"(\d+)\s*[-–]\s*(\d+)")
_SENTENCE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+(?:[ \t]*[\[【][\d,，、;；\s\-–]+[\]】])*|$)")
"""A sentence, with any citation markers written after its full stop."""


@dataclass(frozen=True, slots=True)
class CitationCheck:
    text: str
    """the answer with only valid citations, normalized"""
    cited: tuple[int, ...]
    """valid numbers in order of first citation"""
    removed: int
    """cited numbers that were not valid (each occurrence counts)"""


def parse_numbers(body: str) -> list[int]:
    """``"1, 3-5"`` -> [1, 3, 4, 5]; an over-wide range gives its endpoints only (they are checked like any)."""
    out: list[int] = []
    for part in _SPLIT.split(body.strip()):
        m = _RANGE.fullmatch(part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            out.extend(range(a, b + 1) if 0 <= b - a <= MAX_RANGE else (a, b))
        elif part.isdigit():
            out.append(int(part))
    return out


def cited_numbers(text: str) -> list[int]:
    """Every number cited in ``text``, in order of first appearance, once each."""
    return list(dict.fromkeys(n for m in CITE_RE.finditer(text) for n in parse_numbers(m.group("body"))))


def _rewrite(text: str, keep: Callable[[int], int | None]) -> tuple[str, list[int], int]:
    """Replace every marker by the numbers ``keep`` maps it to (None drops one); a marker left empty goes."""
    cited: list[int] = []
    removed = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal removed
        kept: list[int] = []
        for n in parse_numbers(m.group("body")):
            new = keep(n)
            if new is None:
                removed += 1
            elif new not in kept:
                kept.append(new)
        cited.extend(kept)
        return f"{m.group('pre')}[{', '.join(map(str, kept))}]" if kept else ""

    out = CITE_RE.sub(sub, text)
    return out, list(dict.fromkeys(cited)), removed


def validate_citations(text: str, valid: Collection[int]) -> CitationCheck:
    """Keep citations of numbers in ``valid``; remove (and count) the others."""
    ok = set(valid)
    out, cited, removed = _rewrite(text, lambda n: n if n in ok else None)
    return CitationCheck(out, tuple(cited), removed)


def renumber(text: str, mapping: Mapping[int, int]) -> str:
    """Rewrite cited numbers through ``mapping`` (a batch's local numbers -> the context's); others go."""
    return _rewrite(text, mapping.get)[0]


def uncited_sentences(text: str, min_words: int = 4, ignore: Collection[str] = ()) -> list[str]:
    """Sentences that cite nothing (short ones, and those in ``ignore``, left out)."""
    out = []
    for m in _SENTENCE.finditer(text):
        s = m.group().strip()
        words = len(s.split()) if s.isascii() else len(s) // 2
        if s and words >= min_words and not CITE_RE.search(s) and s.lower().rstrip(".。") not in ignore:
            out.append(s)
    return out
