"""The maturity level of DESIGN §5: the highest level whose criteria all hold, levels cumulative."""

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.metrics import service
from app.metrics.measures import Scope, postmortem_scope
from app.metrics.patterns import patterns
from app.metrics.sql import flag, uuid_text
from app.models.audit import AuditEntry
from app.models.postmortems import ActionItem, Finding, Postmortem, PostmortemStatus

DAY = 86400.0
# Thresholds by "<level>.<criterion>"; LOOPGATE_MATURITY_THRESHOLDS overrides any of them.
THRESHOLDS: dict[str, float] = {
    "2.postmortems": 1,
    "2.postmortem_completion_rate": 0.5,
    "2.action_items_with_owner": 1.0,
    "3.postmortem_completion_rate": 0.8,
    "3.action_item_completion_rate": 0.6,
    "3.closed_postmortems_passed_gate": 1.0,
    "3.time_to_insight_median_seconds": 7 * DAY,
    "4.on_time_rate": 0.7,
    "4.patterns_with_systemic_finding": 1.0,
    "4.time_to_remediation_median_seconds": 30 * DAY,
    "5.recurred_after_remediation_last_90_days": 0,
    "5.action_item_completion_rate": 0.9,
    "5.durable_action_share": 0.5,
}
NAMES = {1: "Initial", 2: "Managed", 3: "Defined", 4: "Quantitatively managed", 5: "Optimising"}
DURABLE = ("eliminate", "guardrail")


def check_thresholds(overrides: dict[str, float]) -> None:
    """Refuse an override that names no criterion (a typo would otherwise be ignored)."""
    unknown = sorted(set(overrides) - set(THRESHOLDS))
    if unknown:
        raise ValueError(f"LOOPGATE_MATURITY_THRESHOLDS: unknown criteria {', '.join(unknown)}; "
                         f"known: {', '.join(THRESHOLDS)}")


@dataclass(frozen=True)
class Criterion:
    name: str
    value: float | None
    threshold: float | None
    met: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "threshold": self.threshold, "met": self.met}


def at_least(name: str, value: float | None, threshold: float, *, vacuous: bool = False) -> Criterion:
    """value ≥ threshold; a null value (nothing to measure) is met only for an 'every …' criterion."""
    return Criterion(name, value, threshold, vacuous if value is None else value >= threshold)


def at_most(name: str, value: float | None, threshold: float) -> Criterion:
    return Criterion(name, value, threshold, value is not None and value <= threshold)


def _share(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


async def _facts(session: AsyncSession, scope: Scope) -> dict[str, Any]:
    """The counts maturity needs beyond the summary, in three aggregates."""
    postmortems = (await session.execute(
        sa.select(sa.func.count(),
                  sa.func.coalesce(sa.func.sum(flag(col(Postmortem.status) == PostmortemStatus.closed)), 0),
                  sa.func.coalesce(sa.func.sum(flag(sa.and_(
                      col(Postmortem.status) == PostmortemStatus.closed,
                      # A close is recorded only after the gate passed (postmortems.service.transition).
                      sa.exists().where(col(AuditEntry.entity_id) == uuid_text(Postmortem.id),
                                        col(AuditEntry.action) == "postmortem.transitioned",
                                        col(AuditEntry.diff)["to"].as_string() == PostmortemStatus.closed)))), 0))
        .where(*postmortem_scope(scope, Postmortem.id)))).one()
    items = (await session.execute(
        sa.select(sa.func.count(),
                  sa.func.coalesce(sa.func.sum(flag(sa.func.trim(ActionItem.owner) != "")), 0),
                  sa.func.coalesce(sa.func.sum(flag(col(ActionItem.durability).in_(DURABLE))), 0))
        .join(Finding, col(Finding.id) == ActionItem.finding_id)
        .where(*postmortem_scope(scope, Finding.postmortem_id)))).one()
    return {"postmortems": postmortems[0], "closed": postmortems[1], "closed_through_gate": int(postmortems[2]),
            "items": items[0], "owned": int(items[1]), "durable": int(items[2])}


async def maturity(session: AsyncSession, *, scope: Scope, min_occurrences: int,
                   thresholds: dict[str, float] | None = None,
                   recommendations: dict[str, str] | None = None) -> dict[str, Any]:
    """Every level's criteria with value, threshold and verdict; `level` is the highest met in a row.

    All time, except the criteria that name the last 90 days (ending at the scope's `now`).
    """
    limit = {**THRESHOLDS, **(thresholds or {})}
    all_time = replace(scope, since=None, until=None, bucket=None)
    measures = await service.summary(session, scope=all_time)
    facts = await _facts(session, all_time)
    last_90 = replace(all_time, since=scope.now - timedelta(days=90), until=scope.now)
    before = replace(all_time, since=scope.now - timedelta(days=180), until=scope.now - timedelta(days=90))
    repeat_now = (await service.one(session, "repeat_incident_rate", last_90))["value"]
    repeat_before = (await service.one(session, "repeat_incident_rate", before))["value"]
    recurred = (await service.one(session, "recurred_after_remediation", last_90))["numerator"]
    found = await patterns(session, scope=all_time, min_occurrences=min_occurrences, recommendations=recommendations)

    pm_rate = measures["postmortem_completion_rate"]["value"]
    ai_rate = measures["action_item_completion_rate"]["value"]
    criteria = {
        2: [at_least("postmortems", facts["postmortems"], limit["2.postmortems"]),
            at_least("postmortem_completion_rate", pm_rate, limit["2.postmortem_completion_rate"]),
            at_least("action_items_with_owner", _share(facts["owned"], facts["items"]),
                     limit["2.action_items_with_owner"], vacuous=True)],
        3: [at_least("postmortem_completion_rate", pm_rate, limit["3.postmortem_completion_rate"]),
            at_least("action_item_completion_rate", ai_rate, limit["3.action_item_completion_rate"]),
            at_least("closed_postmortems_passed_gate", _share(facts["closed_through_gate"], facts["closed"]),
                     limit["3.closed_postmortems_passed_gate"], vacuous=True),
            at_most("time_to_insight_median_seconds", measures["time_to_insight"]["median"],
                    limit["3.time_to_insight_median_seconds"])],
        4: [at_least("on_time_rate", measures["on_time_rate"]["value"], limit["4.on_time_rate"]),
            Criterion("repeat_rate_last_90_days_below_previous_90", repeat_now, repeat_before,
                      repeat_now is not None and repeat_before is not None and repeat_now < repeat_before),
            at_least("patterns_with_systemic_finding",
                     _share(sum(p.has_systemic_finding for p in found), len(found)),
                     limit["4.patterns_with_systemic_finding"], vacuous=True),
            at_most("time_to_remediation_median_seconds", measures["time_to_remediation"]["median"],
                    limit["4.time_to_remediation_median_seconds"])],
        5: [at_most("recurred_after_remediation_last_90_days", recurred,
                    limit["5.recurred_after_remediation_last_90_days"]),
            at_least("action_item_completion_rate", ai_rate, limit["5.action_item_completion_rate"]),
            at_least("durable_action_share", _share(facts["durable"], facts["items"]),
                     limit["5.durable_action_share"])],
    }
    levels = [{"level": 1, "name": NAMES[1], "met": True, "criteria": []}]
    reached, cumulative = 1, True
    for number, items in criteria.items():
        cumulative = cumulative and all(c.met for c in items)
        if cumulative:
            reached = number
        levels.append({"level": number, "name": NAMES[number], "met": cumulative,
                       "criteria": [c.as_dict() for c in items]})
    return {"level": reached, "name": NAMES[reached], "levels": levels}
