"""The media library: GET media/ with its filters (type, direction, number, conversation, days) on the numbers the
caller may see, GET media/{id} with where the file came from, the organization's storage use summed in SQL, and
shared links (POST media/{id}/copy): signed, expiring, serving the file to anyone with safe headers, 410 once
expired, 404 when altered, and never naming the storage path."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Organization, Role
from messaging.models import Media, Message
from tests.conftest import client_for
from tests.factories import MembershipFactory
from tests.messaging.factories import ConversationFactory, MediaFactory, MessageFactory, WhatsAppNumberFactory

LIBRARY = "/api/v1/media"


def _media(org, *, conversation=None, direction="inbound", type="image", **fields) -> Media:
    """A stored file; with `conversation`, carried by a message of `type` in that direction."""
    if conversation is None:
        return MediaFactory(organization=org, **fields)
    message = MessageFactory(
        organization=org, conversation=conversation, direction=direction, type=type, text="", status="sent"
    )
    return MediaFactory(organization=org, message=message, **fields)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


@pytest.fixture
def library(org):
    """Two numbers; on the first a received photo and a sent PDF, on the second a received voice note; an upload."""
    first, second = WhatsAppNumberFactory(organization=org), WhatsAppNumberFactory(organization=org)
    chat, other_chat = (
        ConversationFactory(organization=org, number=first),
        ConversationFactory(organization=org, number=second),
    )
    now = timezone.now()
    return {
        "numbers": (first, second),
        "chat": chat,
        "photo": _media(org, conversation=chat, size=1000, created_at=now - timedelta(days=3)),
        "pdf": _media(
            org,
            conversation=chat,
            direction="outbound",
            type="document",
            mime_type="application/pdf",
            filename="invoice.pdf",
            size=20_000,
            created_at=now - timedelta(days=2),
        ),
        "voice": _media(
            org,
            conversation=other_chat,
            type="audio",
            mime_type="audio/ogg",
            size=300,
            created_at=now - timedelta(days=1),
        ),
        "upload": _media(org, mime_type="video/mp4", filename="clip.mp4", size=5_000, created_at=now),
    }


def test_the_library_lists_every_file_newest_first_with_where_it_came_from(org, library, agent_client):
    response = agent_client.get(LIBRARY)

    assert _ids(response) == [library[name].pk for name in ("upload", "voice", "pdf", "photo")]
    pdf = response.json()["results"][2]
    chat = library["chat"]
    assert {key: pdf[key] for key in ("type", "direction", "conversation_id", "number_id", "filename", "size")} == {
        "type": "document",
        "direction": "outbound",
        "conversation_id": chat.pk,
        "number_id": chat.number_id,
        "filename": "invoice.pdf",
        "size": 20_000,
    }
    assert pdf["contact"]["id"] == chat.contact_id
    upload = response.json()["results"][0]
    assert (upload["type"], upload["direction"], upload["conversation_id"], upload["contact"]) == (
        "video",
        "outbound",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=image", ["photo"]),
        ("type=document", ["pdf"]),
        ("type=video", ["upload"]),
        ("direction=inbound", ["voice", "photo"]),
        ("direction=outbound", ["upload", "pdf"]),
        ("number={first}", ["pdf", "photo"]),
        ("conversation={chat}", ["pdf", "photo"]),
        ("start_date={two_days_ago}", ["upload", "voice", "pdf"]),
        ("end_date={two_days_ago}", ["pdf", "photo"]),
        ("start_date={two_days_ago}&end_date={two_days_ago}&direction=outbound", ["pdf"]),
    ],
)
def test_the_library_filters(query, expected, library, agent_client):
    values = {
        "first": library["numbers"][0].pk,
        "chat": library["chat"].pk,
        "two_days_ago": (timezone.localdate() - timedelta(days=2)).isoformat(),
    }
    assert _ids(agent_client.get(f"{LIBRARY}?{query.format(**values)}")) == [library[name].pk for name in expected]


@pytest.mark.parametrize(
    "query",
    [
        "type=text",
        "direction=sideways",
        "number=x",
        "start_date=2026-13-01",
        "start_date=2026-02-02&end_date=2026-02-01",
        "colour=red",
    ],
)
def test_a_bad_filter_is_a_400(query, agent_client):
    response = agent_client.get(f"{LIBRARY}?{query}")

    assert response.status_code == 400
    assert "detail" in response.json()


def test_the_library_costs_the_same_queries_for_any_number_of_files(org, library, agent_client):
    with CaptureQueriesContext(connection) as few:
        agent_client.get(LIBRARY)
    for _ in range(5):
        _media(org, conversation=ConversationFactory(organization=org, number=library["numbers"][1]))
    with CaptureQueriesContext(connection) as many:
        assert len(_ids(agent_client.get(LIBRARY))) == 9

    assert len(many) == len(few)


def test_an_agent_sees_only_the_files_of_the_numbers_they_may_see(org, library, admin_client):
    first = library["numbers"][0]
    ann = MembershipFactory(organization=org, role=Role.AGENT)
    bob = MembershipFactory(organization=org, role=Role.AGENT)
    first.assigned_user = ann.user
    first.save(update_fields=["assigned_user"])
    photo = library["photo"]

    bobs = client_for(bob)
    assert _ids(bobs.get(LIBRARY)) == [library["upload"].pk, library["voice"].pk]
    assert bobs.get(f"{LIBRARY}/{photo.pk}").status_code == 404
    assert bobs.post(f"{LIBRARY}/{photo.pk}/copy").status_code == 404
    # A hidden number as a filter shows nothing of it.
    assert _ids(bobs.get(f"{LIBRARY}?number={first.pk}")) == []
    assert len(_ids(client_for(ann).get(LIBRARY))) == 4
    assert len(_ids(admin_client.get(LIBRARY))) == 4


def test_another_organizations_files_are_404(other_org, agent_client):
    foreign = MediaFactory(organization=other_org)

    assert _ids(agent_client.get(LIBRARY)) == []
    assert agent_client.get(f"{LIBRARY}/{foreign.pk}").status_code == 404
    assert agent_client.post(f"{LIBRARY}/{foreign.pk}/copy").status_code == 404


def test_the_detail_says_what_the_file_is(library, agent_client):
    voice = library["voice"]

    body = agent_client.get(f"{LIBRARY}/{voice.pk}").json()

    assert (body["id"], body["type"], body["direction"], body["mime_type"], body["size"]) == (
        voice.pk,
        "audio",
        "inbound",
        "audio/ogg",
        300,
    )
    assert body["url"] == f"http://testserver/api/v1/media/{voice.pk}/content"


# --- storage use ----------------------------------------------------------------------------------------------------


def test_storage_use_sums_the_organizations_stored_files_only(org, other_org, library, agent_client):
    MediaFactory(organization=org, status=Media.Status.PENDING, file="", size=999_999)
    MediaFactory(organization=org, status=Media.Status.FAILED, file="", size=888_888)
    MediaFactory(organization=other_org, size=777_777)

    with CaptureQueriesContext(connection) as queries:
        response = agent_client.get(f"{LIBRARY}/usage")

    assert response.json() == {"files": 4, "bytes": 1000 + 20_000 + 300 + 5_000}
    assert len([q for q in queries if "SUM" in q["sql"]]) == 1


def test_storage_use_of_an_empty_organization_is_zero(agent_client):
    assert agent_client.get(f"{LIBRARY}/usage").json() == {"files": 0, "bytes": 0}


# --- shared links ---------------------------------------------------------------------------------------------------


def _share(client, media) -> str:
    response = client.post(f"{LIBRARY}/{media.pk}/copy")
    assert response.status_code == 200, response.content
    return response.json()["url"].removeprefix("http://testserver")


def test_a_shared_link_serves_the_file_to_anyone_until_it_expires(frozen, org, library, agent_client, client, settings):
    settings.MEDIA_SHARE_LINK_HOURS = 24
    pdf = library["pdf"]
    content = pdf.file.read()

    response = agent_client.post(f"{LIBRARY}/{pdf.pk}/copy")
    link = response.json()["url"].removeprefix("http://testserver")
    opened = client.get(link)

    assert response.json()["expires_at"] == (timezone.now() + timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    assert link.startswith("/shared/media/?link=")
    assert pdf.file.name not in link and pdf.file.name.rsplit("/", 1)[-1] not in link
    assert opened.status_code == 200
    assert b"".join(opened.streaming_content) == content
    assert opened["Content-Type"] == "application/pdf"
    assert opened["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert opened["X-Content-Type-Options"] == "nosniff"
    assert opened["Content-Security-Policy"] == "sandbox"

    frozen.shift(timedelta(hours=23, minutes=59))
    assert client.get(link).status_code == 200
    frozen.shift(timedelta(minutes=2))
    expired = client.get(link)
    assert expired.status_code == 410
    assert b"expired" in expired.content


def test_the_link_lifetime_is_a_setting(frozen, library, agent_client, client, settings):
    settings.MEDIA_SHARE_LINK_HOURS = 1
    link = _share(agent_client, library["photo"])

    frozen.shift(timedelta(minutes=59))
    assert client.get(link).status_code == 200
    frozen.shift(timedelta(minutes=2))
    assert client.get(link).status_code == 410


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["link"][0]


def test_an_altered_link_is_404(org, library, agent_client, client):
    token = _token(_share(agent_client, library["photo"]))
    forged_payload = _token(_share(agent_client, library["pdf"])).split(":")[0]

    assert client.get("/shared/media/", {"link": token[:-1] + ("A" if token[-1] != "A" else "B")}).status_code == 404
    assert client.get("/shared/media/", {"link": f"{forged_payload}:{token.split(':', 1)[1]}"}).status_code == 404
    assert client.get("/shared/media/", {"link": "not-a-token"}).status_code == 404
    assert client.get("/shared/media/").status_code == 404
    assert client.get("/shared/media/", {"link": token}).status_code == 200


def test_a_link_to_a_deleted_file_or_a_suspended_organization_is_404(org, library, agent_client, client):
    photo_link = _share(agent_client, library["photo"])
    pdf_link = _share(agent_client, library["pdf"])

    library["photo"].delete()
    assert client.get(photo_link).status_code == 404
    Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)
    assert client.get(pdf_link).status_code == 404


def test_a_file_not_stored_yet_cannot_be_shared(org, agent_client):
    pending = MediaFactory(organization=org, status=Media.Status.PENDING, file="")

    response = agent_client.post(f"{LIBRARY}/{pending.pk}/copy")

    assert (response.status_code, response.json()["code"]) == (409, "not_ready")


def test_a_name_with_quotes_and_non_latin_letters_is_quoted_safely(org, agent_client, client):
    media = MediaFactory(organization=org, mime_type="text/html", filename='فاتورة"; x=".html')

    opened = client.get(_share(agent_client, media))

    assert opened["Content-Type"] == "text/html"
    assert opened["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    assert '"' not in opened["Content-Disposition"]


def test_sharing_is_for_the_inbox_roles(org, marketing_client, anon_client):
    media = MediaFactory(organization=org)

    assert marketing_client.post(f"{LIBRARY}/{media.pk}/copy").status_code == 403
    assert marketing_client.get(LIBRARY).status_code == 403
    assert anon_client.post(f"{LIBRARY}/{media.pk}/copy").status_code == 401
    assert anon_client.get(f"{LIBRARY}/usage").status_code == 401


def test_messages_type_wins_over_the_mime_type(org, library, agent_client):
    """A photo sent as a document is a document."""
    chat = library["chat"]
    as_document = _media(org, conversation=chat, type=Message.Type.DOCUMENT, mime_type="image/jpeg")

    assert _ids(agent_client.get(f"{LIBRARY}?type=document&conversation={chat.pk}")) == [
        as_document.pk,
        library["pdf"].pk,
    ]
