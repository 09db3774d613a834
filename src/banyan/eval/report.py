"""Printing benchmark results as tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from banyan.eval.bench import KS


def print_bench(console: Console, result: dict[str, Any]) -> None:
    if not console.is_terminal:  # files and pipes: wide enough that tables never wrap
        console = Console(width=160, file=console.file, no_color=True)
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

    secs: dict[str, float] = result["index_seconds"]
    total = sum(secs.values()) or 1.0
    parts = ", ".join(f"{k} {v:.1f}s ({100 * v / total:.0f}%)" for k, v in secs.items())
    console.print(f"index: {result['n_documents']} documents, {result['n_chunks']} chunks; {parts}; "
                  f"wall {result['index_wall_seconds']:.1f}s")
    pps = result.get("passages_per_second")
    if pps:
        console.print(f"embedder {result['embedder']}: {pps:.1f} chunks/s "
                      f"({result['n_documents'] / max(secs.get('embed', 0.0), 1e-9):.1f} passages/s)")
    if "compare" in result:
        c = result["compare"]
        console.print(f"compare embedder {c['embedder']}: {c['passages_per_second']} chunks/s")
    for failure in result.get("failures", []):
        console.print(f"[yellow]skipped[/] {failure}")
