import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.core.errors import error_responses
from app.core.runtime import SessionDep, SettingsDep
from app.models.notifications import DeliveryStatus
from app.notifications import service
from app.notifications.schemas import (
    DeliveryList,
    DeliveryPublic,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionPublic,
)
from app.tokens.auth import AdminDep

router = APIRouter(prefix="/api/v1/subscriptions", tags=["subscriptions"], responses=error_responses(401, 403, 422))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SubscriptionCreated)
async def create_subscription(body: SubscriptionCreate, session: SessionDep, settings: SettingsDep,
                              principal: AdminDep) -> SubscriptionCreated:
    """Subscribe a URL to events. The signing secret is in this answer and never shown again."""
    subscription = await service.create_subscription(
        session, url=body.url, events=body.events, format=body.format, secret=body.secret, services=body.services,
        teams=body.teams, categories=body.categories, severities=body.severities,
        allowed_hosts=settings.subscription_allowed_hosts, actor=principal.name)
    await session.commit()
    return SubscriptionCreated.model_validate(subscription, from_attributes=True)


@router.get("", response_model=SubscriptionList, responses=error_responses(400))
async def list_subscriptions(session: SessionDep, _: AdminDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                             cursor: str | None = None) -> SubscriptionList:
    """Subscriptions, newest first (without their secrets)."""
    page = await service.list_subscriptions(session, limit=limit, cursor=cursor)
    return SubscriptionList(items=[SubscriptionPublic.model_validate(s, from_attributes=True) for s in page.items],
                            next_cursor=page.next_cursor)


@router.get("/{subscription_id}", response_model=SubscriptionPublic, responses=error_responses(404))
async def get_subscription(subscription_id: uuid.UUID, session: SessionDep, _: AdminDep) -> SubscriptionPublic:
    """One subscription (without its secret)."""
    subscription = await service.get_subscription(session, subscription_id=subscription_id)
    return SubscriptionPublic.model_validate(subscription, from_attributes=True)


@router.delete("/{subscription_id}", response_model=SubscriptionPublic, responses=error_responses(404))
async def delete_subscription(subscription_id: uuid.UUID, session: SessionDep,
                              principal: AdminDep) -> SubscriptionPublic:
    """Stop delivering to this subscription; its pending deliveries are dropped with it."""
    subscription = await service.delete_subscription(session, subscription_id=subscription_id, actor=principal.name)
    public = SubscriptionPublic.model_validate(subscription, from_attributes=True)
    await session.commit()
    return public


@router.get("/{subscription_id}/deliveries", response_model=DeliveryList, responses=error_responses(400, 404))
async def list_deliveries(subscription_id: uuid.UUID, session: SessionDep, _: AdminDep,
                          status: DeliveryStatus | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                          cursor: str | None = None) -> DeliveryList:
    """The delivery log: every event sent to this subscription, its attempts and outcome, newest first."""
    page = await service.list_deliveries(session, subscription_id=subscription_id, status=status, limit=limit,
                                         cursor=cursor)
    return DeliveryList(items=[DeliveryPublic.of(d) for d in page.items], next_cursor=page.next_cursor)
