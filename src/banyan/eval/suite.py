"""`banyan bench suite`: every dev benchmark in one command, each with its same-run baselines, and
how far ``auto`` is from the best fixed mode on each (the number a change to ``auto`` must not move
the wrong way anywhere).

The data sets (all optional; a missing one is skipped and said so):

- ``2wiki``: 2WikiMultiHopQA dev (``<shared>/2wikimultihopqa``), multi-hop, entity-titled passages;
- ``cmrc``: CMRC 2018 (``<shared>/cmrc2018_zh``), Chinese single-hop, first ``cmrc_limit`` questions;
- ``everyday-en`` / ``everyday-zh``: our notes, reports and letters (``benchmarks/everyday``), entities
  not in titles;
- ``medical`` / ``novel``: GraphRAG-Bench medical and novel with passage labels derived from their
  evidence sentences (``eval.graphrag_bench``, prepared once into the cache), ``graphrag_sample``
  questions each (novel needs pyarrow to read its parquet file).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from banyan.errors import BanyanError
from banyan.eval.bench import run_retrieval_bench
from banyan.progress import NoProgress, Progress

BASELINES = ("bm25", "dense", "hybrid")
SUITE = ("2wiki", "cmrc", "everyday-en", "everyday-zh", "medical", "novel")
GRAPHRAG_SUBSETS = ("medical", "novel")


@dataclass(frozen=True)
class SuiteData:
    name: str
    data: Path
    questions: str
    limit: int | None = None


@dataclass
class SuiteResult:
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def auto_gap(self, name: str, k: int = 5) -> tuple[str, float] | None:
        """(best fixed mode, auto minus its recall@k) on data set ``name``; None without auto."""
        modes = self.runs[name]["modes"]
        if "auto" not in modes:
            return None
        fixed = {m: v[f"recall@{k}"] for m, v in modes.items() if m != "auto"}
        if not fixed:
            return None
        best = max(fixed, key=lambda m: fixed[m])
        return best, modes["auto"][f"recall@{k}"] - fixed[best]

    def to_dict(self) -> dict[str, Any]:
        gaps = {n: g for n in self.runs if (g := self.auto_gap(n)) is not None}
        return {"runs": self.runs, "skipped": self.skipped,
                "auto_gap_recall@5": {n: {"best_fixed": b, "gap": round(d, 2)} for n, (b, d) in gaps.items()}}


def suite_data(shared: Path, everyday: Path, cmrc_limit: int, graphrag_sample: int,
               prepare_graphrag: Callable[[str], Path | None]) -> tuple[list[SuiteData], dict[str, str]]:
    """The data sets found, and why the others are skipped. ``prepare_graphrag(subset)``: the folder
    of a GraphRAG-Bench subset's derived labels (None: not wanted or no source data; a
    ``BanyanError`` says why it cannot be prepared)."""
    found: list[SuiteData] = []
    skipped: dict[str, str] = {}

    def add(name: str, folder: Path, questions: str, limit: int | None = None) -> None:
        if (folder / "corpus.jsonl").is_file() and (folder / questions).is_file():
            found.append(SuiteData(name, folder, questions, limit))
        else:
            skipped[name] = f"no {folder / 'corpus.jsonl'} or {folder / questions}"

    add("2wiki", shared / "2wikimultihopqa", "dev.jsonl")
    add("cmrc", shared / "cmrc2018_zh", "questions.jsonl", cmrc_limit)
    add("everyday-en", everyday, "questions_en.jsonl")
    add("everyday-zh", everyday, "questions_zh.jsonl")
    for subset in GRAPHRAG_SUBSETS:
        try:
            folder = prepare_graphrag(subset)
        except BanyanError as exc:
            skipped[subset] = str(exc)
            continue
        if folder is None:
            skipped[subset] = f"no GraphRAG-Bench {subset} data under {shared / 'graphrag_bench'}"
        else:
            add(subset, folder, f"questions_sample{graphrag_sample}.jsonl" if graphrag_sample else "questions.jsonl")
    return found, skipped


def run_suite(data: Sequence[SuiteData], modes: Sequence[str], work: Path | None = None,
              overrides: dict[str, Any] | None = None, progress: Progress | None = None,
              log: Callable[[str], None] | None = None, lowercase: bool = False) -> SuiteResult:
    """``bench retrieval`` on each data set (a fresh index each, under ``work`` or a temp dir); with
    ``lowercase``, every question asked in lower case."""
    result = SuiteResult()
    say = log or (lambda _m: None)
    with tempfile.TemporaryDirectory(prefix="banyan-bench-suite-") as tmp:
        root = work or Path(tmp)
        for d in data:
            say(f"{d.name}: {d.data} / {d.questions}" + (f" (first {d.limit})" if d.limit else ""))
            result.runs[d.name] = run_retrieval_bench(d.data, Path(d.questions), list(modes), root / d.name,
                                                      d.limit, overrides, progress or NoProgress(), lowercase)
    return result
