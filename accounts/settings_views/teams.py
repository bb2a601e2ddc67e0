"""Settings > Teams: groups of members (for assignment and reports). Create, rename and describe, choose members,
delete (confirmed by typing the name)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from accounts import selectors, services
from accounts.forms import TeamDeleteForm, TeamForm
from accounts.settings_views.common import not_found, page_of
from accounts.web import admin_required
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error


def _team_form(request, **kwargs) -> TeamForm:
    return TeamForm(request.POST or None, members=list(selectors.team_members(org=request.org)), **kwargs)


def _team(request, team_id: int):
    return selectors.teams(org=request.org).filter(pk=team_id).first()


@admin_required
def teams(request):
    """The teams, and the form creating one (POST)."""
    form = _team_form(request)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(organization=request.org, actor=request.user, **form.cleaned_data)
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(request, _("Team %(name)s created.") % {"name": team.name})
            return redirect("settings-teams")
    context = {"section": "teams", "form": form, "teams": page_of(request, selectors.teams(org=request.org))}
    return render(request, "accounts/settings/teams.html", context)


@admin_required
def team_edit(request, team_id: int):
    team = _team(request, team_id)
    if team is None:
        return not_found(request)
    initial = {"name": team.name, "description": team.description, "member_ids": [u.pk for u in team.members.all()]}
    form = _team_form(request, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.team_update(team=team, actor=request.user, **form.cleaned_data)
        except ServiceError as refused:
            show_service_error(form, refused)
            team.refresh_from_db(fields=["name", "description"])  # the service set the refused values on it
        else:
            messages.success(request, _("Team %(name)s saved.") % {"name": team.name})
            return redirect("settings-teams")
    return render(request, "accounts/settings/team_edit.html", {"section": "teams", "team": team, "form": form})


@admin_required
def team_delete(request, team_id: int):
    """A confirmation page where the team's name is typed (GET), then the deletion (POST)."""
    team = _team(request, team_id)
    if team is None:
        return not_found(request)
    form = TeamDeleteForm(request.POST or None, team_name=team.name)
    if request.method == "POST" and form.is_valid():
        services.team_delete(team=team, actor=request.user)
        messages.success(request, _("Team %(name)s deleted.") % {"name": team.name})
        return redirect("settings-teams")
    return render(request, "accounts/settings/team_delete.html", {"section": "teams", "team": team, "form": form})


urlpatterns = [
    path("settings/teams/", teams, name="settings-teams"),
    path("settings/teams/<id:team_id>/", team_edit, name="settings-teams-edit"),
    path("settings/teams/<id:team_id>/delete/", team_delete, name="settings-teams-delete"),
]
