"""Documents and indexing jobs: upload files, add text, list, read, delete; job progress as SSE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from banyan.errors import DocumentNotFoundError, NotFoundError
from banyan.server.auth import Caller
from banyan.server.jobs import JobInfo
from banyan.server.models import TextBody
from banyan.server.sse import sse, sse_response
from banyan.server.state import CallerDep, ServerState, State
from banyan.server.uploads import inside, safe_filename, save_bytes, save_stream
from banyan.types import normalize_principals

router = APIRouter(prefix="/api/v1", tags=["documents"])
POLL_S = 0.2
HEARTBEAT_S = 15.0


class JobNotFoundError(NotFoundError):
    """No such job, or another key's."""


def parse_allow(values: list[str] | str | None) -> list[str] | None:
    """Principals from a list or a comma list; None (or nothing) keeps the default, public."""
    if values is None:
        return None
    items = values.split(",") if isinstance(values, str) else [p for v in values for p in v.split(",")]
    return sorted(normalize_principals(items)) or None


def check_extension(state: ServerState, name: str) -> None:
    exts = state.bn.settings.ingest.extensions
    if Path(name).suffix.lower() not in exts:
        raise ValueError(f"cannot index {name!r}: supported file types are {', '.join(sorted(exts))}")


def owned_job(state: ServerState, caller: Caller, job_id: str) -> JobInfo:
    job = state.jobs.get(job_id, None if caller.admin else caller.owner)
    if job is None:
        raise JobNotFoundError(f"no job {job_id!r}")
    return job


@router.get("/documents")
def list_documents(state: State, caller: CallerDep) -> dict[str, object]:
    return {"documents": [d.to_dict() for d in state.bn.documents(access=caller.access)]}


@router.post("/documents", status_code=202)
async def upload_documents(state: State, caller: CallerDep, files: Annotated[list[UploadFile], File()],
                           allow: Annotated[str | None, Form()] = None) -> dict[str, object]:
    """Save the files under the upload folder and queue one indexing job for them."""
    names = [safe_filename(f.filename or "upload") for f in files]
    for name in names:
        check_extension(state, name)
    paths = [await run_in_threadpool(save_stream, state.upload_dir, name, f.file) for name, f in zip(names, files,
                                                                                                    strict=True)]
    job = state.jobs.submit(paths, names, parse_allow(allow), caller.owner)
    return {"job": job.to_dict()}


@router.post("/documents/text", status_code=202)
def add_text(state: State, caller: CallerDep, body: TextBody) -> dict[str, object]:
    """Save the text as a Markdown file (its title as heading) and queue it for indexing."""
    name = safe_filename(body.title, "text")[:100] + ".md"
    path = save_bytes(state.upload_dir, name, f"# {body.title.strip()}\n\n{body.text.strip()}\n".encode())
    return {"job": state.jobs.submit([path], [name], parse_allow(body.allow), caller.owner).to_dict()}


@router.get("/documents/{doc_id}")
def get_document(state: State, caller: CallerDep, doc_id: str) -> dict[str, object]:
    return state.bn.document(doc_id, access=caller.access).to_dict()


@router.delete("/documents/{doc_id}")
def delete_document(state: State, caller: CallerDep, doc_id: str) -> dict[str, int]:
    """Remove the document (and what came from its file); its uploaded copy goes too. 409 while a
    job (or another process) is writing the index."""
    source = Path(state.bn.document(doc_id, access=caller.access).info.source)
    removed = state.bn.remove_document(doc_id, access=caller.access, wait=False)
    if not removed:
        raise DocumentNotFoundError(f"no document {doc_id!r}")
    if source.resolve().is_relative_to(state.upload_dir.resolve()):  # an upload; a file indexed from
        inside(state.upload_dir, source).unlink(missing_ok=True)           # the command line is the user's
    return {"removed": removed}


@router.get("/jobs")
def list_jobs(state: State, caller: CallerDep) -> dict[str, object]:
    return {"jobs": [j.to_dict() for j in state.jobs.list(None if caller.admin else caller.owner)]}


@router.get("/jobs/{job_id}")
def get_job(state: State, caller: CallerDep, job_id: str) -> dict[str, object]:
    return owned_job(state, caller, job_id).to_dict()


@router.get("/jobs/{job_id}/events", response_class=StreamingResponse)
async def job_events(request: Request, state: State, caller: CallerDep, job_id: str) -> StreamingResponse:
    """SSE: ``progress`` {stage, done, total, state} on every change, then ``done`` (JobInfo) or ``error``."""
    owned_job(state, caller, job_id)  # 404 before the stream starts
    owner = None if caller.admin else caller.owner
    return sse_response(_job_frames(request, state, job_id, owner))


async def _job_frames(request: Request, state: ServerState, job_id: str, owner: str | None) -> AsyncIterator[str]:
    seen, quiet = -1, 0.0
    while True:
        job = state.jobs.get(job_id, owner)
        if job is None:
            yield sse("error", {"message": f"job {job_id!r} is gone"})
            return
        if job.over:
            done = job.state == "done"
            yield sse("done", job.to_dict()) if done else sse("error", {**job.to_dict(), "message": job.error})
            return
        if job.version != seen:
            seen, quiet = job.version, 0.0
            yield sse("progress", {"state": job.state, "stage": job.stage, "done": job.done, "total": job.total})
        elif quiet >= HEARTBEAT_S:
            quiet = 0.0
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)
        quiet += POLL_S
