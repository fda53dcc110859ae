import uuid
from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from app.models.tokens import Scope


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _storable(cls, name: str) -> str:
        # A 422 rather than a 500 from PostgreSQL, whose text holds no NUL and no lone surrogate.
        if "\x00" in name or any(0xD800 <= ord(char) <= 0xDFFF for char in name):
            raise ValueError("name must not contain NUL characters or unpaired surrogates")
        return name
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
