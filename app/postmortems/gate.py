"""The Integration Gate as the postmortem lifecycle sees it: a port, implemented by app/gates.

Closing a postmortem, and every detail view, asks the gate; the gate sits above this
package (it reads tickets and packets too), so this package names only what it needs
and the composition root (app/main.py) plugs the implementation in.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.settings import Settings
from app.models.postmortems import Postmortem


@dataclass(frozen=True)
class GateVerdict:
    """What the gate answered: `violations` block closing, `warnings` do not (JSON, as the API shows them)."""

    passed: bool
    violations: list[dict[str, Any]]
    warnings: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "violations": self.violations, "warnings": self.warnings}


class IntegrationGate(Protocol):
    async def __call__(self, session: AsyncSession, *, postmortem: Postmortem, settings: Settings) -> GateVerdict:
        """The Integration Gate for `postmortem` now."""
        ...
