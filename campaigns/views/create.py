"""The new-campaign page: a name, the number to send from (among those the person sees), an approved template of its
WhatsApp Business Account, a value for each of the template's placeholders (a contact's field with a fallback, or a
fixed value), the audience (a tag, chosen contacts, a CSV file of numbers, or everyone) and when to send it. It
writes through the services the API calls, the refusals next to the fields they name; the audience's count and
sample come from the audience-preview API, the live preview from static/js/campaigns-preview.js."""

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from accounts.web import organization_time_zone
from campaigns import services
from campaigns.models import Campaign
from campaigns.serializers import MAX_CONTACT_IDS
from campaigns.views.common import (
    AUDIENCE_LABELS,
    CONTACT_FIELD_LABELS,
    marketing_required,
    saved_message,
    template_data,
)
from messaging.models import MessagingLimitTier, Provider, WhatsAppNumber
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.contacts import contact_list, tag_names
from messaging.selectors.numbers import number_list
from templates import rendering
from templates.models import MessageTemplate
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

Audience = Campaign.Audience
# Where a placeholder's value comes from, besides the contact fields (CONTACT_FIELDS).
STATIC, ATTRIBUTE, LEFT_OUT = "static", "attribute", ""
MAX_ROW_ID = 10**18 - 1
CHOSEN_CONTACTS_SHOWN = 500


CATEGORIES = {
    MessageTemplate.Category.MARKETING: gettext_lazy("Marketing"),
    MessageTemplate.Category.UTILITY: gettext_lazy("Utility"),
    MessageTemplate.Category.AUTHENTICATION: gettext_lazy("Authentication"),
}
# What a placeholder is, in words: where it is in the template, and what a fixed value for it must be.
PARTS = {"header": gettext_lazy("Header"), "body": gettext_lazy("Body"), "button": gettext_lazy("Button")}
HINTS = {
    "image": gettext_lazy("The image's link (https://…)."),
    "video": gettext_lazy("The video's link (https://…)."),
    "document": gettext_lazy("The document's link (https://…)."),
    "location": gettext_lazy('A JSON object: {"latitude": 24.71, "longitude": 46.67, "name": "…"}.'),
    "url": gettext_lazy("The end of the button's link."),
    "copy_code": gettext_lazy("The code the button copies (at most 15 characters)."),
    "otp": gettext_lazy("The one-time code (the body's first value when left out)."),
    "payload": gettext_lazy("What the quick reply sends back to you."),
    "flow": gettext_lazy("The flow's token."),
    "catalog": gettext_lazy("Meta's action object, as JSON."),
    "mpm": gettext_lazy("Meta's action object, as JSON."),
}


def _sources(placeholder: rendering.Placeholder) -> list[tuple[str, str]]:
    """The choices of a placeholder's source: a fixed value; a contact's field where the value is text (the
    service's rule); leaving it out where the template does not need it."""
    choices = [(STATIC, _("Fixed value"))]
    if placeholder.kind == "text" or placeholder.component == "button":
        choices += [*CONTACT_FIELD_LABELS.items(), (ATTRIBUTE, _("Contact attribute"))]
    if not placeholder.required:
        choices.insert(0, (LEFT_OUT, _("Leave out")))
    return choices


def _body(template: MessageTemplate) -> str:
    return next((c.get("text", "") for c in template.components if str(c.get("type", "")).upper() == "BODY"), "")


