"""One writer per index: an exclusive OS lock (``fcntl.flock``) on ``<index>/write.lock``.

The lock is released by the operating system when its process ends, even on ``kill -9``, so a
crashed writer never leaves an index locked. Readers never take it: they read committed state
(SQLite WAL) and only ask ``holder()`` to say who is writing.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from banyan.errors import IndexBusyError

LOCK_FILE = "write.lock"
POLL_SECONDS = 0.2
log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # Windows: no flock; writers are not serialized there
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class WriterInfo:
    """The process holding an index's write lock."""

    pid: int
    command: str
    since: float

    def describe(self) -> str:
        started = time.strftime("%H:%M:%S", time.localtime(self.since)) if self.since else "?"
        return f"process {self.pid} ({self.command or 'banyan'}, since {started})"


def _default_command() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    args = " ".join(sys.argv[1:3])
    return f"{name} {args}".strip()


def _read_info(fh: IO[str]) -> WriterInfo | None:
    fh.seek(0)
    try:
        raw = json.loads(fh.read() or "{}")
        return WriterInfo(int(raw["pid"]), str(raw.get("command", "")), float(raw.get("since", 0.0)))
    except (ValueError, KeyError, TypeError):
        return None


class WriteLock:
    """The write lock of one index directory; re-entrant within one object and one thread.

    Threads sharing the object take turns (a thread lock guards the OS lock); separate objects,
    even in one process, exclude each other as separate processes do.
    """

    def __init__(self, index_dir: Path) -> None:
        self.path = Path(index_dir) / LOCK_FILE
        self._thread_lock = threading.RLock()
        self._fh: IO[str] | None = None
        self._info: WriterInfo | None = None
        self._depth = 0

    def acquire(self, *, wait: bool = True, command: str | None = None) -> None:
        """Take the lock. Held by another writer: wait for it (saying so once) or raise IndexBusyError."""
        if not self._thread_lock.acquire(blocking=wait):
            raise IndexBusyError(f"{self.path.parent} is being written by another thread of this process")
        try:
            if self._depth == 0:
                self._lock_file(wait, command or _default_command())
            self._depth += 1
        except BaseException:
            self._thread_lock.release()
            raise

    def _lock_file(self, wait: bool, command: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open while locked
        if fcntl is not None:
            told = False
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = _read_info(fh)
                    who = holder.describe() if holder else "another process"
                    if not wait:
                        fh.close()
                        raise IndexBusyError(
                            f"{self.path.parent} is being written by {who}; only one writer at a time. "
                            f"Try again when it has finished, or wait for it (the default; not --no-wait / wait=False)") from None
                    if not told:
                        log.warning("%s is being written by %s; waiting for it to finish", self.path.parent, who)
                        told = True
                    time.sleep(POLL_SECONDS)
        info = WriterInfo(os.getpid(), command, time.time())
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": info.pid, "command": info.command, "since": info.since}))
        fh.flush()
        self._fh, self._info = fh, info

    def release(self) -> None:
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0 and self._fh is not None:
            fh, self._fh, self._info = self._fh, None, None
            fh.seek(0)
            fh.truncate()
            fh.flush()
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()
        self._thread_lock.release()

    @property
    def depth(self) -> int:
        """How many nested ``acquire`` calls of this object hold the lock (0: not held)."""
        return self._depth

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._depth > 0

    def holder(self) -> WriterInfo | None:
        """Who is writing this index now (this object included), or None. Never creates the file."""
        mine = self._info
        return mine if mine is not None else writer_of(self.path.parent)


def writer_of(index_dir: Path) -> WriterInfo | None:
    """The process holding ``index_dir``'s write lock, or None when no one writes it."""
    path = Path(index_dir) / LOCK_FILE
    if fcntl is None or not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_info(fh) or WriterInfo(0, "", 0.0)
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return None
