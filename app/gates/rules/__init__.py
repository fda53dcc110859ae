"""The Integration Gate and the service deploy gate: pure rules over plain data.

Nothing here imports the rest of the app, a database, the network or FastAPI.
"""

from .deploy import evaluate_service
from .facts import (
    ActionItemFacts,
    FindingFacts,
    PacketFacts,
    PostmortemFacts,
    RequiredPostmortemFacts,
    ServiceActionItemFacts,
    TicketFacts,
)
from .postmortem import evaluate_postmortem
from .result import CODE_ORDER, GateResult, Violation

__all__ = [
    "CODE_ORDER",
    "ActionItemFacts",
    "FindingFacts",
    "GateResult",
    "PacketFacts",
    "PostmortemFacts",
    "RequiredPostmortemFacts",
    "ServiceActionItemFacts",
    "TicketFacts",
    "Violation",
    "evaluate_postmortem",
    "evaluate_service",
]
