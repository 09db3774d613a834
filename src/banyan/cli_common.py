"""Pieces shared by the CLI modules: consoles, common options, exit codes, progress, opening an index."""

from __future__ import annotations

import time
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from banyan.api import Banyan
from banyan.types import Access

console = Console()
err = Console(stderr=True)
for _c in (console, err):  # redirected output: whole lines for logs and scripts, not 80-column wraps
    _c.soft_wrap = not _c.is_terminal

IndexOpt = Annotated[Path | None, typer.Option("--index", "-i", help="index directory [default: ./.banyan]")]
AllowOpt = Annotated[str | None, typer.Option(
    "--allow", help="comma-separated principals (users, groups) that may read these files [default: public; an "
                    "already indexed file keeps its own]")]
AsOpt = Annotated[str | None, typer.Option(
    "--as", help="act as these comma-separated principals: see only documents they are allowed [default: all]")]


def access_of(principals: str | None) -> Access | None:
    """``--as a,b`` -> Access.of(a, b); None (everything) without the option."""
    return None if principals is None else Access.of(*principals.split(","))


def allow_of(principals: str | None) -> list[str] | None:
    return None if principals is None else [p for p in principals.split(",") if p.strip()]


NoGraphOpt = Annotated[bool, typer.Option("--no-graph", help="skip the knowledge graph (graph modes unavailable)")]
EmbedderOpt = Annotated[
    str | None, typer.Option("--embedder", help="onnx (default) | e5 (multilingual) | sentence-transformers | openai | hash")
]
StoreOpt = Annotated[str | None, typer.Option(
    "--store", help="keep this index in PostgreSQL: postgresql://USER@HOST:PORT/DBNAME (recorded in the index "
                    "directory's banyan.toml for later commands; the password is not: use PGPASSWORD or ~/.pgpass)")]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="if another process is writing the index, exit "
                                                          "(code 4) instead of waiting for it")]


class ExitCode(IntEnum):
    """What `banyan` exits with (README, "Exit codes")."""

    OK = 0
    ERROR = 1
    """the command could not do its job: no index there, a path that is not indexed, a store or config error"""
    USAGE = 2
    """invalid arguments or option values"""
    PARTIAL = 3
    """`index` finished, but some files could not be indexed (each is listed on stderr)"""
    BUSY = 4
    """another process is writing the index (`--no-wait`)"""


class RichProgress:
    """Progress of the indexing stages on stderr: bars on a terminal, otherwise one log line per
    stage start, then one every ``interval`` seconds, then one when the stage ends."""

    def __init__(self, console: Console | None = None, interval: float = 30.0) -> None:
        self._console = console or err
        self._interval = interval
        self._bar: Progress | None = None
        self._task: Any = None
        self._stage: str | None = None
        self._total = self._count = 0
        self._t0 = self._last = 0.0

    def start(self, stage: str, total: int) -> None:
        self.done()
        self._stage, self._total, self._count = stage, total, 0
        self._t0 = self._last = time.monotonic()
        if self._console.is_terminal:
            self._bar = Progress(TextColumn(f"[bold]{stage:<7}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=self._console, transient=False)
            self._bar.start()
            self._task = self._bar.add_task(stage, total=total)
        elif total:
            self._line(f"{stage}: {total:,} to do")
        else:
            self._stage = None  # nothing to do: nothing to say

    def advance(self, n: int = 1) -> None:
        self._count += n
        if self._bar is not None:
            self._bar.advance(self._task, n)
        elif self._stage is not None and time.monotonic() - self._last >= self._interval:
            self._last = time.monotonic()
            self._line(self._status())

    def done(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self._stage is not None:
            self._line(f"{self._status()}, done in {time.monotonic() - self._t0:.1f}s")
        self._stage = None

    def _status(self) -> str:
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        rate = self._count / elapsed
        pct = f" ({100 * self._count / self._total:.0f}%)" if self._total else ""
        eta = (f", about {_duration((self._total - self._count) / rate)} left"
               if rate > 0 and self._count < self._total else "")
        return f"{self._stage}: {self._count:,}/{self._total:,}{pct}, {rate:,.1f}/s{eta}"

    def _line(self, text: str) -> None:
        self._console.print(f"{time.strftime('%H:%M:%S')} {text}", highlight=False, soft_wrap=True)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def overrides(embedder: str | None, no_graph: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"embedding": {"backend": embedder}} if embedder else {}
    if no_graph:
        out["graph"] = {"enabled": False}
    return out


def open_index(index: Path | None, embedder: str | None = None, no_graph: bool = False, *,
               create: bool = False, extra: dict[str, Any] | None = None, store: str | None = None) -> Banyan:
    """The index at ``--index`` (or the configured default). Only ``create=True`` (``banyan index``)
    may create one; every other command raises IndexNotFoundError saying where it looked.
    ``store`` (``index --store URL``) is recorded in the index directory's banyan.toml once it opens."""
    from banyan.settings import load_settings, record_store_url

    over = overrides(embedder, no_graph)
    for section, values in (extra or {}).items():  # e.g. {"graph": {"extractor": "llm"}}
        over[section] = {**over.get(section, {}), **values}
    directory = index or load_settings(None).index.dir
    if not store:
        return Banyan(directory, over, create=create)
    settings = load_settings(directory, {**over, "store": {"url": store}})
    record_store_url(directory, settings, write=False)  # another store already recorded there: ConfigError
    bn = Banyan(directory, settings=settings, create=create)
    if record_store_url(directory, settings):
        err.print("note: the password in --store is not written to banyan.toml; later commands in this index "
                  "directory need it from PGPASSWORD, ~/.pgpass or ${VAR} in the URL", highlight=False)
    return bn
