"""Pieces shared by the CLI modules: consoles, common options, exit codes, progress, opening an index,
and the command group that builds a subcommand (importing its module) only when it is used."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from enum import IntEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import typer
from typer.core import TyperGroup

from banyan.types import Access

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from typer._click import Command

    from banyan.api import Banyan


@cache
def _rich_console(stderr: bool) -> Console:
    from rich.console import Console

    made = Console(stderr=stderr)
    made.soft_wrap = not made.is_terminal  # redirected output: whole lines for logs and scripts, not 80-column wraps
    return made


def stdout() -> Console:
    """The console of the commands' output, made on first use: `banyan search --json` never loads rich."""
    return _rich_console(False)


def stderr() -> Console:
    """The console of errors, notes and progress."""
    return _rich_console(True)


def __getattr__(name: str) -> Console:
    """``console`` and ``err`` (``stdout()`` and ``stderr()``) for the command modules that import them."""
    if name == "console":
        return stdout()
    if name == "err":
        return stderr()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        self._console = console or stderr()
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
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

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


@contextmanager
def one_shot() -> Iterator[None]:
    """Around a command that answers once and exits (``banyan search``): no cyclic garbage collection
    while it runs, and what it loaded frozen (``gc.freeze``) before the interpreter's collection at
    exit. The imports and a loaded graph make hundreds of thousands of objects that every full
    collection walks, a large share of a cold search's time; one request leaves next to no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


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
    from banyan.api import Banyan
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
        stderr().print("note: the password in --store is not written to banyan.toml; later commands in this index "
                  "directory need it from PGPASSWORD, ~/.pgpass or ${VAR} in the URL", highlight=False)
    return bn


class LazyCommands(MutableMapping[str, "Command"]):
    """A group's subcommands by name, listed in ``order``: the built ones, and those of ``lazy``
    (name -> builder), each built on its first lookup. Listing names builds nothing."""

    def __init__(self, built: Mapping[str, Command], lazy: Mapping[str, Callable[[], Command]],
                 order: Sequence[str] = ()) -> None:
        self._built = dict(built)
        self._lazy = dict(lazy)
        self._order = list(dict.fromkeys([*order, *built, *lazy]))

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            self._built[name] = self._lazy[name]()  # KeyError: no such command
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command
        if name not in self._order:
            self._order.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self._built and name not in self._lazy:
            raise KeyError(name)
        self._built.pop(name, None)
        self._lazy.pop(name, None)
        self._order.remove(name)

    def __iter__(self) -> Iterator[str]:
        return (n for n in self._order if n in self._built or n in self._lazy)

    def __len__(self) -> int:
        return len(self._built.keys() | self._lazy.keys())


class LazyGroup(TyperGroup):
    """A typer group (``typer.Typer(cls=...)``) that adds the subcommands of ``lazy``, built on first
    use: running one command imports and inspects only that command's module, not every command's."""

    lazy: ClassVar[Mapping[str, Callable[[], Command]]] = {}
    order: ClassVar[Sequence[str]] = ()
    """every subcommand's name, in the order help lists them"""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands, self.lazy, self.order)


def typer_command(function: Callable[..., Any], name: str) -> Command:
    """The command typer makes of ``function`` under ``name`` (as ``app.command(name)`` would)."""
    holder = typer.Typer(add_completion=False)
    holder.command(name)(function)
    return typer.main.get_command(holder)


def typer_group(sub: typer.Typer, name: str) -> Command:
    """The group typer makes of ``sub`` under ``name`` (as ``app.add_typer(sub, name=name)`` would)."""
    holder = typer.Typer(add_completion=False)
    holder.add_typer(sub, name=name)
    return subcommand(holder, name)


def subcommand(holder: typer.Typer, name: str) -> Command:
    """The command ``name`` of the group typer makes of ``holder``."""
    group = typer.main.get_command(holder)
    assert isinstance(group, TyperGroup)
    return group.commands[name]
