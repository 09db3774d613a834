"""Indexing jobs: uploaded files indexed one job at a time by a background thread, with progress.

A job is queued by an upload, run by the worker thread through a ``runner`` (the server passes
``Banyan.index``), and observed as immutable ``JobInfo`` snapshots: each change makes a new one
and bumps the job's ``version``, which the SSE endpoint watches.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from banyan.errors import BanyanError
from banyan.progress import Progress
from banyan.types import IndexReport

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "done", "failed"]
Runner = Callable[[Sequence[Path], Sequence[str] | None, Progress], IndexReport]
"""Indexes ``paths`` allowed to principals (None: public) and reports progress; the server passes Banyan.index."""


@dataclass(frozen=True, slots=True)
class JobFailure:
    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class JobReport:
    """What an indexing job did (a summary of its ``IndexReport``)."""

    files_indexed: int
    files_unchanged: int
    files_failed: int
    documents_added: int
    documents_removed: int
    chunks_added: int
    chunks_embedded: int
    failures: tuple[JobFailure, ...] = ()
    notes: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, r: IndexReport) -> JobReport:
        return cls(r.files_indexed, r.files_unchanged, r.files_failed, r.documents_added, r.documents_removed,
                   r.chunks_added, r.chunks_embedded, tuple(JobFailure(f.path, f.reason) for f in r.failures),
                   tuple(r.notes), {k: round(v, 3) for k, v in r.seconds.items()})

    def to_dict(self) -> dict[str, Any]:
        return {"files_indexed": self.files_indexed, "files_unchanged": self.files_unchanged,
                "files_failed": self.files_failed, "documents_added": self.documents_added,
                "documents_removed": self.documents_removed, "chunks_added": self.chunks_added,
                "chunks_embedded": self.chunks_embedded,
                "failures": [{"path": f.path, "reason": f.reason} for f in self.failures],
                "notes": list(self.notes), "seconds": dict(self.seconds)}


@dataclass(frozen=True, slots=True)
class JobInfo:
    """One indexing job as clients see it. ``files`` are the uploaded names (not server paths)."""

    id: str
    state: JobState
    files: tuple[str, ...]
    allow: tuple[str, ...]
    created: float
    stage: str | None = None
    done: int = 0
    total: int = 0
    report: JobReport | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    version: int = 0
    """bumped by every change (progress included)"""

    @property
    def over(self) -> bool:
        return self.state in ("done", "failed")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "files": list(self.files), "allow": list(self.allow),
                "stage": self.stage, "done": self.done, "total": self.total,
                "report": self.report.to_dict() if self.report else None, "error": self.error,
                "created": self.created, "started": self.started, "finished": self.finished}


@dataclass(frozen=True, slots=True)
class _Queued:
    job_id: str
    paths: tuple[Path, ...]
    allow: tuple[str, ...] | None


class JobProgress:
    """``Progress`` that writes a job's stage and counts into its ``JobInfo``."""

    def __init__(self, jobs: JobQueue, job_id: str) -> None:
        self._jobs, self._id = jobs, job_id
        self._done = self._total = 0

    def start(self, stage: str, total: int) -> None:
        self._done, self._total = 0, total
        self._jobs.update(self._id, stage=stage, done=0, total=total)

    def advance(self, n: int = 1) -> None:
        self._done += n
        self._jobs.update(self._id, done=self._done)

    def done(self) -> None:
        self._jobs.update(self._id, done=self._total)


class JobQueue:
    """Jobs run one at a time, in order, by one worker thread (started by the first ``submit``)."""

    def __init__(self, runner: Runner, *, keep: int = 200) -> None:
        self._runner = runner
        self._keep = keep
        self._lock = threading.Lock()
        self._jobs: dict[str, JobInfo] = {}
        self._owners: dict[str, str] = {}
        self._queue: queue.Queue[_Queued | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    def submit(self, paths: Sequence[Path], names: Sequence[str], allow: Sequence[str] | None, owner: str) -> JobInfo:
        """Queue ``paths`` (shown as ``names``) for indexing; ``allow`` None leaves the default (public)."""
        job = JobInfo(uuid.uuid4().hex[:12], "queued", tuple(names), tuple(allow or ("public",)), time.time())
        with self._lock:
            self._jobs[job.id] = job
            self._owners[job.id] = owner
            self._forget_old()
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="banyan-index-jobs", daemon=True)
                self._worker.start()
        self._queue.put(_Queued(job.id, tuple(paths), None if allow is None else tuple(allow)))
        return job

    def get(self, job_id: str, owner: str | None = None) -> JobInfo | None:
        """The job, if it exists and ``owner`` (None: anyone) submitted it."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job if job is not None and owner in (None, self._owners.get(job_id)) else None

    def list(self, owner: str | None = None) -> list[JobInfo]:
        """Jobs of ``owner`` (None: all), newest first."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if owner in (None, self._owners.get(j.id))]
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    def pending(self) -> int:
        with self._lock:
            return sum(not j.over for j in self._jobs.values())

    def update(self, job_id: str, **changes: Any) -> JobInfo:
        with self._lock:
            job = replace(self._jobs[job_id], **changes, version=self._jobs[job_id].version + 1)
            self._jobs[job_id] = job
            return job

    def stop(self, timeout: float = 5.0) -> None:
        """Let the worker finish its current job and exit (queued jobs are not run)."""
        worker = self._worker
        if worker is not None and worker.is_alive():
            self._queue.put(None)
            worker.join(timeout)

    def _forget_old(self) -> None:
        done = sorted((j for j in self._jobs.values() if j.over), key=lambda j: j.created)
        for j in done[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[j.id]
            self._owners.pop(j.id, None)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            self._run(item)

    def _run(self, item: _Queued) -> None:
        self.update(item.job_id, state="running", started=time.time())
        try:
            report = self._runner(item.paths, item.allow, JobProgress(self, item.job_id))
        except (BanyanError, OSError, ValueError) as exc:
            self.update(item.job_id, state="failed", error=str(exc), finished=time.time())
        except Exception as exc:  # the worker must outlive any one job; the traceback goes to the log
            log.exception("indexing job %s failed", item.job_id)
            self.update(item.job_id, state="failed", error=f"internal error: {exc!r}", finished=time.time())
        else:
            self.update(item.job_id, state="done", stage=None, report=JobReport.of(report), finished=time.time())
