"""The measures of DESIGN §5 as samples: the rows they are computed over, in SQL.

Measures over the same rows and anchor form a family, one query: its sample selects `g` (the
group of the anchor timestamp: one constant for a summary, a week or month for trends) and a
column per measure, named after it, with seconds (a duration) or 1/0 (a rate's hit), NULL where
the row is not in that measure's sample. `app/metrics/sql.py` aggregates samples;
`app/metrics/service.py` runs them. The window applies to the family's anchor; rows whose
anchor is NULL are in no window.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.metrics.sql import ONE_GROUP, Sample, epoch, flag, seconds_between, utc_date
from app.models.incidents import Incident, IncidentTeam, of_service
from app.models.packets import EventPacket, PacketStatus
from app.models.postmortems import (
    CLOSED_STATUSES,
    ActionItem,
    ActionItemStatus,
    Finding,
    Postmortem,
    PostmortemIncident,
    PostmortemStatus,
    overdue_condition,
)

PUBLISHED = (PostmortemStatus.published, PostmortemStatus.closed)
ASSEMBLED = (PacketStatus.complete, PacketStatus.partial)
DAY = 86400.0


class Kind(StrEnum):
    duration = "duration"
    rate = "rate"


@dataclass(frozen=True)
class Scope:
    """What a reader asked for: a window on each measure's anchor, a service, a team, and how to group."""

    now: datetime
    since: datetime | None = None
    until: datetime | None = None
    service: str | None = None
    team: str | None = None
    required_severities: tuple[str, ...] = ("critical", "high")
    packet_sla_hours: int = 24
    bucket: Callable[[Any], sa.ColumnElement[str]] | None = None  # None: one group

    @property
    def grouped(self) -> bool:
        return self.bucket is not None

    def group(self, anchor: Any) -> sa.ColumnElement[str]:
        key = self.bucket(anchor) if self.bucket else ONE_GROUP
        return key.label("g")

    def window(self, anchor: Any) -> list[sa.ColumnElement[bool]]:
        conditions = [anchor.is_not(None)]
        if self.since is not None:
            conditions.append(anchor >= self.since)
        if self.until is not None:
            conditions.append(anchor < self.until)
        return conditions

    @property
    def today(self) -> date:
        return self.now.date()


def incident_scope(scope: Scope, incident: Any = Incident) -> list[sa.ColumnElement[bool]]:
    """The service and team filters on an incident (by id or name, as on GET /incidents)."""
    conditions: list[sa.ColumnElement[bool]] = []
    if scope.service:
        conditions.append(of_service(scope.service) if incident is Incident
                          else sa.or_(incident.service_id == scope.service, incident.service_name == scope.service))
    if scope.team:
        conditions.append(sa.exists().where(
            col(IncidentTeam.incident_id) == incident.id,
            sa.or_(col(IncidentTeam.team_id) == scope.team, col(IncidentTeam.team_name) == scope.team)))
    return conditions


def postmortem_scope(scope: Scope, postmortem_id: Any) -> list[sa.ColumnElement[bool]]:
    """A postmortem is a service's (a team's) when one of its incidents is."""
    if not scope.service and not scope.team:
        return []
    covered = aliased(Incident)
    return [sa.exists().where(col(PostmortemIncident.postmortem_id) == postmortem_id,
                              col(PostmortemIncident.incident_id) == covered.id,
                              *incident_scope(scope, covered))]


# --- incidents, by triggered_at -------------------------------------------------------------


def incidents_by_triggered(scope: Scope) -> Sample:
    """mttr, mtta, voluntary_reporting_rate, repeat_incident_rate: one scan of the incidents.
    A duration is NULL (not in its sample) where the incident was not resolved (acknowledged)."""
    return (sa.select(scope.group(Incident.triggered_at),
                      seconds_between(Incident.triggered_at, Incident.resolved_at).label("mttr"),
                      seconds_between(Incident.triggered_at, Incident.acknowledged_at).label("mtta"),
                      flag(col(Incident.reported_by) == "human").label("voluntary_reporting_rate"),
                      flag(col(Incident.repeat_of_id).is_not(None)).label("repeat_incident_rate"))
            .where(*scope.window(Incident.triggered_at), *incident_scope(scope)))


