"""English extraction with spaCy: entities, dependency-path relations, attributes. No LLM.

Entities are named-entity spans (typed through the schema's ``ner_labels``) plus runs of proper
nouns that the small NER model misses ("Lothair II", "Ermengarde of Tours"). Relations are the
content words on the shortest dependency path between two mentions of one sentence ("queen of",
"marriage to", "directed"). A subject or possessive pronoun stands for the chunk's topic entity; "he"
or "she" under a topic of another type for the person named before it in its sentence, else the
subject of the sentence before, else the one person the chunk has named so far. A lone first or last
name stands for the one person the chunk named in full before it ("Zofia Novak ... Zofia told us
..."). Dates and numbers become attributes of the nearest entity, keyed by trigger words ("born",
"died").
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Generator, Iterable, Sequence
from multiprocessing.pool import AsyncResult
from typing import Any

from banyan.extract.base import AttributeValue, Extraction, Mention, Triple, normalize_name
from banyan.extract.schema import OTHER, Schema
from banyan.extract.spacy_runtime import forked_pool, load_spacy, one_blas_thread
from banyan.text import NAME_CONNECTORS
from banyan.types import Chunk

VALUE_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "QUANTITY", "MONEY", "PERCENT", "ORDINAL"})
CALENDAR = frozenset({"january", "february", "march", "april", "may", "june", "july", "august", "september",
                      "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
                      "saturday", "sunday"})
PRONOUNS = frozenset({"he", "she", "it", "they", "his", "her", "its", "their", "him", "them"})
PERSONAL = frozenset({"he", "she", "his", "her"})
"""subject and possessive pronouns that stand for one person (``referent``)"""
SUBJ_DEPS = frozenset({"nsubj", "nsubjpass"})
KEEP_POS = frozenset({"VERB", "NOUN", "ADJ", "ADP", "PROPN"})
MAX_PATH = 4
_QUOTED = re.compile(r'"([^"]{1,80})"|“([^”]{1,80})”')
TASK_CHUNKS = 32
"""Chunks per worker task: small, so that the workers run out of work at about the same time."""
PARALLEL_MIN_CHUNKS = 400
"""Fewer chunks than this are parsed in the calling process (starting workers costs more)."""


def _propn_spans(sent: Any, blocked: set[int]) -> list[tuple[int, int]]:
    """Maximal runs of proper nouns, allowing connectors between them ("Ermengarde of Tours")."""
    spans: list[tuple[int, int]] = []
    i, end = sent.start, sent.end
    doc = sent.doc
    while i < end:
        if doc[i].pos_ == "PROPN" and i not in blocked:
            j = i + 1
            while j < end and j not in blocked:
                if doc[j].pos_ == "PROPN" or (doc[j].pos_ == "NUM" and doc[j].text.isupper()):
                    j += 1
                elif doc[j].lower_ in NAME_CONNECTORS and j + 1 < end and doc[j + 1].pos_ == "PROPN" and j + 1 not in blocked:
                    j += 2
                else:
                    break
            spans.append((i, j))
            i = j
        else:
            i += 1
    return spans


def _quoted_titles(sent: Any, work_type: str) -> dict[tuple[int, int], str]:
    """Title-cased text in quotes names a work: '"Changed It" is a song' (the tagger sees a verb)."""
    out: dict[tuple[int, int], str] = {}
    for m in _QUOTED.finditer(sent.text):
        inner = m.group(1) or m.group(2) or ""
        words = inner.split()
        if not words or len(words) > 10 or not words[0][:1].isupper():
            continue
        start = sent.start_char + m.start() + 1
        span = sent.doc.char_span(start, start + len(inner), alignment_mode="expand")
        if span is not None and len(span):
            out[(span.start, span.end)] = work_type
    return out


_EDGE_POS = frozenset({"ADP", "DET", "CCONJ", "PUNCT", "PART", "SPACE"})


def _trim(doc: Any, start: int, end: int) -> tuple[int, int]:
    """Drop function words at the edges of an NER span ("the Lumen Bridge in" -> "Lumen Bridge")."""
    while start < end and doc[start].pos_ in _EDGE_POS:
        start += 1
    while end > start and doc[end - 1].pos_ in _EDGE_POS:
        end -= 1
    return (start, end) if end > start else (0, 0)


def _split_at_space(doc: Any, span: tuple[int, int]) -> list[tuple[int, int]]:
    """A name never crosses a line break: "# Thomas Harrow\n\nThomas Harrow was" is two mentions."""
    pieces, start = [], span[0]
    for i in range(span[0], span[1]):
        if doc[i].is_space or "\n" in doc[i].whitespace_:
            end = i if doc[i].is_space else i + 1
            if end > start:
                pieces.append((start, end))
            start = i + 1
    if span[1] > start:
        pieces.append((start, span[1]))
    return pieces


def _title_case_subjects(sent: Any) -> list[tuple[int, int]]:
    """A subject written in Title Case is one name, even when the tagger calls its words nouns:
    "Student of the Year is a 2012 film", "Fat Man and Little Boy is a film"."""
    out = []
    for tok in sent:
        if tok.dep_ not in SUBJ_DEPS or tok.pos_ not in ("PROPN", "NOUN"):
            continue
        left, right = tok.left_edge.i, tok.right_edge.i + 1
        words = sent.doc[left:right]
        if right - left < 2 or right - left > 10:
            continue
        if all(t.text[:1].isupper() or t.is_digit or t.lower_ in NAME_CONNECTORS or t.lower_ == "and" for t in words) \
                and words[-1].text[:1].isupper():
            out.append((left, right))
    return out


def sentence_mentions(sent: Any, schema: Schema, sent_ents: Sequence[Any] | None = None) -> list[tuple[int, int, str]]:
    """(start token, end token, type) of entity mentions in one sentence, non-overlapping.
    ``sent_ents``: the sentence's ``ents``, when the caller has them (spaCy recomputes them per call)."""
    all_ents = list(sent.ents) if sent_ents is None else sent_ents
    ents = [e for e in all_ents if e.label_ not in VALUE_LABELS]
    values = [e for e in all_ents if e.label_ in VALUE_LABELS]
    blocked = {t.i for e in values for t in e}
    typed = {_trim(sent.doc, e.start, e.end): schema.entity_type_for_ner(e.label_) or OTHER for e in ents}
    typed.pop((0, 0), None)
    work = schema.entity_type_for_ner("WORK_OF_ART") or OTHER
    typed.update(_quoted_titles(sent, work))
    for span in _title_case_subjects(sent):
        inner = [t for (a, b), t in typed.items() if span[0] <= a and b <= span[1]]
        typed.setdefault(span, inner[0] if inner else OTHER)
    candidates = [piece for span in [*typed, *_propn_spans(sent, blocked)] for piece in _split_at_space(sent.doc, span)]
    typed = {piece: kind for span, kind in typed.items() for piece in _split_at_space(sent.doc, span)}
    candidates.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
    taken: set[int] = set()
    out: list[tuple[int, int, str]] = []
    for s, e in candidates:
        if any(i in taken for i in range(s, e)):
            continue
        kind = typed.get((s, e))
        if kind is None:  # a proper-noun run: take the type of an NER span inside it, if any
            inner = [t for (a, b), t in typed.items() if s <= a and b <= e]
            kind = inner[0] if inner else OTHER
        taken.update(range(s, e))
        out.append((s, e, kind))
    return sorted(out)


