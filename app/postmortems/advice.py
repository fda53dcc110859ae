"""Impact/effort advice for a finding (seed 003, antipattern 2: action item proliferation).

"Only the high-impact, feasible items get formal tickets. Lower-priority items can
be noted in the knowledge base." The matrix below is that filter, with `medium`
in between: a ticket when the gain is high, or real and cheap; the knowledge
base otherwise. It is advice: the finding's `decision` stays the team's call,
and `matches_decision` says whether they agree.

| impact \\ effort | low              | medium           | high                          |
|------------------|------------------|------------------|-------------------------------|
| high             | ticket, now      | ticket, planned  | ticket + a systemic proposal  |
| medium           | ticket, now      | knowledge base   | knowledge base                |
| low              | knowledge base   | knowledge base   | knowledge base                |
"""

from __future__ import annotations

from dataclasses import dataclass

_MATRIX: dict[tuple[str, str], tuple[str, str]] = {
    ("high", "low"): ("ticket", "High impact for little effort: do it now, as a ticket."),
    ("high", "medium"): ("ticket", "High impact: plan it as a ticket with an owner and a due date."),
    ("high", "high"): ("ticket", "High impact but costly: ticket the first step, and consider marking the "
                                 "finding systemic with a proposal (an OKR) to fund the rest."),
    ("medium", "low"): ("ticket", "A real gain for little effort: do it now, as a ticket."),
    ("medium", "medium"): ("knowledge_base", "A moderate gain for moderate effort: record it in the knowledge "
                                             "base, and ticket it if it comes back."),
    ("medium", "high"): ("knowledge_base", "Costly for a moderate gain: record it in the knowledge base rather "
                                           "than add a ticket nobody will finish."),
    ("low", "low"): ("knowledge_base", "Little gain: note it in the knowledge base; a ticket would add noise."),
    ("low", "medium"): ("knowledge_base", "Little gain for the effort: note it in the knowledge base."),
    ("low", "high"): ("knowledge_base", "Costly for little gain: note it in the knowledge base, no ticket."),
}


@dataclass(frozen=True)
class Advice:
    suggested_decision: str  # ticket or knowledge_base
    message: str
    matches_decision: bool


def advise(*, impact: str, effort: str, decision: str) -> Advice:
    """What the impact/effort matrix suggests for a finding, and whether `decision` follows it."""
    suggested, message = _MATRIX[(impact, effort)]
    return Advice(suggested, message, decision == suggested)
