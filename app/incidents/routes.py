from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from app.core.clock import as_utc
from app.core.errors import error_responses
from app.core.runtime import SessionDep
from app.incidents import service
from app.incidents.schemas import IncidentList, IncidentPublic
from app.models.incidents import Incident
from app.tokens.auth import ReadDep

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], responses=error_responses(401, 403, 422))

Status = Literal["triggered", "acknowledged", "resolved"]
UTCQuery = Annotated[datetime, AfterValidator(as_utc)]


@router.get("", response_model=IncidentList, responses=error_responses(400))
async def list_incidents(
    session: SessionDep,
    _: ReadDep,
    service_: Annotated[str | None, Query(alias="service", description="PagerDuty service id or name")] = None,
    team: Annotated[str | None, Query(description="PagerDuty team id or name")] = None,
    status: Status | None = None,
    severity: str | None = None,
    since: Annotated[UTCQuery | None, Query(description="triggered at or after (UTC when no offset)")] = None,
    until: Annotated[UTCQuery | None, Query(description="triggered before (UTC when no offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> IncidentList:
    """Incidents, most recently triggered first."""
    page = await service.list_incidents(session, service=service_, team=team, status=status, severity=severity,
                                        since=since, until=until, limit=limit, cursor=cursor)
    return IncidentList(items=page.items, next_cursor=page.next_cursor)


@router.get("/{incident_id}", response_model=IncidentPublic, responses=error_responses(404))
async def get_incident(incident_id: str, session: SessionDep, _: ReadDep) -> Incident:
    """One incident, by Loopgate id or PagerDuty incident id."""
    return await service.get_incident(session, incident_id=incident_id)
