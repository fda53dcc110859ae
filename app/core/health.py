"""Liveness, readiness and the Prometheus scrape endpoint."""

import asyncio

import sqlalchemy as sa
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.core.errors import NotReady, error_responses
from app.core.runtime import RuntimeDep

router = APIRouter(tags=["operations"])
CHECK_TIMEOUT = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses=error_responses(503))
async def readyz(runtime: RuntimeDep) -> dict[str, object]:
    """The database, and Redis when configured, answer."""
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            async with runtime.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}: {exc}"
    if runtime.redis is not None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await runtime.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}: {exc}"
    failing = {name: state for name, state in checks.items() if state != "ok"}
    if failing:
        raise NotReady("Not ready: " + "; ".join(f"{k} {v}" for k, v in failing.items()), details=checks)
    return {"status": "ready", "checks": checks}


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics() -> Response:
    """Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
