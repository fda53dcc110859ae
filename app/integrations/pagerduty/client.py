"""Reading incidents from the PagerDuty REST API v2 through the official `pagerduty` package.

The package is synchronous, so each request runs in a worker thread. Its own retry
behaviour (429 retried forever on a fixed back-off that ignores `ratelimit-reset`)
is switched off; the one retry policy lives here: 429 waits for `ratelimit-reset`,
5xx and network errors back off exponentially, and the number of tries is capped.
"""

import asyncio
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pagerduty

from app.integrations.pagerduty.ratelimit import RateLimit

PAGE_SIZE = 100


class FetchError(Exception):
    """A read that failed after the last try; the message says why (it becomes a packet gap)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_seconds: float = 0.5
    max_wait_seconds: float = 30.0

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2**attempt, self.max_wait_seconds)


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The system store (honouring SSL_CERT_FILE) plus REQUESTS_CA_BUNDLE and LOOPGATE_CA_BUNDLE."""
    context = ssl.create_default_context()
    for extra in (os.environ.get("REQUESTS_CA_BUNDLE"), ca_bundle):
        if extra:
            context.load_verify_locations(cafile=extra)
    return context


def build_client(*, api_url: str, token: str, ca_bundle: str | None, timeout: float) -> pagerduty.RestApiV2Client:
    client = pagerduty.RestApiV2Client(token, base_url=api_url, verify=ssl_context(ca_bundle))
    client.timeout = timeout  # type: ignore[assignment]  # typed int from its default (60); httpx takes a float
    client.max_network_attempts = 0  # a network error surfaces at once; RetryPolicy decides
    # With these two, every 429 comes straight back to us instead of the package's endless loop.
    client.retry = {429: 1}
    client.max_http_attempts = -1
    return client


class PagerDutyReader:
    def __init__(self, client: pagerduty.RestApiV2Client, *, policy: RetryPolicy = RetryPolicy(),
                 sleep: Callable[[float], Any] = asyncio.sleep, limit: RateLimit | None = None) -> None:
        self._client = client
        self._policy = policy
        self._sleep = sleep
        self._limit = limit

    async def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One GET, retried by the policy; raises FetchError after the last try."""
        reason = "no attempt made"
        for attempt in range(self._policy.attempts):
            if self._limit is not None:
                await self._limit.acquire()
            try:
                response = await asyncio.to_thread(self._client.get, path, params=params or {})
            except pagerduty.Error as exc:
                reason = f"network error: {exc.__cause__ or exc}"
                wait = self._policy.backoff(attempt)
            else:
                status = response.status_code
                if status == 200:
                    return response.json()
                if status == 429:
                    reason = "rate limited (429)"
                    wait = min(_seconds(response.headers.get("ratelimit-reset"), self._policy.backoff(attempt)),
                               self._policy.max_wait_seconds)
                elif status >= 500:
                    reason = f"HTTP {status}"
                    wait = self._policy.backoff(attempt)
                else:
                    raise FetchError(f"HTTP {status}: {_error_message(response)}")
            if attempt + 1 < self._policy.attempts:
                await self._sleep(wait)
        raise FetchError(f"{reason} after {self._policy.attempts} attempts")

    async def list_page(self, path: str, key: str, params: dict[str, Any], *, offset: int
                        ) -> tuple[list[dict[str, Any]], bool, int | None]:
        """One page of an offset-paginated list: its items, whether more follow, and the total when asked for."""
        page = await self.get(path, {**params, "limit": PAGE_SIZE, "offset": offset})
        total = page.get("total")
        return list(page.get(key) or []), bool(page.get("more")), total if isinstance(total, int) else None

    async def incident(self, incident_id: str) -> dict[str, Any]:
        return (await self.get(f"/incidents/{incident_id}"))["incident"]

    async def notes(self, incident_id: str) -> list[dict[str, Any]]:
        return (await self.get(f"/incidents/{incident_id}/notes"))["notes"]

    async def pages(self, path: str, key: str, params: dict[str, Any] | None = None
                    ) -> tuple[list[dict[str, Any]], str | None]:
        """Every page of an offset-paginated list, in sequence; on failure, what was read and why it stopped."""
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            try:
                page = await self.get(path, {**(params or {}), "limit": PAGE_SIZE, "offset": offset})
            except FetchError as exc:
                return items, f"stopped at offset {offset}: {exc}"
            batch = page.get(key) or []
            items.extend(batch)
            if not page.get("more") or not batch:
                return items, None
            offset += len(batch)

    def close(self) -> None:
        self._client.close()


def _seconds(value: str | None, default: float) -> float:
    try:
        return max(float(value), 0.0) if value is not None else default
    except ValueError:
        return default


def _error_message(response: Any) -> str:
    try:
        return str(response.json().get("error", {}).get("message") or response.text[:200])
    except ValueError:
        return response.text[:200]
