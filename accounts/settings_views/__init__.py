"""The organization admin's settings pages (admins only): team, invitations, teams, API keys, organization, logs,
e-mail log. One module per page, each exporting `urlpatterns`; they read through accounts.selectors and write through
accounts.services, like the API. (The WhatsApp numbers page is messaging's.)"""

from accounts.settings_views import (
    api_keys,
    custom_pages,
    email_log,
    invitations,
    organization,
    system_log,
    team,
    teams,
)

urlpatterns = [
    *team.urlpatterns,
    *invitations.urlpatterns,
    *teams.urlpatterns,
    *api_keys.urlpatterns,
    *organization.urlpatterns,
    *system_log.urlpatterns,
    *email_log.urlpatterns,
    *custom_pages.urlpatterns,
]
