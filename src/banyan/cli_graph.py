"""`banyan graph ...` and `banyan communities ...`: inspect, export and organize the knowledge graph."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from banyan.cli_common import IndexOpt, console
from banyan.cli_common import open_index as _open
from banyan.errors import BanyanError

graph_app = typer.Typer(no_args_is_help=True, help="The knowledge graph: statistics, entities, export.")
communities_app = typer.Typer(no_args_is_help=True, help="Communities of the knowledge graph (no LLM).")


@graph_app.command("stats")
def graph_stats(index: IndexOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Entities, triples, attributes and merges, by type."""
    with _open(index) as bn:
        info = bn.store.graph_stats()
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return
    for key, value in info.items():
        console.print(f"[bold]{key:<16}[/] {value}", highlight=False)


@graph_app.command("show")
def graph_show(entity: str, index: IndexOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """An entity: type, aliases, relations, attributes and the chunks it comes from."""
    from banyan.extract.base import normalize_name

    with _open(index) as bn:
        st = bn.store
        found = st.find_entity(normalize_name(entity))
        if found is None:
            raise BanyanError(f"no entity named {entity!r} in {bn.index_dir}; try `banyan graph stats` or a search")
        eid, name, kind, n_chunks = found
        norms = st.entity_norms(eid)
        info = {
            "id": eid, "name": name, "type": kind, "chunks": n_chunks, "aliases": norms,
            "relations": [{"head": h, "phrase": p, "tail": t, "type": ty, "chunk_id": c}
                          for h, p, t, ty, c in st.triples_of(norms)],
            "attributes": [{"key": k, "value": v, "chunk_id": c} for k, v, c in st.attributes_of(norms)],
            "provenance": [{"chunk_id": c, "title": ti, "source": so, "topic": bool(tp)}
                           for c, ti, so, tp in st.provenance_of(norms)],
        }
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]{name}[/] ({kind}), in {n_chunks} chunks; aliases: {', '.join(norms)}", highlight=False)
    for r in info["relations"]:
        console.print(escape(f"  {r['head']} —[{r['phrase']}]→ {r['tail']}  ") + f"[dim]{r['type']}[/]",
                      highlight=False)
    for a in info["attributes"]:
        console.print(f"  {a['key']} = {a['value']}", highlight=False)
    console.print("[bold]from:[/]")
    for p in info["provenance"]:
        console.print(f"  {'*' if p['topic'] else ' '} {p['title']}  [dim]{p['source']} {p['chunk_id']}[/]", highlight=False)


@graph_app.command("unmerge")
def graph_unmerge(a: str, b: str, index: IndexOpt = None) -> None:
    """Undo a merge: keep the names A and B apart from now on, and re-resolve entities."""
    from banyan.extract.base import normalize_name

    with _open(index) as bn:
        na, nb = normalize_name(a), normalize_name(b)
        for name, norm in ((a, na), (b, nb)):
            if bn.store.find_entity(norm) is None:
                raise BanyanError(f"no entity named {name!r} in {bn.index_dir}")
        bn.store.add_keep_apart(na, nb)
        bn.build_graph()
        ea, eb = bn.store.find_entity(na), bn.store.find_entity(nb)
    same = ea is not None and eb is not None and ea[0] == eb[0]
    console.print(f"{a!r} and {b!r} are {'still one entity (linked through another name)' if same else 'now separate'}",
                  highlight=False)


@graph_app.command("export")
def graph_export(out: Annotated[Path, typer.Argument(help="file (graphml) or folder (neo4j-csv)")],
                 format: Annotated[str, typer.Option("--format", help="graphml | neo4j-csv")] = "graphml",
                 index: IndexOpt = None) -> None:
    """Write the graph as GraphML or as neo4j-admin import CSV files."""
    from banyan.graph.export import export_graphml, export_neo4j_csv

    if format not in ("graphml", "neo4j-csv"):
        raise BanyanError(f"unknown format {format!r}; choose graphml or neo4j-csv")
    with _open(index) as bn:
        n, m = export_graphml(bn.store, out) if format == "graphml" else export_neo4j_csv(bn.store, out)
    console.print(f"wrote {n} entities and {m} relations to {out}")


