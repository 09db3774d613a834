"""LLM and hybrid graph extraction over the store: batched, concurrent, resumable, nothing lost.

``llm`` sends every pending chunk to the LLM; ``hybrid`` runs NLP extraction first and sends only
the chunks whose entities NLP left unlinked (``extract.llm.needs_llm``), merging both results in
one extraction per chunk. Each finished call is committed at once under the chunk's extraction
key, so a budget stop or a kill resumes where it stopped (the LLM cache answers a repeated call
for free). A chunk the LLM could not extract is recorded as failed (``banyan status`` lists it)
and keeps no key of this mode, so the next ``banyan index`` retries it; in hybrid mode it keeps
its NLP extraction meanwhile, under the NLP key.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from banyan.errors import BanyanError, BudgetExceededError
from banyan.extract.base import Extraction, Extractor
from banyan.extract.llm import ChunkOutcome, LLMExtractConfig, LLMExtractor, LLMPassage, merge_extractions, needs_llm
from banyan.extract.llm_proposals import describe, due_for_auto_accept
from banyan.extract.schema import Schema
from banyan.llm import LLM, CallParams, ChatMessage, LLMDatabase, build_llm
from banyan.progress import Progress
from banyan.settings import LLMSettings, Settings
from banyan.store import GraphStore
from banyan.types import Chunk, ExtractionFailure, ExtractionSummary, IndexReport

log = logging.getLogger(__name__)
STAGE = "extract"
WINDOW = 500
"""Chunks read, NLP-extracted (hybrid) and sent to the LLM together; a budget stop skips later windows."""
AddAliases = Callable[[Extraction, Sequence[str]], None]
"""Adds title-alias mentions for the given chunks to an extraction (``graph.build``)."""


class LLMChat:
    """The configured LLM (cache, retries, budget, ledger) as the extractor's ``JsonChat``."""

    def __init__(self, llm: LLM, model: str, *, constrained: bool, temperature: float = 0.0) -> None:
        self.llm, self.model, self.constrained, self.temperature = llm, model, constrained, temperature

    def chat(self, messages: Sequence[tuple[str, str]], json_schema: dict[str, Any] | None, max_tokens: int) -> str:
        msgs = [ChatMessage(role, content) for role, content in messages]  # type: ignore[arg-type]
        params = CallParams(temperature=self.temperature, max_tokens=max_tokens, json_schema=json_schema, stage=STAGE)
        return self.llm.complete(msgs, params).text


def constrains_json(cfg: LLMSettings) -> bool:
    """Whether the backend enforces the reply's JSON schema: llama.cpp grammars, or ``json_mode=schema``."""
    return cfg.model.startswith("gguf:") or cfg.json_mode == "schema"


@dataclass
class GraphLLMExtractor:
    """What ``extract_missing`` runs for one language in mode ``llm`` or ``hybrid``."""

    mode: str
    llm: LLMExtractor
    nlp: Extractor | None
    min_unlinked: int
    concurrency: int
    usage: Callable[[], tuple[int, int, int, int]] = field(default=lambda: (0, 0, 0, 0))
    """(calls, cached calls, prompt tokens, completion tokens) of this run's extraction calls"""

    @property
    def name(self) -> str:
        if self.nlp is None:
            return self.llm.name
        return f"hybrid-{self.nlp.name}+{self.llm.name}@{self.min_unlinked}"

    def key(self, schema: Schema) -> str:
        """The extraction key: the LLM reads every type of the schema, relation types included."""
        return f"{self.name}#{schema.extraction_key()}.{schema.relation_key()}"

    def nlp_key(self, schema: Schema) -> str | None:
        """The key of an NLP-only extraction (the same as NLP mode's)."""
        return f"{self.nlp.name}#{schema.extraction_key()}" if self.nlp is not None else None

    def extract(self, chunks: Sequence[Any], schema: Schema) -> Extraction:
        """The ``Extractor`` protocol, without the store: NLP (hybrid) merged with the LLM's extraction."""
        base = self.nlp.extract(chunks, schema) if self.nlp is not None else Extraction()
        return merge_extractions(base, self.llm.extract(chunks, schema))


