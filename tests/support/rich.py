"""A rich postmortem, built the way a team builds one: the incident through PagerDuty's signed webhook (its
packet assembled by the real job from those events), an impact statement, then through the API a
12-node contribution factor map (1 impact, 8 factors, 3 barriers), 5 findings and 8 action items,
six of them linked to issues in the Jira stand-in.

The clock is the `clock` fixture's, moved a minute between findings so that their order is fixed.
"""

import re

from tests.support.constants import ADMIN
from tests.support.factories import add_action_item, add_finding, make_postmortem, move
from tests.support.jira import create_standin_issue
from tests.support.pagerduty import incident_event, note_event, post_delivery

INCIDENT = "PRICH42"
TITLE = "Checkout down: orders DB connection pool exhausted"

EVENTS = [  # (suffix, event type, at, status)
    ("T", "incident.triggered", "2026-11-20T09:58:00Z", "triggered"),
    ("A", "incident.acknowledged", "2026-11-20T10:03:00Z", "acknowledged"),
    ("R", "incident.resolved", "2026-11-20T11:21:00Z", "resolved"),
]
NOTES = [
    ("N1", "2026-11-20T10:10:00Z", "Pool at 20/20 on every pod; p99 > 8s. Scaling pods made it worse: #db-pool"),
    ("N2", "2026-11-20T10:41:00Z", 'Rolled back "pool-size: 20" → 60 after the 2nd approval'),
]

ANALYSIS = {
    "nodes": [
        {"id": "impact", "label": "Checkout unavailable for 83 minutes; 4,120 orders failed", "kind": "impact"},
        {"id": "pool", "label": "Connection pool limit of 20 per pod", "kind": "factor", "category": "technical"},
        {"id": "retries", "label": 'Retry storm: clients retried "immediately" (no back-off) & timeouts < 1s',
         "kind": "factor", "category": "technical"},
        {"id": "canary-blind", "label": "Canary watched error rate only, not p99 latency", "kind": "factor",
         "category": "technical"},
        {"id": "review", "label": "Config change reviewed without load-test evidence", "kind": "factor",
         "category": "process"},
        {"id": "runbook", "label": "Runbook for pool exhaustion out of date (#ops-42)", "kind": "factor",
         "category": "process"},
        {"id": "approvals", "label": "Night rollback needed two approvals", "kind": "factor", "category": "process"},
        {"id": "ownership", "label": "Orders DB shared by two teams, owned by neither", "kind": "factor",
         "category": "organizational"},
        {"id": "rota", "label": "On-call rota one person short since October", "kind": "factor",
         "category": "organizational"},
        {"id": "canary", "label": "Canary analysis", "kind": "barrier", "barrier_state": "failed"},
        {"id": "breaker", "label": "Circuit breaker on the payment client", "kind": "barrier",
         "barrier_state": "missing"},
        {"id": "alarm", "label": "DB connection alarm paged within 2 minutes", "kind": "barrier",
         "barrier_state": "held"},
    ],
    "edges": [
        {"from": "ownership", "to": "review"}, {"from": "review", "to": "pool"}, {"from": "pool", "to": "retries"},
        {"from": "breaker", "to": "retries"}, {"from": "retries", "to": "impact"},
        {"from": "canary-blind", "to": "canary"}, {"from": "canary", "to": "impact"},
        {"from": "rota", "to": "approvals"}, {"from": "runbook", "to": "approvals"},
        {"from": "approvals", "to": "impact"}, {"from": "alarm", "to": "impact"},
    ],
}

FINDINGS = [
    {"statement": "Pool limits are set per pod, without regard to the database's max_connections.",
     "category": "technical", "tags": ["connection-pool", "capacity"], "impact": "high", "effort": "low",
     "decision": "ticket", "owner": "Dana"},
    {"statement": "The canary ignores latency, so a change that saturates the pool passes it.",
     "category": "technical", "tags": ["canary"], "impact": "high", "effort": "medium", "decision": "ticket"},
    {"statement": "Runbooks are not reviewed when the infrastructure they describe changes.",
     "category": "process", "tags": ["runbook"], "impact": "medium", "effort": "low", "decision": "ticket"},
    {"statement": "Night-time rollbacks need two approvals, which added 20 minutes to recovery.",
     "category": "process", "tags": ["on-call"], "impact": "medium", "effort": "low",
     "decision": "knowledge_base"},
    {"statement": "No team owns the orders database, so no one reviews its capacity.",
     "category": "organizational", "tags": ["ownership"], "impact": "high", "effort": "high", "decision": "ticket",
     "systemic": True,
     "proposal": "By the end of Q2, every shared datastore has one owning team and a quarterly capacity review."},
]

