"""What every request handler reaches through ``request.app.state``: the index, keys, jobs, limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from banyan.api import Banyan
from banyan.server.auth import Caller, authenticate, presented_secret
from banyan.server.jobs import JobQueue
from banyan.server.keys import KeyRing

WEB_DIR = Path(__file__).resolve().parent / "web"
DEFAULT_MAX_UPLOAD_MB = 50.0


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """How a server behaves; ``upload_dir`` None means ``<index>/uploads``."""

    upload_dir: Path | None = None
    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 2**20)
    require_keys: bool = False
    """True for a server bound to a non-loopback address: no active key means nobody gets in"""
    web_dir: Path | None = WEB_DIR
    """the web UI's files, served at / (None: no UI)"""
    jobs_kept: int = 200


@dataclass(frozen=True, slots=True)
class ServerState:
    bn: Banyan
    keys: KeyRing | None
    jobs: JobQueue
    config: ServerConfig
    upload_dir: Path


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.banyan
    return state


def current_caller(request: Request) -> Caller:
    """The authenticated caller (AuthError, a 401, when a key is needed and missing or wrong)."""
    state = server_state(request)
    return authenticate(state.keys, presented_secret(request.headers), require_keys=state.config.require_keys)


State = Annotated[ServerState, Depends(server_state)]
CallerDep = Annotated[Caller, Depends(current_caller)]
