"""Incidents: work out repeats, answer queries (events are applied by app/incidents/apply.py)."""

import bisect
import itertools
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from app.core import clock, events
from app.core.db import insert_for, lock_for_update, serialize_on
from app.core.errors import NotFound
from app.core.pagination import Page, paginate
from app.core.queue import enqueue_after_commit
from app.incidents.events import RepeatLinked
from app.incidents.fold import EventRecord
from app.models.incidents import Incident, IncidentEvent, IncidentTeam, RepeatRelink, by_reference, of_service


async def history(session: AsyncSession, incident_id: uuid.UUID) -> list[EventRecord]:
    """Every PagerDuty event recorded for an incident, in no particular order."""
    rows = await session.execute(
        sa.select(col(IncidentEvent.event_id), col(IncidentEvent.event_type), col(IncidentEvent.occurred_at),
                  col(IncidentEvent.agent),
                  col(IncidentEvent.data)).where(col(IncidentEvent.incident_id) == incident_id)
    )
    return [EventRecord(*row) for row in rows]


async def request_relinks(session: AsyncSession, groups: list[tuple[str | None, datetime | None]]) -> None:
    """Record that these fingerprints' repeats need recomputing, and submit the jobs after commit."""
    now = clock.now()
    # In a fixed order: two transactions requesting the same pair never wait on each other crosswise.
    wanted = sorted({(f, a) for f, a in groups if f is not None and a is not None})
    if not wanted:
        return
    upsert = insert_for(session, RepeatRelink)
    await session.execute(
        upsert.on_conflict_do_update(index_elements=["fingerprint", "around"], set_={
            "token": upsert.excluded.token, "requested_at": upsert.excluded.requested_at,
        }),
        [{"fingerprint": fingerprint, "around": around, "token": uuid.uuid4(), "requested_at": now}
         for fingerprint, around in wanted],
    )
    enqueue_after_commit(session, "link_repeats")  # one wake-up: the job takes every pending request


async def has_pending_relinks(session: AsyncSession, *, requested_before: datetime) -> bool:
    """Whether a relink requested before `requested_before` is not done yet (its job was lost or failed)."""
    query = sa.select(col(RepeatRelink.fingerprint)).where(col(RepeatRelink.requested_at) < requested_before).limit(1)
    return await session.scalar(query) is not None


_RELINKS = SQLModel.metadata.tables["repeat_relinks"]


async def relink_pending(session: AsyncSession, *, limit: int, lookback: timedelta) -> int:
    """Recompute a batch of requested relinks, oldest first, and clear them; how many there were.

    The requests are deleted first: on SQLite that write takes the lock before anything is read;
    on PostgreSQL `SKIP LOCKED` leaves requests another worker holds to it, and a request made
    again meanwhile waits for this commit, then stands as a new one. A failure rolls it all back.
    """
    pick = (sa.select(_RELINKS.c.fingerprint, _RELINKS.c.around)
            .order_by(_RELINKS.c.requested_at, _RELINKS.c.fingerprint).limit(limit))
    taken = (await session.execute(
        sa.delete(_RELINKS)
        .where(sa.tuple_(_RELINKS.c.fingerprint, _RELINKS.c.around).in_(lock_for_update(session, pick,
                                                                                           skip_locked=True)))
        .returning(_RELINKS.c.fingerprint, _RELINKS.c.around)
    )).all()
    await link_repeats_of(session, [(str(f), a) for f, a in taken], lookback=lookback)
    return len(taken)


async def relink_requested(session: AsyncSession, *, fingerprint: str, around: datetime, lookback: timedelta) -> None:
    """Recompute one requested relink and clear the request, unless it was requested again meanwhile."""
    key = (col(RepeatRelink.fingerprint) == fingerprint, col(RepeatRelink.around) == around)
    token = await session.scalar(sa.select(col(RepeatRelink.token)).where(*key))
    await link_repeats(session, fingerprint=fingerprint, around=around, lookback=lookback)
    if token is not None:
        await session.execute(sa.delete(RepeatRelink).where(*key, col(RepeatRelink.token) == token))


async def link_repeats(session: AsyncSession, *, fingerprint: str | None, around: datetime | None,
                       lookback: timedelta) -> None:
    """Set `repeat_of_id` for the incidents of a fingerprint that `around` can precede (backfill-safe)."""
    if fingerprint is not None and around is not None:
        await link_repeats_of(session, [(fingerprint, around)], lookback=lookback)


_INCIDENTS = SQLModel.metadata.tables["incidents"]


