"""LLM use cases: check the configured connection, and read what LLM calls have cost."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from banyan.llm import LEDGER_FILE, CallParams, build_llm, structured, user
from banyan.llm.ledger import StageUsage, UsageLedger
from banyan.settings import Settings


class _Capital(BaseModel):
    country: str
    capital: str


@dataclass(frozen=True, slots=True)
class LLMCheckReport:
    """One chat call and one structured-JSON call against the configured model."""

    model: str
    endpoint: str
    chat_seconds: float
    chat_tokens: tuple[int, int]
    chat_text: str
    json_seconds: float
    json_tokens: tuple[int, int]
    json_ok: bool
    json_attempts: int
    json_repaired: bool
    json_error: str | None


@dataclass(frozen=True, slots=True)
class UsageReport:
    ledger: Path
    stages: list[StageUsage] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    found: bool = True


def check_llm(settings: Settings) -> LLMCheckReport:
    """Call the configured LLM once for text and once for schema-valid JSON (no cache, one retry)."""
    cfg = settings.llm.model_copy(update={"cache": False, "max_retries": 1})
    stack = build_llm(cfg, None)
    t0 = time.perf_counter()
    reply = stack.llm.complete([user("Say hello in five words or fewer.")], CallParams(max_tokens=32, stage="check"))
    t1 = time.perf_counter()
    res = structured(stack.llm, [user("What is the capital of France?")], _Capital, stage="check", max_tokens=64)
    t2 = time.perf_counter()
    return LLMCheckReport(stack.backend.model, cfg.base_url or "local / default endpoint", t1 - t0,
                          (reply.usage.prompt_tokens, reply.usage.completion_tokens), reply.text.strip(), t2 - t1,
                          (res.usage.prompt_tokens, res.usage.completion_tokens), res.ok, res.attempts, res.repaired,
                          res.error)


def llm_usage(settings: Settings) -> UsageReport:
    """Tokens, calls and cost per stage from the index's ledger (``<index>/llm.sqlite``, or the tables
    of a PostgreSQL store)."""
    if settings.store.url:
        from banyan.store import open_store

        store = open_store(settings.store.url, settings.index.dir, create=False)
        try:
            ledger = UsageLedger(store.llm_database(), settings.llm.prices)
            stages = ledger.by_stage()
            return UsageReport(Path(settings.index.dir), stages, ledger.events(), found=bool(stages))
        finally:
            store.close()
    path = Path(settings.index.dir) / LEDGER_FILE
    if not path.is_file():
        return UsageReport(path, found=False)
    ledger = UsageLedger(path, settings.llm.prices)
    return UsageReport(path, ledger.by_stage(), ledger.events())
