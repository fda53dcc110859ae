"""Liveness, readiness (database and Redis) and the Prometheus endpoint."""

import httpx

from app.core.settings import Settings
from app.main import create_app


async def test_healthz_and_readyz(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


async def test_readyz_is_503_with_the_reason_when_the_database_is_unreachable():
    app = create_app(Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/nothing"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "not_ready"
    assert body["details"]["database"].startswith("unreachable")


async def test_readyz_checks_redis_when_configured(settings, redis_url):
    from arq.connections import ArqRedis

    app = create_app(settings.model_copy(update={"redis_url": redis_url}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
            # Redis goes away after start-up: not ready, and the answer says why.
            working = app.state.runtime.redis
            app.state.runtime.redis = ArqRedis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
            try:
                lost = await client.get("/readyz")
            finally:
                await app.state.runtime.redis.aclose()
                app.state.runtime.redis = working
    assert lost.status_code == 503
    assert lost.json()["details"]["redis"].startswith("unreachable")
    assert lost.json()["details"]["database"] == "ok"


async def test_metrics_count_requests_by_route_template(client):
    await client.get("/api/v1/incidents/PABC123")
    text = (await client.get("/metrics")).text
    assert 'loopgate_http_requests_total{method="GET",route="/api/v1/incidents/{incident_id}",status="401"}' in text
    assert "loopgate_http_request_duration_seconds_bucket" in text
