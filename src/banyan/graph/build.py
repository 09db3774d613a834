"""Indexing stages for the knowledge graph: extract (per chunk, resumable), then resolve (global).

``extract`` runs the extractor of each chunk's language on chunks not yet extracted and
commits every block: NLP by default, or with ``graph.extractor`` llm / hybrid the LLM through
``graph.llm_extraction`` (batched calls, committed per call, failures recorded). ``resolve``
groups all mentions into entities and types relation phrases; it reruns only when chunks or
extractions changed since its last run.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from banyan.embed import Embedder
from banyan.extract.base import Extraction, Extractor, extract_blocks
from banyan.extract.schema import OTHER, RELATED, Schema, relation_text
from banyan.graph.corpus import ENTITY_TITLED_META, entity_titled_share
from banyan.graph.llm_extraction import (
    AddAliases,
    GraphLLMExtractor,
    auto_accept,
    llm_extractors,
    run_llm_extraction,
)
from banyan.graph.resolve import resolve
from banyan.graph.text_vectors import cached_embed
from banyan.progress import Progress
from banyan.settings import GraphSettings, Settings
from banyan.store import GraphStore, IndexStore
from banyan.text import normalize_name
from banyan.types import LLM_SOURCE_PREFIX, ExtractionSummary, IndexReport, Mention

EXTRACT_BLOCK = 500
RELATION_TYPES_META = "relation_types_key"
GRAPH_FINISHED_META = "graph_finished"
RESOLUTION_RULES_META = "resolution_rules"
RESOLUTION_RULES = "2"
"""bumped when ``graph.resolve`` merges differently from the same mentions (2: titles that name nothing are
not aliases): an index resolved under other rules resolves its entities again on the next ``banyan index``"""


def default_extractors() -> dict[str, Extractor]:
    from banyan.extract.chinese import JiebaExtractor
    from banyan.extract.english import SpacyExtractor

    return {"en": SpacyExtractor(), "zh": JiebaExtractor()}


def select_extractors(settings: Settings, index_dir: Path | None,
                      store: IndexStore | None = None) -> dict[str, Extractor]:
    """The extractors ``graph.extractor`` names: NLP, the LLM, or NLP first and the LLM where it adds
    (its cache and ledger in the ``store``'s database when it is a server store)."""
    mode = settings.graph.extractor
    if mode == "nlp":
        return default_extractors()
    return llm_extractors(settings, index_dir, default_extractors() if mode == "hybrid" else None,
                          database=store.llm_database() if store is not None else None)


def extraction_key(extractor: Extractor, schema: Schema) -> str:
    """What an extraction depends on: the extractor's version (an LLM extractor's includes the
    model) and the schema types it reads."""
    if isinstance(extractor, GraphLLMExtractor):
        return extractor.key(schema)
    return f"{extractor.name}#{schema.extraction_key()}"


def _add_title_aliases(store: GraphStore) -> AddAliases:
    def add(result: Extraction, chunk_ids: Sequence[str]) -> None:
        found = title_aliases(result.mentions, store.chunk_titles(chunk_ids, opening_only=True))
        result.mentions.extend(replace(m, source="title") for m in found)

    return add


def _combine(a: ExtractionSummary | None, b: ExtractionSummary) -> ExtractionSummary:
    if a is None:
        return b
    sums = {f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(a)
            if f.name not in ("mode", "stopped", "calls", "cached_calls", "prompt_tokens", "completion_tokens")}
    return replace(b, **sums, stopped=a.stopped or b.stopped)  # usage: the run's ledger totals (b is the latest)


def extract_missing(store: GraphStore, schema: Schema, extractors: dict[str, Extractor], report: IndexReport,
                    progress: Progress, *, auto_accept_min_chunks: int = 0) -> None:
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
    add_aliases = _add_title_aliases(store)
    summary: ExtractionSummary | None = None
    for lang, ids in by_lang.items():
        ex = extractors[lang]
        if isinstance(ex, GraphLLMExtractor):
            if summary is not None and summary.stopped:  # the budget is spent: this language waits too
                summary = replace(summary, left=summary.left + len(ids))
                continue
            summary = _combine(summary, run_llm_extraction(store, schema, ex, ids, add_aliases, progress, report))
            continue
        blocks = [ids[i : i + EXTRACT_BLOCK] for i in range(0, len(ids), EXTRACT_BLOCK)]
        with closing(extract_blocks(ex, (store.get_chunks(block) for block in blocks), schema, len(ids))) as results:
            for block in blocks:
                t0 = time.perf_counter()
                result = next(results)
                add_aliases(result, block)
                report.add_time("extract", time.perf_counter() - t0)
                t0 = time.perf_counter()
                # rows without a source are the extractor's: the store records its name for them
                store.put_extraction(keys[lang], block, result.mentions, result.triples, result.attributes,
                                     source=ex.name)
                report.add_time("store", time.perf_counter() - t0)
                progress.advance(len(block))
    progress.done()
    if summary is not None:
        report.extraction = summary
        report.notes.extend(_llm_notes(summary, auto_accept(store, auto_accept_min_chunks)))


def _llm_notes(s: ExtractionSummary, accepted: list[str]) -> list[str]:
    notes = [(f"LLM extraction ({s.mode}): {s.llm_chunks} of {s.chunks} chunks sent to the LLM in {s.calls} calls "
              f"({s.cached_calls} cached), {s.prompt_tokens} prompt + {s.completion_tokens} completion tokens; "
              f"{s.extracted} extracted, {s.failed} failed")]
    if s.failed:
        notes.append(f"{s.failed} chunks could not be extracted: `banyan status` lists them, the next "
                     "`banyan index` retries them")
    if s.stopped:
        notes.append(f"stopped early, {s.left} chunks left: {s.stopped}")
    notes.extend(f"accepted the proposed {a}: the next run re-extracts every chunk with it" for a in accepted)
    return notes


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


def resolve_graph(store: IndexStore, schema: Schema, embedder: Embedder, cfg: GraphSettings,
                  report: IndexReport) -> bool:
    """Recompute entities if the graph changed, and relation types if the schema's relation types
    changed (only that: a new relation type re-types phrases without re-resolving entities).
    Returns whether anything was recomputed."""
    if store.resolved_version() is not None and store.get_meta(RESOLUTION_RULES_META) != RESOLUTION_RULES:
        store.mark_graph_changed()
        report.notes.append("entity resolution's rules changed since this index was built: resolving entities again")
    version = store.graph_version()
    typing_key = schema.relation_key()
    resolve_needed = store.resolved_version() != version
    schema_changed = store.get_meta(RELATION_TYPES_META) != typing_key
    # the last step writes GRAPH_FINISHED_META: a run killed after resolving but before the name
    # vectors and domain/range typing were done finishes them on the next run
    finished = store.get_meta(GRAPH_FINISHED_META) == f"{version}|{typing_key}"
    if not (resolve_needed or schema_changed or not finished):
        return False
    t0 = time.perf_counter()
    embed = cached_embed(store, embedder)
    if schema_changed and not resolve_needed and store.get_meta(RELATION_TYPES_META) is not None:
        report.notes.append("the schema's relation types changed: re-typing relations (entities unchanged)")
    phrases = sorted({t.phrase for t in store.load_triples() if not t.source.startswith(LLM_SOURCE_PREFIX)} - {RELATED})
    store.set_triple_types(type_relations(phrases, schema, embed, cfg.relation_threshold))
    store.set_meta(RELATION_TYPES_META, typing_key)
    mentions = None
    if resolve_needed:
        mentions = store.load_mentions()
        entities, merges = resolve(mentions, embed, cfg.merge_threshold, store.keep_apart())
        # nothing above changes chunks or extractions, so the version still holds
        store.replace_entities(entities, merges, version)
        store.set_meta(RESOLUTION_RULES_META, RESOLUTION_RULES)
    else:
        entities = store.load_entities()
    if mentions is not None or store.get_meta(ENTITY_TITLED_META) is None:
        order = store.chunk_order()
        share = entity_titled_share(store.load_mentions() if mentions is None else mentions,
                                    {c: d for c, d, _ in order}, store.alias_index(), len({d for _, d, _ in order}))
        store.set_meta(ENTITY_TITLED_META, f"{share:.4f}")
    embed([e.name for e in entities])  # entity-name vectors for query linking (cached: only missing ones)
    # a phrase's type must fit the entities it joins: "Rowing Club -founded by-> River Avon" is untyped
    store.untype_out_of_range(schema.domain_range(), untyped=RELATED, wildcard=OTHER)
    store.set_meta(GRAPH_FINISHED_META, f"{version}|{typing_key}")
    report.add_time("resolve", time.perf_counter() - t0)
    return True
