"""API tokens: issue, revoke, authenticate. Secrets are shown once and stored as sha256."""

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock
from app.core.errors import NotFound
from app.models import audit
from app.models.tokens import ApiToken

TOKEN_PREFIX = "lg_"
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_token(session: AsyncSession, *, name: str, scopes: Sequence[str], actor: str) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is not stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, scopes=sorted(set(scopes)), secret_sha256=hash_secret(secret))
    session.add(token)
    await session.flush()
    audit.record(session, actor=actor, action="token.created", entity="api_token", entity_id=token.id,
                 diff={"name": name, "scopes": token.scopes})
    return token, secret


async def revoke_token(session: AsyncSession, *, token_id: uuid.UUID, actor: str) -> ApiToken:
    """Revoke a token; revoking twice is harmless."""
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        audit.record(session, actor=actor, action="token.revoked", entity="api_token", entity_id=token.id)
    return token


async def authenticate(session: AsyncSession, *, secret: str) -> ApiToken | None:
    """The live token for a secret, touching `last_used_at` (the caller commits); None when unknown or revoked."""
    token = await session.scalar(sa.select(ApiToken).where(col(ApiToken.secret_sha256) == hash_secret(secret)))
    if token is None or token.revoked_at is not None:
        return None
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token
