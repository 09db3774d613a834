"""The LLM protocol. Backends and wrappers (cache, retry, limiter, meter, budget) all implement it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from banyan.llm.types import CallParams, ChatMessage, Completion, StreamChunk


@runtime_checkable
class LLM(Protocol):
    model: str

    def complete(self, messages: Sequence[ChatMessage], params: CallParams) -> Completion:
        """One chat completion. ``params.json_schema`` asks for JSON (constrained where the backend can)."""
        ...

    def stream(self, messages: Sequence[ChatMessage], params: CallParams) -> Iterator[StreamChunk]:
        """Text deltas of one chat completion, in order; the last chunk carries the usage."""
        ...
