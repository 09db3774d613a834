"""`banyan bench serve`: the REST server under concurrent load, against the same calls made in-process.

The server (``create_app`` under uvicorn, no LLM, no API keys) runs in its own process on a free
loopback port, as it would in production. The workload is drawn from the index through the API
(document titles and first sentences, the best-connected entities), then:

1. a baseline: each endpoint's calls made directly on ``Banyan`` in this process, single-threaded;
2. the load: ``clients`` asyncio tasks sharing one ``httpx.AsyncClient``, each looping over a random
   mix of search (auto/hybrid/graph), ask (extractive) and graph requests until ``duration``.

Bounded and self-stopping: clients start no request after the deadline, each request has a timeout,
and a hard deadline cancels whatever is left. Any non-200 answer, malformed body or transport error
counts as an error.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from banyan.api import Banyan
from banyan.errors import BanyanError
from banyan.text import has_han

KINDS = ("search", "ask", "graph")
NO_LLM: dict[str, Any] = {"llm": {"model": ""}}
"""asks are extractive whatever the index or the environment configures"""
SEARCH_MODES = ("auto", "hybrid", "graph")


@dataclass(frozen=True, slots=True)
class ServeBenchConfig:
    clients: int = 50
    duration_s: float = 120.0
    kinds: tuple[str, ...] = KINDS
    request_timeout_s: float = 30.0
    baseline_s: float | None = None
    """in-process baseline time (default: a quarter of ``duration_s``, 1 to 30 s)"""
    seed: int = 12

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"unknown request kinds {sorted(unknown)}: --mix takes {', '.join(KINDS)}")
        if self.clients < 1 or self.duration_s <= 0:
            raise ValueError("--clients must be at least 1 and --duration positive")


@dataclass(frozen=True, slots=True)
class Call:
    """One request of the workload and its in-process equivalent (the Banyan calls the endpoint makes)."""

    endpoint: str
    """the row it is counted under, e.g. ``search graph``"""
    kind: str
    method: str
    path: str
    direct: Callable[[Banyan], object]
    expect: str
    """a key the JSON answer must have"""
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class EndpointResult:
    endpoint: str
    kind: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    direct_calls: int
    direct_p50_ms: float
    direct_p95_ms: float
    error_examples: tuple[str, ...] = ()

    @property
    def p50_ratio(self) -> float | None:
        """HTTP under load over in-process, at the median."""
        return self.p50_ms / self.direct_p50_ms if self.direct_p50_ms > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "kind": self.kind, "requests": self.requests, "errors": self.errors,
                "p50_ms": round(self.p50_ms, 2), "p95_ms": round(self.p95_ms, 2), "max_ms": round(self.max_ms, 2),
                "direct_calls": self.direct_calls, "direct_p50_ms": round(self.direct_p50_ms, 2),
                "direct_p95_ms": round(self.direct_p95_ms, 2),
                "p50_ratio": None if self.p50_ratio is None else round(self.p50_ratio, 2),
                "error_examples": list(self.error_examples)}


@dataclass(frozen=True, slots=True)
class ServeBenchResult:
    index: str
    documents: int
    entities: int
    clients: int
    duration_s: float
    seconds: float
    """from the first request to the last answer"""
    requests: int
    errors: int
    requests_per_s: float
    direct_calls_per_s: float
    """the in-process baseline's throughput, single-threaded, for the same mix of endpoints"""
    hard_stopped: bool
    endpoints: tuple[EndpointResult, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "documents": self.documents, "entities": self.entities,
                "clients": self.clients, "duration_s": self.duration_s, "seconds": round(self.seconds, 2),
                "requests": self.requests, "errors": self.errors, "requests_per_s": round(self.requests_per_s, 1),
                "direct_calls_per_s": round(self.direct_calls_per_s, 1), "hard_stopped": self.hard_stopped,
                "endpoints": [e.to_dict() for e in self.endpoints], "notes": list(self.notes)}


@dataclass(slots=True)
class _Tally:
    """What one endpoint's requests came to (mutated only by the event loop's tasks)."""

    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    examples: list[str] = field(default_factory=list)

    def error(self, why: str) -> None:
        self.errors += 1
        if len(self.examples) < 3 and why not in self.examples:
            self.examples.append(why)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


