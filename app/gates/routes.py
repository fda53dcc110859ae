"""The gates CI asks: may this postmortem close, may this service deploy (read-only, `gates:read`)."""

import uuid

from fastapi import APIRouter

from app.core.errors import error_responses
from app.core.runtime import SessionDep, SettingsDep
from app.gates import service
from app.gates.schemas import PostmortemGate, ServiceGate, violation_public
from app.tokens.auth import GatesReadDep

router = APIRouter(prefix="/api/v1/gates", tags=["gates"], responses=error_responses(401, 403, 422))


@router.get("/postmortems/{postmortem_id}", response_model=PostmortemGate, responses=error_responses(404))
async def postmortem_gate(postmortem_id: uuid.UUID, session: SessionDep, settings: SettingsDep,
                          _: GatesReadDep) -> PostmortemGate:
    """May this postmortem close? The Integration Gate, evaluated now, read-only."""
    result, at = await service.postmortem_gate(session, postmortem_id=postmortem_id, settings=settings)
    return PostmortemGate(postmortem_id=postmortem_id, passed=result.passed,
                          violations=[violation_public(v) for v in result.violations],
                          warnings=[violation_public(w) for w in result.warnings], evaluated_at=at)


@router.get("/services/{service_ref}", response_model=ServiceGate)
async def service_gate(service_ref: str, session: SessionDep, settings: SettingsDep,
                       _: GatesReadDep) -> ServiceGate:
    """May this service deploy? Fails on an overdue P1 action item or an overdue required postmortem."""
    result, at = await service.service_gate(session, service=service_ref, settings=settings)
    return ServiceGate(service=service_ref, passed=result.passed,
                       violations=[violation_public(v) for v in result.violations],
                       warnings=[violation_public(w) for w in result.warnings], evaluated_at=at)
