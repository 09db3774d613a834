"""Persistent LLM cache and usage ledger: in ``<index>/llm.sqlite``, or in the index's server database."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from banyan.llm.types import CallParams, ChatMessage, Completion, Usage
from banyan.settings import Price
from banyan.text import count_tokens

_SCHEMA = [  # portable SQL: the same statements run on SQLite and (through a store's adapter) PostgreSQL
    """CREATE TABLE IF NOT EXISTS llm_cache (
        key TEXT PRIMARY KEY, model TEXT NOT NULL, text TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL, created REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS llm_calls (
        ts REAL NOT NULL, run_id TEXT NOT NULL, stage TEXT NOT NULL,
        model TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
        cost REAL NOT NULL, cached INTEGER NOT NULL, ok INTEGER NOT NULL, seconds REAL NOT NULL, error TEXT)""",
    """CREATE TABLE IF NOT EXISTS llm_events (
        ts REAL NOT NULL, run_id TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT)""",
]


class LLMDatabase(Protocol):
    """Where the cache and the ledger live. SQLite by default (``<index>/llm.sqlite``); a server store
    hands its own adapter (``IndexStore.llm_database``), so every machine shares one cache and ledger."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement (``?`` placeholders); the result has ``fetchone`` and ``fetchall``."""
        ...

    def create_table(self, statement: str) -> None:
        ...


class SQLiteLLMDatabase:
    """The default: a SQLite file beside the index (in memory without an index)."""

    def __init__(self, path: Path | None) -> None:
        self._db = sqlite3.connect(":memory:" if path is None else str(path), isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(sql, tuple(params))

    def create_table(self, statement: str) -> None:
        self._db.execute(statement)


def estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    """A generous token estimate (words x 1.3, CJK characters x 1) plus per-message overhead."""
    return sum(int(count_tokens(m.content) * 1.3) + 4 for m in messages)


def _connect(where: LLMDatabase | Path | None) -> LLMDatabase:
    db = SQLiteLLMDatabase(where) if where is None or isinstance(where, Path) else where
    for stmt in _SCHEMA:
        db.create_table(stmt)
    return db


def price_for(model: str, prices: Mapping[str, Price]) -> Price:
    """The price of ``model``: exact name, else the longest listed prefix (dated variants), else free."""
    if model in prices:
        return prices[model]
    matches = [name for name in prices if model.startswith(name)]
    return prices[max(matches, key=len)] if matches else Price()


class LLMCache:
    """Replies keyed by a hash of model, messages and parameters. Thread-safe."""

    def __init__(self, db: LLMDatabase | Path | None) -> None:
        self._db = _connect(db)
        self._lock = threading.Lock()

    @staticmethod
    def key(model: str, messages: Sequence[ChatMessage], params: CallParams) -> str:
        payload = {"model": model, "messages": [m.to_dict() for m in messages], "params": params.key_fields()}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def get(self, key: str) -> Completion | None:
        with self._lock:
            row = self._db.execute(
                "SELECT model, text, prompt_tokens, completion_tokens FROM llm_cache WHERE key=?", (key,)
            ).fetchone()
        if row is None:
            return None
        return Completion(row[1], row[0], Usage(row[2], row[3]), cached=True)

    def put(self, key: str, completion: Completion) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO llm_cache (key, model, text, prompt_tokens, completion_tokens, created) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (key) DO UPDATE SET model=excluded.model, text=excluded.text, "
                "prompt_tokens=excluded.prompt_tokens, completion_tokens=excluded.completion_tokens, "
                "created=excluded.created",
                (key, completion.model, completion.text, completion.usage.prompt_tokens,
                 completion.usage.completion_tokens, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0])


@dataclass(frozen=True, slots=True)
class StageUsage:
    stage: str
    model: str
    calls: int
    cached_calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: float


class UsageLedger:
    """Every LLM call and retry, per run and stage, with cost from the price table. Thread-safe."""

    def __init__(self, db: LLMDatabase | Path | None, prices: Mapping[str, Price], run_id: str | None = None) -> None:
        self._db = _connect(db)
        self._lock = threading.Lock()
        self.prices = dict(prices)
        self.run_id = run_id or time.strftime("%Y%m%dT%H%M%S") + f"-{id(self) % 10000:04d}"
        self._spent = 0

    def record(self, stage: str, model: str, usage: Usage, *, cached: bool, ok: bool, seconds: float,
               error: str | None = None) -> None:
        price = price_for(model, self.prices)
        cost = 0.0 if cached else (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1e6
        with self._lock:
            if not cached:
                self._spent += usage.total
            self._db.execute(
                "INSERT INTO llm_calls (ts, run_id, stage, model, prompt_tokens, completion_tokens, cost, cached, ok,"
                " seconds, error) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (time.time(), self.run_id, stage, model, usage.prompt_tokens, usage.completion_tokens, cost,
                 int(cached), int(ok), seconds, error),
            )

    def event(self, kind: str, detail: str = "") -> None:
        """A non-call event worth counting: a retry (kind 'retry:429'), a truncation, a repair."""
        with self._lock:
            self._db.execute("INSERT INTO llm_events (ts, run_id, kind, detail) VALUES (?,?,?,?)",
                             (time.time(), self.run_id, kind, detail))

    def spent_tokens(self) -> int:
        """Tokens actually sent and received (cache hits excluded) in this run."""
        with self._lock:
            return self._spent

    def by_stage(self, run_id: str | None = None) -> list[StageUsage]:
        where, args = ("WHERE run_id=?", (run_id,)) if run_id else ("", ())
        with self._lock:
            rows = self._db.execute(
                f"""SELECT stage, model, COUNT(*), SUM(cached), SUM(1 - ok), SUM(CASE WHEN cached <> 0 THEN 0
                    ELSE prompt_tokens END), SUM(CASE WHEN cached <> 0 THEN 0 ELSE completion_tokens END), SUM(cost)
                    FROM llm_calls {where} GROUP BY stage, model ORDER BY stage, model""", args
            ).fetchall()
        return [StageUsage(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), float(r[7]))
                for r in rows]

    def events(self, run_id: str | None = None) -> dict[str, int]:
        where, args = ("WHERE run_id=?", (run_id,)) if run_id else ("", ())
        with self._lock:
            rows = self._db.execute(f"SELECT kind, COUNT(*) FROM llm_events {where} GROUP BY kind", args).fetchall()
        return {k: int(n) for k, n in rows}
