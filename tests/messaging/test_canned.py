"""Canned responses API: create, read, update, delete, search, placeholders filled in for a conversation, attachments
sent as media with the text as caption, roles, tenancy."""

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditLog, Role
from messaging.models import CannedResponse, Media
from messaging.services import canned as services
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.factories import CannedResponseFactory, ContactFactory, MediaFactory, MessageFactory
from tests.messaging.inbox_support import api_key_client, open_conversation, send

LIST_URL = "/api/v1/canned-responses"


def detail_url(canned) -> str:
    return f"/api/v1/canned-responses/{canned.pk}"


def errors_of(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


@pytest.fixture
def upload(org):
    """A photo uploaded with POST media/, not sent yet."""
    return MediaFactory(organization=org, mime_type="image/jpeg", filename="price-list.jpg")


# --- create ------------------------------------------------------------------------------------------------------


def test_an_admin_creates_a_canned_response(org, admin_membership, time_machine):
    time_machine.move_to(datetime(2026, 3, 1, 10, 0, tzinfo=UTC), tick=False)
    client = client_for(admin_membership)
    body = {"shortcut": " /Price ", "title": "Prices", "text": "Hi {{contact.first_name}}, our prices: …\n"}

    response = client.post(LIST_URL, body, format="json")

    assert response.status_code == 201
    canned = CannedResponse.objects.get()
    assert response.json() == {
        "id": canned.pk,
        "shortcut": "price",
        "title": "Prices",
        "text": "Hi {{contact.first_name}}, our prices: …",
        "attachment": None,
        "rendered_text": None,
        "created_by": admin_membership.user_id,
        "created_at": "2026-03-01T10:00:00Z",
        "updated_at": "2026-03-01T10:00:00Z",
    }
    assert (canned.organization_id, canned.created_by_id) == (org.pk, admin_membership.user_id)
    [entry] = AuditLog.objects.filter(action="canned_response.create")
    assert (entry.actor_id, entry.target_id) == (admin_membership.user_id, str(canned.pk))


def test_a_shortcut_may_be_arabic_and_is_kept_lower_case(admin_client):
    response = admin_client.post(LIST_URL, {"shortcut": "سعر", "text": "الأسعار"}, format="json")

    assert response.status_code == 201
    assert response.json()["shortcut"] == "سعر"


def test_a_shortcut_the_organization_has_already_is_a_clear_400(org, admin_client):
    CannedResponseFactory(organization=org, shortcut="price")

    response = admin_client.post(LIST_URL, {"shortcut": "/PRICE", "text": "Again"}, format="json")

    assert errors_of(response) == {"shortcut": ["There is already a canned response /price: choose another shortcut."]}
    assert CannedResponse.objects.count() == 1


def test_another_organization_may_use_the_same_shortcut(other_org, admin_client):
    CannedResponseFactory(organization=other_org, shortcut="price")

    response = admin_client.post(LIST_URL, {"shortcut": "price", "text": "Ours"}, format="json")

    assert response.status_code == 201


@pytest.mark.parametrize("shortcut", ["", "/", "two words", "price!", "a" * 33, "😀", "price/list"])
def test_a_shortcut_that_cannot_follow_a_slash_is_refused(shortcut, admin_client):
    response = admin_client.post(LIST_URL, {"shortcut": shortcut, "text": "Hi"}, format="json")

    errors = errors_of(response)
    assert list(errors) == ["shortcut"]
    if shortcut:  # the serializer names a blank field itself
        assert errors["shortcut"] == [
            "A shortcut is 1 to 32 letters, digits, _ or - with no spaces (typed after /, e.g. price)."
        ]
    assert CannedResponse.objects.count() == 0


def test_a_shortcut_of_32_characters_is_taken(admin_client):
    response = admin_client.post(LIST_URL, {"shortcut": "a_b-" * 8, "text": "Hi"}, format="json")

    assert response.status_code == 201


def test_the_text_is_required_without_an_attachment(admin_client):
    response = admin_client.post(LIST_URL, {"shortcut": "empty", "text": "  \n "}, format="json")

    assert errors_of(response) == {"text": ["Write the text of the response (or attach a file)."]}


def test_the_text_is_at_most_whatsapps_4096_characters(admin_client):
    assert admin_client.post(LIST_URL, {"shortcut": "long", "text": "é" * 4096}, format="json").status_code == 201

    response = admin_client.post(LIST_URL, {"shortcut": "longer", "text": "x" * 4097}, format="json")

    assert list(errors_of(response)) == ["text"]


def test_with_an_attachment_the_text_is_a_caption_of_at_most_1024_characters(upload, admin_client):
    body = {"shortcut": "menu", "text": "😀" * 1025, "attachment_id": upload.pk}

    response = admin_client.post(LIST_URL, body, format="json")

    assert errors_of(response) == {
        "text": ["With an attachment the text is its caption: at most 1024 characters (this one has 1025)."]
    }


def test_an_unknown_placeholder_is_refused_naming_the_known_ones(admin_client):
    body = {"shortcut": "typo", "text": "Hi {{contact.nmae}} and {{ order.id }}"}

    response = admin_client.post(LIST_URL, body, format="json")

    assert errors_of(response) == {
        "text": [
            "Unknown placeholder {{contact.nmae}}, {{order.id}}: the placeholders are {{contact.name}}, "
            "{{contact.first_name}}, {{contact.phone}}, {{agent.name}}."
        ]
    }


def test_unknown_fields_are_refused(admin_client):
    response = admin_client.post(LIST_URL, {"shortcut": "x", "text": "Hi", "body": "Hi"}, format="json")

    assert errors_of(response) == {"body": ["Unknown field."]}


# --- attachments ---------------------------------------------------------------------------------------------------


def test_an_upload_of_the_organization_becomes_the_attachment(upload, admin_client):
    body = {"shortcut": "menu", "text": "Our menu", "attachment_id": upload.pk}

    response = admin_client.post(LIST_URL, body, format="json")

    assert response.status_code == 201
    attachment = response.json()["attachment"]
    assert attachment == {
        "id": upload.pk,
        "mime_type": "image/jpeg",
        "size": upload.size,
        "filename": "price-list.jpg",
        "status": "ready",
        "url": f"http://testserver/api/v1/media/{upload.pk}/content",
        "created_at": upload.created_at.isoformat().replace("+00:00", "Z"),
        "message_type": "image",
    }


def test_an_attachment_may_stand_without_text(upload, admin_client):
    response = admin_client.post(LIST_URL, {"shortcut": "menu", "attachment_id": upload.pk}, format="json")

    assert response.status_code == 201
    assert response.json()["text"] == ""


def test_another_organizations_upload_is_no_attachment(other_org, admin_client):
    foreign = MediaFactory(organization=other_org)

    response = admin_client.post(LIST_URL, {"shortcut": "menu", "attachment_id": foreign.pk}, format="json")

    assert errors_of(response) == {
        "attachment_id": ["No such uploaded media in this organization (upload it with POST media/ first)."]
    }


def test_a_customers_file_is_no_attachment(org, admin_client):
    received = MediaFactory(organization=org, message=MessageFactory(organization=org, type="image"))

    response = admin_client.post(LIST_URL, {"shortcut": "menu", "attachment_id": received.pk}, format="json")

    assert list(errors_of(response)) == ["attachment_id"]


@pytest.mark.parametrize(("mime", "filename"), [("audio/ogg", "voice.ogg"), ("image/webp", "sticker.webp")])
def test_a_file_that_carries_no_caption_is_no_attachment(mime, filename, org, admin_client):
    media = MediaFactory(organization=org, mime_type=mime, filename=filename)

    response = admin_client.post(LIST_URL, {"shortcut": "menu", "attachment_id": media.pk}, format="json")

    assert errors_of(response) == {
        "attachment_id": [
            "Attach a photo (JPEG, PNG), a video (MP4, 3GPP) or a document (PDF, Word, Excel, PowerPoint, text): "
            "WhatsApp sends it with the text as its caption."
        ]
    }


def test_a_file_is_stored_as_the_attachment_by_the_service(org, admin_membership):
    file = SimpleUploadedFile("C:\\docs\\price list.pdf", b"%PDF-1.4 prices", content_type="application/pdf")

    canned = services.canned_response_create(
        organization=org, actor=admin_membership.user, shortcut="prices", text="Prices", attachment_file=file
    )

    media = canned.attachment
    assert (media.organization_id, media.message_id, media.mime_type, media.filename, media.status) == (
        org.pk,
        None,
        "application/pdf",
        "price list.pdf",
        "ready",
    )
    assert media.file.read() == b"%PDF-1.4 prices"


def test_sending_an_attachment_copies_it_and_it_stays_the_responses(org, agent_client, conversation, fake_meta):
    upload = MediaFactory(organization=org, mime_type="image/jpeg", filename="menu.jpg")
    canned = CannedResponseFactory(organization=org, shortcut="menu", text="Our menu", attachment=upload)
    body = {"type": "image", "media_id": upload.pk, "caption": "Our menu"}

    first, second = send(agent_client, conversation, body), send(agent_client, conversation, body)

    assert (first.status_code, second.status_code) == (202, 202)
    sent = Media.objects.filter(message__isnull=False).order_by("message_id")
    assert [media.message_id for media in sent] == [first.json()["id"], second.json()["id"]]
    assert {media.file.name for media in sent} == {upload.file.name}
    upload.refresh_from_db()
    canned.refresh_from_db()
    assert (upload.message_id, canned.attachment_id) == (None, upload.pk)
    assert [send["image"]["caption"] for send in fake_meta.sends(type="image")] == ["Our menu", "Our menu"]


# --- read and search -------------------------------------------------------------------------------------------------


@pytest.fixture
def library(org):
    CannedResponseFactory(organization=org, shortcut="surprise", title="A gift", text="Surprise!")
    CannedResponseFactory(organization=org, shortcut="price", title="Prices", text="Our prices")
    CannedResponseFactory(organization=org, shortcut="hours", title="Opening hours", text="We open at 9; see prices")
    CannedResponseFactory(organization=org, shortcut="bye", title="Goodbye", text="Bye")


def shortcuts(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["shortcut"] for row in response.json()["results"]]


def test_the_list_is_by_shortcut(library, agent_client):
    assert shortcuts(agent_client.get(LIST_URL)) == ["bye", "hours", "price", "surprise"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("pri", ["price", "hours", "surprise"]),  # shortcuts starting with it first
        ("/pri", ["price", "hours", "surprise"]),
        ("GIFT", ["surprise"]),  # the title
        ("open at", ["hours"]),  # the text
        ("nothing", []),
    ],
)
def test_q_searches_shortcut_title_and_text(q, expected, library, agent_client):
    assert shortcuts(agent_client.get(LIST_URL, {"q": q})) == expected