def _ancestors(tok: Any) -> list[Any]:
    chain = [tok]
    while chain[-1].head.i != chain[-1].i and len(chain) < 40:
        chain.append(chain[-1].head)
    return chain


def _path_phrase(a: Any, b: Any, inside: set[int]) -> str | None:
    """Content words on the dependency path between tokens a and b, or None if too long."""
    up_a, up_b = _ancestors(a), _ancestors(b)
    idx_b = {t.i: n for n, t in enumerate(up_b)}
    for n, t in enumerate(up_a):
        if t.i in idx_b:
            path = up_a[1 : n + 1] + list(reversed(up_b[1 : idx_b[t.i]]))
            break
    else:
        return None
    path = sorted((t for t in path if t.i not in inside), key=lambda t: t.i)
    if len(path) > MAX_PATH:
        return None
    words = [t.lemma_.lower() if t.pos_ == "VERB" and t.lemma_ else t.lower_ for t in path if t.pos_ in KEEP_POS]
    if not words and any(t.dep_ == "appos" for t in (a, b)):
        return "is"
    return " ".join(words) if words else None


def _attribute_key(schema: Schema, label: str, window: Iterable[str]) -> str | None:
    words = {w.lower() for w in window}
    fallback = None
    for attr in schema.attribute_types:
        if label not in attr.ner_labels:
            continue
        if attr.triggers and words.intersection(attr.triggers):
            return attr.name
        if not attr.triggers and fallback is None:
            fallback = attr.name
    return fallback


