"""whatsapp_flow.updated (Meta's `flows` webhook changed a flow) reaches the sockets of every role that sees the
flow's number, marketing's included; not those who do not see it, nor another organization's."""

import pytest
from django.db import transaction

from messaging.services.flows import flow_webhook_apply
from tests.factories import MembershipFactory
from tests.messaging.factories import WhatsAppFlowFactory
from tests.messaging.inbox_support import cloud_number
from tests.messaging.socket_support import db, frames, open_inbox, run, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def blocked(flow) -> None:
    """Meta's FLOW_STATUS_CHANGE to BLOCKED applied as the ingest applies it (in its transaction)."""
    with transaction.atomic():
        flow_webhook_apply(
            organization=flow.organization,
            waba_id=flow.waba_id,
            value={"event": "FLOW_STATUS_CHANGE", "flow_id": flow.meta_flow_id, "new_status": "BLOCKED"},
        )


def test_the_sockets_that_see_the_flow_s_number_get_its_new_status(
    org, other_org, marketing_membership, agent_membership, outsider_membership
):
    shared = WhatsAppFlowFactory(organization=org, number=cloud_number(org), status="PUBLISHED")
    # A number assigned to someone else: the agent and the marketer do not see it, nor its flows.
    hidden = WhatsAppFlowFactory(
        organization=org,
        number=cloud_number(org, assigned_user=MembershipFactory(organization=org).user),
        status="PUBLISHED",
    )
    theirs = WhatsAppFlowFactory(organization=other_org, status="PUBLISHED")
    members = (marketing_membership, agent_membership, outsider_membership)
    cookies = [session_cookie(membership.user) for membership in members]

    async def scenario():
        sockets = [(await open_inbox(cookie=cookie))[0] for cookie in cookies]
        for flow in (hidden, theirs, shared):
            await db(blocked)(flow)
        return [await frames(socket, count) for socket, count in zip(sockets, (1, 1, 2), strict=True)]

    mine = {"type": "whatsapp_flow.updated", "seq": 2, "first_seq": 1}
    data = {"flows": [{"id": shared.pk, "status": "BLOCKED", "last_alert_at": None}]}
    outsider = {"type": "whatsapp_flow.updated", "seq": 1, "first_seq": 1}
    marketer, agent, admin = run(scenario)
    assert marketer == agent == [{**mine, "data": data}]
    # Their admin is told too (the bell: a frame of their own), and sees their flow change.
    told, changed = sorted(admin, key=lambda frame: frame["type"])
    assert (told["type"], told["data"]["notification"]["link"]) == (
        "notification.created",
        f"/templates/whatsapp-flows/{theirs.pk}/",
    )
    assert changed == {**outsider, "data": {"flows": [{"id": theirs.pk, "status": "BLOCKED", "last_alert_at": None}]}}
