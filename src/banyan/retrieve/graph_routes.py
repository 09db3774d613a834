"""Graph retrieval routes: entity linking, entity, personalized PageRank and path routes.

Linking: every n-gram of the normalized query that names a known entity links to it exactly;
mentions found by the extractor in the query also link by embedding similarity of names.
PPR then walks the entity-chunk graph from the linked entities (weighted by specificity, so a
rare entity counts more than one named in hundreds of chunks) and from the best passages of
the hybrid route, and ranks chunks by where the walk settles.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from banyan.extract.schema import Schema
from banyan.graph.facts import MAX_STEMS, triple_relevance, walk_facts
from banyan.graph.kg import KnowledgeGraph
from banyan.graph.ppr import Walk, bounded_paths, personalized_pagerank, prepare_walk, transition
from banyan.index.vectors import top_k
from banyan.retrieve.query import Query
from banyan.settings import GraphSettings
from banyan.text import (
    NAME_CONNECTORS,
    bm25_tokens,
    detect_lang,
    has_han,
    is_function_word,
    normalize_name,
    pos_tag_zh,
)
from banyan.types import Hit

MAX_NGRAM = 12
"""the longest query n-gram looked up as an entity name, in words: film and book titles with their
disambiguator run past 6 ("The Trail of the Lonesome Pine (1923 film)" is 8); in the 2Wiki graph 10
of 36,020 names are longer than 12"""
RELATION_FLOOR = 0.2


def _named(tokens: list[str], i: int, n: int) -> bool:
    """Whether query tokens i..i+n look like a name: a capitalized word (not just the question's
    first word), a number, or Chinese text. Stops "die" or "birth" linking to entities so named."""
    for j in range(i, i + n):
        t = tokens[j]
        if has_han(t) or t[0].isdigit() or (t[0].isupper() and (j > 0 or n > 1)):
            return True
    return False


def parenthesized(text: str, tokens: Sequence[str]) -> list[bool]:
    """Per token of ``text`` (in order, as ``Query.tokens`` splits it): whether it stands inside
    parentheses, half- or full-width."""
    out: list[bool] = []
    depth, pos = 0, 0
    for t in tokens:
        at = text.find(t, pos)
        if at < 0:
            out.append(False)
            continue
        between = text[pos:at]
        depth = max(0, depth + sum(between.count(c) for c in "(（") - sum(between.count(c) for c in ")）"))
        out.append(depth > 0)
        pos = at + len(t)
    return out


def exact_links(tokens: list[str], norm_index: dict[str, int], lang: str = "en",
                qualifier: Sequence[bool] = ()) -> dict[int, float]:
    """Entities named by n-grams of the query's tokens; a match inside a longer match is dropped.
    An n-gram made only of function words never links, nor one inside parentheses (``qualifier``:
    "B Boy (Song)", "Palo Alto (2013 Film)" qualify the name before them and name no entity)."""
    words = [normalize_name(t) for t in tokens]
    found: list[tuple[int, int, int]] = []  # (start, end, entity)
    for n in range(min(MAX_NGRAM, len(words)), 0, -1):
        for i in range(len(words) - n + 1):
            gram = " ".join(w for w in words[i : i + n] if w)
            if (len(gram) < 2 or all(is_function_word(w, lang) for w in gram.split())
                    or not _named(tokens, i, n) or (bool(qualifier) and all(qualifier[i : i + n]))):
                continue
            e = norm_index.get(gram)
            if e is not None and not any(s <= i and i + n <= t for s, t, _ in found):
                found.append((i, i + n, e))
    return {e: 1.0 for _, _, e in found}


_QUALIFIER = re.compile(r"\s*[(（][^()（）]*[)）]\s*$|,.*$")
_PARENTHESIZED = re.compile(r"[(（]([^()（）]*)[)）]")
_WORD = re.compile(r"[^\W_][\w'’.&-]*|&")
_QUOTED = re.compile(r'"([^"]{1,80})"|“([^”]{1,80})”')


def _name_like(word: str, first: bool) -> bool:
    """A capitalized word (not the question's first word when that is a function word: "Who", "Where")."""
    if not word[:1].isupper():
        return False
    return not (first and is_function_word(word, "en"))


def name_spans(query: str) -> list[str]:
    """Name-like spans of an English question by orthography alone: runs of capitalized words
    (joined by the extractor's name connectors, "of", "&", "de la"; a number may end a run: "Apollo
    11"), never across punctuation, and quoted titles. What the extractor's proper-noun runs find,
    without loading a tagger for one line."""
    spans = [m.group(1) or m.group(2) for m in _QUOTED.finditer(query)]
    words = [(m.group(0).rstrip(".").removesuffix("'s").removesuffix("’s"), m.start(), m.end())
             for m in _WORD.finditer(query)]

    def joined(a: int, b: int) -> bool:  # nothing but spaces between words a and b
        return not query[words[a][2]:words[b][1]].strip()

    i = 0
    while i < len(words):
        if not _name_like(words[i][0], i == 0):
            i += 1
            continue
        j = i + 1
        while j < len(words) and joined(j - 1, j):
            w = words[j][0]
            if w.isdigit():
                j += 1
                break
            if _name_like(w, False):
                j += 1
                continue
            k = j
            while k < len(words) and words[k][0].lower() in NAME_CONNECTORS and joined(k - 1, k):
                k += 1
            if k == j or k >= len(words) or not joined(k - 1, k) or not _name_like(words[k][0], False):
                break
            j = k + 1
        spans.append(" ".join(w for w, _, _ in words[i:j]))
        i = j
    return [s for s in dict.fromkeys(s.strip() for s in spans) if len(s) > 1]


def query_mentions(query: str, schema: Schema) -> list[str]:
    """Entity-like spans of the query: Chinese by the extractor's part-of-speech rules, English by
    orthography (``name_spans``), so a graph search never loads spaCy."""
    if detect_lang(query) == "zh":
        return [w for w, f in pos_tag_zh(query) if schema.entity_type_for_pos(f) and len(w) > 1]
    return name_spans(query)


def without_names(vector: np.ndarray, names: np.ndarray) -> np.ndarray:
    """The question's embedding with the directions of the names it links removed (projected onto
    their orthogonal complement), unit length: what it asks of the entities one hop away. For "Who
    is the father of the director of film Palo Alto?" the film's co-stars, whose pages mention Palo
    Alto, stop outranking its director, whose page is about directing. ``names``: rows of name vectors."""
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


def names_each_other(name: str, title: str) -> bool:
    """Whether a title names an entity: without its qualifier (a closing parenthesis, or what
    follows a comma) it has the name's words ("Edsel Ford (poet)", "Cherry Creek, Colorado"); or, in
    Latin script, one's words include all of the other's ("Princess Elisabeth of Prussia" names
    Princess Elisabeth Anna of Prussia, whom resolution merged it with). Not in Chinese, where a
    title's words include a name as part of a longer one: 上海轨道交通16号线 is not 上海."""
    a = set(bm25_tokens(name))
    if not a:
        return False
    if set(bm25_tokens(_QUALIFIER.sub("", title))) == a:
        return True
    b = set(bm25_tokens(title))
    return bool(b) and not has_han(title) and (a <= b or b <= a)


def title_fit(title: str, question: str, asked: set[str]) -> tuple[bool, float]:
    """How well the question states a title: written out whole in it (case aside), then the share
    of the title's words it uses (``title_coverage``). Larger is better."""
    return title.casefold() in question.casefold(), title_coverage(title, asked)


def other_homonyms(homes: Mapping[str, tuple[int, str]], names: Sequence[str], question: str) -> set[tuple[int, str]]:
    """(entity, title) pairs that do not count as the entity's home. Where documents titled by an
    entity's name are about it, the one whose title the question states best is its home
    (``title_fit``; the first given on a tie): not its homonyms ("Edsel Ford (poet)" for "Edsel
    Ford"), nor documents with other titles that resolution made about it. An entity no title names
    (a person in everyday notes) keeps all of them. ``homes``: chunk -> (entity, its document's
    title), in rank order."""
    named: dict[int, list[str]] = {}
    for e, title in homes.values():
        if title not in named.get(e, []) and names_each_other(names[e], title):
            named.setdefault(e, []).append(title)
    asked = set(bm25_tokens(question))
    best = {e: max(ts, key=lambda t: title_fit(t, question, asked)) for e, ts in named.items()}
    return {(e, t) for e, t in homes.values() if e in best and t != best[e]}


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
    """the document title of each given chunk"""

    def relation_weights(self, q: Query) -> dict[str, float]:
        """How strongly the query asks about each relation type (cosine above a floor)."""
        if self.relation_vectors is None or not self.relation_types:
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
        return prepare_walk(transition(adj.tocsr()))

    def link(self, q: Query) -> dict[int, float]:
        """Entities the question names: exact n-grams, then extracted mentions by name similarity."""
        links = exact_links(q.tokens, self.kg.norm_index, q.lang, parenthesized(q.text, q.tokens))
        qualifiers = {normalize_name(m) for m in _PARENTHESIZED.findall(q.text)}
        spans = [m for m in self.mentions(q.text, self.schema)
                 if normalize_name(m) not in self.kg.norm_index and normalize_name(m) not in qualifiers]
        if spans and self.kg.n_entities:
            sims = self.embed_texts(spans) @ self.kg.entity_vectors.T
            for row in sims:
                best = int(row.argmax())
                if row[best] >= self.cfg.link_threshold:
                    links[best] = max(links.get(best, 0.0), float(row[best]))
        return links

    def _fact_question(self, q: Query) -> tuple[list[str], set[str]]:
        """The question's content stems (at most ``MAX_STEMS``) and those the linked entities' names use."""
        named = {s for e in q.links for s in bm25_tokens(self.kg.names[e])}
        stems = [s for s in dict.fromkeys(bm25_tokens(q.text)) if not is_function_word(s, q.lang)][:MAX_STEMS]
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
        # a seed counts by how specific it is (idf over chunks): "Polish" in "Polish Wedding" less than the film
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
        seeds = np.zeros(n_e + len(self.kg.chunk_ids))
        for e, s in links.items():
            seeds[e] = s / max(1.0, float(self.kg.entity_chunks[e]))
        if seeds.sum() > 0:
            seeds /= seeds.sum()
        index = self.kg.chunk_nodes
        top = passages[: self.cfg.seed_passages]
        total = sum(h.score for h in top) or 1.0
        weight = self.cfg.passage_seed_weight if links else 1.0
        for h in top:
            if h.chunk_id in index:
                seeds[index[h.chunk_id]] += weight * h.score / total
        if seeds.sum() <= 0:
            return []
        scores = personalized_pagerank(self.walk_for(q), seeds, self.cfg.ppr_damping, tol=self.cfg.ppr_tol)[n_e:]
        return [Hit(self.kg.chunk_ids[i], float(scores[i]), ("ppr",)) for i in top_k(scores, k) if scores[i] > 0]

    def passed_over(self, q: Query, ranked: Sequence[Hit]) -> set[str]:
        """The chunks of ``ranked`` about a linked entity that are not its home (``other_homonyms``)."""
        owner = {self.kg.chunk_node(c): e for e in q.links for c in self.kg.home.get(e, [])}
        homes = [h.chunk_id for h in ranked if h.chunk_id in owner]
        if len(homes) < 2 or self.chunk_titles is None:
            return set()
        titles = self.chunk_titles(homes)
        pairs = {c: (owner[c], titles.get(c, "")) for c in homes}
        passed = other_homonyms(pairs, self.kg.names, q.text)
        return {c for c, pair in pairs.items() if pair in passed}

    def home_route(self, q: Query, ranked: Sequence[Hit]) -> list[Hit]:
        """The linked entities' own chunks (the question names them), in the order of ``ranked``. Where
        documents titled by an entity's name are about it, only the one whose title the question
        states most fully counts (homonyms: "David Elliot (illustrator)", "David Elliot (footballer)";
        ``other_homonyms``)."""
        owner = {self.kg.chunk_node(c) for e in q.links for c in self.kg.home.get(e, [])}
        passed = self.passed_over(q, ranked)
        return [Hit(h.chunk_id, h.score, ("home",)) for h in ranked if h.chunk_id in owner and h.chunk_id not in passed]

    def bridge_route(self, q: Query, k: int) -> list[Hit]:
        """Two hops through documents: the linked entities' own chunks -> the entities those chunks
        mention -> those entities' own chunks, ranked by dense similarity to what the question asks of
        them (``without_names``). This is how "the director of film X" reaches the director's page
        though the question never names him."""
        links = q.links
        if not links or self.score_chunks is None:
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
