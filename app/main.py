"""The ASGI application: `app.main:app`, built by `create_app()`."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import health
from app.config import Settings, load_settings
from app.errors import install_error_handlers
from app.observability import RequestMetrics
from app.gatekeeper.routes import router as gates_router
from app.incidents.routes import router as incidents_router
from app.integrations.jira.webhook import router as jira_webhook_router
from app.integrations.pagerduty.webhook import router as pagerduty_webhook_router
from app.packets.routes import router as packets_router
from app.postmortems.routes import router as postmortems_router
from app.runtime import open_runtime, start_sweeper
from app.tokens.routes import router as tokens_router

VERSION = "0.1.0"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

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
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="Loopgate",
        version=VERSION,
        summary="Turns incidents into engineering change: PagerDuty in, postmortems as data, Jira out, gates for CI.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(RequestMetrics)
    # Webhooks first: routes are matched in order, and these carry the load.
    app.include_router(pagerduty_webhook_router)
    app.include_router(jira_webhook_router)
    app.include_router(health.router)
    app.include_router(tokens_router)
    app.include_router(incidents_router)
    app.include_router(postmortems_router)
    app.include_router(packets_router)
    app.include_router(gates_router)
    return app


app = create_app()
