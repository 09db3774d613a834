"""Server-sent events and NDJSON: framing, and running Banyan's blocking iterators off the event loop."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

T = TypeVar("T")
_END = object()
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(event: str | None, data: Any) -> str:
    """One SSE frame; ``data`` is sent as JSON (a string is sent as is, e.g. ``[DONE]``)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return head + "".join(f"data: {line}\n" for line in payload.split("\n")) + "\n"


def ndjson(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False) + "\n"


def sse_response(frames: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(frames, media_type="text/event-stream", headers=STREAM_HEADERS)


async def next_in_thread(it: Iterator[T]) -> T | None:
    """The iterator's next item, computed in the threadpool; None at its end."""
    item = await run_in_threadpool(next, it, _END)
    return None if item is _END else item  # type: ignore[return-value]


async def drain(it: Iterator[T], first: T | None = None) -> AsyncIterator[T]:
    """Items of a blocking iterator, each computed in the threadpool (after ``first``, if given).
    The iterator is closed when the consumer stops early (a client that went away)."""
    try:
        if first is not None:
            yield first
        while (item := await next_in_thread(it)) is not None:
            yield item
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            with contextlib.suppress(ValueError):  # still running in a worker thread: it ends with that step
                close()
