"""Which of a linked entity's documents are its own, and what a question asks of the next hop.

Pure functions over titles, names and vectors, for the graph routes (``retrieve.graph_routes``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

import numpy as np

from banyan.text import bm25_tokens, has_han

_QUALIFIER = re.compile(r"\s*[(（][^()（）]*[)）]\s*$|,.*$")


def without_names(vector: np.ndarray, names: np.ndarray) -> np.ndarray:
    """The question's embedding with the directions of the names it links removed (projected onto
    their orthogonal complement), unit length: what it asks of the entities one hop away. For "Where
    did the architect of the Lumen Museum study?" the museum's curators, whose pages mention the
    museum, stop outranking its architect, whose page is about her training and buildings.
    ``names``: rows of name vectors."""
    v = np.asarray(vector, dtype=np.float64)
    if len(names):
        basis, _ = np.linalg.qr(np.asarray(names, dtype=np.float64).T)
        v = v - basis @ (basis.T @ v)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def title_coverage(title: str, asked: set[str]) -> float:
    """The share of a title's words that the question uses."""
    words = bm25_tokens(title)
    return sum(w in asked for w in words) / len(words) if words else 0.0


def names_each_other(name: str, title: str, tokenize: Callable[[str], Sequence[str]] = bm25_tokens) -> bool:
    """Whether a title names an entity: without its qualifier (a closing parenthesis, or what
    follows a comma) it has the name's words ("Ada Obi (poet)", "Springfield, Oregon"); or, in Latin
    script, one's words include all of the other's ("Maria Teresa of Savoy" names Maria Teresa Anna
    of Savoy, whom resolution merged her with). Not in Chinese, where a
    title's words include a name as part of a longer one: 上海轨道交通16号线 is not 上海."""
    a = set(tokenize(name))
    if not a:
        return False
    if set(tokenize(_QUALIFIER.sub("", title))) == a:
        return True
    if has_han(title):
        return False
    b = set(tokenize(title))
    return bool(b) and (a <= b or b <= a)


def title_fit(title: str, question: str, asked: set[str]) -> tuple[bool, float]:
    """How well the question states a title: written out whole in it (case aside), then the share
    of the title's words it uses (``title_coverage``). Larger is better."""
    return title.casefold() in question.casefold(), title_coverage(title, asked)


def other_homonyms(homes: Mapping[str, tuple[int, str]], names: Sequence[str], question: str) -> set[tuple[int, str]]:
    """(entity, title) pairs that do not count as the entity's home. Where documents titled by an
    entity's name are about it, the one whose title the question states best is its home
    (``title_fit``; the first given on a tie): not its homonyms ("Ada Obi (poet)" for "Ada Obi"),
    nor documents with other titles that resolution made about it. An entity no title names
    (a person in everyday notes) keeps all of them. ``homes``: chunk -> (entity, its document's
    title), in rank order."""
    named: dict[int, list[str]] = {}
    tokenize = lru_cache(maxsize=None)(bm25_tokens)  # an entity's name and a title recur across pairs
    for e, title in dict.fromkeys(homes.values()):  # each pair once: a document's chunks share its title
        if names_each_other(names[e], title, tokenize):
            named.setdefault(e, []).append(title)
    asked = set(bm25_tokens(question))
    best = {e: max(ts, key=lambda t: title_fit(t, question, asked)) for e, ts in named.items()}
    return {(e, t) for e, t in homes.values() if e in best and t != best[e]}
