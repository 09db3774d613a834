"""The answer engine: context -> prompt -> LLM (streamed or not) -> an Answer with validated citations.

Without an LLM it answers extractively. An LLM failure (an error, a timeout after the retries the
LLM layer allows, the token budget) never loses the evidence: the Answer carries the error, the
extractive answer and every passage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from banyan.answer.agent import AgentLoop, AgentSearch
from banyan.answer.citations import uncited_sentences, validate_citations
from banyan.answer.context import ContextBuilder, TokenCounter
from banyan.answer.extractive import extractive_answer
from banyan.answer.global_search import GlobalSearch, LexicalRater, LLMRater, Rater, map_reduce
from banyan.answer.prompts import INSUFFICIENT, NO_LLM_NOTE, PromptSet, answer_messages, is_insufficient, prompts_for
from banyan.answer.rerank import Reranker, RerankingBuilder, make_reranker
from banyan.answer.sources import IndexReader
from banyan.answer.strategies import FullSearch, LocalSearch, MixSearch, NaiveSearch, Strategy
from banyan.answer.transforms import QueryTransform, apply_transform, make_transform
from banyan.answer.triple_filter import filter_triples
from banyan.answer.types import ANSWER_MODES, AgentStep, Answer, AnswerContext, Candidate
from banyan.errors import BudgetExceededError, ConfigError, LLMError
from banyan.llm import LLM, CallParams, ChatMessage, Completion, StreamChunk
from banyan.retrieve import Query
from banyan.settings import AnswerSettings, LLMSettings
from banyan.text import count_tokens

PROMPT_RESERVE = 400
"""Tokens kept for the instructions, the question and section headings around the context."""
ESTIMATE_FACTOR = 1.3
"""The LLM layer's context guard estimates words x 1.3: a context sized with it is never truncated."""
NO_MATCH = {"en": "No passage in the index matches the question.", "zh": "索引中没有与问题相关的段落。"}


def context_budget(requested: int, window: int, reply_tokens: int) -> int:
    """``requested``, lowered so that context, prompt and reply fit a ``window``-token model."""
    return max(50, min(requested, int((window - reply_tokens - PROMPT_RESERVE) / ESTIMATE_FACTOR)))


def model_counter(llm: LLM | None) -> TokenCounter | None:
    """The model's own tokenizer, when the backend under the wrappers has one (llama.cpp)."""
    seen = 0
    while llm is not None and seen < 20:
        counter = getattr(llm, "count_tokens", None)
        if callable(counter):
            return counter  # type: ignore[no-any-return]
        llm, seen = getattr(llm, "inner", None), seen + 1
    return None


