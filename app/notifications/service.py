"""Subscriptions: create (URL and secret checked), list, delete, and their delivery log."""

import fnmatch
import uuid
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import NotFound, Unprocessable
from app.core.pagination import Page, paginate
from app.models import audit
from app.models.notifications import Delivery, EventType, Subscription, SubscriptionFormat
from app.notifications import signing


class UrlNotAllowed(Unprocessable):
    error = "subscription_url_not_allowed"


def host_allowed(host: str, allowed_hosts: list[str]) -> bool:
    """Empty: every host; else an exact host, or `*.example.com` for its subdomains."""
    if not allowed_hosts:
        return True
    host = host.lower().rstrip(".")
    return any(fnmatch.fnmatchcase(host, pattern.lower().rstrip(".")) for pattern in allowed_hosts)


def host_of(url: str) -> str | None:
    return urlsplit(url).hostname


def check_url(url: str, *, allowed_hosts: list[str]) -> None:
    """A subscriber URL is absolute http(s) with a host that LOOPGATE_SUBSCRIPTION_ALLOWED_HOSTS allows."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 — raises ValueError on a port out of range
        httpx.URL(url)  # what the deliveries will post to must be a URL httpx can send to
    except (ValueError, httpx.InvalidURL) as exc:
        raise UrlNotAllowed(f"The subscription URL is not a valid URL: {exc}.",
                            details=[{"field": "body.url", "message": str(exc), "type": "url_invalid"}]) from exc
    if parts.scheme not in ("http", "https") or not host:
        raise UrlNotAllowed("The subscription URL must be an absolute http:// or https:// URL with a host.",
                            details=[{"field": "body.url", "message": "expected http(s)://host/...",
                                      "type": "url_invalid"}])
    if not host_allowed(host, allowed_hosts):
        raise UrlNotAllowed(f"Host {host!r} is not in LOOPGATE_SUBSCRIPTION_ALLOWED_HOSTS.",
                            details=[{"field": "body.url", "message": f"allowed hosts: {', '.join(allowed_hosts)}",
                                      "type": "host_not_allowed"}])


async def create_subscription(session: AsyncSession, *, url: str, events: list[EventType],
                              format: SubscriptionFormat, secret: str | None, services: list[str], teams: list[str],
                              categories: list[str], severities: list[str], allowed_hosts: list[str],
                              actor: str) -> Subscription:
    """Store a subscription after checking its URL; a secret is generated when none is given."""
    check_url(url, allowed_hosts=allowed_hosts)
    subscription = Subscription(
        url=url, events=list(dict.fromkeys(str(e) for e in events)), format=format,
        secret=secret or signing.new_secret(), services=services, teams=teams, categories=categories,
        severities=severities, created_by=actor)
    session.add(subscription)
    await session.flush()
    # Only the host: a Slack incoming-webhook URL is itself a secret.
    audit.record(session, actor=actor, action="subscription.created", entity="subscription",
                 entity_id=subscription.id, diff={"host": host_of(url), "events": subscription.events,
                                                  "format": str(format)})
    return subscription


async def get_subscription(session: AsyncSession, *, subscription_id: uuid.UUID) -> Subscription:
    subscription = await session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotFound(f"No subscription {subscription_id}.")
    return subscription


async def list_subscriptions(session: AsyncSession, *, limit: int, cursor: str | None) -> Page[Subscription]:
    """Subscriptions, newest first."""
    return await paginate(session, sa.select(Subscription),
                          order=(col(Subscription.created_at), col(Subscription.id)), limit=limit, cursor=cursor)


async def delete_subscription(session: AsyncSession, *, subscription_id: uuid.UUID, actor: str) -> Subscription:
    """Delete a subscription; its deliveries, pending ones included, go with it."""
    subscription = await get_subscription(session, subscription_id=subscription_id)
    await session.delete(subscription)
    audit.record(session, actor=actor, action="subscription.deleted", entity="subscription",
                 entity_id=subscription.id, diff={"host": host_of(subscription.url)})
    return subscription


async def list_deliveries(session: AsyncSession, *, subscription_id: uuid.UUID, status: str | None, limit: int,
                          cursor: str | None) -> Page[Delivery]:
    """A subscription's delivery log, newest first."""
    await get_subscription(session, subscription_id=subscription_id)
    query = sa.select(Delivery).where(col(Delivery.subscription_id) == subscription_id)
    if status:
        query = query.where(col(Delivery.status) == status)
    return await paginate(session, query, order=(col(Delivery.created_at), col(Delivery.id)), limit=limit,
                          cursor=cursor)
