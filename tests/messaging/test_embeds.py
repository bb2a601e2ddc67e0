"""Inbox embeds: the API (admins), the token limited to its scope, read-only refusing writes, replies, the
frame-ancestors of the allowed origins, expiry and revocation ending access at the next request."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditLog, Team
from messaging.models import InboxEmbed, Message, Provider
from messaging.services import embeds as services
from tests.conftest import signed_in
from tests.messaging.embeds_support import ORIGIN, embed
from tests.messaging.factories import ConversationFactory, MessageFactory, WhatsAppNumberFactory

API = "/api/v1/embeds/"


def csp_directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def path_of(embed_row, conversation=None) -> str:
    token = services.embed_token(embed_row)
    return f"/embed/{token}/" + (f"conversations/{conversation.pk}/" if conversation else "")


@pytest.fixture
def numbers(org):
    return (
        WhatsAppNumberFactory(organization=org, provider=Provider.SANDBOX, display_name="Support"),
        WhatsAppNumberFactory(organization=org, display_name="Sales"),
    )


def open_conversation(number, **fields):
    return ConversationFactory(
        organization=number.organization, number=number, last_inbound_at=timezone.now(), **fields
    )


# --- API -----------------------------------------------------------------------------------------------------------


def test_admin_creates_an_embed_and_gets_its_iframe_url(admin_client, org, numbers):
    team = Team.objects.create(organization=org, name="Tier 2")
    body = {
        "name": "Helpdesk",
        "mode": "reply",
        "number_ids": [numbers[0].pk],
        "team_ids": [team.pk],
        "allowed_origins": ["https://crm.example.com/", "https://crm.example.com", "http://localhost:8080"],
    }
    r = admin_client.post(API, body, format="json")
    assert r.status_code == 201, r.content
    data = r.json()
    row = InboxEmbed.objects.get()
    assert (data["number_ids"], data["team_ids"], data["active"]) == ([numbers[0].pk], [team.pk], True)
    assert data["allowed_origins"] == ["https://crm.example.com", "http://localhost:8080"]
    assert data["url"] == f"http://testserver/embed/{services.embed_token(row)}/"
    assert AuditLog.objects.filter(organization=org, action="inbox_embed.create").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"allowed_origins": ["https://crm.example.com/path"]}, "allowed_origins"),
        ({"allowed_origins": ["javascript:alert(1)"]}, "allowed_origins"),
        ({"allowed_origins": ["*"]}, "allowed_origins"),
        ({"allowed_origins": []}, "allowed_origins"),
        ({"number_ids": []}, "number_ids"),
        ({"number_ids": [999999]}, "number_ids"),
        ({"team_ids": [999999]}, "team_ids"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"mode": "admin"}, "mode"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(admin_client, numbers, change, field):
    body = {"name": "x", "mode": "read_only", "number_ids": [numbers[0].pk], "allowed_origins": [ORIGIN], **change}
    r = admin_client.post(API, body, format="json")
    assert r.status_code == 400, r.content
    assert list(r.json()["errors"]) == [field]
    assert InboxEmbed.objects.count() == 0


def test_another_organizations_number_is_refused(admin_client, other_org):
    elsewhere = WhatsAppNumberFactory(organization=other_org)
    body = {"name": "x", "mode": "read_only", "number_ids": [elsewhere.pk], "allowed_origins": [ORIGIN]}
    assert admin_client.post(API, body, format="json").status_code == 400
    assert InboxEmbed.objects.count() == 0


def test_agents_cannot_list_or_create(agent_client, org, numbers):
    embed(org, numbers=[numbers[0]])
    assert agent_client.get(API).status_code == 403
    body = {"name": "x", "mode": "reply", "number_ids": [numbers[0].pk], "allowed_origins": [ORIGIN]}
    assert agent_client.post(API, body, format="json").status_code == 403
    assert InboxEmbed.objects.count() == 1


# --- the embed: scope ----------------------------------------------------------------------------------------------


def test_the_embed_shows_only_its_numbers_conversations_framed_by_its_origins(client, org, numbers):
    row = embed(org, numbers=[numbers[0]], allowed_origins=[ORIGIN, "http://127.0.0.1:9000"])
    inside = open_conversation(numbers[0])
    outside = open_conversation(numbers[1])
    r = client.get(path_of(row))
    html = r.content.decode()
    assert r.status_code == 200
    assert f"/conversations/{inside.pk}/" in html and f"/conversations/{outside.pk}/" not in html
    assert csp_directives(r)["frame-ancestors"] == f"{ORIGIN} http://127.0.0.1:9000"
    assert "X-Frame-Options" not in r
    # The hub's other pages keep refusing every frame.
    other = client.get("/sign-in/")
    assert (csp_directives(other)["frame-ancestors"], other["X-Frame-Options"]) == ("'none'", "DENY")


def test_a_conversation_outside_the_scope_is_a_404(client, org, other_org, numbers):
    row = embed(org, numbers=[numbers[0]])
    MessageFactory(organization=org, conversation=open_conversation(numbers[1]), text="Secret of Sales")
    outside = Message.objects.get().conversation
    elsewhere = ConversationFactory(organization=other_org)
    for conversation in (outside, elsewhere):
        r = client.get(path_of(row, conversation))
        assert r.status_code == 404
        assert "Secret of Sales" not in r.content.decode()
    assert client.get(path_of(row).replace("/embed/", "/embed/") + "conversations/" + "9" * 20 + "/").status_code == 404


def test_a_team_scope_shows_the_teams_conversations_and_its_numbers(client, org, numbers):
    team = Team.objects.create(organization=org, name="Tier 2")
    of_team = open_conversation(numbers[1], team=team)
    numbers[0].assigned_team = team
    numbers[0].save(update_fields=["assigned_team"])
    on_team_number = open_conversation(numbers[0])
    other = open_conversation(WhatsAppNumberFactory(organization=org))
    row = embed(org, numbers=[], teams=[team])
    html = client.get(path_of(row)).content.decode()
    assert f"/conversations/{of_team.pk}/" in html and f"/conversations/{on_team_number.pk}/" in html
    assert f"/conversations/{other.pk}/" not in html


@pytest.mark.parametrize("token", ["nonsense", "eyJlIjoxLCJrIjoieCJ9:forged:signature"])
def test_a_bad_token_is_a_404(client, token):
    assert client.get(f"/embed/{token}/").status_code == 404


def test_a_token_with_another_key_is_a_404(client, org, numbers):
    row = embed(org, numbers=[numbers[0]])
    token = path_of(row)
    InboxEmbed.objects.filter(pk=row.pk).update(key="0" * 32)
    assert client.get(token).status_code == 404


# --- read only, reply ----------------------------------------------------------------------------------------------


def test_read_only_hides_the_composer_and_refuses_a_post(client, org, numbers):
    row = embed(org, numbers=[numbers[0]])
    conversation = open_conversation(numbers[0])
    html = client.get(path_of(row, conversation)).content.decode()
    assert 'name="text"' not in html
    r = client.post(path_of(row, conversation), {"text": "Hello"})
    assert r.status_code == 403
    assert "This embed is read only: it cannot send." in r.content.decode()
    assert Message.objects.count() == 0


def test_reply_mode_sends_signed_with_the_embed_name(client, org, numbers):
    row = embed(org, numbers=[numbers[0]], mode=InboxEmbed.Mode.REPLY, name="Helpdesk")
    conversation = open_conversation(numbers[0])
    assert 'name="text"' in client.get(path_of(row, conversation)).content.decode()
    r = client.post(path_of(row, conversation) + "?lang=ar", {"text": "On our way"})
    assert (r.status_code, r["Location"]) == (302, path_of(row, conversation) + "?lang=ar")
    message = Message.objects.get()
    assert (message.conversation, message.text, message.sender_label, message.sent_by) == (
        conversation,
        "On our way",
        "Helpdesk",
        None,
    )


def test_reply_mode_refuses_a_conversation_outside_the_scope(client, org, numbers):
    row = embed(org, numbers=[numbers[0]], mode=InboxEmbed.Mode.REPLY)
    outside = open_conversation(numbers[1])
    assert client.post(path_of(row, outside), {"text": "Hi"}).status_code == 404
    assert Message.objects.count() == 0


# --- expiry, revocation --------------------------------------------------------------------------------------------


def test_expiry_ends_access(client, org, numbers, time_machine):
    row = embed(org, numbers=[numbers[0]], expires_at=timezone.now() + timedelta(hours=1))
    assert client.get(path_of(row)).status_code == 200
    time_machine.move_to(timezone.now() + timedelta(hours=1, seconds=1))
    assert client.get(path_of(row)).status_code == 404


def test_revoking_ends_an_open_embed_at_its_next_request(client, admin_client, org, numbers):
    row = embed(org, numbers=[numbers[0]], mode=InboxEmbed.Mode.REPLY)
    conversation = open_conversation(numbers[0])
    assert client.get(path_of(row, conversation)).status_code == 200
    r = admin_client.post(f"{API}{row.pk}/revoke/")
    assert (r.status_code, r.json()["active"]) == (200, False)
    assert client.get(path_of(row, conversation)).status_code == 404
    assert client.post(path_of(row, conversation), {"text": "late"}).status_code == 404
    assert Message.objects.count() == 0
    assert AuditLog.objects.filter(action="inbox_embed.revoke").count() == 1


def test_settings_page_creates_and_revokes(admin_membership, org, numbers):
    admin = signed_in(admin_membership)
    assert "No embeds yet" in admin.get("/settings/embeds/").content.decode()
    r = admin.post(
        "/settings/embeds/new/",
        {"name": "CRM", "number_ids": [numbers[0].pk], "mode": "read_only", "allowed_origins": ORIGIN},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    row = InboxEmbed.objects.get()
    html = admin.get("/settings/embeds/").content.decode()
    assert f"http://testserver{path_of(row)}" in html
    assert admin.post(f"/settings/embeds/{row.pk}/revoke/").status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None
