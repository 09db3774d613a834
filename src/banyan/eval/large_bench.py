"""`banyan bench large`: index one large text file, then search the result from cold processes.

Two figures users hit on their own big files, each next to a baseline from the same run:

- indexing: wall seconds and peak resident memory of the indexing process, next to the seconds the
  same run spent embedding the same text (the embedder is the floor every indexer pays);
- cold search: the wall time of a fresh ``banyan search`` process per query (interpreter start,
  imports, opening the index, loading what the mode needs, answering), next to the same queries
  answered in-process by a warm ``Banyan``.

Indexing and each search run in child processes, so their memory and start-up are their own.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from banyan.errors import BanyanError

_INDEX_CHILD = """
import json, resource, sys, time
from banyan import Banyan
t = time.perf_counter()
with Banyan(sys.argv[2], json.loads(sys.argv[3]) or None) as bn:
    report = bn.index([sys.argv[1]])
    chunks = bn.stats().chunks
print(json.dumps({"wall": time.perf_counter() - t, "seconds": report.seconds, "chunks": chunks,
                  "failures": [str(f) for f in report.failures],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_WARM_CHILD = """
import json, sys, time
from banyan import Banyan
queries, modes = json.loads(sys.argv[2]), json.loads(sys.argv[3])
out = {}
with Banyan(sys.argv[1], create=False) as bn:
    for mode in modes:
        bn.search(queries[0], mode=mode, k=10)  # load what the mode needs once
        times = []
        for q in queries:
            t = time.perf_counter()
            bn.search(q, mode=mode, k=10)
            times.append(time.perf_counter() - t)
        out[mode] = times
print(json.dumps(out))
"""


@dataclass
class LatencyFigures:
    cold: list[float] = field(default_factory=list)
    """seconds per fresh `banyan search` process"""
    warm: list[float] = field(default_factory=list)
    """seconds per query in one warm process"""

    def summary(self) -> dict[str, float]:
        return {"cold_p50": _pct(self.cold, 50), "cold_p95": _pct(self.cold, 95), "cold_max": max(self.cold),
                "warm_p50": _pct(self.warm, 50), "warm_p95": _pct(self.warm, 95)}


@dataclass
class LargeBenchResult:
    file: str
    megabytes: float
    chunks: int
    index_seconds: float
    embed_seconds: float
    peak_rss_mb: float
    stage_seconds: dict[str, float]
    queries: int
    latency: dict[str, LatencyFigures]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["latency"] = {m: {**asdict(f), **f.summary()} for m, f in self.latency.items()}
        return out


def _pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def corpus_text(corpus: Path) -> Iterator[str]:
    """Title and text of each record of a normalized ``corpus.jsonl``."""
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                yield f"{rec.get('title', '')}\n\n{rec['text']}\n\n"


def write_large_text(corpus: Path, megabytes: float, out: Path) -> int:
    """Write about ``megabytes`` MB of the corpus's text to ``out``, cycling through it (each pass
    headed "Part N") when it is smaller; returns the bytes written. Streams: nothing is held whole."""
    target = int(megabytes * 1_000_000)
    written, part = 0, 0
    with out.open("w", encoding="utf-8") as f:
        while written < target:
            part += 1
            before = written
            written += f.write(f"Part {part}\n\n")
            for piece in corpus_text(corpus):
                written += len(piece.encode("utf-8"))
                f.write(piece)
                if written >= target:
                    break
            if written - before < 20:
                raise BanyanError(f"{corpus}: no text to build a large file from")
    return written


_SENTENCE = re.compile(r"[^.!?\n。！？]{30,160}[.!?。！？]")


def sample_queries(text_file: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` sentences of the file (reads at most its first 2 MB), as search queries."""
    with text_file.open(encoding="utf-8", errors="replace") as f:
        head = f.read(2_000_000)
    sentences = [s.strip() for s in _SENTENCE.findall(head)]
    if not sentences:
        raise BanyanError(f"{text_file}: no sentences to sample queries from; pass --questions")
    rng = random.Random(seed)
    return rng.sample(sentences, min(n, len(sentences)))


def _child(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BanyanError(f"benchmark child process failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_search(index_dir: Path, query: str, mode: str) -> float:
    """Wall seconds of one fresh ``banyan search`` process."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "banyan.cli", "search", query, "--index", str(index_dir),
                           "--mode", mode, "--k", "10", "--json"], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise BanyanError(f"banyan search failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return wall


def run_large_bench(text_file: Path, index_dir: Path, modes: Sequence[str], queries: Sequence[str],
                    overrides: dict[str, Any] | None = None, *, skip_index: bool = False,
                    log: Any = None) -> LargeBenchResult:
    """Index ``text_file`` into ``index_dir`` in a child process, then time cold and warm searches."""
    say = log or (lambda _msg: None)
    size = text_file.stat().st_size / 1_000_000
    if skip_index:
        figures: dict[str, Any] = {"wall": 0.0, "seconds": {}, "chunks": 0, "peak_rss_mb": 0.0, "failures": []}
    else:
        say(f"indexing {text_file} ({size:.1f} MB) in a child process ...")
        figures = _child(_INDEX_CHILD, str(text_file), str(index_dir), json.dumps(overrides or {}))
        if figures["failures"]:
            raise BanyanError(f"indexing {text_file} failed: {figures['failures']}")
    say(f"timing {len(queries)} queries x {len(modes)} modes, warm (one process) ...")
    warm = _child(_WARM_CHILD, str(index_dir), json.dumps(list(queries)), json.dumps(list(modes)))
    latency: dict[str, LatencyFigures] = {}
    for mode in modes:
        say(f"timing {len(queries)} cold `banyan search --mode {mode}` processes ...")
        latency[mode] = LatencyFigures(cold=[cold_search(index_dir, q, mode) for q in queries], warm=warm[mode])
    chunks = figures["chunks"] or _count_chunks(index_dir)
    return LargeBenchResult(file=str(text_file), megabytes=round(size, 2), chunks=chunks,
                            index_seconds=figures["wall"], embed_seconds=figures["seconds"].get("embed", 0.0),
                            peak_rss_mb=figures["peak_rss_mb"], stage_seconds=figures["seconds"],
                            queries=len(queries), latency=latency)


def _count_chunks(index_dir: Path) -> int:
    from banyan import Banyan

    with Banyan(index_dir, create=False) as bn:
        return bn.stats().chunks
