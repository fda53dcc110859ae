"""The gates as CI and the postmortem lifecycle ask for them: read the facts, let the pure rules decide."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.settings import Settings
from app.gates.facts import postmortem_facts, service_facts
from app.gates.rules import GateResult, evaluate_postmortem, evaluate_service
from app.models.postmortems import Postmortem
from app.postmortems.blame import indicators_of
from app.postmortems.gate import GateVerdict
from app.postmortems.reads import get_postmortem


async def evaluate(session: AsyncSession, *, postmortem: Postmortem, settings: Settings) -> GateResult:
    """The Integration Gate for the postmortem now."""
    facts = await postmortem_facts(session, postmortem=postmortem, indicators=indicators_of(settings))
    return evaluate_postmortem(facts, blame_blocking=settings.blame_blocking)


async def integration_gate(session: AsyncSession, *, postmortem: Postmortem, settings: Settings) -> GateVerdict:
    """`evaluate` as the postmortem lifecycle's port (app/postmortems/gate.py) takes it."""
    result = await evaluate(session, postmortem=postmortem, settings=settings)
    return GateVerdict(result.passed, [v.to_dict() for v in result.violations],
                       [w.to_dict() for w in result.warnings])


async def postmortem_gate(session: AsyncSession, *, postmortem_id: uuid.UUID,
                          settings: Settings) -> tuple[GateResult, datetime]:
    """The Integration Gate of one postmortem, evaluated now."""
    postmortem = await get_postmortem(session, postmortem_id=postmortem_id)
    return await evaluate(session, postmortem=postmortem, settings=settings), clock.now()


async def service_gate(session: AsyncSession, *, service: str, settings: Settings) -> tuple[GateResult, datetime]:
    """The deploy gate of a service (PagerDuty service id or name): overdue P1 items, overdue postmortems."""
    now = clock.now()
    action_items, required = await service_facts(session, service=service, settings=settings)
    result = evaluate_service(service=service, action_items=action_items, required_postmortems=required,
                              today=now.date(), now=now, postmortem_due_days=settings.postmortem_due_days)
    return result, now
