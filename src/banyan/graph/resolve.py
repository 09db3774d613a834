"""Entity resolution: group mentions into entities. Pure functions; every merge is recorded.

0. A document's title is an alias of the entity its first chunk is about (rule ``title``) where it can
   name it: it shares a word with that entity's name, or some text names the title too, and it heads
   no document about something else. Other titles ("Re: shipment delay", "Medical #0185") are
   entities of their own, of no type.
1. Mentions with the same normalized name are one entity, typed by majority vote (a typed vote
   beats 'other'): "Lothair II" and "Lothair Ii" both normalize to "lothair ii".
2. Names that differ only by accents are merged (rule ``accent``).
3. An all-caps acronym merges with the one multi-word name of a compatible type whose initials
   it spells (rule ``acronym``): "BBC" / "British Broadcasting Corporation".
4. Names whose embeddings are closer than a threshold merge (rule ``embedding``), only when they
   share a word, carry the same numbers and roman numerals ("Lothair I" never joins "Lothair II"),
   and their types are compatible. Pairs the user kept apart never merge.
Types are compatible when equal or when one of them is 'other'; nothing merges across two real types.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from banyan.extract.schema import OTHER
from banyan.text import normalize_name
from banyan.types import Entity, Mention, Merge, content_id

_NUMERAL = re.compile(r"^(?:\d+|[ivxlcdm]+)$")
# Words that tell two otherwise similar names apart: they must agree for an embedding merge.
_DISTINGUISHING = frozenset({"jr", "sr", "junior", "senior", "elder", "younger", "north", "south", "east", "west",
                             "northern", "southern", "eastern", "western", "new", "old", "upper", "lower", "great"})
_STOP = frozenset({"of", "the", "and", "a", "an", "de", "la", "le", "von", "van", "for", "in", "on"})


@dataclass
class NameGroup:
    """All mentions sharing one normalized name."""

    norm: str
    types: Counter[str] = field(default_factory=Counter)
    surfaces: Counter[str] = field(default_factory=Counter)
    chunks: set[str] = field(default_factory=set)

    @property
    def type(self) -> str:
        typed = [(n, t) for t, n in self.types.items() if t != OTHER]
        return max(typed, key=lambda x: (x[0], x[1]))[1] if typed else OTHER

    @property
    def name(self) -> str:
        """The most frequent surface, but one that spells the whole name: extraction may name a person
        by a first name it resolved to the full one ("Zofia" for "zofia novak"), and that is no name to show."""
        best = max(self.surfaces.items(), key=lambda x: (x[1], len(x[0]), x[0]))[0]
        if " " not in self.norm or " " in best.strip() or normalize_name(best) == self.norm:
            return best
        return max(self.surfaces.items(), key=lambda x: (normalize_name(x[0]) == self.norm, x[1], len(x[0]), x[0]))[0]


def compatible(a: str, b: str) -> bool:
    return a == b or a == OTHER or b == OTHER


def strip_accents(s: str) -> str:
    if s.isascii():  # nothing to strip (most names): no decomposition
        return s
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def acronym_of(norm: str) -> str:
    return "".join(w[0] for w in norm.split() if w not in _STOP)


def numerals(norm: str) -> frozenset[str]:
    """Numbers, roman numerals and distinguishing words (jr, south, ...): merging needs them equal."""
    return frozenset(w for w in norm.split() if _NUMERAL.match(w) or w in _DISTINGUISHING)


def content_word(w: str) -> bool:
    """A word that can tell names apart or together: not a function word, a numeral or one letter."""
    return w not in _STOP and len(w) > 1 and not _NUMERAL.match(w)


def _name_words(norm: str) -> tuple[set[str], frozenset[str]]:
    """A name's content words (accents aside) and its distinguishing words."""
    words = strip_accents(norm).split()
    return {w for w in words if content_word(w)}, frozenset(w for w in words if w in _DISTINGUISHING)


def title_names(title: str, topic: str) -> bool:
    """Whether a document title (normalized) can name its first chunk's topic by its words: they
    share a content word, accents aside ("Frank Lloyd" / "Frank William George Lloyd"), and no word
    like "north" or "jr" tells them apart. A shared numeral is no evidence ("Louis II" / "Lothair II").
    Chinese names have no spaces: they share a word only when equal ("广东" is not "广东广播电视台")."""
    (a, a_dist), (b, b_dist) = _name_words(title), _name_words(topic)
    return bool(a & b) and a_dist == b_dist


