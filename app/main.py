"""The ASGI application: `app.main:app`, built by `create_app()`."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.models import OpenAPI
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.core import health
from app.core.errors import install_error_handlers
from app.core.observability import RequestMetrics
from app.core.settings import Settings, load_settings
from app.gates.routes import router as gates_router
from app.gates.service import integration_gate
from app.inbound.jira import webhook as jira_webhook
from app.inbound.pagerduty import webhook as pagerduty_webhook
from app.inbound.receive import Webhook
from app.incidents.routes import router as incidents_router
from app.metrics.gauges import start_refresh
from app.metrics.maturity import check_thresholds
from app.metrics.routes import router as metrics_router
from app.notifications.routes import router as subscriptions_router
from app.packets.routes import router as packets_router
from app.postmortems.routes import router as postmortems_router
from app.runtime import open_runtime, start_schedule, start_sweeper
from app.tickets.routes import router as tickets_router
from app.tokens.routes import router as tokens_router

VERSION = "0.1.0"


class Loopgate(FastAPI):
    """FastAPI, with each webhook's POST handed to it before the middleware stack and the router.

    Webhooks carry the load; FastAPI's layers cost more than storing the delivery
    (docs/decisions/0005-webhooks-outside-fastapi.md). The router holds them too, so other
    methods get the usual 405, and the OpenAPI schema documents them.
    """

    def __init__(self, *, webhooks: tuple[Webhook, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.webhook_endpoints = {webhook.path: webhook for webhook in webhooks}
        self.router.routes.extend(Route(webhook.path, webhook, methods=["POST"]) for webhook in webhooks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            webhook = self.webhook_endpoints.get(scope["path"])
            if webhook is not None:
                scope["app"] = self
                await webhook(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = super().openapi()
            webhooks = {path: {"post": webhook.openapi_operation()} for path, webhook in self.webhook_endpoints.items()}
            schema["paths"] = {**webhooks, **schema["paths"]}
            # Through FastAPI's own models, as its operations were: same key order, no shared objects.
            self.openapi_schema = jsonable_encoder(OpenAPI(**schema), by_alias=True, exclude_none=True)
        return self.openapi_schema


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    check_thresholds(settings.maturity_thresholds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await open_runtime(settings)
        app.state.runtime = runtime
        # What start-up built lives as long as the process: keep it out of the collector's full
        # passes, which otherwise stall the event loop for 40–175 ms (bench/packet.py).
        gc.collect()
        gc.freeze()
        if runtime.redis is None:
            start_sweeper(runtime)
            if settings.schedule_in_process:
                start_schedule(runtime)
        start_refresh(runtime)
        try:
            yield
        finally:
            await runtime.close()

    app = Loopgate(
        webhooks=(pagerduty_webhook, jira_webhook),
        title="Loopgate",
        version=VERSION,
        summary="Turns incidents into engineering change: PagerDuty in, postmortems as data, Jira out, gates for CI.",
        lifespan=lifespan,
    )
    app.state.integration_gate = integration_gate  # the port of app/postmortems/gate.py
    install_error_handlers(app)
    app.add_middleware(RequestMetrics)
    app.include_router(health.router)
    app.include_router(tokens_router)
    app.include_router(incidents_router)
    app.include_router(postmortems_router)
    app.include_router(tickets_router)
    app.include_router(packets_router)
    app.include_router(gates_router)
    app.include_router(metrics_router)
    app.include_router(subscriptions_router)
    return app


app = create_app()
