"""Composable wrappers around any LLM. Each implements the LLM protocol and wraps another.

Built by ``banyan.llm.build_llm`` in this order (outermost first)::

    Metered -> Cached -> BudgetGuard -> RateLimited -> Retrying -> backend

so a cache hit costs nothing and is never rate limited, the budget counts only real calls, and
retries happen inside the limiter.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence

from banyan.errors import BudgetExceededError, LLMTransientError
from banyan.llm.base import LLM
from banyan.llm.ledger import LLMCache, UsageLedger, estimate_tokens
from banyan.llm.types import CallParams, ChatMessage, Completion, StreamChunk, Usage


class RetryingLLM:
    """Retries transient failures with exponential backoff and full jitter, honouring Retry-After."""

    def __init__(self, inner: LLM, *, max_retries: int, base_s: float, max_s: float,
                 on_retry: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.inner, self.model = inner, inner.model
        self.max_retries, self.base_s, self.max_s = max_retries, base_s, max_s
        self._on_retry = on_retry or (lambda kind: None)
        self._sleep = sleep
        self._rng = rng or random.Random()

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number ``attempt`` (0-based)."""
        backoff = min(self.max_s, self.base_s * (2 ** attempt))
        wait = self._rng.uniform(backoff / 2, backoff)
        return max(wait, retry_after) if retry_after is not None else wait

    def complete(self, messages: Sequence[ChatMessage], params: CallParams) -> Completion:
        attempt = 0
        while True:
            try:
                return self.inner.complete(messages, params)
            except LLMTransientError as exc:
                if attempt >= self.max_retries:
                    raise
                self._on_retry(exc.kind)
                self._sleep(self.delay(attempt, exc.retry_after))
                attempt += 1

    def stream(self, messages: Sequence[ChatMessage], params: CallParams) -> Iterator[StreamChunk]:
        """Retries only while nothing has been yielded yet (a half-streamed reply cannot be taken back)."""
        attempt = 0
        while True:
            started = False
            try:
                for chunk in self.inner.stream(messages, params):
                    started = True
                    yield chunk
                return
            except LLMTransientError as exc:
                if started or attempt >= self.max_retries:
                    raise
                self._on_retry(exc.kind)
                self._sleep(self.delay(attempt, exc.retry_after))
                attempt += 1


class RateLimitedLLM:
    """At most ``max_concurrency`` calls in flight, and sliding-window request/token per-minute limits."""

    def __init__(self, inner: LLM, *, max_concurrency: int, rpm: float = 0, tpm: float = 0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.inner, self.model = inner, inner.model
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self.rpm, self.tpm = rpm, tpm
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._window: deque[tuple[float, int]] = deque()
        self.waited_s = 0.0

    def _admit(self, tokens: int) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._window and now - self._window[0][0] >= 60.0:
                    self._window.popleft()
                used_req = len(self._window)
                used_tok = sum(t for _, t in self._window)
                ok_req = not self.rpm or used_req + 1 <= self.rpm
                ok_tok = not self.tpm or used_tok + tokens <= self.tpm or not self._window
                if ok_req and ok_tok:
                    self._window.append((now, tokens))
                    return
                wait = max(0.01, 60.0 - (now - self._window[0][0]))
            self.waited_s += wait
            self._sleep(wait)

    def complete(self, messages: Sequence[ChatMessage], params: CallParams) -> Completion:
        self._admit(estimate_tokens(messages) + params.max_tokens)
        with self._slots:
            return self.inner.complete(messages, params)

    def stream(self, messages: Sequence[ChatMessage], params: CallParams) -> Iterator[StreamChunk]:
        self._admit(estimate_tokens(messages) + params.max_tokens)
        with self._slots:
            yield from self.inner.stream(messages, params)


class BudgetGuard:
    """Refuses a call that could push real (uncached) token use past ``budget_tokens``."""

    def __init__(self, inner: LLM, ledger: UsageLedger, budget_tokens: int) -> None:
        self.inner, self.model = inner, inner.model
        self.ledger, self.budget = ledger, budget_tokens

    def _check(self, messages: Sequence[ChatMessage], params: CallParams) -> None:
        if not self.budget:
            return
        worst = estimate_tokens(messages) + params.max_tokens
        spent = self.ledger.spent_tokens()
        if spent + worst > self.budget:
            raise BudgetExceededError(
                f"token budget {self.budget} reached ({spent} spent, next call may use up to {worst}); "
                "finished calls are cached: raise llm.budget_tokens and run again to resume"
            )

    def complete(self, messages: Sequence[ChatMessage], params: CallParams) -> Completion:
        self._check(messages, params)
        return self.inner.complete(messages, params)

    def stream(self, messages: Sequence[ChatMessage], params: CallParams) -> Iterator[StreamChunk]:
        self._check(messages, params)
        yield from self.inner.stream(messages, params)


class CachedLLM:
    """Answers repeated calls (same model, messages and parameters) from the persistent cache."""

    def __init__(self, inner: LLM, cache: LLMCache) -> None:
        self.inner, self.model, self.cache = inner, inner.model, cache

    def complete(self, messages: Sequence[ChatMessage], params: CallParams) -> Completion:
        key = self.cache.key(self.model, messages, params)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        result = self.inner.complete(messages, params)
        self.cache.put(key, result)
        return result

    def stream(self, messages: Sequence[ChatMessage], params: CallParams) -> Iterator[StreamChunk]:
        key = self.cache.key(self.model, messages, params)
        hit = self.cache.get(key)
        if hit is not None:
            yield StreamChunk(hit.text, hit.usage, cached=True)
            return
        parts: list[str] = []
        usage = Usage()
        for chunk in self.inner.stream(messages, params):
            parts.append(chunk.text)
            usage = chunk.usage or usage
            yield chunk
        self.cache.put(key, Completion("".join(parts), self.model, usage))


class MeteredLLM:
    """Records every call (stage, tokens, cost, cached or not, failed or not) in the ledger."""

    def __init__(self, inner: LLM, ledger: UsageLedger) -> None:
        self.inner, self.model, self.ledger = inner, inner.model, ledger

    def complete(self, messages: Sequence[ChatMessage], params: CallParams) -> Completion:
        t0 = time.perf_counter()
        try:
            result = self.inner.complete(messages, params)
        except Exception as exc:
            self.ledger.record(params.stage, self.model, Usage(), cached=False, ok=False,
                               seconds=time.perf_counter() - t0, error=type(exc).__name__)
            raise
        self.ledger.record(params.stage, result.model or self.model, result.usage, cached=result.cached, ok=True,
                           seconds=time.perf_counter() - t0)
        return result

    def stream(self, messages: Sequence[ChatMessage], params: CallParams) -> Iterator[StreamChunk]:
        t0 = time.perf_counter()
        usage, cached = Usage(), False
        try:
            for chunk in self.inner.stream(messages, params):
                usage = chunk.usage or usage
                cached = cached or chunk.cached
                yield chunk
        except Exception as exc:
            self.ledger.record(params.stage, self.model, usage, cached=False, ok=False,
                               seconds=time.perf_counter() - t0, error=type(exc).__name__)
            raise
        self.ledger.record(params.stage, self.model, usage, cached=cached, ok=True, seconds=time.perf_counter() - t0)
