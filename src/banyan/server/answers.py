"""Answers as the server sends them: the answer's dict plus its cited passages, and streaming."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from banyan.answer import Answer
from banyan.api import Banyan
from banyan.errors import BanyanError
from banyan.server.sse import drain
from banyan.types import Access

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Question:
    """One ask request, whatever protocol it came in (REST, OpenAI, Ollama)."""

    text: str
    mode: str = "auto"
    budget: int | None = None
    reject: bool = False


def passages(a: Answer) -> list[dict[str, Any]]:
    """The cited passages, each with where it is in its document (to open it highlighted)."""
    return [{"n": e.n, "doc_id": e.citation.doc_id, "chunk_id": e.chunk_id, "source": e.citation.source,
             "title": e.citation.title, "start": e.citation.start, "end": e.citation.end, "page": e.citation.page,
             "text": e.text} for e in a.citations]


def answer_payload(a: Answer) -> dict[str, Any]:
    return {**a.to_dict(), "passages": passages(a)}


def sources_footer(a: Answer) -> str:
    """Citations for chat clients, after the answer: ``[n] title (source)`` per line."""
    if not a.citations:
        return ""
    lines = [f"[{e.n}] {e.citation.title or e.citation.source} ({e.citation.source})" for e in a.citations]
    return "\n\nSources:\n" + "\n".join(lines)


def ask(bn: Banyan, q: Question, access: Access) -> Answer:
    return bn.ask(q.text, q.mode, budget=q.budget, reject=q.reject, access=access)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """A piece of streamed answer text, the final answer, or the error that ended the stream."""

    text: str | None = None
    answer: Answer | None = None
    error: str | None = None


async def stream_answer(bn: Banyan, q: Question, access: Access) -> AsyncIterator[StreamEvent]:
    """The answer as it is written. Errors before the first piece (a bad mode, an empty question)
    are raised here, so the caller can still answer with an HTTP error; later ones become an event."""

    def start() -> tuple[Iterator[str | Answer], str | Answer | None]:
        it = bn.ask_stream(q.text, q.mode, budget=q.budget, reject=q.reject, access=access)
        return it, next(it, None)

    it, first = await run_in_threadpool(start)
    return _events(it, first)


async def _events(it: Iterator[str | Answer], first: str | Answer | None) -> AsyncIterator[StreamEvent]:
    try:
        async for item in drain(it, first):
            yield StreamEvent(answer=item) if isinstance(item, Answer) else StreamEvent(text=item)
    except (BanyanError, ValueError) as exc:
        yield StreamEvent(error=str(exc))
    except Exception as exc:  # the response has started: report it in the stream, log the traceback
        log.exception("streamed answer failed")
        yield StreamEvent(error=f"internal error: {type(exc).__name__}")
