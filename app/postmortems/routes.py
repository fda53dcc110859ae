"""The postmortem API: thin handlers that parse, call a service, commit and shape the answer."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.core.errors import error_responses
from app.core.runtime import SessionDep, SettingsDep
from app.postmortems import action_items, findings, reads, renderings, service, views
from app.postmortems.blame import indicators_of, lint_blame
from app.postmortems.document import PostmortemDocument
from app.postmortems.errors import GateFailed
from app.postmortems.gate import IntegrationGate
from app.postmortems.renderings import AnalysisFormat, DocumentFormat
from app.postmortems.schemas import (
    NO_NUL,
    ActionItemList,
    ActionItemPublic,
    ActionItemStatus,
    AnalysisGraph,
    BlameIssuePublic,
    Category,
    Decision,
    FindingCreate,
    FindingList,
    FindingPublic,
    FindingUpdate,
    LintRequest,
    LintResponse,
    PostmortemCreate,
    PostmortemDetail,
    PostmortemList,
    PostmortemUpdate,
    Priority,
    Status,
    Transition,
)
from app.tokens.auth import ReadDep, WriteDep


def _gate(request: Request) -> IntegrationGate:
    """The Integration Gate the composition root plugged in (app/main.py)."""
    gate: IntegrationGate = request.app.state.integration_gate
    return gate


GateDep = Annotated[IntegrationGate, Depends(_gate)]
Limit = Annotated[int, Query(ge=1, le=500)]
Overdue = Annotated[bool | None, Query(description="true: open, in_progress or blocked and due before today (UTC); "
                                                   "false: every other item")]

router = APIRouter(prefix="/api/v1", responses=error_responses(401, 403, 422))
_404 = error_responses(404)
_404_409 = error_responses(404, 409)
MARKDOWN, MERMAID = "text/markdown", "text/plain"  # Starlette adds "; charset=utf-8"

# --- postmortems ---------------------------------------------------------------------------------


@router.post("/postmortems", status_code=201, response_model=PostmortemDetail,
             tags=["postmortems"])
async def create_postmortem(body: PostmortemCreate, session: SessionDep, principal: WriteDep,
                            settings: SettingsDep, gate: GateDep) -> PostmortemDetail:
    """Start a draft postmortem over one or more incidents (Loopgate or PagerDuty ids)."""
    postmortem = await service.create_postmortem(
        session, title=body.title, incident_ids=body.incident_ids, framework=body.framework,
        facilitator=body.facilitator, participants=[p.model_dump() for p in body.participants], actor=principal.name)
    await session.commit()
    return await views.postmortem_detail(session, postmortem_id=postmortem.id, settings=settings, gate=gate)


@router.get("/postmortems", response_model=PostmortemList, responses=error_responses(400), tags=["postmortems"])
async def list_postmortems(
    session: SessionDep, _: ReadDep, status: Status | None = None,
    incident: Annotated[str | None, Query(description="Loopgate or PagerDuty incident id", pattern=NO_NUL)] = None,
    limit: Limit = 50, cursor: str | None = None,
) -> PostmortemList:
    """Postmortems, newest first."""
    page = await service.list_postmortems(session, status=status, incident=incident, limit=limit, cursor=cursor)
    return await views.postmortem_list(session, page)


@router.get("/postmortems/{postmortem_id}", response_model=PostmortemDetail, responses=_404, tags=["postmortems"])
async def get_postmortem(postmortem_id: uuid.UUID, session: SessionDep, _: ReadDep,
                         settings: SettingsDep, gate: GateDep) -> PostmortemDetail:
    """One postmortem with findings, action items, analysis, blame issues and the gate evaluated now."""
    return await views.postmortem_detail(session, postmortem_id=postmortem_id, settings=settings, gate=gate)


@router.patch("/postmortems/{postmortem_id}", response_model=PostmortemDetail, responses=_404_409,
              tags=["postmortems"])
async def update_postmortem(postmortem_id: uuid.UUID, body: PostmortemUpdate, session: SessionDep,
                            principal: WriteDep, settings: SettingsDep, gate: GateDep) -> PostmortemDetail:
    """Edit a postmortem; a closed one answers 409."""
    await service.update_postmortem(session, postmortem_id=postmortem_id, changes=body.model_dump(exclude_unset=True),
                                    actor=principal.name)
    await session.commit()
    return await views.postmortem_detail(session, postmortem_id=postmortem_id, settings=settings, gate=gate)


@router.post("/postmortems/{postmortem_id}/transitions", response_model=PostmortemDetail, responses=_404_409,
             tags=["postmortems"])
async def transition_postmortem(postmortem_id: uuid.UUID, body: Transition, session: SessionDep,
                                principal: WriteDep, settings: SettingsDep, gate: GateDep) -> PostmortemDetail:
    """Move through draft → in_review → published → closed (or back to draft). 409 `invalid_transition`,
    or `gate_failed` with the violations when the Integration Gate blocks closing."""
    try:
        await service.transition_postmortem(session, postmortem_id=postmortem_id, to=body.to,
                                            actor=principal.name, settings=settings, gate=gate)
    except GateFailed as refused:
        await session.rollback()
        await service.record_refused_close(session, postmortem_id=postmortem_id, refusal=refused,
                                           actor=principal.name)
        await session.commit()
        raise
    await session.commit()
    return await views.postmortem_detail(session, postmortem_id=postmortem_id, settings=settings, gate=gate)


@router.put("/postmortems/{postmortem_id}/analysis", response_model=PostmortemDetail, responses=_404_409,
            tags=["postmortems"])
async def set_analysis(postmortem_id: uuid.UUID, body: AnalysisGraph, session: SessionDep, principal: WriteDep,
                       settings: SettingsDep, gate: GateDep) -> PostmortemDetail:
    """Replace the analysis graph; 422 naming the node or edge that breaks the framework's rules."""
    graph = body.model_dump(by_alias=True)
    await service.set_analysis(session, postmortem_id=postmortem_id, nodes=graph["nodes"], edges=graph["edges"],
                               actor=principal.name)
    await session.commit()
    return await views.postmortem_detail(session, postmortem_id=postmortem_id, settings=settings, gate=gate)


