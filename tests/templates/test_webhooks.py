"""Meta's template webhooks, signed and posted to the real webhook endpoint: a submitted template's review moves its
status (a rejection with Meta's reason and recommendation), quality and category updates, component updates, a
template the hub does not know yet syncs its account; each change is audited and pushed live."""

import copy

import pytest

from accounts.models import AuditLog, SystemLog
from messaging import realtime
from templates.models import MessageTemplate, TemplateSync
from tests.fakes import django_client_target
from tests.fakes.meta import DEFAULT_WABA_ID
from tests.messaging.ingest_support import APP_SECRET, cloud_numbers, meta_payload, post_meta
from tests.templates.factories import MessageTemplateFactory
from tests.templates.support import committed, create, seasonal_promotion


@pytest.fixture
def numbers(org, fake_meta):
    """The Cloud numbers the payload files are addressed to (the first one is the fake's default number)."""
    return cloud_numbers(org)


@pytest.fixture
def pushed(monkeypatch):
    """Every template.updated pushed: (organization id, templates, number ids)."""
    events: list[tuple[int, list[dict], object]] = []
    real = realtime.publish

    def publish(organization_id, batch):
        events.extend(
            (organization_id, data["templates"], number_ids)
            for kind, data, number_ids in batch
            if kind == "template.updated"
        )
        real(organization_id, batch)

    monkeypatch.setattr(realtime, "publish", publish)
    return events


def _event(name: str, template: MessageTemplate, **value) -> dict:
    payload = copy.deepcopy(meta_payload(name))
    change = payload["entry"][0]["changes"][0]["value"]
    change["message_template_id"] = int(template.meta_id)
    change.update(value)
    return payload


def test_a_submitted_template_is_approved_by_meta_s_webhook(client, marketing_client, org, numbers, fake_meta, pushed):
    fake_meta.webhook_url = django_client_target(client, f"/webhooks/meta/{org.pk}/")
    fake_meta.app_secret = APP_SECRET
    create(marketing_client, seasonal_promotion())
    template = MessageTemplate.objects.get()
    assert template.status == "PENDING"
    pushed.clear()

    [response] = committed(fake_meta.deliver_webhooks)

    assert response.status_code == 200
    template.refresh_from_db()
    assert (template.status, template.rejected_reason) == ("APPROVED", "")
    audit = AuditLog.objects.get(action="template.status")
    assert (audit.actor_id, audit.target_id, audit.data) == (
        None,
        str(template.pk),
        {"from": "PENDING", "to": "APPROVED", "reason": ""},
    )
    [(organization_id, [item], number_ids)] = pushed
    assert (organization_id, item["id"], item["status"], number_ids) == (
        org.pk,
        template.pk,
        "APPROVED",
        realtime.ORGANIZATION_WIDE,
    )


def _rejected_by_meta(client, marketing_client, org, fake_meta) -> MessageTemplate:
    """A template submitted, then rejected by Meta's review (its webhook, with the rejection's info)."""
    fake_meta.webhook_url = django_client_target(client, f"/webhooks/meta/{org.pk}/")
    fake_meta.app_secret = APP_SECRET
    info = meta_payload("template_status_rejected")["entry"][0]["changes"][0]["value"]["rejection_info"]
    fake_meta.review_template_as("seasonal_promotion", rejection_info=info)
    create(marketing_client, seasonal_promotion())

    committed(fake_meta.deliver_webhooks)

    return MessageTemplate.objects.get()


