"""`banyan bench qa` (answer quality of every mode on a QA data set) and `banyan bench serve` (the REST
server under concurrent load), each in one run."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from banyan.cli_common import EmbedderOpt, IndexOpt, NoGraphOpt, RichProgress, console
from banyan.cli_common import overrides as _overrides

if TYPE_CHECKING:
    from banyan.eval.scale_bench import ScaleBenchResult
    from banyan.eval.serve_bench import ServeBenchResult


def bench_qa(
    data: Annotated[Path, typer.Option(help="folder with corpus.jsonl (normalized format)")],
    questions: Annotated[Path, typer.Option(help="question file with answers (path, or name inside --data)")],
    modes: Annotated[str, typer.Option(help="comma-separated answer modes (auto naive mix local global full agent)")]
    = "naive,mix",
    limit: Annotated[int | None, typer.Option(help="first N questions with answers")] = None,
    budget: Annotated[int | None, typer.Option(help="context budget in tokens (default: the engine's)")] = None,
    llm: Annotated[str | None, typer.Option("--llm", help="answer with this model (OpenAI-compatible name or "
                                            "gguf:PATH); without it answers are extractive, no LLM")] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="grade answers with this model (name or gguf:PATH)")]
    = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write results as JSON")] = None,
    index: IndexOpt = None, embedder: EmbedderOpt = None, no_graph: NoGraphOpt = False,
) -> None:
    """Answer-in-context recall, EM/F1, judge accuracy, LLM tokens and calls, latency per mode, in one run."""
    from banyan.eval.qa import run_qa_bench
    from banyan.eval.report import print_qa_bench

    mode_list = [m.strip() for m in modes.split(",") if m.strip()]
    with tempfile.TemporaryDirectory(prefix="banyan-bench-qa-") as tmp:
        result = run_qa_bench(data, questions, mode_list, index or Path(tmp) / "main", limit=limit, budget=budget,
                              llm_model=llm, judge_model=judge, overrides=_overrides(embedder, no_graph),
                              progress=RichProgress())
    print_qa_bench(console, result)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"wrote {json_out}")


def bench_serve(
    index: IndexOpt = None,
    clients: Annotated[int, typer.Option(help="concurrent HTTP clients")] = 50,
    duration: Annotated[float, typer.Option(help="seconds of load (then clients stop; a hard deadline follows)")]
    = 120.0,
    mix: Annotated[str, typer.Option(help="request kinds, comma list: search (auto/hybrid/graph), ask (extractive, "
                                          "no LLM), graph (entity search, neighbours, entity pages)")]
    = "search,ask,graph",
    timeout: Annotated[float, typer.Option(help="per-request timeout, seconds")] = 30.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="write results as JSON")] = None,
    embedder: EmbedderOpt = None,
) -> None:
    """The REST server under N concurrent clients on loopback: requests, errors, p50/p95/max per endpoint
    and requests/s, next to the same calls made in-process, single-threaded. Without --index, on the
    bundled sample corpus indexed into a temp dir (--embedder picks its embedder). Exit code 1 on any error."""
    from banyan.eval.serve_bench import ServeBenchConfig, run_serve_bench

    config = ServeBenchConfig(clients=clients, duration_s=duration, request_timeout_s=timeout,
                              kinds=tuple(k.strip() for k in mix.split(",") if k.strip()))
    result = run_serve_bench(index, config, _overrides(embedder))
    print_serve_bench(result)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"wrote {json_out}")
    if result.errors:
        raise typer.Exit(1)


def print_serve_bench(result: ServeBenchResult) -> None:
    table = Table(title=f"banyan bench serve: {result.clients} clients for {result.duration_s:g} s over HTTP "
                        f"({result.documents} documents, {result.entities} entities sampled)")
    for col in ("endpoint", "requests", "errors", "p50 ms", "p95 ms", "max ms", "direct p50", "direct p95", "p50 x"):
        table.add_column(col, justify="left" if col == "endpoint" else "right", no_wrap=True)
    for e in result.endpoints:
        table.add_row(e.endpoint, str(e.requests), f"[red]{e.errors}[/]" if e.errors else "0", _ms(e.p50_ms),
                      _ms(e.p95_ms), _ms(e.max_ms), _ms(e.direct_p50_ms), _ms(e.direct_p95_ms),
                      f"{e.p50_ratio:.1f}" if e.p50_ratio is not None else "-")
    Console(width=max(console.width, 120)).print(table)  # nine columns: never squeezed to 80 in a log
    console.print(f"HTTP: {result.requests} requests, {result.errors} errors in {result.seconds:.1f} s = "
                  f"[bold]{result.requests_per_s:.1f} requests/s[/] with {result.clients} clients. In-process "
                  f"(direct: the same Banyan calls, one thread, the same mix): {result.direct_calls_per_s:.1f} calls/s"
                  + (" [red](hard deadline struck: requests cancelled)[/]" if result.hard_stopped else ""),
                  highlight=False)
    for note in result.notes:
        console.print(f"[dim]note:[/] {note}", highlight=False)
    for e in result.endpoints:
        for example in e.error_examples:
            console.print(f"[red]error[/] {e.endpoint}: {example}", highlight=False, soft_wrap=True)


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def bench_large(
    file: Annotated[Path | None, typer.Option(help="the large text file to index (else built from --data)")] = None,
    data: Annotated[Path | None, typer.Option(help="folder with corpus.jsonl: its text, cycled to --mb, "
                                                   "is the large file")] = None,
    mb: Annotated[float, typer.Option(help="size of the file built from --data, in MB")] = 20.0,
    modes: Annotated[str, typer.Option(help="comma-separated search modes to time")] = "bm25,hybrid,auto",
    queries: Annotated[int, typer.Option(help="queries per mode (sentences sampled from the file)")] = 10,
    index: IndexOpt = None,
    skip_index: Annotated[bool, typer.Option("--skip-index", help="time searches on an existing --index only")]
    = False,
    embedder: EmbedderOpt = None, no_graph: NoGraphOpt = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="write results as JSON")] = None,
) -> None:
    """Index one large file (seconds and peak memory, next to the embedding time of the same text), then
    search the index from cold processes (a fresh `banyan search` per query) next to warm in-process searches."""
    from banyan.eval.large_bench import run_large_bench, sample_queries, write_large_text

    if skip_index and index is None:
        raise typer.BadParameter("--skip-index needs --index (an index to search)")
    with tempfile.TemporaryDirectory(prefix="banyan-bench-large-") as tmp:
        if file is None:
            if data is None:
                raise typer.BadParameter("pass --file (a large text file) or --data (a folder with corpus.jsonl)")
            file = Path(tmp) / "large.txt"
            written = write_large_text(data / "corpus.jsonl", mb, file)
            console.print(f"wrote {written / 1e6:.1f} MB of {data / 'corpus.jsonl'} text to one file")
        result = run_large_bench(file, index or Path(tmp) / "index", [m.strip() for m in modes.split(",") if m.strip()],
                                 sample_queries(file, queries), _overrides(embedder, no_graph), skip_index=skip_index,
                                 log=lambda m: console.print(f"[dim]{m}[/]", highlight=False))
    if not skip_index:
        ratio = result.index_seconds / result.embed_seconds if result.embed_seconds else float("nan")
        stages = ", ".join(f"{k} {v:.1f}" for k, v in sorted(result.stage_seconds.items()))
        console.print(f"[bold]indexing one {result.megabytes:.1f} MB file[/] ({result.chunks:,} chunks): "
                      f"{result.index_seconds:.1f} s, peak memory {result.peak_rss_mb:,.0f} MB; embedding the "
                      f"same text took {result.embed_seconds:.1f} s of it (total = {ratio:.2f} x embedding). "
                      f"Stages (s): {stages}", highlight=False)
    table = Table(title=f"search on a {result.chunks:,}-chunk index, {result.queries} queries per mode: a fresh "
                        "process per query (cold) vs one warm process")
    for col in ("mode", "cold p50 s", "cold p95 s", "cold max s", "warm p50 ms", "warm p95 ms"):
        table.add_column(col, justify="left" if col == "mode" else "right")
    for mode, fig in result.latency.items():
        s = fig.summary()
        table.add_row(mode, f"{s['cold_p50']:.2f}", f"{s['cold_p95']:.2f}", f"{s['cold_max']:.2f}",
                      _ms(s["warm_p50"] * 1000), _ms(s["warm_p95"] * 1000))
    console.print(table)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"wrote {json_out}")


def bench_scale(
    chunks: Annotated[int, typer.Option(help="synthetic chunks to store and index")] = 100_000,
    backends: Annotated[str, typer.Option(help="comma-separated vector backends: exact, hnsw, milvus "
                                               "(exact is the recall reference)")] = "exact,hnsw",
    queries: Annotated[int, typer.Option(help="queries timed per backend, one at a time, k = 10")] = 200,
    workdir: Annotated[Path | None, typer.Option(help="keep the store and indexes here (default: a temp dir, "
                                                     "deleted)")] = None,
    milvus_uri: Annotated[str, typer.Option(help="milvus backend: a server or cluster URI (default: milvus-lite "
                                                  "in the work dir)")] = "",
    ef: Annotated[int | None, typer.Option(help="HNSW search candidates (vectors.hnsw_expansion_search)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write results as JSON")] = None,
) -> None:
    """Vector storage and search at N synthetic chunks (a seeded bag-of-word-vectors embedder, no model):
    store time, build time per 100k chunks, cold open, search p50/p95, peak memory and recall@10 against
    exact search, for each backend side by side."""
    from banyan.eval.scale_bench import run_scale_bench

    names = [b.strip() for b in backends.split(",") if b.strip()]
    settings: dict[str, object] = {"milvus_uri": milvus_uri}
    if ef is not None:
        settings["hnsw_expansion_search"] = ef
    try:
        result = run_scale_bench(chunks, names, queries=queries, workdir=workdir, keep=workdir is not None,
                                 settings=settings, log=lambda m: console.print(f"[dim]{m}[/]", highlight=False))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    print_scale_bench(result)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
        console.print(f"wrote {out}")


def print_scale_bench(result: ScaleBenchResult) -> None:
    s = result.settings
    console.print(f"[bold]{result.chunks:,} chunks[/], {result.dim}-d vectors, {result.cpus} CPUs. Store (SQLite, "
                  f"chunks + vectors): {result.store_s:.1f} s = {result.per_100k(result.store_s):.1f} s per 100k, "
                  f"peak RSS {result.store_peak_mb:,.0f} MB. Vector cache (SQLite -> memory-mapped .npy, once for "
                  f"all backends): {result.cache_s:.1f} s, peak RSS {result.cache_peak_mb:,.0f} MB", highlight=False)
    table = Table(title=f"banyan bench scale: {result.chunks:,} chunks, {result.queries} queries, k = 10 "
                        f"(HNSW M={s.get('hnsw_connectivity')}, efConstruction={s.get('hnsw_expansion_add')}, "
                        f"{s.get('hnsw_dtype')})")
    for col in ("backend", "ef", "build s", "build s/100k", "cold open s", "p50 ms", "p95 ms", "recall@10",
                "peak build MB", "peak search MB"):
        table.add_column(col, justify="left" if col == "backend" else "right", no_wrap=True)
    for r in [*result.backends, *result.sweep]:
        table.add_row(r.backend, "-" if r.ef is None else str(r.ef), f"{r.build_s:.1f}",
                      f"{r.per_100k(r.build_s):.1f}", f"{r.open_s:.2f}", _ms(r.p50_ms), _ms(r.p95_ms),
                      "-" if r.recall_at_10 is None else f"{r.recall_at_10:.3f}", f"{r.peak_build_mb:,.0f}",
                      f"{r.peak_search_mb:,.0f}")
    Console(width=max(console.width, 130)).print(table)
    console.print("[dim]build: the backend from the vector cache, in a fresh process; cold open: a second fresh "
                  "process opening it from disk; p50/p95: one query at a time, after 5 warm-up queries; peak: "
                  "getrusage ru_maxrss of that process (includes memory-mapped pages it touched); recall@10: "
                  "share of exact search's top 10 returned. Rows after the first hnsw row: the same graph "
                  "searched with other ef.[/]", highlight=False)


def bench_suite(
    shared: Annotated[Path, typer.Option(help="the shared benchmark data folder (2wikimultihopqa, cmrc2018_zh, "
                                              "graphrag_bench)")] = Path("../shared/data"),
    everyday: Annotated[Path, typer.Option(help="our everyday-documents set")] = Path("benchmarks/everyday"),
    only: Annotated[str | None, typer.Option(help="comma list of: 2wiki, cmrc, everyday-en, everyday-zh, medical, "
                                                  "novel")] = None,
    modes: Annotated[str, typer.Option(help="comma-separated modes")] = (
        "bm25,dense,hybrid,graph,hybrid+graph,hybrid+facts,hybrid+ppr,auto"),
    cmrc_limit: Annotated[int, typer.Option(help="first N CMRC questions")] = 500,
    graphrag_sample: Annotated[int, typer.Option("--graphrag-sample", "--medical-sample",
                                                 help="N sampled questions of each GraphRAG-Bench subset (0: all)")] = 300,
    work: Annotated[Path | None, typer.Option(help="keep each data set's index under this folder")] = None,
    embedder: EmbedderOpt = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write results as JSON")] = None,
    lowercase: Annotated[bool, typer.Option(help="ask every question in lower case, as people often type")] = False,
) -> None:
    """Every dev benchmark in one run: recall@2/5/10 per mode with same-run bm25/dense/hybrid baselines on
    2Wiki, CMRC 2018, our everyday notes (English, Chinese) and GraphRAG-Bench medical and novel, then
    recall@5 of each mode side by side and how far `auto` is from the best fixed mode on each."""
    from banyan.eval.graphrag_bench import default_out_dir, prepare_graphrag_bench
    from banyan.eval.report import print_bench, wide
    from banyan.eval.suite import SUITE, run_suite, suite_data

    chosen = [s.strip() for s in only.split(",")] if only else list(SUITE)
    unknown = [c for c in chosen if c not in SUITE]
    if unknown:
        raise typer.BadParameter(f"unknown data set(s) {', '.join(unknown)}; choose from {', '.join(SUITE)}")

    def prepare_graphrag(subset: str) -> Path | None:
        src = shared / "graphrag_bench"
        if subset not in chosen or not any((src / f"{subset}.{ext}").is_file() for ext in ("json", "parquet")):
            return None
        out = default_out_dir(subset)
        wanted = out / (f"questions_sample{graphrag_sample}.jsonl" if graphrag_sample else "questions.jsonl")
        if not ((out / "corpus.jsonl").is_file() and wanted.is_file()):
            console.print(f"[dim]deriving GraphRAG-Bench {subset} passage labels into {out} ...[/]")
            prepare_graphrag_bench(src, subset, out, sample=graphrag_sample)
        return out

    data, skipped = suite_data(shared, everyday, cmrc_limit, graphrag_sample, prepare_graphrag)
    data = [d for d in data if d.name in chosen]
    skipped = {k: v for k, v in skipped.items() if k in chosen}
    mode_list = [m.strip() for m in modes.split(",") if m.strip()]
    result = run_suite(data, mode_list, work, _overrides(embedder), RichProgress(),
                       log=lambda m: console.print(f"[bold]{m}[/]", highlight=False), lowercase=lowercase)
    result.skipped = skipped
    for name, run in result.runs.items():
        console.print(f"\n[bold]{name}[/]")
        print_bench(console, run)
    table = Table(title="recall@5 per data set (same-run baselines); auto - best fixed mode")
    table.add_column("data set")
    for m in mode_list:
        table.add_column(m, justify="right")
    table.add_column("auto - best", justify="right")
    for name, run in result.runs.items():
        gap = result.auto_gap(name)
        table.add_row(name, *[f"{run['modes'][m]['recall@5']:.1f}" for m in mode_list],
                      "-" if gap is None else f"{gap[1]:+.1f} vs {gap[0]}")
    wide(console).print(table)
    for name, why in skipped.items():
        console.print(f"[yellow]skipped {name}:[/] {why}", highlight=False)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"wrote {json_out}")
