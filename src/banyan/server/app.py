"""The application factory: ``create_app(bn, keys)`` is the whole server, for uvicorn or a test client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from banyan.api import Banyan
from banyan.progress import Progress
from banyan.server import errors, ollama_compat, openai_compat
from banyan.server.jobs import JobQueue, Runner
from banyan.server.keys import KeyRing
from banyan.server.limits import BodyLimit
from banyan.server.routes_documents import router as documents_router
from banyan.server.routes_graph import router as graph_router
from banyan.server.routes_query import router as query_router
from banyan.server.routes_status import health_router
from banyan.server.routes_status import router as status_router
from banyan.server.state import ServerConfig, ServerState
from banyan.types import IndexReport

UPLOADS = "uploads"


def index_runner(bn: Banyan) -> Runner:
    """Index a job's files with ``bn``: waits for another writer rather than failing."""

    def run(paths: Sequence[Path], allow: Sequence[str] | None, progress: Progress) -> IndexReport:
        return bn.index(paths, progress=progress, allow=allow)

    return run


def create_app(bn: Banyan, keys: KeyRing | None = None, config: ServerConfig | None = None) -> FastAPI:
    """The REST API, the OpenAI- and Ollama-compatible chat APIs and the web UI over one index.

    ``keys`` None (or a ring with no active key) lets every caller see everything: only for a
    server on loopback, which ``banyan serve`` enforces (``config.require_keys`` otherwise)."""
    config = config or ServerConfig()
    jobs = JobQueue(index_runner(bn), keep=config.jobs_kept)
    state = ServerState(bn, keys, jobs, config, Path(config.upload_dir or bn.index_dir / UPLOADS))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.stop()

    app = FastAPI(title="Banyan", version="1", lifespan=lifespan,
                  description="GraphRAG over your documents: search, cited answers, the knowledge graph.")
    app.state.banyan = state
    errors.install(app)
    app.add_middleware(BodyLimit, limit=config.max_upload_bytes)
    for router in (health_router, status_router, documents_router, query_router, graph_router,
                   openai_compat.router, ollama_compat.router):
        app.include_router(router)
    if config.web_dir is not None and (config.web_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=config.web_dir, html=True), name="web")  # after the API routes
    return app
