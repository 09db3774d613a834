"""The `banyan` command: a thin layer over the Python API."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from banyan.api import Banyan
from banyan.errors import BanyanError
from banyan.retrieve import MODES
from banyan.types import IndexReport, SearchResult

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Banyan: GraphRAG for English and Chinese.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print every figure next to same-run baselines.")
app.add_typer(bench_app, name="bench")
graph_app = typer.Typer(no_args_is_help=True, help="The knowledge graph: statistics, entities, export.")
app.add_typer(graph_app, name="graph")
communities_app = typer.Typer(no_args_is_help=True, help="Communities of the knowledge graph (no LLM).")
app.add_typer(communities_app, name="communities")
llm_app = typer.Typer(no_args_is_help=True, help="The LLM connection: check it, see what it cost.")
app.add_typer(llm_app, name="llm")
console = Console()
err = Console(stderr=True)

IndexOpt = Annotated[Optional[Path], typer.Option("--index", "-i", help="index directory [default: ./.banyan]")]
NoGraphOpt = Annotated[bool, typer.Option("--no-graph", help="skip the knowledge graph (graph modes unavailable)")]
EmbedderOpt = Annotated[
    Optional[str], typer.Option("--embedder", help="onnx (default) | e5 (multilingual) | sentence-transformers | openai | hash")
]


class RichProgress:
    """Progress bars on stderr for the indexing stages."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task: Any = None

    def start(self, stage: str, total: int) -> None:
        self.done()
        self._bar = Progress(TextColumn(f"[bold]{stage:<7}"), BarColumn(), MofNCompleteColumn(),
                             TimeRemainingColumn(), console=err, transient=False)
        self._bar.start()
        self._task = self._bar.add_task(stage, total=total)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def done(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _overrides(embedder: str | None, no_graph: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"embedding": {"backend": embedder}} if embedder else {}
    if no_graph:
        out["graph"] = {"enabled": False}
    return out


def _open(index: Path | None, embedder: str | None = None, no_graph: bool = False) -> Banyan:
    from banyan.settings import load_settings

    return Banyan(index or load_settings(None).index.dir, _overrides(embedder, no_graph))


def _print_report(report: IndexReport) -> None:
    console.print(
        f"[green]indexed[/] {report.files_seen} files ({report.files_unchanged} unchanged): "
        f"+{report.documents_added} documents, -{report.documents_removed} removed, "
        f"+{report.chunks_added} chunks, {report.chunks_embedded} embedded"
    )
    times = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(report.seconds.items()))
    console.print(f"[dim]time: {times}[/]")
    for failure in report.failures:
        err.print(f"[yellow]skipped[/] {failure}", highlight=False, soft_wrap=True)


def _print_results(query: str, results: list[SearchResult]) -> None:
    console.print(f"\n[bold]{query}[/]")
    if not results:
        console.print("  (no results)")
    for r in results:
        text = " ".join(r.text.split())
        console.print(f"  [cyan]{r.rank}.[/] [bold]{r.citation.label()}[/] "
                      f"[dim]score {r.score:.4f} via {'+'.join(r.routes)}[/]", highlight=False)
        console.print(f"     {text[:220]}{'…' if len(text) > 220 else ''}", highlight=False)


@app.command()
def index(paths: Annotated[list[Path], typer.Argument(help="files and folders to index")],
          index: IndexOpt = None, embedder: EmbedderOpt = None, no_graph: NoGraphOpt = False) -> None:
    """Index files and folders (.txt .md .json .jsonl .pdf .docx .html). Unchanged files are skipped."""
    with _open(index, embedder, no_graph) as bn:
        report = bn.index(paths, progress=RichProgress())
    _print_report(report)


