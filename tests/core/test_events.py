"""Domain events: handlers run in the publisher's session, in order; a session without a bus refuses."""

from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import create_engine, create_sessionmaker
from app.core.events import DomainEvent, EventBus, publish


@dataclass(frozen=True)
class Happened(DomainEvent):
    what: str


@dataclass(frozen=True)
class Other(DomainEvent):
    pass


async def test_subscribers_run_in_the_publishing_session_in_subscription_order(database_url):
    seen: list[tuple[str, str, AsyncSession]] = []
    bus = EventBus()

    async def first(session: AsyncSession, event: Happened) -> None:
        seen.append(("first", event.what, session))

    async def second(session: AsyncSession, event: Happened) -> None:
        seen.append(("second", event.what, session))

    bus.subscribe(Happened, first)
    bus.subscribe(Happened, second)
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine, events=bus)() as session:
            await publish(session, Happened("resolved"))
            await publish(session, Other())  # nobody subscribed: nothing runs
    finally:
        await engine.dispose()
    assert seen == [("first", "resolved", session), ("second", "resolved", session)]


async def test_a_session_without_a_bus_refuses_to_publish(database_url):
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            with pytest.raises(RuntimeError, match="cannot publish Happened: this session has no event bus"):
                await publish(session, Happened("lost"))
    finally:
        await engine.dispose()
