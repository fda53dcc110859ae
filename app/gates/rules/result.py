"""What a gate answers: passed, the violations that block it, the warnings that do not."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# The order of DESIGN §3 (then the deploy gate); results are sorted by it, then by ids.
CODE_ORDER: tuple[str, ...] = (
    "no_findings",
    "finding_without_ticket",
    "ticket_missing",
    "ticket_pending",
    "action_item_incomplete",
    "systemic_finding_without_proposal",
    "packet_incomplete",
    "similar_incidents_not_reviewed",
    "blame_language",
    "overdue_p1_action_item",
    "postmortem_overdue",
)


@dataclass(frozen=True)
class Violation:
    """One broken rule: a stable `code`, a sentence for people, the ids it concerns."""

    code: str
    message: str
    ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "ids": list(self.ids)}


def _sort_key(violation: Violation) -> tuple[int, str, tuple[str, ...]]:
    rank = CODE_ORDER.index(violation.code) if violation.code in CODE_ORDER else len(CODE_ORDER)
    return (rank, violation.code, violation.ids)


@dataclass(frozen=True)
class GateResult:
    """`passed` is true exactly when there is no violation; warnings never block."""

    passed: bool
    violations: tuple[Violation, ...] = ()
    warnings: tuple[Violation, ...] = ()

    def __post_init__(self) -> None:
        if self.passed != (not self.violations):
            raise ValueError("passed must be true exactly when there are no violations")

    @classmethod
    def of(cls, violations: Iterable[Violation], warnings: Iterable[Violation] = ()) -> GateResult:
        """Build a result in the deterministic order (code order, then ids)."""
        ordered = tuple(sorted(violations, key=_sort_key))
        return cls(passed=not ordered, violations=ordered, warnings=tuple(sorted(warnings, key=_sort_key)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "violations": [v.to_dict() for v in self.violations],
            "warnings": [w.to_dict() for w in self.warnings],
        }
