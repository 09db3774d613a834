"""LLM: backends (OpenAI-compatible HTTP, local llama.cpp) and composable wrappers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from banyan.errors import LLMNotConfiguredError
from banyan.llm.base import LLM
from banyan.llm.context import ContextGuardLLM
from banyan.llm.ledger import LLMCache, LLMDatabase, UsageLedger
from banyan.llm.middleware import BudgetGuard, CachedLLM, MeteredLLM, RateLimitedLLM, RetryingLLM
from banyan.llm.structured import StructuredResult, run_batch, structured
from banyan.llm.types import CallParams, ChatMessage, Completion, StreamChunk, Usage, system, user
from banyan.settings import LLMSettings

LEDGER_FILE = "llm.sqlite"


@dataclass
class LLMStack:
    """A ready-to-use LLM (all wrappers applied) and the ledger and cache behind it."""

    llm: LLM
    ledger: UsageLedger
    cache: LLMCache | None
    backend: LLM


def create_backend(cfg: LLMSettings) -> LLM:
    """The raw backend ``cfg`` names: ``gguf:PATH`` for llama.cpp, else an OpenAI-compatible endpoint."""
    if not cfg.model:
        raise LLMNotConfiguredError(
            "this needs an LLM and none is configured: set BANYAN_LLM_MODEL (and BANYAN_LLM_BASE_URL / "
            "BANYAN_LLM_API_KEY or OPENAI_*), or pass --llm gguf:PATH for a local model"
        )
    if cfg.model.startswith("gguf:"):
        from banyan.llm.llamacpp import LlamaCppChat

        return LlamaCppChat(Path(cfg.model[5:]).expanduser(), n_ctx=cfg.n_ctx)
    from banyan.llm.openai_backend import OpenAIChat

    return OpenAIChat(cfg.model, base_url=cfg.base_url, api_key=cfg.api_key, timeout_s=cfg.timeout_s,
                      json_mode=cfg.json_mode)


def wrap(backend: LLM, cfg: LLMSettings, ledger: UsageLedger, cache: LLMCache | None) -> LLM:
    """Metered -> ContextGuard -> Cached -> BudgetGuard -> RateLimited -> Retrying -> backend."""
    llm: LLM = RetryingLLM(backend, max_retries=cfg.max_retries, base_s=cfg.backoff_base_s, max_s=cfg.backoff_max_s,
                           on_retry=lambda kind: ledger.event(f"retry:{kind}"))
    llm = RateLimitedLLM(llm, max_concurrency=cfg.max_concurrency, rpm=cfg.requests_per_minute,
                         tpm=cfg.tokens_per_minute)
    llm = BudgetGuard(llm, ledger, cfg.budget_tokens)
    if cache is not None:
        llm = CachedLLM(llm, cache)
    llm = ContextGuardLLM(llm, cfg.context_window, on_truncate=lambda stage: ledger.event("truncated", stage))
    return MeteredLLM(llm, ledger)


def build_llm(cfg: LLMSettings, index_dir: Path | None, backend: LLM | None = None, *,
              database: LLMDatabase | None = None) -> LLMStack:
    """The full stack; cache and ledger live in ``database`` (a server store's, see
    ``IndexStore.llm_database``), else in ``<index_dir>/llm.sqlite`` (in memory without an index)."""
    db: LLMDatabase | Path | None = database
    if db is None and index_dir is not None:
        db = Path(index_dir) / LEDGER_FILE
        db.parent.mkdir(parents=True, exist_ok=True)
    ledger = UsageLedger(db, cfg.prices)
    cache = LLMCache(db) if cfg.cache else None
    raw = backend or create_backend(cfg)
    return LLMStack(wrap(raw, cfg, ledger, cache), ledger, cache, raw)


__all__ = [
    "LLM", "CallParams", "ChatMessage", "Completion", "LLMDatabase", "LLMStack", "StreamChunk", "StructuredResult",
    "Usage", "build_llm", "create_backend", "run_batch", "structured", "system", "user", "wrap",
]