def test_the_list_costs_the_same_queries_whatever_its_length(org, admin_client, django_assert_num_queries):
    for n in range(30):
        CannedResponseFactory(organization=org, attachment=MediaFactory(organization=org) if n % 2 else None)

    # user and membership (auth), count, page with the attachments
    with django_assert_num_queries(4):
        response = admin_client.get(LIST_URL, {"page_size": 30})

    assert len(response.json()["results"]) == 30


def test_every_member_reads_them(org, marketing_client):
    canned = CannedResponseFactory(organization=org)

    assert shortcuts(marketing_client.get(LIST_URL)) == [canned.shortcut]
    assert marketing_client.get(detail_url(canned)).json()["shortcut"] == canned.shortcut


def test_another_organizations_response_is_a_404_and_never_listed(other_org, admin_client):
    foreign = CannedResponseFactory(organization=other_org)

    assert admin_client.get(detail_url(foreign)).status_code == 404
    assert admin_client.patch(detail_url(foreign), {"text": "Mine now"}, format="json").status_code == 404
    assert admin_client.delete(detail_url(foreign)).status_code == 404
    assert shortcuts(admin_client.get(LIST_URL)) == []
    foreign.refresh_from_db()
    assert foreign.text == "Hello {{contact.first_name}}, this is {{agent.name}}."


