"""Media: uploads for later sends (type and size limits), metadata and the authenticated, organization-scoped
download; inbound media fetched from the fake Graph API (and WAHA) into storage with size and sha256 checks."""

import base64
import hashlib
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone

from messaging.models import Media, Message
from messaging.services.media import enqueue_inbound_media, media_fetches_sweep
from messaging.services.retries import MAX_ATTEMPTS, UNCLAIMED_GRACE, attempt_grace
from tests.fakes import django_client_target
from tests.messaging.factories import MediaFactory, MessageFactory
from tests.messaging.inbox_support import (
    JPEG,
    cloud_number,
    committed,
    inbound_media,
    messages_url,
    open_conversation,
    waha_number,
)
from whatsapp_hub.celery import app as celery_app

UPLOAD = "/api/v1/media"
SECOND = timedelta(seconds=1)


def _media_url(media, suffix: str = "") -> str:
    return f"/api/v1/media/{media.pk}{suffix}"


def _upload(client, name: str, content: bytes, mime: str, **extra):
    return client.post(
        UPLOAD, {"file": SimpleUploadedFile(name, content, content_type=mime), **extra}, format="multipart"
    )


# --- upload ----------------------------------------------------------------------------------------------


def test_an_upload_is_stored_for_a_later_send(org, agent_client):
    response = _upload(agent_client, "C:\\photos\\shop front.jpg", JPEG, "image/jpeg")

    assert response.status_code == 201
    media = Media.objects.get()
    assert response.json() == {
        "id": media.pk,
        "mime_type": "image/jpeg",
        "size": len(JPEG),
        "filename": "shop front.jpg",
        "status": "ready",
        "url": f"http://testserver/api/v1/media/{media.pk}/content",
        "created_at": media.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert (media.organization_id, media.message_id, media.sha256) == (org.pk, None, hashlib.sha256(JPEG).hexdigest())
    assert media.file.name.startswith("media/") and media.file.name.endswith(".jpg")
    assert "shop" not in media.file.name
    assert media.file.read() == JPEG


@pytest.mark.parametrize(
    ("name", "content", "mime", "error"),
    [
        ("a.gif", b"GIF89a", "image/gif", "WhatsApp does not accept files of type image/gif; accepted: "),
        ("a.html", b"<script>", "text/html", "WhatsApp does not accept files of type text/html; accepted: "),
        ("big.png", b"\x00" * (5 * 1024 * 1024 + 1), "image/png", "image/png files are limited to 5 MB by WhatsApp"),
        ("s.webp", b"\x00" * (500 * 1024 + 1), "image/webp", "image/webp files are limited to 500 KB by WhatsApp"),
        ("empty.pdf", b"", "application/pdf", "The submitted file is empty."),
    ],
)
def test_an_upload_whatsapp_would_refuse_is_a_400(name, content, mime, error, agent_client):
    response = _upload(agent_client, name, content, mime)

    assert response.status_code == 400
    [message] = response.json()["errors"]["file"]
    assert message.startswith(error)
    assert Media.objects.count() == 0


def test_an_upload_needs_a_file_and_nothing_else(agent_client):
    missing = agent_client.post(UPLOAD, {}, format="multipart")
    extra = _upload(agent_client, "a.jpg", JPEG, "image/jpeg", caption="hi")

    assert (missing.status_code, missing.json()["errors"]) == (400, {"file": ["No file was submitted."]})
    assert (extra.status_code, extra.json()["errors"]) == (400, {"caption": ["Unknown field."]})


def test_an_upload_over_the_largest_limit_is_refused_before_reading_it(agent_client):
    response = agent_client.generic(
        "POST", UPLOAD, b"", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(200 * 1024 * 1024)
    )

    assert (response.status_code, response.json()["code"]) == (413, "too_large")


# --- metadata and download ------------------------------------------------------------------------------


def test_the_content_is_served_to_the_organization_only(org, other_org, agent_client):
    mine = MediaFactory(organization=org)
    foreign = MediaFactory(organization=other_org)
    content = mine.file.read()

    meta = agent_client.get(_media_url(mine))
    download = agent_client.get(_media_url(mine, "/content"))

    assert (meta.status_code, meta.json()["id"]) == (200, mine.pk)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"] == f'inline; filename="{mine.filename}"'
    assert download["Content-Security-Policy"] == "sandbox"
    assert [agent_client.get(_media_url(foreign, suffix)).status_code for suffix in ("", "/content")] == [404, 404]


def test_a_document_downloads_as_an_attachment(org, agent_client):
    pdf = MediaFactory(organization=org, mime_type="application/pdf", filename="invoice.pdf")

    response = agent_client.get(_media_url(pdf, "/content"))

    assert response["Content-Disposition"] == 'attachment; filename="invoice.pdf"'


def test_media_not_fetched_yet_has_no_content(org, agent_client):
    pending = MediaFactory(organization=org, status=Media.Status.PENDING, file="")

    assert agent_client.get(_media_url(pending)).json()["url"] is None
    assert agent_client.get(_media_url(pending, "/content")).status_code == 404


def test_media_is_for_the_inbox_roles(org, marketing_client, anon_client):
    media = MediaFactory(organization=org)

    assert marketing_client.get(_media_url(media, "/content")).status_code == 403
    assert _upload(marketing_client, "a.jpg", JPEG, "image/jpeg").status_code == 403
    assert anon_client.get(_media_url(media, "/content")).status_code == 401
    assert Media.objects.count() == 1


# --- inbound --------------------------------------------------------------------------------------------


@pytest.fixture
def number(org):
    return cloud_number(org)


def _fetch(*media: Media) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        for m in media:
            enqueue_inbound_media(organization_id=m.organization_id, media_ids=[m.pk])
    for m in media:
        m.refresh_from_db()


def test_an_inbound_image_from_a_webhook_is_fetched_and_downloadable(client, org, number, agent_client, fake_meta):
    fake_meta.webhook_url = django_client_target(client, f"/webhooks/meta/{org.pk}/")
    fake_meta.app_secret = number.app_secret
    fake_meta.send_inbound(
        "966501234567",
        {"type": "image", "image": {"caption": "Taj Mahal"}},
        media=JPEG,
        phone_number_id=number.phone_number_id,
    )

    with TestCase.captureOnCommitCallbacks(execute=True):
        [response] = fake_meta.deliver_webhooks()

    assert response.status_code == 200
    message = Message.objects.get()
    media = Media.objects.get(message=message)
    assert (media.status, media.size, media.sha256, media.mime_type, media.error) == (
        "ready",
        len(JPEG),
        hashlib.sha256(JPEG).hexdigest(),
        "image/jpeg",
        "",
    )
    [info_request] = fake_meta.find_requests(method="GET", path_endswith=f"/{media.provider_media_id}")
    assert info_request.query == {"phone_number_id": number.phone_number_id}
    [download] = fake_meta.find_requests(method="GET", path="/whatsapp_business/attachments/")
    assert download.headers["Authorization"] == f"Bearer {number.access_token}"
    [row] = agent_client.get(messages_url(message.conversation)).json()["results"]
    assert (row["type"], row["text"], row["media"]["id"], row["media"]["status"]) == (
        "image",
        "Taj Mahal",
        media.pk,
        "ready",
    )
    served = agent_client.get(row["media"]["url"])
    assert b"".join(served.streaming_content) == JPEG


def test_bytes_that_do_not_match_metas_sha256_are_refused(org, number, fake_meta):
    media = inbound_media(org, number, fake_meta, JPEG)
    fake_meta.tamper_media(media.provider_media_id, JPEG[:-1] + b"\x00")

    _fetch(media)

    assert (media.status, media.file.name) == ("failed", "")
    assert media.error == "Media integrity check failed: The downloaded bytes do not match the sha256 Meta reported."


def test_bytes_that_do_not_match_the_webhooks_sha256_are_refused(org, number, fake_meta):
    media = inbound_media(org, number, fake_meta, JPEG, sha256=base64.b64encode(b"\x00" * 32).decode())

    _fetch(media)

    assert media.status == "failed"
    assert media.error == "Integrity check failed: the downloaded bytes do not match the sha256 Meta announced."


def test_a_transient_failure_is_retried(org, number, fake_meta):
    media = inbound_media(org, number, fake_meta, JPEG)
    fake_meta.fail_next(131016, endpoint="media")
    fake_meta.fail_next_http(503, endpoint="download")

    _fetch(media)

    assert (media.status, media.size) == ("ready", len(JPEG))
    assert len(fake_meta.find_requests(method="GET", path_endswith=f"/{media.provider_media_id}")) == 3


def test_a_media_id_meta_does_not_know_fails_for_good(org, number, fake_meta):
    media = inbound_media(org, number, fake_meta, JPEG)
    Media.objects.filter(pk=media.pk).update(provider_media_id="999")

    _fetch(media)

    assert media.status == "failed"
    assert len(fake_meta.find_requests(method="GET", path_endswith="/999")) == 1


def test_fetching_is_idempotent(org, number, fake_meta):
    media = inbound_media(org, number, fake_meta, JPEG)
    _fetch(media)
    name = media.file.name

    _fetch(media)

    assert (media.status, media.file.name) == ("ready", name)
    assert len(fake_meta.find_requests(method="GET", path="/whatsapp_business/attachments/")) == 1


def test_media_of_any_organization_are_fetched_in_their_own(org, other_org, number, fake_meta):
    mine = inbound_media(org, number, fake_meta, JPEG)
    theirs = inbound_media(other_org, cloud_number(other_org), fake_meta, JPEG[::-1])

    _fetch(mine, theirs)

    assert (mine.status, theirs.status) == ("ready", "ready")
    assert (mine.file.read(), theirs.file.read()) == (JPEG, JPEG[::-1])
    assert theirs.file.name.split("/")[-2] == str(other_org.pk)


def test_a_fetch_named_with_another_organization_touches_nothing(org, other_org, number, fake_meta):
    media = inbound_media(org, number, fake_meta, JPEG)

    committed(enqueue_inbound_media, organization_id=other_org.pk, media_ids=[media.pk])

    media.refresh_from_db()
    assert (media.status, bool(media.file)) == ("pending", False)
    assert fake_meta.find_requests(method="GET") == []


def test_an_inbound_whatsapp_web_file_is_fetched_from_waha(org, fake_waha):
    fake_waha.add_session("default")
    payload = fake_waha.send_inbound("966501234567", "look", media=JPEG, mimetype="image/jpeg")
    conversation = open_conversation(org, number=waha_number(org))
    message = MessageFactory(organization=org, conversation=conversation, type="image", payload=payload)
    media = Media.objects.create(organization=org, message=message, mime_type="image/jpeg")

    _fetch(media)

    assert (media.status, media.file.read()) == ("ready", JPEG)
    [download] = fake_waha.find_requests(method="GET")
    assert download.headers["X-Api-Key"] == "test-waha-key"


def test_a_pending_media_without_any_reference_fails(org, number):
    message = MessageFactory(organization=org, conversation=open_conversation(org, number=number), type="image")
    media = Media.objects.create(organization=org, message=message, mime_type="image/jpeg")

    committed(enqueue_inbound_media, organization_id=org.pk, media_ids=[media.pk])

    media.refresh_from_db()
    assert (media.status, media.error) == ("failed", "Nothing to fetch: the provider gave no media id or URL.")


# --- the sweeper: inbound media left pending ----------------------------------------------------------------


def _sweep(django_capture_on_commit_callbacks, **kwargs) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return media_fetches_sweep(**kwargs)


def _downloads(fake_meta) -> list:
    return fake_meta.find_requests(method="GET", path="/whatsapp_business/attachments/")


def _interrupted(media: Media, *, attempts: int) -> None:
    """As a worker killed during the download of attempt `attempts` leaves it: claimed now, still pending."""
    Media.objects.filter(pk=media.pk).update(attempts=attempts, attempted_at=timezone.now())


def test_a_media_whose_fetch_was_never_queued_is_fetched_after_the_grace(
    frozen, org, number, fake_meta, django_capture_on_commit_callbacks
):
    media = inbound_media(org, number, fake_meta)  # stored by ingest; its task was lost with the broker

    frozen.shift(UNCLAIMED_GRACE)
    assert _sweep(django_capture_on_commit_callbacks) == 0
    assert fake_meta.requests == []

    frozen.shift(SECOND)
    assert _sweep(django_capture_on_commit_callbacks) == 1

    media.refresh_from_db()
    assert (media.status, media.attempts, media.attempted_at, media.file.read()) == ("ready", 1, timezone.now(), JPEG)
    assert len(_downloads(fake_meta)) == 1


def test_an_interrupted_download_is_fetched_again_as_the_next_attempt_after_the_grace(
    frozen, org, number, fake_meta, django_capture_on_commit_callbacks
):
    media = inbound_media(org, number, fake_meta)
    _interrupted(media, attempts=2)

    frozen.shift(attempt_grace())
    assert _sweep(django_capture_on_commit_callbacks) == 0
    assert fake_meta.requests == []

    frozen.shift(SECOND)
    assert _sweep(django_capture_on_commit_callbacks) == 1

    media.refresh_from_db()
    assert (media.status, media.attempts, media.file.read()) == ("ready", 3, JPEG)
    assert len(_downloads(fake_meta)) == 1


def test_an_interrupted_last_attempt_fails_the_media_with_a_clear_error(
    frozen, org, number, fake_meta, agent_client, django_capture_on_commit_callbacks
):
    media = inbound_media(org, number, fake_meta)
    _interrupted(media, attempts=MAX_ATTEMPTS)

    frozen.shift(attempt_grace() + SECOND)
    assert _sweep(django_capture_on_commit_callbacks) == 1

    assert fake_meta.requests == []
    media.refresh_from_db()
    assert (media.status, media.attempts, media.error, media.file.name) == (
        "failed",
        MAX_ATTEMPTS,
        "The download was interrupted too many times (its worker stopped each time).",
        "",
    )
    [row] = agent_client.get(messages_url(media.message.conversation)).json()["results"]
    assert (row["media"]["id"], row["media"]["status"]) == (media.pk, "failed")
    assert _sweep(django_capture_on_commit_callbacks) == 0


def test_media_being_fetched_or_done_are_left_alone(frozen, org, number, fake_meta, django_capture_on_commit_callbacks):
    being_fetched = inbound_media(org, number, fake_meta)
    frozen.shift(UNCLAIMED_GRACE + SECOND)
    _interrupted(being_fetched, attempts=1)  # claimed just now: its download may still be running
    ready = MediaFactory(organization=org, created_at=timezone.now() - timedelta(days=1))
    failed = MediaFactory(organization=org, status="failed", created_at=timezone.now() - timedelta(days=1))

    assert _sweep(django_capture_on_commit_callbacks) == 0

    assert fake_meta.requests == []
    assert [Media.objects.get(pk=m.pk).status for m in (being_fetched, ready, failed)] == ["pending", "ready", "failed"]


def test_sweeping_twice_fetches_once(frozen, org, number, fake_meta, django_capture_on_commit_callbacks):
    media = inbound_media(org, number, fake_meta)
    frozen.shift(UNCLAIMED_GRACE + SECOND)

    with django_capture_on_commit_callbacks() as first:
        assert media_fetches_sweep() == 1
    with django_capture_on_commit_callbacks() as second:
        assert media_fetches_sweep() == 0  # stamped by the first: it waits a grace again
    assert second == []
    for queue_fetch in first + first:  # and were the first sweep's task queued twice
        queue_fetch()

    media.refresh_from_db()
    assert (media.status, media.attempts) == ("ready", 1)
    assert len(_downloads(fake_meta)) == 1


def test_each_organizations_media_are_fetched_through_its_own_number(
    frozen, org, other_org, number, fake_meta, django_capture_on_commit_callbacks
):
    mine = inbound_media(org, number, fake_meta)
    their_number = cloud_number(other_org, access_token="their-token")
    theirs = inbound_media(other_org, their_number, fake_meta, JPEG[::-1])
    frozen.shift(UNCLAIMED_GRACE + SECOND)

    assert _sweep(django_capture_on_commit_callbacks) == 2

    assert [request.headers["Authorization"] for request in _downloads(fake_meta)] == [
        f"Bearer {number.access_token}",
        "Bearer their-token",
    ]
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, mine.file.read(), theirs.status, theirs.file.read()) == ("ready", JPEG, "ready", JPEG[::-1])


def test_beat_runs_the_media_sweeper_every_minute(frozen, org, number, fake_meta, django_capture_on_commit_callbacks):
    entry = django_settings.CELERY_BEAT_SCHEDULE["messaging-media-sweeper"]
    media = inbound_media(org, number, fake_meta)
    frozen.shift(UNCLAIMED_GRACE + SECOND)

    with django_capture_on_commit_callbacks(execute=True):
        assert celery_app.tasks[entry["task"]].delay().get() == 1

    media.refresh_from_db()
    assert media.status == "ready"
