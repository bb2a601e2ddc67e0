"""What the campaigns pages share: who may open them (the API's roles: marketing and admins), the campaigns the
person sees (on the numbers they see, as the API), the words for statuses, and the progress bar's parts."""

from dataclasses import asdict

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from accounts.permissions import IsMarketing
from accounts.web import member_required
from campaigns import selectors
from campaigns.models import Campaign, CampaignRecipient
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.contacts import CONTACT_FIELDS
from templates import rendering
from templates.models import MessageTemplate

marketing_required = member_required(
    roles=IsMarketing.roles,
    reason=gettext_lazy("Campaigns are for marketing and admins of %(org)s. Ask an admin for access."),
)

Status = Campaign.Status
STATUS_LABELS = {
    Status.DRAFT: pgettext_lazy("campaign status", "Draft"),
    Status.SCHEDULED: pgettext_lazy("campaign status", "Scheduled"),
    Status.RUNNING: pgettext_lazy("campaign status", "Running"),
    Status.PAUSED: pgettext_lazy("campaign status", "Paused"),
    Status.COMPLETED: pgettext_lazy("campaign status", "Completed"),
    Status.CANCELLED: pgettext_lazy("campaign status", "Cancelled"),
    Status.FAILED: pgettext_lazy("campaign status", "Failed"),
}
# The badge's class by status (app.css and campaigns.css).
STATUS_BADGES = {
    Status.DRAFT: "",
    Status.SCHEDULED: "",
    Status.RUNNING: "badge-accent",
    Status.PAUSED: "badge-warning",
    Status.COMPLETED: "badge-success",
    Status.CANCELLED: "",
    Status.FAILED: "badge-danger",
}
RStatus = CampaignRecipient.Status
RECIPIENT_LABELS = {
    RStatus.PENDING: pgettext_lazy("recipient status", "Pending"),
    RStatus.SENT: pgettext_lazy("recipient status", "Sent"),
    RStatus.DELIVERED: pgettext_lazy("recipient status", "Delivered"),
    RStatus.READ: pgettext_lazy("recipient status", "Read"),
    RStatus.FAILED: pgettext_lazy("recipient status", "Failed"),
    RStatus.SKIPPED: pgettext_lazy("recipient status", "Skipped"),
}
RECIPIENT_BADGES = {
    RStatus.PENDING: "",
    RStatus.SENT: "",
    RStatus.DELIVERED: "badge-accent",
    RStatus.READ: "badge-success",
    RStatus.FAILED: "badge-danger",
    RStatus.SKIPPED: "badge-warning",
}
AUDIENCE_LABELS = {
    Campaign.Audience.TAG: gettext_lazy("Contacts with a tag"),
    Campaign.Audience.CONTACTS: gettext_lazy("Chosen contacts"),
    Campaign.Audience.CSV: gettext_lazy("Numbers from a CSV file"),
    Campaign.Audience.ALL: gettext_lazy("All contacts"),
}
# The counters, in the order the pages show them.
COUNTERS = ("total", "sent", "delivered", "read", "replied", "failed", "skipped")
COUNTER_LABELS = {
    "total": gettext_lazy("Recipients"),
    "sent": pgettext_lazy("counter", "Sent"),
    "delivered": pgettext_lazy("counter", "Delivered"),
    "read": pgettext_lazy("counter", "Read"),
    "replied": pgettext_lazy("counter", "Replied"),
    "failed": pgettext_lazy("counter", "Failed"),
    "skipped": pgettext_lazy("counter", "Skipped"),
}

# The contact fields a placeholder may take its value from (messaging.selectors.contacts.CONTACT_FIELDS), in words.
CONTACT_FIELD_LABELS = dict(
    zip(
        CONTACT_FIELDS,
        (
            gettext_lazy("Name"),
            gettext_lazy("Name, else WhatsApp profile name or number"),
            gettext_lazy("Phone number"),
            gettext_lazy("WhatsApp ID"),
            gettext_lazy("WhatsApp profile name"),
        ),
        strict=True,
    )
)


def visible_campaigns(request) -> QuerySet[Campaign]:
    """The organization's campaigns on the numbers the person sees, newest first."""
    return selectors.campaign_list(org=request.org, number_ids=request_visible_numbers(request)).select_related(
        "number"
    )


def campaign_or_404(request, campaign_id: int) -> Campaign:
    """The campaign of the URL; another organization's, or one on a number the person may not see, is a 404."""
    return get_object_or_404(visible_campaigns(request).select_related("template", "created_by"), pk=campaign_id)


def progress(campaign: Campaign) -> dict:
    """The progress bar of a campaign: the share of its recipients done with (sent, failed or skipped), and its
    parts in percent of the total, from the start of the bar: read, delivered (not read), sent (not delivered),
    failed, skipped. static/js/campaigns-live.js draws the same from pushed counters."""
    total = campaign.total or 1  # no recipients yet: empty parts
    counts = [
        ("read", campaign.read),
        ("delivered", campaign.delivered - campaign.read),
        ("sent", campaign.sent - campaign.delivered),
        ("failed", campaign.failed),
        ("skipped", campaign.skipped),
    ]
    parts, start = [], 0.0
    for name, count in counts:
        width = max(count, 0) * 100 / total
        parts.append({"name": name, "x": round(start, 3), "width": round(width, 3)})
        start += width
    done = campaign.sent + campaign.failed + campaign.skipped
    return {"percent": min(100, done * 100 // total), "parts": parts}


def template_data(template: MessageTemplate) -> dict:
    """A template as static/js/campaigns-preview.js draws it: its components and placeholders (with Meta's
    examples)."""
    return {
        "id": template.pk,
        "name": template.name,
        "language": template.language,
        "category": template.category,
        "waba_id": template.waba_id,
        "components": template.components,
        "placeholders": [asdict(placeholder) for placeholder in rendering.placeholders(template)],
    }


def saved_message(campaign: Campaign) -> str:
    """What a campaign just saved or started is now, in words."""
    if campaign.status == Status.DRAFT:
        return _("Draft saved. Start it when you are ready.")
    if campaign.status == Status.SCHEDULED:
        when = formats.date_format(timezone.localtime(campaign.scheduled_at), "DATETIME_FORMAT")
        return _("Campaign scheduled for %(time)s.") % {"time": when}
    if campaign.status == Status.COMPLETED:
        return _("Nobody in the audience could be sent to: the campaign completed at once.")
    return _("Campaign started.")
