"""`banyan ask`: a cited answer to a question, streamed as the model writes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from banyan.answer.types import ANSWER_MODES, TRANSFORMS, Answer
from banyan.api import Banyan
from banyan.cli_common import AsOpt, ExitCode, IndexOpt, access_of, console, err

ModeOpt = Annotated[str, typer.Option("--mode", "-m", help=" | ".join(ANSWER_MODES))]
LlmOpt = Annotated[str | None, typer.Option("--llm", help="model name (OpenAI-compatible) or gguf:PATH "
                                                         "[default: the configured one; none: extractive answer]")]


def print_answer(a: Answer, *, streamed: str | None = None) -> None:
    """The answer (unless ``streamed`` already showed it), its cited sources, notes and costs."""
    if a.error:
        err.print(f"[red]LLM failed:[/] {a.error}", highlight=False, soft_wrap=True)
    if streamed is None or streamed.strip() != a.text.strip():
        if streamed:
            console.print("\n[dim]answer with citations checked:[/]")
        console.print(a.text, markup=False, highlight=False, soft_wrap=True)
    elif streamed:
        console.print()
    if a.citations:
        console.print("\n[bold]Sources[/]")
        for e in a.citations:
            c = e.citation
            console.print(f"  [cyan][{e.n}][/] {c.title or c.source}  [dim]{c.source} · chunk {c.ordinal} · "
                          f"chars {c.start}-{c.end}[/]", highlight=False, soft_wrap=True)
    elif a.evidence and not a.insufficient:
        console.print(f"\n[dim](no passage cited; {len(a.evidence)} in the context: --json lists them)[/]")
    for i, st in enumerate(a.trace, 1):
        found = f" → {st.answer}" if st.answer else ""
        console.print(f"step {i}: {st.sub_question}{found} · {st.verdict} · {len(st.evidence)} passages"
                      f"{' · bridge ' + ', '.join(st.bridge) if st.bridge else ''} · {st.tokens} tokens · "
                      f"{st.seconds:.2f}s", style="dim", highlight=False, soft_wrap=True, markup=False)
    for note in a.notes:
        console.print(f"[dim]note:[/] {note}", highlight=False, soft_wrap=True)
    cost = f"{a.llm_calls} LLM call(s), {a.tokens_in}+{a.tokens_out} tokens" if a.llm_calls else "no LLM call"
    console.print(f"[dim]{a.mode} · {len(a.evidence)} passages, {a.context_tokens} context tokens · {cost} · "
                  f"{a.seconds:.2f}s[/]", highlight=False)
    if a.selection is not None:
        s = a.selection
        console.print(f"[dim]global: {s.reports_rated} report(s) rated, {s.reports_mapped} mapped in {s.map_calls} "
                      f"call(s); report tokens {s.report_tokens_used} (static map: {s.report_tokens_static})[/]",
                      highlight=False)


def ask(question: Annotated[str, typer.Argument(help="the question")], mode: ModeOpt = "auto",
        reject: Annotated[bool, typer.Option("--reject", help="say 'insufficient evidence' rather than answer from "
                                             "the model's own knowledge")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print the answer, citations and evidence as JSON")]
        = False,
        budget: Annotated[int | None, typer.Option(help="context budget in tokens [default: answer.context_tokens]")]
        = None,
        stream: Annotated[bool, typer.Option("--stream/--no-stream", help="print the answer as it is written")] = True,
        llm: LlmOpt = None, index: IndexOpt = None, as_: AsOpt = None,
        transform: Annotated[str | None, typer.Option("--transform", help="query transform (needs an LLM): "
                                                      "none | multi-query | hyde | step-back "
                                                      "[default: answer.transform]")] = None) -> None:
    """Answer QUESTION from the index, citing passages as [1], [2] (extractive when no LLM is configured)."""
    from banyan.settings import load_settings

    if budget is not None and budget <= 0:
        raise typer.BadParameter("--budget must be a positive number of tokens")
    if mode not in ANSWER_MODES:
        raise typer.BadParameter(f"--mode must be one of {', '.join(ANSWER_MODES)}")
    if transform is not None and transform not in TRANSFORMS:
        raise typer.BadParameter(f"--transform must be one of {', '.join(TRANSFORMS)}")
    where: Path = index or load_settings(None).index.dir
    with Banyan(where, {"llm": {"model": llm}} if llm else None, create=False) as bn:
        if as_json or not stream:
            answer = bn.ask(question, mode, budget=budget, reject=reject, transform=transform,
                            access=access_of(as_))
            shown = None
        else:
            parts: list[str] = []
            answer = None
            for item in bn.ask_stream(question, mode, budget=budget, reject=reject, transform=transform,
                                      access=access_of(as_)):
                if isinstance(item, Answer):
                    answer = item
                else:
                    parts.append(item)
                    console.print(item, end="", markup=False, highlight=False, soft_wrap=True)
            assert answer is not None
            shown = "".join(parts)
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer, streamed=shown)
    if answer.error:
        raise typer.Exit(ExitCode.ERROR)