# --- placeholders ------------------------------------------------------------------------------------------------


def test_the_placeholders_are_filled_in_for_a_conversation_and_the_agent(org):
    contact = ContactFactory(organization=org, name="Sara Al-Harbi", phone="+966501234567")
    agent = UserFactory(name="Omar")
    text = "{{contact.name}} / {{ contact.first_name }} / {{contact.phone}} / {{Agent.Name}} / {{other}}"

    rendered = services.canned_text_render(text=text, contact=contact, agent=agent)

    assert rendered == "Sara Al-Harbi / Sara / +966501234567 / Omar / {{other}}"


def test_a_contact_without_a_name_gets_their_profile_name_or_nothing(org):
    profile = ContactFactory(organization=org, name="", profile_name="sara 🌸")
    nameless = ContactFactory(organization=org, name="", profile_name="", phone="", wa_id="966500000001")
    text = "Hi {{contact.first_name}} ({{contact.name}}, {{contact.phone}}) from {{agent.name}}"

    assert services.canned_text_render(text=text, contact=profile, agent=None) == (
        f"Hi sara (sara 🌸, {profile.phone}) from "
    )
    assert services.canned_text_render(text=text, contact=nameless, agent=None) == "Hi  (, +966500000001) from "


def test_the_list_renders_each_text_for_the_conversation_given(org, agent_membership):
    conversation = open_conversation(org, contact=ContactFactory(organization=org, name="Sara Al-Harbi"))
    CannedResponseFactory(organization=org, shortcut="hello", text="Hello {{contact.first_name}}, I'm {{agent.name}}.")
    CannedResponseFactory(organization=org, shortcut="plain", text="No placeholders")
    client = client_for(agent_membership)

    response = client.get(LIST_URL, {"conversation_id": conversation.pk, "q": "/"})

    rows = {row["shortcut"]: row for row in response.json()["results"]}
    assert rows["hello"]["rendered_text"] == f"Hello Sara, I'm {agent_membership.user.name}."
    assert rows["hello"]["text"] == "Hello {{contact.first_name}}, I'm {{agent.name}}."
    assert rows["plain"]["rendered_text"] == "No placeholders"


