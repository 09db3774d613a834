"""`banyan bench qa` (answer quality of every mode on a QA data set) and `banyan bench serve` (the REST
server under concurrent load), each in one run."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from banyan.cli_common import EmbedderOpt, IndexOpt, NoGraphOpt, RichProgress, console
from banyan.cli_common import overrides as _overrides

if TYPE_CHECKING:
    from banyan.eval.serve_bench import ServeBenchResult


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


def bench_serve(
    index: IndexOpt = None,
    clients: Annotated[int, typer.Option(help="concurrent HTTP clients")] = 50,
    duration: Annotated[float, typer.Option(help="seconds of load (then clients stop; a hard deadline follows)")]
    = 120.0,
    mix: Annotated[str, typer.Option(help="request kinds, comma list: search (auto/hybrid/graph), ask (extractive, "
                                          "no LLM), graph (entity search, neighbours, entity pages)")]
    = "search,ask,graph",
    timeout: Annotated[float, typer.Option(help="per-request timeout, seconds")] = 30.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="write results as JSON")] = None,
    embedder: EmbedderOpt = None,
) -> None:
    """The REST server under N concurrent clients on loopback: requests, errors, p50/p95/max per endpoint
    and requests/s, next to the same calls made in-process, single-threaded. Without --index, on the
    bundled sample corpus indexed into a temp dir (--embedder picks its embedder). Exit code 1 on any error."""
    from banyan.eval.serve_bench import ServeBenchConfig, run_serve_bench

    config = ServeBenchConfig(clients=clients, duration_s=duration, request_timeout_s=timeout,
                              kinds=tuple(k.strip() for k in mix.split(",") if k.strip()))
    result = run_serve_bench(index, config, _overrides(embedder))
    print_serve_bench(result)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"wrote {json_out}")
    if result.errors:
        raise typer.Exit(1)


def print_serve_bench(result: ServeBenchResult) -> None:
    table = Table(title=f"banyan bench serve: {result.clients} clients for {result.duration_s:g} s over HTTP "
                        f"({result.documents} documents, {result.entities} entities sampled)")
    for col in ("endpoint", "requests", "errors", "p50 ms", "p95 ms", "max ms", "direct p50", "direct p95", "p50 x"):
        table.add_column(col, justify="left" if col == "endpoint" else "right", no_wrap=True)
    for e in result.endpoints:
        table.add_row(e.endpoint, str(e.requests), f"[red]{e.errors}[/]" if e.errors else "0", _ms(e.p50_ms),
                      _ms(e.p95_ms), _ms(e.max_ms), _ms(e.direct_p50_ms), _ms(e.direct_p95_ms),
                      f"{e.p50_ratio:.1f}" if e.p50_ratio is not None else "-")
    Console(width=max(console.width, 120)).print(table)  # nine columns: never squeezed to 80 in a log
    console.print(f"HTTP: {result.requests} requests, {result.errors} errors in {result.seconds:.1f} s = "
                  f"[bold]{result.requests_per_s:.1f} requests/s[/] with {result.clients} clients. In-process "
                  f"(direct: the same Banyan calls, one thread, the same mix): {result.direct_calls_per_s:.1f} calls/s"
                  + (" [red](hard deadline struck: requests cancelled)[/]" if result.hard_stopped else ""),
                  highlight=False)
    for note in result.notes:
        console.print(f"[dim]note:[/] {note}", highlight=False)
    for e in result.endpoints:
        for example in e.error_examples:
            console.print(f"[red]error[/] {e.endpoint}: {example}", highlight=False, soft_wrap=True)


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"
