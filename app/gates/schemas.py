"""What the gate routes answer; a violation has the shape the postmortem detail shows."""

import uuid
from datetime import datetime

from pydantic import BaseModel

from app.gates.rules import Violation
from app.postmortems.schemas import ViolationPublic


def violation_public(violation: Violation) -> ViolationPublic:
    return ViolationPublic(code=violation.code, message=violation.message, ids=list(violation.ids))


class PostmortemGate(BaseModel):
    postmortem_id: uuid.UUID
    passed: bool
    violations: list[ViolationPublic]
    warnings: list[ViolationPublic]
    evaluated_at: datetime


class ServiceGate(BaseModel):
    service: str
    passed: bool
    violations: list[ViolationPublic]
    warnings: list[ViolationPublic]
    evaluated_at: datetime
