"""`POST /webhooks/pagerduty`: verify, record once, answer. The work happens in a job."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.db import EncodedJSON
from app.errors import BadRequest, Unauthorized
from app.inbound.receive import WEBHOOK_BODY, WEBHOOK_RESPONSES, read_limited_body, stored_answer
from app.inbound.writer import Delivery
from app.integrations.pagerduty.schemas import EnvelopeError, parse_envelope
from app.integrations.pagerduty.signature import verify_signature

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks/pagerduty", status_code=202, responses=WEBHOOK_RESPONSES, openapi_extra=WEBHOOK_BODY)
async def receive_pagerduty(request: Request) -> JSONResponse:
    """A PagerDuty v3 webhook delivery, signed with `X-PagerDuty-Signature`."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    body = await read_limited_body(request, settings.max_body_bytes)
    secrets = [secret.get_secret_value().encode() for secret in settings.pagerduty_webhook_secrets]
    if not secrets:
        raise Unauthorized("No PagerDuty webhook secret is configured (LOOPGATE_PAGERDUTY_WEBHOOK_SECRETS).")
    if not verify_signature(body, request.headers.get("x-pagerduty-signature"), secrets):
        raise Unauthorized("Missing or invalid X-PagerDuty-Signature.")
    try:
        envelope = parse_envelope(body)
    except EnvelopeError as exc:
        raise BadRequest(str(exc)) from None
    is_new = await runtime.inbox.record(Delivery(
        source="pagerduty", external_id=envelope.event_id, event_type=envelope.event_type,
        occurred_at=envelope.occurred_at, delivery_id=(request.headers.get("x-webhook-id") or "")[:200] or None,
        payload=EncodedJSON(body.decode()),
    ))
    return stored_answer(is_new)
