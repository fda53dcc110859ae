"""A small history with hand-computed measures (tests/metrics): rows as the app leaves them.

Ten incidents in three repeat chains (A←B←C←G, D←E←H, K1←K2), five postmortems, seven
findings, ten action items; the clock stands at NOW. Every expected figure in the tests
is worked out by hand in the comment next to it, from the table below.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from app.models.audit import AuditEntry
from app.models.incidents import Incident, IncidentTeam
from app.models.packets import EventPacket
from app.models.postmortems import ActionItem, Finding, FindingTag, Postmortem, PostmortemIncident

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
S1 = ("PSVC1", "checkout")
S2 = ("PSVC2", "search")
S3 = ("PSVC3", "billing")
T1 = ("PTEAM1", "Payments team")
T2 = ("PTEAM2", "Search team")


def at(text: str) -> datetime:
    """'10-05 02:00' → 2026-10-05T02:00Z."""
    day, _, clock = text.partition(" ")
    month, dom = day.split("-")
    hour, minute = (clock or "00:00").split(":")
    return datetime(2026, int(month), int(dom), int(hour), int(minute), tzinfo=UTC)


def on(text: str) -> date:
    month, dom = text.split("-")
    return date(2026, int(month), int(dom))


@dataclass
class History:
    incidents: dict[str, Incident] = field(default_factory=dict)
    postmortems: dict[str, Postmortem] = field(default_factory=dict)
    items: dict[str, ActionItem] = field(default_factory=dict)
    rows: list[object] = field(default_factory=list)

    def incident(self, name: str, service: tuple[str, str], team: tuple[str, str], triggered: str, *,
                 ack: int | None, resolved: int | None, severity: str, human: bool = False,
                 repeat_of: str | None = None) -> None:
        start = at(triggered)
        incident = Incident(
            id=uuid.uuid4(), external_id=f"P{name}", title=f"incident {name}", service_id=service[0],
            service_name=service[1], teams=[{"id": team[0], "summary": team[1]}], severity=severity,
            status="resolved" if resolved is not None else ("acknowledged" if ack is not None else "triggered"),
            triggered_at=start, acknowledged_at=start + timedelta(seconds=ack) if ack is not None else None,
            resolved_at=start + timedelta(seconds=resolved) if resolved is not None else None,
            reported_by="human" if human else "automation", fingerprint=f"{service[0]}:{name.rstrip('0123456789')}",
            repeat_of_id=self.incidents[repeat_of].id if repeat_of else None, created_at=start)
        self.incidents[name] = incident
        self.rows += [incident, IncidentTeam(incident_id=incident.id, team_id=team[0], team_name=team[1])]

    def packet(self, incident: str, version: int, status: str, *, assembled: str | None,
               sla_due: str | None = "auto") -> None:
        resolved = self.incidents[incident].resolved_at
        assert resolved is not None
        due = resolved + timedelta(hours=24) if sla_due == "auto" else (at(sla_due) if sla_due else None)
        self.rows.append(EventPacket(incident_id=self.incidents[incident].id, version=version, status=status,
                                     reason="resolved", requested_at=resolved, sla_due_at=due, attempts=1,
                                     assembled_at=at(assembled) if assembled else None))

    def postmortem(self, name: str, incidents: list[str], status: str, *, created: str,
                   published: str | None = None, closed: str | None = None) -> None:
        postmortem = Postmortem(id=uuid.uuid4(), title=f"postmortem {name}", framework="contribution_map",
                                status=status, created_at=at(created),
                                published_at=at(published) if published else None,
                                closed_at=at(closed) if closed else None)
        self.postmortems[name] = postmortem
        self.rows.append(postmortem)
        self.rows += [PostmortemIncident(postmortem_id=postmortem.id, incident_id=self.incidents[i].id, position=n)
                      for n, i in enumerate(incidents)]

    def finding(self, name: str, postmortem: str, category: str, tags: list[str], *, systemic: bool = False) -> None:
        finding = Finding(id=uuid.uuid4(), postmortem_id=self.postmortems[postmortem].id, statement=name,
                          category=category, impact="high", effort="low", decision="ticket", systemic=systemic,
                          proposal="fund it" if systemic else None, created_at=self.postmortems[postmortem].created_at)
        self.findings[name] = finding
        self.rows.append(finding)
        self.rows += [FindingTag(finding_id=finding.id, tag=tag) for tag in tags]

    findings: dict[str, Finding] = field(default_factory=dict)

    def item(self, name: str, finding: str, *, created: str, due: str, status: str, priority: str,
             durability: str, done: str | None = None) -> None:
        """`done`: completed_at for completed, closed_at for wont_do."""
        item = ActionItem(id=uuid.uuid4(), finding_id=self.findings[finding].id, title=name, owner="dana",
                          priority=priority, due_date=on(due), durability=durability, status=status,
                          created_at=at(created),
                          completed_at=at(done) if done and status == "completed" else None,
                          closed_at=at(done) if done else None)
        self.items[name] = item
        self.rows.append(item)

    def closed_through_gate(self, postmortem: str) -> None:
        """The audit entry postmortems.service.transition writes once the gate let the close through."""
        self.rows.append(AuditEntry(actor="test", action="postmortem.transitioned", entity="postmortem",
                                    entity_id=str(self.postmortems[postmortem].id),
                                    diff={"from": "published", "to": "closed", "gate_warnings": []},
                                    at=self.postmortems[postmortem].closed_at))


def history() -> History:
    h = History()
    # name  service team  triggered     ack(s) resolved(s)  severity
    h.incident("A", S1, T1, "10-01 00:00", ack=300, resolved=3600, severity="critical", human=True)
    h.incident("K1", S3, T2, "10-02 00:00", ack=30, resolved=600, severity="low", human=True)
    h.incident("B", S1, T1, "10-05 00:00", ack=600, resolved=7200, severity="high", repeat_of="A")
    h.incident("C", S1, T1, "10-10 00:00", ack=None, resolved=1800, severity="medium", repeat_of="B")
    h.incident("D", S2, T2, "10-20 00:00", ack=100, resolved=None, severity="critical", human=True)
    h.incident("G", S1, T1, "10-25 00:00", ack=900, resolved=5400, severity="low", repeat_of="C")
    h.incident("K2", S3, T2, "10-28 00:00", ack=45, resolved=1200, severity="low", repeat_of="K1")
    h.incident("E", S2, T2, "11-01 00:00", ack=200, resolved=10800, severity="critical", repeat_of="D")
    h.incident("H", S2, T2, "11-20 00:00", ack=None, resolved=None, severity="high", repeat_of="E")
    h.incident("F", S1, T1, "11-21 00:00", ack=60, resolved=86400, severity="high")

    h.packet("A", 1, "complete", assembled="10-01 01:10")          # 600 s after resolve
    h.packet("B", 1, "partial", assembled="10-06 03:00")           # 90000 s: after its SLA
    h.packet("B", 2, "complete", assembled="10-06 04:00")          # a later version: ignored
    h.packet("G", 1, "complete", assembled="10-25 01:50")          # 1200 s
    h.packet("K1", 1, "pending", assembled=None)                   # never assembled: a breach
    h.packet("K2", 1, "complete", assembled="10-28 00:21", sla_due=None)  # 60 s; no due time stored
    h.packet("E", 1, "failed", assembled=None)                     # failed: a breach
    h.packet("E", 2, "complete", assembled="11-01 05:00")
    h.packet("F", 1, "complete", assembled="11-22 00:05")          # 300 s; SLA not yet due

    h.postmortem("PM5", ["K1"], "published", created="10-03 00:00", published="10-04 00:00")
    h.postmortem("PM1", ["A", "B"], "closed", created="10-06 00:00", published="10-08 00:00", closed="10-20 00:00")
    h.postmortem("PM4", ["C"], "in_review", created="10-11 00:00")
    h.postmortem("PM2", ["E"], "published", created="11-02 00:00", published="11-03 00:00")
    h.postmortem("PM3", ["F"], "draft", created="11-21 12:00")
    h.closed_through_gate("PM1")

    h.finding("F7", "PM5", "technical", ["capacity"])
    h.finding("F1", "PM1", "technical", ["configuration", "deployment"], systemic=True)
    h.finding("F2", "PM1", "process", ["configuration"])
    h.finding("F5", "PM4", "technical", ["configuration", "capacity"])
    h.finding("F3", "PM2", "technical", ["configuration"])
    h.finding("F4", "PM2", "organizational", [])
    h.finding("F6", "PM3", "process", ["deployment"])

    h.item("I8", "F7", created="10-03 00:00", due="10-06", status="completed", priority="P2", durability="eliminate",
           done="10-05 00:00")
    h.item("I9", "F7", created="10-03 00:00", due="10-20", status="wont_do", priority="P3", durability="mitigate",
           done="10-04 00:00")
    h.item("I10", "F7", created="10-29 00:00", due="10-01", status="open", priority="P3", durability="process")
    h.item("I1", "F1", created="10-06 10:00", due="10-10", status="completed", priority="P1", durability="eliminate",
           done="10-09 12:00")
    h.item("I2", "F1", created="10-06 10:00", due="10-12", status="completed", priority="P2", durability="guardrail",
           done="10-12 23:00")
    h.item("I3", "F2", created="10-07 00:00", due="10-08", status="wont_do", priority="P3", durability="process",
           done="10-14 00:00")
    h.item("I6", "F5", created="10-11 00:00", due="10-13", status="in_progress", priority="P3",
           durability="vigilance")
    h.item("I7", "F5", created="10-11 00:00", due="11-30", status="blocked", priority="P2", durability="detect")
    h.item("I4", "F3", created="11-03 10:00", due="11-10", status="completed", priority="P1", durability="detect",
           done="11-12 10:00")
    h.item("I5", "F4", created="11-03 10:00", due="11-15", status="open", priority="P2", durability="mitigate")
    return h


async def store(runtime, h: History) -> History:
    """Write the history in dependency order (incidents first, then what points at them)."""
    async with runtime.sessionmaker() as session:
        for kind in (Incident, IncidentTeam, EventPacket, Postmortem, PostmortemIncident, Finding, FindingTag,
                     ActionItem, AuditEntry):
            session.add_all(row for row in h.rows if type(row) is kind)
            await session.flush()
        await session.commit()
    return h
