"""The `banyan` command: a thin layer over the Python API."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar

import typer

from banyan.cli_common import (
    AllowOpt,
    AsOpt,
    EmbedderOpt,
    ExitCode,
    IndexOpt,
    LazyGroup,
    NoGraphOpt,
    NoWaitOpt,
    RichProgress,
    StoreOpt,
    access_of,
    allow_of,
    one_shot,
    stderr,
    stdout,
    subcommand,
    typer_command,
    typer_group,
)
from banyan.cli_common import open_index as _open
from banyan.cli_common import overrides as _overrides
from banyan.errors import BanyanError, IndexBusyError
from banyan.retrieve import MODES

if TYPE_CHECKING:
    from typer._click import Command

    from banyan.types import IndexReport, SearchResult


def _usage() -> Command:
    from banyan.cli_llm import usage

    return typer_command(usage, "usage")


def _ask() -> Command:
    from banyan.cli_answer import ask

    return typer_command(ask, "ask")


def _mcp() -> Command:
    from banyan.cli_mcp import mcp

    return typer_command(mcp, "mcp")


def _server(name: str) -> Command:
    from banyan.cli_server import register

    holder = typer.Typer(add_completion=False)
    register(holder)  # serve, keys
    return subcommand(holder, name)


def _bench() -> Command:
    from banyan.cli_bench import bench_large, bench_qa, bench_scale, bench_serve, bench_suite
    from banyan.cli_cost import bench_cost

    bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print every figure next to same-run baselines.")
    bench_app.command("qa")(bench_qa)
    bench_app.command("cost")(bench_cost)
    bench_app.command("serve")(bench_serve)
    bench_app.command("large")(bench_large)
    bench_app.command("scale")(bench_scale)
    bench_app.command("suite")(bench_suite)
    bench_app.command("retrieval")(bench_retrieval)
    return typer_group(bench_app, "bench")


def _graph(name: str) -> Command:
    from banyan.cli_graph import communities_app, graph_app

    return typer_group(graph_app if name == "graph" else communities_app, name)


def _llm() -> Command:
    from banyan.cli_llm import llm_app

    return typer_group(llm_app, "llm")


def _schema() -> Command:
    from banyan.cli_schema import schema_app

    return typer_group(schema_app, "schema")


class _Commands(LazyGroup):
    """`banyan`: the commands defined here are built with the group; the others (and their modules)
    only when they are run or listed, so `banyan search` pays for no other command."""

    lazy: ClassVar[dict[str, Callable[[], Command]]] = {
        "usage": _usage, "ask": _ask, "mcp": _mcp, "serve": lambda: _server("serve"), "bench": _bench,
        "graph": lambda: _graph("graph"), "communities": lambda: _graph("communities"), "llm": _llm,
        "schema": _schema, "keys": lambda: _server("keys")}
    order = ("usage", "ask", "mcp", "serve", "index", "search", "remove", "status", "quickstart", "bench", "graph",
             "communities", "llm", "schema", "keys")


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True,
                  help="Banyan: GraphRAG for English and Chinese.")
ExtractorOpt = Annotated[str | None, typer.Option(
    "--extractor", help="nlp (default, no LLM) | llm | hybrid (NLP first, the LLM where it adds)")]
LlmOpt = Annotated[str | None, typer.Option("--llm", help="extraction LLM: model name or gguf:PATH")]


def _print_report(report: IndexReport) -> None:
    failed = f", [red]{report.files_failed} failed[/]" if report.files_failed else ", 0 failed"
    stdout().print(
        f"[green]indexed[/] {report.files_indexed} files, {report.files_unchanged} unchanged{failed}: "
        f"+{report.documents_added} documents, -{report.documents_removed} removed, "
        f"+{report.chunks_added} chunks, {report.chunks_embedded} embedded"
    )
    times = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(report.seconds.items()))
    stdout().print(f"[dim]time: {times}[/]")
    for note in report.notes:
        stdout().print(f"[dim]note:[/] {note}", highlight=False, soft_wrap=True)
    for failure in report.failures:
        stderr().print(f"[red]failed[/] {failure}", highlight=False, soft_wrap=True)


def _print_results(query: str, results: list[SearchResult]) -> None:
    stdout().print(f"\n[bold]{query}[/]")
    if not results:
        stdout().print("  (no results)")
    for r in results:
        text = " ".join(r.text.split())
        stdout().print(f"  [cyan]{r.rank}.[/] [bold]{r.citation.label()}[/] "
                      f"[dim]score {r.score:.4f} via {'+'.join(r.routes)}[/]", highlight=False)
        stdout().print(f"     {text[:220]}{'…' if len(text) > 220 else ''}", highlight=False)


@app.command()
def index(paths: Annotated[list[Path] | None, typer.Argument(help="files and folders to index")] = None,
          index: IndexOpt = None, embedder: EmbedderOpt = None, no_graph: NoGraphOpt = False,
          no_wait: NoWaitOpt = False, extractor: ExtractorOpt = None, llm: LlmOpt = None,
          allow: AllowOpt = None, store: StoreOpt = None) -> None:
    """Index files and folders (.txt .md .json .jsonl .pdf .docx .html). Unchanged files are skipped;
    with no paths, finishes what an interrupted run left undone. Exit code 3 if any file failed."""
    with _open(index, embedder, no_graph, create=True, extra={
            **({"graph": {"extractor": extractor}} if extractor else {}),
            **({"llm": {"model": llm}} if llm else {})}, store=store) as bn:
        report = bn.index(paths or [], progress=RichProgress(), wait=not no_wait, allow=allow_of(allow))
    _print_report(report)
    if report.failures:
        raise typer.Exit(ExitCode.PARTIAL)


@app.command()
def search(query: str, mode: Annotated[str | None, typer.Option(help=f"{' | '.join(MODES)}")] = None,
           k: Annotated[int | None, typer.Option("--k", "-k", help="number of passages")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
           index: IndexOpt = None, as_: AsOpt = None) -> None:
    """Ranked, cited passages for QUERY."""
    with one_shot(), _open(index) as bn:
        results = bn.search(query, mode=mode, k=k, access=access_of(as_))  # type: ignore[arg-type]
    if as_json:
        print(json.dumps({"query": query, "results": [r.to_dict() for r in results]}, ensure_ascii=False, indent=2))
    else:
        _print_results(query, results)


@app.command()
def remove(path: Path, index: IndexOpt = None, no_wait: NoWaitOpt = False) -> None:
    """Remove an indexed file (or every indexed file under a folder) and everything derived from it."""
    with _open(index) as bn:
        n = bn.remove(path, wait=not no_wait)
    stdout().print(f"removed {path} ({n} documents)")


@app.command()
def status(index: IndexOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What the index holds."""
    from rich.table import Table

    with _open(index) as bn:
        s = bn.stats()
        pending = bn.pending()
        info = {"index": str(bn.index_dir.resolve()), "files": s.files, "documents": s.documents,
                "chunks": s.chunks, "languages": s.languages, "embeddings": s.embeddings,
                "embedder": bn.settings.embedding.backend, "default_mode": bn.settings.retrieval.default_mode,
                "graph_walk": bn.graph_walk(),
                "writer": pending.writer, "incomplete": pending.incomplete(bn.settings.graph.enabled),
                "failed_chunks": [f.to_dict() for f in bn.failed_chunks(None)]}
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return
    incomplete = info.pop("incomplete")
    failed = info.pop("failed_chunks")
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        table.add_row(f"[bold]{key}", str(value))
    stdout().print(table)
    for line in incomplete:
        stdout().print(f"[yellow]incomplete:[/] {line}", highlight=False)
    for f in failed[:20]:
        stdout().print(f"[red]extraction failed:[/] {f['title']} (chunk {f['chunk_id']}, {f['attempts']} attempts): "
                      f"{f['error']}", highlight=False)
    if len(failed) > 20:
        stdout().print(f"... {len(failed) - 20} more failed chunks (`banyan status --json` lists all)")
    if incomplete:
        stdout().print("finish with `banyan index" + (f" --index {index}`" if index else "`")
                      + (" (a writer is running now: it will finish them)" if info["writer"] else ""))


