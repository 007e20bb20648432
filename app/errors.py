"""One error shape for every response: `{"detail": "...", "code": "..."}`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db import unavailable
from app.refusals import RuleBroken
from app.responses import JSONResponse

log = logging.getLogger(__name__)


class AppError(Exception):
    """An error a client can act on. `errors` (as validation's: loc, msg, type) says which
    rule of the request was broken where, for a client that says it in its own words."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, object]] | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.headers = headers
        self.errors = errors


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Unauthorized(AppError):
    """401, with the challenge HTTP requires: the scheme the caller should authenticate by."""

    status_code = 401
    code = "unauthorized"

    def __init__(self, detail: str, *, code: str | None = None, scheme: str = "Bearer"):
        super().__init__(detail, code=code, headers={"WWW-Authenticate": scheme})


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Invalid(AppError):
    status_code = 422
    code = "invalid"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class Unavailable(AppError):
    """503: nothing was done, and the same request later may succeed (`Retry-After`)."""

    status_code = 503
    code = "unavailable"

    def __init__(self, detail: str, *, code: str | None = None, retry_after: int = 5):
        super().__init__(detail, code=code, headers={"Retry-After": str(retry_after)})


def refused(exc: RuleBroken, code: str) -> Invalid:
    """The 422 that says what `exc` says: its English detail, and the rule and the place in
    `errors`, for a client that says it in its own words."""
    broken: dict[str, object] = {"loc": ["body", *exc.where], "msg": str(exc), "type": exc.reason}
    return Invalid(str(exc), code=code, errors=[broken])


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def validation_message(error: Mapping[str, Any]) -> str:
    """A validation error's words, without pydantic's "Value error, " before our own. A
    text's length is said in characters: checked after a validator of ours, pydantic counts
    "items" of any value."""
    given = error.get("input")
    limits = error.get("ctx") or {}
    if error.get("type") == "too_long" and isinstance(given, str):
        return f"at most {limits.get('max_length')} characters ({len(given)} given)"
    if error.get("type") == "too_short" and isinstance(given, str):
        return f"at least {limits.get('min_length')} characters ({len(given)} given)"
    return str(error.get("msg") or "invalid").removeprefix("Value error, ")


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        # The body is where most fields are: named by their path inside it ("labels.0"),
        # a field called "body" too.
        loc = list(error.get("loc", ()))
        location = ".".join(str(p) for p in (loc[1:] if loc[:1] == ["body"] else loc))
        message = validation_message(error)
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.detail, "code": exc.code}
        if exc.errors is not None:
            body["errors"] = exc.errors
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": _describe_validation(exc), "code": "invalid", "errors": _safe_errors(exc)},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc.detail), "code": _HTTP_CODES.get(exc.status_code, "error")},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DataError)
    async def _unstorable(_request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value (out of range, a character it cannot store) that
        # input validation let through: the client's data, so a 422, but worth a look.
        log.warning("database refused a value: %s", exc.orig)
        return JSONResponse(
            {
                "detail": "a value is out of range or has characters that cannot be stored",
                "code": "unstorable_value",
            },
            status_code=422,
        )

    @app.exception_handler(OperationalError)
    async def _database_down(_request: Request, exc: OperationalError) -> JSONResponse:
        # The database is unreachable or busy: nothing was stored, so a provider (or a
        # client) must try again, which 503 tells it.
        log.error("database unavailable: %s", unavailable(exc))
        return JSONResponse(
            {"detail": "the database is unavailable; try again shortly", "code": "unavailable"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"detail": "internal error", "code": "internal"}, status_code=500)


def _safe_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    """Validation errors without the rejected input (it may hold a password)."""
    return [
        {"loc": list(e.get("loc", ())), "msg": validation_message(e), "type": e.get("type", "")}
        for e in exc.errors()[:20]
    ]