def shortened(norm: str, kind: str, short: dict[str, str | None], person: str | None) -> str:
    """The full name a one-word mention stands for: a person named in full earlier in the chunk whose
    first or last name it is ("Zofia Novak is fluent in Georgian. Zofia told us ..."), where just one
    such person was named; else ``norm`` itself. ``short`` maps first and last names to that full
    name (None once two people share the word); ``person``: the schema's person type."""
    if person is None or " " in norm or kind not in (person, OTHER):
        return norm
    return short.get(norm) or norm


def remember_full_name(norm: str, kind: str, short: dict[str, str | None], person: str | None) -> None:
    """Record a person's full name under its first and last words for ``shortened``."""
    words = norm.split()
    if person is None or kind != person or len(words) < 2:
        return
    for w in {words[0], words[-1]}:
        short[w] = norm if short.get(w, norm) == norm else None


def referent(pronoun: str, topic: tuple[str, str] | None, antecedent: str | None,
             person: str | None) -> str | None:
    """What a subject or possessive pronoun stands for: the chunk's topic entity ``(norm, type)``; but
    "he", "she", "his", "her" where that topic is of another real type (or there is none) stand for
    ``antecedent``: the person named before the pronoun in its sentence, else the person the sentence
    before was about (its subject), else the one person the chunk has named ("Desk on the third floor.
    Zofia Novak is fluent in Polish. Her manager is Lena Brandt."); with none of these, nothing."""
    if pronoun in PERSONAL and person is not None and (topic is None or topic[1] not in (person, OTHER)):
        return antecedent  # none found: nothing, rather than a bridge that "studied at" somewhere
    return topic[0] if topic else None


def extract_doc(doc: Any, chunk: Chunk, schema: Schema) -> Extraction:
    """Everything extracted from one parsed chunk."""
    out = Extraction()
    topic: tuple[str, str] | None = None  # (norm, type)
    people: set[str] = set()  # the persons named in the sentences before
    prev_subject: str | None = None  # the person the sentence before was about (its subject), if any
    person = schema.entity_type_for_ner("PERSON")
    short: dict[str, str | None] = {}
    for s_no, sent in enumerate(doc.sents):
        sent_ents = list(sent.ents)
        spans = sentence_mentions(sent, schema, sent_ents)
        head_of: dict[int, str] = {}  # token index of a mention's root -> norm
        inside: set[int] = set()
        roots = []
        persons: list[tuple[int, str]] = []  # (end token, norm) of the persons this sentence names
        subject: str | None = None  # the person this sentence is about
        for s, e, kind in spans:
            span = doc[s:e]
            norm = normalize_name(span.text)
            if len(norm) < 2 or norm.isdigit() or norm in PRONOUNS or norm in CALENDAR:
                continue
            full = shortened(norm, kind, short, person)
            if full != norm:  # a first or last name of a person named before: a person too
                norm, kind = full, person or kind
            remember_full_name(norm, kind, short, person)
            is_topic = topic is None and s_no == 0 and (span.root.dep_ in SUBJ_DEPS or s == sent.start)
            if is_topic:
                topic = (norm, kind)
            out.mentions.append(Mention(chunk.id, span.text, norm, kind, span.start_char + chunk.start,
                                        span.end_char + chunk.start, is_topic))
            head_of[span.root.i] = norm
            inside.update(range(s, e))
            roots.append(span.root)
            if kind == person:
                persons.append((span.end, norm))
                if span.root.dep_ in SUBJ_DEPS:
                    subject = norm
        for tok in sent:  # a pronoun stands for the chunk's topic entity (or a person named before)
            if tok.lower_ in PRONOUNS and tok.dep_ in (*SUBJ_DEPS, "poss") and tok.i not in head_of:
                before = [norm for end, norm in persons if end <= tok.i]
                only = next(iter(people)) if len(people) == 1 else None
                ref = referent(tok.lower_, topic, before[-1] if before else prev_subject or only, person)
                if ref is not None:
                    head_of[tok.i] = ref
                    roots.append(tok)
                    if tok.dep_ in SUBJ_DEPS and (ref in people or any(ref == n for _, n in persons)):
                        subject = ref  # a person (the sentence before's subject is among ``people``)
        roots.sort(key=lambda t: t.i)
        for i, a in enumerate(roots):
            for b in roots[i + 1 :]:
                ha, hb = head_of[a.i], head_of[b.i]
                if ha == hb:
                    continue
                phrase = _path_phrase(a, b, inside)
                if phrase:
                    out.triples.append(Triple(chunk.id, ha, phrase, hb))
        for ent in sent_ents:
            if ent.label_ not in VALUE_LABELS or not roots:
                continue
            window = [t.text for t in doc[max(sent.start, ent.start - 4) : min(sent.end, ent.end + 2)]]
            key = _attribute_key(schema, ent.label_, window)
            if key is None:
                continue
            owner = min(roots, key=lambda r: (len(_ancestors(r)), abs(r.i - ent.root.i)))
            out.attributes.append(AttributeValue(chunk.id, head_of[owner.i], key, ent.text))
        people.update(norm for _, norm in persons)
        prev_subject = subject
    return out