SAMPLE_QUESTION = "Who designed the Lumen Bridge, and where did she study?"
SAMPLE_QUERIES = [
    "Who designed the Lumen Bridge?",
    "Where was the founder of the company that built the Lumen Bridge born?",
    "青石桥的设计者毕业于哪所大学？",
]


def sample_corpus_dir() -> Path:
    from importlib import resources

    return Path(str(resources.files("banyan") / "sample"))


@app.command()
def quickstart(index: IndexOpt = None, embedder: EmbedderOpt = None) -> None:
    """Index the bundled sample corpus (English and Chinese), run a few searches and answer a question."""
    import tempfile

    from banyan.api import Banyan
    from banyan.cli_answer import print_answer

    directory = index or Path(tempfile.mkdtemp(prefix="banyan-quickstart-"))
    stdout().print(f"[bold]Banyan quickstart[/]: indexing the sample corpus into {directory}")
    with Banyan(directory, _overrides(embedder)) as bn:
        _print_report(bn.index([sample_corpus_dir()], progress=RichProgress()))
        for q in SAMPLE_QUERIES:
            _print_results(q, bn.search(q, k=3))
        stdout().print(f"\n[bold]banyan ask[/] \"{SAMPLE_QUESTION}\"")
        print_answer(bn.ask(SAMPLE_QUESTION))
    stdout().print(f"\nTry: banyan search \"who founded Harrow & Vale?\" --index {directory}")