@router.get("/postmortems/{postmortem_id}/document", response_model=PostmortemDocument, tags=["postmortems"],
            responses={**_404, 200: {"content": {MARKDOWN: {"schema": {"type": "string"}}},
                                     "description": "Markdown (the default), or the same content as JSON"}})
async def get_document(postmortem_id: uuid.UUID, session: SessionDep, _: ReadDep, settings: SettingsDep, gate: GateDep,
                       format: DocumentFormat = DocumentFormat.markdown) -> Response | PostmortemDocument:
    """The whole postmortem as one document in seed 001's shape: Markdown, or `format=json` for the same content."""
    if format is DocumentFormat.json:
        document, _diagram = await renderings.postmortem_document(session, postmortem_id=postmortem_id,
                                                                   settings=settings, gate=gate)
        return document
    markdown = await renderings.markdown_document(session, postmortem_id=postmortem_id, settings=settings, gate=gate)
    return Response(markdown, media_type=MARKDOWN)


@router.get("/postmortems/{postmortem_id}/analysis", response_model=AnalysisGraph, tags=["postmortems"],
            responses={**_404, 200: {"content": {MERMAID: {"schema": {"type": "string"}}},
                                     "description": "the graph as JSON, or `format=mermaid` as a Mermaid flowchart"}})
async def get_analysis(postmortem_id: uuid.UUID, session: SessionDep, _: ReadDep,
                       format: AnalysisFormat = AnalysisFormat.json) -> Response | AnalysisGraph:
    """The analysis graph (empty until set); `format=mermaid` draws it: impact, factors by category, barriers
    by state, cause → effect edges."""
    if format is AnalysisFormat.mermaid:
        return Response(await renderings.analysis_mermaid(session, postmortem_id=postmortem_id), media_type=MERMAID)
    postmortem = await reads.get_postmortem(session, postmortem_id=postmortem_id)
    return AnalysisGraph.model_validate(postmortem.analysis or {"nodes": [], "edges": []})


# --- findings ------------------------------------------------------------------------------------


@router.post("/postmortems/{postmortem_id}/findings", status_code=201,
             response_model=FindingPublic, responses=_404_409, tags=["findings"])
async def create_finding(postmortem_id: uuid.UUID, body: FindingCreate, session: SessionDep,
                         principal: WriteDep) -> FindingPublic:
    """Add a finding to a postmortem that is not closed."""
    finding = await findings.create_finding(session, postmortem_id=postmortem_id, fields=body.model_dump(),
                                            actor=principal.name)
    await session.commit()
    return (await views.finding_views(session, [finding]))[0]


