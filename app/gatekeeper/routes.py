import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.auth import GatesReadDep
from app.db import SessionDep
from app.errors import error_responses
from app.gatekeeper import service

router = APIRouter(prefix="/api/v1/gates", tags=["gates"], responses=error_responses(401, 403, 422))


class PostmortemGate(BaseModel):
    postmortem_id: uuid.UUID
    passed: bool
    violations: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    evaluated_at: datetime


class ServiceGate(BaseModel):
    service: str
    passed: bool
    violations: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    evaluated_at: datetime


@router.get("/postmortems/{postmortem_id}", response_model=PostmortemGate, responses=error_responses(404))
async def postmortem_gate(postmortem_id: uuid.UUID, request: Request, session: SessionDep,
                          _: GatesReadDep) -> PostmortemGate:
    """May this postmortem close? The Integration Gate, evaluated now, read-only."""
    result, at = await service.postmortem_gate(session, postmortem_id=postmortem_id,
                                               settings=request.app.state.runtime.settings)
    return PostmortemGate(postmortem_id=postmortem_id, **result.to_dict(), evaluated_at=at)


@router.get("/services/{service_ref}", response_model=ServiceGate)
async def service_gate(service_ref: str, request: Request, session: SessionDep, _: GatesReadDep) -> ServiceGate:
    """May this service deploy? Fails on an overdue P1 action item or an overdue required postmortem."""
    result, at = await service.service_gate(session, service=service_ref, settings=request.app.state.runtime.settings)
    return ServiceGate(service=service_ref, **result.to_dict(), evaluated_at=at)
