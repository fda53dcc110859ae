"""`POST /webhooks/jira`: verify, record once, answer. The work happens in a job."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.db import EncodedJSON
from app.errors import BadRequest, Unauthorized
from app.inbound.receive import WEBHOOK_BODY, WEBHOOK_RESPONSES, read_limited_body, stored_answer
from app.inbound.writer import Delivery
from app.integrations.jira.schemas import DeliveryError, parse_delivery
from app.integrations.jira.signature import verify_signature

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks/jira", status_code=202, responses=WEBHOOK_RESPONSES, openapi_extra=WEBHOOK_BODY)
async def receive_jira(request: Request) -> JSONResponse:
    """A Jira webhook delivery, signed with `X-Hub-Signature`, deduplicated on `X-Atlassian-Webhook-Identifier`."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    body = await read_limited_body(request, settings.max_body_bytes)
    if settings.jira_webhook_secret is None:
        raise Unauthorized("No Jira webhook secret is configured (LOOPGATE_JIRA_WEBHOOK_SECRET).")
    if not verify_signature(body, request.headers.get("x-hub-signature"),
                            settings.jira_webhook_secret.get_secret_value().encode()):
        raise Unauthorized("Missing or invalid X-Hub-Signature.")
    try:
        delivery = parse_delivery(body, request.headers.get("x-atlassian-webhook-identifier"))
    except DeliveryError as exc:
        raise BadRequest(str(exc)) from None
    is_new = await runtime.inbox.record(Delivery(
        source="jira", external_id=delivery.delivery_id, event_type=delivery.event_type,
        occurred_at=delivery.occurred_at, delivery_id=delivery.delivery_id,
        payload=EncodedJSON(body.decode()),
    ))
    return stored_answer(is_new)
