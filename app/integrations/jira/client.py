"""Jira through the `jira` package (Cloud and Data Center), each call in a worker thread.

The client is built with `max_retries=0`: it must never re-send a create on its own.
Retries belong to the `sync_ticket` job, which searches by label before creating again.
"""

import asyncio
import threading
from datetime import datetime
from typing import Any

from jira import JIRA, JIRAError
from requests import RequestException

from app.core.vendors import IssueRef, IssueState
from app.integrations.jira.schemas import issue_state

ISSUE_FIELDS = "status,resolution,updated,labels,created"


class JiraUnavailable(Exception):
    """Jira did not answer usefully (network, timeout, 5xx, 429); for a write, the outcome is unknown."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class JiraNotFound(Exception):
    """The issue does not exist (or this account cannot see it)."""


class JiraRejected(Exception):
    """Jira refused the request itself (4xx); sending it again will not help."""


def _retry_after(error: JIRAError) -> float | None:
    value = error.response.headers.get("Retry-After") if error.response is not None else None
    try:
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, JIRAError):
        status = exc.status_code or 0
        text = exc.text or str(exc)
        if status == 404:
            return JiraNotFound(text)
        if status == 429 or status >= 500 or status == 0:
            return JiraUnavailable(f"Jira answered {status or 'nothing'}: {text}"[:500], retry_after=_retry_after(exc))
        return JiraRejected(f"Jira answered {status}: {text}"[:1000])
    if isinstance(exc, RequestException):
        return JiraUnavailable(f"{type(exc).__name__}: {exc}"[:500])
    return exc


class JiraGateway:
    """The one Jira client of a process; built on first use, since construction calls Jira."""

    def __init__(self, *, url: str, email: str | None, token: str, timeout: float, ca_bundle: str | None) -> None:
        self.url = url.rstrip("/")
        self._email, self._token, self._timeout, self._ca_bundle = email, token, timeout, ca_bundle
        self._client: JIRA | None = None
        self._lock = threading.Lock()

    def _jira(self) -> JIRA:
        with self._lock:
            if self._client is None:
                auth: dict[str, Any] = ({"basic_auth": (self._email, self._token)} if self._email
                                        else {"token_auth": self._token})
                options: dict[str, Any] = {"verify": self._ca_bundle} if self._ca_bundle else {}
                self._client = JIRA(server=self.url, max_retries=0, timeout=self._timeout, get_server_info=True,
                                    options=options, **auth)
            return self._client

    async def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            try:
                return getattr(self._jira(), method)(*args, **kwargs)
            except Exception as exc:
                raise _translate(exc) from exc

        return await asyncio.to_thread(call)

    def browse_url(self, key: str) -> str:
        return f"{self.url}/browse/{key}"

    async def create_issue(self, fields: dict[str, Any]) -> IssueRef:
        """One POST, never repeated here; prefetch=False so a failing read-back cannot hide a created issue."""
        issue = await self._run("create_issue", fields=fields, prefetch=False)
        return IssueRef(str(issue.id), issue.key, self.browse_url(issue.key))

    async def issues_with_label(self, label: str) -> list[IssueRef]:
        """Issues carrying `label`, oldest first."""
        found = await self._run("search_issues", f'labels = "{label}" ORDER BY created ASC', maxResults=50,
                                fields=ISSUE_FIELDS)
        issues = sorted(found, key=lambda i: (i.raw.get("fields", {}).get("created") or "", int(i.id)))
        return [IssueRef(str(i.id), i.key, self.browse_url(i.key)) for i in issues]

    async def keys_with_label(self, label: str) -> set[str]:
        """The key of every issue carrying `label` (all pages)."""
        found = await self._run("search_issues", f'labels = "{label}"', maxResults=False, fields="key")
        return {issue.key for issue in found}

    async def get_issue(self, key: str) -> IssueState:
        issue = await self._run("issue", key, fields=ISSUE_FIELDS)
        state = issue_state(issue.raw)
        assert state is not None  # an issue read by key has its id and key
        return state

    async def add_remote_link(self, key: str, *, global_id: str, url: str, title: str) -> None:
        """A link from the issue back to Loopgate; Jira updates instead of adding when `global_id` repeats."""
        await self._run("add_remote_link", key, destination={"url": url, "title": title}, globalId=global_id)

    async def updated_since(self, label: str, since: datetime) -> list[IssueState]:
        """Issues with `label` updated at or after `since` (minute precision, as JQL has)."""
        stamp = since.strftime("%Y-%m-%d %H:%M")
        found = await self._run("search_issues", f'labels = "{label}" AND updated >= "{stamp}" ORDER BY updated ASC',
                                maxResults=False, fields=ISSUE_FIELDS)  # every page
        return [state for state in (issue_state(i.raw) for i in found) if state is not None]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