# -- the server, in its own process ------------------------------------------------------------------
def serve_forever(index_dir: Path, port: int) -> None:
    """Run the REST server on ``127.0.0.1:port`` over ``index_dir``: no LLM, no keys, no access log."""
    import uvicorn

    from banyan.server import create_app

    with Banyan(index_dir, NO_LLM, create=False) as bn:
        uvicorn.run(create_app(bn, None), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server_process(index_dir: Path, log: Path, start_timeout_s: float = 120.0) -> Iterator[str]:
    """A server process for the duration of the block; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("BANYAN_LLM_MODEL", "BANYAN_LLM__MODEL")}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "banyan.eval.serve_bench", str(index_dir), str(port)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(proc, base, log, start_timeout_s)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise BanyanError(f"the server exited with code {proc.returncode} before answering:\n{tail}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.2)
    raise BanyanError(f"the server did not answer /health within {timeout_s:.0f} s (log: {log})")


# -- the workload, drawn from the index through the HTTP API ----------------------------------------
def workload(client: httpx.Client, kinds: Sequence[str]) -> tuple[dict[str, list[Call]], int, int]:
    """Calls per endpoint, and the number of documents and entities they were drawn from."""
    docs = _get(client, "/api/v1/documents")["documents"]
    if not docs:
        raise BanyanError("the index holds no documents: index some first")
    queries, questions = [], []
    for d in docs:
        text = _get(client, f"/api/v1/documents/{d['id']}")["text"]
        title = d["title"] or Path(d["source"]).stem
        queries += [title, _opening(text)]
        questions.append(f"{title}是什么？" if has_han(title) else f"What is known about {title}?")
    nodes = _get(client, "/api/v1/graph/overview", limit=60)["nodes"] if "graph" in kinds else []
    names = [n["name"] for n in nodes if n["name"].strip()]
    calls: dict[str, list[Call]] = {}
    if "search" in kinds:
        for mode in SEARCH_MODES:
            calls[f"search {mode}"] = [_search(q, mode) for q in queries if q]
    if "ask" in kinds:
        calls["ask"] = [_ask(q) for q in questions]
    if names:
        calls["graph entities?q="] = [_find(_prefix(n)) for n in names]
        calls["graph neighbors"] = [_neighbors(n, depth) for n in names for depth in (1, 2)]
        calls["graph entity"] = [_entity(n) for n in names]
    return calls, len(docs), len(names)


def _get(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    r = client.get(path, params=params or None)
    if r.status_code != 200:
        raise BanyanError(f"GET {path} answered {r.status_code}: {r.text[:300]}")
    data: dict[str, Any] = r.json()
    return data


def _opening(text: str) -> str:
    """The first line of prose (not a heading), cut to about a dozen words."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    return line[:24] if has_han(line) else " ".join(line.split()[:12])


def _prefix(name: str) -> str:
    word = name.split()[0] if name.split() else name
    return word[:2] if has_han(word) else word[:5]


def _search(query: str, mode: str) -> Call:
    def direct(bn: Banyan) -> object:
        return bn.search(query, mode, 10), bn.resolve_mode(query, mode)

    return Call(f"search {mode}", "search", "POST", "/api/v1/search", direct, "results",
                body={"query": query, "mode": mode, "k": 10})


def _ask(question: str) -> Call:
    return Call("ask", "ask", "POST", "/api/v1/ask", lambda bn: bn.ask(question, "auto"), "passages",
                body={"question": question, "mode": "auto"})


def _find(text: str) -> Call:
    return Call("graph entities?q=", "graph", "GET", "/api/v1/graph/entities", lambda bn: bn.find_entities(text, 20),
                "entities", params={"q": text, "limit": 20})


def _neighbors(name: str, depth: int) -> Call:
    return Call("graph neighbors", "graph", "GET", "/api/v1/graph/neighbors",
                lambda bn: bn.neighbourhood(name, depth, 200), "nodes",
                params={"name": name, "depth": depth, "limit": 200})


def _entity(name: str) -> Call:
    return Call("graph entity", "graph", "GET", f"/api/v1/graph/entities/{quote(name, safe='')}",
                lambda bn: bn.entity(name), "name")


# -- the in-process baseline -------------------------------------------------------------------------
def baseline(bn: Banyan, calls: dict[str, list[Call]], budget_s: float, min_calls: int = 3) -> dict[str, list[float]]:
    """Seconds per direct call, endpoint by endpoint, single-threaded: an equal share of ``budget_s``
    each (at least ``min_calls``), after one unmeasured warm-up call."""
    out: dict[str, list[float]] = {}
    share = budget_s / max(1, len(calls))
    for endpoint, options in calls.items():
        options[0].direct(bn)  # warm-up: the first call loads indexes
        times: list[float] = []
        stop = time.monotonic() + share
        i = 0
        while len(times) < min_calls or (time.monotonic() < stop and len(times) < 10_000):
            t = time.perf_counter()
            options[i % len(options)].direct(bn)
            times.append(time.perf_counter() - t)
            i += 1
        out[endpoint] = times
    return out


# -- the load ----------------------------------------------------------------------------------------
async def _one(client: httpx.AsyncClient, call: Call, tally: _Tally) -> None:
    t = time.perf_counter()
    try:
        r = await client.request(call.method, call.path, json=call.body, params=call.params)
        elapsed = time.perf_counter() - t
        if r.status_code != 200:
            tally.error(f"{r.status_code} {call.method} {call.path}: {r.text[:200]}")
        elif call.expect not in r.json():
            tally.error(f"{call.method} {call.path}: no {call.expect!r} in the answer")
        else:
            tally.seconds.append(elapsed)
    except (httpx.HTTPError, ValueError) as exc:
        tally.error(f"{call.method} {call.path}: {type(exc).__name__} {exc} {exc.__cause__!r}")


async def _client(client: httpx.AsyncClient, calls: dict[str, list[Call]], tallies: dict[str, _Tally],
                  deadline: float, rng: random.Random) -> None:
    endpoints = sorted(calls)
    while time.monotonic() < deadline:
        endpoint = rng.choice(endpoints)
        await _one(client, rng.choice(calls[endpoint]), tallies[endpoint])


async def load(base: str, calls: dict[str, list[Call]], config: ServeBenchConfig) -> tuple[dict[str, _Tally], float, bool]:
    """Run the clients; returns the tallies, the seconds it took and whether the hard deadline struck."""
    tallies = {e: _Tally() for e in calls}
    # Idle connections are dropped after 2 s, before uvicorn's 5 s keep-alive timeout closes them:
    # equal timeouts race (a request sent on a connection the server is closing fails with ReadError).
    limits = httpx.Limits(max_connections=config.clients, max_keepalive_connections=config.clients,
                          keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base, timeout=config.request_timeout_s, limits=limits) as client:
        for options in calls.values():  # warm-up, not counted: the server loads its indexes
            await _one(client, options[0], _Tally())
        t0 = time.monotonic()
        deadline = t0 + config.duration_s
        tasks = [asyncio.create_task(_client(client, calls, tallies, deadline, random.Random(config.seed + i)))
                 for i in range(config.clients)]
        done, pending = await asyncio.wait(tasks, timeout=config.duration_s + config.request_timeout_s + 10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()  # a bug in a client surfaces here
        seconds = time.monotonic() - t0
    if pending:
        for tally in tallies.values():
            tally.error("cancelled at the hard deadline")
    return tallies, seconds, bool(pending)


# -- one run -------------------------------------------------------------------------------------------
def sample_corpus() -> Path:
    return Path(str(resources.files("banyan") / "sample"))


def run_serve_bench(index_dir: Path | None, config: ServeBenchConfig,
                    overrides: dict[str, Any] | None = None) -> ServeBenchResult:
    """The whole benchmark; with no ``index_dir``, on the bundled sample corpus indexed into a temp dir
    (``overrides`` choose its embedder)."""
    with tempfile.TemporaryDirectory(prefix="banyan-bench-serve-") as tmp:
        notes: list[str] = []
        if index_dir is None:
            index_dir = Path(tmp) / "sample-index"
            with Banyan(index_dir, overrides) as bn:
                bn.index([sample_corpus()])
            notes.append("index: the bundled sample corpus, built for this run")
        log = Path(tmp) / "server.log"
        with server_process(index_dir, log) as base:
            with httpx.Client(base_url=base, timeout=config.request_timeout_s) as client:
                calls, documents, entities = workload(client, config.kinds)
            if "graph" in config.kinds and not entities:
                notes.append("the index has no graph: graph requests left out")
            with Banyan(index_dir, NO_LLM, create=False) as bn:
                direct = baseline(bn, calls, config.baseline_s or min(30.0, max(1.0, config.duration_s / 4)))
            tallies, seconds, hard_stopped = asyncio.run(load(base, calls, config))
        if any(t.errors for t in tallies.values()) and log.stat().st_size:
            notes.append("server log (tail): " + log.read_text(encoding="utf-8", errors="replace")[-1500:])
    rows = tuple(_row(e, calls[e][0].kind, tallies[e], direct[e]) for e in calls)
    requests = sum(r.requests for r in rows)
    mean_direct_s = sum(sum(v) / len(v) for v in direct.values()) / len(direct)  # clients pick endpoints evenly
    return ServeBenchResult(str(index_dir), documents, entities, config.clients, config.duration_s, seconds,
                            requests, sum(r.errors for r in rows), requests / seconds if seconds else 0.0,
                            1 / mean_direct_s if mean_direct_s else 0.0, hard_stopped, rows, tuple(notes))


def _row(endpoint: str, kind: str, tally: _Tally, direct: list[float]) -> EndpointResult:
    ms = [s * 1000 for s in tally.seconds]
    dms = [s * 1000 for s in direct]
    return EndpointResult(endpoint, kind, len(ms) + tally.errors, tally.errors, percentile(ms, 50), percentile(ms, 95),
                          max(ms, default=0.0), len(dms), percentile(dms, 50), percentile(dms, 95),
                          tuple(tally.examples))


if __name__ == "__main__":  # the server process: python -m banyan.eval.serve_bench INDEX_DIR PORT
    serve_forever(Path(sys.argv[1]), int(sys.argv[2]))
