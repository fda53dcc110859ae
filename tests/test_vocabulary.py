"""The pure gate rules keep their own string sets (they import nothing of the app): they must be the app's."""

from app.gates.rules import deploy, postmortem
from app.models.packets import PacketStatus
from app.models.postmortems import OPEN_STATUSES, PostmortemStatus
from app.models.tickets import IN_FLIGHT, JIRA_OWNED


def test_the_rules_name_the_ticket_states_of_the_models():
    assert postmortem.TICKETED == JIRA_OWNED
    assert postmortem.IN_FLIGHT == IN_FLIGHT


def test_the_rules_name_the_action_item_and_postmortem_states_of_the_models():
    assert deploy.OPEN_STATUSES == OPEN_STATUSES
    assert deploy.POSTMORTEM_DONE == {PostmortemStatus.published, PostmortemStatus.closed}
    assert postmortem.PACKET_READY == {PacketStatus.complete, PacketStatus.partial}


def test_the_lifecycle_order_is_the_enum_order():
    assert [s.rank for s in PostmortemStatus] == [0, 1, 2, 3]
    assert list(PostmortemStatus) == ["draft", "in_review", "published", "closed"]
