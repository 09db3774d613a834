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
from banyan.extract.base import Extractor
from banyan.extract.schema import OTHER, RELATED, Schema, relation_text
from banyan.graph.resolve import resolve
from banyan.progress import Progress
from banyan.settings import GraphSettings
from banyan.store import GraphStore
from banyan.text import normalize_name
from banyan.types import IndexReport, Mention

EXTRACT_BLOCK = 500
RELATION_TYPES_META = "relation_types_key"


def default_extractors() -> dict[str, Extractor]:
    from banyan.extract.chinese import JiebaExtractor
    from banyan.extract.english import SpacyExtractor

    return {"en": SpacyExtractor(), "zh": JiebaExtractor()}


def cached_embed(store: GraphStore, embedder: Embedder, *, write: bool = True) -> Callable[[list[str]], np.ndarray]:
    """Embed short texts (names, phrases) once: vectors are kept in the store by text.

    With ``write=False`` (the read path) missing vectors are computed but not stored."""
    model = f"text:{embedder.name}"

    def embed(texts: list[str]) -> np.ndarray:
        unique = list(dict.fromkeys(texts))
        have = store.text_vectors(model, unique)
        missing = [t for t in unique if t not in have]
        for i in range(0, len(missing), 2048):
            part = missing[i : i + 2048]
            vecs = embedder.embed_documents(part)
            if write:
                store.put_text_vectors(model, part, vecs)
            have.update(zip(part, vecs))
        if not texts:
            return np.zeros((0, embedder.dim), np.float32)
        return np.stack([have[t] for t in texts]).astype(np.float32)

    return embed


def extraction_key(extractor: Extractor, schema: Schema) -> str:
    """What an extraction depends on: the extractor's version and the schema types it reads."""
    return f"{extractor.name}#{schema.extraction_key()}"


def extract_missing(store: GraphStore, schema: Schema, extractors: dict[str, Extractor], report: IndexReport,
                    progress: Progress) -> None:
    """Extract every chunk not yet extracted under the current extractor and schema, block by block."""
    keys = {lang: extraction_key(ex, schema) for lang, ex in extractors.items()}
    todo = store.chunks_without_extraction(keys.get)
    if not todo:
        return
    redo = sum(p.previous is not None for p in todo)
    if redo:
        report.notes.append(f"the graph schema or extractor changed: re-extracting {redo} chunks")
    by_lang: dict[str, list[str]] = defaultdict(list)
    for p in todo:
        by_lang[p.lang].append(p.chunk_id)
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
            store.put_extraction(keys[lang], block, result.mentions, result.triples, result.attributes)
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


def resolve_graph(store: GraphStore, schema: Schema, embedder: Embedder, cfg: GraphSettings,
                  report: IndexReport) -> bool:
    """Recompute entities if the graph changed, and relation types if the schema's relation types
    changed (only that: a new relation type re-types phrases without re-resolving entities).
    Returns whether anything was recomputed."""
    version = store.graph_version()
    typing_key = schema.relation_key()
    resolve_needed = store.resolved_version() != version
    typing_needed = resolve_needed or store.get_meta(RELATION_TYPES_META) != typing_key
    if not typing_needed:
        return False
    t0 = time.perf_counter()
    embed = cached_embed(store, embedder)
    if not resolve_needed:
        report.notes.append("the schema's relation types changed: re-typing relations (entities unchanged)")
    phrases = sorted({t.phrase for t in store.load_triples()} - {RELATED})
    store.set_triple_types(type_relations(phrases, schema, embed, cfg.relation_threshold))
    store.set_meta(RELATION_TYPES_META, typing_key)
    if resolve_needed:
        entities, merges = resolve(store.load_mentions(), embed, cfg.merge_threshold, store.keep_apart())
        # nothing above changes chunks or extractions, so the version still holds
        store.replace_entities(entities, merges, version)
        embed([e.name for e in entities])  # entity-name vectors for query linking, computed while indexing
    report.add_time("resolve", time.perf_counter() - t0)
    return True
