"""`POST /webhooks/jira`: verify, record once, answer. The work happens in a job."""

from starlette.datastructures import Headers

from app.core.errors import BadRequest, Unauthorized
from app.core.inbox import Delivery
from app.core.settings import Settings
from app.inbound.receive import Webhook, clean_text, storable_json
from app.integrations.jira.schemas import DeliveryError, parse_delivery
from app.integrations.jira.signature import verify_signature


def accept(settings: Settings, headers: Headers, body: bytes) -> Delivery:
    if settings.jira_webhook_secret is None:
        raise Unauthorized("No Jira webhook secret is configured (LOOPGATE_JIRA_WEBHOOK_SECRET).")
    secret = settings.jira_webhook_secret.get_secret_value().encode()
    if not verify_signature(body, headers.get("x-hub-signature"), secret):
        raise Unauthorized("Missing or invalid X-Hub-Signature.")
    try:
        delivery = parse_delivery(body, headers.get("x-atlassian-webhook-identifier"))
    except DeliveryError as exc:
        raise BadRequest(str(exc)) from None
    return Delivery(
        source="jira", external_id=delivery.delivery_id, event_type=clean_text(delivery.event_type),
        occurred_at=delivery.occurred_at, delivery_id=delivery.delivery_id,
        payload=storable_json(body, delivery.payload),
    )


webhook = Webhook(
    path="/webhooks/jira",
    summary="Receive Jira",
    description=("A Jira webhook delivery, signed with `X-Hub-Signature`, "
                 "deduplicated on `X-Atlassian-Webhook-Identifier`."),
    accept=accept,
)