def test_one_response_renders_for_a_conversation_too(org, agent_client):
    conversation = open_conversation(org, contact=ContactFactory(organization=org, name="Lina"))
    canned = CannedResponseFactory(organization=org, text="Hi {{contact.name}}")

    response = agent_client.get(detail_url(canned), {"conversation_id": conversation.pk})

    assert response.json()["rendered_text"] == "Hi Lina"


def test_an_api_key_is_nobody_so_agent_name_is_empty(org):
    conversation = open_conversation(org, contact=ContactFactory(organization=org, name="Lina"))
    canned = CannedResponseFactory(organization=org, text="{{contact.name}}, {{agent.name}}")

    response = api_key_client(org).get(detail_url(canned), {"conversation_id": conversation.pk})

    assert response.json()["rendered_text"] == "Lina, "


def test_another_organizations_conversation_is_a_400_naming_it(org, other_org, admin_client):
    CannedResponseFactory(organization=org)
    foreign = open_conversation(other_org)

    response = admin_client.get(LIST_URL, {"conversation_id": foreign.pk})

    assert errors_of(response) == {"conversation_id": ["No such conversation in this organization."]}


def test_a_conversation_on_a_number_hidden_from_the_agent_is_a_400(org, agent_client):
    CannedResponseFactory(organization=org)
    someone = MembershipFactory(organization=org, role=Role.AGENT)
    hidden = open_conversation(org, number__assigned_user=someone.user)

    response = agent_client.get(LIST_URL, {"conversation_id": hidden.pk})

    assert errors_of(response) == {"conversation_id": ["No such conversation in this organization."]}