ACTION_ITEMS = [  # (finding index, linked to a Jira issue?, fields)
    (0, True, {"title": "Size pool limits from max_connections / pods", "owner": "dana", "priority": "P1",
               "due_date": "2026-11-27", "durability": "eliminate"}),
    (0, True, {"title": "Alert at 80% pool usage", "owner": "lee", "priority": "P2", "due_date": "2026-11-21",
               "durability": "detect"}),
    (1, True, {"title": "Add p99 latency to canary analysis", "owner": "sam", "priority": "P1",
               "due_date": "2026-11-30", "durability": "guardrail"}),
    (1, False, {"title": "Fail the canary on a rising retry rate", "owner": "sam", "priority": "P2",
                "due_date": "2026-12-11", "durability": "guardrail"}),
    (2, True, {"title": "Review runbooks in the change checklist", "owner": "ana", "priority": "P3",
               "due_date": "2027-01-15", "durability": "process"}),
    (3, False, {"title": "Write down the single-approver night rollback | who may approve", "owner": "kim",
                "priority": "P3", "due_date": "2026-12-20", "durability": "process"}),
    (4, True, {"title": "Name an owner for the orders database", "owner": "maria", "priority": "P2",
               "due_date": "2026-12-01", "durability": "process"}),
    (4, True, {"title": "Quarterly capacity review of shared datastores", "owner": "maria", "priority": "P3",
               "due_date": "2027-02-01", "durability": "process"}),
]

PROSE = {
    "summary": "A configuration change lowered the orders database connection pool to **20 per pod**. "
               "Under the evening peak the pools saturated, clients retried without back-off and checkout "
               "failed for 83 minutes.",
    "what_went_well": "- The DB connection alarm paged within 2 minutes.\n- The rollback itself took 4 minutes.",
    "what_could_improve": "- The canary did not look at latency.\n- The runbook still described the old pool.",
    "lessons": "Capacity limits belong to the datastore's owner, not to each client.",
}


async def resolved_incident(client, runtime) -> str:
    """The incident through the signed webhook: triggered, acknowledged, two notes, resolved; the packet job
    assembles v1 from those events. Returns the incident's Loopgate id."""
    common = {"title": TITLE, "priority": "P1", "created_at": EVENTS[0][2]}
    for suffix, kind, at, status in EVENTS:
        event = incident_event(f"EV-{INCIDENT}-{suffix}", kind, at, INCIDENT, status=status, **common)
        assert (await post_delivery(client, event)).status_code == 202
    for suffix, at, content in NOTES:
        assert (await post_delivery(client, note_event(f"EV-{INCIDENT}-{suffix}", at, INCIDENT, content))
                ).status_code == 202
    await runtime.queue.drain()
    response = await client.post(f"/api/v1/incidents/{INCIDENT}/packet/statements", headers=ADMIN,
                                 json={"author": "Head of Payments", "text": "4,120 orders failed; 310 customers "
                                                                              "contacted support."})
    assert response.status_code == 202, response.text
    await runtime.queue.drain()
    incident = (await client.get(f"/api/v1/incidents/{INCIDENT}", headers=ADMIN)).json()
    return incident["id"]


async def rich_postmortem(client, runtime, jira, clock, *, status: str = "published") -> dict:
    """The rich postmortem in `status` (draft, in_review or published); returns its detail."""
    incident_id = await resolved_incident(client, runtime)
    postmortem = await make_postmortem(client, [incident_id], title=TITLE, facilitator="Priya Natarajan",
                                       participants=[{"name": "Dana Whitfield", "role": "responder"},
                                                     {"name": "Lee Park", "role": "responder"},
                                                     {"name": "Ravi Iyer", "role": "provocateur"}])
    pm = postmortem["id"]
    assert (await client.patch(f"/api/v1/postmortems/{pm}", headers=ADMIN,
                               json={**PROSE, "similar_incidents_reviewed": True})).status_code == 200
    response = await client.put(f"/api/v1/postmortems/{pm}/analysis", headers=ADMIN, json=ANALYSIS)
    assert response.status_code == 200, response.text
    findings = []
    for fields in FINDINGS:
        clock.advance(minutes=1)
        findings.append(await add_finding(client, pm, **fields))
    for index, linked, fields in ACTION_ITEMS:
        clock.advance(minutes=1)
        extra = {"jira_key": create_standin_issue(jira, summary=fields["title"])} if linked else {}
        await add_action_item(client, findings[index]["id"], **fields, **extra)
    steps = {"draft": [], "in_review": ["in_review"], "published": ["in_review", "published"]}[status]
    if steps:
        clock.advance(minutes=5)
        response = await move(client, pm, *steps)
        assert response.status_code == 200, response.text
    return (await client.get(f"/api/v1/postmortems/{pm}", headers=ADMIN)).json()


def normalise(text: str, *, jira_url: str) -> str:
    """Random ids → `<id-1>`, `<id-2>`… in order of first appearance; the stand-in's port → a fixed host."""
    seen: dict[str, str] = {}

    def name(match: re.Match) -> str:
        return seen.setdefault(match[0], f"<id-{len(seen) + 1}>")

    text = text.replace(jira_url, "https://jira.test")
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", name, text)
