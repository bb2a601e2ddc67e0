"""template.updated reaches every socket of the organization, whatever numbers its person sees (templates belong
to no number), in the API's shape; never another organization's."""

import pytest

from messaging.services import events
from templates.services import publish_templates_on_commit
from tests.factories import MembershipFactory
from tests.messaging.factories import ConversationFactory
from tests.messaging.inbox_support import cloud_number
from tests.messaging.socket_support import db, frames, open_inbox, run, session_cookie
from tests.templates.factories import MessageTemplateFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_member_s_socket_gets_template_updates_in_the_api_s_shape(
    org, marketing_membership, agent_membership, marketing_client
):
    # The agent sees one number only; a marketer sees none of the inbox.
    cloud_number(org, assigned_user=MembershipFactory(organization=org).user)
    template = MessageTemplateFactory(organization=org)
    cookies = [session_cookie(membership.user) for membership in (marketing_membership, agent_membership)]

    async def scenario():
        sockets = [(await open_inbox(cookie=cookie))[0] for cookie in cookies]
        await db(publish_templates_on_commit)(organization_id=org.pk, template_ids=[template.pk])
        return [await frames(socket, 1) for socket in sockets]

    received = run(scenario)
    shown = marketing_client.get(f"/api/v1/templates/{template.pk}").json()
    expected = {"type": "template.updated", "seq": 1, "first_seq": 1, "data": {"templates": [shown]}}
    assert received == [[expected], [expected]]


def test_another_organization_s_templates_never_arrive(org, other_org, outsider_membership):
    foreign = MessageTemplateFactory(organization=org)
    conversation = ConversationFactory(organization=other_org)
    cookie = session_cookie(outsider_membership.user)

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await db(publish_templates_on_commit)(organization_id=org.pk, template_ids=[foreign.pk])
        await db(events.publish_conversation_on_commit)(conversation_id=conversation.pk, organization_id=other_org.pk)
        return await frames(socket, 1)

    [frame] = run(scenario)
    assert frame["type"] == "conversation.updated"