def bench_retrieval(
    data: Annotated[Path, typer.Option(help="folder with corpus.jsonl (normalized format)")],
    questions: Annotated[Path, typer.Option(help="question file (path, or name inside --data)")],
    limit: Annotated[int | None, typer.Option(help="first N questions")] = None,
    modes: Annotated[str, typer.Option(help="comma-separated modes")] = (
        "dense,bm25,hybrid,graph,hybrid+graph,hybrid+facts,hybrid+ppr,auto"),
    json_out: Annotated[Path | None, typer.Option("--json", help="write results as JSON")] = None,
    index: IndexOpt = None, embedder: EmbedderOpt = None, no_graph: NoGraphOpt = False,
    compare_embedder: Annotated[str | None, typer.Option(help="also score dense with this embedder backend")] = None,
    lowercase: Annotated[bool, typer.Option(help="ask every question in lower case, as people often type")] = False,
) -> None:
    """Passage recall@2/5/10, latency and per-stage index time for each mode, in one run."""
    import tempfile

    from banyan.eval.bench import run_retrieval_bench
    from banyan.eval.report import print_bench
    from banyan.retrieve.search import needs_graph
    from banyan.settings import RetrievalSettings

    mode_list = [m.strip() for m in modes.split(",") if m.strip()]
    if no_graph:
        cfg = RetrievalSettings()
        mode_list = [m for m in mode_list if not needs_graph(m, cfg)]
    with tempfile.TemporaryDirectory(prefix="banyan-bench-") as tmp:
        result = run_retrieval_bench(data, questions, mode_list, index or Path(tmp) / "main", limit,  # type: ignore[arg-type]
                                     _overrides(embedder, no_graph), RichProgress(), lowercase)
        if compare_embedder:
            ref = run_retrieval_bench(data, questions, ["dense"], Path(tmp) / "compare", limit,
                                      _overrides(compare_embedder, no_graph=True), RichProgress(), lowercase)
            result["compare"] = {"embedder": ref["embedder"], "passages_per_second": ref["passages_per_second"],
                                 "dense": ref["modes"]["dense"], "index_seconds": ref["index_seconds"]}
    print_bench(stdout(), result)
    if json_out:
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        stdout().print(f"wrote {json_out}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except IndexBusyError as exc:
        stderr().print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(ExitCode.BUSY)
    except BanyanError as exc:
        stderr().print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(ExitCode.ERROR)
    except ValueError as exc:
        stderr().print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(ExitCode.USAGE)


if __name__ == "__main__":
    main()
