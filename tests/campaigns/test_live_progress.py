"""campaign.updated on the live socket: for marketing and admins (the campaigns API's roles), not for agents, in the
API's shape; the inbox's events stay the inbox's roles', and a socket's sequence numbers cover what it left out."""

import pytest

from campaigns.services import campaign_progress_publish
from messaging.services import events
from tests.campaigns.support import draft
from tests.messaging.factories import ConversationFactory
from tests.messaging.socket_support import db, frames, open_inbox, run, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def _first_frame_after(membership, *pushes) -> tuple[dict, dict]:
    """The socket's hello and the first frame it gets after these pushes (callables, run in order)."""
    cookie = session_cookie(membership.user)

    async def scenario():
        socket, hello = await open_inbox(cookie=cookie)
        for push in pushes:
            await db(push)()
        [frame] = await frames(socket, 1)
        return hello, frame

    return run(scenario)


def _progress(campaign):
    return lambda: campaign_progress_publish(organization_id=campaign.organization_id, campaign_ids=[campaign.pk])


def _conversation_updated(conversation):
    return lambda: events.publish_conversation_on_commit(
        conversation_id=conversation.pk, organization_id=conversation.organization_id
    )


def test_a_marketer_hears_campaign_progress_and_not_the_inbox(
    org, marketing_membership, marketing_client, number, template
):
    campaign = draft(org)
    conversation = ConversationFactory(organization=org, number=number)

    hello, frame = _first_frame_after(marketing_membership, _conversation_updated(conversation), _progress(campaign))

    shown = marketing_client.get(f"/api/v1/campaigns/{campaign.pk}").json()
    # The inbox's event was left out; the frame covers its number too.
    assert frame == {
        "type": "campaign.updated",
        "seq": hello["seq"] + 2,
        "first_seq": hello["seq"] + 1,
        "data": {"campaigns": [shown]},
    }


def test_an_agent_does_not_hear_campaign_progress(org, agent_membership, number, template):
    campaign = draft(org)
    conversation = ConversationFactory(organization=org, number=number)

    hello, frame = _first_frame_after(agent_membership, _progress(campaign), _conversation_updated(conversation))

    assert (frame["type"], frame["first_seq"], frame["seq"]) == (
        "conversation.updated",
        hello["seq"] + 1,
        hello["seq"] + 2,
    )
