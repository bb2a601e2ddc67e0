"""The Django admin of templates: read-only mirrors of Meta's, and the action that syncs their accounts now."""

from django.urls import reverse

from messaging.providers import SANDBOX_WABA_ID
from templates.models import TemplateSync
from tests.templates.factories import MessageTemplateFactory
from tests.templates.support import committed


def test_staff_syncs_the_accounts_of_chosen_templates(staff_browser, org, cloud, fake_meta):
    cloud_template = MessageTemplateFactory(organization=org)
    same_account = MessageTemplateFactory(organization=org)
    sandbox_template = MessageTemplateFactory(organization=org, waba_id=SANDBOX_WABA_ID)
    chosen = [cloud_template.pk, same_account.pk, sandbox_template.pk]

    response = committed(
        staff_browser.post,
        reverse("admin:templates_messagetemplate_changelist"),
        {"action": "sync_accounts", "_selected_action": chosen},
        follow=True,
    )

    assert "1 sync(s) queued." in response.content.decode()
    sync = TemplateSync.objects.get()
    assert (sync.organization_id, sync.waba_id, sync.status, sync.requested_by.email) == (
        org.pk,
        cloud.waba_id,
        "succeeded",
        "root@platform.example",
    )


def test_a_template_cannot_be_added_or_deleted_here(staff_browser, org):
    template = MessageTemplateFactory(organization=org)

    assert staff_browser.get(reverse("admin:templates_messagetemplate_add")).status_code == 403
    assert staff_browser.get(reverse("admin:templates_messagetemplate_delete", args=[template.pk])).status_code == 403