# --- incidents, by resolved_at ---------------------------------------------------------------


def incidents_by_resolved(scope: Scope) -> Sample:
    """postmortem_completion_rate, time_to_packet, packet_sla_breach_rate: one scan of the
    resolved incidents with their packet v1 (at most one: unique on incident and version)."""
    packet: Any = aliased(EventPacket, name="first_packet")
    learned = (sa.select(col(PostmortemIncident.incident_id))
               .join(Postmortem, col(Postmortem.id) == PostmortemIncident.postmortem_id)
               .where(col(Postmortem.status).in_(PUBLISHED)))
    assembled = sa.and_(packet.status.in_(ASSEMBLED), packet.assembled_at.is_not(None))
    # The SLA due time: packet v1's stored one, else resolved_at + the SLA; counted once it has passed.
    due = sa.func.coalesce(epoch(packet.sla_due_at), epoch(Incident.resolved_at) + scope.packet_sla_hours * 3600.0)
    on_time = sa.and_(assembled, epoch(packet.assembled_at) <= due)
    return (sa.select(scope.group(Incident.resolved_at),
                      sa.case((col(Incident.severity).in_(scope.required_severities),
                               flag(col(Incident.id).in_(learned)))).label("postmortem_completion_rate"),
                      sa.case((assembled, seconds_between(Incident.resolved_at, packet.assembled_at)))
                      .label("time_to_packet"),
                      sa.case((due <= scope.now.timestamp(), flag(sa.not_(on_time)))).label("packet_sla_breach_rate"))
            .select_from(Incident).outerjoin(packet, sa.and_(packet.incident_id == Incident.id, packet.version == 1))
            .where(*scope.window(Incident.resolved_at), *incident_scope(scope)))


# --- postmortems, by published_at ------------------------------------------------------------


def _remediated() -> Any:
    """Per postmortem whose action items are all completed or wont_do, at least one completed:
    when its last fix was completed (a completed item always has its completed_at)."""
    items: Sample = (sa.select(col(Finding.postmortem_id).label("postmortem_id"),
                               sa.func.max(ActionItem.completed_at).label("completed_at"))
                     .join(Finding, col(Finding.id) == ActionItem.finding_id)
                     .group_by(col(Finding.postmortem_id))
                     .having(sa.func.sum(flag(col(ActionItem.status).not_in(CLOSED_STATUSES))) == 0)
                     .having(sa.func.sum(flag(col(ActionItem.status) == ActionItemStatus.completed)) > 0))
    return items.subquery("remediated")


def postmortems_by_published(scope: Scope) -> Sample:
    """time_to_insight (published_at − the latest resolved_at of its incidents), time_to_remediation
    and incident_to_improvement (from the earliest triggered_at) of the published postmortems, in
    one query: each postmortem's incidents and its action items are aggregated once for all three.
    NULL where a postmortem has no resolved incident, or is not remediated."""
    span = (sa.select(col(PostmortemIncident.postmortem_id).label("postmortem_id"),
                      sa.func.max(Incident.resolved_at).label("resolved_at"),
                      sa.func.min(Incident.triggered_at).label("triggered_at"))
            .join(Incident, col(Incident.id) == PostmortemIncident.incident_id)
            .group_by(col(PostmortemIncident.postmortem_id)).subquery("incidents_span"))
    done = _remediated()
    return (sa.select(scope.group(Postmortem.published_at),
                      seconds_between(span.c.resolved_at, Postmortem.published_at).label("time_to_insight"),
                      seconds_between(Postmortem.published_at, done.c.completed_at).label("time_to_remediation"),
                      seconds_between(span.c.triggered_at, done.c.completed_at).label("incident_to_improvement"))
            .select_from(Postmortem)
            .outerjoin(span, span.c.postmortem_id == Postmortem.id)
            .outerjoin(done, done.c.postmortem_id == Postmortem.id)
            .where(col(Postmortem.status).in_(PUBLISHED), *scope.window(Postmortem.published_at),
                   *postmortem_scope(scope, Postmortem.id)))


