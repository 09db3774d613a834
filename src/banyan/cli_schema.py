"""`banyan schema ...`: types the LLM proposed, accepting or rejecting them, the effective schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from banyan.cli_common import IndexOpt, console
from banyan.cli_common import open_index as _open

schema_app = typer.Typer(no_args_is_help=True, help="Adaptive schema expansion: proposed types, accept or reject.")

KindOpt = Annotated[str | None, typer.Option("--kind", help="entity | relation (when a name is proposed as both)")]


@schema_app.command("proposals")
def proposals(index: IndexOpt = None,
              include_all: Annotated[bool, typer.Option("--all", help="also those below the threshold, and "
                                                                      "accepted or rejected ones")] = False,
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Entity and relation types the LLM proposed, with the number of chunks supporting each."""
    with _open(index) as bn:
        found = bn.schema_proposals(include_all=include_all)
        threshold = bn.settings.graph.proposal_min_chunks
    if as_json:
        print(json.dumps([p.to_dict() for p in found], ensure_ascii=False, indent=2))
        return
    if not found:
        console.print(f"no proposed type is supported by {threshold} chunks yet (graph.proposal_min_chunks); "
                      "`--all` shows every proposal")
        return
    for p in found:
        examples = "; ".join(p.examples)
        console.print(f"{p.kind:<8} [bold]{escape(p.name)}[/]  {p.n_chunks} chunks  {p.status}  "
                      f"[dim]{escape(p.description or examples)}[/]", highlight=False)
    console.print("accept with `banyan schema accept NAME` (applies from the next `banyan index`)")


def _decide(name: str, status: str, index: Path | None, kind: str | None, description: str | None) -> None:
    with _open(index) as bn:
        p = bn.decide_type(name, status, kind=kind, description=description)
    console.print(f"{p.kind} type [bold]{escape(p.name)}[/] is {p.status}"
                  + (": it applies from the next `banyan index`, which re-extracts every chunk with it"
                     if p.status == "accepted" else ""), highlight=False)


@schema_app.command("accept")
def accept(name: str, index: IndexOpt = None, kind: KindOpt = None,
           description: Annotated[str | None, typer.Option(help="the type's description (default: from "
                                                                "its name and examples)")] = None) -> None:
    """Accept a proposed type: it joins this index's schema from the next run (the schema file is not changed)."""
    _decide(name, "accepted", index, kind, description)


@schema_app.command("reject")
def reject(name: str, index: IndexOpt = None, kind: KindOpt = None) -> None:
    """Reject a proposed type: it is no longer listed."""
    _decide(name, "rejected", index, kind, None)


@schema_app.command("export")
def export(out: Annotated[Path, typer.Argument(help="a new JSON file")], index: IndexOpt = None) -> None:
    """Write the effective schema (the schema file plus accepted types) to a new file."""
    with _open(index) as bn:
        path = bn.export_schema(out)
    console.print(f"wrote {path}; use it with graph.schema_path")
