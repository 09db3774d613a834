"""How long-running stages report progress (the CLI draws bars or log lines; the API default ignores it)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress of long stages."""

    def start(self, stage: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def done(self) -> None: ...


class NoProgress:
    """Progress that goes nowhere."""

    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def done(self) -> None:
        pass