class CountingLLM:
    """Counts one answer's calls and tokens (thread-safe: the map and rating steps run concurrently)."""

    def __init__(self, inner: LLM) -> None:
        self.inner, self.model = inner, inner.model
        self.calls = self.tokens_in = self.tokens_out = 0
        self._lock = threading.Lock()

    def _add(self, calls: int, tokens_in: int = 0, tokens_out: int = 0) -> None:
        with self._lock:
            self.calls += calls
            self.tokens_in += tokens_in
            self.tokens_out += tokens_out

    def complete(self, messages: Sequence[ChatMessage], params: CallParams) -> Completion:
        try:
            out = self.inner.complete(messages, params)
        except BudgetExceededError:  # refused before any request: not a call
            raise
        except LLMError:
            self._add(1)
            raise
        self._add(1, out.usage.prompt_tokens, out.usage.completion_tokens)
        return out

    def stream(self, messages: Sequence[ChatMessage], params: CallParams) -> Iterator[StreamChunk]:
        counted = False
        try:
            for chunk in self.inner.stream(messages, params):
                if not counted:
                    self._add(1)
                    counted = True
                if chunk.usage is not None:
                    self._add(0, chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                yield chunk
        except BudgetExceededError:
            raise
        except LLMError:
            if not counted:
                self._add(1)
            raise


@dataclass(frozen=True)
class AnswerEngine:
    reader: IndexReader
    llm_settings: LLMSettings
    make_query: Callable[[str], Query]
    default_llm: Callable[[], LLM] | None = None
    """loads the configured LLM (None when no model is configured: answers are extractive)"""

    # -- modes ---------------------------------------------------------------------------------
    def strategy(self, mode: str, rater: Rater | None = None, passage_budget: int | None = None) -> Strategy:
        s = self.reader.settings
        strategies: dict[str, Strategy] = {
            "naive": NaiveSearch(self.reader), "mix": MixSearch(self.reader), "local": LocalSearch(self.reader),
            "full": FullSearch(self.reader), "agent": AgentSearch(self.reader, self.make_query),
            "global": GlobalSearch(self.reader, rater or LexicalRater(), s.global_selection, passage_budget)}
        return strategies[mode]

    def resolve_mode(self, q: Query, mode: str, b: ContextBuilder) -> str:
        """``auto``: full text when the corpus fits, else the language's mode (``answer.auto_modes``)."""
        if mode not in ANSWER_MODES:
            raise ConfigError(f"unknown answer mode {mode!r}; choose one of {', '.join(ANSWER_MODES)}")
        if mode != "auto":
            return mode
        s = self.reader.settings
        if s.auto_full and FullSearch(self.reader).corpus(b) is not None:
            return "full"
        if self.reader.graph() is None:
            return s.auto_fallback
        return s.auto_modes.get(q.lang, s.auto_fallback)

    def build_context(self, q: Query, mode: str, budget: int, count: TokenCounter = count_tokens,
                      rater: Rater | None = None, report_budget: int | None = None,
                      first: Sequence[Candidate] = (), reranker: Reranker | None = None) -> AnswerContext:
        """The context of ``mode`` for ``q`` (no LLM call unless ``rater`` or ``reranker`` makes them); ``first``:
        passages (a query transform's) added before the mode's, within ``answer.transform_share`` of the budget."""
        b = self.builder(q, budget, count, reranker)
        resolved = self.resolve_mode(q, mode, b)
        if resolved == "global" and report_budget is not None:
            b = self.builder(q, report_budget, count, reranker)  # what the map steps read, in all
        if first:
            b.add_passages(first, cap=int(b.budget * self.reader.settings.transform_share))
        notes = self.strategy(resolved, rater, budget).fill(q, b)
        if isinstance(b, RerankingBuilder):
            notes = [*notes, *b.notes]
        return b.build(resolved, notes)

    def builder(self, q: Query, budget: int, count: TokenCounter, reranker: Reranker | None) -> ContextBuilder:
        """A context builder; with ``reranker``, one that reranks every passage list before admitting it."""
        if reranker is None:
            return ContextBuilder(budget, count, prompts_for(q.lang))
        return RerankingBuilder(budget, count, prompts_for(q.lang), reranker, q.text, self.reader.settings.rerank_top_n)

    def reranker(self, q: Query, llm: LLM | None) -> Reranker | None:
        """``answer.reranker`` (the ``llm`` one only with an LLM)."""
        return make_reranker(self.reader.settings, self.llm_settings, llm, q.lang)

    def context(self, question: str, mode: str = "auto", budget: int | None = None) -> AnswerContext:
        if not question.strip():
            raise ValueError("empty question")
        q = self.make_query(question)
        return self.build_context(q, mode, budget or self.reader.settings.context_tokens,
                                  reranker=self.reranker(q, None))

    # -- answering -----------------------------------------------------------------------------
    def ask(self, question: str, mode: str = "auto", *, budget: int | None = None, reject: bool = False,
            llm: LLM | None = None, transform: str | None = None) -> Answer:
        """The answer (its text whole; see ``stream`` for the pieces as they arrive)."""
        for item in self.stream(question, mode, budget=budget, reject=reject, llm=llm, pieces=False,
                                transform=transform):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream() always ends with an Answer")

    def stream(self, question: str, mode: str = "auto", *, budget: int | None = None, reject: bool = False,
               llm: LLM | None = None, pieces: bool = True, transform: str | None = None) -> Iterator[str | Answer]:
        """Text pieces as the model writes them (one piece with ``pieces=False``), then the final ``Answer``.

        ``llm`` None: ``default_llm()`` (the configured one) if there is one, else an extractive answer.
        ``transform``: a query transform (``answer.transform`` when None; it needs an LLM)."""
        t0 = time.perf_counter()
        if not question.strip():
            raise ValueError("empty question")
        s = self.reader.settings
        run = _Run(self, question, t0, reject, make_transform(transform or s.transform, s.transform_queries))
        if llm is None and self.default_llm is not None:
            try:
                llm = self.default_llm()
            except LLMError as exc:
                run.error = f"the configured LLM could not be loaded: {exc}"
        if llm is None:
            run.context(mode, budget, None)
            if run.error is None:
                run.notes.append(NO_LLM_NOTE)
            if run.transform is not None:
                run.notes.append(f"{run.transform.name}: a query transform needs an LLM; not applied")
            if s.reranker == "llm":
                run.notes.append("answer.reranker = llm needs an LLM; passages kept in retrieval order")
            answer = run.extractive()
            yield answer.text
            yield answer
            return
        counted = CountingLLM(llm)
        run.llm = counted
        try:
            messages = run.prepare(mode, budget, counted)
            if messages is None:
                answer = run.refusal()
                yield answer.text
                yield answer
                return
            params = CallParams(temperature=self.llm_settings.temperature,
                                max_tokens=self.reader.settings.max_answer_tokens, stage="answer")
            parts: list[str] = []
            if pieces:
                for chunk in counted.stream(messages, params):
                    if chunk.text:
                        parts.append(chunk.text)
                        yield chunk.text
            else:
                parts.append(counted.complete(messages, params).text)
        except LLMError as exc:
            run.error = f"{type(exc).__name__}: {exc}"
            if run.ctx is None:
                run.context(mode, budget, None)
            yield run.extractive()
            return
        yield run.written("".join(parts))


class _Run:
    """One question on its way to an Answer: the context, the LLM, notes and errors gathered."""

    def __init__(self, engine: AnswerEngine, question: str, t0: float, reject: bool,
                 transform: QueryTransform | None = None) -> None:
        self.engine, self.question, self.t0, self.reject = engine, question, t0, reject
        self.transform = transform
        self.filtered = False
        self.first: tuple[Candidate, ...] = ()
        """the transform's fused passages (kept if a later call fails)"""
        self.q = engine.make_query(question)
        self.prompts: PromptSet = prompts_for(self.q.lang)
        self.ctx: AnswerContext | None = None
        self.llm: CountingLLM | None = None
        self.error: str | None = None
        self.notes: list[str] = []
        self.removed = 0
        self.trace: tuple[AgentStep, ...] = ()

    @property
    def cfg(self) -> AnswerSettings:
        return self.engine.reader.settings

    def window(self) -> int:
        s = self.engine.llm_settings
        return min(s.context_window, s.n_ctx) if s.model.startswith("gguf:") else s.context_window

    def context(self, mode: str, budget: int | None, llm: CountingLLM | None) -> AnswerContext:
        want = budget or self.cfg.context_tokens
        count = (model_counter(llm) if llm is not None else None) or count_tokens
        if llm is None:
            self.ctx = self.engine.build_context(self.q, mode, want, count, first=self.first,
                                                 reranker=self.engine.reranker(self.q, None))
            return self.ctx
        want = context_budget(want, self.window(), self.cfg.max_answer_tokens)
        self.apply_triple_filter(llm)
        self.apply_transform(llm)
        rater = LLMRater(llm, self.prompts, self.engine.llm_settings.max_concurrency)
        try:
            self.ctx = self.engine.build_context(self.q, mode, want, count, rater, self.cfg.global_report_tokens,
                                                 self.first, self.engine.reranker(self.q, llm))
        except LLMError:  # rating failed as a whole (e.g. the token budget): keep the evidence
            self.ctx = self.engine.build_context(self.q, mode, want, count, first=self.first)
            raise
        if rater.errors and self.ctx.selection is not None and len(rater.errors) >= self.ctx.selection.reports_rated:
            raise LLMError(f"every community rating failed: {rater.errors[0]}")
        if rater.errors:
            self.notes.append(f"global: {len(rater.errors)} report rating(s) failed and were taken as irrelevant")
        return self.ctx

    def agent(self, budget: int | None, llm: CountingLLM) -> list[ChatMessage] | None:
        """Agent mode: the steps (decomposition, retrieval, reflection) fill the context; then the answer prompt."""
        count = model_counter(llm) or count_tokens
        want = context_budget(budget or self.cfg.context_tokens, self.window(), self.cfg.max_answer_tokens)
        self.apply_triple_filter(llm)
        b = self.engine.builder(self.q, want, count, self.engine.reranker(self.q, llm))
        self.apply_transform(llm)
        b.add_passages(self.first, cap=int(b.budget * self.cfg.transform_share))
        result = AgentLoop(self.engine.reader, self.engine.make_query, llm, self.q.lang).run(self.question, self.q, b)
        self.ctx, self.trace = result.context, tuple(result.steps)
        self.notes.extend(result.notes)
        if isinstance(b, RerankingBuilder):
            self.notes.extend(b.notes)
        if self.reject and not result.context.evidence:
            return None
        return answer_messages(self.prompts, result.context.text or NO_MATCH[self.q.lang], result.question,
                               reject=self.reject)

    def apply_triple_filter(self, llm: CountingLLM) -> None:
        """``answer.triple_filter``: once, the LLM keeps the relevant facts; their entities seed the graph routes."""
        if not self.cfg.triple_filter or self.filtered or self.engine.reader.graph() is None:
            return
        self.filtered = True
        done = filter_triples(self.engine.reader, self.engine.make_query, self.q, llm, self.cfg.triple_filter_top)
        self.q = done.query
        self.notes.append(done.note)

    def apply_transform(self, llm: CountingLLM) -> None:
        """Run the query transform once (its passages go first into the context)."""
        if self.transform is None or self.first:
            return
        done = apply_transform(self.transform, self.engine.reader, self.engine.make_query, self.q, llm,
                               self.cfg.passages)
        self.first = done.candidates
        self.notes.append(done.note())

    def prepare(self, mode: str, budget: int | None, llm: CountingLLM) -> list[ChatMessage] | None:
        """The final prompt (global: after the map steps); None when reject mode refuses without a call."""
        if mode == "agent":
            return self.agent(budget, llm)
        ctx = self.context(mode, budget, llm)
        want = context_budget(budget or self.cfg.context_tokens, self.window(), self.cfg.max_answer_tokens)
        if ctx.mode == "global" and ctx.reports:
            cfg = self.cfg.model_copy(update={"global_map_tokens": context_budget(
                self.cfg.global_map_tokens, self.window(), self.cfg.global_map_answer_tokens)})
            red = map_reduce(llm, ctx, self.question, self.prompts, cfg, model_counter(llm) or count_tokens, want,
                             reject=self.reject, concurrency=self.engine.llm_settings.max_concurrency)
            self.removed += red.removed
            if red.failed_all:
                raise LLMError(f"every map step failed: {red.errors[0]}")
            if red.errors:
                self.notes.append(f"global: {len(red.errors)} of the map steps failed: {red.errors[0]}")
            return red.messages
        if self.reject and not ctx.evidence and not ctx.text:
            return None
        return answer_messages(self.prompts, ctx.text or NO_MATCH[self.q.lang], self.question, reject=self.reject)

    # -- answers -------------------------------------------------------------------------------
    def _answer(self, text: str, *, extractive: bool, insufficient: bool, cited: Sequence[int],
                uncited: Sequence[str] = ()) -> Answer:
        ctx = self.ctx
        assert ctx is not None
        by_n = {e.n: e for e in ctx.evidence}
        llm = self.llm
        return Answer(
            self.question, text, ctx.mode, tuple(by_n[n] for n in cited if n in by_n), ctx.evidence, extractive,
            insufficient, self.removed, ctx.tokens, llm.tokens_in if llm else 0, llm.tokens_out if llm else 0,
            llm.calls if llm else 0, time.perf_counter() - self.t0, self.error, (*ctx.notes, *self.notes),
            tuple(uncited), ctx.selection, llm.model if llm else None, self.trace)

    def extractive(self) -> Answer:
        ctx = self.ctx
        assert ctx is not None
        ex = extractive_answer(self.question, ctx.evidence, self.cfg.extractive_sentences)
        if self.reject and ex.best < self.cfg.extractive_min_overlap:
            return self._answer(INSUFFICIENT[self.q.lang], extractive=True, insufficient=True, cited=())
        if self.error is not None:
            self.notes.append("the LLM failed: the answer shows the evidence sentences that best match the question")
        return self._answer(ex.text or NO_MATCH[self.q.lang], extractive=True, insufficient=False, cited=ex.cited)

    def refusal(self) -> Answer:
        return self._answer(INSUFFICIENT[self.q.lang], extractive=False, insufficient=True, cited=())

    def written(self, raw: str) -> Answer:
        ctx = self.ctx
        assert ctx is not None
        check = validate_citations(raw.strip(), {e.n for e in ctx.evidence})
        self.removed += check.removed
        if self.removed:
            self.notes.append(f"removed {self.removed} citation(s) of passages that are not in the context")
        insufficient = self.reject and is_insufficient(check.text)
        uncited = [] if insufficient else uncited_sentences(check.text, ignore=set(INSUFFICIENT.values()))
        if uncited and not self.reject:
            self.notes.append(f"{len(uncited)} sentence(s) cite no passage: they come from the model, not the index")
        return self._answer(check.text, extractive=False, insufficient=insufficient, cited=check.cited,
                            uncited=uncited)
