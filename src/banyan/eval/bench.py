"""`banyan bench retrieval`: index a normalized corpus, then score every mode in one run."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from banyan.api import Banyan
from banyan.errors import BanyanError
from banyan.eval.metrics import dedupe, passage_recall, percentile_ms
from banyan.progress import Progress
from banyan.settings import SearchMode
from banyan.types import IndexReport

KS = (2, 5, 10)
LATENCY_BLOCK = 25
"""questions a mode runs in a row before the next mode takes its turn (``score_modes``)"""


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    gold_titles: tuple[str, ...]
    gold_complete: bool
    type: str


def corpus_file(data_dir: Path) -> Path:
    """``data_dir/corpus.jsonl``, or an error saying what --data must be."""
    corpus = data_dir / "corpus.jsonl"
    if not corpus.is_file():
        raise BanyanError(f"{corpus} not found: --data must be a folder with corpus.jsonl")
    return corpus


def question_file(data_dir: Path, questions_file: Path) -> Path:
    """The question file as given, or by that name inside ``data_dir``."""
    if questions_file.is_absolute() or questions_file.exists():
        return questions_file
    return data_dir / questions_file


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) for each non-blank line of a JSONL file."""
    if not path.is_file():
        raise BanyanError(f"question file not found: {path}")
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BanyanError(f"{path}:{lineno}: not a normalized question record ({exc})") from exc
            if not isinstance(rec, dict):
                raise BanyanError(f"{path}:{lineno}: not a normalized question record (a JSON object is needed)")
            yield lineno, rec


def load_questions(path: Path, limit: int | None = None) -> list[Question]:
    """Questions in the normalized format; those without gold titles are left out."""
    out: list[Question] = []
    for lineno, rec in read_records(path):
        try:
            q = Question(str(rec["id"]), rec["question"], tuple(rec.get("gold_titles") or ()),
                         bool(rec.get("gold_complete", True)), str(rec.get("type", "")))
        except (KeyError, TypeError) as exc:
            raise BanyanError(f"{path}:{lineno}: not a normalized question record ({exc})") from exc
        if q.gold_titles:
            out.append(q)
        if limit and len(out) >= limit:
            break
    return out


def index_corpus(bn: Banyan, corpus: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Index ``corpus`` into ``bn``; returns the index figures every benchmark reports."""
    t0 = time.perf_counter()
    report: IndexReport = bn.index([corpus], progress=progress)
    wall = time.perf_counter() - t0
    stats = bn.stats()
    embed_s = report.seconds.get("embed", 0.0)
    return {
        "index_seconds": {k: round(v, 3) for k, v in sorted(report.seconds.items())},
        "index_wall_seconds": round(wall, 3),
        "embedder": bn.embedder().name,
        "passages_per_second": round(report.chunks_embedded / embed_s, 1) if embed_s > 0 else None,
        "chunks_embedded": report.chunks_embedded,
        "n_documents": stats.documents,
        "n_chunks": stats.chunks,
        "failures": [str(f) for f in report.failures],
    }


@dataclass
class ModeResult:
    recall: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    latencies: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, values in self.recall.items():
            out[key] = round(100.0 * sum(values) / len(values), 2) if values else 0.0
        out["latency_ms_p50"] = round(percentile_ms(self.latencies, 50), 2)
        out["latency_ms_p95"] = round(percentile_ms(self.latencies, 95), 2)
        return out


def score_modes(bn: Banyan, questions: Sequence[Question], modes: Sequence[SearchMode],
                depth: int) -> dict[SearchMode, ModeResult]:
    """Run every question through each mode; recall by question type and on gold-complete ones.

    The modes take turns by blocks of ``LATENCY_BLOCK`` questions (the order of the modes reversed
    every other block), so that a machine that slows down or speeds up mid-run (a shared or
    throttled CPU) shifts every mode's latency alike, and no mode runs in the caches another just
    warmed: turns question by question flattered the graph modes (on the 2Wiki index, hybrid after
    graph took 5.4 ms against 4.7 ms alone, graph after hybrid on the same question 11.8 against
    12.5 ms: a ratio of 2.2 where each mode on its own gives 2.7)."""
    results = {m: ModeResult() for m in modes}
    for b, start in enumerate(range(0, len(questions), LATENCY_BLOCK)):
        for mode in (modes if b % 2 == 0 else modes[::-1]):
            res = results[mode]
            for q in questions[start : start + LATENCY_BLOCK]:
                t0 = time.perf_counter()
                hits = bn.search(q.question, mode=mode, k=depth)
                res.latencies.append(time.perf_counter() - t0)
                titles = dedupe(h.citation.title for h in hits)
                for k in KS:
                    r = passage_recall(titles, q.gold_titles, k)
                    res.recall[f"recall@{k}"].append(r)
                    if q.gold_complete:
                        res.recall[f"complete_recall@{k}"].append(r)
                    res.recall[f"{q.type or 'all'}:recall@{k}"].append(r)
    return results


def run_retrieval_bench(data_dir: Path, questions_file: Path, modes: Sequence[SearchMode], index_dir: Path,
                        limit: int | None = None, overrides: dict[str, Any] | None = None,
                        progress: Progress | None = None, lowercase: bool = False) -> dict[str, Any]:
    """Index ``data_dir/corpus.jsonl`` into ``index_dir`` and score ``modes`` on the questions (asked in
    lower case with ``lowercase``, as people often type them)."""
    corpus = corpus_file(data_dir)
    qpath = question_file(data_dir, questions_file)
    questions = load_questions(qpath, limit)
    if lowercase:
        questions = [replace(q, question=q.question.lower()) for q in questions]
    if not questions:
        raise BanyanError(f"{qpath}: no questions with gold_titles")
    with Banyan(index_dir, overrides) as bn:
        index_figures = index_corpus(bn, corpus, progress)
        for mode in modes:  # warm-up: the first timed query of a mode does not pay for loading its indexes
            bn.search(questions[0].question, mode=mode, k=10)
        results = {m: r.summary() for m, r in score_modes(bn, questions, modes, depth=30).items()}
    return {
        "modes": results,
        **index_figures,
        "n_questions": len(questions),
        "n_gold_complete": sum(q.gold_complete for q in questions),
    }
