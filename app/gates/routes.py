"""The gates CI asks: may this postmortem close, may this service deploy (read-only, `gates:read`), and the
same answers as SVG badges (public when LOOPGATE_PUBLIC_BADGES is true)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from app.core.errors import error_responses
from app.core.runtime import SessionDep, SettingsDep
from app.gates import service
from app.gates.badge import badge_svg
from app.gates.rules import GateResult
from app.gates.schemas import PostmortemGate, ServiceGate, violation_public
from app.models.tokens import Scope
from app.tokens.auth import GatesReadDep, require_unless

router = APIRouter(prefix="/api/v1/gates", tags=["gates"], responses=error_responses(401, 403, 422))

BadgeDep = Annotated[None, Depends(require_unless(Scope.gates_read, open_when=lambda s: s.public_badges))]
SVG = "image/svg+xml"
_SVG_OK: dict[int | str, dict[str, Any]] = {200: {"content": {SVG: {"schema": {"type": "string"}}},
                                                  "description": "the badge"}}


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


def _badge(*, label: str, result: GateResult, subject: str) -> Response:
    # no-cache: image proxies (GitHub's camo) revalidate, so the badge follows the gate.
    return Response(badge_svg(label=label, result=result, subject=subject), media_type=SVG,
                    headers={"Cache-Control": "no-cache, max-age=0"})


@router.get("/postmortems/{postmortem_id}/badge.svg", response_class=Response,
            responses={**_SVG_OK, **error_responses(404)})
async def postmortem_badge(postmortem_id: uuid.UUID, session: SessionDep, settings: SettingsDep,
                           _: BadgeDep) -> Response:
    """The Integration Gate of a postmortem as an SVG badge: `passing` or `N violations`."""
    result, _at = await service.postmortem_gate(session, postmortem_id=postmortem_id, settings=settings)
    return _badge(label="postmortem gate", result=result, subject=f"postmortem {postmortem_id}")


@router.get("/services/{service_ref}/badge.svg", response_class=Response, responses=_SVG_OK)
async def service_badge(service_ref: str, session: SessionDep, settings: SettingsDep, _: BadgeDep) -> Response:
    """The deploy gate of a service as an SVG badge: `passing` or `N violations`."""
    result, _at = await service.service_gate(session, service=service_ref, settings=settings)
    return _badge(label="deploy gate", result=result, subject=f"service {service_ref}")
