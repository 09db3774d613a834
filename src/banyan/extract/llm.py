"""LLM extraction under the graph schema: batched calls, compact replies, per-chunk outcomes.

The extractor depends on a ``JsonChat`` (one chat call returning text), not on the LLM layer: the
graph stage adapts the configured LLM (cache, retries, budget, ledger) to it. Several short chunks
go into one call (``pack``) so the schema and instructions are paid once per call. Each chunk
ends either extracted or failed with a reason, never silently lost: a reply is repaired, a reply
with nothing usable is re-asked once (unless the backend already constrains the JSON), and a
chunk still missing is reported failed for the caller to record and retry on the next run.
A failed call (after the LLM layer's retries) fails its chunks; a budget stop or a configuration
error propagates, since it concerns the whole run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from banyan.errors import LLMFatalError, LLMTransientError
from banyan.extract.base import Extraction
from banyan.extract.llm_reply import ParsedReply, parse_reply, reply_schema, to_records
from banyan.extract.prompts import PROMPT_VERSION, gleaning_text, passages_text, reask_text, system_prompt
from banyan.extract.schema import OTHER, RELATED, Schema
from banyan.settings import GraphSettings
from banyan.text import count_tokens
from banyan.types import LLM_SOURCE_PREFIX, Chunk, TypeEvidence

REPLY_OVERHEAD = 48
"""Reply tokens a call needs besides its passages' entries (braces, keys)."""


class JsonChat(Protocol):
    """One chat call. ``constrained``: the backend enforces ``json_schema`` (grammar / JSON-schema mode)."""

    model: str
    constrained: bool

    def chat(self, messages: Sequence[tuple[str, str]], json_schema: dict[str, Any] | None, max_tokens: int) -> str:
        """The reply text for (role, content) messages; raises LLMTransientError / LLMFatalError when the
        call fails, BudgetExceededError / LLMNotConfiguredError when the run must stop."""
        ...


@dataclass(frozen=True, slots=True)
class LLMPassage:
    chunk: Chunk
    title: str = ""

    @property
    def tokens(self) -> int:
        return self.chunk.n_tokens + count_tokens(self.title)


@dataclass(slots=True)
class ChunkOutcome:
    """What LLM extraction made of one chunk: an extraction, or the reason it failed."""

    chunk_id: str
    extraction: Extraction | None
    evidence: list[TypeEvidence] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.extraction is not None


@dataclass(frozen=True, slots=True)
class LLMExtractConfig:
    batch_tokens: int = 900
    batch_chunks: int = 8
    output_tokens_per_chunk: int = 160
    max_output_tokens: int = 1024
    gleaning: int = 0

    @classmethod
    def from_settings(cls, graph: GraphSettings, max_output_tokens: int) -> LLMExtractConfig:
        return cls(graph.llm_batch_tokens, graph.llm_batch_chunks, graph.llm_output_tokens_per_chunk,
                   max_output_tokens, graph.llm_gleaning)

    @property
    def chunks_per_call(self) -> int:
        """The reply of a call must fit ``max_output_tokens``: that caps its chunks too."""
        by_output = (self.max_output_tokens - REPLY_OVERHEAD) // self.output_tokens_per_chunk
        return max(1, min(self.batch_chunks, by_output))

    def reply_tokens(self, n: int) -> int:
        return min(self.max_output_tokens, REPLY_OVERHEAD + n * self.output_tokens_per_chunk)


def pack(passages: Sequence[LLMPassage], max_tokens: int, max_chunks: int) -> list[list[LLMPassage]]:
    """Consecutive passages grouped into calls of at most ``max_tokens`` passage tokens and
    ``max_chunks`` passages (a longer passage goes alone); one language per call."""
    batches: list[list[LLMPassage]] = []
    size = 0
    for p in passages:
        last = batches[-1] if batches else None
        if last and len(last) < max_chunks and size + p.tokens <= max_tokens and last[0].chunk.lang == p.chunk.lang:
            last.append(p)
            size += p.tokens
        else:
            batches.append([p])
            size = p.tokens
    return batches