class ContactIdsField(forms.Field):
    """The chosen contacts: several values of one name (the picker's hidden inputs), as a list of ids."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        ids = []
        for item in value or ():
            if not str(item).isdigit() or not 0 < int(item) <= MAX_ROW_ID:
                raise forms.ValidationError(_("Choose the contacts from the list."))
            ids.append(int(item))
        if len(ids) > MAX_CONTACT_IDS:
            raise forms.ValidationError(_("At most %(count)d contacts.") % {"count": MAX_CONTACT_IDS})
        return list(dict.fromkeys(ids))


class CampaignForm(forms.Form):
    name = forms.CharField(
        max_length=Campaign._meta.get_field("name").max_length,
        label=gettext_lazy("Campaign name"),
        help_text=gettext_lazy("For your team: customers do not see it."),
    )
    number = forms.TypedChoiceField(coerce=int, label=gettext_lazy("Send from"))
    template = forms.TypedChoiceField(coerce=int, label=gettext_lazy("Template"))
    audience = forms.ChoiceField(choices=list(AUDIENCE_LABELS.items()), label=gettext_lazy("Send to"))
    tag = forms.ChoiceField(required=False, label=gettext_lazy("Tag"))
    contact_ids = ContactIdsField(required=False, label=gettext_lazy("Contacts"))
    file = forms.FileField(
        required=False,
        label=gettext_lazy("CSV file of numbers"),
        help_text=gettext_lazy(
            "UTF-8, with a number (or phone) column; name and tags are optional. New numbers become contacts."
        ),
    )
    when = forms.ChoiceField(
        choices=[("now", gettext_lazy("Now")), ("later", gettext_lazy("Later"))], initial="now", label=""
    )
    scheduled_at = forms.DateTimeField(
        required=False,
        input_formats=["%Y-%m-%dT%H:%M"],
        label=gettext_lazy("Send at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    allow_partial = forms.BooleanField(
        required=False, label=gettext_lazy("Start anyway: send to as many as the limit allows")
    )
    # The button pressed: start (or schedule), or save a draft.
    action = forms.ChoiceField(choices=[("start", "start"), ("draft", "draft")], initial="start")

    def __init__(self, data=None, files=None, *, numbers, templates, tags, initial=None):
        super().__init__(data, files, initial=initial)
        self.numbers = {number.pk: number for number in numbers}
        self.templates = {template.pk: template for template in templates}
        self.fields["number"].choices = [(pk, str(number)) for pk, number in self.numbers.items()]
        self.fields["template"].choices = [(pk, str(template)) for pk, template in self.templates.items()]
        self.fields["tag"].choices = [("", _("Choose a tag")), *((name, name) for name in tags)]
        self.chosen_template = self._chosen_template()
        self.placeholders = rendering.placeholders(self.chosen_template) if self.chosen_template else []
        for placeholder in self.placeholders:
            self._add_mapping_fields(placeholder)

    def template_options(self) -> list[dict]:
        """The template picker's options: each template with its body's text."""
        return [
            {"pk": pk, "template": template, "body": _body(template), "category": CATEGORIES.get(template.category, "")}
            for pk, template in self.templates.items()
        ]

    def _chosen_template(self) -> MessageTemplate | None:
        value = self.data.get("template") if self.is_bound else self.initial.get("template")
        return self.templates.get(int(value)) if str(value or "").isdigit() else None

    # --- the values of the placeholders ------------------------------------------------------------------------

    @staticmethod
    def mapping_prefix(key: str) -> str:
        return f"map-{key}"

    def _add_mapping_fields(self, placeholder: rendering.Placeholder) -> None:
        prefix = self.mapping_prefix(placeholder.key)
        self.fields[f"{prefix}-source"] = forms.ChoiceField(
            choices=_sources(placeholder),
            required=False,
            initial=STATIC if placeholder.required else LEFT_OUT,
            label=_("Value from"),
        )
        self.fields[f"{prefix}-value"] = forms.CharField(required=False, max_length=2000, label=_("Value"))
        self.fields[f"{prefix}-fallback"] = forms.CharField(
            required=False, max_length=1000, label=_("If the field is empty")
        )

    def mapping_rows(self) -> list[dict]:
        """One row per placeholder: its fields and all their errors, shown together under the row."""
        rows = []
        for placeholder in self.placeholders:
            prefix = self.mapping_prefix(placeholder.key)
            fields = [self[f"{prefix}-{part}"] for part in ("source", "value", "fallback")]
            source = fields[0].value() or ""
            rows.append(
                {
                    "placeholder": placeholder,
                    "part": PARTS[placeholder.component],
                    "hint": HINTS.get(placeholder.kind, ""),
                    "source": fields[0],
                    "value": fields[1],
                    "fallback": fields[2],
                    "errors": [error for field in fields for error in field.errors],
                    # What the chosen source needs (the page's script shows and hides them as it changes).
                    "shows_value": source in (STATIC, ATTRIBUTE),
                    "shows_fallback": source not in (STATIC, LEFT_OUT),
                    "attribute": source == ATTRIBUTE,
                }
            )
        return rows

    def _mapping(self) -> dict:
        """The service's variable_mapping from the rows ({key: {"type", "value", "fallback"?}}); a value written as a
        JSON object (a currency, a location, ...) is passed as the object."""
        mapping: dict[str, dict] = {}
        for placeholder in self.placeholders:
            prefix = self.mapping_prefix(placeholder.key)
            source = self.cleaned_data.get(f"{prefix}-source", "")
            value: Any = self.cleaned_data.get(f"{prefix}-value", "").strip()
            fallback = self.cleaned_data.get(f"{prefix}-fallback", "").strip()
            if source == LEFT_OUT:
                continue
            if source == STATIC:
                if value.startswith("{"):
                    try:
                        value = json.loads(value)
                    except ValueError:
                        self.add_error(f"{prefix}-value", _("This is not a valid JSON object."))
                        continue
                mapping[placeholder.key] = {"type": "static", "value": value}
                continue
            field = f"attributes.{value}" if source == ATTRIBUTE else source
            if source == ATTRIBUTE and not value:
                self.add_error(f"{prefix}-value", _("Name the attribute, e.g. city."))
                continue
            mapping[placeholder.key] = {"type": "contact_field", "value": field, "fallback": fallback}
        return mapping

    # --- the whole form --------------------------------------------------------------------------------------------

    def clean(self):
        data = super().clean()
        audience = data.get("audience")
        if audience == Audience.TAG and not data.get("tag"):
            self.add_error("tag", _("Choose a tag."))
        if audience == Audience.CONTACTS and not data.get("contact_ids"):
            self.add_error("contact_ids", _("Choose at least one contact."))
        if audience == Audience.CSV and not data.get("file"):
            self.add_error("file", _("Choose a CSV file of numbers."))
        if self.scheduled() and not data.get("scheduled_at"):
            self.add_error("scheduled_at", _("Choose the date and time to send it at."))
        data["variable_mapping"] = self._mapping()
        return data

    def scheduled(self) -> bool:
        data = self.cleaned_data
        return data.get("action") == "start" and data.get("when") == "later"

    def service_arguments(self) -> dict:
        """campaign_create's arguments (a draft has no time to send at)."""
        data = self.cleaned_data
        template = self.templates[data["template"]]
        arguments = {
            "name": data["name"],
            "number_id": data["number"],
            "template_name": template.name,
            "language": template.language,
            "variable_mapping": data["variable_mapping"],
            "audience": data["audience"],
        }
        if data["audience"] == Audience.TAG:
            arguments["tag"] = data["tag"]
        elif data["audience"] == Audience.CONTACTS:
            arguments["contact_ids"] = data["contact_ids"]
        if self.scheduled():
            arguments["scheduled_at"] = data["scheduled_at"]
        return arguments

    def service_fields(self) -> dict[str, str]:
        """The services' names of things -> the fields their refusals go next to."""
        names = {"number_id": "number", "template_name": "template", "language": "template"}
        return names | {
            placeholder.key: f"{self.mapping_prefix(placeholder.key)}-value" for placeholder in self.placeholders
        }


