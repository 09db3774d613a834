"""Graph retrieval routes: entity, personalized PageRank, home, bridge, fact, community and path.

Linking (``retrieve.linking``): every n-gram of the normalized query that names a known entity links
to it exactly; the question's other name-like spans link by embedding similarity of names.
PPR then walks the entity-chunk graph from the linked entities (weighted by specificity, so a
rare entity counts more than one named in hundreds of chunks) and from the best passages of
the hybrid route, and ranks chunks by where the walk settles.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from banyan.extract.schema import Schema
from banyan.graph.facts import MAX_STEMS, triple_relevance, walk_facts
from banyan.graph.kg import KnowledgeGraph
from banyan.graph.ppr import Walk, bounded_paths, prepare_walk, transition
from banyan.graph.push import compiled, pagerank_from, power_from
from banyan.index.vectors import top_k
from banyan.retrieve.homes import other_homonyms, without_names
from banyan.retrieve.linking import exact_links, parenthesized, qualifiers, query_mentions
from banyan.retrieve.query import Query
from banyan.settings import GraphSettings
from banyan.text import bm25_tokens, is_function_word, normalize_name
from banyan.types import Hit, PhraseReading

log = logging.getLogger(__name__)

RELATION_FLOOR = 0.2
NAME_SHARE = 0.5
"""``used_as_name``: the least share of the chunks holding a name's words that must mention the entity"""


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
    chunk_titles: Callable[[list[str]], dict[str, str]] | None = None
    """the document title of each given chunk (``IndexStore.chunk_titles``)"""
    read_phrase: Callable[[Sequence[str]], PhraseReading] | None = None
    """how the corpus (as the caller may read it) uses a phrase typed without capitals (``app.corpus.CorpusReader``)"""
    covers: Callable[[str], bool] | None = None
    """whether the embedder reads a language (``embed.covers``); None: every language. Where it does not
    (an English model, a Chinese question), the routes use no embedding, as the dense route does not"""

    def __post_init__(self) -> None:
        if self.cfg.ppr_method == "push" and not compiled():
            log.warning("graph.ppr_method is push, but banyan's compiled PageRank loop is not installed (reinstall "
                        "banyan with a C compiler present: pip install --no-cache-dir --force-reinstall): graph "
                        "mode walks by power iteration")

    def dense(self, q: Query) -> bool:
        """Whether embeddings mean anything for this question's language."""
        return self.covers is None or self.covers(q.lang)

    def relation_weights(self, q: Query) -> dict[str, float]:
        """How strongly the query asks about each relation type (cosine above a floor)."""
        if self.relation_vectors is None or not self.relation_types or not self.dense(q):
            return {}
        sims = self.relation_vectors @ q.vector
        return {t: float(s - RELATION_FLOOR) for t, s in zip(self.relation_types, sims) if s > RELATION_FLOOR}

    def walk_for(self, q: Query) -> Walk:
        """The walk's transitions, with edges of the relation types the query asks about boosted:
        the graph's own walk (prepared once per graph) when nothing is boosted."""
        if self.cfg.relation_boost <= 0:
            return self.kg.walk
        weights = {t: w for t, w in self.relation_weights(q).items() if t in self.kg.typed}
        if not weights:
            return self.kg.walk
        adj = self.kg.adjacency.copy()
        for t, w in weights.items():
            adj = adj + (self.cfg.relation_boost * w) * self.kg.typed[t]
        return prepare_walk(transition(adj.tocsr()), self.kg.walk.order)  # same nodes: the graph's order

    def link(self, q: Query) -> dict[int, float]:
        """Entities the question names: exact n-grams, then extracted mentions by name similarity."""
        links = exact_links(q.tokens, self.kg.norm_index, q.lang, parenthesized(q.text, q.tokens), self.used_as_name)
        if not self.kg.n_entities or not self.dense(q):
            return links
        qualified = qualifiers(q.text)
        spans = [m for m in self.mentions(q.text, self.schema)
                 if normalize_name(m) not in self.kg.norm_index and normalize_name(m) not in qualified]
        if spans:
            sims = self.embed_texts(spans) @ self.kg.entity_vectors.T
            for row in sims:
                best = int(row.argmax())
                if row[best] >= self.cfg.link_threshold:
                    links[best] = max(links.get(best, 0.0), float(row[best]))
        return links

    def used_as_name(self, entity: int, words: Sequence[str]) -> bool:
        """For a question whose casing says nothing (``linking.uncased``): whether the corpus writes
        ``words`` as a name where it uses them ("Lumen Bridge" yes, "meeting notes" no), or
        where no occurrence tells, whether ``entity`` is mentioned in at least half of the chunks
        holding them all."""
        if self.read_phrase is None:
            return False
        reading = self.read_phrase(words)
        if reading.written_as_name is not None:
            return reading.written_as_name
        if not reading.chunks:
            return False
        nodes, _ = self.kg.edges(entity)
        mentioned = {self.kg.chunk_node(int(c)) for c in nodes[nodes >= self.kg.n_entities]}
        return NAME_SHARE * len(reading.chunks) <= sum(c in mentioned for c in reading.chunks)

    def _fact_question(self, q: Query) -> tuple[list[str], set[str]]:
        """The question's content stems (at most ``MAX_STEMS``) and those the linked entities' names use."""
        named = {s for e in q.links for s in bm25_tokens(self.kg.names[e])}
        stems = [s for s in dict.fromkeys(q.stems) if not is_function_word(s, q.lang)][:MAX_STEMS]
        return stems, named

    def fact_ceiling(self, q: Query) -> float:
        """The most of the question any fact path could explain, found without walking: the share of its
        words that a linked entity names or some relation phrase in the graph uses."""
        facts = self.kg.facts
        if facts is None or not len(facts) or not q.links:
            return 0.0
        stems, named = self._fact_question(q)
        if not stems or all(s in named for s in stems):
            return 0.0
        return sum(s in named or bool(facts.index.matches(s)) for s in stems) / len(stems)

    def fact_route(self, q: Query, k: int) -> list[Hit]:
        """Chunks stating the relations the question asks about, from the entities it names, along
        up to ``graph.fact_hops`` triples (``graph.facts.walk_facts``)."""
        facts, links = self.kg.facts, q.links
        if facts is None or not len(facts) or not links:
            return []
        stems, named = self._fact_question(q)
        asked = [s for s in stems if s not in named]
        if not asked:
            return []
        relevance = triple_relevance(facts, facts.index.relevance(asked), self.relation_weights(q))
        # a seed counts by how specific it is (idf over chunks): a nationality word inside a title less than the title
        n_chunks = max(2, len(self.kg.chunk_ids))
        seeds = {e: w * math.log(n_chunks / max(1.0, float(self.kg.entity_chunks[e]))) / math.log(n_chunks)
                 for e, w in links.items()}
        named_mask = sum(1 << i for i, s in enumerate(stems) if s in named)
        paths = walk_facts(facts, relevance, seeds, self.cfg.fact_hops, self.cfg.fact_beam,
                           facts.index.stem_masks(stems), named_mask)
        ranked = sorted(paths.items(), key=lambda x: (-x[1].score, x[0]))[:k]
        return [Hit(self.kg.chunk_ids[c], float(p.score), ("facts",), p.coverage(len(stems))) for c, p in ranked]

    def entity_route(self, links: dict[int, float], k: int) -> list[Hit]:
        """Chunks that mention the linked entities, by mention weight x entity specificity."""
        if not links:
            return []
        n_e = self.kg.n_entities
        scores = np.zeros(len(self.kg.chunk_ids))
        for e, s in links.items():
            nodes, weights = self.kg.edges(e)
            chunk = nodes >= n_e
            scores[nodes[chunk] - n_e] += s * weights[chunk] / max(1.0, float(self.kg.entity_chunks[e]))
        return [Hit(self.kg.chunk_ids[i], float(scores[i]), ("entity",)) for i in top_k(scores, k) if scores[i] > 0]

    def ppr_route(self, q: Query, passages: Sequence[Hit], k: int) -> list[Hit]:
        """Personalized PageRank from the linked entities (by specificity) and the best passages."""
        links = q.links
        n_e = self.kg.n_entities
        seeds = {e: s / max(1.0, float(self.kg.entity_chunks[e])) for e, s in links.items()}
        total = sum(seeds.values())
        if total > 0:
            seeds = {e: w / total for e, w in seeds.items()}
        index = self.kg.chunk_nodes
        top = passages[: self.cfg.seed_passages]
        total = sum(h.score for h in top) or 1.0
        weight = self.cfg.passage_seed_weight if links else 1.0
        for h in top:
            if h.chunk_id in index:
                node = index[h.chunk_id]
                seeds[node] = seeds.get(node, 0.0) + weight * h.score / total
        if sum(seeds.values()) <= 0:
            return []
        walk = self.walk_for(q)
        nodes, weights = np.fromiter(seeds, np.int64, len(seeds)), np.fromiter(seeds.values(), np.float64, len(seeds))
        if self.cfg.ppr_method == "push" and compiled():
            reached, walked = pagerank_from(walk, nodes, weights, self.cfg.ppr_damping, self.cfg.ppr_eps,
                                            self.cfg.ppr_tol)
        else:
            reached, walked = power_from(walk, nodes, weights, self.cfg.ppr_damping, self.cfg.ppr_tol)
        chunks = reached >= n_e
        reached, walked = reached[chunks], walked[chunks]
        by_node = np.argsort(reached)  # ties rank by node id, whatever order the walk reached them in
        reached, walked = reached[by_node], walked[by_node]
        best = top_k(walked, k)
        ids = self.kg.chunk_ids
        return [Hit(ids[i - n_e], s, ("ppr",)) for i, s in zip(reached[best].tolist(), walked[best].tolist()) if s > 0]

    def home_route(self, q: Query, ranked: Sequence[Hit]) -> list[Hit]:
        """The linked entities' own chunks (the question names them), in the order of ``ranked``. Where
        documents titled by an entity's name are about it, only the one whose title the question
        states most fully counts (``retrieve.homes.other_homonyms``)."""
        owner = {self.kg.chunk_node(c): e for e in q.links for c in self.kg.home.get(e, [])}
        homes = [h for h in ranked if h.chunk_id in owner]
        if len(homes) > 1 and self.chunk_titles is not None:
            titles = self.chunk_titles([h.chunk_id for h in homes])
            pairs = {h.chunk_id: (owner[h.chunk_id], titles.get(h.chunk_id, "")) for h in homes}
            passed = other_homonyms(pairs, self.kg.names, q.text)
            homes = [h for h in homes if pairs[h.chunk_id] not in passed]
        return [Hit(h.chunk_id, h.score, ("home",)) for h in homes]

    def bridge_route(self, q: Query, k: int) -> list[Hit]:
        """Two hops through documents: the linked entities' own chunks -> the entities those chunks
        mention -> those entities' own chunks, ranked by dense similarity to what the question asks of
        them (``without_names``). This is how "the architect of the museum X" reaches the architect's
        page though the question never names her."""
        links = q.links
        if not links or self.score_chunks is None or not self.dense(q):
            return []
        n_e = self.kg.n_entities
        first = {c for e in links for c in self.kg.home.get(e, [])}
        cands: set[int] = set()
        for c1 in first:
            nodes, _ = self.kg.edges(c1)
            for e2 in nodes[nodes < n_e].tolist():
                cands.update(self.kg.home.get(e2, []))
        cands -= first
        if not cands:
            return []
        order = sorted(cands)
        ids = [self.kg.chunk_node(c) for c in order]
        scores = self.score_chunks(without_names(q.vector, self.kg.entity_vectors[sorted(links)]), ids)
        return [Hit(ids[i], float(scores[i]), ("bridge",)) for i in top_k(scores, k)]

    def community_route(self, q: Query, k: int, top: int = 3) -> list[Hit]:
        """Chunks of the communities whose keywords best match the query (top-down filter)."""
        if (self.community_vectors is None or not len(self.community_members) or self.score_chunks is None
                or not self.dense(q)):
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
