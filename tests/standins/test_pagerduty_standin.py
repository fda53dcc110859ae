"""The PagerDuty stand-in, exercised with the real `pagerduty` client.

`pagerduty` 7.x is built on `httpx2` (not `requests`): the CA bundle must be
given at construction (`verify=ssl_context`), `client.verify = path` afterwards
does nothing.  These tests also pin the client's retry behaviour that
Loopgate has to cap (429 is retried without limit by default).
"""

from __future__ import annotations

import ssl
import time
from concurrent.futures import ThreadPoolExecutor

import pagerduty
import pytest

if not hasattr(pagerduty, "RestApiV2Client"):  # pragma: no cover - environment guard
    pytest.fail(
        f"`import pagerduty` found {pagerduty.__file__}, not the PagerDuty client package: "
        "a module named pagerduty.py on sys.path (pytest's rootdir insertion puts tests/ there) "
        "shadows it — rename that module or run pytest with --import-mode=importlib",
        pytrace=False,
    )

from .pagerduty import (  # noqa: E402
    LOG_ENTRY_TYPES,
    PagerDutyStandIn,
    make_alert,
    make_incident,
    make_lifecycle,
    make_log_entry,
    make_note,
)

INCIDENT = "Q2W7ZL4MB6XN0T"


@pytest.fixture(scope="module")
def server():
    with PagerDutyStandIn() as pd:
        yield pd


@pytest.fixture
def pd(server):
    server.clear()
    server.add_incident(**make_lifecycle(INCIDENT, number=4182, n_alerts=3, n_notes=2, extra_notify=4))
    yield server
    server.clear()


def make_client(
    pd: PagerDutyStandIn, token: str | None = None, retry: dict[int, int] | None = None
) -> pagerduty.RestApiV2Client:
    client = pagerduty.RestApiV2Client(token or pd.token, base_url=pd.url, verify=pd.client_ssl_context())
    client.sleep_timer = 0.001  # first back-off sleep = sleep_timer * sleep_timer_base
    client.sleep_timer_base = 2
    client.timeout = 5
    client.max_network_attempts = 1
    client.retry = dict(retry or {})  # status -> retries; -1 unlimited; absent/0 -> default
    return client


@pytest.fixture
def new_client():
    """make_client, closing every client (and its pooled connections) afterwards."""
    made: list[pagerduty.RestApiV2Client] = []

    def factory(pd: PagerDutyStandIn, token: str | None = None, retry: dict[int, int] | None = None):
        made.append(make_client(pd, token, retry))
        return made[-1]

    yield factory
    for client in made:
        client.close()


# -- happy paths ------------------------------------------------------------


def test_url_and_ca_bundle(pd):
    assert pd.url.startswith("https://127.0.0.1:")
    with open(pd.ca_bundle_path) as fh:
        assert "BEGIN CERTIFICATE" in fh.read()
    assert pd.env()["LOOPGATE_CA_BUNDLE"] == pd.ca_bundle_path


def test_rget_incident(pd, new_client):
    client = new_client(pd)
    incident = client.rget(f"/incidents/{INCIDENT}")
    assert incident["id"] == INCIDENT
    assert incident["type"] == "incident"
    assert incident["incident_number"] == 4182
    assert incident["status"] == "resolved"
    assert incident["priority"]["summary"] == "P1"
    assert incident["urgency"] == "high"
    assert incident["alert_counts"] == {"all": 3, "triggered": 0, "resolved": 3}
    assert incident["service"]["type"] == "service_reference"
    # By number, as PagerDuty allows:
    assert client.rget("/incidents/4182")["id"] == INCIDENT
    # The token went out in PagerDuty's format, with the v2 Accept header:
    headers = pd.records[-1].headers
    assert headers["authorization"] == f"Token token={pd.token}"
    assert headers["accept"] == "application/vnd.pagerduty+json;version=2"


