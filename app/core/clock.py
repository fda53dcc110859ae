"""The one clock. Tests move it with `set_clock`; everything else calls `now()`."""

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _source()


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); `None` restores the wall clock."""
    global _source
    _source = source or (lambda: datetime.now(UTC))


def as_utc(moment: datetime) -> datetime:
    """A client's timestamp in UTC; one without a time zone is read as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_timestamp(value: object) -> datetime | None:
    """A vendor's ISO 8601 timestamp ('2021-04-26T17:36:27.458Z'); None when absent, unreadable or
    without a time zone (a moment that names no zone cannot be placed)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
