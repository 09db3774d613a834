"""The `banyan` command: a thin layer over the Python API."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from banyan.api import Banyan
from banyan.cli_common import EmbedderOpt, IndexOpt, NoGraphOpt, RichProgress, console, err
from banyan.cli_common import open_index as _open
from banyan.cli_common import overrides as _overrides
from banyan.cli_graph import communities_app, graph_app
from banyan.cli_llm import llm_app, usage
from banyan.errors import BanyanError
from banyan.retrieve import MODES
from banyan.types import IndexReport, SearchResult

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Banyan: GraphRAG for English and Chinese.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print every figure next to same-run baselines.")
app.add_typer(bench_app, name="bench")
app.add_typer(graph_app, name="graph")
app.add_typer(communities_app, name="communities")
app.add_typer(llm_app, name="llm")
app.command()(usage)


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
def search(query: str, mode: Annotated[str | None, typer.Option(help=f"{' | '.join(MODES)}")] = None,
           k: Annotated[int | None, typer.Option("--k", "-k", help="number of passages")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
           index: IndexOpt = None) -> None:
    """Ranked, cited passages for QUERY."""
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



@bench_app.command("retrieval")
def bench_retrieval(
    data: Annotated[Path, typer.Option(help="folder with corpus.jsonl (normalized format)")],
    questions: Annotated[Path, typer.Option(help="question file (path, or name inside --data)")],
    limit: Annotated[int | None, typer.Option(help="first N questions")] = None,
    modes: Annotated[str, typer.Option(help="comma-separated modes")] = "dense,bm25,hybrid,graph,hybrid+graph,auto",
    json_out: Annotated[Path | None, typer.Option("--json", help="write results as JSON")] = None,
    index: IndexOpt = None, embedder: EmbedderOpt = None, no_graph: NoGraphOpt = False,
    compare_embedder: Annotated[str | None, typer.Option(help="also score dense with this embedder backend")] = None,
) -> None:
    """Passage recall@2/5/10, latency and per-stage index time for each mode, in one run."""
    from banyan.eval.bench import run_retrieval_bench
    from banyan.eval.report import print_bench

    mode_list = [m.strip() for m in modes.split(",") if m.strip()]
    if no_graph:
        mode_list = [m for m in mode_list if m not in ("graph", "hybrid+graph")]
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
