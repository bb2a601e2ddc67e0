"""The inbox: the conversation list (shape, filters, keyset pagination, query count), detail, assignment rules,
the messages of a conversation, read receipts, and opening a conversation with a template."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditLog, Role, Team
from messaging.models import WINDOW_CLOSED_DETAIL, Contact, Conversation, Message
from tests.factories import MembershipFactory
from tests.messaging.factories import ContactFactory, ConversationFactory, MessageFactory
from tests.messaging.inbox_support import (
    api_key_client,
    cloud_number,
    committed,
    messages_url,
    open_conversation,
    waha_number,
)

LIST = "/api/v1/conversations"


def _detail(conversation) -> str:
    return f"/api/v1/conversations/{conversation.pk}"


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- list: shape, order, filters -------------------------------------------------------------------------


def test_a_row_shows_contact_last_message_unread_count_and_window(org, agent_client):
    contact = ContactFactory(
        organization=org, name="", profile_name="Sheena Nelson", wa_id="16505551234", phone="+16505551234"
    )
    at = timezone.now() - timedelta(minutes=5)
    inbound_at = at - timedelta(minutes=1)
    conversation = open_conversation(
        org,
        contact=contact,
        last_inbound_at=inbound_at,
        unread_count=3,
        last_message_at=at,
        last_message_preview="Does it come in another color?",
        last_message_direction="inbound",
        last_message_type="text",
    )

    response = agent_client.get(LIST)

    assert response.json() == {
        "next": None,
        "results": [
            {
                "id": conversation.pk,
                "contact": {"id": contact.pk, "name": "Sheena Nelson", "phone": "+16505551234", "wa_id": "16505551234"},
                "number_id": conversation.number_id,
                "status": "open",
                "assigned_to": None,
                "team": None,
                "unread_count": 3,
                "last_message": {"text": "Does it come in another color?", "direction": "inbound", "type": "text"},
                "last_message_at": at.isoformat().replace("+00:00", "Z"),
                "window_open": True,
                "window_expires_at": (inbound_at + timedelta(hours=24)).isoformat().replace("+00:00", "Z"),
                "created_at": conversation.created_at.isoformat().replace("+00:00", "Z"),
            }
        ],
    }


def test_the_window_is_closed_after_24_hours_but_never_on_whatsapp_web(org, agent_client):
    stale = timezone.now() - timedelta(hours=25)
    cloud = open_conversation(org, last_inbound_at=stale)
    never = open_conversation(org, last_inbound_at=None)
    web = open_conversation(org, number=waha_number(org), last_inbound_at=stale)

    rows = {row["id"]: row for row in agent_client.get(LIST).json()["results"]}

    assert {pk: row["window_open"] for pk, row in rows.items()} == {cloud.pk: False, never.pk: False, web.pk: True}
    closed_at = (stale + timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    expiries = {pk: row["window_expires_at"] for pk, row in rows.items()}
    assert expiries == {cloud.pk: closed_at, never.pk: None, web.pk: None}


def test_a_conversation_without_messages_has_no_last_message(org, agent_client):
    ConversationFactory(organization=org)

    [row] = agent_client.get(LIST).json()["results"]

    assert row["last_message"] is None


def test_newest_activity_comes_first(org, agent_client):
    now = timezone.now()
    old = ConversationFactory(organization=org, last_message_at=now - timedelta(hours=2))
    new = ConversationFactory(organization=org, last_message_at=now)
    middle = ConversationFactory(organization=org, last_message_at=now - timedelta(hours=1))

    assert _ids(agent_client.get(LIST)) == [new.pk, middle.pk, old.pk]


def test_the_filters(org, agent_membership, agent_client):
    team = Team.objects.create(organization=org, name="Sales")
    other_agent = MembershipFactory(organization=org, role=Role.AGENT)
    number = cloud_number(org)
    mine = ConversationFactory(organization=org, assigned_to=agent_membership.user, unread_count=2)
    theirs = ConversationFactory(organization=org, assigned_to=other_agent.user, team=team, status="pending")
    nobodys = ConversationFactory(
        organization=org,
        number=number,
        status="closed",
        contact=ContactFactory(organization=org, name="Raj Kumar", wa_id="919876543210", phone="+919876543210"),
    )

    def ids(**params):
        return sorted(_ids(agent_client.get(LIST, params)))

    assert ids(assigned_to="me") == [mine.pk]
    assert ids(assigned_to="none") == [nobodys.pk]
    assert ids(assigned_to=other_agent.user_id) == [theirs.pk]
    assert ids(status="pending") == [theirs.pk]
    assert ids(status="closed") == [nobodys.pk]
    assert ids(team=team.pk) == [theirs.pk]
    assert ids(number=number.pk) == [nobodys.pk]
    assert ids(unread="true") == [mine.pk]
    assert ids(unread="false") == sorted([theirs.pk, nobodys.pk])
    assert ids(search="raj") == [nobodys.pk]
    assert ids(search="98765") == [nobodys.pk]
    assert ids(search="+91 98765 43210") == [nobodys.pk]
    assert ids(status="open", assigned_to="me", unread="true") == [mine.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "archived"}, "status"),
        ({"assigned_to": "someone"}, "assigned_to"),
        ({"team": "sales"}, "team"),
        ({"unread": "maybe"}, "unread"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WzFd"}, "cursor"),  # base64 of [1]: one value, two keys
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
    ],
)
def test_bad_list_parameters_are_a_400_naming_them(params, field, org, agent_client):
    ConversationFactory(organization=org)

    response = agent_client.get(LIST, params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_me_means_nothing_for_an_api_key(org):
    response = api_key_client(org).get(LIST, {"assigned_to": "me"})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "assigned_to": ["assigned_to=me needs a signed-in user (an API key is nobody)."]
    }


# --- list: keyset pagination and query count ----------------------------------------------------------------


def test_pages_cover_every_conversation_once_even_with_equal_timestamps(org, agent_client):
    now = timezone.now()
    tie = now - timedelta(minutes=10)
    conversations = [ConversationFactory(organization=org, last_message_at=tie) for _ in range(9)]
    conversations += [
        ConversationFactory(organization=org, last_message_at=now - timedelta(minutes=i)) for i in range(8)
    ]
    expected = [c.pk for c in sorted(conversations, key=lambda c: (c.last_message_at, c.pk), reverse=True)]

    seen, url, pages = [], f"{LIST}?page_size=4", 0
    while url:
        body = agent_client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1

    assert seen == expected
    assert pages == 5  # 17 rows: 4 + 4 + 4 + 4 + 1


def test_the_next_link_keeps_the_filters(org, agent_client):
    for _ in range(3):
        ConversationFactory(organization=org, status="pending")
    ConversationFactory(organization=org, status="closed")

    first = agent_client.get(LIST, {"status": "pending", "page_size": 2}).json()
    second = agent_client.get(first["next"]).json()

    assert "status=pending" in first["next"]
    assert len(first["results"]) == 2
    assert [row["status"] for row in second["results"]] == ["pending"]
    assert second["next"] is None


def test_the_page_size_is_capped_at_100(org, agent_client):
    number = cloud_number(org)
    Conversation.objects.bulk_create(
        Conversation(organization=org, number=number, contact=ContactFactory(organization=org)) for _ in range(101)
    )

    body = agent_client.get(LIST, {"page_size": 500}).json()

    assert len(body["results"]) == 100
    assert body["next"] is not None


def test_the_list_costs_the_same_queries_for_5_or_50_rows(org, agent_client, django_assert_num_queries):
    numbers = [cloud_number(org), waha_number(org)]
    for index in range(120):
        ConversationFactory(organization=org, number=numbers[index % 2], unread_count=index % 3)

    for page_size in (5, 50):
        # Authentication (the user, the membership) and one query for the page, with contact and number joined.
        with django_assert_num_queries(3) as queries:
            first = agent_client.get(LIST, {"page_size": page_size}).json()
        with django_assert_num_queries(3):
            second = agent_client.get(first["next"]).json()
        assert len(first["results"]) == len(second["results"]) == page_size
    page = queries.captured_queries[-1]["sql"].upper()
    assert "OFFSET" not in page
    assert "COUNT(" not in page
    assert "ACCESS_TOKEN" not in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plan")
def test_a_later_page_is_a_range_scan_of_the_activity_index(org, agent_client):
    number = cloud_number(org)
    Conversation.objects.bulk_create(
        Conversation(
            organization=org,
            number=number,
            contact=ContactFactory(organization=org),
            last_message_at=timezone.now() - timedelta(seconds=i),
        )
        for i in range(200)
    )
    next_page = agent_client.get(LIST, {"page_size": 10}).json()["next"]
    with CaptureQueriesContext(connection) as queries:
        agent_client.get(next_page)
    [sql] = [query["sql"] for query in queries.captured_queries if 'FROM "messaging_conversation"' in query["sql"]]

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_conversation")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Scan using messaging_conv_org_activity" in plan, plan
    assert "Sort" not in plan, plan  # rows come in index order, the LIMIT stops the scan


# --- detail and another organization's rows ----------------------------------------------------------------


def test_detail_has_the_list_shape(org, agent_client):
    conversation = open_conversation(org)

    response = agent_client.get(_detail(conversation))

    assert response.status_code == 200
    assert response.json() == agent_client.get(LIST).json()["results"][0]


def test_another_organizations_conversation_is_a_404_everywhere(other_org, agent_client, fake_meta):
    foreign = open_conversation(other_org, unread_count=4)
    MessageFactory(organization=other_org, conversation=foreign)
    before = Conversation.objects.filter(pk=foreign.pk).values().get()

    responses = [
        agent_client.get(_detail(foreign)),
        agent_client.patch(_detail(foreign), {"status": "closed"}, format="json"),
        agent_client.get(messages_url(foreign)),
        committed(agent_client.post, f"{_detail(foreign)}/read"),
    ]

    assert [response.status_code for response in responses] == [404, 404, 404, 404]
    assert Conversation.objects.filter(pk=foreign.pk).values().get() == before
    assert agent_client.get(LIST).json()["results"] == []
    assert fake_meta.requests == []


def test_marketing_has_no_inbox(org, marketing_client):
    conversation = open_conversation(org)

    responses = [
        marketing_client.get(LIST),
        marketing_client.get(_detail(conversation)),
        marketing_client.patch(_detail(conversation), {"status": "closed"}, format="json"),
        marketing_client.get(messages_url(conversation)),
        marketing_client.post(f"{_detail(conversation)}/read"),
    ]

    assert [response.status_code for response in responses] == [403] * 5
    conversation.refresh_from_db()
    assert conversation.status == "open"


# --- PATCH: status and assignment -------------------------------------------------------------------------


def _patch(client, conversation, body):
    return committed(client.patch, _detail(conversation), body, format="json")


def test_an_agent_takes_an_unassigned_conversation_and_it_is_audited(org, agent_membership, agent_client):
    conversation = open_conversation(org)

    response = _patch(agent_client, conversation, {"assigned_to": agent_membership.user_id})

    assert response.status_code == 200
    assert response.json()["assigned_to"] == agent_membership.user_id
    conversation.refresh_from_db()
    assert conversation.assigned_to_id == agent_membership.user_id
    log = AuditLog.objects.get(action="conversation.assign")
    assert (log.actor_id, log.target_id, log.data) == (
        agent_membership.user_id,
        str(conversation.pk),
        {"assigned_to": [None, agent_membership.user_id]},
    )


def test_an_agent_releases_their_own_conversation(org, agent_membership, agent_client):
    conversation = open_conversation(org, assigned_to=agent_membership.user)

    response = _patch(agent_client, conversation, {"assigned_to": None})

    assert (response.status_code, response.json()["assigned_to"]) == (200, None)
    assert AuditLog.objects.get(action="conversation.assign").data == {"assigned_to": [agent_membership.user_id, None]}


def test_an_agent_cannot_take_someone_elses_conversation(org, agent_membership, agent_client):
    colleague = MembershipFactory(organization=org, role=Role.AGENT)
    conversation = open_conversation(org, assigned_to=colleague.user)

    response = _patch(agent_client, conversation, {"assigned_to": agent_membership.user_id})

    assert (response.status_code, response.json()["code"]) == (409, "already_assigned")
    conversation.refresh_from_db()
    assert conversation.assigned_to_id == colleague.user_id
    assert not AuditLog.objects.filter(action="conversation.assign").exists()


@pytest.mark.parametrize("assigned", ["nobody", "colleague"])
def test_an_agent_cannot_assign_or_unassign_a_colleague(assigned, org, agent_client):
    colleague = MembershipFactory(organization=org, role=Role.AGENT)
    conversation = open_conversation(org, assigned_to=colleague.user if assigned == "colleague" else None)
    target = None if assigned == "colleague" else colleague.user_id

    response = _patch(agent_client, conversation, {"assigned_to": target})

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    conversation.refresh_from_db()
    assert conversation.assigned_to_id == (colleague.user_id if assigned == "colleague" else None)


def test_an_admin_assigns_anyone_and_sets_the_team(org, admin_membership, admin_client):
    agent = MembershipFactory(organization=org, role=Role.AGENT)
    team = Team.objects.create(organization=org, name="Support")
    conversation = open_conversation(org, assigned_to=admin_membership.user)

    response = _patch(admin_client, conversation, {"assigned_to": agent.user_id, "team": team.pk, "status": "pending"})

    body = response.json()
    assert (body["assigned_to"], body["team"], body["status"]) == (agent.user_id, team.pk, "pending")
    assert AuditLog.objects.get(action="conversation.assign").data == {
        "assigned_to": [admin_membership.user_id, agent.user_id],
        "team": [None, team.pk],
    }


def test_an_agent_changes_the_status_without_an_audit_entry(org, agent_client):
    conversation = open_conversation(org)

    response = _patch(agent_client, conversation, {"status": "closed"})

    assert (response.status_code, response.json()["status"]) == (200, "closed")
    assert not AuditLog.objects.exists()


def test_an_agent_hands_a_conversation_to_another_team(org, agent_client):
    support, sales = (
        Team.objects.create(organization=org, name="Support"),
        Team.objects.create(organization=org, name="Sales"),
    )
    conversation = open_conversation(org, team=support)

    response = _patch(agent_client, conversation, {"team": sales.pk})

    assert (response.status_code, response.json()["team"]) == (200, sales.pk)
    assert AuditLog.objects.get(action="conversation.assign").data == {"team": [support.pk, sales.pk]}


@pytest.mark.parametrize("who", ["marketing", "deactivated", "stranger", "missing"])
def test_the_assignee_must_be_an_active_inbox_member(who, org, other_org, admin_client):
    member = {
        "marketing": lambda: MembershipFactory(organization=org, role=Role.MARKETING).user_id,
        "deactivated": lambda: MembershipFactory(organization=org, role=Role.AGENT, is_active=False).user_id,
        "stranger": lambda: MembershipFactory(organization=other_org, role=Role.ADMIN).user_id,
        "missing": lambda: 10**9,
    }[who]()
    conversation = open_conversation(org)

    response = _patch(admin_client, conversation, {"assigned_to": member})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "assigned_to": ["Assign the conversation to an active admin or agent of this organization."]
    }
    conversation.refresh_from_db()
    assert conversation.assigned_to_id is None


def test_the_team_must_be_the_organizations(org, other_org, admin_client):
    conversation = open_conversation(org)
    foreign_team = Team.objects.create(organization=other_org, name="Theirs")

    response = _patch(admin_client, conversation, {"team": foreign_team.pk})

    assert (response.status_code, response.json()["errors"]) == (400, {"team": ["No such team in this organization."]})


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"non_field_errors": ["Give at least one of status, assigned_to, team."]}),
        ({"status": "archived"}, {"status": ['"archived" is not a valid choice.']}),
        ({"unread_count": 0}, {"unread_count": ["Unknown field."]}),
    ],
)
def test_bad_patches_are_a_400(body, errors, org, admin_client):
    conversation = open_conversation(org)

    response = _patch(admin_client, conversation, body)

    assert (response.status_code, response.json()["errors"]) == (400, errors)


# --- messages of a conversation ---------------------------------------------------------------------------


def test_messages_come_newest_first_in_before_limit_pages(org, agent_client):
    conversation = open_conversation(org)
    messages = [MessageFactory(organization=org, conversation=conversation) for _ in range(5)]
    MessageFactory(organization=org)  # another conversation

    first = agent_client.get(messages_url(conversation), {"limit": 2}).json()
    second = agent_client.get(first["next"]).json()
    third = agent_client.get(second["next"]).json()

    ids = [m.pk for m in reversed(messages)]
    assert [row["id"] for row in first["results"]] == ids[:2]
    assert first["next"].endswith(f"before={ids[1]}&limit=2")
    assert [row["id"] for row in second["results"]] == ids[2:4]
    assert ([row["id"] for row in third["results"]], third["next"]) == (ids[4:], None)


def test_a_message_shows_its_type_fields_reply_and_sender(org, agent_membership, agent_client):
    conversation = open_conversation(org)
    quoted = MessageFactory(organization=org, conversation=conversation, provider_message_id="wamid.QUOTED")
    location = {"latitude": 37.44, "longitude": -122.16, "name": "Philz Coffee", "address": "101 Forest Ave"}
    message = MessageFactory(
        organization=org,
        conversation=conversation,
        direction="outbound",
        type="location",
        text="Philz Coffee 101 Forest Ave",
        status="delivered",
        provider_message_id="wamid.LOCATION",
        payload={"type": "location", "location": location},
        reply_to_provider_id="wamid.QUOTED",
        sent_by=agent_membership.user,
    )

    [row, _] = agent_client.get(messages_url(conversation)).json()["results"]

    assert row == {
        "id": message.pk,
        "conversation_id": conversation.pk,
        "direction": "outbound",
        "type": "location",
        "text": "Philz Coffee 101 Forest Ave",
        "status": "delivered",
        "provider_message_id": "wamid.LOCATION",
        "error_code": None,
        "error_title": "",
        "timestamp": message.created_at.isoformat().replace("+00:00", "Z"),
        "reply_to": {"id": quoted.pk, "provider_message_id": "wamid.QUOTED"},
        "media": None,
        "sent_by": agent_membership.user_id,
        "sender_label": "",
        "created_at": message.created_at.isoformat().replace("+00:00", "Z"),
        "location": location,
    }


def test_a_message_failed_with_131047_explains_the_window(org, agent_client):
    conversation = open_conversation(org)
    MessageFactory(
        organization=org,
        conversation=conversation,
        direction="outbound",
        status="failed",
        error_code=131047,
        error_title="Re-engagement message",
    )

    [row] = agent_client.get(messages_url(conversation)).json()["results"]

    assert (row["error_code"], row["error_title"]) == (131047, WINDOW_CLOSED_DETAIL)


def test_the_messages_page_costs_the_same_queries_for_5_or_50_rows(org, agent_client):
    conversation = open_conversation(org)
    quoted = MessageFactory(organization=org, conversation=conversation)
    for _ in range(60):
        MessageFactory(organization=org, conversation=conversation, reply_to_provider_id=quoted.provider_message_id)

    counts = []
    for limit in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            agent_client.get(messages_url(conversation), {"limit": limit})
        counts.append(len(queries.captured_queries))

    assert counts[0] == counts[1]


@pytest.mark.parametrize("before", ["abc", "-1", "0.5"])
def test_a_bad_before_is_a_400(before, org, agent_client):
    conversation = open_conversation(org)

    response = agent_client.get(messages_url(conversation), {"before": before})

    assert (response.status_code, response.json()["errors"]) == (400, {"before": ["A message id."]})


# --- read ----------------------------------------------------------------------------------------------------


def test_reading_zeroes_the_unread_count_and_sends_metas_read_receipt(org, agent_client, fake_meta):
    conversation = open_conversation(org, unread_count=2)
    MessageFactory(organization=org, conversation=conversation, provider_message_id="wamid.FIRST")
    MessageFactory(organization=org, conversation=conversation, provider_message_id="wamid.LAST")
    MessageFactory(organization=org, conversation=conversation, direction="outbound", status="sent")

    response = committed(agent_client.post, f"{_detail(conversation)}/read")

    assert (response.status_code, response.json()["unread_count"]) == (200, 0)
    assert fake_meta.mark_reads() == [{"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.LAST"}]
    [request] = fake_meta.find_requests(method="POST", path_endswith="/messages")
    assert request.path.endswith(f"/{conversation.number.phone_number_id}/messages")
    conversation.refresh_from_db()
    assert conversation.unread_count == 0


def test_reading_a_read_conversation_sends_nothing(org, agent_client, fake_meta):
    conversation = open_conversation(org, unread_count=0)
    MessageFactory(organization=org, conversation=conversation)

    response = committed(agent_client.post, f"{_detail(conversation)}/read")

    assert response.status_code == 200
    assert fake_meta.requests == []


def test_a_failing_read_receipt_is_retried_then_given_up(org, agent_client, fake_meta):
    conversation = open_conversation(org, unread_count=1)
    MessageFactory(organization=org, conversation=conversation, provider_message_id="wamid.LAST")
    fake_meta.fail_next(131000, endpoint="mark_read", times=10)

    response = committed(agent_client.post, f"{_detail(conversation)}/read")

    assert response.status_code == 200
    assert len(fake_meta.find_requests(method="POST", path_endswith="/messages")) == 5


# --- start --------------------------------------------------------------------------------------------------

START = "/api/v1/conversations/start"
TEMPLATE = {
    "name": "order_update",
    "language": "en_US",
    "components": [{"type": "body", "parameters": [{"type": "text", "text": "Jessica"}]}],
}


def _start(client, body):
    return committed(client.post, START, body, format="json")


def test_starting_with_a_new_phone_creates_the_contact_and_sends_the_template(org, agent_client, fake_meta):
    number = cloud_number(org)

    response = _start(agent_client, {"phone": "+966 50 123 4567", "number_id": number.pk, "template": TEMPLATE})

    assert response.status_code == 201
    body = response.json()
    contact = Contact.objects.get()
    conversation = Conversation.objects.get()
    message = Message.objects.get()
    assert (contact.phone, contact.wa_id) == ("+966501234567", "966501234567")
    assert (conversation.contact_id, conversation.number_id) == (contact.pk, number.pk)
    assert body["conversation"]["id"] == conversation.pk
    assert body["conversation"]["contact"] == {
        "id": contact.pk,
        "name": "",
        "phone": "+966501234567",
        "wa_id": "966501234567",
    }
    assert (body["message"]["id"], body["message"]["type"]) == (message.pk, "template")
    assert fake_meta.sends() == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "+966501234567",
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Jessica"}]}],
            },
            "biz_opaque_callback_data": f"msg:{message.pk}",
        }
    ]
    message.refresh_from_db()
    assert message.status == "sent"


def test_starting_with_a_contact_reuses_its_conversation_on_that_number(org, agent_client, fake_meta):
    existing = ConversationFactory(organization=org, status="closed")

    response = _start(
        agent_client, {"contact_id": existing.contact_id, "number_id": existing.number_id, "template": TEMPLATE}
    )

    assert response.status_code == 201
    assert response.json()["conversation"]["id"] == existing.pk
    assert Conversation.objects.count() == 1
    assert len(fake_meta.sends()) == 1


def test_an_opted_out_contact_gets_no_template(org, agent_client, fake_meta):
    contact = ContactFactory(organization=org, opted_out=True)
    number = cloud_number(org)

    response = _start(agent_client, {"contact_id": contact.pk, "number_id": number.pk, "template": TEMPLATE})

    assert (response.status_code, response.json()["code"]) == (409, "opted_out")
    assert "opted out" in response.json()["detail"]
    assert Conversation.objects.count() == 0
    assert Message.objects.count() == 0
    assert fake_meta.requests == []


def test_start_refuses_other_organizations_contacts_and_numbers(org, other_org, agent_client, fake_meta):
    mine = cloud_number(org)
    foreign_contact = ContactFactory(organization=other_org)
    foreign_number = cloud_number(other_org)

    by_contact = _start(agent_client, {"contact_id": foreign_contact.pk, "number_id": mine.pk, "template": TEMPLATE})
    by_number = _start(agent_client, {"phone": "+966501234567", "number_id": foreign_number.pk, "template": TEMPLATE})

    assert by_contact.status_code == 404
    assert (by_number.status_code, by_number.json()["errors"]) == (
        400,
        {"number_id": ["No such WhatsApp number in this organization."]},
    )
    assert Contact.objects.filter(organization=org).count() == 0  # the new contact rolled back with the refusal
    assert Conversation.objects.count() == 0
    assert fake_meta.requests == []


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"number_id": 1, "template": TEMPLATE}, {"contact_id": ["Give contact_id or phone, one of them."]}),
        (
            {"contact_id": 1, "phone": "+966501234567", "number_id": 1, "template": TEMPLATE},
            {"contact_id": ["Give contact_id or phone, one of them."]},
        ),
        ({"phone": "+966501234567", "number_id": 1}, {"template": ["This field is required."]}),
        (
            {"phone": "12", "number_id": 0, "template": TEMPLATE},
            {"number_id": ["Ensure this value is greater than or equal to 1."]},
        ),
    ],
)
def test_bad_starts_are_a_400(body, errors, org, agent_client):
    response = _start(agent_client, body)

    assert (response.status_code, response.json()["errors"]) == (400, errors)


def test_an_invalid_phone_is_a_400(org, agent_client, fake_meta):
    number = cloud_number(org)

    response = _start(agent_client, {"phone": "12", "number_id": number.pk, "template": TEMPLATE})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["phone"]
    assert Contact.objects.count() == 0
