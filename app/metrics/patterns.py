"""Recurring contributing factors: a tag or category of findings in enough distinct postmortems."""

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.metrics.measures import Scope, postmortem_scope
from app.metrics.sql import Sample
from app.models.postmortems import Finding, FindingTag, Postmortem

# In the spirit of seed 001; LOOPGATE_PATTERN_RECOMMENDATIONS adds to and overrides these.
RECOMMENDATIONS = {
    "technical": "Fund an engineering fix for the failure mode itself (eliminate or guard it) instead of "
                 "patching each incident: the same technical gap keeps coming back.",
    "process": "Change the process that keeps letting this through: add a check, an automated step or a "
               "runbook that does not depend on someone remembering.",
    "organizational": "Take it to the people who set priorities and ownership: the same organisational "
                      "constraint keeps contributing, and no single team can fix it alone.",
    "configuration": "Consider implementing configuration validation in CI/CD.",
    "capacity": "Review the capacity planning process and add predictive alerting.",
    "dependency": "Implement circuit breakers and fallbacks for external dependencies.",
    "deployment": "Add deployment verification steps and canary releases.",
    "monitoring": "Expand monitoring coverage and review alert thresholds.",
}


PatternKind = Literal["tag", "category"]


@dataclass(frozen=True)
class Pattern:
    kind: PatternKind
    key: str
    postmortem_ids: list[str]
    recommendation: str
    has_systemic_finding: bool

    @property
    def occurrences(self) -> int:
        return len(self.postmortem_ids)


def recommendation(key: str, overrides: dict[str, str]) -> str:
    return overrides.get(key) or RECOMMENDATIONS.get(key) or (
        f"'{key}' contributes again and again: review {key} practices across teams and fund one systemic fix.")


async def patterns(session: AsyncSession, *, scope: Scope, min_occurrences: int,
                   recommendations: dict[str, str] | None = None) -> list[Pattern]:
    """Tags and categories found in at least `min_occurrences` distinct postmortems created in the
    window; most frequent first, then by kind and key. Postmortem ids are oldest first."""
    found: list[Pattern] = []
    kinds: tuple[tuple[PatternKind, Any], ...] = (("tag", col(FindingTag.tag)), ("category", col(Finding.category)))
    for kind, key_column in kinds:
        pairs: Sample = (sa.select(key_column.label("key"), col(Postmortem.id).label("postmortem_id"),
                           sa.func.min(Postmortem.created_at).label("created_at"),
                           sa.func.max(sa.case((col(Finding.systemic), 1), else_=0)).label("systemic"))
                 .select_from(Finding)
                 .join(Postmortem, col(Postmortem.id) == Finding.postmortem_id))
        if kind == "tag":
            pairs = pairs.join(FindingTag, col(FindingTag.finding_id) == Finding.id)
        pairs = pairs.where(*scope.window(Postmortem.created_at), *postmortem_scope(scope, Postmortem.id)) \
                     .group_by(key_column, col(Postmortem.id))
        p = pairs.subquery("pairs")
        counted = (sa.select(p.c.key).group_by(p.c.key).having(sa.func.count() >= min_occurrences)
                   .subquery("frequent"))
        rows = await session.execute(
            sa.select(p.c.key, p.c.postmortem_id, p.c.systemic).join(counted, counted.c.key == p.c.key)
            .order_by(p.c.key, p.c.created_at, p.c.postmortem_id))
        by_key: dict[str, tuple[list[str], bool]] = {}
        for row in rows:
            ids, systemic = by_key.get(row.key, ([], False))
            ids.append(str(row.postmortem_id))
            by_key[row.key] = (ids, systemic or bool(row.systemic))
        found.extend(Pattern(kind, key, ids, recommendation(key, recommendations or {}), systemic)
                     for key, (ids, systemic) in by_key.items())
    return sorted(found, key=lambda pattern: (-pattern.occurrences, pattern.kind, pattern.key))


def as_item(pattern: Pattern) -> dict[str, Any]:
    return {"kind": pattern.kind, "key": pattern.key, "occurrences": pattern.occurrences,
            "postmortem_ids": pattern.postmortem_ids, "recommendation": pattern.recommendation,
            "has_systemic_finding": pattern.has_systemic_finding}