def test_marketing_may_not_render_for_a_conversation(org, marketing_client):
    conversation = open_conversation(org)

    response = marketing_client.get(LIST_URL, {"conversation_id": conversation.pk})

    assert response.status_code == 403


# --- update and delete -----------------------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(org, admin_client):
    canned = CannedResponseFactory(organization=org, shortcut="price", title="Prices", text="Old")

    response = admin_client.patch(detail_url(canned), {"text": "New {{contact.name}}"}, format="json")

    assert response.status_code == 200
    canned.refresh_from_db()
    assert (canned.shortcut, canned.title, canned.text) == ("price", "Prices", "New {{contact.name}}")
    assert AuditLog.objects.filter(action="canned_response.update", target_id=str(canned.pk)).count() == 1


def test_renaming_to_a_shortcut_taken_is_refused(org, admin_client):
    CannedResponseFactory(organization=org, shortcut="price")
    canned = CannedResponseFactory(organization=org, shortcut="prices")

    response = admin_client.put(detail_url(canned), {"shortcut": "Price"}, format="json")

    assert errors_of(response) == {"shortcut": ["There is already a canned response /price: choose another shortcut."]}
    canned.refresh_from_db()
    assert canned.shortcut == "prices"


def test_keeping_its_own_shortcut_is_no_conflict(org, admin_client):
    canned = CannedResponseFactory(organization=org, shortcut="price")

    response = admin_client.patch(detail_url(canned), {"shortcut": "price", "title": "Prices"}, format="json")

    assert response.status_code == 200


def test_an_attachment_is_added_then_removed(org, upload, admin_client):
    canned = CannedResponseFactory(organization=org, text="Our menu")

    added = admin_client.patch(detail_url(canned), {"attachment_id": upload.pk}, format="json")
    removed = admin_client.patch(detail_url(canned), {"attachment_id": None}, format="json")

    assert added.json()["attachment"]["id"] == upload.pk
    assert removed.json()["attachment"] is None
    assert Media.objects.filter(pk=upload.pk).exists()  # still the organization's upload


def test_adding_an_attachment_to_a_long_text_is_refused(org, upload, admin_client):
    canned = CannedResponseFactory(organization=org, text="x" * 2000)

    response = admin_client.patch(detail_url(canned), {"attachment_id": upload.pk}, format="json")

    assert list(errors_of(response)) == ["text"]
    canned.refresh_from_db()
    assert canned.attachment_id is None


def test_removing_the_attachment_of_a_response_without_text_is_refused(org, upload, admin_client):
    canned = CannedResponseFactory(organization=org, text="", attachment=upload)

    response = admin_client.patch(detail_url(canned), {"attachment_id": None}, format="json")

    assert errors_of(response) == {"text": ["Write the text of the response (or attach a file)."]}


def test_an_admin_deletes_one_and_its_upload_stays(org, upload, admin_client):
    canned = CannedResponseFactory(organization=org, attachment=upload)

    response = admin_client.delete(detail_url(canned))

    assert response.status_code == 204
    assert not CannedResponse.objects.filter(pk=canned.pk).exists()
    assert Media.objects.filter(pk=upload.pk).exists()
    [entry] = AuditLog.objects.filter(action="canned_response.delete")
    assert entry.data == {"shortcut": canned.shortcut}


@pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETING])
def test_only_admins_write(role, org):
    client = client_for(MembershipFactory(organization=org, role=role))
    canned = CannedResponseFactory(organization=org, text="Kept")

    responses = [
        client.post(LIST_URL, {"shortcut": "new", "text": "New"}, format="json"),
        client.patch(detail_url(canned), {"text": "Changed"}, format="json"),
        client.put(detail_url(canned), {"text": "Changed"}, format="json"),
        client.delete(detail_url(canned)),
    ]

    assert [response.status_code for response in responses] == [403] * 4
    assert list(CannedResponse.objects.values_list("text", flat=True)) == ["Kept"]
    assert not AuditLog.objects.filter(action__startswith="canned_response.").exists()


def test_signed_out_is_a_401(anon_client):
    assert anon_client.get(LIST_URL).status_code == 401
