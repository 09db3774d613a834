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
    import time

    from pydantic import BaseModel

    from banyan.llm import CallParams, build_llm, structured, user

    settings = _llm_settings(index, llm)
    cfg = settings.llm.model_copy(update={"cache": False, "max_retries": 1})
    stack = build_llm(cfg, None)

    class Capital(BaseModel):
        country: str
        capital: str

    t0 = time.perf_counter()
    reply = stack.llm.complete([user("Say hello in five words or fewer.")], CallParams(max_tokens=32, stage="check"))
    t1 = time.perf_counter()
    res = structured(stack.llm, [user("What is the capital of France?")], Capital, stage="check", max_tokens=64)
    t2 = time.perf_counter()
    console.print(f"model      {stack.backend.model}  ({cfg.base_url or 'local / default endpoint'})")
    console.print(f"chat       {t1 - t0:.2f}s  {reply.usage.prompt_tokens}+{reply.usage.completion_tokens} tokens: "
                  f"{reply.text.strip()[:80]!r}")
    status = "[green]valid JSON[/]" if res.ok else f"[red]failed[/]: {res.error}"
    console.print(f"structured {t2 - t1:.2f}s  {res.usage.prompt_tokens}+{res.usage.completion_tokens} tokens, "
                  f"{res.attempts} attempt(s){', repaired' if res.repaired else ''}: {status}")
    if not res.ok:
        raise typer.Exit(1)


def usage(index: IndexOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """LLM tokens and cost per stage, from the index's ledger."""
    from banyan.llm import LEDGER_FILE
    from banyan.llm.ledger import UsageLedger
    from banyan.settings import load_settings

    settings = load_settings(index)
    path = Path(settings.index.dir) / LEDGER_FILE
    if not path.is_file():
        console.print(f"no LLM calls recorded in {settings.index.dir}")
        return
    ledger = UsageLedger(path, settings.llm.prices)
    rows, events = ledger.by_stage(), ledger.events()
    if as_json:
        from dataclasses import asdict

        print(json.dumps({"stages": [asdict(r) for r in rows], "events": events}, indent=2))
        return
    table = Table(title=f"LLM usage in {settings.index.dir}")
    for col in ("stage", "model", "calls", "cached", "failed", "prompt tok", "completion tok", "cost $"):
        table.add_column(col, justify="left" if col in ("stage", "model") else "right")
    for r in rows:
        table.add_row(r.stage, r.model, str(r.calls), str(r.cached_calls), str(r.failed_calls),
                      str(r.prompt_tokens), str(r.completion_tokens), f"{r.cost:.4f}")
    console.print(table)
    if events:
        console.print("events: " + ", ".join(f"{k} {v}" for k, v in sorted(events.items())))

