"""Each measure of DESIGN §5 as its sample: the rows it is computed over, in SQL.

A sample selects `g` (the group of its anchor timestamp: one constant for a summary,
a week or month for trends) and `v` (seconds) or `hit` (1/0). `app/metrics/sql.py`
aggregates samples; `app/metrics/service.py` runs them. The window applies to each
measure's anchor; rows whose anchor is NULL are in no window.
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


# --- incidents -------------------------------------------------------------------------------


def mttr(scope: Scope) -> Sample:
    return (sa.select(scope.group(Incident.triggered_at),
                      seconds_between(Incident.triggered_at, Incident.resolved_at).label("v"))
            .where(col(Incident.resolved_at).is_not(None), *scope.window(Incident.triggered_at),
                   *incident_scope(scope)))


def mtta(scope: Scope) -> Sample:
    return (sa.select(scope.group(Incident.triggered_at),
                      seconds_between(Incident.triggered_at, Incident.acknowledged_at).label("v"))
            .where(col(Incident.acknowledged_at).is_not(None), *scope.window(Incident.triggered_at),
                   *incident_scope(scope)))


def voluntary_reporting_rate(scope: Scope) -> Sample:
    return (sa.select(scope.group(Incident.triggered_at), flag(col(Incident.reported_by) == "human").label("hit"))
            .where(*scope.window(Incident.triggered_at), *incident_scope(scope)))


def repeat_incident_rate(scope: Scope) -> Sample:
    return (sa.select(scope.group(Incident.triggered_at), flag(col(Incident.repeat_of_id).is_not(None)).label("hit"))
            .where(*scope.window(Incident.triggered_at), *incident_scope(scope)))


def postmortem_completion_rate(scope: Scope) -> Sample:
    learned = (sa.select(col(PostmortemIncident.incident_id))
               .join(Postmortem, col(Postmortem.id) == PostmortemIncident.postmortem_id)
               .where(col(Postmortem.status).in_(PUBLISHED)))
    return (sa.select(scope.group(Incident.resolved_at), flag(col(Incident.id).in_(learned)).label("hit"))
            .where(col(Incident.severity).in_(scope.required_severities), *scope.window(Incident.resolved_at),
                   *incident_scope(scope)))


def _first_packet() -> Any:
    return aliased(EventPacket, name="first_packet")


def time_to_packet(scope: Scope) -> Sample:
    packet = _first_packet()
    return (sa.select(scope.group(Incident.resolved_at),
                      seconds_between(Incident.resolved_at, packet.assembled_at).label("v"))
            .select_from(Incident).join(packet, sa.and_(packet.incident_id == Incident.id, packet.version == 1))
            .where(packet.status.in_(ASSEMBLED), packet.assembled_at.is_not(None),
                   *scope.window(Incident.resolved_at), *incident_scope(scope)))


def packet_sla_breach_rate(scope: Scope) -> Sample:
    """Resolved incidents whose SLA due time has passed; breached unless packet v1 was assembled by then."""
    packet = _first_packet()
    due = sa.func.coalesce(epoch(packet.sla_due_at), epoch(Incident.resolved_at) + scope.packet_sla_hours * 3600.0)
    on_time = sa.and_(packet.status.in_(ASSEMBLED), packet.assembled_at.is_not(None),
                      epoch(packet.assembled_at) <= due)
    return (sa.select(scope.group(Incident.resolved_at), flag(sa.not_(on_time)).label("hit"))
            .select_from(Incident).outerjoin(packet, sa.and_(packet.incident_id == Incident.id, packet.version == 1))
            .where(due <= scope.now.timestamp(), *scope.window(Incident.resolved_at), *incident_scope(scope)))


# --- postmortems -----------------------------------------------------------------------------


def time_to_insight(scope: Scope) -> Sample:
    """published_at − the latest resolved_at of its incidents (postmortems with a resolved incident)."""
    latest = (sa.select(col(PostmortemIncident.postmortem_id).label("postmortem_id"),
                        sa.func.max(Incident.resolved_at).label("resolved_at"))
              .join(Incident, col(Incident.id) == PostmortemIncident.incident_id)
              .group_by(col(PostmortemIncident.postmortem_id)).subquery("latest_resolved"))
    return (sa.select(scope.group(Postmortem.published_at),
                      seconds_between(latest.c.resolved_at, Postmortem.published_at).label("v"))
            .select_from(Postmortem).join(latest, latest.c.postmortem_id == Postmortem.id)
            .where(latest.c.resolved_at.is_not(None), col(Postmortem.status).in_(PUBLISHED),
                   *scope.window(Postmortem.published_at), *postmortem_scope(scope, Postmortem.id)))


def _remediated() -> Any:
    """Per postmortem whose action items are all completed or wont_do, at least one completed:
    when its last fix was completed."""
    items: Sample = (sa.select(col(Finding.postmortem_id).label("postmortem_id"),
                       sa.func.max(ActionItem.completed_at).label("completed_at"))
             .join(Finding, col(Finding.id) == ActionItem.finding_id)
             .group_by(col(Finding.postmortem_id))
             .having(sa.func.sum(flag(col(ActionItem.status).not_in(CLOSED_STATUSES))) == 0)
             .having(sa.func.sum(flag(col(ActionItem.status) == ActionItemStatus.completed)) > 0))
    return items.subquery("remediated")


def time_to_remediation(scope: Scope) -> Sample:
    done = _remediated()
    return (sa.select(scope.group(Postmortem.published_at),
                      seconds_between(Postmortem.published_at, done.c.completed_at).label("v"))
            .select_from(Postmortem).join(done, done.c.postmortem_id == Postmortem.id)
            .where(col(Postmortem.status).in_(PUBLISHED), *scope.window(Postmortem.published_at),
                   *postmortem_scope(scope, Postmortem.id)))


def incident_to_improvement(scope: Scope) -> Sample:
    done = _remediated()
    earliest = (sa.select(col(PostmortemIncident.postmortem_id).label("postmortem_id"),
                          sa.func.min(Incident.triggered_at).label("triggered_at"))
                .join(Incident, col(Incident.id) == PostmortemIncident.incident_id)
                .group_by(col(PostmortemIncident.postmortem_id)).subquery("earliest_triggered"))
    return (sa.select(scope.group(Postmortem.published_at),
                      seconds_between(earliest.c.triggered_at, done.c.completed_at).label("v"))
            .select_from(Postmortem).join(done, done.c.postmortem_id == Postmortem.id)
            .join(earliest, earliest.c.postmortem_id == Postmortem.id)
            .where(earliest.c.triggered_at.is_not(None), col(Postmortem.status).in_(PUBLISHED),
                   *scope.window(Postmortem.published_at), *postmortem_scope(scope, Postmortem.id)))


# --- action items ----------------------------------------------------------------------------


def _of_postmortems_in_scope(scope: Scope, items: Any) -> Any:
    """Action items of the postmortems in the service/team scope; every action item when there is
    none (a finding always has its postmortem, so the join would only cost a scan)."""
    if not scope.service and not scope.team:
        return items
    return (items.join(Finding, col(Finding.id) == ActionItem.finding_id)
            .where(*postmortem_scope(scope, Finding.postmortem_id)))


def _items(scope: Scope, *columns: Any) -> Sample:
    items = (sa.select(scope.group(ActionItem.created_at), *columns).select_from(ActionItem)
             .where(*scope.window(ActionItem.created_at)))
    return _of_postmortems_in_scope(scope, items)


def action_item_completion_rate(scope: Scope) -> Sample:
    """Completed / all, per priority (`k`); wont_do stays in the denominator."""
    return _items(scope, col(ActionItem.priority).label("k"),
                  flag(col(ActionItem.status) == ActionItemStatus.completed).label("hit"))


def _completed(scope: Scope, *columns: Any) -> Sample:
    return _items(scope, *columns).where(col(ActionItem.status) == ActionItemStatus.completed,
                                         col(ActionItem.completed_at).is_not(None))


def on_time_rate(scope: Scope) -> Sample:
    """Completed on or before the end of the due date (UTC) / completed."""
    return _completed(scope, flag(utc_date(ActionItem.completed_at) <= col(ActionItem.due_date)).label("hit"))


def completion_days(scope: Scope) -> Sample:
    return _completed(scope, (seconds_between(ActionItem.created_at, ActionItem.completed_at) / DAY).label("v"))


def overdue(scope: Scope) -> sa.Select[int]:
    """Open work past its due date today; the window does not apply (it is about now)."""
    return _of_postmortems_in_scope(
        scope, sa.select(sa.func.count()).select_from(ActionItem).where(overdue_condition(scope.today)))


# --- repeats ---------------------------------------------------------------------------------


def _repeats(scope: Scope, verdict: Callable[[Any], sa.Select[Any]]) -> Sample:
    """Repeats in the scope, hit when `verdict` lists them. `verdict(repeat)` selects the ids of the
    repeats (rows of the aliased incident `repeat`) that qualify, as one set-based join: an
    uncorrelated IN is computed once (hashed on PostgreSQL, an ephemeral index on SQLite)
    instead of a probe per repeat."""
    repeat = aliased(Incident)
    qualifying = verdict(repeat).where(col(repeat.repeat_of_id).is_not(None), *scope.window(repeat.triggered_at),
                                       *incident_scope(scope, repeat))
    return (sa.select(scope.group(Incident.triggered_at), flag(col(Incident.id).in_(qualifying)).label("hit"))
            .where(col(Incident.repeat_of_id).is_not(None), *scope.window(Incident.triggered_at),
                   *incident_scope(scope)))


def _earlier_items(repeat: Any) -> tuple[Any, Any, sa.Select[Any]]:
    """The action items of the postmortems that cover each repeat's earlier incident and that existed
    when the repeat triggered: (the aliased item, the aliased covering row, a select of the
    repeat's id over that join)."""
    covered, finding, item = aliased(PostmortemIncident), aliased(Finding), aliased(ActionItem)
    joined = (sa.select(repeat.id).select_from(repeat)
              .join(covered, col(covered.incident_id) == repeat.repeat_of_id)
              .join(finding, col(finding.postmortem_id) == covered.postmortem_id)
              .join(item, sa.and_(col(item.finding_id) == finding.id, col(item.created_at) < repeat.triggered_at)))
    return item, covered, joined


def recurred_after_remediation(scope: Scope) -> Sample:
    """Repeats whose earlier incident had a postmortem whose fixes, as they stood when the repeat
    triggered, were all done (wont_do aside, at least one completed): the fix did not hold."""

    def remediated(repeat: Any) -> sa.Select[Any]:
        item, covered, joined = _earlier_items(repeat)
        completed_before = sa.and_(item.status == ActionItemStatus.completed, item.completed_at < repeat.triggered_at)
        still_open = sa.and_(item.status != ActionItemStatus.wont_do, sa.not_(completed_before))
        return (joined.group_by(repeat.id, covered.postmortem_id)
                .having(sa.and_(sa.func.max(flag(completed_before)) == 1, sa.func.max(flag(still_open)) == 0)))

    return _repeats(scope, remediated)


def recurred_while_overdue(scope: Scope) -> Sample:
    """Repeats whose earlier incident had an action item that, when the repeat triggered, existed,
    was not closed, and was past its due date: the fix was known and late."""

    def late(repeat: Any) -> sa.Select[Any]:
        item, _, joined = _earlier_items(repeat)
        return joined.where(
            item.due_date < utc_date(repeat.triggered_at),
            sa.or_(item.closed_at.is_(None), item.closed_at > repeat.triggered_at))

    return _repeats(scope, late)


@dataclass(frozen=True)
class Measure:
    name: str
    kind: Kind
    sample: Callable[[Scope], Sample]
    by_key: bool = False


# In DESIGN §5's order; `overdue` is not a sample (it has no anchor) and is run on its own.
MEASURES: tuple[Measure, ...] = (
    Measure("mttr", Kind.duration, mttr),
    Measure("mtta", Kind.duration, mtta),
    Measure("voluntary_reporting_rate", Kind.rate, voluntary_reporting_rate),
    Measure("postmortem_completion_rate", Kind.rate, postmortem_completion_rate),
    Measure("time_to_packet", Kind.duration, time_to_packet),
    Measure("packet_sla_breach_rate", Kind.rate, packet_sla_breach_rate),
    Measure("time_to_insight", Kind.duration, time_to_insight),
    Measure("action_item_completion_rate", Kind.rate, action_item_completion_rate, by_key=True),
    Measure("on_time_rate", Kind.rate, on_time_rate),
    Measure("completion_days", Kind.duration, completion_days),
    Measure("time_to_remediation", Kind.duration, time_to_remediation),
    Measure("incident_to_improvement", Kind.duration, incident_to_improvement),
    Measure("repeat_incident_rate", Kind.rate, repeat_incident_rate),
    Measure("recurred_after_remediation", Kind.rate, recurred_after_remediation),
    Measure("recurred_while_overdue", Kind.rate, recurred_while_overdue),
)
