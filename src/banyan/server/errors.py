"""Errors as HTTP: every failure is ``{"error": {"type", "message"}}`` with a fitting status.

NotFoundError (missing *or* not visible: the same answer, so nothing leaks) -> 404; bad settings
or values (unknown mode, empty query) -> 422; another writer -> 409; no LLM configured -> 400;
a failing LLM -> 502; a missing or wrong key -> 401.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from banyan.errors import (
    BanyanError,
    ConfigError,
    IndexBusyError,
    LLMError,
    LLMNotConfiguredError,
    NotFoundError,
    NotIndexedError,
    PermissionDeniedError,
)
from banyan.server.auth import AuthError
from banyan.server.uploads import UnsafePathError

log = logging.getLogger(__name__)

STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (AuthError, 401, "unauthorized"),
    (NotFoundError, 404, "not_found"),
    (PermissionDeniedError, 403, "forbidden"),
    (NotIndexedError, 404, "not_found"),
    (IndexBusyError, 409, "busy"),
    (LLMNotConfiguredError, 400, "llm_not_configured"),
    (LLMError, 502, "llm_error"),
    (UnsafePathError, 422, "invalid_request"),
    (ConfigError, 422, "invalid_request"),
    (ValueError, 422, "invalid_request"),
)
"""The first matching row wins; any other BanyanError is a 500 with its message."""

HTTP_TYPES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
              422: "invalid_request"}


def error_body(status: int, kind: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


def status_of(exc: Exception) -> tuple[int, str]:
    for cls, status, kind in STATUS:
        if isinstance(exc, cls):
            return status, kind
    return 500, "internal"


def describe_validation(exc: RequestValidationError) -> str:
    """One line per problem, e.g. ``body.question: Field required``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


async def _banyan_error(request: Request, exc: Exception) -> JSONResponse:
    status, kind = status_of(exc)
    if status >= 500:
        log.error("%s %s failed: %r", request.method, request.url.path, exc)
    return error_body(status, kind, str(exc) or type(exc).__name__)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_body(422, "invalid_request", describe_validation(exc))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    return error_body(status, HTTP_TYPES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_")), message)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_body(500, "internal", f"internal error: {type(exc).__name__}")


def install(app: FastAPI) -> None:
    """Register the handlers: Banyan errors, ValueError, validation, HTTP errors and the rest."""
    app.add_exception_handler(BanyanError, _banyan_error)
    app.add_exception_handler(ValueError, _banyan_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
