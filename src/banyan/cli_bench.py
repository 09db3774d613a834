"""`banyan bench qa`: answer quality of every mode on a normalized QA data set, in one run."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from banyan.cli_common import EmbedderOpt, IndexOpt, NoGraphOpt, RichProgress, console
from banyan.cli_common import overrides as _overrides


def bench_qa(
    data: Annotated[Path, typer.Option(help="folder with corpus.jsonl (normalized format)")],
    questions: Annotated[Path, typer.Option(help="question file with answers (path, or name inside --data)")],
    modes: Annotated[str, typer.Option(help="comma-separated answer modes (auto naive mix local global full agent)")]
    = "naive,mix",
    limit: Annotated[int | None, typer.Option(help="first N questions with answers")] = None,
    budget: Annotated[int | None, typer.Option(help="context budget in tokens (default: the engine's)")] = None,
    llm: Annotated[str | None, typer.Option("--llm", help="answer with this model (OpenAI-compatible name or "
                                            "gguf:PATH); without it answers are extractive, no LLM")] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="grade answers with this model (name or gguf:PATH)")]
    = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write results as JSON")] = None,
    index: IndexOpt = None, embedder: EmbedderOpt = None, no_graph: NoGraphOpt = False,
) -> None:
    """Answer-in-context recall, EM/F1, judge accuracy, LLM tokens and calls, latency per mode, in one run."""
    from banyan.eval.qa import run_qa_bench
    from banyan.eval.report import print_qa_bench

    mode_list = [m.strip() for m in modes.split(",") if m.strip()]
    with tempfile.TemporaryDirectory(prefix="banyan-bench-qa-") as tmp:
        result = run_qa_bench(data, questions, mode_list, index or Path(tmp) / "main", limit=limit, budget=budget,
                              llm_model=llm, judge_model=judge, overrides=_overrides(embedder, no_graph),
                              progress=RichProgress())
    print_qa_bench(console, result)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"wrote {json_out}")
