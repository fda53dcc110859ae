"""The Jira stand-in, exercised through the real ``jira`` client (max_retries=0, as Loopgate builds it)."""

from __future__ import annotations

import time
import warnings
from datetime import datetime, timedelta, timezone

import jira
import pytest
import requests
from jira.exceptions import JIRAError

from .jira import NOT_FOUND_MESSAGE, JiraStandIn


@pytest.fixture
def srv():
    with JiraStandIn() as s:
        yield s
        assert s.server_errors == [], s.server_errors


@pytest.fixture
def dc_srv():
    with JiraStandIn(deployment_type="Server") as s:
        yield s
        assert s.server_errors == [], s.server_errors


def cloud_client(s: JiraStandIn) -> jira.JIRA:
    return jira.JIRA(server=s.url, basic_auth=(s.email, s.api_token), max_retries=0, timeout=5,
                     get_server_info=True)


def dc_client(s: JiraStandIn) -> jira.JIRA:
    return jira.JIRA(server=s.url, token_auth=s.pat, max_retries=0, timeout=5, get_server_info=True)


def create(client: jira.JIRA, label: str = "loopgate-ai-1", **extra):
    fields = {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Task"},
        "summary": "[PM-1] Add pool saturation alert",
        "description": "Follow-up for postmortem PM-1.",
        "labels": ["loopgate", label],
        "priority": {"name": "High"},
        "duedate": "2026-12-31",
        **extra,
    }
    return client.create_issue(fields=fields)


def test_construction_calls_server_info(srv):
    client = cloud_client(srv)
    assert client.deploymentType == "Cloud"
    assert client._version == (1001, 0, 0)
    assert [(r.method, r.path) for r in srv.request_log] == [("GET", "/rest/api/2/serverInfo")]
    assert srv.request_log[0].auth == f"basic:{srv.email}"


def test_create_and_get_back(srv):
    client = cloud_client(srv)
    issue = create(client)
    assert issue.key == "OPS-1"
    assert srv.requests_to("POST", r"/rest/api/2/issue")[0].status == 201
    got = client.issue("OPS-1")
    assert got.fields.summary == "[PM-1] Add pool saturation alert"
    assert got.fields.labels == ["loopgate", "loopgate-ai-1"]
    assert got.fields.priority.name == "High"
    assert got.fields.duedate == "2026-12-31"
    assert got.fields.status.name == "To Do"
    assert got.fields.status.statusCategory.key == "new"
    assert got.fields.resolution is None
    assert got.fields.updated
    assert srv.count_issues() == 1
    assert srv.count_issues(label="loopgate-ai-1") == 1
    assert srv.count_issues(label="other") == 0
    assert create(client, "loopgate-ai-2").key == "OPS-2"
    assert client.issue("OPS-2", fields="labels").raw["fields"] == {"labels": ["loopgate", "loopgate-ai-2"]}


def test_create_validation_errors(srv):
    client = cloud_client(srv)
    with pytest.raises(JIRAError) as err:
        create(client, labels=["has space"])
    assert err.value.status_code == 400
    with pytest.raises(JIRAError) as err:
        create(client, priority={"name": "Urgent!"})
    assert err.value.status_code == 400 and "priority" in err.value.response.json()["errors"]
    with pytest.raises(JIRAError) as err:
        create(client, customfield_1={"x": 1})
    assert "cannot be set" in err.value.text
    assert srv.count_issues() == 0


def test_bearer_token_data_center(dc_srv):
    client = dc_client(dc_srv)
    assert client.deploymentType == "Server"
    assert create(client).key == "OPS-1"
    assert client.issue("OPS-1").fields.labels == ["loopgate", "loopgate-ai-1"]
    assert dc_srv.request_log[-1].auth == "bearer"


def test_wrong_credentials_are_401(srv):
    with pytest.raises(JIRAError) as err:
        jira.JIRA(server=srv.url, basic_auth=(srv.email, "wrong"), max_retries=0, timeout=5)
    assert err.value.status_code == 401
    with pytest.raises(JIRAError) as err:
        jira.JIRA(server=srv.url, token_auth="wrong", max_retries=0, timeout=5)
    assert err.value.status_code == 401
    anon = jira.JIRA(server=srv.url, max_retries=0, timeout=5)  # serverInfo is public, as on Jira
    with pytest.raises(JIRAError) as err:
        anon.issue("OPS-1")
    assert err.value.status_code == 401