@app.command()
def search(query: str, mode: Annotated[Optional[str], typer.Option(help=f"{' | '.join(MODES)}")] = None,
           k: Annotated[Optional[int], typer.Option("--k", "-k", help="number of passages")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
           index: IndexOpt = None) -> None:
    """Ranked, cited passages for QUERY."""
    if mode is not None and mode not in MODES:
        raise BanyanError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    with _open(index) as bn:
        results = bn.search(query, mode=mode, k=k)  # type: ignore[arg-type]
    if as_json:
        print(json.dumps({"query": query, "results": [r.to_dict() for r in results]}, ensure_ascii=False, indent=2))
    else:
        _print_results(query, results)


@app.command()
def remove(path: Path, index: IndexOpt = None) -> None:
    """Remove an indexed file and everything derived from it."""
    with _open(index) as bn:
        n = bn.remove(path)
    console.print(f"removed {path} ({n} documents)")


@app.command()
def status(index: IndexOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What the index holds."""
    with _open(index) as bn:
        s = bn.stats()
        info = {"index": str(bn.index_dir.resolve()), "files": s.files, "documents": s.documents,
                "chunks": s.chunks, "languages": s.languages, "embeddings": s.embeddings,
                "embedder": bn.settings.embedding.backend, "default_mode": bn.settings.retrieval.default_mode}
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        table.add_row(f"[bold]{key}", str(value))
    console.print(table)


SAMPLE_QUERIES = [
    "Who designed the Lumen Bridge?",
    "Where was the founder of the company that built the Lumen Bridge born?",
    "青石桥的设计者毕业于哪所大学？",
]


def sample_corpus_dir() -> Path:
    return Path(str(resources.files("banyan") / "sample"))


@app.command()
def quickstart(index: IndexOpt = None, embedder: EmbedderOpt = None) -> None:
    """Index the bundled sample corpus (English and Chinese) and run a few searches."""
    directory = index or Path(tempfile.mkdtemp(prefix="banyan-quickstart-"))
    console.print(f"[bold]Banyan quickstart[/]: indexing the sample corpus into {directory}")
    with Banyan(directory, _overrides(embedder)) as bn:
        _print_report(bn.index([sample_corpus_dir()], progress=RichProgress()))
        for q in SAMPLE_QUERIES:
            _print_results(q, bn.search(q, k=3))
    console.print(f"\nTry: banyan search \"who founded Harrow & Vale?\" --index {directory}")


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
def communities_build(index: IndexOpt = None) -> None:
    """Detect communities (dual perception) and store them with keywords and extractive reports."""
    from banyan.graph.communities import dual_perception, entity_graph, params_from, semantic_vectors
    from banyan.graph.tree import build_tree

    with _open(index) as bn:
        kg = bn.graph().kg
        adj = entity_graph(kg)
        vecs = semantic_vectors(adj, kg.entity_vectors)
        levels = dual_perception(adj, vecs, params_from(bn.settings.communities))
        texts = {cid: text for cid, (_, text) in bn.store.citations(
            [kg.chunk_node(h) for hs in kg.home.values() for h in hs]).items()}
        tree = build_tree(kg, adj, vecs, levels, texts)
        bn.store.replace_communities(
            [(c.id, c.level, c.parent, len(c.members), c.title, json.dumps(c.keywords, ensure_ascii=False), c.report)
             for c in tree],
            [(c.id, kg.entity_ids[m]) for c in tree for m in c.members],
            bn.store.resolved_version() or "",
        )
    console.print(f"stored {len(tree)} communities over {len(levels)} levels")


@communities_app.command("list")
def communities_list(index: IndexOpt = None, level: Annotated[Optional[int], typer.Option()] = None,
                     limit: Annotated[int, typer.Option()] = 30) -> None:
    """Stored communities, largest first (run `banyan communities build` first)."""
    with _open(index) as bn:
        rows = bn.store.list_communities(level, limit)
    if not rows:
        raise BanyanError("no communities stored: run `banyan communities build`")
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


LlmOpt = Annotated[Optional[str], typer.Option("--llm", help="model name (OpenAI-compatible) or gguf:PATH")]


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


@app.command()
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


@bench_app.command("retrieval")
def bench_retrieval(
    data: Annotated[Path, typer.Option(help="folder with corpus.jsonl (normalized format)")],
    questions: Annotated[Path, typer.Option(help="question file (path, or name inside --data)")],
    limit: Annotated[Optional[int], typer.Option(help="first N questions")] = None,
    modes: Annotated[str, typer.Option(help="comma-separated modes")] = "dense,bm25,hybrid,graph,hybrid+graph,auto",
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write results as JSON")] = None,
    index: IndexOpt = None, embedder: EmbedderOpt = None, no_graph: NoGraphOpt = False,
    compare_embedder: Annotated[Optional[str], typer.Option(help="also score dense with this embedder backend")] = None,
) -> None:
    """Passage recall@2/5/10, latency and per-stage index time for each mode, in one run."""
    from banyan.eval.bench import run_retrieval_bench
    from banyan.eval.report import print_bench

    mode_list = [m.strip() for m in modes.split(",") if m.strip()]
    if no_graph:
        mode_list = [m for m in mode_list if m not in ("graph", "hybrid+graph")]
    bad = [m for m in mode_list if m not in MODES]
    if bad:
        raise BanyanError(f"unknown mode(s) {', '.join(bad)}; choose from {', '.join(MODES)}")
    with tempfile.TemporaryDirectory(prefix="banyan-bench-") as tmp:
        result = run_retrieval_bench(data, questions, mode_list, index or Path(tmp) / "main", limit,  # type: ignore[arg-type]
                                     _overrides(embedder, no_graph), RichProgress())
        if compare_embedder:
            ref = run_retrieval_bench(data, questions, ["dense"], Path(tmp) / "compare", limit,
                                      _overrides(compare_embedder, no_graph=True), RichProgress())
            result["compare"] = {"embedder": ref["embedder"], "passages_per_second": ref["passages_per_second"],
                                 "dense": ref["modes"]["dense"], "index_seconds": ref["index_seconds"]}
    print_bench(console, result)
    if json_out:
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"wrote {json_out}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except BanyanError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