# --- action items, by created_at -------------------------------------------------------------


def _of_postmortems_in_scope(scope: Scope, items: Any) -> Any:
    """Action items of the postmortems in the service/team scope; every action item when there is
    none (a finding always has its postmortem, so the join would only cost a scan)."""
    if not scope.service and not scope.team:
        return items
    return (items.join(Finding, col(Finding.id) == ActionItem.finding_id)
            .where(*postmortem_scope(scope, Finding.postmortem_id)))


def action_items_by_created(scope: Scope) -> Sample:
    """action_item_completion_rate (completed / all, wont_do in the denominator, per priority `k`),
    on_time_rate (completed by the end of the due date, UTC / completed) and completion_days: one
    scan of the action items."""
    completed = sa.and_(col(ActionItem.status) == ActionItemStatus.completed, col(ActionItem.completed_at).is_not(None))
    items = (sa.select(scope.group(ActionItem.created_at), col(ActionItem.priority).label("k"),
                       flag(col(ActionItem.status) == ActionItemStatus.completed).label("action_item_completion_rate"),
                       sa.case((completed, flag(utc_date(ActionItem.completed_at) <= col(ActionItem.due_date))))
                       .label("on_time_rate"),
                       sa.case((completed, seconds_between(ActionItem.created_at, ActionItem.completed_at) / DAY))
                       .label("completion_days"))
             .select_from(ActionItem).where(*scope.window(ActionItem.created_at)))
    return _of_postmortems_in_scope(scope, items)


def overdue(scope: Scope) -> sa.Select[int]:
    """Open work past its due date today; the window does not apply (it is about now)."""
    return _of_postmortems_in_scope(
        scope, sa.select(sa.func.count()).select_from(ActionItem).where(overdue_condition(scope.today)))


# --- repeats, by triggered_at ----------------------------------------------------------------


def repeats_by_triggered(scope: Scope) -> Sample:
    """recurred_after_remediation and recurred_while_overdue over the repeats in the scope.

    Each repeat is joined once with the action items, as they stood when it triggered (created
    before), of the postmortems covering its earlier incident: a set-based join and two
    aggregations (per repeat and postmortem, then per repeat) instead of a probe per repeat.
    Remediated: one of those postmortems had at least one item completed before the repeat and
    every other one (wont_do aside) too, so the fix did not hold. Overdue: an item was not closed
    yet and past its due date (before the repeat's UTC day), so the fix was known and late."""
    repeat: Any = aliased(Incident)
    covered: Any = aliased(PostmortemIncident)
    finding: Any = aliased(Finding)
    item: Any = aliased(ActionItem)
    completed_before = sa.and_(item.status == ActionItemStatus.completed, item.completed_at < repeat.triggered_at)
    still_open = sa.and_(item.status != ActionItemStatus.wont_do, sa.not_(completed_before))
    late = sa.and_(item.due_date < utc_date(repeat.triggered_at),
                   sa.or_(item.closed_at.is_(None), item.closed_at > repeat.triggered_at))
    per_postmortem = (
        sa.select(repeat.id.label("id"),
                  sa.case((sa.and_(sa.func.max(flag(completed_before)) == 1, sa.func.max(flag(still_open)) == 0), 1),
                          else_=0).label("remediated"),
                  sa.func.max(flag(late)).label("late"))
        .select_from(repeat)
        .join(covered, col(covered.incident_id) == repeat.repeat_of_id)
        .join(finding, col(finding.postmortem_id) == covered.postmortem_id)
        .join(item, sa.and_(col(item.finding_id) == finding.id, col(item.created_at) < repeat.triggered_at))
        .where(col(repeat.repeat_of_id).is_not(None), *scope.window(repeat.triggered_at),
               *incident_scope(scope, repeat))
        .group_by(repeat.id, covered.postmortem_id).subquery("per_postmortem"))
    verdict = (sa.select(per_postmortem.c.id, sa.func.max(per_postmortem.c.remediated).label("remediated"),
                         sa.func.max(per_postmortem.c.late).label("late"))
               .group_by(per_postmortem.c.id).subquery("verdict"))
    return (sa.select(scope.group(Incident.triggered_at),
                      flag(verdict.c.remediated == 1).label("recurred_after_remediation"),
                      flag(verdict.c.late == 1).label("recurred_while_overdue"))
            .select_from(Incident).outerjoin(verdict, verdict.c.id == Incident.id)
            .where(col(Incident.repeat_of_id).is_not(None), *scope.window(Incident.triggered_at),
                   *incident_scope(scope)))


