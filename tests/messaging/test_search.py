"""GET messages/search?q=: full text across the organization (PostgreSQL, served by the GIN index of migration
0002; a simple containment search on SQLite), newest first, in before/limit pages."""

import pytest
from django.db import connection

from messaging.models import Message
from messaging.selectors.conversations import message_search
from tests.messaging.factories import ContactFactory, ConversationFactory, MessageFactory

SEARCH = "/api/v1/messages/search"
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search")


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_it_finds_messages_of_the_organization_newest_first(org, other_org, agent_client):
    conversation = ConversationFactory(organization=org, contact=ContactFactory(organization=org, name="Raj Kumar"))
    older = MessageFactory(organization=org, conversation=conversation, text="Where is my ORDER?")
    MessageFactory(organization=org, conversation=conversation, text="Thanks a lot")
    newer = MessageFactory(organization=org, text="Your order shipped", direction="outbound", status="sent")
    MessageFactory(organization=other_org, text="order for another tenant")

    response = agent_client.get(SEARCH, {"q": "order"})

    assert _ids(response) == [newer.pk, older.pk]
    row = response.json()["results"][1]
    assert {key: row[key] for key in ("conversation_id", "contact_id", "contact_name", "text", "direction")} == {
        "conversation_id": conversation.pk,
        "contact_id": conversation.contact_id,
        "contact_name": "Raj Kumar",
        "text": "Where is my ORDER?",
        "direction": "inbound",
    }


def test_arabic_text_is_found(org, agent_client):
    message = MessageFactory(organization=org, text="مرحبا، أين طلبي؟")

    assert _ids(agent_client.get(SEARCH, {"q": "طلبي"})) == [message.pk]


def test_results_come_in_before_limit_pages(org, agent_client):
    messages = [MessageFactory(organization=org, text=f"invoice number {i}") for i in range(5)]

    first = agent_client.get(SEARCH, {"q": "invoice", "limit": 3}).json()
    second = agent_client.get(first["next"]).json()

    assert [row["id"] for row in first["results"]] + [row["id"] for row in second["results"]] == [
        m.pk for m in reversed(messages)
    ]
    assert "q=invoice" in first["next"]
    assert second["next"] is None


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}])
def test_a_query_is_required(params, agent_client):
    response = agent_client.get(SEARCH, params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["q"]


def test_search_is_for_the_inbox_roles(org, marketing_client):
    MessageFactory(organization=org, text="order")

    assert marketing_client.get(SEARCH, {"q": "order"}).status_code == 403


@postgres_only
def test_web_search_syntax_on_postgresql(org, agent_client):
    both = MessageFactory(organization=org, text="refund for the blue shirt")
    refund = MessageFactory(organization=org, text="refund please")
    blue = MessageFactory(organization=org, text="the shirt is blue")

    assert _ids(agent_client.get(SEARCH, {"q": "refund -shirt"})) == [refund.pk]
    assert _ids(agent_client.get(SEARCH, {"q": '"blue shirt"'})) == [both.pk]
    assert _ids(agent_client.get(SEARCH, {"q": "please or blue"})) == [blue.pk, refund.pk, both.pk]


@postgres_only
def test_the_gin_index_serves_the_search(org):
    conversation = ConversationFactory(organization=org)
    Message.objects.bulk_create(
        Message(organization=org, conversation=conversation, direction="inbound", text=f"filler message {i}")
        for i in range(3000)
    )
    MessageFactory(organization=org, conversation=conversation, text="hello world")
    # A page as the API asks for it: newest first, one more row than the page.
    page = message_search(org=org, query="hello").order_by("-id")[:51]
    sql, params = page.query.sql_with_params()

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "messaging_msg_text_fts" in plan, plan