@communities_app.command("build")
def communities_build(
    index: IndexOpt = None,
    llm_reports: Annotated[bool, typer.Option("--llm-reports", help="also write LLM summaries (needs an LLM)")] = False,
    llm: Annotated[Optional[str], typer.Option("--llm", help="model name or gguf:PATH")] = None,
    max_reports: Annotated[int, typer.Option(help="LLM summaries for at most this many largest communities")] = 100,
    communities: Annotated[str, typer.Option("--communities", help="dual (default) | leiden")] = "dual",
) -> None:
    """Detect communities (dual perception) and store them with keywords and extractive reports."""
    from banyan.graph.communities import dual_perception, entity_graph, leiden, params_from, semantic_vectors
    from banyan.graph.tree import build_tree

    with _open(index) as bn:
        kg = bn.graph().kg
        adj = entity_graph(kg)
        vecs = semantic_vectors(adj, kg.entity_vectors)
        if communities not in ("dual", "leiden"):
            raise BanyanError(f"unknown community algorithm {communities!r}; choose dual or leiden")
        levels = (dual_perception(adj, vecs, params_from(bn.settings.communities)) if communities == "dual"
                  else [leiden(adj, seed=bn.settings.communities.seed)])
        texts = {cid: text for cid, (_, text) in bn.store.citations(
            [kg.chunk_node(h) for hs in kg.home.values() for h in hs]).items()}
        tree = build_tree(kg, adj, vecs, levels, texts)
        reports = {c.id: c.report for c in tree}
        if llm_reports:
            from banyan.graph.reports import summarize, with_summary
            from banyan.llm import build_llm

            cfg = bn.settings.llm.model_copy(update={"model": llm}) if llm else bn.settings.llm
            stack = build_llm(cfg, bn.index_dir)
            chosen = sorted(tree, key=lambda c: -len(c.members))[:max_reports]
            results = summarize(stack.llm, chosen, concurrency=cfg.max_concurrency)
            for c, r in zip(chosen, results):
                reports[c.id] = with_summary(c, r)
            failed = sum(not r.ok for r in results)
            console.print(f"LLM summaries: {len(results) - failed} written, {failed} failed (see `banyan usage`)")
        bn.store.replace_communities(
            [(c.id, c.level, c.parent, len(c.members), c.title, json.dumps(c.keywords, ensure_ascii=False),
              reports[c.id]) for c in tree],
            [(c.id, kg.entity_ids[m]) for c in tree for m in c.members],
            f"{bn.store.resolved_version() or ''}@{time.time():.3f}",
        )
    console.print(f"stored {len(tree)} communities over {len(levels)} levels")


@communities_app.command("list")
def communities_list(index: IndexOpt = None, level: Annotated[Optional[int], typer.Option()] = None,
                     limit: Annotated[int, typer.Option()] = 30,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Stored communities, largest first (run `banyan communities build` first)."""
    with _open(index) as bn:
        rows = bn.store.list_communities(level, limit)
    if not rows:
        raise BanyanError("no communities stored: run `banyan communities build`")
    if as_json:
        print(json.dumps([{"id": c, "level": lv, "parent": p, "size": n, "title": t} for c, lv, p, n, t in rows],
                         ensure_ascii=False, indent=2))
        return
    for cid, lv, _, size, title in rows:
        console.print(f"{cid[:10]}  level {lv}  {size:>5} members  {escape(title)}", highlight=False)


@communities_app.command("show")
def communities_show(community_id: str, index: IndexOpt = None,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One community: keywords, members and its extractive report with citations."""
    with _open(index) as bn:
        info = bn.store.get_community(community_id)
    if info is None:
        raise BanyanError(f"no community {community_id!r}; see `banyan communities list`")
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]{escape(str(info['title']))}[/] (level {info['level']}, {info['size']} members)")
    console.print("keywords: " + escape(", ".join(info["keywords"])), highlight=False)  # type: ignore[arg-type]
    report = info["report"]
    if "llm_summary" in report:  # type: ignore[operator]
        console.print(escape(f"{report['llm_title']}: {report['llm_summary']}"), highlight=False)  # type: ignore[index]
    for ev in info["report"]["evidence"]:  # type: ignore[index]
        console.print(f"  [{ev['chunk_id']}] " + escape(ev["text"]), highlight=False)


@communities_app.command("compare")
def communities_compare(index: IndexOpt = None,
                        json_out: Annotated[Optional[Path], typer.Option("--json", help="write results as JSON")] = None
                        ) -> None:
    """Dual-perception vs Leiden on this index's graph: levels, sizes, modularity, coherence, time."""
    from banyan.graph.communities import compare, entity_graph, params_from

    with _open(index) as bn:
        kg = bn.graph().kg
        result = compare(entity_graph(kg), kg.entity_vectors, params_from(bn.settings.communities))
    for name, r in result.items():
        console.print(f"[bold]{name}[/]: {r['seconds']}s; communities per level {r['n_communities']}", highlight=False)
        console.print(f"  modularity {r['modularity']}", highlight=False)
        console.print(f"  coherence  {r['coherence']} (random grouping of the same sizes: {r['random_coherence']})",
                      highlight=False)
        console.print(f"  top-level sizes {r['sizes']}", highlight=False)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2), encoding="utf-8")
        console.print(f"wrote {json_out}")

