"""The postmortem document as Markdown, in the shape of seed 001's template (CommonMark with GitHub's
tables; the analysis graph as a ```mermaid block, which GitHub, GitLab and Confluence draw).

Pure and deterministic: a `PostmortemDocument` in, text out. The authors' prose (executive summary,
what went well, what could improve, lessons) is written as Markdown and kept as such; every other
text (titles, labels, statements, names, PagerDuty summaries) is escaped, so that it reads as
written and cannot break a table or start a list.
"""

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from app.postmortems.document import DocumentFinding, PostmortemDocument

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&$!])")
_BLOCK_START = re.compile(r"^(\d+)([.)])|^([-+=])")
NOT_WRITTEN = "_Not written yet._"
CATEGORY_TITLES = {"technical": "Technical", "process": "Process", "organizational": "Organizational"}


def text(value: object) -> str:
    """`value` as one line of literal Markdown text: whitespace folded, punctuation escaped."""
    escaped = _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))
    return _BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", escaped)


def _prose(value: str | None) -> str:
    return value.strip() if value and value.strip() else NOT_WRITTEN


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _at(iso: str) -> str:
    """An ISO time from a packet as `2026-11-20 10:03:00` (UTC)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return text(iso)
    return (moment.astimezone(UTC) if moment.tzinfo else moment).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    """`5 400` → `1 h 30 min`; days, hours and minutes, or seconds under a minute."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
    parts = [(minutes // 1440, "d"), (minutes % 1440 // 60, "h"), (minutes % 60, "min")]
    return " ".join(f"{amount} {unit}" for amount, unit in parts if amount)


def _url(url: str) -> str:
    """A URL as a Markdown link destination or autolink: no angle brackets, no whitespace."""
    return re.sub(r"[<>\s]", lambda m: f"%{ord(m[0]):02X}", url)


def _link(label: str, url: str | None) -> str:
    return f"[{text(label)}](<{_url(url)}>)" if url else text(label)


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    titles = list(header)
    return [f"| {' | '.join(titles)} |", f"|{'|'.join('---' for _ in titles)}|",
            *(f"| {' | '.join(row)} |" for row in rows), ""]


def _day(value: date | None) -> str:
    return value.isoformat() if value else "—"


def _summary(doc: PostmortemDocument) -> list[str]:
    summary = doc.summary
    lines = ["## Incident summary", "",
             f"- **Date**: {_day(summary.date)}",
             f"- **Duration**: {duration(summary.duration_seconds)}",
             f"- **Severity**: {text(', '.join(summary.severity)) or '—'}",
             f"- **Impact**: {_impact(doc)}",
             f"- **Status**: {doc.status.replace('_', ' ')}",
             f"- **Framework**: {doc.framework.replace('_', ' ')}",
             f"- **Facilitator**: {text(doc.facilitator) if doc.facilitator else '—'}"]
    if doc.participants:
        people = ", ".join(f"{text(p['name'])} ({p['role']})" for p in doc.participants)
        lines.append(f"- **Participants**: {people}")
    incidents = ", ".join(_link(f"#{i.number} {i.title}" if i.number else i.title, i.url) + f" ({text(i.external_id)})"
                          for i in doc.incidents)
    lines += [f"- **Incidents**: {incidents or '—'}", ""]
    if summary.impact:
        lines += ["### Impact statements", ""]
        for statement in summary.impact:
            said = " — ".join(part for part in (text(statement.author or ""), _at(statement.at or "")) if part)
            lines += [f"> {text(statement.text)}" + (f" ({said})" if said else ""), ""]
    return lines


def _impact(doc: PostmortemDocument) -> str:
    parts = []
    if doc.summary.services:
        parts.append("services " + ", ".join(text(s) for s in doc.summary.services))
    if doc.summary.teams:
        parts.append("teams " + ", ".join(text(t) for t in doc.summary.teams))
    parts += [text(node.label) for node in doc.impacts]
    return "; ".join(parts) or "—"


def _timeline(doc: PostmortemDocument) -> list[str]:
    lines = ["## Timeline", ""]
    if not doc.timeline:
        return [*lines, "_No Event Packet timeline yet._", ""]
    several = len(doc.incidents) > 1
    header = ["Time (UTC)", *(["Incident"] if several else []), "Event", "Summary", "Actor"]
    rows = [[_at(e.at), *([text(e.incident)] if several else []), text(e.type.replace("_", " ")), text(e.summary),
             text(e.actor) if e.actor else "—"] for e in doc.timeline]
    return lines + _table(header, rows)


def _finding(finding: DocumentFinding) -> list[str]:
    facts = [f"decision {finding.decision.replace('_', ' ')}", f"impact {finding.impact}", f"effort {finding.effort}"]
    if finding.tags:
        facts.append("tags " + ", ".join(text(tag) for tag in finding.tags))
    if finding.owner:
        facts.append(f"owner {text(finding.owner)}")
    lines = [f"- {text(finding.statement)} ({'; '.join(facts)})"]
    if finding.systemic:
        lines.append(f"  - Systemic. Proposal: {text(finding.proposal) if finding.proposal else '_none yet_'}")
    return lines


def _factors(doc: PostmortemDocument, diagram: str | None) -> list[str]:
    lines = ["## Contributing factors", ""]
    if diagram:
        lines += ["```mermaid", diagram.rstrip("\n"), "```", ""]
    if doc.impacts:
        lines += ["**Impact**:", "", *(f"- {text(node.label)}" for node in doc.impacts), ""]
    if not doc.contributing_factors:
        lines += ["_No contributing factor or finding yet._", ""]
    for group in doc.contributing_factors:
        lines += [f"### {CATEGORY_TITLES[group.category]}", ""]
        if group.factors:
            lines += ["Factors:", "", *(f"- {text(node.label)}" for node in group.factors), ""]
        if group.findings:
            lines += ["Findings:", "", *(line for finding in group.findings for line in _finding(finding)), ""]
    if doc.barriers:
        lines += ["### Barriers", "", *_table(["Barrier", "State"], ([text(b.label), b.state] for b in doc.barriers))]
    return lines


def _action_items(doc: PostmortemDocument) -> list[str]:
    lines = ["## Action items", ""]
    if not doc.action_items:
        return [*lines, "_No action item yet._", ""]
    rows = []
    for item in doc.action_items:
        status = item.status.replace("_", " ") + (" (overdue)" if item.overdue else "")
        jira = _link(item.jira_key, item.jira_url) if item.jira_key else (item.ticket_state or "—")
        rows.append([item.priority, text(item.title), text(item.owner), item.due_date.isoformat(), status, jira])
    return lines + _table(["Priority", "Action", "Owner", "Due date", "Status", "Jira"], rows)


def _gate(doc: PostmortemDocument) -> list[str]:
    verdict = "passes: it may close" if doc.gate.passed else "does not pass: closing is blocked"
    lines = ["## Integration Gate", "", f"The gate {verdict}.", ""]
    for title, entries in (("Violations", doc.gate.violations), ("Warnings", doc.gate.warnings)):
        if entries:
            lines += [f"{title}:", "", *(f"- {text(e.message)} ({e.code})" for e in entries), ""]
    return lines


def _references(doc: PostmortemDocument) -> list[str]:
    lines = ["## References", "", f"- Postmortem: <{_url(doc.url)}>"]
    for incident in doc.incidents:
        lines.append(f"- PagerDuty incident {text(incident.external_id)}: "
                     + (f"<{_url(incident.url)}>" if incident.url else "no link"))
        packet = incident.packet
        lines.append(f"- Event Packet of {text(incident.external_id)}: " + (
            f"version {packet.version} ({packet.status}, assembled {_when(packet.assembled_at)}), "
            f"sha256 `{packet.sha256 or 'none'}`" if packet else "none assembled yet"))
    return [*lines, ""]


def render_markdown(doc: PostmortemDocument, *, diagram: str | None) -> str:
    """The document as Markdown; `diagram` is the analysis graph's Mermaid flowchart (None: no graph)."""
    lines = [f"# Postmortem: {text(doc.title)}", ""]
    if doc.notice:
        lines += [f"> **{doc.status.replace('_', ' ').capitalize()}.** {doc.notice}", ""]
    lines += _summary(doc)
    lines += ["## Executive summary", "", _prose(doc.executive_summary), ""]
    lines += _timeline(doc)
    lines += _factors(doc, diagram)
    lines += ["## What went well", "", _prose(doc.what_went_well), ""]
    lines += ["## What could be improved", "", _prose(doc.what_could_improve), ""]
    lines += _action_items(doc)
    lines += ["## Lessons learned", "", _prose(doc.lessons), ""]
    lines += _gate(doc)
    lines += _references(doc)
    after = doc.summary.days_after_incident
    lines += ["---", "",
              f"*Postmortem {doc.id}, {doc.status.replace('_', ' ')}; created {_when(doc.created_at)}, "
              f"last updated {_when(doc.updated_at or doc.created_at)}.*"]
    if after is not None:
        lines += ["", f"*Started {after} day{'' if after == 1 else 's'} after the incident resolved.*"]
    return "\n".join(lines) + "\n"
