"""The postmortem domain's refusals; app/errors.py turns each into JSON with its status."""

from app.core.errors import Conflict


class InvalidTransition(Conflict):
    """409: the lifecycle does not lead from the current status to the requested one."""

    error = "invalid_transition"


class GateFailed(Conflict):
    """409: closing is blocked by the Integration Gate; `violations` and `warnings` sit at the top level."""

    error = "gate_failed"


class PostmortemClosed(Conflict):
    """409: a closed postmortem is a record; it (and its findings) no longer change."""

    error = "postmortem_closed"


class StatusOwnedByJira(Conflict):
    """409: the item has a Jira ticket; its status follows the ticket's status category."""

    error = "status_owned_by_jira"