@dataclass(frozen=True)
class Measure:
    name: str
    kind: Kind
    by_priority: bool = False  # a rate also broken down per action item priority (the sample's `k`)


@dataclass(frozen=True)
class Family:
    """Measures over the same rows and anchor, computed in one query: `sample` selects `g` and a
    column per measure, named after it (`app.metrics.sql.stats`)."""

    name: str
    sample: Callable[[Scope], Sample]
    measures: tuple[Measure, ...]


# In DESIGN §5's order (the order of an answer); `overdue` has no anchor and is counted on its own.
MTTR, MTTA = Measure("mttr", Kind.duration), Measure("mtta", Kind.duration)
VOLUNTARY_REPORTING_RATE = Measure("voluntary_reporting_rate", Kind.rate)
POSTMORTEM_COMPLETION_RATE = Measure("postmortem_completion_rate", Kind.rate)
TIME_TO_PACKET = Measure("time_to_packet", Kind.duration)
PACKET_SLA_BREACH_RATE = Measure("packet_sla_breach_rate", Kind.rate)
TIME_TO_INSIGHT = Measure("time_to_insight", Kind.duration)
ACTION_ITEM_COMPLETION_RATE = Measure("action_item_completion_rate", Kind.rate, by_priority=True)
ON_TIME_RATE = Measure("on_time_rate", Kind.rate)
COMPLETION_DAYS = Measure("completion_days", Kind.duration)
TIME_TO_REMEDIATION = Measure("time_to_remediation", Kind.duration)
INCIDENT_TO_IMPROVEMENT = Measure("incident_to_improvement", Kind.duration)
REPEAT_INCIDENT_RATE = Measure("repeat_incident_rate", Kind.rate)
RECURRED_AFTER_REMEDIATION = Measure("recurred_after_remediation", Kind.rate)
RECURRED_WHILE_OVERDUE = Measure("recurred_while_overdue", Kind.rate)

MEASURES: tuple[Measure, ...] = (
    MTTR, MTTA, VOLUNTARY_REPORTING_RATE, POSTMORTEM_COMPLETION_RATE, TIME_TO_PACKET, PACKET_SLA_BREACH_RATE,
    TIME_TO_INSIGHT, ACTION_ITEM_COMPLETION_RATE, ON_TIME_RATE, COMPLETION_DAYS, TIME_TO_REMEDIATION,
    INCIDENT_TO_IMPROVEMENT, REPEAT_INCIDENT_RATE, RECURRED_AFTER_REMEDIATION, RECURRED_WHILE_OVERDUE,
)

# Each big table is scanned once per summary. The repeats have a family of their own although they
# share the incidents' anchor: their join is the costliest query, and apart it runs beside the others.
FAMILIES: tuple[Family, ...] = (
    Family("incidents_by_triggered", incidents_by_triggered, (MTTR, MTTA, VOLUNTARY_REPORTING_RATE,
                                                              REPEAT_INCIDENT_RATE)),
    Family("incidents_by_resolved", incidents_by_resolved, (POSTMORTEM_COMPLETION_RATE, TIME_TO_PACKET,
                                                            PACKET_SLA_BREACH_RATE)),
    Family("postmortems_by_published", postmortems_by_published, (TIME_TO_INSIGHT, TIME_TO_REMEDIATION,
                                                                  INCIDENT_TO_IMPROVEMENT)),
    Family("action_items_by_created", action_items_by_created, (ACTION_ITEM_COMPLETION_RATE, ON_TIME_RATE,
                                                                COMPLETION_DAYS)),
    Family("repeats_by_triggered", repeats_by_triggered, (RECURRED_AFTER_REMEDIATION, RECURRED_WHILE_OVERDUE)),
)
