"""`banyan llm check` and `banyan usage`: the LLM connection and what it cost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from banyan.cli_common import IndexOpt, console

llm_app = typer.Typer(no_args_is_help=True, help="The LLM connection: check it, see what it cost.")


LlmOpt = Annotated[str | None, typer.Option("--llm", help="model name (OpenAI-compatible) or gguf:PATH")]


def _llm_settings(index: Path | None, llm: str | None):  # type: ignore[no-untyped-def]
    from banyan.settings import load_settings

    return load_settings(index, {"llm": {"model": llm}} if llm else None)


@llm_app.command("check")
def llm_check(llm: LlmOpt = None, index: IndexOpt = None) -> None:
    """Call the configured LLM once for text and once for schema-valid JSON; print latency and tokens."""
    from banyan.app.llm_ops import check_llm

    r = check_llm(_llm_settings(index, llm))
    console.print(f"model      {r.model}  ({r.endpoint})")
    console.print(f"chat       {r.chat_seconds:.2f}s  {r.chat_tokens[0]}+{r.chat_tokens[1]} tokens: {r.chat_text[:80]!r}")
    status = "[green]valid JSON[/]" if r.json_ok else f"[red]failed[/]: {r.json_error}"
    console.print(f"structured {r.json_seconds:.2f}s  {r.json_tokens[0]}+{r.json_tokens[1]} tokens, "
                  f"{r.json_attempts} attempt(s){', repaired' if r.json_repaired else ''}: {status}")
    if not r.json_ok:
        raise typer.Exit(1)


def usage(index: IndexOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """LLM tokens and cost per stage, from the index's ledger."""
    from dataclasses import asdict

    from banyan.app.llm_ops import llm_usage
    from banyan.settings import load_settings

    settings = load_settings(index)
    rep = llm_usage(settings)
    if not rep.found:
        console.print(f"no LLM calls recorded in {settings.index.dir}")
        return
    if as_json:
        print(json.dumps({"stages": [asdict(r) for r in rep.stages], "events": rep.events}, indent=2))
        return
    table = Table(title=f"LLM usage in {settings.index.dir}")
    for col in ("stage", "model", "calls", "cached", "failed", "prompt tok", "completion tok", "cost $"):
        table.add_column(col, justify="left" if col in ("stage", "model") else "right")
    for r in rep.stages:
        table.add_row(r.stage, r.model, str(r.calls), str(r.cached_calls), str(r.failed_calls),
                      str(r.prompt_tokens), str(r.completion_tokens), f"{r.cost:.4f}")
    console.print(table)
    if rep.events:
        console.print("events: " + ", ".join(f"{k} {v}" for k, v in sorted(rep.events.items())))
