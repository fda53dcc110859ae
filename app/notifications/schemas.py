"""Request and response bodies of /api/v1/subscriptions."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from app.models.notifications import Delivery, DeliveryStatus, EventType, SubscriptionFormat
from app.notifications import signing

FilterValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Filter = Annotated[list[FilterValue], Field(max_length=100)]


def _valid_secret(secret: str | None) -> str | None:
    if secret is not None:
        signing.secret_key(secret)  # ValueError → 422 naming body.secret
    return secret


class SubscriptionCreate(BaseModel):
    url: str = Field(min_length=1, max_length=2000, description="http:// or https:// URL that receives the POSTs")
    events: list[EventType] = Field(min_length=1, description="event types to deliver")
    format: SubscriptionFormat = SubscriptionFormat.standard
    secret: Annotated[str | None, AfterValidator(_valid_secret)] = Field(
        None, description="`whsec_<base64 of 24–64 bytes>`; generated when left out, and shown once")
    services: Filter = Field(default_factory=list, description="only events about these services (id or name)")
    teams: Filter = Field(default_factory=list, description="only events about these teams (id or name)")
    categories: Filter = Field(default_factory=list, description="only events about findings of these categories")
    severities: Filter = Field(default_factory=list, description="only events about incidents of these severities")


class SubscriptionPublic(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    format: str
    services: list[str]
    teams: list[str]
    categories: list[str]
    severities: list[str]
    created_by: str
    created_at: datetime


class SubscriptionCreated(SubscriptionPublic):
    secret: str = Field(description="The signing secret. Shown once, in this answer.")


class SubscriptionList(BaseModel):
    items: list[SubscriptionPublic]
    next_cursor: str | None


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    event_id: str
    event_type: str
    status: str = Field(description="pending, delivered, or gave_up (every attempt for 24 hours failed)")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="when the next attempt is due; null once finished")
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    gave_up_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, delivery: Delivery) -> "DeliveryPublic":
        public = cls.model_validate(delivery, from_attributes=True)
        if delivery.status != DeliveryStatus.pending:
            public.next_attempt_at = None
        return public


class DeliveryList(BaseModel):
    items: list[DeliveryPublic]
    next_cursor: str | None
