"""Any OpenAI-compatible chat endpoint (OpenAI, DeepSeek, Qwen, vLLM, Ollama, llama.cpp server).

The SDK's own retries are off: retrying is the job of ``RetryingLLM``, which sees the errors
this backend translates into ``LLMTransientError`` (with Retry-After) or ``LLMFatalError``.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator, Sequence
from typing import Any

from banyan.errors import LLMError, LLMFatalError, LLMNotConfiguredError, LLMTransientError
from banyan.llm.types import CallParams, ChatMessage, Completion, StreamChunk, Usage


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


class OpenAIChat:
    """Chat completions over HTTP with the official ``openai`` SDK."""

    def __init__(self, model: str, *, base_url: str | None, api_key: str | None, timeout_s: float,
                 json_mode: str = "object") -> None:
        if not model:
            raise LLMNotConfiguredError("no LLM model set: use --llm MODEL or BANYAN_LLM_MODEL")
        try:
            import openai
        except ImportError as exc:
            raise LLMNotConfiguredError("the OpenAI-compatible backend needs: pip install openai") from exc
        self._openai = openai
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s,
                                     max_retries=0)
        self.model = model
        self.json_mode = json_mode

    def _request(self, messages: Sequence[ChatMessage], params: CallParams) -> dict[str, Any]:
        req: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_dict() for m in messages],
            "temperature": params.temperature,
            "max_tokens": params.max_tokens,
        }
        if params.json_schema is not None and self.json_mode == "schema":
            req["response_format"] = {"type": "json_schema",
                                      "json_schema": {"name": "reply", "schema": params.json_schema}}
        elif params.json_schema is not None and self.json_mode == "object":
            req["response_format"] = {"type": "json_object"}
        return req

    def _translate(self, exc: Exception) -> LLMError:
        o = self._openai
        if isinstance(exc, o.APITimeoutError):
            return LLMTransientError(f"timed out: {exc}", kind="timeout")
        if isinstance(exc, o.APIConnectionError):
            return LLMTransientError(f"connection failed: {exc}", kind="connection")
        if isinstance(exc, o.APIStatusError):
            code = exc.status_code
            retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
            if code == 429:
                return LLMTransientError(f"rate limited (429): {exc.message}", retry_after=retry_after, kind="429")
            if code >= 500 or code == 408:
                return LLMTransientError(f"server error ({code}): {exc.message}", retry_after=retry_after,
                                         kind=str(code))
            if code in (401, 403):
                return LLMNotConfiguredError(f"the endpoint refused the credentials ({code}): check BANYAN_LLM_API_KEY")
            if code == 404:
                return LLMNotConfiguredError(f"not found (404): check BANYAN_LLM_MODEL={self.model!r} and the base URL")
            return LLMFatalError(f"request rejected ({code}): {exc.message}")
        return LLMFatalError(f"{type(exc).__name__}: {exc}")

    def complete(self, messages: Sequence[ChatMessage], params: CallParams) -> Completion:
        try:
            resp = self._client.chat.completions.create(**self._request(messages, params))
        except self._openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        if not resp.choices:
            raise LLMTransientError("reply had no choices", kind="empty")
        choice = resp.choices[0]
        usage = Usage(resp.usage.prompt_tokens, resp.usage.completion_tokens) if resp.usage else Usage()
        return Completion(choice.message.content or "", resp.model or self.model, usage,
                          finish_reason=choice.finish_reason)

    def stream(self, messages: Sequence[ChatMessage], params: CallParams) -> Iterator[StreamChunk]:
        req = self._request(messages, params)
        req["stream"] = True
        req["stream_options"] = {"include_usage": True}
        try:
            events = self._client.chat.completions.create(**req)
            usage: Usage | None = None
            for ev in events:
                if ev.usage:
                    usage = Usage(ev.usage.prompt_tokens, ev.usage.completion_tokens)
                for choice in ev.choices:
                    if choice.delta and choice.delta.content:
                        yield StreamChunk(choice.delta.content)
        except self._openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        yield StreamChunk("", usage or Usage())