def accepted_titles(mentions: Sequence[Mention]) -> set[str]:
    """The document titles (span-less mentions) that are aliases of their chunk's topic: those that
    ``title_names`` it, or that some text names as something of a compatible type ("Mark Twain" over
    "Samuel Langhorne Clemens, known as Mark Twain"). Never a title over two different topics: "Weekly
    sync" heading notes about different people names none of them."""
    topics = {m.chunk_id: m for m in mentions if m.topic and m.start >= 0}
    named: dict[str, set[str]] = defaultdict(set)  # norm -> the types the text names it as
    over: dict[str, set[str]] = defaultdict(set)  # title -> the topics it heads
    for m in mentions:
        if m.start >= 0:
            named[m.norm].add(m.type)
        elif m.chunk_id in topics:
            over[m.norm].add(topics[m.chunk_id].norm)
    out: set[str] = set()
    for m in mentions:
        topic = topics.get(m.chunk_id)
        if m.start >= 0 or topic is None or len(over[m.norm]) > 1:
            continue
        if title_names(m.norm, topic.norm) or any(compatible(t, topic.type) for t in named.get(m.norm, ())):
            out.add(m.norm)
    return out


def group_mentions(mentions: Sequence[Mention]) -> dict[str, NameGroup]:
    groups: dict[str, NameGroup] = {}
    for m in mentions:
        g = groups.setdefault(m.norm, NameGroup(m.norm))
        g.types[m.type] += 1
        g.surfaces[m.surface] += 1
        g.chunks.add(m.chunk_id)
    return groups


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def candidate_pairs(groups: dict[str, NameGroup], max_block: int = 50) -> np.ndarray:
    """Pairs of names sharing a content word, blocked by that word (skipping very common words): rows
    ``(a, b)`` of positions in ``sorted(groups)``, a < b, each pair once, in order."""
    names = sorted(groups)
    by_word: dict[str, list[int]] = defaultdict(list)
    for i, norm in enumerate(names):
        for w in set(norm.split()):
            if content_word(w):
                by_word[w].append(i)  # ascending: a block's pairs come out with a < b
    n = len(names)
    codes = np.fromiter((a * n + b for ids in by_word.values() if 2 <= len(ids) <= max_block
                         for a, b in itertools.combinations(ids, 2)), dtype=np.int64)
    codes = np.unique(codes)  # sorted: by first name, then second
    return np.stack([codes // max(n, 1), codes % max(n, 1)], axis=1)


def _codes(values: Sequence[object]) -> np.ndarray:
    """Each value's number, equal values numbered alike."""
    seen: dict[object, int] = {}
    return np.fromiter((seen.setdefault(v, len(seen)) for v in values), dtype=np.int64, count=len(values))


def embedding_pairs(groups: dict[str, NameGroup], kinds: dict[str, str]) -> np.ndarray:
    """Candidate pairs that may merge by embedding: same numerals and distinguishing words,
    compatible types (``kinds``: each name's type), and not the same words in another order ("ray
    charles" / "charles ray": different names, not variants). Rows ``(a, b)`` of positions in
    ``sorted(groups)``, as ``candidate_pairs`` orders them."""
    names = sorted(groups)
    pairs = candidate_pairs(groups)
    nums = _codes([numerals(n) for n in names])
    words = _codes([tuple(sorted(n.split())) for n in names])
    kind = _codes([OTHER] + [kinds[n] for n in names])[1:]  # OTHER is number 0
    a, b = pairs[:, 0], pairs[:, 1]
    keep = (nums[a] == nums[b]) & ((kind[a] == kind[b]) | (kind[a] == 0) | (kind[b] == 0)) & (words[a] != words[b])
    return pairs[keep]


SCORE_BLOCK = 16384
"""pairs scored at a time: gathering both sides' vectors for every pair at once costs ten times as much"""


def pair_scores(vecs: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Cosine of each pair ``(vecs[ia[k]], vecs[ib[k]])`` of unit vectors."""
    out = np.empty(len(ia), dtype=np.result_type(vecs.dtype, np.float32))
    for i in range(0, len(ia), SCORE_BLOCK):
        out[i : i + SCORE_BLOCK] = np.einsum("ij,ij->i", vecs[ia[i : i + SCORE_BLOCK]], vecs[ib[i : i + SCORE_BLOCK]])
    return out


def resolve(mentions: Sequence[Mention], embed: Callable[[list[str]], np.ndarray] | None = None,
            threshold: float = 0.93, keep_apart: set[tuple[str, str]] | None = None) -> tuple[list[Entity], list[Merge]]:
    """Entities and the merges that formed them. ``embed`` maps names to unit vectors (optional)."""
    topics = {m.chunk_id: m.norm for m in mentions if m.topic and m.start >= 0}
    aliases = accepted_titles(mentions)
    # a title that names neither its chunk's topic nor anything the text names ("Stand-up 3 December" over a
    # note about Priya Raman) is its own entity, of no type: not an alias that would take the topic's type
    mentions = [m if m.start >= 0 or m.norm in aliases or m.chunk_id not in topics else replace(m, type=OTHER)
                for m in mentions]
    groups = group_mentions(mentions)
    kinds = {norm: g.type for norm, g in groups.items()}  # each group's voted type, computed once
    apart = keep_apart or set()
    uf = _UnionFind()
    why: dict[str, tuple[str, float]] = {}

    def merge(a: str, b: str, rule: str, score: float) -> None:
        if (min(a, b), max(a, b)) in apart or not compatible(kinds[a], kinds[b]):
            return
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            return
        uf.union(a, b)
        why.setdefault(a, (rule, score))
        why.setdefault(b, (rule, score))

    # document titles: an alias (start == -1) joins the topic mention of its chunk where it names it
    # A one-word topic under a longer title ("Richard" / "Richard Filangieri") is more often a
    # misparse than a short name for the same thing: such pairs stay apart.
    for m in mentions:
        topic = topics.get(m.chunk_id)
        if m.start < 0 and topic and topic != m.norm and m.norm in aliases and (" " in topic or " " not in m.norm):
            merge(topic, m.norm, "title", 1.0)
    # accents
    by_plain: dict[str, list[str]] = defaultdict(list)
    for norm in groups:
        by_plain[strip_accents(norm)].append(norm)
    for names in by_plain.values():
        for other in names[1:]:
            merge(names[0], other, "accent", 1.0)
    # acronyms
    expansions: dict[str, list[str]] = defaultdict(list)
    for norm in groups:
        if len(norm.split()) >= 2:
            expansions[acronym_of(norm)].append(norm)
    for norm, g in groups.items():
        if " " in norm or not 2 <= len(norm) <= 6 or not any(s.isupper() for s in g.surfaces):
            continue
        cands = [e for e in expansions.get(norm, []) if compatible(kinds[norm], kinds[e])]
        if len(cands) == 1:
            merge(cands[0], norm, "acronym", 1.0)
    # embeddings
    if embed is not None:
        pairs = embedding_pairs(groups, kinds)
        if len(pairs):
            names = sorted(groups)
            used, at = np.unique(pairs.ravel(), return_inverse=True)  # the names the pairs use, in name order
            vecs = embed([groups[names[i]].name for i in used.tolist()])
            at = at.reshape(pairs.shape)
            scores = pair_scores(vecs, at[:, 0], at[:, 1])
            for k in np.flatnonzero(scores >= threshold):
                merge(names[pairs[k, 0]], names[pairs[k, 1]], "embedding", float(scores[k]))

    clusters: dict[str, list[str]] = defaultdict(list)
    for norm in groups:
        clusters[uf.find(norm)].append(norm)
    entities: list[Entity] = []
    merges: list[Merge] = []
    for norms in clusters.values():
        norms.sort(key=lambda n: (-len(groups[n].chunks), n))
        typed = [kinds[n] for n in norms if kinds[n] != OTHER]
        kind = Counter(typed).most_common(1)[0][0] if typed else OTHER
        head = groups[norms[0]]
        eid = content_id(kind, head.norm)
        chunks = set().union(*(groups[n].chunks for n in norms))
        entities.append(Entity(eid, head.name, kind, len(chunks), tuple(norms)))
        for n in norms[1:]:
            rule, score = why.get(n, ("cluster", 1.0))
            merges.append(Merge(eid, n, rule, score))
    entities.sort(key=lambda e: e.id)
    return entities, merges
