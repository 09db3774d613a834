"""The knowledge graph in memory: entities and chunks as nodes of one sparse graph.

Node ids: entities are ``0 .. E-1`` and chunks ``E .. E+C-1``. Edges:
- entity - chunk, one per mention (a chunk's topic entity counts ``TOPIC_WEIGHT`` times);
- entity - entity, one per extracted triple (both directions);
- chunk - chunk, between consecutive chunks of a document (the lexical layer), weight ``NEXT_WEIGHT``.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from banyan.extract.schema import OTHER, RELATED
from banyan.graph.facts import FactTable
from banyan.graph.ppr import Walk, prepare_walk, transition
from banyan.graph.ragged import PairChunks, Ragged
from banyan.graph.resolve import NameGroup, group_mentions
from banyan.store import IndexStore
from banyan.text import bm25_tokens
from banyan.types import Entity

TOPIC_WEIGHT = 3.0
NEXT_WEIGHT = 0.2


@dataclass
class KnowledgeGraph:
    entity_ids: list[str]
    names: list[str]
    types: list[str]
    entity_chunks: np.ndarray
    """number of chunks that mention each entity"""
    norm_index: dict[str, int]
    chunk_ids: list[str]
    adjacency: sp.csr_matrix
    walk: Walk
    """the row-stochastic transitions of ``adjacency``, prepared for personalized PageRank (built once
    with the graph and kept in its array cache, so no reader derives them again)"""
    entity_vectors: np.ndarray
    pair_chunks: PairChunks | None = None
    """chunks whose triples connect two entities (for path evidence)"""
    entity_neighbors: Ragged = field(default_factory=lambda: Ragged(np.zeros(1, np.int64), np.zeros(0, np.int64)))
    home: dict[int, list[int]] = field(default_factory=dict)
    """entity -> the chunk nodes it is the topic of (what the entity's own document says about it)"""
    typed: dict[str, sp.csr_matrix] = field(default_factory=dict)
    """entity-entity edges per relation type (symmetric, full node space), for query-aware walks"""
    facts: FactTable | None = None
    """every triple between two entities, for relation-aware walks (``graph.facts``)"""

    @property
    def n_entities(self) -> int:
        return len(self.entity_ids)

    def chunk_node(self, i: int) -> str:
        return self.chunk_ids[i - self.n_entities]

    def edges(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        """The neighbours of ``node`` and the weights of its edges to them: views of ``adjacency``'s
        arrays (read them, never write), without the cost of slicing a sparse matrix."""
        start, end = self.adjacency.indptr[node], self.adjacency.indptr[node + 1]
        return self.adjacency.indices[start:end], self.adjacency.data[start:end]

    # Derived once on first use, never stored in the array cache. Safe to share: two threads that
    # race to build one compute the same value and either may win.
    @cached_property
    def chunk_nodes(self) -> dict[str, int]:
        """Chunk id -> its node id."""
        n_e = self.n_entities
        return {c: n_e + i for i, c in enumerate(self.chunk_ids)}

    @classmethod
    def load(cls, store: IndexStore, vectors_model: str, dim: int,
             visible: Collection[str] | None = None) -> KnowledgeGraph:
        """The whole graph, or (``visible``) the graph a caller who sees only those chunks would
        have built: their mentions and triples only, entities and names with a visible mention."""
        mentions, triples = store.load_mentions(), store.load_triples()
        order = store.chunk_order()
        aliases = store.alias_index()
        ents = store.load_entities()
        if visible is not None:
            mentions = [m for m in mentions if m.chunk_id in visible]
            triples = [t for t in triples if t.chunk_id in visible]
            order = [row for row in order if row[0] in visible]
            groups = group_mentions(mentions)
            aliases = {norm: eid for norm, eid in aliases.items() if norm in groups}
            ents = _as_seen(ents, aliases, groups)
        entity_ids = [e.id for e in ents]
        pos = {eid: i for i, eid in enumerate(entity_ids)}
        norm_index = {norm: pos[eid] for norm, eid in aliases.items() if eid in pos}
        chunk_ids = [c for c, _, _ in order]
        n_e, n_c = len(entity_ids), len(chunk_ids)
        cpos = {c: n_e + i for i, c in enumerate(chunk_ids)}

        weights: dict[tuple[int, int], float] = defaultdict(float)
        home: dict[int, list[int]] = defaultdict(list)
        for m in mentions:
            e, c = norm_index.get(m.norm), cpos.get(m.chunk_id)
            if e is not None and c is not None:
                weights[(e, c)] += TOPIC_WEIGHT if m.topic else 1.0
                if m.topic and c not in home[e]:
                    home[e].append(c)
        pair_chunks: dict[tuple[int, int], set[int]] = defaultdict(set)
        typed_pairs: dict[str, dict[tuple[int, int], float]] = defaultdict(lambda: defaultdict(float))
        fact_rows: list[tuple[int, int, int, str, str]] = []
        for t in triples:
            a, b = norm_index.get(t.head), norm_index.get(t.tail)
            if a is None or b is None or a == b:
                continue
            if t.chunk_id in cpos:
                fact_rows.append((a, b, cpos[t.chunk_id] - n_e, t.phrase, t.type))
            key = (min(a, b), max(a, b))
            weights[key] += 1.0
            if t.chunk_id in cpos:
                pair_chunks[key].add(cpos[t.chunk_id] - n_e)
            if t.type != RELATED:
                typed_pairs[t.type][key] += 1.0
        for (c1, d1, _), (c2, d2, _) in itertools.pairwise(order):
            if d1 == d2:
                weights[(cpos[c1], cpos[c2])] += NEXT_WEIGHT
        n = n_e + n_c
        adjacency = _symmetric(weights, n)
        typed = {kind: _symmetric(pairs, n) for kind, pairs in typed_pairs.items()}
        ent_chunk = adjacency[:n_e, n_e:]
        counts = np.asarray((ent_chunk > 0).sum(axis=1)).ravel() if n_e else np.zeros(0)
        ee = adjacency[:n_e, :n_e].tocsr()
        neighbors = Ragged(ee.indptr.astype(np.int64), ee.indices.astype(np.int64))
        names = [e.name for e in ents]
        have = store.text_vectors(vectors_model, names)
        vecs = np.stack([have.get(nm, np.zeros(dim, np.float32)) for nm in names]) if names else np.zeros((0, dim))
        return cls(entity_ids, names, [e.type for e in ents], counts, norm_index, chunk_ids, adjacency,
                   prepare_walk(transition(adjacency)), vecs.astype(np.float32),
                   PairChunks.of(pair_chunks, chunk_ids, max(1, n_e)), neighbors, dict(home), typed,
                   FactTable.build(fact_rows, n_e, bm25_tokens))


def _symmetric(weights: dict[tuple[int, int], float], n: int) -> sp.csr_matrix:
    if not weights:
        return sp.csr_matrix((n, n))
    rows, cols = np.array(list(weights)).T
    vals = np.fromiter(weights.values(), dtype=np.float64)
    upper = sp.coo_matrix((vals, (rows, cols)), shape=(n, n))
    return (upper + upper.T).tocsr()


def _as_seen(ents: list[Entity], aliases: dict[str, str], groups: dict[str, NameGroup]) -> list[Entity]:
    """The entities that have a visible name, named and typed as resolution would have from the
    visible mentions alone (its canonical name and type may come from hidden chunks: an acronym
    seen in public text must not show the full name that only a restricted document spells out)."""
    norms: dict[str, list[str]] = defaultdict(list)
    for norm, eid in aliases.items():
        norms[eid].append(norm)
    out = []
    for e in ents:
        names = sorted(norms.get(e.id, ()), key=lambda n: (-len(groups[n].chunks), n))
        if not names:
            continue
        typed = [groups[n].type for n in names if groups[n].type != OTHER]
        kind = Counter(typed).most_common(1)[0][0] if typed else OTHER
        out.append(replace(e, name=groups[names[0]].name, type=kind,
                           n_chunks=len(set().union(*(groups[n].chunks for n in names))), aliases=tuple(names)))
    return out
