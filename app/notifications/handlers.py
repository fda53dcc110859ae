"""Domain events of the lower packages, turned into outbound events (subscribed in app/runtime.py).

They run in the publisher's session: the deliveries they write commit or roll back with
the change that caused them.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from app.incidents.events import IncidentResolved, RepeatLinked
from app.models.incidents import Incident
from app.models.notifications import EventType
from app.notifications import outbox, recurrence
from app.notifications.subjects import incident_data, incident_facets, postmortem_subject
from app.packets.events import PacketAssembled
from app.postmortems.events import CloseRefused, PostmortemTransitioned


def _service(incident: Incident) -> str:
    return incident.service_name or incident.service_id or "unknown service"


async def on_incident_resolved(session: AsyncSession, event: IncidentResolved) -> None:
    """incident.resolved, once per resolve (a reopen and a new resolve is a new event)."""
    incident = event.incident
    data = {"summary": f"{incident.title} ({_service(incident)}) resolved", "incident": incident_data(incident)}
    await outbox.record(session, event_type=EventType.incident_resolved, data=data,
                        facets=incident_facets([incident]))


async def on_packet_assembled(session: AsyncSession, event: PacketAssembled) -> None:
    """packet.assembled, once per packet version (the assembly stores a version once)."""
    incident = await session.get_one(Incident, event.incident_id)
    data = {"summary": f"Event Packet v{event.version} of {incident.title} ({_service(incident)}) is {event.status}",
            "packet": {"id": event.packet_id, "version": event.version, "status": event.status},
            "incident": incident_data(incident)}
    await outbox.record(session, event_type=EventType.packet_assembled, data=data,
                        facets=incident_facets([incident]))


async def on_postmortem_transitioned(session: AsyncSession, event: PostmortemTransitioned) -> None:
    """postmortem.published and postmortem.closed (published again after a reopen: announced again)."""
    kinds = {"published": EventType.postmortem_published, "closed": EventType.postmortem_closed}
    event_type = kinds.get(event.to_status)
    if event_type is None:
        return
    data, facets = await postmortem_subject(session, event.postmortem)
    summary = f"Postmortem “{event.postmortem.title}” {event.to_status}"
    await outbox.record(session, event_type=event_type, data={"summary": summary, "postmortem": data},
                        facets=facets)


async def on_close_refused(session: AsyncSession, event: CloseRefused) -> None:
    """gate.failed: a close the Integration Gate refused, with its violations."""
    data, facets = await postmortem_subject(session, event.postmortem)
    codes = sorted({v.get("code", "?") for v in event.violations})
    summary = (f"Postmortem “{event.postmortem.title}” cannot close: {len(event.violations)} violation(s) "
               f"({', '.join(codes)})")
    await outbox.record(session, event_type=EventType.gate_failed,
                        data={"summary": summary, "postmortem": data, "violations": event.violations,
                              "actor": event.actor, "lines": [v.get("message", "") for v in event.violations]},
                        facets=facets)


async def on_repeat_linked(session: AsyncSession, event: RepeatLinked) -> None:
    """recurrence.detected when the earlier incident's fix was done (it did not hold) or overdue (late)."""
    await recurrence.announce(session, incident_id=event.incident_id, repeat_of_id=event.repeat_of_id)