async def link_repeats_of(session: AsyncSession, requests: Sequence[tuple[str, datetime]],
                          lookback: timedelta) -> None:
    """Set `repeat_of_id` for the incidents each (fingerprint, around) request can affect: those of the
    fingerprint triggered in [around, around + lookback]. One read and one write for all the requests.

    Repeats are a function of the set of incidents: each one points at the most recent earlier
    incident of its fingerprint within the lookback, whatever order they arrived in.
    """
    if not requests:
        return
    arounds: dict[str, list[datetime]] = {}  # fingerprint → its requests' `around`, sorted
    for fingerprint, around in requests:
        arounds.setdefault(fingerprint, []).append(around)
    for moments in arounds.values():
        moments.sort()
    # Two linkings of one fingerprint at once would not see each other's writes (sorted: never crosswise).
    await serialize_on(session, (f"fingerprint:{fingerprint}" for fingerprint in arounds))
    earliest = min(moments[0] for moments in arounds.values())
    latest = max(moments[-1] for moments in arounds.values())
    rows = (await session.execute(
        sa.select(_INCIDENTS.c.fingerprint, _INCIDENTS.c.id, _INCIDENTS.c.triggered_at, _INCIDENTS.c.repeat_of_id)
        .where(_INCIDENTS.c.fingerprint.in_(sorted(arounds)),
               _INCIDENTS.c.triggered_at >= earliest - lookback, _INCIDENTS.c.triggered_at <= latest + lookback)
        .order_by(_INCIDENTS.c.fingerprint, _INCIDENTS.c.triggered_at, _INCIDENTS.c.id)
    )).all()
    changes: list[tuple[uuid.UUID, uuid.UUID | None]] = []  # (incident, what it now repeats)
    for fingerprint, of_fingerprint in itertools.groupby(rows, key=lambda row: row.fingerprint):
        changes += _relinked(of_fingerprint, arounds=arounds[fingerprint], lookback=lookback)
    if not changes:
        return
    await session.execute(
        sa.update(_INCIDENTS).where(_INCIDENTS.c.id == sa.bindparam("incident_id"))
        .values(repeat_of_id=sa.bindparam("repeat_of")),
        [{"incident_id": incident_id, "repeat_of": repeat_of} for incident_id, repeat_of in changes])
    for incident_id, repeat_of in changes:
        if repeat_of is not None:
            await events.publish(session, RepeatLinked(incident_id, repeat_of))


def _relinked(rows: Iterable[Any], *, arounds: list[datetime],
              lookback: timedelta) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    """The `repeat_of_id` changes among one fingerprint's incidents (sorted by trigger time, id) triggered
    in a requested window [around, around + lookback] (`arounds` sorted): each points at the newest
    strictly earlier incident within the lookback. Incidents between the windows are left as they are."""
    changes: list[tuple[uuid.UUID, uuid.UUID | None]] = []
    latest_before: tuple[uuid.UUID, datetime] | None = None  # the newest incident strictly earlier
    group: tuple[uuid.UUID, datetime] | None = None  # the newest incident at the current trigger time
    for row in rows:
        triggered_at = row.triggered_at
        if group is not None and group[1] < triggered_at:
            latest_before = group
        group = (row.id, triggered_at)
        in_window = latest_before is not None and triggered_at - latest_before[1] <= lookback
        wanted = latest_before[0] if in_window and latest_before is not None else None
        opened = bisect.bisect_right(arounds, triggered_at)  # the requests with around <= triggered_at
        requested = opened > 0 and triggered_at <= arounds[opened - 1] + lookback
        if requested and wanted != row.repeat_of_id:
            changes.append((row.id, wanted))
    return changes


async def get_incident(session: AsyncSession, *, incident_id: str) -> Incident:
    """An incident by Loopgate id or PagerDuty id."""
    incident = await session.scalar(sa.select(Incident).where(by_reference(incident_id)))
    if incident is None:
        raise NotFound(f"No incident {incident_id}.")
    return incident


async def list_incidents(
    session: AsyncSession, *, service: str | None = None, team: str | None = None, status: str | None = None,
    severity: str | None = None, since: datetime | None = None, until: datetime | None = None,
    limit: int = 50, cursor: str | None = None,
) -> Page[Incident]:
    """Incidents, newest trigger first, filtered as DESIGN §4 lists."""
    query = sa.select(Incident)
    if service:
        query = query.where(of_service(service))
    if team:
        teams = sa.select(col(IncidentTeam.incident_id)).where(sa.or_(col(IncidentTeam.team_id) == team,
                                                                  col(IncidentTeam.team_name) == team))
        query = query.where(col(Incident.id).in_(teams))
    if status:
        query = query.where(col(Incident.status) == status)
    if severity:
        query = query.where(col(Incident.severity) == severity)
    if since:
        query = query.where(col(Incident.triggered_at) >= since)
    if until:
        query = query.where(col(Incident.triggered_at) < until)
    return await paginate(session, query, order=(col(Incident.triggered_at), col(Incident.id)), limit=limit,
                          cursor=cursor)