@router.get("/findings", response_model=FindingList, responses=error_responses(400), tags=["findings"])
async def list_findings(
    session: SessionDep, _: ReadDep,
    tag: Annotated[str | None, Query(description="normalised like stored tags: '#Config Management' works",
                                     pattern=NO_NUL)] = None,
    category: Category | None = None, decision: Decision | None = None,
    q: Annotated[str | None, Query(description="in the statement or the proposal, case-insensitive",
                                   max_length=500, pattern=NO_NUL)] = None,
    postmortem_id: uuid.UUID | None = None, limit: Limit = 50, cursor: str | None = None,
) -> FindingList:
    """The knowledge base: findings across all postmortems, newest first."""
    page = await findings.list_findings(session, tag=tag, category=category, q=q, decision=decision,
                                        postmortem_id=postmortem_id, limit=limit, cursor=cursor)
    return await views.finding_list(session, page)


@router.get("/findings/{finding_id}", response_model=FindingPublic, responses=_404, tags=["findings"])
async def get_finding(finding_id: uuid.UUID, session: SessionDep, _: ReadDep) -> FindingPublic:
    """One finding with its action items."""
    finding = await reads.get_finding(session, finding_id=finding_id)
    return (await views.finding_views(session, [finding]))[0]


@router.patch("/findings/{finding_id}", response_model=FindingPublic, responses=_404_409, tags=["findings"])
async def update_finding(finding_id: uuid.UUID, body: FindingUpdate, session: SessionDep,
                         principal: WriteDep) -> FindingPublic:
    """Edit a finding; 409 once its postmortem is closed."""
    finding = await findings.update_finding(session, finding_id=finding_id,
                                            changes=body.model_dump(exclude_unset=True), actor=principal.name)
    await session.commit()
    return (await views.finding_views(session, [finding]))[0]


@router.delete("/findings/{finding_id}", status_code=204, response_class=Response,
               responses=_404_409, tags=["findings"])
async def delete_finding(finding_id: uuid.UUID, session: SessionDep, principal: WriteDep) -> Response:
    """Delete a finding with its action items; 409 once its postmortem is closed."""
    await findings.delete_finding(session, finding_id=finding_id, actor=principal.name)
    await session.commit()
    return Response(status_code=204)


# --- action items --------------------------------------------------------------------------------
# Creating or editing one may create or link its Jira ticket: those two are in app/tickets/routes.py.


@router.get("/action-items", response_model=ActionItemList, responses=error_responses(400), tags=["action items"])
async def list_action_items(
    session: SessionDep, _: ReadDep, owner: Annotated[str | None, Query(pattern=NO_NUL)] = None,
    status: ActionItemStatus | None = None, priority: Priority | None = None, overdue: Overdue = None,
    service_: Annotated[str | None, Query(alias="service", pattern=NO_NUL,
                                          description="service id or name of an incident of the postmortem")] = None,
    limit: Limit = 50, cursor: str | None = None,
) -> ActionItemList:
    """Action items across postmortems, newest first."""
    page = await action_items.list_action_items(session, owner=owner, status=status, priority=priority,
                                                overdue=overdue, service=service_, limit=limit, cursor=cursor)
    return await views.action_item_list(session, page)


@router.get("/action-items/{action_item_id}", response_model=ActionItemPublic, responses=_404,
            tags=["action items"])
async def get_action_item(action_item_id: uuid.UUID, session: SessionDep, _: ReadDep) -> ActionItemPublic:
    """One action item."""
    item = await reads.get_action_item(session, action_item_id=action_item_id)
    return (await views.action_item_views(session, [item]))[0]


@router.delete("/action-items/{action_item_id}", status_code=204, response_class=Response,
               responses=_404_409, tags=["action items"])
async def delete_action_item(action_item_id: uuid.UUID, session: SessionDep, principal: WriteDep) -> Response:
    """Delete an action item; 409 once its postmortem is closed (mark it wont_do instead)."""
    await action_items.delete_action_item(session, action_item_id=action_item_id, actor=principal.name)
    await session.commit()
    return Response(status_code=204)


# --- blame lint ----------------------------------------------------------------------------------


@router.post("/lint/blame", response_model=LintResponse, tags=["lint"])
async def lint(body: LintRequest, _: ReadDep, settings: SettingsDep) -> LintResponse:
    """Blame language in a text, with a reframing suggestion for each issue (LOOPGATE_BLAME_INDICATORS)."""
    issues = lint_blame(body.text, indicators_of(settings))
    return LintResponse(issues=[BlameIssuePublic(**vars(issue)) for issue in issues])
