"""A template a sync finds newly rejected is in the organization's system log, once (a sync finding it rejected again
says nothing). Rejections by Meta's status webhook: tests/templates/test_webhooks.py."""

from accounts.models import SystemLog
from templates import services
from templates.models import MessageTemplate
from tests.templates.factories import TemplateSyncFactory
from tests.templates.support import committed


def _logs() -> list[tuple]:
    return list(
        SystemLog.objects.order_by("id").values_list("organization_id", "level", "category", "message", "related_id")
    )


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