def test_log_entries_three_pages(pd, new_client):
    client = new_client(pd)
    entries = client.list_all(f"/incidents/{INCIDENT}/log_entries", params={"is_overview": False}, page_size=5)
    # trigger, notify, ack, annotate, urgency, escalate, assign, 4 notify, resolve
    assert len(entries) == 12
    assert len({e["id"] for e in entries}) == 12
    pages = [p for m, p in pd.requests if "/log_entries" in p]
    assert len(pages) == 3
    assert "offset=0" in pages[0] and "offset=5" in pages[1] and "offset=10" in pages[2]
    # Newest first, like PagerDuty; channels trimmed without include[]=channels.
    stamps = [e["created_at"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)
    assert entries[0]["type"] == "resolve_log_entry"
    assert entries[-1]["type"] == "trigger_log_entry"
    assert set(entries[-1]["channel"]) <= {"type", "summary"}
    for entry in entries:
        assert {"id", "type", "summary", "created_at", "agent", "channel", "incident"} <= set(entry)
        assert entry["incident"] == {**entry["incident"], "id": INCIDENT, "type": "incident_reference"}


def test_log_entries_include_channels_and_overview(pd, new_client):
    client = new_client(pd)
    full = client.list_all(
        f"/incidents/{INCIDENT}/log_entries",
        params={"include": ["channels"], "is_overview": True},  # client turns this into include[]=
    )
    assert "include%5B%5D=channels" in pd.requests[-1][1] or "include[]=channels" in pd.requests[-1][1]
    types = [e["type"] for e in full]
    assert "notify_log_entry" not in types
    assert len(full) == 7
    trigger = next(e for e in full if e["type"] == "trigger_log_entry")
    assert trigger["channel"]["type"] == "api"
    assert "details" in trigger["channel"]
    note = next(e for e in full if e["type"] == "annotate_log_entry")
    assert note["channel"]["type"] == "note" and note["channel"]["summary"]


def test_log_entries_raw_shape_and_limits(pd, new_client):
    client = new_client(pd)
    body = client.get(f"/incidents/{INCIDENT}/log_entries", params={"limit": 2}).json()
    assert set(body) == {"log_entries", "limit", "offset", "more", "total"}
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (2, 0, True, None)
    body = client.get(f"/incidents/{INCIDENT}/log_entries", params={"total": "true"}).json()
    assert body["limit"] == 25 and body["total"] == 12 and body["more"] is False
    body = client.get(f"/incidents/{INCIDENT}/log_entries", params={"limit": 500}).json()
    assert body["limit"] == 100
    bad = client.get(f"/incidents/{INCIDENT}/log_entries", params={"limit": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 2001


def test_alerts_two_pages(pd, new_client):
    client = new_client(pd)
    alerts = list(client.iter_all(f"/incidents/{INCIDENT}/alerts", page_size=2))
    assert len(alerts) == 3
    assert pd.count("/alerts") == 2
    assert all(a["type"] == "alert" and a["incident"]["id"] == INCIDENT for a in alerts)
    assert {"status", "severity", "alert_key", "body", "service", "created_at"} <= set(alerts[0])


def test_notes(pd, new_client):
    client = new_client(pd)
    notes = client.rget(f"/incidents/{INCIDENT}/notes")
    assert len(notes) == 2
    assert set(notes[0]) == {"id", "user", "channel", "content", "created_at"}
    assert notes[0]["channel"] == {"summary": "The PagerDuty website or APIs"}
    raw = client.get(f"/incidents/{INCIDENT}/notes").json()
    assert set(raw) == {"notes"}  # not paginated


def test_builders_cover_documented_types(pd, new_client):
    for kind in LOG_ENTRY_TYPES:
        entry = make_log_entry(kind, incident_id="QX", created_at="2025-01-01T00:00:00Z")
        assert entry["type"] == kind
        assert entry["incident"]["id"] == "QX"
        assert {"id", "summary", "agent", "channel", "created_at"} <= set(entry)
    pd.add_incident(
        make_incident("QNEW", number=7, status="acknowledged", priority=None, urgency="low"),
        log_entries=[make_log_entry("trigger", incident_id="QNEW", created_at="2025-01-01T00:00:00Z")],
        alerts=[make_alert(incident_id="QNEW", created_at="2025-01-01T00:00:00Z")],
        notes=[make_note("hello")],
    )
    client = new_client(pd)
    incident = client.rget("/incidents/QNEW")
    assert incident["priority"] is None and incident["acknowledgements"] and incident["assignments"]
    assert len(client.list_all("/incidents/QNEW/log_entries")) == 1


# -- errors and retries -----------------------------------------------------


def test_unknown_incident_is_404(pd, new_client):
    client = new_client(pd)
    with pytest.raises(pagerduty.HttpError) as info:
        client.rget("/incidents/QNOPE")
    assert info.value.response.status_code == 404
    assert info.value.response.json() == {"error": {"message": "Not Found", "code": 2100}}


def test_wrong_token_is_401(pd, new_client):
    client = new_client(pd, token="wrong")
    with pytest.raises(pagerduty.HttpError) as info:
        client.rget(f"/incidents/{INCIDENT}")
    assert info.value.response.status_code == 401
    assert info.value.response.json() == {"error": {"message": "Unauthorized", "code": 2006}}
    assert pd.count(f"/incidents/{INCIDENT}") == 1  # a 401 is never retried


def test_429_then_success_with_capped_retry(pd, new_client):
    client = new_client(pd, retry={429: 3})
    pd.fail_next(f"/incidents/{INCIDENT}", 429, count=2)
    assert client.rget(f"/incidents/{INCIDENT}")["id"] == INCIDENT
    assert [r.status for r in pd.records] == [429, 429, 200]


def test_429_cap_reached_returns_the_429(pd, new_client):
    client = new_client(pd, retry={429: 1})
    pd.fail_next(f"/incidents/{INCIDENT}", 429, count=5)
    response = client.get(f"/incidents/{INCIDENT}")
    assert response.status_code == 429
    assert response.headers["ratelimit-reset"] == "1"
    assert response.json()["error"]["message"] == "Rate Limit Exceeded"
    assert len(pd.requests) == 2  # first try + 1 retry
    with pytest.raises(pagerduty.HttpError) as info:
        client.rget(f"/incidents/{INCIDENT}")
    assert info.value.response.status_code == 429


def test_429_is_retried_without_limit_by_default(pd, new_client):
    client = new_client(pd)  # retry = {} : the package default
    pd.fail_next(f"/incidents/{INCIDENT}", 429, count=6)
    assert client.rget(f"/incidents/{INCIDENT}")["id"] == INCIDENT
    assert len(pd.requests) == 7


def test_500_is_not_retried_by_default(pd, new_client):
    client = new_client(pd)
    pd.fail_next("/log_entries", 500)
    with pytest.raises(pagerduty.ServerHttpError) as info:
        client.list_all(f"/incidents/{INCIDENT}/log_entries")
    assert info.value.response.status_code == 500
    assert pd.count("/log_entries") == 1
    # The rule was consumed: the next call succeeds.
    assert len(client.list_all(f"/incidents/{INCIDENT}/log_entries")) == 12


def test_500_retried_when_configured(pd, new_client):
    client = new_client(pd, retry={500: 2})
    pd.fail_next("/alerts", 500, count=2)
    assert len(client.list_all(f"/incidents/{INCIDENT}/alerts")) == 3
    assert [r.status for r in pd.records] == [500, 500, 200]
    pd.reset_requests()
    pd.fail_next("/alerts", 500, count=10)
    with pytest.raises(pagerduty.ServerHttpError):
        client.list_all(f"/incidents/{INCIDENT}/alerts")
    assert len(pd.requests) == 3  # first try + 2 retries
    pd.clear_failures()


def test_max_http_attempts_caps_all_statuses_together(pd, new_client):
    client = new_client(pd, retry={429: 100, 503: 100})
    client.max_http_attempts = 3
    pd.fail_next(f"/incidents/{INCIDENT}", 503, count=100)
    response = client.get(f"/incidents/{INCIDENT}")
    assert response.status_code == 503
    # Returns once the attempts so far exceed max_http_attempts (1 + 4 requests).
    assert len(pd.requests) == client.max_http_attempts + 2
    pd.clear_failures()


def test_down_503_and_recovery(pd, new_client):
    client = new_client(pd)
    pd.down = True
    with pytest.raises(pagerduty.ServerHttpError) as info:
        client.rget(f"/incidents/{INCIDENT}")
    assert info.value.response.status_code == 503
    pd.down = False
    assert client.rget(f"/incidents/{INCIDENT}")["id"] == INCIDENT


def test_down_closes_connection(pd, new_client):
    client = new_client(pd)
    client.max_network_attempts = 2
    pd.down_mode = "close"
    pd.down = True
    with pytest.raises(pagerduty.Error) as info:
        client.rget(f"/incidents/{INCIDENT}")
    assert not isinstance(info.value, pagerduty.HttpError)  # transport failure, no response
    assert len(pd.requests) == 3  # first try + max_network_attempts retries
    assert all(r.status is None for r in pd.records)
    pd.down = False
    assert client.rget(f"/incidents/{INCIDENT}")["id"] == INCIDENT


def test_fail_next_can_drop_connection_once(pd, new_client):
    client = new_client(pd)
    client.max_network_attempts = 1
    pd.fail_next("/notes", None)
    assert len(client.rget(f"/incidents/{INCIDENT}/notes")) == 2  # retried after the drop
    assert [r.status for r in pd.records] == [None, 200]


def test_timeout_is_client_timeout(pd, new_client):
    client = new_client(pd)
    client.timeout = 0.2
    client.max_network_attempts = 0
    pd.slow_next(f"/incidents/{INCIDENT}", 1.0)
    started = time.monotonic()
    with pytest.raises(pagerduty.Error):
        client.rget(f"/incidents/{INCIDENT}")
    assert time.monotonic() - started < 0.9


def test_stop_refuses_then_start_on_same_port(server, new_client):
    server.clear()
    server.add_incident(make_incident(INCIDENT))
    client = new_client(server)
    url = server.url
    server.stop()
    try:
        with pytest.raises(pagerduty.Error):
            client.rget(f"/incidents/{INCIDENT}")
    finally:
        server.start()
    assert server.url == url
    assert client.rget(f"/incidents/{INCIDENT}")["id"] == INCIDENT


# -- TLS --------------------------------------------------------------------


def test_tls_is_really_verified(pd):
    with pagerduty.RestApiV2Client(pd.token, base_url=pd.url) as untrusting:
        untrusting.max_network_attempts = 0
        with pytest.raises(pagerduty.Error) as info:
            untrusting.rget(f"/incidents/{INCIDENT}")
    assert "CERTIFICATE_VERIFY_FAILED" in repr(info.value.__cause__)


def test_setting_verify_after_construction_does_nothing(pd):
    with pagerduty.RestApiV2Client(pd.token, base_url=pd.url) as client:
        client.verify = pd.ca_bundle_path  # requests-style: ignored by httpx2
        client.max_network_attempts = 0
        with pytest.raises(pagerduty.Error):
            client.rget(f"/incidents/{INCIDENT}")


def test_system_store_plus_extra_ca(pd):
    # What LOOPGATE_CA_BUNDLE means: extra authorities on top of the system store.
    ctx = ssl.create_default_context()
    ctx.load_verify_locations(cafile=pd.ca_bundle_path)
    with pagerduty.RestApiV2Client(pd.token, base_url=pd.url, verify=ctx) as client:
        assert client.rget(f"/incidents/{INCIDENT}")["id"] == INCIDENT


# -- concurrency ------------------------------------------------------------


def test_concurrent_requests_and_keep_alive(pd, new_client):
    client = new_client(pd)
    pd.latency_seconds = 0.05
    pd.reset_requests()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: client.rget(f"/incidents/{INCIDENT}")["id"], range(100)))
    elapsed = time.monotonic() - started
    assert results == [INCIDENT] * 100
    assert pd.max_in_flight >= 10
    assert elapsed < 100 * 0.05 / 4
    # Keep-alive: far fewer TLS connections than requests.
    assert pd.connections_opened <= 25
    pd.latency_seconds = 0


# -- incident listing (backfill) --------------------------------------------


def test_incident_list_filters_sorts_and_pages(server, new_client):
    server.clear()
    for i in range(5):
        server.add_incident(make_incident(f"QL{i}", number=i, created_at=f"2026-01-0{i + 1}T00:00:00Z",
                                          service=("PSVA", "A") if i % 2 else ("PSVB", "B")))
    client = new_client(server)
    page = client.get("/incidents", params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-05T00:00:00Z",
                                            "sort_by": "created_at:asc", "limit": 2, "total": "true"}).json()
    assert ([i["id"] for i in page["incidents"]], page["more"], page["total"]) == (["QL1", "QL2"], True, 3)
    page = client.get("/incidents", params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-05T00:00:00Z",
                                            "limit": 2, "offset": 2}).json()
    assert ([i["id"] for i in page["incidents"]], page["more"]) == (["QL3"], False)
    by_service = client.get("/incidents", params={"service_ids[]": ["PSVA"], "sort_by": "created_at:desc"}).json()
    assert [i["id"] for i in by_service["incidents"]] == ["QL3", "QL1"]
    wide = client.get("/incidents", params={"since": "2025-01-01T00:00:00Z", "until": "2026-01-05T00:00:00Z"})
    assert wide.status_code == 400  # more than six months apart


def test_fail_next_after_lets_some_requests_through(server, new_client):
    server.clear()
    server.add_incident(make_incident("QL0"))
    server.fail_next("/incidents?", 503, count=1, after=2)
    client = new_client(server)
    statuses = [client.get("/incidents", params={"limit": 1}).status_code for _ in range(4)]
    assert statuses == [200, 200, 503, 200]