def merge_extractions(base: Extraction, extra: Extraction) -> Extraction:
    """``base`` plus what ``extra`` adds: a name already in ``base`` takes ``extra``'s type when that
    one is typed (the LLM types what NLP found), repeated facts are kept once."""
    out = Extraction(list(base.mentions), list(base.triples), list(base.attributes))
    where = {(m.chunk_id, m.norm): i for i, m in enumerate(out.mentions)}
    for m in extra.mentions:
        i = where.get((m.chunk_id, m.norm))
        if i is None:
            where[(m.chunk_id, m.norm)] = len(out.mentions)
            out.mentions.append(m)
        elif m.type != OTHER and out.mentions[i].type != m.type:
            out.mentions[i] = replace(out.mentions[i], type=m.type)
    seen_t = {(t.chunk_id, t.head, t.phrase, t.tail) for t in out.triples}
    out.triples.extend(t for t in extra.triples if (t.chunk_id, t.head, t.phrase, t.tail) not in seen_t)
    seen_a = {(a.chunk_id, a.entity, a.key, a.value) for a in out.attributes}
    out.attributes.extend(a for a in extra.attributes if (a.chunk_id, a.entity, a.key, a.value) not in seen_a)
    return out


def needs_llm(nlp: Extraction, min_unlinked: int) -> bool:
    """Hybrid policy: whether NLP left at least ``min_unlinked`` of a chunk's entities outside any
    relation with a phrase (the LLM reads paraphrases and implicit links that dependency paths miss)."""
    names = {m.norm for m in nlp.mentions if m.start >= 0}
    if len(names) < max(2, min_unlinked):
        return False
    linked = {n for t in nlp.triples if t.phrase and t.phrase != RELATED for n in (t.head, t.tail)}
    return len(names - linked) >= min_unlinked


class LLMExtractor:
    """Schema-guided extraction by an LLM (implements ``Extractor``; ``extract_batch`` gives outcomes)."""

    def __init__(self, chat: JsonChat, config: LLMExtractConfig | None = None, *, mark_topic: bool = True) -> None:
        self.chat = chat
        self.config = config or LLMExtractConfig()
        self.mark_topic = mark_topic
        self.name = f"llm-{PROMPT_VERSION}:{chat.model}"
        self.source = LLM_SOURCE_PREFIX + chat.model

    def batches(self, passages: Sequence[LLMPassage]) -> list[list[LLMPassage]]:
        return pack(passages, self.config.batch_tokens, self.config.chunks_per_call)

    def extract(self, chunks: Sequence[Chunk], schema: Schema) -> Extraction:
        """The ``Extractor`` protocol: everything extracted; failed chunks are left out (use
        ``extract_batch`` to see them)."""
        out = Extraction()
        for batch in self.batches([LLMPassage(c) for c in chunks]):
            for outcome in self.extract_batch(batch, schema):
                if outcome.extraction is not None:
                    out.extend(outcome.extraction)
        return out

    def extract_batch(self, batch: Sequence[LLMPassage], schema: Schema) -> list[ChunkOutcome]:
        """One call for ``batch`` (plus a re-ask or gleaning rounds): one outcome per passage, in order."""
        lang = batch[0].chunk.lang
        n = len(batch)
        js = reply_schema(schema, n)
        max_tokens = self.config.reply_tokens(n)
        messages = [("system", system_prompt(schema, lang)),
                    ("user", passages_text([(p.title, p.chunk.text) for p in batch], lang))]
        try:
            text = self.chat.chat(messages, js, max_tokens)
            parsed = parse_reply(text, n)
            if parsed.error and not self.chat.constrained:  # nothing usable: one corrective re-ask
                messages += [("assistant", text[:1500]), ("user", reask_text(parsed.error, lang))]
                text = self.chat.chat(messages, js, max_tokens)
                parsed = parse_reply(text, n)
            replies = [parsed]
            for _ in range(self.config.gleaning if not parsed.error else 0):
                messages += [("assistant", text), ("user", gleaning_text(lang))]
                text = self.chat.chat(messages, js, max_tokens)
                replies.append(parse_reply(text, n))
        except (LLMTransientError, LLMFatalError) as exc:
            return [ChunkOutcome(p.chunk.id, None, error=f"LLM call failed: {exc}") for p in batch]
        return [self._outcome(k, p, replies, schema) for k, p in enumerate(batch, 1)]

    def _outcome(self, k: int, p: LLMPassage, replies: list[ParsedReply], schema: Schema) -> ChunkOutcome:
        first = replies[0]
        if k not in first.entries:
            reason = first.error or f"the reply has no entry for passage {k} (cut off at the token limit?)"
            return ChunkOutcome(p.chunk.id, None, error=reason)
        extraction, evidence = Extraction(), []
        for reply in replies:
            if k in reply.entries:
                conv = to_records(reply.entries[k], p.chunk, p.title, schema, self.source,
                                  mark_topic=self.mark_topic and reply is first)
                extraction = merge_extractions(extraction, conv.extraction)
                evidence.extend(conv.evidence)
        return ChunkOutcome(p.chunk.id, extraction, evidence)
