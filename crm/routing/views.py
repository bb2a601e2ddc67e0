"""Settings > Lead routing (admins): the rules with who of each team would take a lead now, a form adding one, a
rule's page editing or deleting it; and the away toggle of the person's menu (every admin and agent). Reads
through the selectors, writes through the same services as the API."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.models import Role
from accounts.settings_views.common import not_found
from accounts.views import _safe_next
from accounts.web import admin_required, member_required
from crm.routing import selectors, services
from crm.routing.forms import LeadRoutingRuleForm
from messaging.selectors.numbers import number_list
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

FIELDS = {"number_id": "number", "team_id": "team"}


def _form(request, **kwargs) -> LeadRoutingRuleForm:
    return LeadRoutingRuleForm(
        request.POST or None,
        numbers=list(number_list(org=request.org)),
        teams=list(account_selectors.teams(org=request.org)),
        **kwargs,
    )


def _rules_with_members(org) -> list:
    rules = list(selectors.lead_routing_rule_list(org=org))
    states = selectors.team_member_states(org=org, team_ids=[r.team_id for r in rules])
    for rule in rules:
        rule.member_states = states.get(rule.team_id, [])
    return rules


@admin_required
def lead_routing(request):
    """The rules, and the form adding one (POST)."""
    form = _form(request)
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_routing_rule_create(organization=request.org, actor=request.user, **form.rule_fields())
        except ServiceError as refused:
            show_service_error(form, refused, fields=FIELDS)
        else:
            messages.success(request, _("Lead routing rule added."))
            return redirect("settings-lead-routing")
    context = {"section": "lead-routing", "form": form, "rules": _rules_with_members(request.org)}
    return render(request, "crm/routing/rules.html", context)


@admin_required
def lead_routing_edit(request, rule_id: int):
    rule = selectors.lead_routing_rule_list(org=request.org).filter(pk=rule_id).first()
    if rule is None:
        return not_found(request)
    initial = {
        "number": rule.number_id,
        "team": rule.team_id,
        "max_open_per_member": rule.max_open_per_member,
        "enabled": rule.enabled,
    }
    form = _form(request, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_routing_rule_update(rule=rule, actor=request.user, **form.rule_fields())
        except ServiceError as refused:
            show_service_error(form, refused, fields=FIELDS)
        else:
            messages.success(request, _("Lead routing rule saved."))
            return redirect("settings-lead-routing")
    return render(request, "crm/routing/rule_edit.html", {"section": "lead-routing", "rule": rule, "form": form})


@require_POST
@admin_required
def lead_routing_delete(request, rule_id: int):
    rule = selectors.lead_routing_rule_list(org=request.org).filter(pk=rule_id).first()
    if rule is None:
        return not_found(request)
    services.lead_routing_rule_delete(rule=rule, actor=request.user)
    messages.success(request, _("Lead routing rule deleted."))
    return redirect("settings-lead-routing")


@require_POST
@member_required(
    roles=frozenset({Role.ADMIN, Role.AGENT}), reason=gettext_lazy("Only admins and agents take conversations.")
)
def availability(request):
    """The person's menu: away (no new conversations from lead routing) or available again."""
    is_away = request.POST.get("is_away") == "1"
    services.membership_availability_set(membership=request.membership, is_away=is_away)
    if is_away:
        messages.success(request, _("You are away: lead routing gives you no new conversations."))
    else:
        messages.success(request, _("You are available: lead routing gives you new conversations again."))
    return redirect(_safe_next(request, "/"))


urlpatterns = [
    path("settings/lead-routing/", lead_routing, name="settings-lead-routing"),
    path("settings/lead-routing/<id:rule_id>/", lead_routing_edit, name="settings-lead-routing-edit"),
    path("settings/lead-routing/<id:rule_id>/delete/", lead_routing_delete, name="settings-lead-routing-delete"),
    path("availability/", availability, name="availability"),
]
