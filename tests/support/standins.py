"""The stand-in vendor servers, for tests that need one directly (most use the `jira` fixture instead).

The servers live in tests/standins/ beside their own tests, because bench/ starts
tests/standins/pagerduty.py by path as a script in its own process.
"""

from tests.standins.jira import JiraStandIn
from tests.standins.pagerduty import PagerDutyStandIn, make_alert, make_lifecycle, make_log_entry

__all__ = ["JiraStandIn", "PagerDutyStandIn", "make_alert", "make_lifecycle", "make_log_entry"]
