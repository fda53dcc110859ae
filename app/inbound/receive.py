"""Webhook routes as plain ASGI apps: read within the limit, accept (verify, parse), record once, answer.

The webhook routes carry the load, so the application hands them their requests
ahead of FastAPI's middleware, routing and dependency solving (`app.main.Loopgate`;
docs/decisions/0005-webhooks-outside-fastapi.md). They are also mounted in the
router (which answers other methods with 405) and documented in the OpenAPI
schema by `Webhook.openapi_operation()`.
"""

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from app.core.db import EncodedJSON
from app.core.errors import (
    INTERNAL_ERROR,
    AppError,
    BadRequest,
    PayloadTooLarge,
    error_responses,
)
from app.core.inbox import Delivery
from app.core.observability import LATENCY, REQUESTS, webhook_delivered
from app.core.runtime import app_runtime
from app.core.settings import Settings

log = logging.getLogger(__name__)

# Checks the signature and the body, then says what to store; raises an AppError to refuse it.
Accept = Callable[[Settings, Headers, bytes], Delivery]

_ANSWER = {"type": "object", "properties": {"status": {"type": "string", "enum": ["accepted", "duplicate"]}}}
_JSON = [(b"content-type", b"application/json")]


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]  # status, headers, body


def _answer(status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None) -> Answer:
    encoded = json.dumps(body, separators=(",", ":")).encode()
    return status, [*_JSON, (b"content-length", str(len(encoded)).encode()), *(headers or [])], encoded


ACCEPTED = _answer(202, {"status": "accepted"})  # the row is committed
DUPLICATE = _answer(200, {"status": "duplicate"})  # stored before

# JSON escapes of characters no database here can hold: NUL (PostgreSQL text and jsonb) and
# surrogates (a lone one is not UTF-8; a valid pair also matches, and survives the re-encoding).
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def storable_json(body: bytes, parsed: Any) -> EncodedJSON:
    """The body to store: as received, unless it escapes a character no database here can hold;
    then its parsed form re-encoded with U+FFFD in place of each (a refused row would be a 500
    that PagerDuty and Jira retry forever)."""
    if _UNSTORABLE_ESCAPE.search(body) is None:
        return EncodedJSON(body.decode())
    return EncodedJSON(json.dumps(_clean(parsed), ensure_ascii=False))


@dataclass(frozen=True)
class Webhook:
    path: str
    summary: str
    description: str
    accept: Accept

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500
        try:
            status, headers, body = await self._handle(scope, receive)
        except ClientDisconnect:
            status = 499  # nobody to answer; nothing was stored
            return
        except AppError as exc:
            status, headers, body = _answer(
                exc.status_code, exc.body(), [(b"www-authenticate", b"Bearer")] if exc.status_code == 401 else None)
        except Exception:
            log.exception("unhandled error in %s", self.path)
            status, headers, body = _answer(500, INTERNAL_ERROR)
        finally:
            REQUESTS.labels("POST", self.path, str(status)).inc()
            webhook_delivered(self.path.rsplit("/", 1)[-1], status)
            LATENCY.labels("POST", self.path).observe(time.perf_counter() - started)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: Scope, receive: Receive) -> Answer:
        runtime = app_runtime(scope["app"])
        headers = Headers(scope=scope)
        body = await read_limited_body(headers, receive, runtime.settings.max_body_bytes)
        delivery = self.accept(runtime.settings, headers, body)
        return ACCEPTED if await runtime.inbox.record(delivery) else DUPLICATE

    def openapi_operation(self) -> dict[str, Any]:
        name = self.path.strip("/").replace("/", "_")
        return {
            "tags": ["webhooks"],
            "summary": self.summary,
            "description": self.description,
            "operationId": f"receive_{name.removeprefix('webhooks_')}_{name}_post",
            "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}, "required": True},
            "responses": {
                "202": {"description": "Stored", "content": {"application/json": {"schema": _ANSWER}}},
                "200": {"description": "Already stored", "content": {"application/json": {"schema": _ANSWER}}},
                **{str(code): item for code, item in error_responses(400, 401, 413).items()},
            },
        }


async def read_limited_body(headers: Headers, receive: Receive, limit: int) -> bytes:
    """The raw body, or 413 as soon as it is known to exceed `limit` bytes: never more is buffered."""
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("Content-Length is not a number.")
        if int(declared) > limit:
            raise PayloadTooLarge(f"The body is {declared} bytes; the limit is {limit}.")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body exceeds the limit of {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
