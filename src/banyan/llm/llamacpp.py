"""A local GGUF model through llama-cpp-python, with grammar-constrained JSON."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from banyan.errors import LLMFatalError, LLMNotConfiguredError
from banyan.llm.types import CallParams, ChatMessage, Completion, StreamChunk, Usage


class LlamaCppChat:
    """In-process llama.cpp. JSON requests are constrained by a grammar built from the schema."""

    def __init__(self, gguf_path: Path, *, n_ctx: int = 4096, threads: int = 0, seed: int = 0) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMNotConfiguredError("local GGUF models need llama-cpp-python: pip install 'banyan-rag[llama]'") from exc
        if not Path(gguf_path).is_file():
            raise LLMNotConfiguredError(f"GGUF file not found: {gguf_path}")
        self._llm = Llama(model_path=str(gguf_path), n_ctx=n_ctx, n_threads=threads or None, seed=seed,
                          verbose=False)
        self.model = f"gguf:{Path(gguf_path).name}"

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by this model's own tokenizer (the answer engine budgets its context with it)."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _kwargs(self, messages: Sequence[ChatMessage], params: CallParams) -> dict[str, Any]:
        kw: dict[str, Any] = {"messages": [m.to_dict() for m in messages], "temperature": params.temperature,
                              "max_tokens": params.max_tokens}
        if params.json_schema is not None:
            kw["response_format"] = {"type": "json_object", "schema": params.json_schema}
        return kw

    def complete(self, messages: Sequence[ChatMessage], params: CallParams) -> Completion:
        try:
            out = self._llm.create_chat_completion(**self._kwargs(messages, params))
        except ValueError as exc:  # e.g. prompt longer than n_ctx
            raise LLMFatalError(f"llama.cpp rejected the request: {exc}") from exc
        choice = out["choices"][0]
        u = out.get("usage") or {}
        return Completion(choice["message"].get("content") or "", self.model,
                          Usage(u.get("prompt_tokens", 0), u.get("completion_tokens", 0)),
                          finish_reason=choice.get("finish_reason"))

    def stream(self, messages: Sequence[ChatMessage], params: CallParams) -> Iterator[StreamChunk]:
        n = 0
        for ev in self._llm.create_chat_completion(stream=True, **self._kwargs(messages, params)):
            delta = ev["choices"][0].get("delta", {}).get("content")
            if delta:
                n += 1
                yield StreamChunk(delta)
        yield StreamChunk("", Usage(0, n))
