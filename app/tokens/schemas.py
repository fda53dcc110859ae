import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.models.tokens import Scope


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)


class TokenCreated(BaseModel):
    id: uuid.UUID
    name: str
    scopes: list[Scope]
    token: str = Field(description="The secret. Shown once; only its hash is stored.")


class TokenPublic(BaseModel):
    id: uuid.UUID
    name: str
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
