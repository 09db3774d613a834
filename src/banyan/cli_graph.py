"""`banyan graph ...` and `banyan communities ...`: inspect, export and organize the knowledge graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from banyan.cli_common import AsOpt, IndexOpt, access_of, console, err
from banyan.cli_common import open_index as _open

graph_app = typer.Typer(no_args_is_help=True, help="The knowledge graph: statistics, entities, export.")
communities_app = typer.Typer(no_args_is_help=True, help="Communities of the knowledge graph (no LLM).")


@graph_app.command("stats")
def graph_stats(index: IndexOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Entities, triples, attributes and merges, by type."""
    with _open(index) as bn:
        info = bn.graph_stats()
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return
    for key, value in info.items():
        console.print(f"[bold]{key:<16}[/] {value}", highlight=False)


@graph_app.command("show")
def graph_show(entity: str, index: IndexOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False,
               as_: AsOpt = None) -> None:
    """An entity: type, aliases, relations, attributes and the chunks it comes from."""
    with _open(index) as bn:
        view = bn.entity(entity, access=access_of(as_))
    if as_json:
        print(json.dumps(view.to_dict(), ensure_ascii=False, indent=2))
        return
    e = view.entity
    console.print(f"[bold]{escape(e.name)}[/] ({e.type}), in {e.n_chunks} chunks; aliases: {', '.join(view.aliases)}",
                  highlight=False)
    for r in view.relations:
        console.print(escape(f"  {r.head} —[{r.phrase}]→ {r.tail}  ") + f"[dim]{r.type}[/]", highlight=False)
    for a in view.attributes:
        console.print(escape(f"  {a.key} = {a.value}"), highlight=False)
    console.print("[bold]from:[/]")
    for p in view.provenance:
        console.print(f"  {'*' if p.topic else ' '} {escape(p.title)}  [dim]{escape(p.source)} {p.chunk_id}[/]",
                      highlight=False)


@graph_app.command("unmerge")
def graph_unmerge(a: str, b: str, index: IndexOpt = None) -> None:
    """Undo a merge: keep the names A and B apart from now on, and re-resolve entities."""
    with _open(index) as bn:
        separate = bn.unmerge(a, b)
    console.print(f"{a!r} and {b!r} are {'now separate' if separate else 'still one entity (linked through another name)'}",
                  highlight=False)


@graph_app.command("export")
def graph_export(out: Annotated[Path, typer.Argument(help="file (graphml) or folder (neo4j-csv)")],
                 format: Annotated[str, typer.Option("--format", help="graphml | neo4j-csv")] = "graphml",
                 index: IndexOpt = None) -> None:
    """Write the graph as GraphML or as neo4j-admin import CSV files."""
    with _open(index) as bn:
        rep = bn.export_graph(out, format)
    console.print(f"wrote {rep.entities} entities and {rep.relations} relations to {rep.path}")


@communities_app.command("build")
def communities_build(
    index: IndexOpt = None,
    llm_reports: Annotated[bool, typer.Option("--llm-reports", help="also write LLM summaries (needs an LLM)")] = False,
    llm: Annotated[str | None, typer.Option("--llm", help="model name or gguf:PATH")] = None,
    max_reports: Annotated[int, typer.Option(help="LLM summaries for at most this many largest communities")] = 100,
    communities: Annotated[str, typer.Option("--communities", help="dual (default) | leiden")] = "dual",
) -> None:
    """Detect communities (dual perception) and store them with keywords and extractive reports."""
    with _open(index) as bn:
        rep = bn.build_communities(communities, llm_reports=llm_reports, llm_model=llm, max_reports=max_reports)
    if llm_reports:
        console.print(f"LLM summaries: {rep.llm_written} written, {rep.llm_failed} failed (see `banyan usage`)")
        for e in rep.errors:
            err.print(f"  [yellow]failed:[/] {escape(e)}", highlight=False)
    console.print(f"stored {rep.communities} communities over {rep.levels} levels")


@communities_app.command("list")
def communities_list(index: IndexOpt = None, level: Annotated[int | None, typer.Option()] = None,
                     limit: Annotated[int, typer.Option()] = 30,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Stored communities, largest first (run `banyan communities build` first)."""
    with _open(index) as bn:
        found = bn.communities(level, limit)
    if as_json:
        print(json.dumps([{"id": c.id, "level": c.level, "parent": c.parent, "size": c.size, "title": c.title}
                          for c in found], ensure_ascii=False, indent=2))
        return
    for c in found:
        console.print(f"{c.id[:10]}  level {c.level}  {c.size:>5} members  {escape(c.title)}", highlight=False)


@communities_app.command("show")
def communities_show(community_id: str, index: IndexOpt = None,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One community: keywords, members and its extractive report with citations."""
    with _open(index) as bn:
        c = bn.community(community_id)
    if as_json:
        print(json.dumps(c.to_dict(), ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]{escape(c.title)}[/] (level {c.level}, {c.size} members)")
    console.print("keywords: " + escape(", ".join(c.keywords)), highlight=False)
    if c.report.llm_summary:
        console.print(escape(f"{c.report.llm_title}: {c.report.llm_summary}"), highlight=False)
    for ev in c.report.evidence:
        console.print(f"  [{ev.chunk_id}] " + escape(ev.text), highlight=False)


@communities_app.command("compare")
def communities_compare(index: IndexOpt = None,
                        json_out: Annotated[Path | None, typer.Option("--json", help="write results as JSON")] = None
                        ) -> None:
    """Dual-perception vs Leiden on this index's graph: levels, sizes, modularity, coherence, time."""
    with _open(index) as bn:
        result = bn.compare_communities()
    for name, r in result.items():
        console.print(f"[bold]{name}[/]: {r['seconds']}s; communities per level {r['n_communities']}", highlight=False)
        console.print(f"  modularity {r['modularity']}", highlight=False)
        console.print(f"  coherence  {r['coherence']} (random grouping of the same sizes: {r['random_coherence']})",
                      highlight=False)
        console.print(f"  top-level sizes {r['sizes']}", highlight=False)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2), encoding="utf-8")
        console.print(f"wrote {json_out}")

