"""The campaigns list and a campaign's page: its counters and progress (live over the socket, static/js/
campaigns-live.js), its recipient log (from the logs API), its template, and its actions: start, pause, resume,
cancel and delete, through the services the API calls, with the API's refusals shown on the page."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from accounts.web import organization_time_zone
from campaigns import services
from campaigns.models import Campaign
from campaigns.serializers import CampaignSerializer
from campaigns.views.common import (
    CONTACT_FIELD_LABELS,
    COUNTER_LABELS,
    COUNTERS,
    RECIPIENT_BADGES,
    RECIPIENT_LABELS,
    STATUS_BADGES,
    STATUS_LABELS,
    campaign_or_404,
    marketing_required,
    progress,
    saved_message,
    template_data,
    visible_campaigns,
)
from whatsapp_hub.errors import ServiceError

PAGE_SIZE = 25
Status = Campaign.Status

# The actions of a campaign's page: the statuses each is offered in (the services refuse the others with a 409).
ACTION_STATUSES = {
    "start": [Status.DRAFT, Status.SCHEDULED],
    "pause": [Status.RUNNING],
    "resume": [Status.PAUSED],
    "cancel": [status for status in Status if status not in Campaign.FINISHED],
    "delete": [status for status in Status if status != Status.RUNNING],
}
MOVES = {
    "start": services.campaign_start,
    "pause": services.campaign_pause,
    "resume": services.campaign_resume,
    "cancel": services.campaign_cancel,
}
MOVED = {
    "pause": gettext_lazy("Campaign paused: nothing more is sent until you resume it."),
    "resume": gettext_lazy("Campaign resumed."),
    "cancel": gettext_lazy("Campaign cancelled: the recipients it had not sent to are skipped."),
}


def _row(campaign: Campaign) -> dict:
    return {
        "campaign": campaign,
        "status_label": STATUS_LABELS[campaign.status],
        "badge": STATUS_BADGES[campaign.status],
        "progress": progress(campaign),
    }


def _live_labels() -> dict:
    """What static/js/campaigns-live.js needs to show a pushed campaign: the statuses' words and badges."""
    return {
        "statuses": {status: str(label) for status, label in STATUS_LABELS.items()},
        "badges": STATUS_BADGES,
        "percent": _("%(percent)s%% done"),
    }


# --- the list --------------------------------------------------------------------------------------------------


@require_safe
@marketing_required
def campaign_list(request):
    status = request.GET.get("status", "")
    campaigns = visible_campaigns(request)
    if status in STATUS_LABELS:
        campaigns = campaigns.filter(status=status)
    else:
        status = ""
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    live = _live_labels() | {
        # The API's page of the list this page shows, read again when pushes were missed.
        "api_url": reverse("campaign-list"),
        "query": {"status": status, "page": page.number, "page_size": PAGE_SIZE},
    }
    context = {
        "page": page,
        "rows": [_row(campaign) for campaign in page.object_list],
        "status": status,
        "query": urlencode({"status": status}) if status else "",
        "statuses": STATUS_LABELS.items(),
        "live": live,
    }
    return render(request, "campaigns/list.html", context)


# --- one campaign ------------------------------------------------------------------------------------------------


def _render_detail(request, campaign: Campaign, *, limit_refusal: str = "", status: int = 200):
    data = {
        "campaign": CampaignSerializer(campaign).data,
        "api_url": reverse("campaign-detail", args=[campaign.pk]),
        "logs_url": reverse("campaign-logs", kwargs={"pk": campaign.pk}),
        "export_url": reverse("campaign-logs-export", kwargs={"pk": campaign.pk}),
        "actions": ACTION_STATUSES,
        "time_zone": str(organization_time_zone(request.org)),
        "recipient_labels": {status: str(label) for status, label in RECIPIENT_LABELS.items()},
        "recipient_badges": RECIPIENT_BADGES,
        "template": template_data(campaign.template) if campaign.template else None,
        "mapping": campaign.variable_mapping,
        "contact_fields": CONTACT_FIELD_LABELS,
        "strings": {
            "page_of": _("Page %(number)s of %(count)s"),
            "empty": _("No recipients yet: the audience is frozen into this log when the campaign starts."),
            "empty_status": _("No recipients with this status."),
        },
        **_live_labels(),
    }
    context = {
        "campaign": campaign,
        "status_label": STATUS_LABELS[campaign.status],
        "badge": STATUS_BADGES[campaign.status],
        "progress": progress(campaign),
        "counters": [(name, COUNTER_LABELS[name], getattr(campaign, name)) for name in COUNTERS],
        "allowed": {action: campaign.status in statuses for action, statuses in ACTION_STATUSES.items()},
        "recipient_statuses": RECIPIENT_LABELS.items(),
        "limit_refusal": limit_refusal,
        "data": data,
    }
    return render(request, "campaigns/detail.html", context, status=status)


@require_safe
@marketing_required
def campaign_detail(request, campaign_id: int):
    return _render_detail(request, campaign_or_404(request, campaign_id))


@require_POST
@marketing_required
def campaign_move(request, campaign_id: int, *, action: str):
    """Start, pause, resume or cancel, as POST campaigns/{id}/<action>. A start the messaging limit refuses shows
    why, with the choice to start anyway (`allow_partial`)."""
    campaign = campaign_or_404(request, campaign_id)
    arguments = {"allow_partial": request.POST.get("allow_partial") == "1"} if action == "start" else {}
    try:
        campaign = MOVES[action](campaign=campaign, actor=request.user, **arguments)
    except ServiceError as refused:
        if refused.code == "messaging_limit":
            return _render_detail(request, campaign, limit_refusal=refused.detail, status=409)
        messages.error(request, refused.detail)
        return redirect("campaigns-detail", campaign_id=campaign.pk)
    messages.success(request, MOVED[action] if action != "start" else saved_message(campaign))
    return redirect("campaigns-detail", campaign_id=campaign.pk)


@require_POST
@marketing_required
def campaign_delete(request, campaign_id: int):
    campaign = campaign_or_404(request, campaign_id)
    try:
        services.campaign_delete(campaign=campaign, actor=request.user)
    except ServiceError as refused:
        messages.error(request, refused.detail)
        return redirect("campaigns-detail", campaign_id=campaign.pk)
    messages.success(request, _("Campaign “%(name)s” deleted.") % {"name": campaign.name})
    return redirect("campaigns")


urlpatterns = [
    path("campaigns/", campaign_list, name="campaigns"),
    path("campaigns/<id:campaign_id>/", campaign_detail, name="campaigns-detail"),
    *(
        path(f"campaigns/<id:campaign_id>/{action}/", campaign_move, {"action": action}, name=f"campaigns-{action}")
        for action in MOVES
    ),
    path("campaigns/<id:campaign_id>/delete/", campaign_delete, name="campaigns-delete"),
]
