"""Domain events: how a lower package sets off work in a higher one without importing it.

The publisher defines the event (a frozen dataclass) and publishes it inside its
transaction; the composition root (app/runtime.py) subscribes the higher packages'
handlers, which run in the same session, so what they write commits or rolls back
with the change that caused it.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession


class DomainEvent:
    """Base class of every domain event."""


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[AsyncSession, E], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[Handler[DomainEvent]]] = {}

    def subscribe(self, kind: type[E], handler: Handler[E]) -> None:
        self._handlers.setdefault(kind, []).append(cast(Handler[DomainEvent], handler))

    async def publish(self, session: AsyncSession, event: DomainEvent) -> None:
        for handler in self._handlers.get(type(event), ()):
            await handler(session, event)


async def publish(session: AsyncSession, event: DomainEvent) -> None:
    """Hand `event` to its subscribers, in this session's transaction."""
    bus = session.info.get("events")
    if not isinstance(bus, EventBus):
        raise RuntimeError(f"cannot publish {type(event).__name__}: this session has no event bus "
                           "(sessions come from the Runtime's sessionmaker)")
    await bus.publish(session, event)
