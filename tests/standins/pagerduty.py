"""A stand-in for the PagerDuty REST API v2, served over a real TLS socket.

The official ``pagerduty`` client (``RestApiV2Client``) only accepts
``https://`` base URLs, so this server speaks HTTPS with a throw-away
certificate authority from ``trustme``.  Point the client (or Loopgate via
``LOOPGATE_PAGERDUTY_API_URL`` / ``LOOPGATE_CA_BUNDLE``) at :attr:`url` and
trust :attr:`ca_bundle_path`::

    with PagerDutyStandIn() as pd:
        pd.add_incident(**make_lifecycle("Q2W7ZL4MB6XN0T"))
        ctx = ssl.create_default_context(cafile=pd.ca_bundle_path)
        client = pagerduty.RestApiV2Client(pd.token, base_url=pd.url, verify=ctx)
        client.rget("/incidents/Q2W7ZL4MB6XN0T")

Implemented (documented REST v2 shapes):

* ``GET /incidents`` -> ``{"incidents", "limit", "offset", "more", "total"}``;
  query ``since``/``until`` (on ``created_at``, ``until`` exclusive; at most
  6 months apart, as PagerDuty), ``service_ids[]``, ``statuses[]``,
  ``sort_by`` (``created_at``/``incident_number``, ``:asc``/``:desc``;
  default ``created_at:asc``), ``limit``/``offset``/``total``
* ``GET /incidents/{id}`` (id or incident number) -> ``{"incident": {...}}``
* ``GET /incidents/{id}/log_entries`` -> ``{"log_entries", "limit", "offset",
  "more", "total"}``; query ``limit``/``offset``/``total``, ``is_overview``,
  ``include[]=channels``, ``since``/``until``
* ``GET /incidents/{id}/alerts`` -> ``{"alerts", "limit", "offset", "more",
  "total"}``; query ``limit``/``offset``/``total``, ``statuses[]``, ``alert_key``
* ``GET /incidents/{id}/notes`` -> ``{"notes": [...]}`` (not paginated)

Errors use PagerDuty's shape ``{"error": {"message", "code"}}``: 401 (2006)
without ``Authorization: Token token=<token>``, 404 (2100) for an unknown
incident or route, 400 (2001) for bad pagination parameters.

Failure knobs (all thread-safe, settable while the server runs):
``latency_seconds``, :meth:`fail_next`, :meth:`slow_next`, ``down`` /
``down_mode``, plus :meth:`stop` / :meth:`start` on the same port for
"connection refused".  Every request is recorded in :attr:`requests`,
:attr:`records` and :attr:`counts`.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import socket
import ssl
import string
import tempfile
import threading
import time
import uuid
import weakref
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "API_BASE",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "LOG_ENTRY_TYPES",
    "PagerDutyStandIn",
    "RecordedRequest",
    "make_alert",
    "make_incident",
    "make_lifecycle",
    "make_log_entry",
    "make_note",
    "new_id",
    "reference",
]

API_BASE = "https://api.pagerduty.com"
DEFAULT_SUBDOMAIN = "acme"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# PagerDuty refuses classic pagination beyond offset + limit > 10000.
ITERATION_LIMIT = 10000

# The `type` enum of PagerDuty's documented LogEntry schema (REST v2 OpenAPI).
# There is no documented "priority change" log entry type: priority changes
# reach Loopgate as the `incident.priority_updated` webhook and the
# incident's `priority`.  `make_log_entry` still accepts any type string.
LOG_ENTRY_TYPES = (
    "acknowledge_log_entry",
    "annotate_log_entry",
    "assign_log_entry",
    "delegate_log_entry",
    "escalate_log_entry",
    "exhaust_escalation_path_log_entry",
    "notify_log_entry",
    "reach_ack_limit_log_entry",
    "reach_trigger_limit_log_entry",
    "repeat_escalation_path_log_entry",
    "resolve_log_entry",
    "snooze_log_entry",
    "trigger_log_entry",
    "unacknowledge_log_entry",
    "urgency_change_log_entry",
)

# Entry types left out of `is_overview=true` answers (the chatty ones).
NON_OVERVIEW_TYPES = frozenset({"notify_log_entry", "repeat_escalation_path_log_entry"})

# Channel keys kept when `include[]=channels` is *not* requested.
_CHANNEL_BRIEF_KEYS = ("type", "summary")

_ID_ALPHABET = string.ascii_uppercase + string.digits
_rng = random.Random()
_rng_lock = threading.Lock()


# --------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------


def new_id(length: int = 14, prefix: str = "Q") -> str:
    """A PagerDuty-looking object id (``Q`` + 13 characters by default)."""
    with _rng_lock:
        return prefix + "".join(_rng.choices(_ID_ALPHABET, k=length - len(prefix)))


def _ts(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_ts(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


_PLURAL = {
    "user": "users",
    "service": "services",
    "escalation_policy": "escalation_policies",
    "team": "teams",
    "incident": "incidents",
    "log_entry": "log_entries",
    "alert": "alerts",
    "priority": "priorities",
    "schedule": "schedules",
}
_HTML_PLURAL = {**_PLURAL, "service": "service-directory"}


def reference(
    kind: str,
    id: str,
    summary: str,
    *,
    subdomain: str = DEFAULT_SUBDOMAIN,
    api_base: str = API_BASE,
) -> dict:
    """A documented ``<kind>_reference`` object (user, service, team, ...)."""
    plural = _PLURAL.get(kind, kind + "s")
    html = _HTML_PLURAL.get(kind, plural)
    return {
        "id": id,
        "type": f"{kind}_reference",
        "summary": summary,
        "self": f"{api_base}/{plural}/{id}",
        "html_url": f"https://{subdomain}.pagerduty.com/{html}/{id}",
    }


def _as_ref(kind: str, value: Any, subdomain: str) -> dict | None:
    """Accept a ready reference dict, an ``(id, name)`` tuple, or None."""
    if value is None or isinstance(value, dict):
        return copy.deepcopy(value)
    ident, name = value
    return reference(kind, ident, name, subdomain=subdomain)


DEFAULT_USER = ("PK3R9TY", "Dana Whitfield")
DEFAULT_SECOND_USER = ("PXRUEF2", "Harsh Santwani")
DEFAULT_SERVICE = ("PSV81QA", "Checkout API")
DEFAULT_ESCALATION_POLICY = ("PEP4M2C", "Payments - Primary")
DEFAULT_TEAM = ("PTM0PAY", "Payments")
DEFAULT_INTEGRATION = ("PINT0EV2", "Datadog (Events API v2)")

_PRIORITIES = {
    "P1": ("PPR1SEV", "a8171c", 1),
    "P2": ("PPR2SEV", "eb6016", 2),
    "P3": ("PPR3SEV", "f9b406", 3),
    "P4": ("PPR4SEV", "555555", 4),
    "P5": ("PPR5SEV", "dddddd", 5),
}


def make_priority(name: str, *, subdomain: str = DEFAULT_SUBDOMAIN) -> dict:
    """The ``priority`` object as GET /incidents/{id} returns it."""
    ident, color, order = _PRIORITIES.get(name, (f"PPR{name.upper()[:4]}", "cccccc", 9))
    return {
        "id": ident,
        "type": "priority",
        "summary": name,
        "self": f"{API_BASE}/priorities/{ident}",
        "html_url": f"https://{subdomain}.pagerduty.com/account/incident_priorities",
        "name": name,
        "description": "",
        "color": color,
        "order": order,
    }


def make_incident(
    id: str,
    *,
    number: int = 4182,
    title: str = "Checkout API p99 latency > 2s in prod-eu-1",
    status: str = "resolved",
    urgency: str = "high",
    priority: str | dict | None = "P1",
    created_at: datetime | str = "2025-03-14T08:57:31Z",
    resolved_at: datetime | str | None = None,
    updated_at: datetime | str | None = None,
    service: tuple[str, str] | dict = DEFAULT_SERVICE,
    escalation_policy: tuple[str, str] | dict = DEFAULT_ESCALATION_POLICY,
    teams: Iterable[tuple[str, str] | dict] = (DEFAULT_TEAM,),
    assignees: Iterable[tuple[str, str] | dict] | None = None,
    acknowledgers: Iterable[tuple[str, str] | dict] | None = None,
    resolved_by: tuple[str, str] | dict | None = DEFAULT_USER,
    alert_counts: Mapping[str, int] | None = None,
    incident_key: str | None = None,
    description: str | None = None,
    resolve_reason: dict | None = None,
    conference_bridge: dict | None = None,
    incident_type: str = "incident_default",
    first_trigger_log_entry_id: str | None = None,
    subdomain: str = DEFAULT_SUBDOMAIN,
    **extra: Any,
) -> dict:
    """An incident as ``GET /incidents/{id}`` documents it (without the wrapper).

    REST incidents carry ``assignments`` (``[{at, assignee}]``) and
    ``acknowledgements`` (``[{at, acknowledger}]``); ``assignees`` is the
    webhook v3 name.  As on real PagerDuty, a *resolved* incident has empty
    ``assignments`` and ``acknowledgements`` unless you pass them explicitly —
    who handled it is in the log entries.
    """
    created = _ts(created_at)
    resolved_ts = _ts(resolved_at)
    if status == "resolved" and resolved_ts is None:
        resolved_ts = _ts(_parse_ts(created) + timedelta(minutes=44))
    last_change = resolved_ts if status == "resolved" else created
    if assignees is None:
        assignees = [] if status == "resolved" else [DEFAULT_USER]
    if acknowledgers is None:
        acknowledgers = [DEFAULT_USER] if status == "acknowledged" else []
    if alert_counts is None:
        alert_counts = {"all": 1, "triggered": 0 if status == "resolved" else 1,
                        "resolved": 1 if status == "resolved" else 0}
    trigger_id = first_trigger_log_entry_id or new_id()
    service_ref = _as_ref("service", service, subdomain)
    if status == "resolved" and resolved_by is not None:
        last_change_by = _as_ref("user", resolved_by, subdomain)
    else:
        last_change_by = copy.deepcopy(service_ref)
    if isinstance(priority, str):
        priority = make_priority(priority, subdomain=subdomain)
    incident = {
        "id": id,
        "type": "incident",
        "summary": f"[#{number}] {title}",
        "self": f"{API_BASE}/incidents/{id}",
        "html_url": f"https://{subdomain}.pagerduty.com/incidents/{id}",
        "incident_number": number,
        "title": title,
        "description": description if description is not None else title,
        "created_at": created,
        "updated_at": _ts(updated_at) or last_change,
        "status": status,
        "incident_key": incident_key or uuid.uuid5(uuid.NAMESPACE_URL, id).hex,
        "service": service_ref,
        "assignments": [
            {"at": created, "assignee": _as_ref("user", user, subdomain)} for user in assignees
        ],
        "assigned_via": "escalation_policy",
        "acknowledgements": [
            {"at": created, "acknowledger": _as_ref("user", user, subdomain)} for user in acknowledgers
        ],
        "last_status_change_at": last_change,
        "last_status_change_by": last_change_by,
        "first_trigger_log_entry": {
            "id": trigger_id,
            "type": "trigger_log_entry_reference",
            "summary": "Triggered through the API.",
            "self": f"{API_BASE}/log_entries/{trigger_id}",
            "html_url": f"https://{subdomain}.pagerduty.com/incidents/{id}/log_entries/{trigger_id}",
        },
        "alert_counts": dict(alert_counts),
        "is_mergeable": True,
        "incident_type": {"name": incident_type},
        "escalation_policy": _as_ref("escalation_policy", escalation_policy, subdomain),
        "teams": [_as_ref("team", team, subdomain) for team in teams],
        "pending_actions": [],
        "urgency": urgency,
        "priority": priority,
        "resolve_reason": resolve_reason,
        "conference_bridge": conference_bridge,
    }
    if status == "resolved":
        incident["resolved_at"] = resolved_ts
    incident.update(extra)
    return incident


_SENTINEL: Any = object()


def make_log_entry(
    type: str,
    *,
    incident_id: str,
    created_at: datetime | str,
    id: str | None = None,
    agent: tuple[str, str] | dict | None = _SENTINEL,
    summary: str | None = None,
    channel: dict | None = None,
    service: tuple[str, str] | dict = DEFAULT_SERVICE,
    teams: Iterable[tuple[str, str] | dict] = (DEFAULT_TEAM,),
    incident_summary: str | None = None,
    assignees: Iterable[tuple[str, str] | dict] | None = None,
    user: tuple[str, str] | dict | None = None,
    note: str | None = None,
    event_details: dict | None = None,
    subdomain: str = DEFAULT_SUBDOMAIN,
    **extra: Any,
) -> dict:
    """A log entry as ``GET /incidents/{id}/log_entries`` documents it.

    ``type`` may be given short (``"acknowledge"``) or in full
    (``"acknowledge_log_entry"``).  Sensible per-type defaults fill
    ``summary``, ``agent`` and ``channel``; ``assignees`` applies to
    assign/escalate/delegate entries, ``user`` to notify entries, ``note`` to
    annotate entries (it becomes ``channel.summary``).  The full ``channel`` is
    stored; the server trims it to ``{type, summary}`` unless the request has
    ``include[]=channels``.
    """
    if not type.endswith("_log_entry"):
        type = f"{type}_log_entry"
    entry_id = id or new_id()
    kind = type.removesuffix("_log_entry")
    assignee_refs = [_as_ref("user", u, subdomain) for u in (assignees or [DEFAULT_USER])]
    names = ", ".join(ref["summary"] for ref in assignee_refs)

    if agent is _SENTINEL:
        if kind == "trigger":
            agent = reference(
                "events_api_v2_inbound_integration", *DEFAULT_INTEGRATION, subdomain=subdomain
            )
            agent["self"] = f"{API_BASE}/services/{DEFAULT_SERVICE[0]}/integrations/{DEFAULT_INTEGRATION[0]}"
        elif kind in ("notify", "unacknowledge", "exhaust_escalation_path", "repeat_escalation_path",
                      "reach_ack_limit", "reach_trigger_limit"):
            agent = None
        elif kind == "escalate":
            agent = None  # escalated by timeout unless an agent is given
        else:
            agent = DEFAULT_USER
    agent_ref = _as_ref("user", agent, subdomain) if isinstance(agent, tuple) else copy.deepcopy(agent)
    agent_name = agent_ref["summary"] if agent_ref else "PagerDuty"

    default_channel: dict
    event = None
    if kind == "trigger":
        default_summary = "Triggered through the API."
        default_channel = {
            "type": "api",
            "summary": incident_summary or "Checkout API p99 latency > 2s in prod-eu-1",
            "description": incident_summary or "Checkout API p99 latency > 2s in prod-eu-1",
            "service_key": "R02ZQK6NZ0Y4CN2A2E3XLTDJB5KOQT45",
            "incident_key": uuid.uuid5(uuid.NAMESPACE_URL, incident_id).hex,
            "details": {"region": "prod-eu-1", "p99_ms": 2314},
            "cef_details": {
                "severity": "critical",
                "source": "checkout-api-prod-eu-1",
                "event_class": "latency",
                "message": incident_summary or "Checkout API p99 latency > 2s in prod-eu-1",
            },
        }
        event = {"description": incident_summary or "Checkout API p99 latency > 2s in prod-eu-1"}
    elif kind == "acknowledge":
        default_summary = f"Acknowledged by {agent_name}."
        default_channel = {"type": "website"}
        extra.setdefault("acknowledgement_timeout", 1800)
    elif kind == "unacknowledge":
        default_summary = "Unacknowledged due to timeout."
        default_channel = {"type": "timeout"}
    elif kind in ("assign", "delegate"):
        default_summary = f"Reassigned to {names}."
        default_channel = {"type": "website"}
        extra.setdefault("assignees", assignee_refs)
    elif kind == "escalate":
        default_summary = f"Escalated to {names}" + (" by timeout." if agent_ref is None else ".")
        default_channel = {"type": "timeout" if agent_ref is None else "website"}
        extra.setdefault("assignees", assignee_refs)
    elif kind == "notify":
        user_ref = _as_ref("user", user or DEFAULT_USER, subdomain)
        default_summary = f"Notified {user_ref['summary']} by SMS."
        default_channel = {
            "type": "auto",
            "notification": {"type": "sms_notification", "status": "success", "address": "+14155550134"},
        }
        extra.setdefault("user", user_ref)
    elif kind == "annotate":
        text = note if note is not None else "Rolled back checkout-api to v2.14.2."
        default_summary = "Note added"
        default_channel = {"type": "note", "summary": text}
    elif kind == "urgency_change":
        default_summary = "Urgency changed from low to high."
        default_channel = {"type": "website"}
    elif kind == "priority_change":  # not in the documented enum; accepted anyway
        default_summary = "Priority changed to P1."
        default_channel = {"type": "website"}
    elif kind == "resolve":
        default_summary = f"Resolved by {agent_name}." if agent_ref else "Resolved through the API."
        default_channel = {"type": "website" if agent_ref else "api"}
    elif kind == "snooze":
        default_summary = f"Snoozed by {agent_name} for 1 hour."
        default_channel = {"type": "website"}
    else:
        default_summary = kind.replace("_", " ").capitalize() + "."
        default_channel = {"type": "auto"}

    entry = {
        "id": entry_id,
        "type": type,
        "summary": summary if summary is not None else default_summary,
        "self": f"{API_BASE}/log_entries/{entry_id}",
        "html_url": f"https://{subdomain}.pagerduty.com/incidents/{incident_id}/log_entries/{entry_id}",
        "created_at": _ts(created_at),
        "agent": agent_ref,
        "channel": copy.deepcopy(channel) if channel is not None else default_channel,
        "service": _as_ref("service", service, subdomain),
        "incident": {
            "id": incident_id,
            "type": "incident_reference",
            "summary": incident_summary or f"[#{incident_id}]",
            "self": f"{API_BASE}/incidents/{incident_id}",
            "html_url": f"https://{subdomain}.pagerduty.com/incidents/{incident_id}",
        },
        "teams": [_as_ref("team", team, subdomain) for team in teams],
        "contexts": [],
    }
    if event_details is not None or event is not None:
        entry["event_details"] = event_details if event_details is not None else event
    entry.update(extra)
    return entry


def make_alert(
    id: str | None = None,
    *,
    incident_id: str,
    created_at: datetime | str,
    summary: str = "Checkout API p99 latency > 2s in prod-eu-1",
    status: str = "resolved",
    severity: str = "critical",
    alert_key: str | None = None,
    service: tuple[str, str] | dict = DEFAULT_SERVICE,
    incident_summary: str | None = None,
    details: dict | None = None,
    first_trigger_log_entry_id: str | None = None,
    subdomain: str = DEFAULT_SUBDOMAIN,
    **extra: Any,
) -> dict:
    """An alert as ``GET /incidents/{id}/alerts`` documents it."""
    alert_id = id or new_id()
    log_id = first_trigger_log_entry_id or new_id()
    integration = reference("events_api_v2_inbound_integration", *DEFAULT_INTEGRATION, subdomain=subdomain)
    integration["self"] = f"{API_BASE}/services/{DEFAULT_SERVICE[0]}/integrations/{DEFAULT_INTEGRATION[0]}"
    alert = {
        "id": alert_id,
        "type": "alert",
        "summary": summary,
        "self": f"{API_BASE}/alerts/{alert_id}",
        "html_url": f"https://{subdomain}.pagerduty.com/alerts/{alert_id}",
        "created_at": _ts(created_at),
        "status": status,
        "alert_key": alert_key or uuid.uuid5(uuid.NAMESPACE_URL, alert_id).hex,
        "service": _as_ref("service", service, subdomain),
        "first_trigger_log_entry": {
            "id": log_id,
            "type": "trigger_log_entry_reference",
            "summary": "Triggered through the API.",
            "self": f"{API_BASE}/log_entries/{log_id}",
            "html_url": f"https://{subdomain}.pagerduty.com/alerts/{alert_id}/log_entries/{log_id}",
        },
        "incident": {
            "id": incident_id,
            "type": "incident_reference",
            "summary": incident_summary or f"[#{incident_id}]",
            "self": f"{API_BASE}/incidents/{incident_id}",
            "html_url": f"https://{subdomain}.pagerduty.com/incidents/{incident_id}",
        },
        "suppressed": False,
        "severity": severity,
        "integration": integration,
        "body": {
            "type": "alert_body",
            "contexts": [],
            "details": details if details is not None else {"region": "prod-eu-1", "p99_ms": 2314},
            "cef_details": {
                "severity": severity,
                "source": "checkout-api-prod-eu-1",
                "message": summary,
            },
        },
    }
    alert.update(extra)
    return alert


def make_note(
    content: str = "Rolled back checkout-api to v2.14.2; latency recovering.",
    *,
    created_at: datetime | str = "2025-03-14T09:20:00Z",
    id: str | None = None,
    user: tuple[str, str] | dict | None = DEFAULT_USER,
    subdomain: str = DEFAULT_SUBDOMAIN,
    **extra: Any,
) -> dict:
    """A note as ``GET /incidents/{id}/notes`` documents it."""
    note = {
        "id": id or new_id(7, prefix="P"),
        "user": _as_ref("user", user, subdomain),
        "channel": {"summary": "The PagerDuty website or APIs"},
        "content": content,
        "created_at": _ts(created_at),
    }
    note.update(extra)
    return note


def make_lifecycle(
    incident_id: str,
    *,
    number: int = 4182,
    title: str = "Checkout API p99 latency > 2s in prod-eu-1",
    created_at: datetime | str = "2025-03-14T08:57:31Z",
    priority: str | None = "P1",
    urgency: str = "high",
    n_alerts: int = 1,
    n_notes: int = 1,
    extra_notify: int = 0,
    **incident_kwargs: Any,
) -> dict:
    """A realistic resolved incident with its timeline, alerts and notes.

    Returns ``{"incident", "log_entries", "alerts", "notes"}`` — pass it to
    ``PagerDutyStandIn.add_incident(**make_lifecycle(...))``.  The timeline is
    trigger, notify, acknowledge, annotate, urgency change, escalate, assign,
    (``extra_notify`` more notify entries), resolve — oldest first.
    """
    start = _parse_ts(_ts(created_at))
    summary = f"[#{number}] {title}"
    second = DEFAULT_SECOND_USER

    def at(minutes: float) -> str:
        return _ts(start + timedelta(minutes=minutes))

    notes_text = [
        "Rolled back checkout-api to v2.14.2; latency recovering.",
        "Root cause suspected: DB connection pool raised from 20 to 50 in v2.14.3.",
        "Customer impact: ~1,200 checkouts delayed in prod-eu-1.",
    ]
    common = {"incident_id": incident_id, "incident_summary": summary}
    entries = [
        make_log_entry("trigger", created_at=at(0), **common),
        make_log_entry("notify", created_at=at(0.1), user=DEFAULT_USER, **common),
        make_log_entry("acknowledge", created_at=at(3), agent=DEFAULT_USER, **common),
        make_log_entry("annotate", created_at=at(10), agent=DEFAULT_USER, note=notes_text[0], **common),
        make_log_entry("urgency_change", created_at=at(12), agent=DEFAULT_USER, **common),
        make_log_entry("escalate", created_at=at(15), assignees=[second], **common),
        make_log_entry("assign", created_at=at(18), agent=second, assignees=[DEFAULT_USER, second], **common),
    ]
    for i in range(extra_notify):
        entries.append(make_log_entry("notify", created_at=at(19 + i * 0.01), user=second, **common))
    entries.append(make_log_entry("resolve", created_at=at(44), agent=DEFAULT_USER, **common))

    alerts = [
        make_alert(
            incident_id=incident_id,
            incident_summary=summary,
            created_at=at(i * 0.5),
            summary=title if i == 0 else f"{title} (repeat {i})",
            first_trigger_log_entry_id=entries[0]["id"],
        )
        for i in range(n_alerts)
    ]
    notes = [
        make_note(notes_text[i % len(notes_text)], created_at=at(10 + i * 5))
        for i in range(n_notes)
    ]
    incident = make_incident(
        incident_id,
        number=number,
        title=title,
        created_at=_ts(start),
        resolved_at=at(44),
        priority=priority,
        urgency=urgency,
        first_trigger_log_entry_id=entries[0]["id"],
        alert_counts={"all": n_alerts, "triggered": 0, "resolved": n_alerts},
        **incident_kwargs,
    )
    return {"incident": incident, "log_entries": entries, "alerts": alerts, "notes": notes}


# --------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str  # path with query string, as sent
    headers: dict[str, str]
    status: int | None = None  # None: the connection was dropped
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Rule:
    substring: str
    remaining: int
    status: int | None = None  # None: drop the connection
    headers: dict[str, str] | None = None
    body: Any = None
    delay: float = 0.0  # slow_next: sleep, then answer normally (status None)
    slow_only: bool = False
    after: int = 0  # matching requests to let through before the rule applies


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, handler, standin: "PagerDutyStandIn", ssl_context: ssl.SSLContext):
        self.standin = standin
        self.ssl_context = ssl_context
        super().__init__(address, handler)

    def server_bind(self):
        # HTTPServer.server_bind() calls socket.getfqdn(), a reverse DNS lookup
        # that can stall for seconds on a sandbox; the name is not needed.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = self.socket.accept()
        # The TLS handshake happens in the per-connection thread (see
        # finish_request), so a slow client never blocks accept().
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.settimeout(10)
            request.do_handshake()
            request.settimeout(None)
        except (ssl.SSLError, OSError):
            return
        self.standin._track(request, True)
        try:
            super().finish_request(request, client_address)
        finally:
            self.standin._track(request, False)

    def handle_error(self, request, client_address):  # quiet: clients hang up all the time
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PagerDutyStandIn/1.0"
    sys_version = ""
    timeout = 60  # idle keep-alive connections are closed after this

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def _dispatch(self):
        self.server.standin._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class PagerDutyStandIn:
    """PagerDuty REST API v2 stand-in over HTTPS on ``127.0.0.1``.

    Attributes: ``url`` (``https://127.0.0.1:PORT``), ``ca_bundle_path`` (PEM of
    the CA that signed the server certificate for ``127.0.0.1`` and
    ``localhost``), ``token`` (the accepted API token), ``requests`` (list of
    ``(method, path_with_query)``), ``records`` (list of
    :class:`RecordedRequest`), ``counts`` (``Counter`` keyed by path without
    query), ``max_in_flight`` (peak concurrent requests being served),
    ``connections_opened`` (TLS connections accepted — keep-alive checks).
    :meth:`reset_requests` clears all of these; :meth:`clear` also forgets
    data and failure knobs.

    Knobs: ``latency_seconds`` (sleep before every answer), ``down`` (every
    request fails; ``down_mode`` ``"503"`` answers 503, ``"close"`` drops the
    connection without an answer), :meth:`fail_next`, :meth:`slow_next`.
    """

    def __init__(
        self,
        *,
        token: str = "standin-pd-token",
        host: str = "127.0.0.1",
        port: int = 0,
        log_entries_order: str = "desc",
    ) -> None:
        if log_entries_order not in ("asc", "desc"):
            raise ValueError("log_entries_order must be 'asc' or 'desc'")
        self.token = token
        self.host = host
        self.port = port
        self.log_entries_order = log_entries_order
        self._lock = threading.RLock()
        self._incidents: dict[str, dict] = {}
        self._log_entries: dict[str, list[dict]] = {}
        self._alerts: dict[str, list[dict]] = {}
        self._notes: dict[str, list[dict]] = {}
        self._rules: list[_Rule] = []
        self._latency = 0.0
        self._down = False
        self._down_mode = "503"
        self._in_flight = 0
        self.max_in_flight = 0
        self.requests: list[tuple[str, str]] = []
        self.records: list[RecordedRequest] = []
        self.counts: Counter[str] = Counter()
        self._connections: set = set()
        self.connections_opened = 0  # TLS connections accepted (keep-alive check)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir = Path(tempfile.mkdtemp(prefix="pd-standin-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self._tmpdir), True)
        self._make_certificates()

    # -- certificates ------------------------------------------------------

    def _make_certificates(self) -> None:
        import trustme

        self._ca = trustme.CA()
        server_cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self.ca_bundle_path = str(self._tmpdir / "pagerduty-standin-ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_bundle_path)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_cert.configure_cert(ctx)
        self._ssl_context = ctx

    def client_ssl_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` trusting only the stand-in's CA (for ``verify=``)."""
        return ssl.create_default_context(cafile=self.ca_bundle_path)

    # -- lifecycle ---------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None and self.port == 0:
            raise RuntimeError("PagerDutyStandIn is not started")
        return f"https://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> "PagerDutyStandIn":
        """Start serving (again, on the same port after :meth:`stop`)."""
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), _Handler, self, self._ssl_context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"pagerduty-standin:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (the port stays reserved
        in :attr:`port`, so :meth:`start` can bring it back — "connection
        refused" meanwhile)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        """Stop and delete the temporary CA file."""
        self.stop()
        self._finalizer()

    def __enter__(self) -> "PagerDutyStandIn":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    def env(self) -> dict[str, str]:
        """Loopgate settings pointing at this stand-in (for ``monkeypatch.setenv``)."""
        return {
            "LOOPGATE_PAGERDUTY_API_URL": self.url,
            "LOOPGATE_PAGERDUTY_API_TOKEN": self.token,
            "LOOPGATE_CA_BUNDLE": self.ca_bundle_path,
        }

    def _track(self, conn, opened: bool) -> None:
        with self._lock:
            if opened:
                self._connections.add(conn)
                self.connections_opened += 1
            else:
                self._connections.discard(conn)

    # -- data --------------------------------------------------------------

    def add_incident(
        self,
        incident: dict,
        *,
        log_entries: Iterable[dict] = (),
        alerts: Iterable[dict] = (),
        notes: Iterable[dict] = (),
    ) -> dict:
        """Store an incident (replacing one with the same id) and its children.

        Objects are deep-copied.  Returns the stored incident.
        """
        incident = copy.deepcopy(incident)
        log_entries = copy.deepcopy(list(log_entries))
        alerts = copy.deepcopy(list(alerts))
        notes = copy.deepcopy(list(notes))
        with self._lock:
            ident = incident["id"]
            self._incidents[ident] = incident
            self._log_entries[ident] = log_entries
            self._alerts[ident] = alerts
            self._notes[ident] = notes
        return incident

    def add_log_entries(self, incident_id: str, entries: Iterable[dict]) -> None:
        with self._lock:
            self._log_entries.setdefault(incident_id, []).extend(copy.deepcopy(list(entries)))

    def add_alerts(self, incident_id: str, alerts: Iterable[dict]) -> None:
        with self._lock:
            self._alerts.setdefault(incident_id, []).extend(copy.deepcopy(list(alerts)))

    def add_notes(self, incident_id: str, notes: Iterable[dict]) -> None:
        with self._lock:
            self._notes.setdefault(incident_id, []).extend(copy.deepcopy(list(notes)))

    def update_incident(self, incident_id: str, **fields: Any) -> None:
        with self._lock:
            self._incidents[incident_id].update(copy.deepcopy(fields))

    def remove_incident(self, incident_id: str) -> None:
        with self._lock:
            for store in (self._incidents, self._log_entries, self._alerts, self._notes):
                store.pop(incident_id, None)

    def clear(self) -> None:
        """Forget all data, failure rules and the request log."""
        with self._lock:
            for store in (self._incidents, self._log_entries, self._alerts, self._notes):
                store.clear()
            self._rules.clear()
            self._latency = 0.0
            self._down = False
            self._down_mode = "503"
        self.reset_requests()

    # -- knobs -------------------------------------------------------------

    @property
    def latency_seconds(self) -> float:
        with self._lock:
            return self._latency

    @latency_seconds.setter
    def latency_seconds(self, value: float) -> None:
        with self._lock:
            self._latency = float(value)

    @property
    def down(self) -> bool:
        with self._lock:
            return self._down

    @down.setter
    def down(self, value: bool) -> None:
        with self._lock:
            self._down = bool(value)

    @property
    def down_mode(self) -> str:
        with self._lock:
            return self._down_mode

    @down_mode.setter
    def down_mode(self, value: str) -> None:
        if value not in ("503", "close"):
            raise ValueError("down_mode must be '503' or 'close'")
        with self._lock:
            self._down_mode = value

    def fail_next(
        self,
        path_substring: str,
        status: int | None,
        count: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        after: int = 0,
    ) -> None:
        """The next ``count`` requests whose path+query contains
        ``path_substring`` answer ``status`` (``None``: drop the connection);
        with ``after``, only once that many matching requests went through.

        Default bodies are PagerDuty-shaped errors; a 429 without explicit
        ``headers`` carries ``ratelimit-limit: 960``, ``ratelimit-remaining: 0``
        and ``ratelimit-reset: 1`` (seconds).  Rules are consumed in the order
        they were added; each request consumes at most one rule.
        """
        if headers is None and status == 429:
            headers = {"ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "1"}
        with self._lock:
            self._rules.append(_Rule(path_substring, int(count), status, dict(headers or {}), body,
                                     after=int(after)))

    def slow_next(self, path_substring: str, seconds: float, count: int = 1) -> None:
        """The next ``count`` matching requests wait ``seconds`` (on top of
        ``latency_seconds``) and then answer normally — for timeout tests."""
        with self._lock:
            self._rules.append(_Rule(path_substring, int(count), delay=float(seconds), slow_only=True))

    def clear_failures(self) -> None:
        with self._lock:
            self._rules.clear()
            self._down = False

    def pending_failures(self) -> int:
        with self._lock:
            return sum(rule.remaining for rule in self._rules)

    def reset_requests(self) -> None:
        with self._lock:
            self.requests.clear()
            self.records.clear()
            self.counts.clear()
            self.max_in_flight = 0
            self.connections_opened = 0

    def count(self, path_substring: str = "", method: str = "GET") -> int:
        """How many requests with ``method`` had ``path_substring`` in path+query."""
        with self._lock:
            return sum(1 for m, p in self.requests if m == method and path_substring in p)

    # -- request handling --------------------------------------------------

    def _take_rule(self, path: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.remaining > 0 and rule.substring in path:
                    if rule.after > 0:
                        rule.after -= 1
                        return None
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def _handle(self, handler: _Handler) -> None:
        method = handler.command
        raw_path = handler.path
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        record = RecordedRequest(method, raw_path, {k.lower(): v for k, v in handler.headers.items()})
        split = urlsplit(raw_path)
        with self._lock:
            self.requests.append((method, raw_path))
            self.records.append(record)
            self.counts[split.path] += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            latency, down, down_mode = self._latency, self._down, self._down_mode
        try:
            if latency > 0:
                time.sleep(latency)
            if down:
                if down_mode == "close":
                    self._drop(handler, record)
                else:
                    self._send(handler, record, 503, _error("Service Unavailable", None))
                return
            rule = self._take_rule(raw_path)
            if rule is not None and rule.slow_only:
                time.sleep(rule.delay)
                rule = None
            if rule is not None:
                if rule.status is None:
                    self._drop(handler, record)
                    return
                body = rule.body if rule.body is not None else _default_error(rule.status)
                self._send(handler, record, rule.status, body, rule.headers)
                return
            if handler.headers.get("Authorization") != f"Token token={self.token}":
                self._send(handler, record, 401, _error("Unauthorized", 2006))
                return
            status, body = self._route(method, split.path, parse_qs(split.query, keep_blank_values=True))
            self._send(handler, record, status, body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            handler.close_connection = True
        except Exception as exc:  # a bug in the stand-in: answer 500 so tests see it
            try:
                self._send(handler, record, 500, _error(f"stand-in error: {exc!r}", None))
            except OSError:
                handler.close_connection = True
        finally:
            with self._lock:
                self._in_flight -= 1

    @staticmethod
    def _drop(handler: _Handler, record: RecordedRequest) -> None:
        record.status = None
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(
        self,
        handler: _Handler,
        record: RecordedRequest,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        record.status = status
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("X-Request-Id", uuid.uuid4().hex)
        for name, value in (headers or {}).items():
            handler.send_header(name, str(value))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)
        handler.wfile.flush()

    # -- routes ------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        if method != "GET" or not parts or parts[0] != "incidents" or len(parts) not in (1, 2, 3):
            return 404, _error("Not Found", 2100)
        if len(parts) == 1:
            return self._list_incidents(query)
        with self._lock:
            incident = self._find_incident(parts[1])
            if incident is None:
                return 404, _error("Not Found", 2100)
            ident = incident["id"]
            if len(parts) == 2:
                return 200, {"incident": copy.deepcopy(incident)}
            sub = parts[2]
            if sub == "log_entries":
                items = [copy.deepcopy(e) for e in self._log_entries.get(ident, [])]
            elif sub == "alerts":
                items = [copy.deepcopy(a) for a in self._alerts.get(ident, [])]
            elif sub == "notes":
                return 200, {"notes": [copy.deepcopy(n) for n in self._notes.get(ident, [])]}
            else:
                return 404, _error("Not Found", 2100)

        if sub == "log_entries":
            items = self._filter_log_entries(items, query)
            if items is None:
                return 400, _error("Invalid Input Provided", 2001, ["Invalid 'since' or 'until'."])
        else:
            statuses = query.get("statuses[]") or query.get("statuses") or []
            if statuses:
                items = [a for a in items if a.get("status") in statuses]
            alert_key = _first(query, "alert_key")
            if alert_key:
                items = [a for a in items if a.get("alert_key") == alert_key]
            items.sort(key=lambda a: a.get("created_at") or "")
        return self._paginate(sub, items, query)

    def _list_incidents(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        try:
            since = _parse_ts(_first(query, "since")) if _first(query, "since") else None
            until = _parse_ts(_first(query, "until")) if _first(query, "until") else None
        except ValueError:
            return 400, _error("Invalid Input Provided", 2001, ["Invalid 'since' or 'until'."])
        if since and until and until - since > timedelta(days=183):
            return 400, _error("Invalid Input Provided", 2001, ["Date range must be at most 6 months."])
        field_name, _, direction = (_first(query, "sort_by") or "created_at:asc").partition(":")
        if field_name not in ("created_at", "incident_number") or direction not in ("", "asc", "desc"):
            return 400, _error("Invalid Input Provided", 2001, ["Invalid 'sort_by'."])
        services = set(query.get("service_ids[]", []))
        statuses = set(query.get("statuses[]", []))
        with self._lock:
            items = [i for i in self._incidents.values()
                     if (since is None or _parse_ts(i["created_at"]) >= since)
                     and (until is None or _parse_ts(i["created_at"]) < until)
                     and (not services or (i.get("service") or {}).get("id") in services)
                     and (not statuses or i.get("status") in statuses)]
            key = ((lambda i: (_parse_ts(i["created_at"]), i["id"])) if field_name == "created_at"
                   else (lambda i: (i.get("incident_number") or 0, i["id"])))
            items = [copy.deepcopy(i) for i in sorted(items, key=key, reverse=direction == "desc")]
        return self._paginate("incidents", items, query)

    def _find_incident(self, key: str) -> dict | None:
        incident = self._incidents.get(key)
        if incident is None and key.isdigit():
            for candidate in self._incidents.values():
                if str(candidate.get("incident_number")) == key:
                    return candidate
        return incident

    def _filter_log_entries(self, items: list[dict], query: dict[str, list[str]]) -> list[dict] | None:
        if _truthy(_first(query, "is_overview")):
            items = [e for e in items if e.get("type") not in NON_OVERVIEW_TYPES]
        include = set(query.get("include[]", [])) | set(query.get("include", []))
        if "channels" not in include:
            for entry in items:
                channel = entry.get("channel")
                if isinstance(channel, dict):
                    entry["channel"] = {k: channel[k] for k in _CHANNEL_BRIEF_KEYS if k in channel}
        try:
            since = _first(query, "since")
            until = _first(query, "until")
            if since:
                start = _parse_ts(since)
                items = [e for e in items if _parse_ts(e["created_at"]) >= start]
            if until:
                end = _parse_ts(until)
                items = [e for e in items if _parse_ts(e["created_at"]) < end]
        except (ValueError, KeyError):
            return None
        items.sort(key=lambda e: e.get("created_at") or "", reverse=self.log_entries_order == "desc")
        return items

    @staticmethod
    def _paginate(wrapper: str, items: list[dict], query: dict[str, list[str]]) -> tuple[int, Any]:
        try:
            limit = int(_first(query, "limit") or DEFAULT_PAGE_SIZE)
            offset = int(_first(query, "offset") or 0)
        except ValueError:
            return 400, _error("Invalid Input Provided", 2001, ["limit and offset must be integers."])
        if limit < 1 or offset < 0:
            return 400, _error("Invalid Input Provided", 2001, ["limit must be positive, offset non-negative."])
        limit = min(limit, MAX_PAGE_SIZE)
        if offset + limit > ITERATION_LIMIT:
            return 400, _error("Invalid Input Provided", 2001, [f"Offset + limit must be at most {ITERATION_LIMIT}."])
        page = items[offset:offset + limit]
        return 200, {
            wrapper: page,
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < len(items),
            "total": len(items) if _truthy(_first(query, "total")) else None,
        }


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


def _error(message: str, code: int | None, errors: list[str] | None = None) -> dict:
    err: dict[str, Any] = {"message": message, "code": code}
    if errors:
        err["errors"] = errors
    return {"error": err}


def _default_error(status: int) -> dict:
    if status == 429:
        return _error("Rate Limit Exceeded", 2020)
    if status == 401:
        return _error("Unauthorized", 2006)
    if status == 403:
        return _error("Access Denied", 2010)
    if status == 404:
        return _error("Not Found", 2100)
    if status == 400:
        return _error("Invalid Input Provided", 2001)
    if status >= 500:
        return _error("Internal Server Error" if status == 500 else "Service Unavailable", None)
    return _error(f"HTTP {status}", None)


class _MainStandIn(PagerDutyStandIn):
    """The stand-in as ``main`` serves it: the same answers, plus two options
    for benchmarks (see ``main``'s ``--fast-paging`` and ``--request-log``).
    Data is seeded before :meth:`start` and never changes afterwards."""

    fast_paging = False
    tcp_nodelay = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ordered: dict[tuple[str, str, str], list[dict]] = {}

    def _send(self, handler, record, status, body, headers=None) -> None:
        if self.tcp_nodelay:
            try:
                handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super()._send(handler, record, status, body, headers)
        record.done = time.monotonic()  # when the whole answer was written

    def _route(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if self.fast_paging and method == "GET":
            answer = self._fast_page(path, query)
            if answer is not None:
                return answer
        return super()._route(method, path, query)

    def _fast_page(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        """An unfiltered page of log entries or alerts, deep-copying only the
        page (the general route copies the whole list on every request);
        anything else (filters, unknown incidents) takes the general route."""
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        if len(parts) != 3 or parts[0] != "incidents" or parts[2] not in ("log_entries", "alerts"):
            return None
        if set(query) - {"limit", "offset", "total", "include[]", "include"}:
            return None
        sub = parts[2]
        with self._lock:
            incident = self._find_incident(parts[1])
            if incident is None:
                return None
            key = (incident["id"], sub, self.log_entries_order)
            ordered = self._ordered.get(key)
            if ordered is None:
                source = self._log_entries if sub == "log_entries" else self._alerts
                ordered = sorted(source.get(incident["id"], []), key=lambda e: e.get("created_at") or "",
                                 reverse=sub == "log_entries" and self.log_entries_order == "desc")
                self._ordered[key] = ordered
            status, body = self._paginate(sub, ordered, query)
            if status == 200:
                body[sub] = [copy.deepcopy(item) for item in body[sub]]
        include = set(query.get("include[]", [])) | set(query.get("include", []))
        if status == 200 and sub == "log_entries" and "channels" not in include:
            for entry in body[sub]:
                channel = entry.get("channel")
                if isinstance(channel, dict):
                    entry["channel"] = {k: channel[k] for k in _CHANNEL_BRIEF_KEYS if k in channel}
        return status, body

    def write_request_log(self, path: str) -> None:
        """One JSON line per request: method, path (with query), status, and
        ``at`` / ``done`` on ``time.monotonic()`` (the system-wide monotonic
        clock on Linux, so other processes can line them up with theirs)."""
        with self._lock:
            records = list(self.records)
        with open(path, "w") as out:
            for r in records:
                out.write(json.dumps({"method": r.method, "path": r.path, "status": r.status, "at": r.at,
                                      "done": getattr(r, "done", None)}) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Run the stand-in in its own process (benchmarks: no GIL shared with the
    code under test).  Prints one JSON line ``{url, ca_bundle_path, token,
    incident_ids}`` on stdout, then serves until interrupted."""
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="standin-pd-token")
    parser.add_argument("--incidents", type=int, default=10, help="resolved incidents to seed")
    parser.add_argument("--log-entries", type=int, default=9, help="log entries per incident (>= 8)")
    parser.add_argument("--alerts", type=int, default=2)
    parser.add_argument("--notes", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--distinct-notes", action="store_true",
                        help="make every note's content unique (by default the notes cycle through three texts)")
    parser.add_argument("--fast-paging", action="store_true",
                        help="serve unfiltered log entry / alert pages from a pre-sorted list, deep-copying only "
                             "the page: the same answers, but the stand-in's own time per page no longer grows "
                             "with the list (by default ~25 ms per page at 1,000 log entries, ~290 ms at 10,000)")
    parser.add_argument("--tcp-nodelay", action="store_true",
                        help="set TCP_NODELAY on every connection: an answer's headers and body go out as two "
                             "writes, and without it Nagle's algorithm can hold the body's last segment until the "
                             "client's delayed ACK (~40 ms on Linux loopback)")
    parser.add_argument("--request-log", metavar="PATH",
                        help="on exit, write every request as a JSON line {method, path, status, at, done} "
                             "(time.monotonic() seconds)")
    args = parser.parse_args(argv)

    standin = _MainStandIn(token=args.token, port=args.port)
    standin.fast_paging = args.fast_paging
    standin.tcp_nodelay = args.tcp_nodelay
    ids = []
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for i in range(args.incidents):
        ident = f"QSTANDIN{i:06d}"
        ids.append(ident)
        lifecycle = make_lifecycle(
            ident, number=1000 + i, created_at=start + timedelta(hours=6 * i),
            n_alerts=args.alerts, n_notes=args.notes, extra_notify=max(0, args.log_entries - 8),
        )
        if args.distinct_notes:
            for n, note in enumerate(lifecycle["notes"], 1):
                note["content"] = f"{note['content']} (note {n} of {len(lifecycle['notes'])})"
        standin.add_incident(**lifecycle)
    standin.latency_seconds = args.latency
    standin.start()
    print(json.dumps({"url": standin.url, "ca_bundle_path": standin.ca_bundle_path,
                      "token": standin.token, "incident_ids": ids}), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
        if args.request_log:
            standin.write_request_log(args.request_log)
        standin.close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
