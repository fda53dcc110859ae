"""Apply a batch of stored PagerDuty events: each touched incident folded once and written once.

The events are grouped by incident; every incident of the batch is created if new and locked
(in one order, so two workers never wait on each other crosswise), the new events join its
history, and the whole history is folded in `occurred_at` order — so arrival order, and how
the events were split across batches, never matter. Follow-up work (the packet on a resolve,
repeat linking) is requested once per incident per batch and runs after commit.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

import app.models.audit  # noqa: F401  (audit_entries in the metadata)
from app.core import clock, events
from app.core.db import insert_for, lock_for_update, try_serialize_on
from app.core.inbox import StoredEvent
from app.core.settings import Settings
from app.incidents.events import IncidentResolved
from app.incidents.fold import EventRecord, IncidentState, fold, incident_reference, parse_time
from app.incidents.service import request_relinks
from app.models.incidents import Incident

# Core tables, not the ORM entities: the batch moves plain rows, and the ORM's per-row work is most of the cost.
_INCIDENTS = SQLModel.metadata.tables["incidents"]
_EVENTS = SQLModel.metadata.tables["incident_events"]
_TEAMS = SQLModel.metadata.tables["incident_teams"]
_AUDIT = SQLModel.metadata.tables["audit_entries"]

INCIDENT_FIELDS = tuple(f for f in IncidentState.__dataclass_fields__ if f != "external_id")
NO_INCIDENT = ""  # the group of events that are not about an incident (`pagey.ping`, `service.*`)


def incident_of(inbound: StoredEvent) -> str:
    """The PagerDuty incident a stored event is about (its group in a batch); "" when none."""
    ref = incident_reference(inbound.payload["event"].get("data"))
    return str(ref["id"]) if ref is not None else NO_INCIDENT


@dataclass
class _Touched:
    """One incident of the batch: its new events (as stored rows and as fold records)."""

    external_id: str
    rows: list[StoredEvent] = field(default_factory=list)
    records: list[EventRecord] = field(default_factory=list)


def _group(batch: Sequence[StoredEvent]) -> dict[str, _Touched]:
    touched: dict[str, _Touched] = {}
    for inbound in batch:
        event = inbound.payload["event"]
        ref = incident_reference(event.get("data"))
        if ref is None:
            continue  # stored and acknowledged, but it changes nothing
        occurred_at = parse_time(event.get("occurred_at")) or inbound.received_at
        entry = touched.setdefault(ref["id"], _Touched(ref["id"]))
        entry.rows.append(inbound)
        entry.records.append(EventRecord(inbound.external_id, inbound.event_type, occurred_at, event.get("agent"),
                                         event["data"]))
    return touched


async def apply_pagerduty_events(session: AsyncSession, batch: Sequence[StoredEvent],
                                 settings: Settings) -> list[uuid.UUID]:
    """Record a batch of PagerDuty events in their incidents' histories and re-fold each incident once;
    the rows left for a later batch (their incident is being applied by another worker right now).

    An event recorded before (a second run, a second worker) is skipped: its incident reflects it.
    """
    touched = _group(batch)
    # Workers share a backlog: an incident another worker is applying now is left to a later batch
    # rather than waited for (its events then land after that worker's commit, in the same fold).
    keys = {external_id: apply_lock_key(external_id) for external_id in touched}
    ours = await try_serialize_on(session, keys.values())
    mine = {external_id: entry for external_id, entry in touched.items() if keys[external_id] in ours}
    if mine:
        await _apply(session, mine, settings)
    return [row.id for external_id, entry in touched.items() if external_id not in mine for row in entry.rows]


def apply_lock_key(external_id: str) -> str:
    """The lock a worker holds on an incident while it applies that incident's events (PostgreSQL)."""
    return f"incident:pagerduty:{external_id}"


