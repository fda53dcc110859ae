"""Who is calling: bearer tokens, scopes, and the bootstrap admin token."""

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.errors import Forbidden, Unauthorized
from app.core.runtime import SessionDep, SettingsDep
from app.core.settings import Settings
from app.models.tokens import Scope
from app.tokens.service import authenticate


@dataclass(frozen=True)
class Principal:
    name: str
    scopes: frozenset[str]

    def allows(self, scope: Scope) -> bool:
        return Scope.admin in self.scopes or scope in self.scopes


_bearer = HTTPBearer(auto_error=False, description="An API token, or LOOPGATE_ADMIN_TOKEN")


async def current_principal(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Missing bearer token.")
    secret = credentials.credentials
    admin_token = settings.admin_token
    if admin_token is not None and hmac.compare_digest(secret.encode(), admin_token.get_secret_value().encode()):
        return Principal(name="admin-token", scopes=frozenset({Scope.admin}))
    token = await authenticate(session, secret=secret)
    if token is None:
        raise Unauthorized("Invalid or revoked token.")
    if session.dirty:  # `last_used_at` was touched: it stands whatever the route then does
        await session.commit()
    return Principal(name=f"token:{token.name}", scopes=frozenset(token.scopes))


def require(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits principals holding `scope` (admin holds all)."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.allows(scope):
            raise Forbidden(f"This call needs the '{scope}' scope.", details={"required_scope": str(scope)})
        return principal

    return dependency


def require_unless(scope: Scope, *, open_when: Callable[[Settings], bool]) -> Callable[..., Awaitable[None]]:
    """A dependency that admits anyone while `open_when(settings)` holds, else only principals holding `scope`."""

    async def dependency(
        session: SessionDep, settings: SettingsDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if open_when(settings):
            return
        principal = await current_principal(session, settings, credentials)
        if not principal.allows(scope):
            raise Forbidden(f"This call needs the '{scope}' scope.", details={"required_scope": str(scope)})

    return dependency


ReadDep = Annotated[Principal, Depends(require(Scope.read))]
WriteDep = Annotated[Principal, Depends(require(Scope.write))]
GatesReadDep = Annotated[Principal, Depends(require(Scope.gates_read))]
AdminDep = Annotated[Principal, Depends(require(Scope.admin))]
