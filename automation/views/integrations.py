"""Settings > Integrations (admins): a card per integration with its state, last success and last error (in the
organization's time zone), a link to where it is set up and a "Test now" button (static/js/integrations.js posts to
the API's settings/integrations/{key}/test and updates the card)."""

from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from accounts.integration_models import IntegrationKind
from accounts.web import admin_required, organization_time_zone
from automation.selectors import integrations as selectors

GROUPS = (
    (IntegrationKind.WHATSAPP_NUMBER, (IntegrationKind.WHATSAPP_NUMBER,)),
    (IntegrationKind.LLM, (IntegrationKind.LLM, IntegrationKind.EMBEDDINGS)),
    (IntegrationKind.WEBHOOK, (IntegrationKind.WEBHOOK,)),
    (IntegrationKind.GOOGLE, (IntegrationKind.GOOGLE, IntegrationKind.EMAIL)),
)


@admin_required
def integration_list(request):
    cards = selectors.integration_list(org=request.org)
    groups = [
        {"kind": kind, "label": selectors.GROUP_LABELS[kind], "cards": [c for c in cards if c.kind in kinds]}
        for kind, kinds in GROUPS
    ]
    counts = [
        (state, sum(1 for card in cards if card.state == state), selectors.STATE_LABELS[state])
        for state in (selectors.OK, selectors.FAILING, selectors.NOT_CONFIGURED)
    ]
    strings = {
        "testing": _("Testing…"),
        "test_now": _("Test now"),
        "just_now": _("just now"),
        "failed": _("The test could not be run: try again."),
    }
    return render(
        request,
        "automation/integrations.html",
        {
            "section": "integrations",
            "groups": groups,
            "counts": counts,
            "time_zone": organization_time_zone(request.org).key,
            "strings": strings,
        },
    )


urlpatterns = [path("settings/integrations/", integration_list, name="settings-integrations-page")]
