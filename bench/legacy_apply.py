"""The apply path before issue 14, kept for bench/apply.py's in-run baseline: one stored event per job.

A copy of `handle_inbound` (app/inbound/jobs.py), `claim`/`mark_handled`/`record_failure`
(app/inbound/service.py) and `apply_pagerduty_event` with its helpers (app/incidents/service.py)
as they were at e25009d, importing only what did not change (models, core, the fold). Not used by
the application.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock, events
from app.core.db import in_transaction, insert_for, lock_for_update
from app.core.dml import rowcount
from app.core.queue import enqueue_after_commit
from app.core.runtime import runtime_of
from app.incidents.events import IncidentResolved
from app.incidents.fold import EventRecord, IncidentState, fold, incident_reference, parse_time
from app.models import audit
from app.models.inbound import InboundEvent
from app.models.incidents import Incident, IncidentEvent, IncidentTeam, RepeatRelink

INCIDENT_FIELDS = tuple(f for f in IncidentState.__dataclass_fields__ if f != "external_id")


async def handle_inbound_one(ctx: Any, inbound_id: str) -> None:
    """The old job: claim one row, apply it, mark it handled, commit."""
    runtime = runtime_of(ctx)
    event_id = uuid.UUID(inbound_id)

    async def apply(session: AsyncSession) -> None:
        query = sa.select(InboundEvent).where(col(InboundEvent.id) == event_id,
                                              col(InboundEvent.handled_at).is_(None))
        event = await session.scalar(lock_for_update(session, query, skip_locked=True))
        if event is None:
            return
        await apply_pagerduty_event(session, event, runtime.settings)
        event.handled_at = clock.now()
        event.attempts += 1
        event.error = None
        await session.commit()

    try:
        await in_transaction(runtime.sessionmaker, apply)
    except Exception as exc:
        async with runtime.sessionmaker() as session:
            await session.execute(sa.update(InboundEvent).where(col(InboundEvent.id) == event_id)
                                  .values(attempts=col(InboundEvent.attempts) + 1, error=str(exc)[:4000]))
            await session.commit()


async def apply_pagerduty_event(session: AsyncSession, inbound: InboundEvent, settings: Any) -> None:
    event = inbound.payload["event"]
    ref = incident_reference(event.get("data"))
    occurred_at = parse_time(event.get("occurred_at")) or inbound.received_at
    if ref is None:
        return
    incident = await _lock_or_create(session, external_id=ref["id"])
    recorded = await session.execute(
        insert_for(session, IncidentEvent)
        .values(id=uuid.uuid4(), incident_id=incident.id, event_id=inbound.external_id, event_type=inbound.event_type,
                occurred_at=occurred_at, agent=event.get("agent"), data=event["data"])
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    if rowcount(recorded) == 0:
        return
    before = IncidentState(fingerprint=incident.fingerprint, triggered_at=incident.triggered_at,
                           resolved_at=incident.resolved_at, teams=incident.teams)
    state = fold(await _history(session, incident.id), by_priority=settings.priority_severity,
                 by_urgency=settings.urgency_severity)
    for name in INCIDENT_FIELDS:
        setattr(incident, name, getattr(state, name))
    if incident.teams != before.teams:
        await session.execute(sa.delete(IncidentTeam).where(col(IncidentTeam.incident_id) == incident.id))
        teams = {team["id"]: team.get("name") for team in incident.teams}
        session.add_all(IncidentTeam(incident_id=incident.id, team_id=tid, team_name=name)
                        for tid, name in teams.items())
    if (before.fingerprint, before.triggered_at) != (incident.fingerprint, incident.triggered_at):
        await _request_relinks(session, [(incident.fingerprint, incident.triggered_at),
                                         (before.fingerprint, before.triggered_at)])
    audit.record(session, actor="pagerduty", action=inbound.event_type, entity="incident", entity_id=incident.id,
                 diff={"event_id": inbound.external_id, "status": incident.status})
    if incident.resolved_at and incident.resolved_at != before.resolved_at and not incident.merged_into_external_id:
        await events.publish(session, IncidentResolved(incident))


async def _lock_or_create(session: AsyncSession, *, external_id: str) -> Incident:
    await session.execute(
        insert_for(session, Incident)
        .values(id=uuid.uuid4(), source="pagerduty", external_id=external_id, title="", status="triggered",
                teams=[], assignees=[], reopened_count=0, created_at=clock.now())
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
    )
    query = sa.select(Incident).where(col(Incident.source) == "pagerduty", col(Incident.external_id) == external_id)
    return (await session.scalars(lock_for_update(session, query).execution_options(populate_existing=True))).one()


async def _history(session: AsyncSession, incident_id: uuid.UUID) -> list[EventRecord]:
    rows = await session.execute(
        sa.select(col(IncidentEvent.event_id), col(IncidentEvent.event_type), col(IncidentEvent.occurred_at),
                  col(IncidentEvent.agent), col(IncidentEvent.data)).where(col(IncidentEvent.incident_id) == incident_id)
    )
    return [EventRecord(*row) for row in rows]


async def _request_relinks(session: AsyncSession, groups: list[tuple[Any, Any]]) -> None:
    now = clock.now()
    for fingerprint, around in sorted({(f, a) for f, a in groups if f is not None and a is not None}):
        token = uuid.uuid4()
        await session.execute(
            insert_for(session, RepeatRelink)
            .values(fingerprint=fingerprint, around=around, token=token, requested_at=now)
            .on_conflict_do_update(index_elements=["fingerprint", "around"], set_={"token": token, "requested_at": now})
        )
        enqueue_after_commit(session, "link_repeats", fingerprint, around.isoformat())