# --- what the page offers ----------------------------------------------------------------------------------------


def _numbers(request) -> list[WhatsAppNumber]:
    """The numbers the person sees that can send templates (not WhatsApp Web sessions)."""
    numbers = number_list(org=request.org, number_ids=request_visible_numbers(request))
    return list(numbers.exclude(provider=Provider.WAHA))


def _templates(request, numbers: list[WhatsAppNumber]) -> list[MessageTemplate]:
    """The approved templates of those numbers' WhatsApp Business Accounts."""
    accounts = {number.waba_id for number in numbers}
    return list(MessageTemplate.objects.for_org(request.org).sendable().filter(waba_id__in=accounts))


def _limit(number: WhatsAppNumber) -> dict:
    """The number's messaging limit: how many customers it may still reach outside their window now (None:
    unlimited), and that in words."""
    left = services.messaging_limit_left(number=number)
    if left is None:
        return {"left": None, "text": _("Messaging limit: unlimited.")}
    tier = MessagingLimitTier(number.messaging_limit_tier).label
    text = _(
        "Messaging limit: %(tier)s customers outside their 24-hour window per rolling 24 hours; %(left)s left now."
    ) % {"tier": tier, "left": f"{left:,}"}  # grouped as the tiers are named (2,000)
    return {"left": left, "text": text}


def _page_data(form: CampaignForm) -> dict:
    """What static/js/campaigns-new.js needs: each number's account and messaging limit, the templates, the APIs."""
    return {
        "numbers": {pk: {"waba_id": number.waba_id, "limit": _limit(number)} for pk, number in form.numbers.items()},
        "templates": {pk: template_data(template) for pk, template in form.templates.items()},
        "contact_fields": CONTACT_FIELD_LABELS,
        "mapping_url": reverse("campaigns-mapping"),
        "preview_url": reverse("campaign-audience-preview"),
        "contacts_url": reverse("contact-list"),
    }


