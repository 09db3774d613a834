"""Pieces shared by the CLI modules: consoles, common options, progress bars, opening an index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from banyan.api import Banyan

console = Console()
err = Console(stderr=True)

IndexOpt = Annotated[Path | None, typer.Option("--index", "-i", help="index directory [default: ./.banyan]")]
NoGraphOpt = Annotated[bool, typer.Option("--no-graph", help="skip the knowledge graph (graph modes unavailable)")]
EmbedderOpt = Annotated[
    str | None, typer.Option("--embedder", help="onnx (default) | e5 (multilingual) | sentence-transformers | openai | hash")
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


def overrides(embedder: str | None, no_graph: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"embedding": {"backend": embedder}} if embedder else {}
    if no_graph:
        out["graph"] = {"enabled": False}
    return out


def open_index(index: Path | None, embedder: str | None = None, no_graph: bool = False) -> Banyan:
    from banyan.settings import load_settings

    return Banyan(index or load_settings(None).index.dir, overrides(embedder, no_graph))

