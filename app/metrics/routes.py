"""The loop's numbers for portals and dashboards (read-only, `read`)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator

from app.core import clock
from app.core.clock import as_utc
from app.core.errors import error_responses
from app.core.runtime import SessionDep, SettingsDep
from app.metrics import service
from app.metrics.maturity import maturity
from app.metrics.measures import Scope
from app.metrics.patterns import as_item, patterns
from app.metrics.schemas import Maturity, Patterns, Summary, Trends
from app.tokens.auth import ReadDep

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"], responses=error_responses(401, 403, 422))

UTCQuery = Annotated[datetime, AfterValidator(as_utc)]


class Filters:
    """since/until (each measure's anchor; since inclusive, until exclusive), service, team."""

    def __init__(
        self,
        since: Annotated[UTCQuery | None, Query(description="anchor at or after (UTC when no offset)")] = None,
        until: Annotated[UTCQuery | None, Query(description="anchor before (UTC when no offset)")] = None,
        service_: Annotated[str | None, Query(alias="service", description="PagerDuty service id or name")] = None,
        team: Annotated[str | None, Query(description="PagerDuty team id or name")] = None,
    ) -> None:
        self.since, self.until, self.service, self.team = since, until, service_, team

    def window(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "service": self.service, "team": self.team}


FiltersDep = Annotated[Filters, Depends()]


def _scope(settings: Any, filters: Filters, **extra: Any) -> Scope:
    return service.scope_for(settings, now=clock.now(), **filters.window(), **extra)


@router.get("/summary", response_model=Summary)
async def summary(session: SessionDep, settings: SettingsDep, _: ReadDep, filters: FiltersDep) -> dict[str, Any]:
    """Every measure of DESIGN §5 over the window, each with its count or denominator."""
    scope = _scope(settings, filters)
    return {**await service.summary(session, scope=scope), "window": filters.window(), "generated_at": scope.now}


@router.get("/trends", response_model=Trends)
async def trends(session: SessionDep, settings: SettingsDep, _: ReadDep, filters: FiltersDep,
                 bucket: Annotated[service.Bucket, Query(description="week (from Monday, UTC) or month")] = "week",
                 ) -> dict[str, Any]:
    """The same measures per week or month (by each measure's anchor), oldest first."""
    scope = _scope(settings, filters, bucket=bucket)
    return {"bucket": bucket, "window": filters.window(), "generated_at": scope.now,
            "items": await service.trends(session, scope=scope, bucket=bucket)}


@router.get("/patterns", response_model=Patterns)
async def recurring_patterns(
    session: SessionDep, settings: SettingsDep, _: ReadDep, filters: FiltersDep,
    min_occurrences: Annotated[int | None, Query(ge=1, le=1000, description="distinct postmortems; "
                                                 "default LOOPGATE_PATTERN_MIN_OCCURRENCES (3)")] = None,
) -> dict[str, Any]:
    """Tags and categories of findings recurring across postmortems created in the window."""
    threshold = min_occurrences or settings.pattern_min_occurrences
    found = await patterns(session, scope=_scope(settings, filters), min_occurrences=threshold,
                           recommendations=settings.pattern_recommendations)
    return {"min_occurrences": threshold, "window": filters.window(), "items": [as_item(p) for p in found]}


@router.get("/maturity", response_model=Maturity)
async def maturity_level(
    session: SessionDep, settings: SettingsDep, _: ReadDep,
    service_: Annotated[str | None, Query(alias="service", description="PagerDuty service id or name")] = None,
    team: Annotated[str | None, Query(description="PagerDuty team id or name")] = None,
) -> dict[str, Any]:
    """The highest maturity level whose criteria all hold (all time; '90 days' criteria end now)."""
    scope = service.scope_for(settings, now=clock.now(), service=service_, team=team)
    result = await maturity(session, scope=scope, min_occurrences=settings.pattern_min_occurrences,
                            thresholds=settings.maturity_thresholds,
                            recommendations=settings.pattern_recommendations)
    return {**result, "evaluated_at": scope.now}
