"""Domain events of the lower packages, turned into outbound events (subscribed in app/runtime.py).

They run in the publisher's session: the deliveries they write commit or roll back with
the change that caused them.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from app.incidents.events import IncidentResolved
from app.models.notifications import EventType
from app.notifications import outbox
from app.notifications.subjects import incident_data, incident_facets


async def on_incident_resolved(session: AsyncSession, event: IncidentResolved) -> None:
    """incident.resolved, once per resolve (a reopen and a new resolve is a new event)."""
    incident = event.incident
    data = {"summary": f"{incident.title} ({incident.service_name or incident.service_id}) resolved",
            "incident": incident_data(incident)}
    await outbox.record(session, event_type=EventType.incident_resolved, data=data,
                        facets=incident_facets([incident]))
