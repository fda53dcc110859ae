import uuid

from fastapi import APIRouter, status

from app.core.errors import error_responses
from app.core.runtime import SessionDep
from app.tokens import service
from app.tokens.auth import AdminDep
from app.tokens.schemas import TokenCreate, TokenCreated, TokenPublic

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=error_responses(401, 403, 422))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
async def create_token(body: TokenCreate, session: SessionDep, principal: AdminDep) -> TokenCreated:
    """Issue a token. The secret is in this answer and nowhere else."""
    token, secret = await service.create_token(session, name=body.name, scopes=body.scopes, actor=principal.name)
    await session.commit()
    return TokenCreated(id=token.id, name=token.name, scopes=token.scopes, token=secret)


@router.delete("/{token_id}", response_model=TokenPublic, responses=error_responses(404))
async def revoke_token(token_id: uuid.UUID, session: SessionDep, principal: AdminDep) -> TokenPublic:
    """Revoke a token; it stops working at once."""
    token = await service.revoke_token(session, token_id=token_id, actor=principal.name)
    await session.commit()
    return TokenPublic.model_validate(token, from_attributes=True)
