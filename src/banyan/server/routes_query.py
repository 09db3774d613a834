"""Search and ask (JSON, or server-sent events with ``"stream": true``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from banyan.server.answers import Question, StreamEvent, answer_payload, ask, stream_answer
from banyan.server.models import AskBody, SearchBody
from banyan.server.sse import sse, sse_response
from banyan.server.state import CallerDep, State

router = APIRouter(prefix="/api/v1", tags=["query"])


@router.post("/search")
def search(state: State, caller: CallerDep, body: SearchBody) -> dict[str, Any]:
    """Ranked, cited passages; ``mode`` is the mode actually used (``auto`` resolved)."""
    bn = state.bn
    results = bn.search(body.query, body.mode, body.k, access=caller.access)
    return {"mode": bn.resolve_mode(body.query, body.mode, access=caller.access),
            "results": [r.to_dict() for r in results]}


@router.post("/ask", response_model=None)
async def ask_question(state: State, caller: CallerDep, body: AskBody) -> dict[str, Any] | StreamingResponse:
    """A cited answer with its passages; with ``stream``, SSE events ``delta`` {text} as the model
    writes, then ``answer`` (the same object as without streaming), or ``error`` {message}."""
    q = Question(body.question, body.mode, body.budget, body.reject)
    if not body.stream:
        answer = await run_in_threadpool(ask, state.bn, q, caller.access)
        return answer_payload(answer)
    return sse_response(_frames(await stream_answer(state.bn, q, caller.access)))


async def _frames(events: AsyncIterator[StreamEvent]) -> AsyncIterator[str]:
    async for ev in events:
        if ev.text is not None:
            yield sse("delta", {"text": ev.text})
        elif ev.answer is not None:
            yield sse("answer", answer_payload(ev.answer))
        else:
            yield sse("error", {"message": ev.error})
