"""What the domains need from PagerDuty and Jira, as Protocols the clients in app/integrations satisfy.

The domains and the Runtime see only these; the composition root (app/runtime.py) builds
the real clients.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class IssueRef:
    """A Jira issue Loopgate created or found."""

    issue_id: str
    key: str
    url: str


@dataclass(frozen=True)
class IssueState:
    """The part of a Jira issue that drives an action item."""

    issue_id: str
    key: str
    status_category: str | None  # new / indeterminate / done
    resolution: str | None
    updated: datetime | None


class PagerDutyReads(Protocol):
    """PagerDuty REST reads for the Event Packet (JSON as PagerDuty returns it)."""

    async def incident(self, incident_id: str) -> dict[str, Any]: ...

    async def notes(self, incident_id: str) -> list[dict[str, Any]]: ...

    async def pages(self, path: str, key: str, params: dict[str, Any] | None = None
                    ) -> tuple[list[dict[str, Any]], str | None]:
        """Every page of a list; on failure, what was read and why it stopped."""
        ...

    async def list_page(self, path: str, key: str, params: dict[str, Any], *, offset: int
                        ) -> tuple[list[dict[str, Any]], bool, int | None]:
        """One page of a list (items, more, total); raises after the last try."""
        ...

    def close(self) -> None: ...


class JiraClient(Protocol):
    """Jira for action item tickets; a create is never re-sent by the client itself."""

    def browse_url(self, key: str) -> str: ...

    async def create_issue(self, fields: dict[str, Any]) -> IssueRef: ...

    async def issues_with_label(self, label: str) -> list[IssueRef]: ...

    async def keys_with_label(self, label: str) -> set[str]: ...

    async def get_issue(self, key: str) -> IssueState: ...

    async def add_remote_link(self, key: str, *, global_id: str, url: str, title: str) -> None: ...

    async def updated_since(self, label: str, since: datetime) -> list[IssueState]: ...

    def close(self) -> None: ...
