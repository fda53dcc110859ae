"""Blame language located in a postmortem: its own prose, then its findings' statements."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.models.postmortems import Finding, Postmortem
from app.postmortems.blame import BlameIssue, Indicator, lint_blame

# The postmortem's own prose, in the order an author reads it; finding statements follow.
TEXT_FIELDS = ("title", "summary", "what_went_well", "what_could_improve", "lessons")


@dataclass(frozen=True)
class LocatedIssue:
    """A blame-lint issue and where it is: a postmortem field, or a finding's statement."""

    field: str
    finding_id: uuid.UUID | None
    issue: BlameIssue


def prose_issues(postmortem: Postmortem, *, indicators: Sequence[Indicator]) -> list[LocatedIssue]:
    """Blame language in the postmortem's own fields."""
    return [LocatedIssue(name, None, issue) for name in TEXT_FIELDS
            for issue in lint_blame(getattr(postmortem, name) or "", indicators)]


def blame_issues(postmortem: Postmortem, findings: Sequence[Finding], *,
                 indicators: Sequence[Indicator]) -> list[LocatedIssue]:
    """Blame language in the postmortem's prose and in its findings' statements."""
    located = prose_issues(postmortem, indicators=indicators)
    for finding in findings:
        located += [LocatedIssue("statement", finding.id, issue) for issue in lint_blame(finding.statement, indicators)]
    return located