def test_a_rejection_keeps_meta_s_reason_and_recommendation(client, marketing_client, org, numbers, fake_meta):
    template = _rejected_by_meta(client, marketing_client, org, fake_meta)

    assert template.status == "REJECTED"
    assert template.rejected_reason == (
        "INVALID_FORMAT Your template has parameters placed next to each other (like {{1}}{{2}}) without text or "
        "punctuation between them. Separate parameters with descriptive text and ensure each parameter is clearly "
        "contextualized."
    )
    listed = marketing_client.get("/api/v1/templates/", {"status": "REJECTED"}).json()["results"]
    assert [(item["id"], item["rejected_reason"]) for item in listed] == [(template.pk, template.rejected_reason)]


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("template_quality_update", {}, "quality_score", "YELLOW"),
        ("template_category_update", {"new_category": "MARKETING"}, "category", "MARKETING"),
        ("template_status_approved", {"event": "PAUSED"}, "status", "PAUSED"),
        ("template_status_approved", {"event": "REINSTATED"}, "status", "APPROVED"),
        ("template_status_approved", {"event": "DISABLED"}, "status", "DISABLED"),
    ],
    ids=["quality", "category", "paused", "reinstated", "disabled"],
)
def test_each_template_webhook_changes_its_field(client, org, numbers, fake_meta, pushed, name, value, field, expected):
    template = MessageTemplateFactory(organization=org, status="PENDING", category="UTILITY")

    assert post_meta(client, org.pk, _event(name, template, **value)).status_code == 200

    template.refresh_from_db()
    assert getattr(template, field) == expected
    assert [(item["id"], item[field]) for _, items, _ in pushed for item in items] == [(template.pk, expected)]


def test_a_deleted_event_marks_the_template_deleted(client, org, numbers, fake_meta):
    template = MessageTemplateFactory(organization=org)

    post_meta(client, org.pk, _event("template_status_approved", template, event="DELETED"))

    template.refresh_from_db()
    assert (template.status, template.deleted_at is not None) == ("DELETED", True)


def test_a_components_update_refreshes_the_texts_and_buttons(client, org, numbers, fake_meta):
    template = MessageTemplateFactory(
        organization=org,
        components=[
            {"type": "HEADER", "format": "TEXT", "text": "Old title"},
            {"type": "BODY", "text": "Old body"},
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Old", "url": "https://old.example"}]},
        ],
    )
    payload = _event("template_quality_update", template)
    change = payload["entry"][0]["changes"][0]
    change["field"] = "message_template_components_update"
    change["value"] = {
        "message_template_id": int(template.meta_id),
        "message_template_name": template.name,
        "message_template_language": "en_US",
        "message_template_element": "New body",
        "message_template_title": "New title",
        "message_template_buttons": [
            {
                "message_template_button_type": "URL",
                "message_template_button_text": "Shop",
                "message_template_button_url": "https://new.example",
            }
        ],
    }

    post_meta(client, org.pk, payload)

    template.refresh_from_db()
    assert template.components == [
        {"type": "HEADER", "format": "TEXT", "text": "New title"},
        {"type": "BODY", "text": "New body"},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Shop", "url": "https://new.example"}]},
    ]


def test_a_webhook_of_an_unknown_template_syncs_its_account(client, org, numbers, fake_meta):
    at_meta = fake_meta.add_template("made_in_whatsapp_manager", status="APPROVED")

    post_meta(client, org.pk, meta_payload("template_status_approved"))  # a template id the hub has never seen

    sync = TemplateSync.objects.get()
    assert (sync.waba_id, sync.status, sync.created) == (DEFAULT_WABA_ID, "succeeded", 1)
    assert MessageTemplate.objects.get().meta_id == at_meta["id"]


def test_a_webhook_changing_nothing_records_nothing(client, org, numbers, fake_meta, pushed):
    template = MessageTemplateFactory(organization=org, status="APPROVED", category="UTILITY")

    post_meta(client, org.pk, _event("template_status_approved", template))

    assert AuditLog.objects.filter(action="template.status").count() == 0
    assert pushed == []


def test_another_organizations_template_is_not_touched(client, org, other_org, numbers, fake_meta):
    foreign = MessageTemplateFactory(organization=other_org, status="PENDING")

    post_meta(client, org.pk, _event("template_status_approved", foreign))

    foreign.refresh_from_db()
    assert foreign.status == "PENDING"


def test_a_rejection_is_in_the_system_log(client, marketing_client, org, numbers, fake_meta):
    template = _rejected_by_meta(client, marketing_client, org, fake_meta)

    [log] = SystemLog.objects.all()
    reason = template.rejected_reason[:300]  # a detail shown in a message is bounded
    assert (log.organization_id, log.level, log.category, log.related_type, log.related_id) == (
        org.pk,
        "warning",
        "integration",
        "message_template",
        str(template.pk),
    )
    assert log.message == f"Meta rejected the template seasonal_promotion ({template.language}): {reason}"
