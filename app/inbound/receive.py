"""Reading a webhook body without ever buffering more than the limit."""

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from app.errors import BadRequest, PayloadTooLarge, error_responses

_ANSWER = {"type": "object", "properties": {"status": {"type": "string", "enum": ["accepted", "duplicate"]}}}

# How every webhook route documents itself: stored (202), already stored (200), refused.
WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Already stored", "content": {"application/json": {"schema": _ANSWER}}},
    202: {"description": "Stored", "content": {"application/json": {"schema": _ANSWER}}},
    **error_responses(400, 401, 413),
}
WEBHOOK_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}}


def stored_answer(is_new: bool) -> JSONResponse:
    """202 once a new delivery is durable; 200 for one stored before."""
    if is_new:
        return JSONResponse({"status": "accepted"}, status_code=202)
    return JSONResponse({"status": "duplicate"}, status_code=200)


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, or 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("Content-Length is not a number.")
        if int(declared) > limit:
            raise PayloadTooLarge(f"The body is {declared} bytes; the limit is {limit}.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body exceeds the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
