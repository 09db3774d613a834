"""Facts: the graph's triples as arrays, and a relation-aware walk over them.

A question that names an entity and asks for one of its relations ("Where was Zofia Novak born?")
should rank the passage stating that relation first, whether or not the entity has a document of
its own. A question that chains relations ("where was the founder of the company that built the
Lumen Bridge born?") should follow them. Both are the same walk: from the entities the question
names, along the triples whose relation phrase the question asks about, for a few hops; each triple
on the way votes for the chunk it was extracted from.

How much a question asks about a relation phrase (``phrase_relevance``) is lexical: the share of the
phrase's content words (stemmed, weighted by how rare they are among all phrases) that the question
uses, where words sharing a stem prefix count ("founder" ~ "founded"), plus the question's embedding
similarity to the phrase's relation type. Nothing here is tuned to a data set: weights are idf and
cosine, the walk keeps the best ``beam`` entities per hop and multiplies relevances along a path.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from banyan.graph.ragged import Ragged

MIN_PREFIX = 4
"""two stems match when one starts with the other and the shorter has at least this many letters"""


@dataclass(frozen=True)
class FactTable:
    """Every triple between two distinct known entities, as parallel arrays (one row per triple)."""

    head: np.ndarray
    tail: np.ndarray
    chunk: np.ndarray
    """the chunk's index in ``KnowledgeGraph.chunk_ids``"""
    phrase: np.ndarray
    """index into ``phrases``"""
    kind: np.ndarray
    """index into ``kinds`` (relation type names)"""
    phrases: list[str]
    kinds: list[str]
    by_entity: Ragged
    """entity -> the rows it is the head or tail of"""
    index: PhraseIndex
    """the content stems of ``phrases``"""

    @classmethod
    def build(cls, rows: Sequence[tuple[int, int, int, str, str]], n_entities: int,
              tokenize: Callable[[str], list[str]]) -> FactTable:
        """From (head, tail, chunk index, phrase, relation type) rows; ``tokenize`` gives a phrase's
        content stems (``text.bm25_tokens``)."""
        phrase_ids: dict[str, int] = {}
        kind_ids: dict[str, int] = {}
        cols: list[list[int]] = [[], [], [], [], []]
        for h, t, c, p, k in rows:
            for col, v in zip(cols, (h, t, c, phrase_ids.setdefault(p, len(phrase_ids)),
                                     kind_ids.setdefault(k, len(kind_ids)))):
                col.append(v)
        head, tail, chunk, phrase, kind = (np.asarray(c, dtype=np.int64) for c in cols)
        incident: list[list[int]] = [[] for _ in range(n_entities)]
        for i, (h, t) in enumerate(zip(head.tolist(), tail.tolist())):
            incident[h].append(i)
            incident[t].append(i)
        return cls(head, tail, chunk, phrase, kind, list(phrase_ids), list(kind_ids), Ragged.of(incident),
                   PhraseIndex.build(list(phrase_ids), tokenize))

    def __len__(self) -> int:
        return len(self.head)


@dataclass(frozen=True)
class PhraseIndex:
    """The content stems of every relation phrase as a sparse (phrase x stem) matrix of idf weights,
    with the stem vocabulary sorted so that prefix matches are a binary search."""

    vocab: list[str]
    """sorted"""
    matrix: sp.csr_matrix
    """phrases x vocab, idf of the stem where the phrase uses it"""

    @classmethod
    def build(cls, phrases: Sequence[str], tokenize: Callable[[str], list[str]]) -> PhraseIndex:
        rows = [tuple(dict.fromkeys(tokenize(p))) for p in phrases]
        vocab = sorted({s for row in rows for s in row})
        pos = {s: i for i, s in enumerate(vocab)}
        df = Counter(s for row in rows for s in row)
        n = max(1, len(phrases))
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(r) for r in rows])
        cols = np.fromiter((pos[s] for row in rows for s in row), dtype=np.int64, count=int(indptr[-1]))
        data = np.fromiter((math.log(1 + n / df[s]) for row in rows for s in row), dtype=np.float64,
                           count=int(indptr[-1]))
        return cls(vocab, sp.csr_matrix((data, cols, indptr), shape=(len(rows), len(vocab))))

    @cached_property
    def _sorted(self) -> np.ndarray:
        return np.asarray(self.vocab, dtype=str) if self.vocab else np.zeros(0, dtype="<U1")

    @cached_property
    def _totals(self) -> np.ndarray:
        return np.asarray(self.matrix.sum(axis=1)).ravel()

    def used(self, question_stems: Sequence[str]) -> np.ndarray:
        """Per vocabulary stem: 1 where the question uses it, the same stem or one sharing a prefix of
        at least ``MIN_PREFIX`` letters with it ("founder" ~ "found")."""
        out = np.zeros(len(self.vocab))
        vocab = self._sorted
        for q in set(question_stems):
            lo = int(np.searchsorted(vocab, q))
            if lo < len(vocab) and vocab[lo] == q:
                out[lo] = 1.0
            if len(q) < MIN_PREFIX:
                continue
            out[lo : int(np.searchsorted(vocab, q + "\U0010ffff"))] = 1.0  # stems starting with q
            for cut in range(MIN_PREFIX, len(q)):  # stems that q starts with
                i = int(np.searchsorted(vocab, q[:cut]))
                if i < len(vocab) and vocab[i] == q[:cut]:
                    out[i] = 1.0
        return out

    def relevance(self, question_stems: Sequence[str]) -> np.ndarray:
        """Per phrase: the idf-weighted share of its stems the question uses (0..1)."""
        if not self.vocab:
            return np.zeros(self.matrix.shape[0])
        got = self.matrix @ self.used(question_stems)
        return np.divide(got, self._totals, out=np.zeros_like(got), where=self._totals > 0)


def fact_relevance(facts: FactTable, phrase_rel: np.ndarray, kind_weight: Mapping[str, float]) -> np.ndarray:
    """Per triple: how much the question asks about it (phrase words + relation type similarity), at most 1."""
    if not len(facts):
        return np.zeros(0)
    kinds = np.array([kind_weight.get(k, 0.0) for k in facts.kinds])
    return np.minimum(1.0, phrase_rel[facts.phrase] + kinds[facts.kind])


def walk_facts(facts: FactTable, relevance: np.ndarray, seeds: Mapping[int, float], hops: int,
               beam: int) -> dict[int, float]:
    """Chunk index -> score: from ``seeds`` (entity -> weight) along triples with positive relevance,
    up to ``hops`` triples deep, keeping the ``beam`` best entities per hop. A path scores the
    product of the seed weight and the relevances along it; each triple's chunk keeps its best."""
    chunks: dict[int, float] = {}
    frontier = dict(seeds)
    seen = set(frontier)
    for _ in range(hops):
        reached: dict[int, float] = {}
        for e, w in frontier.items():
            rows = facts.by_entity[e]
            if not len(rows):
                continue
            rel = relevance[rows]
            for r, s in zip(rows[rel > 0].tolist(), (w * rel[rel > 0]).tolist()):
                c = int(facts.chunk[r])
                if s > chunks.get(c, 0.0):
                    chunks[c] = s
                other = int(facts.tail[r]) if int(facts.head[r]) == e else int(facts.head[r])
                if other not in seen and s > reached.get(other, 0.0):
                    reached[other] = s
        if not reached:
            break
        frontier = dict(sorted(reached.items(), key=lambda x: -x[1])[:beam])
        seen.update(frontier)
    return chunks
