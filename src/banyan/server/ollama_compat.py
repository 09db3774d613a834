"""An Ollama-compatible chat API (``/api/tags``, ``/api/chat``, ``/api/version``) for front ends
such as Open WebUI: NDJSON lines while streaming, the last one with ``"done": true``."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from banyan.answer import Answer
from banyan.server.answers import StreamEvent, ask, sources_footer, stream_answer
from banyan.server.chat import model_names, question_of
from banyan.server.models import OllamaChatBody
from banyan.server.sse import STREAM_HEADERS, ndjson
from banyan.server.state import CallerDep, State

router = APIRouter(prefix="/api", tags=["ollama"])
OLLAMA_VERSION = "0.6.0"
"""the Ollama API version these endpoints follow (clients check it)"""


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@router.get("/version")
def version() -> dict[str, str]:
    return {"version": OLLAMA_VERSION}


@router.get("/tags")
def tags(caller: CallerDep) -> dict[str, Any]:
    details = {"format": "banyan", "family": "banyan", "families": ["banyan"], "parameter_size": "",
               "quantization_level": ""}
    return {"models": [{"name": f"{m}:latest", "model": f"{m}:latest", "modified_at": _now(), "size": 0,
                        "digest": hashlib.sha256(m.encode()).hexdigest(), "details": details}
                       for m in model_names()]}


def _final(model: str, content: str, a: Answer | None, t0: float) -> dict[str, Any]:
    return {"model": model, "created_at": _now(), "message": {"role": "assistant", "content": content},
            "done": True, "done_reason": "stop", "total_duration": int((time.perf_counter() - t0) * 1e9),
            "prompt_eval_count": a.tokens_in if a else 0, "eval_count": a.tokens_out if a else 0}


@router.post("/chat", response_model=None)
async def chat(state: State, caller: CallerDep, body: OllamaChatBody) -> dict[str, Any] | StreamingResponse:
    """The last user message, answered in the model's mode; streamed as NDJSON unless ``stream`` is false."""
    t0 = time.perf_counter()
    q = question_of(body.model, body.messages)
    if not body.stream:
        a = await run_in_threadpool(ask, state.bn, q, caller.access)
        return _final(body.model, a.text + sources_footer(a), a, t0)
    events = await stream_answer(state.bn, q, caller.access)
    return StreamingResponse(_lines(body.model, events, t0), media_type="application/x-ndjson",
                             headers=STREAM_HEADERS)


async def _lines(model: str, events: AsyncIterator[StreamEvent], t0: float) -> AsyncIterator[str]:
    def piece(text: str) -> str:
        return ndjson({"model": model, "created_at": _now(), "message": {"role": "assistant", "content": text},
                       "done": False})

    async for ev in events:
        if ev.text:
            yield piece(ev.text)
        elif ev.answer is not None:
            if footer := sources_footer(ev.answer):
                yield piece(footer)
            yield ndjson(_final(model, "", ev.answer, t0))
            return
        elif ev.error is not None:
            yield ndjson({"error": ev.error})
            return
