"""Problem-details (RFC 9457) errors: domain exceptions mapped to HTTP in one place."""

from __future__ import annotations

import logging
import math
from http import HTTPStatus

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException

from .store.errors import Conflict, Forbidden, NotFound, StoreError, TooMany, Unprocessable

log = logging.getLogger("shortstack.server")

PROBLEM_JSON = "application/problem+json"
#: the problem type of every error: the status code says it all (RFC 9457 section 4.2.1)
PROBLEM_TYPE = "about:blank"

STATUS_FOR: dict[type[StoreError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unprocessable: 422,
    TooMany: 429,
}


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=status, title=title, detail=detail, headers=headers, type_=PROBLEM_TYPE
    )


def store_error_to_problem(exc: StoreError) -> ProblemDetailsException:
    status = next((code for cls, code in STATUS_FOR.items() if isinstance(exc, cls)), 400)
    headers = None
    if isinstance(exc, TooMany):
        headers = {"Retry-After": str(math.ceil(exc.retry_after_s))}
    return problem(status, exc.title, str(exc), headers)


def problem_details_handler(request: Request, exc: ProblemDetailsException) -> Response:
    """A ProblemDetailsException raised anywhere as a response that always has a ``type``.

    ``problem()`` (and so every store error) names it already; this covers the rest."""
    response = exc.to_response(request)
    response.content = {"type": PROBLEM_TYPE, **response.content}
    return response


def problem_details_config() -> ProblemDetailsConfig:
    return ProblemDetailsConfig(
        exception_handler=problem_details_handler,
        exception_to_problem_detail_map={StoreError: store_error_to_problem},
    )


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    """Litestar's own errors (validation, 404 routes, 405, 413, 429 ...) as problem details.

    The title is the status phrase; the detail is the specific message; validation errors
    list the offending fields under `errors`."""
    status = exc.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    detail = exc.detail if exc.detail and exc.detail != phrase else phrase
    body: dict[str, object] = {
        "type": PROBLEM_TYPE,
        "status": status,
        "title": phrase,
        "detail": detail,
    }
    if exc.extra:
        errors = exc.extra
        if isinstance(errors, list):
            errors = [
                {k: getattr(v, "value", v) for k, v in e.items()} if isinstance(e, dict) else e
                for e in errors
            ]
        body["errors"] = errors
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            source = str(first.get("source", "body"))
            key = first.get("key")
            where = f"{source} field {key!r}" if key else "the request"
            body["detail"] = f"{detail}: {where}: {first.get('message', 'invalid')}"
            if status == 400 and source == "body":
                # well-formed JSON that breaks the schema: 422 Unprocessable Content
                status = 422
                body["status"], body["title"] = 422, HTTPStatus(422).phrase
    headers = dict(exc.headers or {})
    if status == 429 and not any(k.lower() == "retry-after" for k in headers):
        # Litestar's rate limiter sends only RateLimit-* headers; clients look for Retry-After
        reset = next((v for k, v in headers.items() if k.lower() == "ratelimit-reset"), "60")
        headers["Retry-After"] = str(max(1, int(reset))) if str(reset).isdigit() else "60"
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    """Anything unexpected: log it with a traceback, answer a plain problem-details 500."""
    if isinstance(exc, HTTPException):  # pragma: no cover - handled by the plugin
        raise exc
    from .access_log import log_field

    log.exception(
        "unhandled error on %s %s", log_field(request.method, 16), log_field(request.url.path)
    )
    return Response(
        content={
            "type": PROBLEM_TYPE,
            "status": 500,
            "title": "Internal Server Error",
            "detail": "something went wrong on the server; it has been logged",
        },
        status_code=500,
        media_type=PROBLEM_JSON,
    )