def _strings() -> dict:
    """The words static/js/campaigns-new.js shows."""
    return {
        "will_get": _("Will get it"),
        "in_audience": _("In the audience"),
        "limit_warning": _(
            "This audience (%(count)s) is larger than what the number's messaging limit leaves now (%(left)s): "
            "WhatsApp would refuse the rest. You will be asked before it starts."
        ),
        "not_counted": _("The audience could not be counted: %(detail)s"),
        "fill_values": _("Fill in the template's values to count who gets it."),
        "csv_not_counted": _("The numbers are counted when the file is uploaded, as the campaign is saved."),
        "file_rows": _("Rows in the file: %(count)s"),
        "searching": _("Searching…"),
        "no_contacts": _("No contact matches."),
        "search_failed": _("The contacts could not be searched."),
        "remove": _("Remove %(name)s"),
        "already_chosen": _("Already chosen"),
    }


def _form(request, *, data=None, files=None, initial=None) -> CampaignForm:
    numbers = _numbers(request)
    return CampaignForm(
        data,
        files,
        numbers=numbers,
        templates=_templates(request, numbers),
        tags=tag_names(org=request.org),
        initial=initial,
    )


def _save(request, form: CampaignForm) -> Campaign:
    """Create the campaign, upload its CSV audience, and start it unless it is a draft or scheduled: in one
    transaction, so that a refusal (a bad file, the messaging limit) leaves nothing behind, as POST campaigns/send."""
    data = form.cleaned_data
    with transaction.atomic():
        campaign = services.campaign_create(
            organization=request.org,
            actor=request.user,
            number_ids=request_visible_numbers(request),
            **form.service_arguments(),
        )
        if data["audience"] == Audience.CSV:
            try:
                services.campaign_audience_upload(campaign=campaign, file=data["file"], actor=request.user)
            except ServiceError as refused:
                raise ServiceError(
                    refused.detail, status_code=refused.status_code, errors={"file": [refused.detail]}
                ) from refused
        if data["action"] == "start" and campaign.status == Campaign.Status.DRAFT:
            campaign = services.campaign_start(
                campaign=campaign, actor=request.user, allow_partial=data["allow_partial"]
            )
    return campaign


@require_http_methods(["GET", "HEAD", "POST"])
@marketing_required
def campaign_create(request):
    if request.method == "POST":
        form = _form(request, data=request.POST, files=request.FILES)
    else:
        numbers = _numbers(request)
        primary = next((number.pk for number in numbers if number.is_primary), numbers[0].pk if numbers else None)
        initial = {"number": primary, "audience": Audience.TAG, "when": "now"}
        form = _form(request, initial=initial)
    limit_refusal = ""
    if form.is_bound and form.is_valid():
        try:
            campaign = _save(request, form)
        except ServiceError as refused:
            if refused.code == "messaging_limit":
                limit_refusal = refused.detail
            else:
                show_service_error(form, refused, fields=form.service_fields())
        else:
            messages.success(request, saved_message(campaign))
            return redirect("campaigns-detail", campaign_id=campaign.pk)
    chosen = (form["contact_ids"].value() or []) if form.is_bound else []
    chosen_ids = [int(pk) for pk in chosen if str(pk).isdigit() and int(pk) <= MAX_ROW_ID]
    context = {
        "form": form,
        "limit_refusal": limit_refusal,
        "time_zone": organization_time_zone(request.org),
        "chosen_contacts": contact_list(org=request.org).filter(pk__in=chosen_ids)[:CHOSEN_CONTACTS_SHOWN],
        "data": _page_data(form),
        "strings": _strings(),
    }
    return render(request, "campaigns/new.html", context, status=409 if limit_refusal else 200)


@require_safe
@marketing_required
def campaign_mapping(request):
    """The value rows of a template's placeholders (?template=<id>), as the new-campaign page shows them: the page's
    script puts them in when a template is chosen."""
    form = _form(request, initial={"template": request.GET.get("template")})
    return render(request, "campaigns/_mapping_rows.html", {"form": form})


urlpatterns = [
    path("campaigns/new/", campaign_create, name="campaigns-new"),
    path("campaigns/new/values/", campaign_mapping, name="campaigns-mapping"),
]
