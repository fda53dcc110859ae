"""Action item edits that may create or link a Jira ticket: Jira is asked before anything is written."""

import uuid

from fastapi import APIRouter

from app.core.errors import error_responses
from app.core.runtime import RuntimeDep, SessionDep
from app.postmortems import views
from app.postmortems.schemas import ActionItemCreate, ActionItemPublic, ActionItemUpdate
from app.tickets import service
from app.tokens.auth import WriteDep

router = APIRouter(prefix="/api/v1", responses=error_responses(401, 403, 422))


@router.post("/findings/{finding_id}/action-items", status_code=201,
             response_model=ActionItemPublic, responses=error_responses(404, 502), tags=["action items"])
async def create_action_item(finding_id: uuid.UUID, body: ActionItemCreate, runtime: RuntimeDep, session: SessionDep,
                             principal: WriteDep) -> ActionItemPublic:
    """Add an action item to a finding; it starts open. `create_ticket` queues its Jira issue;
    `jira_key` links an existing one (422 `jira_issue_not_found`, 502 `jira_unavailable`, nothing saved)."""
    item = await service.create_action_item(
        session, finding_id=finding_id, fields=body.model_dump(exclude={"create_ticket", "jira_key"}),
        create_ticket=body.create_ticket, jira_key=body.jira_key, jira=runtime.jira, settings=runtime.settings,
        actor=principal.name)
    await session.commit()
    return (await views.action_item_views(session, [item]))[0]


@router.patch("/action-items/{action_item_id}", response_model=ActionItemPublic,
              responses=error_responses(404, 409, 422, 502), tags=["action items"])
async def update_action_item(action_item_id: uuid.UUID, body: ActionItemUpdate, runtime: RuntimeDep,
                             session: SessionDep, principal: WriteDep) -> ActionItemPublic:
    """Edit an action item or move its status; completed_at and closed_at follow the status. Once the item
    has a ticket, Jira owns its status (409 `status_owned_by_jira`). A new `jira_key` or `create_ticket`
    replaces a missing or failed ticket."""
    item = await service.update_action_item(
        session, action_item_id=action_item_id,
        changes=body.model_dump(exclude_unset=True, exclude={"create_ticket", "jira_key"}),
        create_ticket=body.create_ticket, jira_key=body.jira_key, jira=runtime.jira, settings=runtime.settings,
        actor=principal.name)
    await session.commit()
    return (await views.action_item_views(session, [item]))[0]
