"""Indexing stages for the knowledge graph: extract (per chunk, resumable), then resolve (global).

``extract`` runs the NLP extractor of each chunk's language on chunks not yet extracted and
commits every block. ``resolve`` groups all mentions into entities and types relation phrases; it
reruns only when chunks or extractions changed since its last run.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from banyan.embed import Embedder
from banyan.extract.base import Extractor, Mention, normalize_name
from banyan.extract.schema import OTHER, RELATED, Schema, relation_text
from banyan.graph.resolve import resolve
from banyan.index.pipeline import Progress
from banyan.settings import GraphSettings
from banyan.store.sqlite import SQLiteStore
from banyan.types import IndexReport

EXTRACT_BLOCK = 500


def default_extractors() -> dict[str, Extractor]:
    from banyan.extract.chinese import JiebaExtractor
    from banyan.extract.english import SpacyExtractor

    return {"en": SpacyExtractor(), "zh": JiebaExtractor()}


def cached_embed(store: SQLiteStore, embedder: Embedder) -> Callable[[list[str]], np.ndarray]:
    """Embed short texts (names, phrases) once: vectors are kept in the store by text."""
    model = f"text:{embedder.name}"

    def embed(texts: list[str]) -> np.ndarray:
        unique = list(dict.fromkeys(texts))
        have = store.text_vectors(model, unique)
        missing = [t for t in unique if t not in have]
        for i in range(0, len(missing), 2048):
            part = missing[i : i + 2048]
            vecs = embedder.embed_documents(part)
            store.put_text_vectors(model, part, vecs)
            have.update(zip(part, vecs))
        if not texts:
            return np.zeros((0, embedder.dim), np.float32)
        return np.stack([have[t] for t in texts]).astype(np.float32)

    return embed


def extract_missing(store: SQLiteStore, schema: Schema, extractors: dict[str, Extractor], report: IndexReport,
                    progress: Progress) -> None:
    todo = store.chunks_without_extraction(lambda lang: extractors[lang].name if lang in extractors else None)
    if not todo:
        return
    by_lang: dict[str, list[str]] = defaultdict(list)
    for cid, lang in todo:
        by_lang[lang].append(cid)
    progress.start("extract", len(todo))
    for lang, ids in by_lang.items():
        ex = extractors[lang]
        for i in range(0, len(ids), EXTRACT_BLOCK):
            block = ids[i : i + EXTRACT_BLOCK]
            t0 = time.perf_counter()
            result = ex.extract(store.get_chunks(block), schema)
            result.mentions.extend(title_aliases(result.mentions, store.first_chunk_titles(block)))
            report.add_time("extract", time.perf_counter() - t0)
            t0 = time.perf_counter()
            store.put_extraction(ex.name, block, result)
            report.add_time("store", time.perf_counter() - t0)
            progress.advance(len(block))
    progress.done()


_DISAMBIGUATOR = re.compile(r"\s*\([^)]*\)\s*$")


def title_aliases(mentions: Sequence[Mention], titles: dict[str, str]) -> list[Mention]:
    """A document's title names what its first chunk is about: an alias of that chunk's topic.

    The alias is a mention with no span (start = end = -1); resolution merges it with the topic
    mention of the same chunk (rule ``title``), so "Frank Lloyd" (title, and how other documents
    name him) and "Frank William George Lloyd" (his first sentence) become one entity.
    """
    topic = {m.chunk_id: m for m in mentions if m.topic}
    out = []
    for cid, title in titles.items():
        surface = _DISAMBIGUATOR.sub("", title).strip()
        norm = normalize_name(surface)
        if len(norm) < 2:
            continue
        t = topic.get(cid)
        out.append(Mention(cid, surface, norm, t.type if t else OTHER, -1, -1, topic=True))
    return out


def type_relations(phrases: Sequence[str], schema: Schema, embed: Callable[[list[str]], np.ndarray],
                   threshold: float) -> dict[str, str]:
    """Each phrase's closest schema relation type by embedding cosine, or related_to below threshold."""
    kinds = schema.typed_relations()
    if not phrases or not kinds:
        return {p: RELATED for p in phrases}
    rel = embed([relation_text(r) for r in kinds])
    vecs = embed(list(phrases))
    sims = vecs @ rel.T
    best = sims.argmax(axis=1)
    return {p: kinds[b].name if sims[i, b] >= threshold else RELATED for i, (p, b) in enumerate(zip(phrases, best))}


def resolve_graph(store: SQLiteStore, schema: Schema, embedder: Embedder, cfg: GraphSettings,
                  report: IndexReport) -> bool:
    """Recompute entities if the graph changed; returns whether it did."""
    version = store.graph_version()
    if store.resolved_version() == version:
        return False
    t0 = time.perf_counter()
    embed = cached_embed(store, embedder)
    entities, merges = resolve(store.load_mentions(), embed, cfg.merge_threshold, store.keep_apart())
    phrases = sorted({t.phrase for t in store.load_triples()} - {RELATED})
    store.set_triple_types(type_relations(phrases, schema, embed, cfg.relation_threshold))
    store.replace_entities(
        [(e.id, e.name, e.type, e.n_chunks) for e in entities],
        [(n, e.type, e.id) for e in entities for n in e.norms],
        [(m.entity_id, m.member, m.rule, m.score) for m in merges],
        version,  # nothing above changes chunks or extractions, so the version still holds
    )
    embed([e.name for e in entities])  # entity-name vectors for query linking, computed while indexing
    report.add_time("resolve", time.perf_counter() - t0)
    return True