def extract_chunks(chunks: Sequence[Chunk], schema: Schema, batch_size: int = 64) -> Extraction:
    """Parse and extract ``chunks`` in this process (also the task each extraction worker runs)."""
    out = Extraction()
    for chunk, doc in zip(chunks, load_spacy().parse((c.text for c in chunks), batch_size)):
        out.extend(extract_doc(doc, chunk, schema))
    return out


def _gather(parts: Sequence[AsyncResult[Extraction]]) -> Extraction:
    out = Extraction()
    for part in parts:
        out.extend(part.get())
    return out


class SpacyExtractor:
    """The English NLP extractor (spaCy ``en_core_web_sm``).

    Large inputs go to worker processes that parse *and* extract, so only the small extraction
    records cross process boundaries (not parsed documents) and the Python extraction code runs
    in parallel too. Results come back in input order: the same as extracting in one process."""

    name = "spacy-en-v9"

    def __init__(self, n_process: int = 0, batch_size: int = 64) -> None:
        self.n_process = n_process
        self.batch_size = batch_size

    def processes(self, n_chunks: int) -> int:
        """Worker processes for ``n_chunks`` chunks (1: this process)."""
        return self.n_process or (min(2, os.cpu_count() or 1) if n_chunks >= PARALLEL_MIN_CHUNKS else 1)

    def extract(self, chunks: Sequence[Chunk], schema: Schema) -> Extraction:
        out = Extraction()
        for part in self.extract_blocks([chunks], schema, len(chunks)):
            out.extend(part)
        return out

    def extract_blocks(self, blocks: Iterable[Sequence[Chunk]], schema: Schema,
                       total: int) -> Generator[Extraction, None, None]:
        """One extraction per block, in order. With workers, the next block is already being parsed
        while the caller handles (stores) the last one; ``total``: the chunks in all blocks."""
        procs = self.processes(total)
        if procs <= 1:
            with one_blas_thread():
                for block in blocks:
                    yield extract_chunks(block, schema, self.batch_size)
            return
        load_spacy()  # before the workers start: forked workers share the loaded model
        with forked_pool(procs) as pool:
            pending: deque[list[AsyncResult[Extraction]]] = deque()
            for block in blocks:
                pending.append([pool.apply_async(extract_chunks, (block[i : i + TASK_CHUNKS], schema, self.batch_size))
                                for i in range(0, len(block), TASK_CHUNKS)])
                if len(pending) > 1:
                    yield _gather(pending.popleft())
            while pending:
                yield _gather(pending.popleft())