def test_search_by_label_cloud_uses_search_jql_and_respects_lag(srv):
    srv.search_lag_seconds = 0.3
    client = cloud_client(srv)
    issue = create(client, "loopgate-abc")
    create(client, "loopgate-other")
    jql = 'labels = "loopgate-abc"'
    assert client.search_issues(jql) == []  # Jira search lags behind writes
    # reconcileIssues asks Cloud for read-after-write on those ids
    assert [i.key for i in client.enhanced_search_issues(jql, reconcileIssues=[int(issue.id)])] == ["OPS-1"]
    time.sleep(0.35)
    found = client.search_issues(jql)
    assert [i.key for i in found] == ["OPS-1"]
    assert found[0].fields.labels == ["loopgate", "loopgate-abc"]
    paths = {r.path for r in srv.requests_to("GET") if "search" in r.path}
    assert paths == {"/rest/api/2/search/jql"}
    assert srv.requests_to("GET", r"/rest/api/2/field"), "the client loads /field before searching"
    # POST variant, and the old endpoint is gone on Cloud
    assert [i.key for i in client.search_issues(jql, use_post=True)] == ["OPS-1"]
    assert srv.requests_to("POST", r"/rest/api/2/search/jql")
    with pytest.raises(JIRAError) as err:
        client._get_json("search", params={"jql": jql})
    assert err.value.status_code == 410


def test_search_shapes_on_server(dc_srv):
    clock = {"now": datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)}
    dc_srv.clock = lambda: clock["now"]
    client = dc_client(dc_srv)
    create(client, "loopgate-a")  # updated 09:00
    clock["now"] = datetime(2026, 11, 22, 10, 30, tzinfo=timezone.utc)
    create(client, "loopgate-b")  # updated 10:30
    dc_srv.set_status("OPS-1", "done")  # updated again at 10:30

    res = client.search_issues('labels = loopgate AND updated >= "2026-11-22 10:00"')
    assert sorted(i.key for i in res) == ["OPS-1", "OPS-2"]
    assert res.total == 2
    dc_srv.set_updated("OPS-1", datetime(2026, 11, 22, 9, 59, tzinfo=timezone.utc))
    res = client.search_issues('labels = loopgate AND updated >= "2026-11-22 10:00"')
    assert [i.key for i in res] == ["OPS-2"]
    res = client.search_issues("key in (OPS-1, OPS-2) ORDER BY key ASC")
    assert [i.key for i in res] == ["OPS-1", "OPS-2"]
    assert res[0].fields.status.statusCategory.key == "done"
    assert {r.path for r in dc_srv.request_log if "search" in r.path} == {"/rest/api/2/search"}
    # like Jira, a key that does not exist is a JQL error ...
    with pytest.raises(JIRAError) as err:
        client.search_issues("key in (OPS-1, OPS-99)")
    assert err.value.status_code == 400 and "OPS-99" in err.value.text
    # ... unless the query is not validated
    res = client.search_issues("key in (OPS-1, OPS-99)", validate_query=False, json_result=True)
    assert [i["key"] for i in res["issues"]] == ["OPS-1"] and res["warningMessages"]
    with pytest.raises(JIRAError) as err:
        client.search_issues("labels = a OR labels = b")
    assert err.value.status_code == 400 and dc_srv.unhandled


def test_remote_link_upsert_by_global_id(srv):
    client = cloud_client(srv)
    create(client)
    gid = "loopgate:action-item:ai-1"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # listApplicationlinks answers, so no warning
        first = client.add_remote_link("OPS-1", {"url": "https://lg.example/ai/1", "title": "Action item"},
                                       globalId=gid, relationship="action item of")
        second = client.add_remote_link("OPS-1", {"url": "https://lg.example/ai/1", "title": "Action item (v2)"},
                                        globalId=gid, relationship="action item of")
    assert first.id == second.id
    posts = srv.requests_to("POST", r"/rest/api/2/issue/OPS-1/remotelink")
    assert [r.status for r in posts] == [201, 200]
    links = client.remote_links("OPS-1")
    assert len(links) == 1
    assert links[0].globalId == gid and links[0].object.title == "Action item (v2)"
    client.add_simple_link("OPS-1", {"url": "https://elsewhere.example", "title": "other"})
    assert len(client.remote_links("OPS-1")) == 2
    client.delete_remote_link("OPS-1", global_id=gid)
    assert [x.object.title for x in client.remote_links("OPS-1")] == ["other"]


def test_transition_to_done_and_back(srv):
    client = cloud_client(srv)
    create(client)
    names = {t["name"] for t in client.transitions("OPS-1")}
    assert names == {"In Progress", "Done"}  # no transition to the current status
    client.transition_issue("OPS-1", "Done")
    issue = client.issue("OPS-1")
    assert issue.fields.status.statusCategory.key == "done"
    assert issue.fields.resolution.name == "Done"
    client.transition_issue("OPS-1", "21")
    issue = client.issue("OPS-1")
    assert issue.fields.status.statusCategory.key == "indeterminate" and issue.fields.resolution is None
    client.transition_issue("OPS-1", "Done", fields={"resolution": {"name": "Won't Do"}})
    assert client.issue("OPS-1").fields.resolution.name == "Won't Do"
    srv.set_status("OPS-1", "new")
    assert client.issue("OPS-1").fields.status.name == "To Do"


