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

How much of the question a path explains (``WalkHit.explained``): the question's content words that
the entities it starts from name or its relation phrases use. "Where was Zofia Novak born?" reaching
the chunk stating ``zofia novak -[born in]-> tbilisi`` is explained whole; "What radiation technique
is used for primary CNS lymphoma?" walking ``CNS -[used in]-> ...`` is explained in small part, and
the chunk it reaches says something else. Fusion weighs the route by it (``retrieve.search``).
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from banyan.graph.ragged import Ragged, row_entries

MIN_PREFIX = 4
"""two stems match when one starts with the other and the shorter has at least this many letters"""
MAX_STEMS = 62
"""question words tracked by ``PhraseIndex.stem_masks`` (the bits of an int64)"""


@dataclass(frozen=True, slots=True)
class WalkHit:
    """A chunk reached by the fact walk: the best path's score, and the question words that path
    explains (a bit mask over the question's stems: those its seed names plus those its phrases use)."""

    score: float
    explained: int = 0

    def coverage(self, n_stems: int) -> float:
        """The share of the question's ``n_stems`` content words this path explains."""
        return min(1.0, self.explained.bit_count() / n_stems) if n_stems else 0.0


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
    def _totals(self) -> np.ndarray:
        return np.asarray(self.matrix.sum(axis=1)).ravel()

    @cached_property
    def _by_stem(self) -> sp.csc_matrix:
        """``matrix`` by column: the phrases that use each vocabulary stem."""
        return self.matrix.tocsc()

    def matches(self, stem: str) -> list[int]:
        """The vocabulary stems a question word matches: itself, and, for words of at least
        ``MIN_PREFIX`` letters, the stems starting with it and those it starts with ("founder" ~
        "found")."""
        vocab = self.vocab
        lo = bisect.bisect_left(vocab, stem)
        out = [lo] if lo < len(vocab) and vocab[lo] == stem else []
        if len(stem) < MIN_PREFIX:
            return out
        out.extend(range(lo + len(out), bisect.bisect_left(vocab, stem + "\U0010ffff", lo)))  # starting with it
        for cut in range(MIN_PREFIX, len(stem)):  # that it starts with
            i = bisect.bisect_left(vocab, stem[:cut], 0, lo)
            if i < len(vocab) and vocab[i] == stem[:cut]:
                out.append(i)
        return out

    def used(self, question_stems: Sequence[str]) -> np.ndarray:
        """Per vocabulary stem: 1 where the question uses it (``matches``)."""
        out = np.zeros(len(self.vocab))
        out[self._used_columns(question_stems)] = 1.0
        return out

    def _used_columns(self, question_stems: Sequence[str]) -> np.ndarray:
        """The vocabulary stems the question uses, sorted."""
        return np.array(sorted({c for q in set(question_stems) for c in self.matches(q)}), dtype=np.int64)

    def stem_masks(self, stems: Sequence[str]) -> np.ndarray:
        """Per phrase, a bit mask of the ``stems`` it uses (bit i for ``stems[i]``, matched as in
        ``matches``; at most ``MAX_STEMS`` stems are tracked)."""
        masks = np.zeros(self.matrix.shape[0], dtype=np.int64)
        by_stem = self._by_stem
        for i, stem in enumerate(stems[:MAX_STEMS]):
            for col in self.matches(stem):
                masks[by_stem.indices[by_stem.indptr[col]:by_stem.indptr[col + 1]]] |= np.int64(1) << i
        return masks

    def relevance(self, question_stems: Sequence[str]) -> np.ndarray:
        """Per phrase: the idf-weighted share of its stems the question uses (0..1)."""
        n_phrases = self.matrix.shape[0]
        if not self.vocab:
            return np.zeros(n_phrases)
        by_stem = self._by_stem  # the few stems a question uses touch few phrases: add up only theirs
        entries, _ = row_entries(by_stem.indptr, self._used_columns(question_stems))
        phrases = by_stem.indices[entries]
        # (as float: numpy counts an empty selection in integers, weights or not)
        got = np.bincount(phrases, weights=by_stem.data[entries], minlength=n_phrases).astype(np.float64, copy=False)
        touched = np.flatnonzero(got)  # the phrases with a used stem (idf weights are positive)
        got[touched] /= self._totals[touched]
        return got


