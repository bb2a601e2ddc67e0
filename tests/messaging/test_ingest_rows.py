"""The ingest's statements of many rows (messaging/services/ingest/rows.py): rows in order, values as the ORM would
store them (times, JSON, NULLs, any text), defaults and constants, conflicts skipped or updated, long values refused,
updates by primary key, and instances equal to the rows read back."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DataError, connection, transaction
from django.forms.models import model_to_dict

from messaging.models import Contact, Conversation, Message
from messaging.services.ingest import rows
from tests.messaging.factories import ContactFactory, ConversationFactory

AT = datetime(2025, 6, 15, 10, 30, 1, 123456, tzinfo=UTC)
TEXT = "Ça va? 'quoted' \"double\" back\\slash %s %(x)s \u062a\u0648\u0642\u0641 \U0001f600"
MESSAGE_FIELDS = ("conversation_id", "direction", "text", "payload", "provider_message_id", "referral")


def _message_rows(conversation: Conversation, *wamids: str) -> list[tuple]:
    return [(conversation.pk, "inbound", TEXT, {"id": wamid, "n": [1, None]}, wamid, None) for wamid in wamids]


def _insert_messages(conversation: Conversation, *wamids: str, **kwargs) -> list[tuple]:
    return rows.insert(
        Message,
        MESSAGE_FIELDS,
        _message_rows(conversation, *wamids),
        constants={"organization_id": conversation.organization_id, "provider_timestamp": AT},
        conflict=["organization", "provider_message_id"],
        returning=["provider_message_id", "id"],
        **kwargs,
    )


@pytest.mark.django_db
def test_rows_are_inserted_in_their_order_with_the_values_the_orm_would_store(org):
    conversation = ConversationFactory(organization=org)

    returned = _insert_messages(conversation, "wamid.B", "wamid.A", "wamid.C")

    assert [wamid for wamid, _ in returned] == ["wamid.B", "wamid.A", "wamid.C"]
    assert [pk for _, pk in returned] == sorted(pk for _, pk in returned)
    message = Message.objects.get(provider_message_id="wamid.A")
    assert (message.text, message.payload, message.referral) == (TEXT, {"id": "wamid.A", "n": [1, None]}, None)
    assert Message.objects.filter(referral__isnull=True).count() == 3  # None is SQL NULL, not JSON null
    assert (message.provider_timestamp, message.status, message.type, message.error_title) == (AT, "queued", "text", "")
    assert (message.attempts, message.error_code, message.sent_by_id) == (0, None, None)
    assert abs(message.created_at - datetime.now(UTC)) < timedelta(minutes=1)  # the default, once per statement
    assert len({m.created_at for m in Message.objects.all()}) == 1


@pytest.mark.django_db
def test_a_row_that_conflicts_is_skipped_and_not_returned(org):
    conversation = ConversationFactory(organization=org)
    [(_, first)] = _insert_messages(conversation, "wamid.A")

    returned = _insert_messages(conversation, "wamid.A", "wamid.B")

    assert [wamid for wamid, _ in returned] == ["wamid.B"]
    assert Message.objects.get(provider_message_id="wamid.A").pk == first
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_an_upsert_updates_the_given_fields_of_the_row_it_meets_and_returns_both(org):
    known = ContactFactory(organization=org, wa_id="15550001", name="Ours", profile_name="Old", user_id="U1")
    later = AT + timedelta(days=1)

    returned = rows.insert(
        Contact,
        ["wa_id", "profile_name", "last_inbound_at"],
        [("15550001", "New", later), ("15550002", "Fresh", AT)],
        constants={"organization_id": org.pk},
        conflict=["organization", "wa_id"],
        update=["profile_name", "last_inbound_at"],
        returning=["wa_id", "id"],
    )

    fresh = Contact.objects.get(wa_id="15550002")
    assert dict(returned) == {"15550001": known.pk, "15550002": fresh.pk}
    known.refresh_from_db()
    assert (known.name, known.profile_name, known.user_id, known.last_inbound_at) == ("Ours", "New", "U1", later)
    assert (fresh.name, fresh.profile_name, fresh.attributes, fresh.opted_out, fresh.is_active) == (
        "",
        "Fresh",
        {},
        False,
        True,
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps a value of any length, from the ORM too")
@pytest.mark.django_db
def test_a_value_too_long_for_its_column_is_refused_not_cut(org):
    conversation = ConversationFactory(organization=org)

    with pytest.raises(DataError), transaction.atomic():
        _insert_messages(conversation, "w" * 256)

    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_update_sets_the_given_fields_of_each_row_by_primary_key(org):
    first, second = ConversationFactory(organization=org), ConversationFactory(organization=org, status="pending")

    rows.update(
        Conversation,
        ["id", "unread_count", "last_inbound_at", "last_message_preview"],
        [(first.pk, 3, AT, TEXT[:200]), (second.pk, 0, None, "")],
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.unread_count, first.last_inbound_at, first.last_message_preview, first.status) == (
        3,
        AT,
        TEXT[:200],
        "open",
    )
    assert (second.unread_count, second.last_inbound_at, second.status) == (0, None, "pending")


@pytest.mark.django_db
def test_instances_hold_what_the_rows_read_back_hold(org):
    conversation = ConversationFactory(organization=org)
    constants = {"organization_id": org.pk, "provider_timestamp": AT, "created_at": AT}
    values = _message_rows(conversation, "wamid.A", "wamid.B")
    returned = rows.insert(Message, MESSAGE_FIELDS, values, constants=constants, returning=["id"])
    built = rows.instances(
        Message,
        ("id", *MESSAGE_FIELDS),
        [(pk, *row) for (pk,), row in zip(returned, values, strict=True)],
        constants=constants,
    )

    assert [model_to_dict(m) for m in built] == [model_to_dict(m) for m in Message.objects.order_by("id")]
    assert [(m._state.adding, m._state.db) for m in built] == [(False, "default"), (False, "default")]
    contacts = rows.instances(Contact, ("id", "wa_id"), [(1, "1"), (2, "2")])
    assert contacts[0].attributes == {} and contacts[0].attributes is not contacts[1].attributes
