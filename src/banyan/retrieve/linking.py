"""Entity linking for a question: which known entities its words name.

Exact n-grams of the question's tokens that name a known entity (the longest match winning; words
inside parentheses qualify the name before them and link nothing of their own), and the question's
other name-like spans, found by orthography (English) or part of speech (Chinese), for linking by
name embedding. A search never loads spaCy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from banyan.extract.schema import Schema
from banyan.text import NAME_CONNECTORS, detect_lang, has_han, is_function_word, normalize_name, pos_tag_zh

MAX_NGRAM = 12
"""the longest query n-gram looked up as an entity name, in words: titles with their disambiguator
run past 6 ("The House by the Grey River (1931 novel)" is 8); in a 36,020-entity Wikipedia graph
10 names are longer than 12"""


def _named(tokens: list[str], i: int, n: int, capitals: bool = True) -> bool:
    """Whether query tokens i..i+n look like a name: a capitalized word (not just the question's
    first word; not at all without ``capitals``), a number, or Chinese text. Stops a common word
    ("bridge", "summary") linking to an entity a heading gave that name."""
    for j in range(i, i + n):
        t = tokens[j]
        if has_han(t) or t[0].isdigit() or (capitals and t[0].isupper() and (j > 0 or n > 1)):
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


def uncased(tokens: Sequence[str]) -> bool:
    """Whether a question's casing says nothing about which words are names: no capital after its
    first word ("where was zofia novak born", or "Where was zofia novak born" as a phone capitalizes
    it; a one-letter word such as "I" aside), or nothing but capitals ("WHERE WAS ZOFIA NOVAK BORN")."""
    letters = [c for t in tokens for c in t if c.isupper() != c.islower()]
    return (not any(c.isupper() for t in tokens[1:] if len(t) > 1 for c in t)
            or (bool(letters) and all(c.isupper() for c in letters)))


def exact_links(tokens: list[str], norm_index: dict[str, int], lang: str = "en",
                qualifier: Sequence[bool] = (),
                used_as_name: Callable[[int, Sequence[str]], bool] | None = None) -> dict[int, float]:
    """Entities named by n-grams of the query's tokens; a match inside a longer match is dropped.
    An n-gram made only of function words never links, nor one inside parentheses (``qualifier``:
    "Mercury (Planet)", "Kestrel Bay (2004 Novel)" qualify the name before them and name no entity).
    An n-gram links only where it looks like a name (``_named``: a capital, a number, Chinese); in a
    question without capitals after its first word (``uncased``), also where ``used_as_name(entity, its tokens)`` says the
    corpus uses those words as that entity's name (not "summary" or "meeting notes", which a few
    headings made entities). Each start's n-grams grow a word at a time; the longest matches are
    kept first, and ``used_as_name`` is asked only about those no longer match already covers."""
    words = [normalize_name(t) for t in tokens]
    lower = used_as_name if used_as_name is not None and uncased(tokens) else None
    hits: list[tuple[int, int, int, bool]] = []  # (-length, start, entity, ask): the longest first, then left to right
    for i in range(len(words)):
        gram = ""
        for n in range(1, min(MAX_NGRAM, len(words) - i) + 1):
            word = words[i + n - 1]
            if word:
                gram = f"{gram} {word}" if gram else word
            e = norm_index.get(gram)  # first: most n-grams name nothing, and the checks below cost more
            if (e is None or len(gram) < 2 or all(is_function_word(w, lang) for w in gram.split())
                    or (bool(qualifier) and all(qualifier[i : i + n]))):
                continue
            named = _named(tokens, i, n, capitals=lower is None)
            if named or lower is not None:
                hits.append((-n, i, e, not named))
    found: list[tuple[int, int]] = []
    links: dict[int, float] = {}
    for neg, i, e, ask in sorted(hits):
        if any(s <= i and i - neg <= t for s, t in found):
            continue
        if ask and lower is not None and not lower(e, tokens[i : i - neg]):
            continue
        found.append((i, i - neg))
        links[e] = 1.0
    return links


_SENTENCE_END = frozenset(".!?:;\n•|#*>")


def _opens_sentence(text: str, at: int) -> bool:
    """Whether the text at ``at`` starts a sentence, line or heading (where any word is capitalized)."""
    before = text[:at].rstrip(" \t\"'“‘([-–—")
    return not before or before[-1] in _SENTENCE_END


_SEPARATOR = r"(?:[^\w\n!?]|_)+"
"""what may stand between the words of a phrase in text: not a line break, "!" or "?" (a full stop may:
it ends initials, "Lena K. Brandt", as often as sentences)"""


def written_as_name(texts: Sequence[str], words: Sequence[str], lang: str = "en") -> bool | None:
    """Whether ``texts`` mostly write the phrase ``words`` (in order, any case) as a name: most of its
    content words capitalized ("Harrow & Vale Construction", "Rosa de Almeida"; not "meeting notes").
    Where the phrase opens a sentence its first word says nothing, and a one-word phrase there is
    not counted; nor are one-letter pieces ("Kelby's") or words in capitals ("MEETING NOTES"). None:
    no occurrence counted."""
    if not words:
        return None
    pattern = re.compile(r"(?<!\w)" + _SEPARATOR.join(f"({re.escape(w)})" for w in words) + r"(?!\w)", re.IGNORECASE)
    content = [k for k, w in enumerate(words) if len(w) > 1 and not is_function_word(w, lang)]
    named = counted = 0
    for text in texts:
        for m in pattern.finditer(text):
            shown = [w for k in content if not (k == 0 and _opens_sentence(text, m.start()))
                     for w in [m.group(k + 1)] if not w.isupper()]
            if shown:
                counted += 1
                named += 2 * sum(w[:1].isupper() for w in shown) > len(shown)
    return None if not counted else 2 * named >= counted


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


def qualifiers(text: str) -> set[str]:
    """The normalized contents of the question's parentheses ("Mercury (Planet)" -> {"planet"})."""
    return {normalize_name(m) for m in _PARENTHESIZED.findall(text)}
