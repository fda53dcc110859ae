"""Postmortems: create, edit, move through the lifecycle, set the analysis graph, list.

The lifecycle is draft → in_review → published → closed, forward one step at a
time; any state but closed may go back to draft (to rework it). Closing evaluates
the Integration Gate and is refused, with nothing changed, when it fails. A closed
postmortem is a record: it and its findings refuse changes.
"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock, events
from app.core.errors import Unprocessable
from app.core.pagination import Page, paginate
from app.core.settings import Settings
from app.models import audit
from app.models.incidents import Incident, by_reference
from app.models.postmortems import Postmortem, PostmortemIncident, PostmortemStatus
from app.postmortems.analysis import Edge, Node, validate_graph
from app.postmortems.changes import apply_changes, jsonable, record_update
from app.postmortems.errors import GateFailed, InvalidTransition, PostmortemClosed
from app.postmortems.events import CloseRefused, PostmortemTransitioned
from app.postmortems.gate import IntegrationGate
from app.postmortems.reads import get_postmortem, incident_ids_for


def allowed_transitions(status: str) -> list[str]:
    """Where a postmortem in `status` may go: the next step, and back to draft unless closed."""
    lifecycle = list(PostmortemStatus)
    current = PostmortemStatus(status)
    allowed = [str(lifecycle[current.rank + 1])] if current.rank + 1 < len(lifecycle) else []
    if current not in (PostmortemStatus.draft, PostmortemStatus.closed):
        allowed.append(PostmortemStatus.draft)
    return allowed


def ensure_open(postmortem: Postmortem) -> None:
    """Refuse a change to a closed postmortem (or to what hangs off it)."""
    if postmortem.status == PostmortemStatus.closed:
        raise PostmortemClosed(f"Postmortem {postmortem.id} is closed; it can no longer change.")


async def resolve_incidents(session: AsyncSession, *, refs: Sequence[str]) -> list[uuid.UUID]:
    """Loopgate ids of the incidents named by Loopgate or PagerDuty id, in order, once each; 422 on unknown."""
    uuids = {}
    for ref in refs:
        try:
            uuids[ref] = uuid.UUID(ref)
        except ValueError:
            pass
    rows = (await session.execute(
        sa.select(col(Incident.id), col(Incident.external_id))
        .where(sa.or_(col(Incident.id).in_(list(uuids.values())), col(Incident.external_id).in_(list(refs))))
    )).all()
    known_ids = {row.id for row in rows}
    by_external = {row.external_id: row.id for row in rows}
    resolved, unknown = [], []
    for ref in refs:
        incident_id = uuids[ref] if uuids.get(ref) in known_ids else by_external.get(ref)
        if incident_id is None:
            unknown.append(ref)
        elif incident_id not in resolved:
            resolved.append(incident_id)
    if unknown:
        raise Unprocessable(
            f"Unknown incident(s) in incident_ids: {', '.join(unknown)}.",
            details=[{"field": "body.incident_ids", "message": f"unknown incident {ref}", "type": "unknown_incident"}
                     for ref in unknown],
        )
    return resolved


async def _link_incidents(session: AsyncSession, postmortem_id: uuid.UUID, incident_ids: Sequence[uuid.UUID]) -> None:
    await session.execute(sa.delete(PostmortemIncident).where(col(PostmortemIncident.postmortem_id) == postmortem_id))
    session.add_all(PostmortemIncident(postmortem_id=postmortem_id, incident_id=incident_id, position=position)
                    for position, incident_id in enumerate(incident_ids))


async def create_postmortem(session: AsyncSession, *, title: str, incident_ids: Sequence[str], framework: str,
                            facilitator: str | None, participants: list[dict[str, str]], actor: str) -> Postmortem:
    """A draft postmortem over the named incidents."""
    resolved = await resolve_incidents(session, refs=incident_ids)
    postmortem = Postmortem(title=title, framework=framework, status="draft", facilitator=facilitator,
                            participants=participants, similar_incidents_reviewed=False)
    session.add(postmortem)
    await session.flush()
    await _link_incidents(session, postmortem.id, resolved)
    audit.record(session, actor=actor, action="postmortem.created", entity="postmortem", entity_id=postmortem.id,
                 diff={"title": title, "framework": framework, "incident_ids": jsonable(resolved)})
    return postmortem


async def update_postmortem(session: AsyncSession, *, postmortem_id: uuid.UUID, changes: dict[str, Any],
                            actor: str) -> Postmortem:
    """Change the given fields; `incident_ids` replaces the set of incidents. 409 once closed."""
    postmortem = await get_postmortem(session, postmortem_id=postmortem_id, lock=True)
    ensure_open(postmortem)
    changes = dict(changes)
    diff = {}
    if "incident_ids" in changes:
        wanted = await resolve_incidents(session, refs=changes.pop("incident_ids"))
        current = (await incident_ids_for(session, postmortem_ids=[postmortem.id])).get(postmortem.id, [])
        if wanted != current:
            await _link_incidents(session, postmortem.id, wanted)
            diff["incident_ids"] = {"from": jsonable(current), "to": jsonable(wanted)}
    diff |= apply_changes(postmortem, changes)
    record_update(session, postmortem, entity="postmortem", diff=diff, actor=actor)
    return postmortem


async def transition_postmortem(session: AsyncSession, *, postmortem_id: uuid.UUID, to: str, actor: str,
                                settings: Settings, gate: IntegrationGate) -> Postmortem:
    """Move the postmortem one step; closing is refused (409 gate_failed) unless the gate passes."""
    postmortem = await get_postmortem(session, postmortem_id=postmortem_id, lock=True)
    allowed = allowed_transitions(postmortem.status)
    if to not in allowed:
        raise InvalidTransition(
            f"A {postmortem.status} postmortem cannot move to {to}; allowed: {', '.join(allowed) or 'nothing'}.",
            allowed=allowed,
        )
    diff: dict[str, Any] = {"from": postmortem.status, "to": to}
    if to == "closed":
        verdict = await gate(session, postmortem=postmortem, settings=settings)
        if not verdict.passed:
            raise GateFailed(
                f"Postmortem {postmortem.id} cannot close: the Integration Gate found "
                f"{len(verdict.violations)} violation(s).",
                violations=verdict.violations, warnings=verdict.warnings,
            )
        diff["gate_warnings"] = [w["code"] for w in verdict.warnings]
    now = clock.now()
    from_status = postmortem.status
    postmortem.status = to
    if to == "published":
        postmortem.published_at = now
    elif to == "closed":
        postmortem.closed_at = now
    elif to == "draft":
        # Back to draft means "not published any more"; publishing again records the new moment.
        postmortem.published_at = None
    postmortem.updated_at = now
    audit.record(session, actor=actor, action="postmortem.transitioned", entity="postmortem",
                 entity_id=postmortem.id, diff=diff)
    await events.publish(session, PostmortemTransitioned(postmortem, from_status, to))
    return postmortem


async def record_refused_close(session: AsyncSession, *, postmortem_id: uuid.UUID, refusal: GateFailed,
                               actor: str) -> None:
    """Announce a close the gate refused (gate.failed), in a transaction of its own: the postmortem is
    left as it was; only what the subscribers of CloseRefused write is committed."""
    postmortem = await get_postmortem(session, postmortem_id=postmortem_id)
    await events.publish(session, CloseRefused(postmortem, list(refusal.extra.get("violations", [])), actor))


async def set_analysis(session: AsyncSession, *, postmortem_id: uuid.UUID, nodes: Sequence[dict[str, Any]],
                       edges: Sequence[dict[str, Any]], actor: str) -> Postmortem:
    """Replace the analysis graph after checking it against the postmortem's framework (422 naming the culprit)."""
    postmortem = await get_postmortem(session, postmortem_id=postmortem_id, lock=True)
    ensure_open(postmortem)
    graph_nodes = [Node(n["id"], n["label"], n["kind"], n.get("category"), n.get("barrier_state")) for n in nodes]
    graph_edges = [Edge(e["from"], e["to"]) for e in edges]
    problems = validate_graph(postmortem.framework, graph_nodes, graph_edges)
    if problems:
        raise Unprocessable(
            f"The {postmortem.framework} analysis graph is invalid: " + " ".join(p.message for p in problems),
            details=[{"field": f"body.{p.part}", "message": p.message, "type": p.code, "refs": list(p.refs)}
                     for p in problems],
        )
    postmortem.analysis = {
        "nodes": [{"id": n.id, "label": n.label, "kind": n.kind, "category": n.category,
                   "barrier_state": n.barrier_state} for n in graph_nodes],
        "edges": [{"from": e.source, "to": e.target} for e in graph_edges],
    }
    postmortem.updated_at = clock.now()
    audit.record(session, actor=actor, action="postmortem.analysis_set", entity="postmortem",
                 entity_id=postmortem.id, diff={"nodes": len(graph_nodes), "edges": len(graph_edges)})
    return postmortem


async def list_postmortems(session: AsyncSession, *, status: str | None = None, incident: str | None = None,
                           limit: int = 50, cursor: str | None = None) -> Page[Postmortem]:
    """Postmortems, newest first; `incident` is a Loopgate or PagerDuty incident id."""
    query = sa.select(Postmortem)
    if status:
        query = query.where(col(Postmortem.status) == status)
    if incident:
        covering = (sa.select(col(PostmortemIncident.postmortem_id))
                    .join(Incident,
                          col(Incident.id) == col(PostmortemIncident.incident_id)).where(by_reference(incident)))
        query = query.where(col(Postmortem.id).in_(covering))
    return await paginate(session, query, order=(col(Postmortem.created_at), col(Postmortem.id)), limit=limit,
                          cursor=cursor)
