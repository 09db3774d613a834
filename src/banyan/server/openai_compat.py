"""An OpenAI-compatible chat API (``/v1/models``, ``/v1/chat/completions``): chat front ends and
the ``openai`` client can use Banyan as a model; the answer ends with its sources."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from banyan.answer import Answer
from banyan.server.answers import StreamEvent, ask, passages, sources_footer, stream_answer
from banyan.server.chat import model_names, question_of
from banyan.server.models import OpenAIChatBody
from banyan.server.sse import sse, sse_response
from banyan.server.state import CallerDep, State

router = APIRouter(prefix="/v1", tags=["openai"])
CREATED = 1_700_000_000


@router.get("/models")
def models(caller: CallerDep) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": m, "object": "model", "created": CREATED, "owned_by": "banyan"}
                                       for m in model_names()]}


def _usage(a: Answer) -> dict[str, int]:
    return {"prompt_tokens": a.tokens_in, "completion_tokens": a.tokens_out, "total_tokens": a.tokens_in + a.tokens_out}


def completion(model: str, a: Answer) -> dict[str, Any]:
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": a.text + sources_footer(a)}}],
            "usage": _usage(a), "banyan": {"mode": a.mode, "passages": passages(a)}}


@router.post("/chat/completions", response_model=None)
async def chat_completions(state: State, caller: CallerDep, body: OpenAIChatBody) -> dict[str, Any] | StreamingResponse:
    """The last user message, answered in the model's mode (``banyan``: auto; ``banyan-agent`` ...)."""
    q = question_of(body.model, body.messages)
    if not body.stream:
        return completion(body.model, await run_in_threadpool(ask, state.bn, q, caller.access))
    return sse_response(_chunks(body.model, await stream_answer(state.bn, q, caller.access)))


async def _chunks(model: str, events: AsyncIterator[StreamEvent]) -> AsyncIterator[str]:
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        return sse(None, {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                          "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    yield chunk({"role": "assistant", "content": ""})
    async for ev in events:
        if ev.text:
            yield chunk({"content": ev.text})
        elif ev.answer is not None:
            if footer := sources_footer(ev.answer):
                yield chunk({"content": footer})
            yield chunk({}, "stop")
        elif ev.error is not None:
            yield sse(None, {"error": {"type": "server_error", "message": ev.error}})
    yield sse(None, "[DONE]")
