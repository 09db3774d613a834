"""Printing benchmark results as tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from banyan.eval.bench import KS


def wide(console: Console, width: int = 160) -> Console:
    """``console`` on a terminal; for files and pipes, one wide enough that tables never wrap."""
    return console if console.is_terminal else Console(width=width, file=console.file, no_color=True)


def print_bench(console: Console, result: dict[str, Any]) -> None:
    console = wide(console)
    modes: dict[str, dict[str, float]] = result["modes"]
    table = Table(title=f"passage recall (%), {result['n_questions']} questions; "
                        f"gc = the {result['n_gold_complete']} gold-complete ones")
    table.add_column("mode", no_wrap=True)
    for k in KS:
        table.add_column(f"R@{k}", justify="right")
    for k in KS:
        table.add_column(f"gc R@{k}", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p95 ms", justify="right")
    for mode, m in modes.items():
        table.add_row(mode, *[f"{m[f'recall@{k}']:.1f}" for k in KS],
                      *[f"{m.get(f'complete_recall@{k}', 0.0):.1f}" for k in KS],
                      f"{m['latency_ms_p50']:.1f}", f"{m['latency_ms_p95']:.1f}")
    if "compare" in result:
        c = result["compare"]
        table.add_row(f"dense ({c['embedder']})", *[f"{c['dense'][f'recall@{k}']:.1f}" for k in KS],
                      *[f"{c['dense'].get(f'complete_recall@{k}', 0.0):.1f}" for k in KS],
                      f"{c['dense']['latency_ms_p50']:.1f}", f"{c['dense']['latency_ms_p95']:.1f}")
    console.print(table)

    types = sorted({key.split(":")[0] for m in modes.values() for key in m if ":" in key})
    if len(types) > 1:
        t2 = Table(title="recall@5 by question type")
        t2.add_column("mode")
        for t in types:
            t2.add_column(t, justify="right")
        for mode, m in modes.items():
            t2.add_row(mode, *[f"{m.get(f'{t}:recall@5', 0.0):.1f}" for t in types])
        console.print(t2)

    print_index(console, result)
    if "compare" in result:
        c = result["compare"]
        console.print(f"compare embedder {c['embedder']}: {c['passages_per_second']} chunks/s")
    for failure in result.get("failures", []):
        console.print(f"[yellow]skipped[/] {failure}")


def print_index(console: Console, result: dict[str, Any]) -> None:
    """The index figures of a benchmark run: sizes, time per stage, embedding throughput."""
    secs: dict[str, float] = result["index_seconds"]
    total = sum(secs.values()) or 1.0
    parts = ", ".join(f"{k} {v:.1f}s ({100 * v / total:.0f}%)" for k, v in secs.items())
    console.print(f"index: {result['n_documents']} documents, {result['n_chunks']} chunks; {parts}; "
                  f"wall {result['index_wall_seconds']:.1f}s")
    pps = result.get("passages_per_second")
    if pps:
        console.print(f"embedder {result['embedder']}: {pps:.1f} chunks/s "
                      f"({result['n_documents'] / max(secs.get('embed', 0.0), 1e-9):.1f} passages/s)")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def qa_mode_order(modes: dict[str, Any], baseline: str = "naive") -> list[str]:
    """Modes as run, with the baseline first."""
    return sorted(modes, key=lambda m: m != baseline)


def print_qa_bench(console: Console, result: dict[str, Any], baseline: str = "naive") -> None:
    """One row per mode (baseline first): answer-in-context, EM, F1, judge, LLM cost and latency."""
    console = wide(console, 180)
    modes: dict[str, dict[str, Any]] = result["modes"]
    extractive = result.get("answers") == "extractive"
    star = "*" if extractive else ""
    budget = result.get("budget")
    answerer = "extractive (no LLM)" if extractive else result.get("llm")
    table = Table(title=f"answers, {result['n_questions']} questions; context budget: "
                        f"{f'{budget} tokens' if budget is not None else 'engine default'}; answers: {answerer}; "
                        f"judge: {result.get('judge') or 'none'}")
    for col in ("mode", "in ctx %", f"EM{star}", f"F1{star}", "judge %", "ctx tok", "LLM tok/q", "calls/q",
                "judge calls/q", "ctx p50/p95 ms", "answer p50/p95 ms", "errors"):
        table.add_column(col, justify="left" if col == "mode" else "right", no_wrap=True)
    for mode in qa_mode_order(modes, baseline):
        m = modes[mode]
        table.add_row(mode, _fmt(m["answer_in_context"]), _fmt(m["em"]), _fmt(m["f1"]), _fmt(m["judge_accuracy"]),
                      _fmt(m["context_tokens_mean"], 0), _fmt(m["tokens_per_question"], 0),
                      _fmt(m["llm_calls_per_question"], 2), _fmt(m["judge_calls_per_question"], 2),
                      f"{m['context_ms_p50']:.0f} / {m['context_ms_p95']:.0f}",
                      f"{m['latency_ms_p50']:.0f} / {m['latency_ms_p95']:.0f}", str(m["errors"]))
    console.print(table)
    n_ctx = next(iter(modes.values()))["n_answer_in_context"] if modes else 0
    console.print(f"in ctx = share of the {n_ctx} questions whose gold answer string appears in the assembled "
                  f"context ({result.get('n_yes_no', 0)} yes/no questions left out)"
                  + ("; * EM/F1 of extractive answers, no LLM" if extractive else ""))
    if baseline in modes:
        base = modes[baseline]["answer_in_context"]
        for mode in (m for m in modes if m != baseline):
            diff = modes[mode]["answer_in_context"] - base
            console.print(f"answer-in-context {mode} - {baseline}: {modes[mode]['answer_in_context']:.1f} - "
                          f"{base:.1f} = {diff:+.1f} points")
    for mode, m in modes.items():
        for example in m.get("error_examples", []):
            console.print(f"[yellow]{mode} error[/] {example}", highlight=False)
    print_index(console, result)
    for failure in result.get("failures", []):
        console.print(f"[yellow]skipped[/] {failure}")