@dataclass(frozen=True)
class TripleRelevance:
    """How much the question asks about each triple (phrase words + relation type similarity, at most
    1), computed for the rows a walk reads (``relevance[rows]``) rather than for every triple."""

    facts: FactTable
    phrase_rel: np.ndarray
    """per phrase (``PhraseIndex.relevance``)"""
    kind_rel: np.ndarray
    """per relation type"""

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        return np.minimum(1.0, self.phrase_rel[self.facts.phrase[rows]] + self.kind_rel[self.facts.kind[rows]])


def triple_relevance(facts: FactTable, phrase_rel: np.ndarray, kind_weight: Mapping[str, float]) -> TripleRelevance:
    """The question's relevance of every triple, read on demand (``TripleRelevance``)."""
    return TripleRelevance(facts, phrase_rel, np.array([kind_weight.get(k, 0.0) for k in facts.kinds]))


def walk_facts(facts: FactTable, relevance: np.ndarray | TripleRelevance, seeds: Mapping[int, float], hops: int,
               beam: int, phrase_masks: np.ndarray | None = None, named: int = 0) -> dict[int, WalkHit]:
    """Chunk index -> its best path: from ``seeds`` (entity -> weight) along triples with positive
    relevance, up to ``hops`` triples deep, keeping the ``beam`` best entities per hop. A path scores
    the product of the seed weight and the relevances along it; each triple's chunk keeps its best
    path (on equal scores, the one explaining more; on a full tie, the one met first). ``phrase_masks``
    (``PhraseIndex.stem_masks``) and ``named`` (the mask of the words the seeds' names use) give each
    path's explained words.

    Each hop is a few array operations over every triple of the frontier: the best path to each chunk
    and to each newly reached entity is the first of the steps that maximize (score, explained words),
    the order a loop over the frontier (best entity first) and its triples would meet them in."""
    if not seeds:
        return {}
    at = np.fromiter(seeds, dtype=np.int64, count=len(seeds))
    score = np.fromiter(seeds.values(), dtype=np.float64, count=len(seeds))
    explained = np.full(len(seeds), named, dtype=np.int64)
    seen = np.zeros(len(facts.by_entity), dtype=bool)
    seen[at] = True
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (chunk, score, explained) per hop
    for _ in range(hops):
        rows, source = _incident(facts.by_entity, at)
        rel = relevance[rows]
        keep = rel > 0
        rows, source = rows[keep], source[keep]
        step_score = score[source] * rel[keep]
        step_explained = explained[source]
        if phrase_masks is not None:
            step_explained = step_explained | phrase_masks[facts.phrase[rows]]
        found.append((facts.chunk[rows], step_score, step_explained))
        head, tail = facts.head[rows], facts.tail[rows]
        other = np.where(head == at[source], tail, head)
        new = ~seen[other]
        if not new.any():
            break
        first, best = _best_by_key(other[new], step_score[new], step_explained[new])
        reached = other[new][best]
        by_score = np.lexsort((first, -step_score[new][best]))[:beam]  # best first; ties: met first
        pick = best[by_score]
        at, score, explained = reached[by_score], step_score[new][pick], step_explained[new][pick]
        seen[at] = True
    if not found:
        return {}
    chunk, chunk_score, chunk_explained = (np.concatenate(col) for col in zip(*found))
    _, best = _best_by_key(chunk, chunk_score, chunk_explained)
    return {c: WalkHit(s, m) for c, s, m in zip(chunk[best].tolist(), chunk_score[best].tolist(),
                                               chunk_explained[best].tolist())}


def _incident(by_entity: Ragged, entities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of every entity in ``entities`` (in that order) and, for each row, the position of
    its entity in ``entities``."""
    entries, counts = row_entries(by_entity.indptr, entities)
    return by_entity.values[entries], np.repeat(np.arange(len(entities)), counts)


def _best_by_key(key: np.ndarray, score: np.ndarray, explained: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct key, in the order keys first occur: that first occurrence, and the position of
    the first of the entries with the highest (score, number of explained words)."""
    idx = np.arange(len(key))
    order = np.lexsort((idx, -np.bitwise_count(explained).astype(np.int64), -score, key))
    sorted_key = key[order]
    lead = np.ones(len(key), dtype=bool)
    lead[1:] = sorted_key[1:] != sorted_key[:-1]
    best = order[lead]
    first = np.minimum.reduceat(idx[order], np.flatnonzero(lead))
    by_first = np.argsort(first, kind="stable")
    return first[by_first], best[by_first]