def llm_extractors(settings: Settings, index_dir: Path | None, nlp: dict[str, Extractor] | None,
                   llm: LLM | None = None, *, database: LLMDatabase | None = None) -> dict[str, Extractor]:
    """Extractors for ``graph.extractor`` llm (``nlp`` None) or hybrid, one per language, sharing one LLM
    stack (cache and ledger in ``database``, else ``<index>/llm.sqlite``). ``llm`` replaces the
    configured backend (tests)."""
    stack = build_llm(settings.llm, index_dir, backend=llm, database=database)
    model = stack.backend.model
    chat = LLMChat(stack.llm, model, constrained=constrains_json(settings.llm),
                   temperature=settings.llm.temperature)
    config = LLMExtractConfig.from_settings(settings.graph, settings.llm.max_output_tokens)
    # llama.cpp runs one request at a time in-process: no parallel calls into it
    concurrency = 1 if model.startswith("gguf:") else settings.llm.max_concurrency
    run_id = stack.ledger.run_id

    def usage() -> tuple[int, int, int, int]:
        rows = [r for r in stack.ledger.by_stage(run_id) if r.stage == STAGE]
        return (sum(r.calls for r in rows), sum(r.cached_calls for r in rows),
                sum(r.prompt_tokens for r in rows), sum(r.completion_tokens for r in rows))

    out: dict[str, Extractor] = {}
    for lang in ("en", "zh"):
        base = nlp.get(lang) if nlp is not None else None
        out[lang] = GraphLLMExtractor("hybrid" if nlp is not None else "llm", LLMExtractor(
            chat, config, mark_topic=base is None), base, settings.graph.hybrid_min_unlinked, concurrency, usage)
    return out


def split_by_chunk(extraction: Extraction) -> dict[str, Extraction]:
    out: dict[str, Extraction] = defaultdict(Extraction)
    for m in extraction.mentions:
        out[m.chunk_id].mentions.append(m)
    for t in extraction.triples:
        out[t.chunk_id].triples.append(t)
    for a in extraction.attributes:
        out[a.chunk_id].attributes.append(a)
    return out


def tagged(extraction: Extraction, source: str) -> Extraction:
    """Rows without a source get ``source`` (the NLP extractor's name)."""
    return Extraction([m if m.source else replace(m, source=source) for m in extraction.mentions],
                      [t if t.source else replace(t, source=source) for t in extraction.triples],
                      [a if a.source else replace(a, source=source) for a in extraction.attributes])


@dataclass
class _Run:
    """One language's LLM extraction in progress: what to store under which key."""

    store: GraphStore
    key: str
    nlp_key: str | None
    add_aliases: AddAliases
    progress: Progress
    previous: dict[str, int]
    nlp: dict[str, Extraction] = field(default_factory=dict)
    extracted: int = 0
    failed: int = 0

    def put(self, key: str, parts: dict[str, Extraction], evidence: Sequence[Any] = ()) -> None:
        if not parts:
            return
        ids = list(parts)
        merged = Extraction()
        for part in parts.values():
            merged.extend(part)
        self.add_aliases(merged, ids)
        self.store.put_extraction(key, ids, merged.mentions, merged.triples, merged.attributes, evidence)

    def finish(self, outcomes: list[ChunkOutcome]) -> None:
        """Commit one call's outcomes: extracted chunks under the key, failed ones recorded."""
        ok = {o.chunk_id: merge_extractions(self.nlp.get(o.chunk_id, Extraction()), o.extraction)
              for o in outcomes if o.extraction is not None}
        self.put(self.key, ok, [e for o in outcomes if o.extraction is not None for e in o.evidence])
        bad = [o for o in outcomes if o.extraction is None]
        if bad and self.nlp_key is not None:  # hybrid: keep the NLP facts meanwhile
            self.put(self.nlp_key, {o.chunk_id: self.nlp.get(o.chunk_id, Extraction()) for o in bad})
        if bad:
            self.store.record_extraction_failures([ExtractionFailure(
                o.chunk_id, self.key, o.error or "unknown error", self.previous.get(o.chunk_id, 0) + 1) for o in bad])
            for o in bad:
                log.debug("LLM extraction failed for chunk %s: %s", o.chunk_id, o.error)
        self.extracted += len(ok)
        self.failed += len(bad)
        self.progress.advance(len(outcomes))


