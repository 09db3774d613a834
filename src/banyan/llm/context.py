"""Context-window guard: never send more than the model can read."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from banyan.errors import LLMFatalError
from banyan.llm.base import LLM
from banyan.llm.ledger import estimate_tokens
from banyan.llm.types import CallParams, ChatMessage, Completion, StreamChunk
from banyan.text import TOKEN_RE

log = logging.getLogger(__name__)


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` with at most ``max_tokens`` estimated tokens."""
    budget = int(max_tokens / 1.3)
    if budget <= 0:
        return ""
    for i, m in enumerate(TOKEN_RE.finditer(text)):
        if i == budget:
            return text[: m.start()].rstrip()
    return text


def split_to_fit(text: str, max_tokens: int) -> list[str]:
    """Cut ``text`` into consecutive pieces of at most ``max_tokens`` estimated tokens each."""
    pieces, rest = [], text
    while rest:
        head = truncate_to_tokens(rest, max_tokens) or rest[:1]
        pieces.append(head)
        rest = rest[len(head):].lstrip()
    return pieces


def fit_messages(messages: Sequence[ChatMessage], context_window: int, max_output: int) -> tuple[list[ChatMessage], bool]:
    """Messages that fit ``context_window`` with room for ``max_output``; the longest is cut first."""
    msgs = list(messages)
    limit = context_window - max_output
    if limit <= 0:
        raise LLMFatalError(f"max_tokens {max_output} leaves no room in a {context_window}-token context")
    over = estimate_tokens(msgs) - limit
    if over <= 0:
        return msgs, False
    i = max(range(len(msgs)), key=lambda j: len(msgs[j].content))
    marker = "\n[truncated to fit the context]"
    keep = max(0, estimate_tokens([msgs[i]]) - over - estimate_tokens([ChatMessage("user", marker)]) - 8)
    msgs[i] = replace(msgs[i], content=truncate_to_tokens(msgs[i].content, keep) + marker)
    if estimate_tokens(msgs) > limit:
        raise LLMFatalError(f"prompt cannot fit a {context_window}-token context even after truncation")
    return msgs, True


class ContextGuardLLM:
    """Truncates over-long prompts (longest message first) and reports every truncation."""

    def __init__(self, inner: LLM, context_window: int, on_truncate: Callable[[str], None] | None = None) -> None:
        self.inner, self.model, self.context_window = inner, inner.model, context_window
        self._on_truncate = on_truncate or (lambda stage: None)

    def _fit(self, messages: Sequence[ChatMessage], params: CallParams) -> list[ChatMessage]:
        msgs, cut = fit_messages(messages, self.context_window, params.max_tokens)
        if cut:
            log.warning("prompt for stage %r truncated to fit a %d-token context", params.stage, self.context_window)
            self._on_truncate(params.stage)
        return msgs

    def complete(self, messages: Sequence[ChatMessage], params: CallParams) -> Completion:
        return self.inner.complete(self._fit(messages, params), params)

    def stream(self, messages: Sequence[ChatMessage], params: CallParams) -> Iterator[StreamChunk]:
        yield from self.inner.stream(self._fit(messages, params), params)