async def _apply(session: AsyncSession, touched: Mapping[str, _Touched], settings: Settings) -> None:
    incidents = await _lock_or_create(session, external_ids=sorted(touched))
    # The incidents are locked, and an event belongs to one incident: their histories are complete
    # and stay so until commit, so they also say which of the batch's events were recorded before.
    histories = await _histories(session, [incident["id"] for incident in incidents.values()])
    new = await _record_new_events(session, touched, incidents, histories)
    if not new:
        return
    relinks: list[tuple[str | None, datetime | None]] = []
    updates: list[dict[str, Any]] = []
    team_changes: dict[uuid.UUID, list[dict[str, Any]]] = {}
    audit: list[dict[str, Any]] = []
    resolved: list[uuid.UUID] = []
    now = clock.now()
    for external_id, entry in new.items():
        before = incidents[external_id]
        incident_id = before["id"]
        state = fold(histories[incident_id], by_priority=settings.priority_severity,
                     by_urgency=settings.urgency_severity)
        after = {name: getattr(state, name) for name in INCIDENT_FIELDS}
        if any(before[name] != value for name, value in after.items()):
            updates.append({"_id": incident_id, **{f"v_{name}": value for name, value in after.items()}})
        if after["teams"] != before["teams"]:
            team_changes[incident_id] = after["teams"]
        if (before["fingerprint"], before["triggered_at"]) != (state.fingerprint, state.triggered_at):
            # Repeats are relinked in their own transactions, after this one commits: linking locks
            # other incidents' rows, and doing it while this batch holds its incidents could deadlock.
            relinks += [(state.fingerprint, state.triggered_at), (before["fingerprint"], before["triggered_at"])]
        audit += [{"id": uuid.uuid4(), "at": now, "actor": "pagerduty", "action": row.event_type,
                   "entity": "incident", "entity_id": str(incident_id),
                   "diff": {"event_id": row.external_id, "status": state.status}} for row in entry.rows]
        # A new resolve (the first, or one after a reopen) starts the packet; a merge links to its target instead.
        if state.resolved_at and state.resolved_at != before["resolved_at"] and not state.merged_into_external_id:
            resolved.append(incident_id)
    if updates:
        await session.execute(_UPDATE, updates)
    await _replace_teams(session, team_changes)
    await session.execute(sa.insert(_AUDIT), audit)
    await request_relinks(session, relinks)
    for incident_id in resolved:
        incident = await session.get_one(Incident, incident_id, populate_existing=True)
        await events.publish(session, IncidentResolved(incident))


# Every folded column of one incident, by its id: one statement executed for all the batch's incidents.
_UPDATE = (sa.update(_INCIDENTS).where(_INCIDENTS.c.id == sa.bindparam("_id"))
           .values({name: sa.bindparam(f"v_{name}") for name in INCIDENT_FIELDS}))


async def _lock_or_create(session: AsyncSession, *, external_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The batch's incidents (their current columns), created if new and locked for this transaction,
    in one order (sorted), so that two workers never wait for each other crosswise."""
    now = clock.now()
    await session.execute(
        insert_for(session, _INCIDENTS).on_conflict_do_nothing(index_elements=["source", "external_id"]),
        [{"id": uuid.uuid4(), "source": "pagerduty", "external_id": external_id, "title": "", "status": "triggered",
          "teams": [], "assignees": [], "reopened_count": 0, "created_at": now} for external_id in external_ids],
    )
    query = (sa.select(_INCIDENTS.c.id, _INCIDENTS.c.external_id, *(_INCIDENTS.c[name] for name in INCIDENT_FIELDS))
             .where(_INCIDENTS.c.source == "pagerduty", _INCIDENTS.c.external_id.in_(external_ids))
             .order_by(_INCIDENTS.c.external_id))
    rows = await session.execute(lock_for_update(session, query))
    return {row.external_id: row._asdict() for row in rows}


async def _record_new_events(session: AsyncSession, touched: Mapping[str, _Touched],
                             incidents: Mapping[str, Mapping[str, Any]],
                             histories: dict[uuid.UUID, list[EventRecord]]) -> dict[str, _Touched]:
    """Add the events not recorded before to their incidents' histories (in the database and in
    `histories`); the incidents that got one, with only those events."""
    known = {record.event_id for history in histories.values() for record in history}
    new: dict[str, _Touched] = {}
    values = []
    for external_id, entry in touched.items():
        incident_id = incidents[external_id]["id"]
        fresh = _Touched(external_id)
        for row, record in zip(entry.rows, entry.records, strict=True):
            if record.event_id in known:
                continue
            known.add(record.event_id)
            fresh.rows.append(row)
            fresh.records.append(record)
            histories[incident_id].append(record)
            values.append({"id": uuid.uuid4(), "incident_id": incident_id, "event_id": record.event_id,
                           "event_type": record.event_type, "occurred_at": record.occurred_at,
                           "agent": record.agent, "data": record.data})
        if fresh.rows:
            new[external_id] = fresh
    if values:
        await session.execute(sa.insert(_EVENTS), values)
    return new


async def _histories(session: AsyncSession, incident_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[EventRecord]]:
    """Every recorded event of these incidents, by incident."""
    rows = await session.execute(
        sa.select(_EVENTS.c.incident_id, _EVENTS.c.event_id, _EVENTS.c.event_type, _EVENTS.c.occurred_at,
                  _EVENTS.c.agent, _EVENTS.c.data)
        .where(_EVENTS.c.incident_id.in_(incident_ids))
    )
    out: dict[uuid.UUID, list[EventRecord]] = {incident_id: [] for incident_id in incident_ids}
    for incident_id, *record in rows:
        out[incident_id].append(EventRecord(*record))
    return out


async def _replace_teams(session: AsyncSession, teams_of: Mapping[uuid.UUID, list[dict[str, Any]]]) -> None:
    if not teams_of:
        return
    await session.execute(sa.delete(_TEAMS).where(_TEAMS.c.incident_id.in_(list(teams_of))))
    rows = [{"incident_id": incident_id, "team_id": tid, "team_name": name} for incident_id, teams in teams_of.items()
            for tid, name in {team["id"]: team.get("name") for team in teams}.items()]
    if rows:
        await session.execute(sa.insert(_TEAMS), rows)