def run_llm_extraction(store: GraphStore, schema: Schema, ex: GraphLLMExtractor, chunk_ids: Sequence[str],
                       add_aliases: AddAliases, progress: Progress, report: IndexReport) -> ExtractionSummary:
    """Extract ``chunk_ids`` (one language) in ``ex.mode``, ``WINDOW`` chunks at a time; returns what
    was done (``stopped`` and the chunks ``left`` on a budget stop)."""
    t0 = time.perf_counter()
    run = _Run(store, ex.key(schema), ex.nlp_key(schema), add_aliases, progress,
               {f.chunk_id: f.attempts for f in store.extraction_failures()})
    selected = left = 0
    stopped: str | None = None
    for i in range(0, len(chunk_ids), WINDOW):
        if stopped is not None:
            left += len(chunk_ids[i : i + WINDOW])
            continue
        chunks = _select(schema, ex, run, store.get_chunks(chunk_ids[i : i + WINDOW]))
        selected += len(chunks)
        titles = {cid: p.citation.title for cid, p in store.citations([c.id for c in chunks]).items()}
        batches = ex.llm.batches([LLMPassage(c, titles.get(c.id, "")) for c in chunks])
        stopped, unfinished = _run_batches(batches, schema, ex, run)
        left += unfinished
        run.nlp.clear()
    report.add_time("extract", time.perf_counter() - t0)
    calls, cached, prompt, completion = ex.usage()
    return ExtractionSummary(ex.mode, len(chunk_ids), selected, run.extracted, run.failed, left, calls, cached,
                             prompt, completion, stopped)


def _select(schema: Schema, ex: GraphLLMExtractor, run: _Run, chunks: list[Chunk]) -> list[Chunk]:
    """The chunks to send to the LLM: all in ``llm`` mode; in ``hybrid`` mode NLP extracts every chunk,
    those the policy keeps from the LLM are committed at once and the others' NLP result waits in ``run``."""
    if ex.nlp is None:
        return chunks
    parts = split_by_chunk(tagged(ex.nlp.extract(chunks, schema), ex.nlp.name))
    pick = [c for c in chunks if needs_llm(parts.get(c.id, Extraction()), ex.min_unlinked)]
    picked = {c.id for c in pick}
    run.put(run.key, {c.id: parts.get(c.id, Extraction()) for c in chunks if c.id not in picked})
    run.progress.advance(len(chunks) - len(pick))
    run.nlp.update({c.id: parts.get(c.id, Extraction()) for c in pick})
    return pick


def _run_batches(batches: list[list[LLMPassage]], schema: Schema, ex: GraphLLMExtractor,
                 run: _Run) -> tuple[str | None, int]:
    """Calls in parallel, each committed as it finishes. Returns (why it stopped early, chunks left)."""
    stopped: str | None = None
    fatal: BanyanError | None = None
    done_ids: set[str] = set()
    with ThreadPoolExecutor(max_workers=max(1, ex.concurrency)) as pool:
        running: dict[Future[list[ChunkOutcome]], list[LLMPassage]] = {}
        queue = list(batches)
        while queue or running:
            while queue and len(running) < max(1, ex.concurrency) and stopped is None and fatal is None:
                batch = queue.pop(0)
                running[pool.submit(ex.llm.extract_batch, batch, schema)] = batch
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                batch = running.pop(fut)
                try:
                    outcomes = fut.result()
                except BudgetExceededError as exc:
                    stopped = str(exc)
                    continue
                except BanyanError as exc:  # no model, bad credentials: stop, keep what is done
                    fatal = fatal or exc
                    continue
                run.finish(outcomes)
                done_ids.update(p.chunk.id for p in batch)
    left = [p.chunk.id for b in batches for p in b if p.chunk.id not in done_ids]
    if left and run.nlp_key is not None:  # hybrid: the NLP facts of unfinished chunks, until the next run
        run.put(run.nlp_key, {cid: run.nlp.get(cid, Extraction()) for cid in left})
    if fatal is not None:
        raise fatal
    return stopped, len(left)


def auto_accept(store: GraphStore, min_chunks: int) -> list[str]:
    """Accept pending proposals supported by ``min_chunks`` chunks (``graph.auto_accept_min_chunks``)."""
    accepted = []
    for p in due_for_auto_accept(store.type_proposals(), min_chunks):
        store.set_type_decision(p.kind, p.name, "accepted", describe(p))
        accepted.append(f"{p.kind} type {p.name!r} ({p.n_chunks} chunks)")
    return accepted
