"""Problem-details (RFC 9457) errors: domain exceptions mapped to HTTP in one place."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException

from .store.errors import Conflict, Forbidden, NotFound, StoreError, Unprocessable

log = logging.getLogger("shortstack.server")

PROBLEM_JSON = "application/problem+json"

STATUS_FOR: dict[type[StoreError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unprocessable: 422,
}


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> ProblemDetailsException:
    return ProblemDetailsException(status_code=status, title=title, detail=detail, headers=headers)


def store_error_to_problem(exc: StoreError) -> ProblemDetailsException:
    status = next((code for cls, code in STATUS_FOR.items() if isinstance(exc, cls)), 400)
    return problem(status, exc.title, str(exc))


def problem_details_config() -> ProblemDetailsConfig:
    return ProblemDetailsConfig(
        enable_for_all_http_exceptions=True,
        exception_to_problem_detail_map={StoreError: store_error_to_problem},
    )


def internal_error_handler(request: Request, exc: Exception) -> Response:
    """Anything unexpected: log it with a traceback, answer a plain problem-details 500."""
    if isinstance(exc, HTTPException):  # pragma: no cover - handled by the plugin
        raise exc
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return Response(
        content={
            "type": "about:blank",
            "status": 500,
            "title": "Internal Server Error",
            "detail": "something went wrong on the server; it has been logged",
        },
        status_code=500,
        media_type=PROBLEM_JSON,
    )
