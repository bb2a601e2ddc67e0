from messaging.models import WebhookEvent, WhatsAppNumber
from messaging.selectors import ingest as ingest_selectors
from messaging.services import numbers as number_services
from tests.messaging.ingest_support import APP_SECRET, cloud_numbers, meta_payload, post_meta


def test_a_replaced_app_secret_stops_verifying_at_once(client, org, django_capture_on_commit_callbacks):
    number, _ = cloud_numbers(org)
    assert post_meta(client, org.pk, meta_payload("text")).status_code == 200  # the secret is now cached

    with django_capture_on_commit_callbacks(execute=True):
        number_services.number_update(number=number, actor=None, app_secret="the-new-app-secret")

    refused = post_meta(client, org.pk, meta_payload("reaction"), secret=APP_SECRET)
    assert refused.status_code == 401
    accepted = post_meta(client, org.pk, meta_payload("reaction"), secret="the-new-app-secret")
    assert accepted.status_code == 200
    assert WebhookEvent.objects.for_org(org).count() == 2


def test_a_deleted_numbers_secret_stops_verifying_at_once(client, org, django_capture_on_commit_callbacks):
    number, second = cloud_numbers(org)
    second.delete()  # one number left: only its secret can sign
    assert post_meta(client, org.pk, meta_payload("text")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        number_services.number_delete(number=number, actor=None)

    assert post_meta(client, org.pk, meta_payload("reaction")).status_code == 401
    assert WebhookEvent.objects.for_org(org).count() == 1


def test_a_secret_changed_by_another_process_stops_verifying_within_the_keep_time(client, org, monkeypatch):
    number, _ = cloud_numbers(org)
    assert post_meta(client, org.pk, meta_payload("text")).status_code == 200  # the secret is now kept here
    # Another process changes it: nothing tells this one.
    WhatsAppNumber.objects.filter(pk=number.pk).update(app_secret="the-new-app-secret")
    assert post_meta(client, org.pk, meta_payload("reaction")).status_code == 200

    later = ingest_selectors.monotonic() + ingest_selectors.SECRETS_CACHE_SECONDS + 0.1
    monkeypatch.setattr(ingest_selectors, "monotonic", lambda: later)

    assert post_meta(client, org.pk, meta_payload("reaction_removed")).status_code == 401
    accepted = post_meta(client, org.pk, meta_payload("reaction_removed"), secret="the-new-app-secret")
    assert accepted.status_code == 200
