"""Prometheus plumbing: request metrics by route template (a plain ASGI middleware: it sits on the
hot path), webhook deliveries by outcome, and job runs."""

import functools
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("loopgate_http_requests", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "loopgate_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

WEBHOOK_DELIVERIES = Counter("loopgate_webhook_deliveries", "Webhook deliveries by source and outcome",
                             ["source", "outcome"])
JOB_RUNS = Counter("loopgate_job_runs", "Job runs, by job", ["job"])
JOB_FAILURES = Counter("loopgate_job_failures", "Job runs that raised; their rows stay for the sweeper", ["job"])
JOB_DURATION = Histogram("loopgate_job_duration_seconds", "How long a job run took", ["job"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))

# A webhook's answer, as the outcome of the delivery.
OUTCOMES = {202: "accepted", 200: "duplicate", 400: "bad_request", 401: "unauthorized", 413: "too_large",
            499: "disconnected"}

P = ParamSpec("P")
R = TypeVar("R")


def webhook_delivered(source: str, status: int) -> None:
    WEBHOOK_DELIVERIES.labels(source, OUTCOMES.get(status, "error")).inc()


def instrumented(job: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Count a job's runs, failures and duration, wherever it runs (in-process or an arq worker)."""

    @functools.wraps(job)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        name = job.__name__
        JOB_RUNS.labels(name).inc()
        started = time.perf_counter()
        try:
            return await job(*args, **kwargs)
        except Exception:
            JOB_FAILURES.labels(name).inc()
            raise
        finally:
            JOB_DURATION.labels(name).observe(time.perf_counter() - started)

    return run


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
