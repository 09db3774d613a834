"""`banyan bench cost`: prompt and completion tokens per corpus token for each extractor mode."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from banyan.cli_common import EmbedderOpt, IndexOpt, RichProgress, console


def print_cost(result: dict[str, Any]) -> None:
    """Each mode's figures, then the peers' (prompt tokens per corpus token on the same 30 passages)."""
    console.print(f"{result['passages']} passages, {result['corpus_tokens']} corpus tokens "
                  f"({result['tokenizer']}); model {result['model'] or '-'}", highlight=False)
    table = Table(title="prompt and completion tokens per corpus token, calls per chunk, chunks sent to the LLM")
    for col in ("system", "prompt", "compl", "calls", "LLM", "failed"):
        table.add_column(col, justify="left" if col == "system" else "right", no_wrap=True)
    for mode, r in result["modes"].items():
        table.add_row(f"Banyan {mode}", f"{r['prompt_tokens_per_corpus_token']:.2f}",
                      f"{r['completion_tokens_per_corpus_token']:.2f}", f"{r['calls_per_chunk']:.2f}",
                      f"{r['llm_chunks']}/{r['chunks']}", str(r["failed_chunks"]))
    for name, value in result["peers"].items():
        table.add_row(f"[dim]{name}[/]", f"[dim]{value:.1f}[/]", *["[dim]-[/]"] * 4)
    console.print(table)
    for mode, r in result["modes"].items():
        console.print(f"Banyan {mode}: {r['prompt_tokens']} prompt + {r['completion_tokens']} completion tokens in "
                      f"{r['calls']} calls; {r['entities']} entities, {r['triples']} triples; {r['seconds']:.0f}s",
                      highlight=False)
    console.print("peers, prompt tokens per corpus token on the first 30 2Wiki passages: "
                  + ", ".join(f"{name} {value:.1f}" for name, value in result["peers"].items()), highlight=False)
    llm = result["modes"].get("llm")
    if llm is not None:
        ok = llm["prompt_tokens_per_corpus_token"] <= result["target_llm"]
        console.print(f"llm mode: {llm['prompt_tokens_per_corpus_token']:.2f} prompt tokens per corpus token "
                      f"(target <= {result['target_llm']}: {'[green]met[/]' if ok else '[red]missed[/]'})")


def bench_cost(
    data: Annotated[Path, typer.Option(help="folder with corpus.jsonl (normalized format)")],
    limit: Annotated[int | None, typer.Option(help="first N passages")] = None,
    index: IndexOpt = None,
    modes: Annotated[str, typer.Option(help="comma-separated extractor modes")] = "nlp,hybrid,llm",
    llm: Annotated[str | None, typer.Option("--llm", help="model name (OpenAI-compatible) or gguf:PATH")] = None,
    embedder: EmbedderOpt = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write results as JSON")] = None,
) -> None:
    """Tokens and calls per corpus token of each extractor mode (from the LLM ledger), next to peers.

    Each mode indexes into a fresh folder under --index (default: a temporary folder), LLM cache off."""
    from banyan.eval.cost import run_cost_bench

    overrides: dict[str, Any] = {}
    if embedder:
        overrides["embedding"] = {"backend": embedder}
    if llm:
        overrides["llm"] = {"model": llm}
    mode_list = [m.strip() for m in modes.split(",") if m.strip()]
    with tempfile.TemporaryDirectory(prefix="banyan-cost-") as tmp:
        result = run_cost_bench(data, mode_list, index or Path(tmp), limit, overrides, RichProgress())
    print_cost(result)
    if json_out:
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"wrote {json_out}")
