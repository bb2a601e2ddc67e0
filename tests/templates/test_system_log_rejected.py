"""A template Meta rejects is in the organization's system log: from Meta's status webhook, and from a sync that finds
it rejected (once: a sync finding it rejected again, or another status, says nothing)."""

from accounts.models import SystemLog
from templates import services
from templates.models import MessageTemplate
from tests.fakes import django_client_target
from tests.messaging.ingest_support import APP_SECRET, cloud_numbers, meta_payload
from tests.templates.factories import TemplateSyncFactory
from tests.templates.support import committed, create, seasonal_promotion


def _logs() -> list[tuple]:
    return list(
        SystemLog.objects.order_by("id").values_list("organization_id", "level", "category", "message", "related_id")
    )


def test_a_rejection_by_metas_webhook_is_logged(client, marketing_client, org, fake_meta):
    cloud_numbers(org)
    fake_meta.webhook_url = django_client_target(client, f"/webhooks/meta/{org.pk}/")
    fake_meta.app_secret = APP_SECRET
    info = meta_payload("template_status_rejected")["entry"][0]["changes"][0]["value"]["rejection_info"]
    fake_meta.review_template_as("seasonal_promotion", rejection_info=info)
    create(marketing_client, seasonal_promotion())

    committed(fake_meta.deliver_webhooks)

    template = MessageTemplate.objects.get()
    assert template.status == "REJECTED"
    reason = template.rejected_reason[:300]  # a detail shown in a message is bounded
    assert _logs() == [
        (
            org.pk,
            "warning",
            "integration",
            f"Meta rejected the template seasonal_promotion ({template.language}): {reason}",
            str(template.pk),
        )
    ]
    log = SystemLog.objects.get()
    assert (log.related_type, log.details["template_id"]) == ("message_template", template.pk)


def test_a_sync_finding_a_template_newly_rejected_logs_it_once(org, cloud, fake_meta):
    fake_meta.add_template("promo_ok")
    fake_meta.add_template("promo_bad", status="REJECTED")

    def sync():
        run = TemplateSyncFactory(organization=org)
        committed(services.template_sync_run, organization_id=org.pk, sync_id=run.pk)

    sync()
    sync()  # rejected already: no news

    bad = MessageTemplate.objects.get(name="promo_bad")
    assert _logs() == [
        (org.pk, "warning", "integration", "Meta rejected the template promo_bad (en_US): no reason given", str(bad.pk))
    ]
