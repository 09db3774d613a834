"""Graph retrieval routes: entity linking, entity, personalized PageRank and path routes.

Linking: every n-gram of the normalized query that names a known entity links to it exactly;
mentions found by the extractor in the query also link by embedding similarity of names.
PPR then walks the entity-chunk graph from the linked entities (weighted by specificity, so a
rare entity counts more than one named in hundreds of chunks) and from the best passages of
the hybrid route, and ranks chunks by where the walk settles.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from banyan.extract.schema import Schema
from banyan.graph.kg import KnowledgeGraph
from banyan.graph.ppr import bounded_paths, personalized_pagerank, transition
from banyan.index.vectors import top_k
from banyan.retrieve.query import Query
from banyan.settings import GraphSettings
from banyan.text import detect_lang, has_han, is_function_word, normalize_name, pos_tag_zh
from banyan.types import Hit

MAX_NGRAM = 6
RELATION_FLOOR = 0.2
_SPACY_LOCK = threading.Lock()


def _named(tokens: list[str], i: int, n: int) -> bool:
    """Whether query tokens i..i+n look like a name: a capitalized word (not just the question's
    first word), a number, or Chinese text. Stops "die" or "birth" linking to entities so named."""
    for j in range(i, i + n):
        t = tokens[j]
        if has_han(t) or t[0].isdigit() or (t[0].isupper() and (j > 0 or n > 1)):
            return True
    return False


def exact_links(tokens: list[str], norm_index: dict[str, int], lang: str = "en") -> dict[int, float]:
    """Entities named by n-grams of the query's tokens; a match inside a longer match is dropped.
    An n-gram made only of function words never links."""
    words = [normalize_name(t) for t in tokens]
    found: list[tuple[int, int, int]] = []  # (start, end, entity)
    for n in range(min(MAX_NGRAM, len(words)), 0, -1):
        for i in range(len(words) - n + 1):
            gram = " ".join(w for w in words[i : i + n] if w)
            if (len(gram) < 2 or all(is_function_word(w, lang) for w in gram.split())
                    or not _named(tokens, i, n)):
                continue
            e = norm_index.get(gram)
            if e is not None and not any(s <= i and i + n <= t for s, t, _ in found):
                found.append((i, i + n, e))
    return {e: 1.0 for _, _, e in found}


def query_mentions(query: str, schema: Schema) -> list[str]:
    """Entity-like spans of the query, by the same NLP and schema the extractor uses."""
    if detect_lang(query) == "zh":
        return [w for w, f in pos_tag_zh(query) if schema.entity_type_for_pos(f) and len(w) > 1]
    from banyan.extract.english import load_spacy, sentence_mentions

    nlp = load_spacy()
    with _SPACY_LOCK:  # one pipeline shared by all threads; spaCy does not promise it is reentrant
        doc = nlp(query)
    return [doc[s:e].text for sent in doc.sents for s, e, _ in sentence_mentions(sent, schema)]


@dataclass(frozen=True)
class GraphRetriever:
    """The graph routes over one loaded ``KnowledgeGraph``. Read-only once built: shared by threads."""

    kg: KnowledgeGraph
    cfg: GraphSettings
    embed_texts: Callable[[list[str]], np.ndarray]
    schema: Schema
    score_chunks: Callable[[np.ndarray, list[str]], np.ndarray] | None = None
    """dense similarity of a query vector to given chunks (for ranking bridge candidates)"""
    relation_types: list[str] = field(default_factory=list)
    relation_vectors: np.ndarray | None = None
    mentions: Callable[[str, Schema], list[str]] = query_mentions
    community_vectors: np.ndarray | None = None
    community_members: list[np.ndarray] = field(default_factory=list)
    """entity node ids of each level-0 community (empty until `banyan communities build`)"""

    def relation_weights(self, q: Query) -> dict[str, float]:
        """How strongly the query asks about each relation type (cosine above a floor)."""
        if self.relation_vectors is None or not self.relation_types:
            return {}
        sims = self.relation_vectors @ q.vector
        return {t: float(s - RELATION_FLOOR) for t, s in zip(self.relation_types, sims) if s > RELATION_FLOOR}

    def transition_for(self, q: Query) -> sp.csr_matrix:
        """The walk's transitions, with edges of the relation types the query asks about boosted."""
        if self.cfg.relation_boost <= 0:
            return self.kg.trans
        weights = {t: w for t, w in self.relation_weights(q).items() if t in self.kg.typed}
        if not weights:
            return self.kg.trans
        adj = self.kg.adjacency.copy()
        for t, w in weights.items():
            adj = adj + (self.cfg.relation_boost * w) * self.kg.typed[t]
        return transition(adj.tocsr())

    def link(self, q: Query) -> dict[int, float]:
        """Entities the question names: exact n-grams, then extracted mentions by name similarity."""
        links = exact_links(q.tokens, self.kg.norm_index, q.lang)
        spans = [m for m in self.mentions(q.text, self.schema) if normalize_name(m) not in self.kg.norm_index]
        if spans and self.kg.n_entities:
            sims = self.embed_texts(spans) @ self.kg.entity_vectors.T
            for row in sims:
                best = int(row.argmax())
                if row[best] >= self.cfg.link_threshold:
                    links[best] = max(links.get(best, 0.0), float(row[best]))
        return links

    def entity_route(self, links: dict[int, float], k: int) -> list[Hit]:
        """Chunks that mention the linked entities, by mention weight x entity specificity."""
        if not links:
            return []
        n_e = self.kg.n_entities
        scores = np.zeros(len(self.kg.chunk_ids))
        for e, s in links.items():
            row = self.kg.adjacency[e, n_e:]
            scores[row.indices] += s * row.data / max(1.0, float(self.kg.entity_chunks[e]))
        return [Hit(self.kg.chunk_ids[i], float(scores[i]), ("entity",)) for i in top_k(scores, k) if scores[i] > 0]

    def ppr_route(self, q: Query, passages: Sequence[Hit], k: int) -> list[Hit]:
        """Personalized PageRank from the linked entities (by specificity) and the best passages."""
        links = q.links
        n_e = self.kg.n_entities
        seeds = np.zeros(n_e + len(self.kg.chunk_ids))
        for e, s in links.items():
            seeds[e] = s / max(1.0, float(self.kg.entity_chunks[e]))
        if seeds.sum() > 0:
            seeds /= seeds.sum()
        index = {c: n_e + i for i, c in enumerate(self.kg.chunk_ids)}
        top = passages[: self.cfg.seed_passages]
        total = sum(h.score for h in top) or 1.0
        weight = self.cfg.passage_seed_weight if links else 1.0
        for h in top:
            if h.chunk_id in index:
                seeds[index[h.chunk_id]] += weight * h.score / total
        if seeds.sum() <= 0:
            return []
        trans = self.transition_for(q)
        scores = personalized_pagerank(trans, seeds, self.cfg.ppr_damping)[n_e:]
        return [Hit(self.kg.chunk_ids[i], float(scores[i]), ("ppr",)) for i in top_k(scores, k) if scores[i] > 0]

    def home_route(self, links: dict[int, float], ranked: Sequence[Hit]) -> list[Hit]:
        """The linked entities' own chunks, in the order of ``ranked`` (the question names them)."""
        first = {self.kg.chunk_node(c) for e in links for c in self.kg.home.get(e, [])}
        return [Hit(h.chunk_id, h.score, ("home",)) for h in ranked if h.chunk_id in first]

    def bridge_route(self, q: Query, k: int) -> list[Hit]:
        """Two hops through documents: the linked entities' own chunks -> the entities those chunks
        mention -> those entities' own chunks, ranked by dense similarity to the query. This is how
        "the director of film X" reaches the director's page though the question never names him."""
        links = q.links
        if not links or self.score_chunks is None:
            return []
        n_e = self.kg.n_entities
        first = {c for e in links for c in self.kg.home.get(e, [])}
        cands: set[int] = set()
        for c1 in first:
            row = self.kg.adjacency[c1, :n_e]
            for e2 in row.indices:
                cands.update(self.kg.home.get(int(e2), []))
        cands -= first
        if not cands:
            return []
        order = sorted(cands)
        ids = [self.kg.chunk_node(c) for c in order]
        scores = self.score_chunks(q.vector, ids)
        return [Hit(ids[i], float(scores[i]), ("bridge",)) for i in top_k(scores, k)]

    def community_route(self, q: Query, k: int, top: int = 3) -> list[Hit]:
        """Chunks of the communities whose keywords best match the query (top-down filter)."""
        if self.community_vectors is None or not len(self.community_members) or self.score_chunks is None:
            return []
        sims = self.community_vectors @ q.vector
        chunks: list[int] = []
        for c in top_k(sims, top):
            for e in self.community_members[c]:
                chunks.extend(self.kg.home.get(int(e), []))
        if not chunks:
            return []
        ids = list(dict.fromkeys(self.kg.chunk_node(c) for c in chunks))
        scores = self.score_chunks(q.vector, ids)
        return [Hit(ids[i], float(scores[i]), ("community",)) for i in top_k(scores, k)]

    def path_route(self, links: dict[int, float], k: int) -> list[Hit]:
        """Chunks whose triples lie on short paths between linked entities."""
        ents = sorted(links)
        if len(ents) < 2:
            return []
        paths = bounded_paths(self.kg.entity_neighbors, ents, set(ents), self.cfg.path_hops)
        scores: dict[str, float] = {}
        for path in paths:
            for a, b in itertools.pairwise(path):
                for c in self.kg.pair_chunks.get((min(a, b), max(a, b)), ()):
                    scores[c] = scores.get(c, 0.0) + 1.0 / len(path)
        ranked = sorted(scores.items(), key=lambda x: -x[1])[:k]
        return [Hit(c, s, ("path",)) for c, s in ranked]