def test_delete_then_get_is_404(srv):
    client = cloud_client(srv)
    issue = create(client)
    issue.delete()  # DELETE {self}?deleteSubtasks=False
    assert srv.requests_to("DELETE")[0].path == "/rest/api/2/issue/10000"
    with pytest.raises(JIRAError) as err:
        client.issue("OPS-1")
    assert err.value.status_code == 404
    assert err.value.text == NOT_FOUND_MESSAGE
    assert err.value.response.json() == {"errorMessages": [NOT_FOUND_MESSAGE], "errors": {}}
    create(client)
    srv.delete_issue("OPS-2")
    assert srv.count_issues() == 0


def test_fail_next_create(srv):
    client = cloud_client(srv)
    srv.fail_next_create(status=500)
    with pytest.raises(JIRAError) as err:
        create(client)
    assert err.value.status_code == 500
    assert srv.count_issues() == 0
    assert create(client).key == "OPS-1"  # the knob is consumed


def test_drop_after_create_creates_but_never_answers(srv):
    client = cloud_client(srv)
    srv.drop_after_create()
    with pytest.raises(requests.exceptions.ConnectionError):
        create(client, "loopgate-ai-9")
    assert srv.count_issues(label="loopgate-ai-9") == 1  # the outcome was unknown to the client, not to Jira
    assert srv.requests_to("POST", r"/rest/api/2/issue")[0].dropped
    assert len(srv.requests_to("POST", r"/rest/api/2/issue")) == 1  # nothing re-sent the create
    # the client's session still works afterwards: search by the label finds the issue
    assert [i.key for i in client.search_issues('labels = "loopgate-ai-9"')] == ["OPS-1"]


def test_429_with_max_retries_zero_raises_at_once(srv):
    client = cloud_client(srv)
    srv.rate_limit_next(1, retry_after=30)
    started = time.monotonic()
    with pytest.raises(JIRAError) as err:
        create(client)
    assert time.monotonic() - started < 2  # no Retry-After sleep, no retry
    assert err.value.status_code == 429
    assert err.value.response.headers["Retry-After"] == "30"
    assert len(srv.requests_to("POST", r"/rest/api/2/issue")) == 1
    assert srv.count_issues() == 0
    assert create(client).key == "OPS-1"


def test_latency_and_client_timeout(srv):
    client = jira.JIRA(server=srv.url, basic_auth=(srv.email, srv.api_token), max_retries=0, timeout=0.2)
    srv.latency_seconds = 0.5
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.issue("OPS-1")
    srv.latency_seconds = 0


def test_priorities_properties_and_v3_description(srv):
    client = cloud_client(srv)
    assert [p.name for p in client.priorities()] == ["Highest", "High", "Medium", "Low", "Lowest"]
    create(client)
    client.add_issue_property("OPS-1", "loopgate.action_item", {"id": "ai-1"})
    assert client.issue_property("OPS-1", "loopgate.action_item").value.id == "ai-1"
    v3 = requests.get(f"{srv.url}/rest/api/3/issue/OPS-1", auth=(srv.email, srv.api_token), timeout=5).json()
    assert v3["fields"]["description"]["type"] == "doc"
    issue = client.issue("OPS-1")
    issue.update(fields={"labels": ["loopgate", "loopgate-ai-1", "extra"]})
    assert client.issue("OPS-1").fields.labels == ["loopgate", "loopgate-ai-1", "extra"]


def test_http11_keepalive_and_content_length(srv):
    with requests.Session() as s:
        s.auth = (srv.email, srv.api_token)
        for _ in range(3):
            r = s.get(f"{srv.url}/rest/api/2/serverInfo", timeout=5)
            assert r.raw.version == 11 and r.headers["Content-Length"] == str(len(r.content))
        r = s.delete(f"{srv.url}/rest/api/2/issue/NOPE-1", timeout=5)
        assert r.status_code == 404


def test_updated_jql_relative_date(srv):
    now = datetime.now(timezone.utc)
    srv.clock = lambda: now
    client = cloud_client(srv)
    create(client)
    srv.set_updated("OPS-1", now - timedelta(hours=2))
    assert client.search_issues("labels = loopgate AND updated >= -1h") == []
    assert [i.key for i in client.search_issues("labels = loopgate AND updated >= -3h")] == ["OPS-1"]
    with pytest.raises(JIRAError) as err:
        client.search_issues("")  # unbounded on Cloud
    assert err.value.status_code == 400
