"""Schema-valid JSON from any LLM: ask, repair, validate, re-ask once, else a per-item failure.

``structured`` never raises for a bad reply or a failed call; it returns a ``StructuredResult``
whose ``error`` says what went wrong, so one bad item never aborts a batch. A budget stop or a
configuration problem (no model, bad credentials, unknown model) does raise: those concern the
whole run, not the item.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from banyan.errors import LLMFatalError, LLMTransientError
from banyan.llm.base import LLM
from banyan.llm.types import CallParams, ChatMessage, Usage

T = TypeVar("T")
Schema = type[BaseModel] | dict[str, Any]


@dataclass(frozen=True, slots=True)
class StructuredResult(Generic[T]):
    value: T | None
    raw: str
    attempts: int
    repaired: bool
    usage: Usage
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def json_schema_of(schema: Schema) -> dict[str, Any]:
    return schema.model_json_schema() if isinstance(schema, type) else schema


def _instruction(schema: dict[str, Any]) -> str:
    return ("Reply with one JSON value only, no prose and no code fences. It must match this JSON schema:\n"
            + json.dumps(schema, ensure_ascii=False, separators=(",", ":")))


def parse_reply(text: str, schema: Schema) -> tuple[Any, bool]:
    """(validated value, whether repair was needed). Raises ValueError with a short reason."""
    repaired = False
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        from json_repair import repair_json

        data = repair_json(text, return_objects=True)
        repaired = True
        if data in ("", None) and text.strip() not in ('""', "null"):
            raise ValueError("reply is not JSON and could not be repaired") from None
    if isinstance(schema, type):
        try:
            return schema.model_validate(data), repaired
        except ValidationError as exc:
            raise ValueError(f"reply does not match the schema: {exc.errors()[0]['msg']} at "
                             f"{'.'.join(str(p) for p in exc.errors()[0]['loc']) or 'top level'}") from exc
    import jsonschema

    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        raise ValueError(f"reply does not match the schema: {exc.message}") from exc
    return data, repaired


def structured(llm: LLM, messages: Sequence[ChatMessage], schema: Schema, *, stage: str = "default",
               max_tokens: int = 1024, temperature: float = 0.0) -> StructuredResult[Any]:
    """Ask for JSON matching ``schema`` (a pydantic model class or a JSON schema dict)."""
    js = json_schema_of(schema)
    msgs = [ChatMessage("system", _instruction(js)), *messages]
    params = CallParams(temperature=temperature, max_tokens=max_tokens, json_schema=js, stage=stage)
    usage = Usage()
    raw = ""
    error = ""
    for attempt in (1, 2):
        try:
            reply = llm.complete(msgs, params)
        except (LLMTransientError, LLMFatalError) as exc:  # this item fails; the batch goes on
            return StructuredResult(None, raw, attempt, False, usage, f"call failed: {exc}")
        usage = Usage(usage.prompt_tokens + reply.usage.prompt_tokens,
                      usage.completion_tokens + reply.usage.completion_tokens)
        raw = reply.text
        try:
            value, repaired = parse_reply(raw, schema)
            return StructuredResult(value, raw, attempt, repaired, usage)
        except ValueError as exc:
            error = str(exc)
        # One corrective re-ask, showing the model its reply and what was wrong with it.
        msgs = [*msgs, ChatMessage("assistant", raw[:2000]),
                ChatMessage("user", f"That reply was invalid: {error}. Reply again with only the corrected JSON.")]
    return StructuredResult(None, raw, 2, False, usage, error)


R = TypeVar("R")


def run_batch(items: Sequence[T], fn: Callable[[T], R], *, concurrency: int = 4) -> list[R]:
    """``fn`` over ``items`` in a thread pool, results in input order (the limiter bounds real calls)."""
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(fn, items))
