"""Errors that carry their own status, and the one place that turns them into JSON."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    status_code = 400
    error = "bad_request"

    def __init__(self, message: str, *, details: Any = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {**error_body(self.error, self.message, self.details), **self.extra}


class BadRequest(AppError):
    status_code, error = 400, "bad_request"


class Unauthorized(AppError):
    status_code, error = 401, "unauthorized"


class Forbidden(AppError):
    status_code, error = 403, "forbidden"


class NotFound(AppError):
    status_code, error = 404, "not_found"


class Conflict(AppError):
    status_code, error = 409, "conflict"


class PayloadTooLarge(AppError):
    status_code, error = 413, "payload_too_large"


class Unprocessable(AppError):
    status_code, error = 422, "validation_error"


class UpstreamUnavailable(AppError):
    status_code, error = 502, "upstream_unavailable"


class NotReady(AppError):
    status_code, error = 503, "not_ready"


def error_body(error: str, message: str, details: Any = None) -> dict[str, Any]:
    """The one JSON error shape: a stable `error` code, a sentence, and the details."""
    return {"error": error, "message": message, "details": details}


# What an unexpected error answers (500), wherever it happens.
INTERNAL_ERROR = error_body("internal_error", "An unexpected error occurred; it has been logged.")


def error_response(status_code: int, error: str, message: str, details: Any = None) -> JSONResponse:
    return JSONResponse(error_body(error, message, details), status_code=status_code)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"], "type": err["type"]}
        for err in exc.errors()
    ]


async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    details = _validation_details(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(400, "invalid_json", "The request body is not valid JSON.", details)
    fields = ", ".join(sorted({d["field"] for d in details}))
    return error_response(422, "validation_error", f"Invalid input: {fields}", details)


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    codes = {404: "not_found", 405: "method_not_allowed"}
    return JSONResponse(
        {"error": codes.get(exc.status_code, "http_error"), "message": str(exc.detail), "details": None},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return JSONResponse(INTERNAL_ERROR, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    # FastAPI's decorator, called directly: it registers the same handler through add_exception_handler,
    # and is typed for a handler of the exception's own class (Starlette's method wants `Exception`).
    app.exception_handler(Exception)(_unexpected_error)
    app.exception_handler(AppError)(_app_error)
    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(StarletteHTTPException)(_http_error)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "details": {}},
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries declaring the JSON error shape."""
    return {code: {"description": "Error", "content": {"application/json": {"schema": ERROR_SCHEMA}}} for code in codes}
