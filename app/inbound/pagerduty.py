"""`POST /webhooks/pagerduty`: verify, record once, answer. The work happens in a job."""

from starlette.datastructures import Headers

from app.core.errors import BadRequest, Unauthorized
from app.core.inbox import Delivery
from app.core.settings import Settings
from app.inbound.receive import Webhook, storable_json
from app.integrations.pagerduty.schemas import EnvelopeError, parse_envelope
from app.integrations.pagerduty.signature import verify_signature


def accept(settings: Settings, headers: Headers, body: bytes) -> Delivery:
    secrets = [secret.get_secret_value().encode() for secret in settings.pagerduty_webhook_secrets]
    if not secrets:
        raise Unauthorized("No PagerDuty webhook secret is configured (LOOPGATE_PAGERDUTY_WEBHOOK_SECRETS).")
    if not verify_signature(body, headers.get("x-pagerduty-signature"), secrets):
        raise Unauthorized("Missing or invalid X-PagerDuty-Signature.")
    try:
        envelope = parse_envelope(body)
    except EnvelopeError as exc:
        raise BadRequest(str(exc)) from None
    return Delivery(
        source="pagerduty", external_id=envelope.event_id, event_type=envelope.event_type,
        occurred_at=envelope.occurred_at, delivery_id=(headers.get("x-webhook-id") or "")[:200] or None,
        payload=storable_json(body, envelope.payload),
    )


webhook = Webhook(
    path="/webhooks/pagerduty",
    summary="Receive Pagerduty",
    description="A PagerDuty v3 webhook delivery, signed with `X-PagerDuty-Signature`.",
    accept=accept,
)
