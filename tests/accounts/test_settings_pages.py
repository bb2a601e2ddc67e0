"""The organization admin's settings pages: team, invitations, teams, API keys, organization. Admins only; every
write goes through the services the API uses, and their refusals show next to the fields."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import selectors
from accounts.models import ApiKey, Invitation, Membership, Organization, Role, Team, TeamMember
from accounts.org_settings import DEFAULT_OPT_OUT_KEYWORDS
from accounts.services import api_key_create, team_create
from tests.conftest import signed_in
from tests.factories import MembershipFactory

PAGES = [
    "/settings/",
    "/settings/team/",
    "/settings/invitations/",
    "/settings/teams/",
    "/settings/api-keys/",
    "/settings/organization/",
]


def field_error(field: str, message: str) -> str:
    """The error list Django renders under a field (linked to it by aria-describedby)."""
    return f'<ul class="errorlist" id="id_{field}_error"><li>{message}</li></ul>'


@pytest.fixture
def admin(admin_membership):
    return signed_in(admin_membership)


def page(response) -> str:
    return response.content.decode()


# --- who may open them ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_an_admin_opens_every_settings_page(path, admin):
    response = admin.get(path, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == ([("/settings/team/", 302)] if path == "/settings/" else [])
    assert 'aria-current="page">' in page(response)  # the settings tabs, with the current one marked


@pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETING])
@pytest.mark.parametrize("path", PAGES)
def test_agents_and_marketers_get_the_permission_denied_page(path, role, org):
    response = signed_in(MembershipFactory(organization=org, role=role)).get(path)
    assert response.status_code == 403
    assert "This page is for admins of Acme. Ask one of them for access." in page(response)


def test_a_visitor_is_sent_to_sign_in(client, db):
    assert client.get("/settings/team/")["Location"] == "/sign-in/?next=/settings/team/"


@pytest.mark.parametrize(
    "path, data",
    [
        ("/settings/invitations/", {"email": "new@example.com", "role": "admin"}),
        ("/settings/teams/", {"name": "Support"}),
        ("/settings/api-keys/", {"name": "n8n", "role": "admin"}),
        ("/settings/organization/", {"name": "Taken", "timezone": "Asia/Riyadh", "locale": "en"}),
    ],
)
def test_an_agent_s_post_changes_nothing(path, data, org, admin_membership, agent_membership):
    response = signed_in(agent_membership).post(path, data)
    assert response.status_code == 403
    assert (Invitation.objects.count(), Team.objects.count(), ApiKey.objects.count()) == (0, 0, 0)
    org.refresh_from_db()
    assert (org.name, org.settings, mail.outbox) == ("Acme", {}, [])


def test_an_agent_cannot_change_roles_or_deactivate(admin_membership, agent_membership):
    agent = signed_in(agent_membership)
    assert agent.post(f"/settings/team/{admin_membership.user_id}/role/", {"role": "agent"}).status_code == 403
    assert agent.post(f"/settings/team/{admin_membership.user_id}/deactivate/").status_code == 403
    admin_membership.refresh_from_db()
    assert (admin_membership.role, admin_membership.is_active) == (Role.ADMIN, True)


# --- team ---------------------------------------------------------------------------------------------------


def test_the_team_page_lists_the_organization_s_members_and_seats(
    admin, admin_membership, agent_membership, outsider_membership
):
    html = page(admin.get("/settings/team/"))
    assert agent_membership.user.email in html and admin_membership.user.email in html
    assert outsider_membership.user.email not in html
    assert "2 of 25 seats used" in html
    assert html.count("Deactivate") == 1  # the agent's, not the admin's own


def test_an_admin_changes_a_member_s_role(admin, agent_membership):
    response = admin.post(f"/settings/team/{agent_membership.user_id}/role/", {"role": "marketing"}, follow=True)
    assert response.redirect_chain == [("/settings/team/", 302)]
    assert f"{agent_membership.user.name} is now Marketing." in page(response)
    agent_membership.refresh_from_db()
    assert agent_membership.role == Role.MARKETING


def test_the_last_admin_cannot_be_demoted_and_the_page_says_why(admin, admin_membership):
    response = admin.post(f"/settings/team/{admin_membership.user_id}/role/", {"role": "agent"})
    assert response.status_code == 200
    assert (
        f'<p class="error" id="refused-{admin_membership.user_id}" role="alert">'
        "The last admin cannot be demoted: make someone else admin first.</p>"
    ) in page(response)
    admin_membership.refresh_from_db()
    assert admin_membership.role == Role.ADMIN


def test_an_unknown_role_is_refused_in_the_member_s_row(admin, agent_membership):
    response = admin.post(f"/settings/team/{agent_membership.user_id}/role/", {"role": "owner"})
    assert f'id="refused-{agent_membership.user_id}" role="alert">Select a valid choice.' in page(response)
    agent_membership.refresh_from_db()
    assert agent_membership.role == Role.AGENT


def test_an_admin_who_steps_down_leaves_the_settings(admin, admin_membership, org):
    MembershipFactory(organization=org, role=Role.ADMIN)
    response = admin.post(f"/settings/team/{admin_membership.user_id}/role/", {"role": "agent"})
    assert response["Location"] == "/"
    admin_membership.refresh_from_db()
    assert admin_membership.role == Role.AGENT


def test_deactivating_a_member_is_confirmed_first(admin, agent_membership):
    confirm = admin.get(f"/settings/team/{agent_membership.user_id}/deactivate/")
    assert f"Deactivate {agent_membership.user.name}?" in page(confirm)
    assert f'(<span dir="ltr">{agent_membership.user.email}</span>) will be signed out of Acme' in page(confirm)
    agent_membership.refresh_from_db()
    assert agent_membership.is_active

    response = admin.post(f"/settings/team/{agent_membership.user_id}/deactivate/", follow=True)
    assert response.redirect_chain == [("/settings/team/", 302)]
    assert "is deactivated and can no longer work in Acme." in page(response)
    agent_membership.refresh_from_db()
    assert not agent_membership.is_active
    assert "Reactivate" in page(response)


def test_the_last_admin_cannot_be_deactivated_and_the_confirmation_says_why(admin, admin_membership):
    response = admin.post(f"/settings/team/{admin_membership.user_id}/deactivate/")
    assert response.status_code == 200
    assert '<p class="form-error" role="alert">The last admin cannot be deactivated.</p>' in page(response)
    admin_membership.refresh_from_db()
    assert admin_membership.is_active


def test_reactivation_needs_a_free_seat(admin, org, agent_membership):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.STARTER)  # 5 seats
    Membership.objects.filter(pk=agent_membership.pk).update(is_active=False)
    for _ in range(4):
        MembershipFactory(organization=org)  # with the admin: 5 active members
    response = admin.post(f"/settings/team/{agent_membership.user_id}/activate/")
    assert "The Starter plan allows 5 users: the user limit is reached." in page(response)
    agent_membership.refresh_from_db()
    assert not agent_membership.is_active

    Membership.objects.for_org(org).filter(role=Role.AGENT).exclude(pk=agent_membership.pk).first().delete()
    response = admin.post(f"/settings/team/{agent_membership.user_id}/activate/?page=1")
    assert response["Location"] == "/settings/team/?page=1"
    agent_membership.refresh_from_db()
    assert agent_membership.is_active


def test_another_organization_s_member_is_not_found(admin, outsider_membership):
    user_id = outsider_membership.user_id
    assert admin.get(f"/settings/team/{user_id}/deactivate/").status_code == 404
    assert admin.post(f"/settings/team/{user_id}/deactivate/").status_code == 404
    assert admin.post(f"/settings/team/{user_id}/role/", {"role": "agent"}).status_code == 404
    Membership.objects.filter(pk=outsider_membership.pk).update(is_active=False)
    assert admin.post(f"/settings/team/{user_id}/activate/").status_code == 404
    outsider_membership.refresh_from_db()
    assert (outsider_membership.role, outsider_membership.is_active) == (Role.ADMIN, False)
    assert admin.get("/settings/team/99999999999999999999/deactivate/").status_code == 404


# --- invitations --------------------------------------------------------------------------------------------


def test_an_admin_invites_by_e_mail_and_sees_it_pending(admin, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/settings/invitations/", {"email": "New@Example.com", "role": "marketing"})
    assert response["Location"] == "/settings/invitations/"
    invitation = Invitation.objects.for_org(org).get()
    assert (invitation.email, invitation.role, invitation.status) == ("new@example.com", "marketing", "pending")
    assert len(mail.outbox) == 1 and "/accept-invite?token=" in mail.outbox[0].body

    html = page(admin.get("/settings/invitations/"))
    assert "Invitation e-mailed to new@example.com. Its link works for 7 days." in html
    assert '<span class="badge badge-warning">Pending</span>' in html
    assert f'href="/settings/invitations/{invitation.pk}/revoke/"' in html


def test_an_invitation_for_a_member_is_refused_next_to_the_e_mail(admin, agent_membership):
    response = admin.post("/settings/invitations/", {"email": agent_membership.user.email, "role": "agent"})
    assert response.status_code == 200
    assert field_error("email", "Already a member.") in page(response)
    assert not Invitation.objects.exists()


def test_an_invitation_beyond_the_plan_s_seats_is_refused(admin, org):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.STARTER)
    for _ in range(4):
        MembershipFactory(organization=org)
    response = admin.post("/settings/invitations/", {"email": "sixth@example.com", "role": "agent"})
    assert (
        '<div class="form-error" role="alert"><p>The Starter plan allows 5 users: the user limit is reached.</p></div>'
    ) in page(response)
    assert "5 of 5 seats used" in page(response)
    assert not Invitation.objects.exists()


def test_an_invalid_e_mail_is_refused_by_the_form(admin):
    response = admin.post("/settings/invitations/", {"email": "not-an-address", "role": "agent"})
    assert field_error("email", "Enter a valid email address.") in page(response)
    assert not Invitation.objects.exists()


def test_revoking_an_invitation_is_confirmed_first(admin, org, admin_membership):
    admin.post("/settings/invitations/", {"email": "new@example.com", "role": "agent"})
    invitation = Invitation.objects.for_org(org).get()
    assert "Revoke this invitation?" in page(admin.get(f"/settings/invitations/{invitation.pk}/revoke/"))
    response = admin.post(f"/settings/invitations/{invitation.pk}/revoke/", follow=True)
    assert "The invitation of new@example.com is revoked." in page(response)
    assert '<span class="badge">Revoked</span>' in page(response)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED


def test_a_past_invitation_cannot_revoke_the_newer_one_of_its_e_mail(admin, org):
    admin.post("/settings/invitations/", {"email": "new@example.com", "role": "agent"})
    old = Invitation.objects.for_org(org).get()
    admin.post(f"/settings/invitations/{old.pk}/revoke/")
    admin.post("/settings/invitations/", {"email": "new@example.com", "role": "agent"})
    response = admin.post(f"/settings/invitations/{old.pk}/revoke/")
    assert "is no longer pending: there is nothing to revoke." in page(response)
    assert Invitation.objects.for_org(org).exclude(pk=old.pk).get().status == Invitation.Status.PENDING


def test_an_expired_invitation_is_shown_expired_and_can_be_sent_again(admin, org):
    admin.post("/settings/invitations/", {"email": "late@example.com", "role": "agent"})
    Invitation.objects.for_org(org).update(expires_at=timezone.now() - timedelta(minutes=1))
    html = page(admin.get("/settings/invitations/"))
    assert '<span class="badge badge-danger">Expired</span>' in html and "Invite again" in html
    admin.post("/settings/invitations/", {"email": "late@example.com", "role": "agent"})
    assert list(Invitation.objects.for_org(org).values_list("status", flat=True)) == ["pending", "revoked"]


def test_another_organization_s_invitation_is_not_found(admin, outsider_membership, other_org):
    signed_in(outsider_membership).post("/settings/invitations/", {"email": "theirs@example.com", "role": "agent"})
    theirs = Invitation.objects.for_org(other_org).get()
    assert "theirs@example.com" not in page(admin.get("/settings/invitations/"))
    assert admin.get(f"/settings/invitations/{theirs.pk}/revoke/").status_code == 404
    assert admin.post(f"/settings/invitations/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Invitation.Status.PENDING


# --- teams --------------------------------------------------------------------------------------------------


def test_an_admin_creates_a_team_with_members(admin, org, admin_membership, agent_membership):
    data = {"name": " Support ", "description": "First line", "member_ids": [agent_membership.user_id]}
    response = admin.post("/settings/teams/", data, follow=True)
    assert "Team Support created." in page(response)
    team = Team.objects.for_org(org).get()
    assert (team.name, team.description) == ("Support", "First line")
    assert list(TeamMember.objects.filter(team=team).values_list("user_id", flat=True)) == [agent_membership.user_id]
    assert "1 member</span>" in page(response) and f"<bdi>{agent_membership.user.name}</bdi>" in page(response)


def test_a_team_name_taken_is_refused_next_to_the_name(admin, org, admin_membership):
    team_create(organization=org, name="Support", actor=admin_membership.user)
    response = admin.post("/settings/teams/", {"name": "Support"})
    assert field_error("name", "Already exists.") in page(response)
    assert Team.objects.count() == 1


def test_only_the_organization_s_members_can_be_chosen(admin, outsider_membership):
    response = admin.post("/settings/teams/", {"name": "Support", "member_ids": [outsider_membership.user_id]})
    assert outsider_membership.user.name not in page(response)
    assert f"Select a valid choice. {outsider_membership.user_id} is not one of the available choices." in page(
        response
    )
    assert not Team.objects.exists()


def test_an_admin_renames_a_team_and_changes_its_members(admin, org, admin_membership, agent_membership):
    team = team_create(organization=org, name="Support", member_ids=[agent_membership.user_id], actor=None)
    edit = page(admin.get(f"/settings/teams/{team.pk}/"))
    assert f'value="{agent_membership.user_id}" id="id_member_ids_1" checked' in edit
    data = {"name": "Care", "description": "", "member_ids": [admin_membership.user_id]}
    assert admin.post(f"/settings/teams/{team.pk}/", data)["Location"] == "/settings/teams/"
    team.refresh_from_db()
    assert team.name == "Care"
    assert list(team.members.values_list("pk", flat=True)) == [admin_membership.user_id]


def test_a_rename_to_a_taken_name_keeps_the_saved_name(admin, org, admin_membership):
    team_create(organization=org, name="Sales", actor=None)
    team = team_create(organization=org, name="Support", actor=None)
    response = admin.post(f"/settings/teams/{team.pk}/", {"name": "Sales"})
    assert field_error("name", "Already exists.") in page(response)
    assert "Team <bdi>Support</bdi>" in page(response)
    team.refresh_from_db()
    assert team.name == "Support"


def test_deleting_a_team_needs_its_name_typed(admin, org, admin_membership):
    team = team_create(organization=org, name="Support", actor=None)
    response = admin.post(f"/settings/teams/{team.pk}/delete/", {"confirm_name": "support"})
    assert field_error("confirm_name", "That is not the team&#x27;s name.") in page(response)
    assert Team.objects.filter(pk=team.pk).exists()

    response = admin.post(f"/settings/teams/{team.pk}/delete/", {"confirm_name": "Support"}, follow=True)
    assert "Team Support deleted." in page(response)
    assert not Team.objects.filter(pk=team.pk).exists()


def test_another_organization_s_team_is_not_found(admin, other_org):
    theirs = team_create(organization=other_org, name="Theirs", actor=None)
    assert "Theirs" not in page(admin.get("/settings/teams/"))
    assert admin.get(f"/settings/teams/{theirs.pk}/").status_code == 404
    assert admin.post(f"/settings/teams/{theirs.pk}/", {"name": "Mine"}).status_code == 404
    assert admin.post(f"/settings/teams/{theirs.pk}/delete/", {"confirm_name": "Theirs"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


# --- API keys -----------------------------------------------------------------------------------------------


def test_a_new_key_s_secret_is_shown_once_and_not_on_reload(admin, org):
    response = admin.post("/settings/api-keys/", {"name": "n8n", "role": "marketing"})
    key = ApiKey.objects.for_org(org).get()
    assert response["Location"] == f"/settings/api-keys/{key.pk}/"

    shown = admin.get(f"/settings/api-keys/{key.pk}/")
    assert "no-store" in shown["Cache-Control"]
    secret = re.search(r'id="api-key-secret" value="(wh_[^"]+)"', page(shown)).group(1)
    assert selectors.api_key_for_secret(secret) == key
    assert (key.name, key.role) == ("n8n", Role.MARKETING)

    reloaded = page(admin.get(f"/settings/api-keys/{key.pk}/"))
    assert secret not in reloaded and 'id="api-key-secret"' not in reloaded
    assert "cannot be shown again" in reloaded
    listed = page(admin.get("/settings/api-keys/"))
    assert secret not in listed and f"wh_{key.prefix}_…" in listed


def test_a_secret_waiting_for_one_key_is_not_shown_on_another_s_page(admin, org, admin_membership):
    older, _ = api_key_create(organization=org, name="old", role=Role.AGENT, actor=admin_membership.user)
    admin.post("/settings/api-keys/", {"name": "new", "role": "agent"})
    assert 'id="api-key-secret"' not in page(admin.get(f"/settings/api-keys/{older.pk}/"))
    newer = ApiKey.objects.for_org(org).get(name="new")
    assert 'id="api-key-secret"' in page(admin.get(f"/settings/api-keys/{newer.pk}/"))


def test_a_key_needs_a_name_and_a_role(admin):
    response = admin.post("/settings/api-keys/", {"name": "", "role": "owner"})
    html = page(response)
    assert field_error("name", "This field is required.") in html
    assert field_error("role", "Select a valid choice. owner is not one of the available choices.") in html
    assert not ApiKey.objects.exists()


def test_revoking_a_key_is_confirmed_first(admin, org, admin_membership):
    key, secret = api_key_create(organization=org, name="zapier", role=Role.AGENT, actor=admin_membership.user)
    assert "Revoke the key <bdi>zapier</bdi>?" in page(admin.get(f"/settings/api-keys/{key.pk}/revoke/"))
    assert selectors.api_key_for_secret(secret) == key
    response = admin.post(f"/settings/api-keys/{key.pk}/revoke/", follow=True)
    assert "The key zapier is revoked: it no longer works." in page(response)
    assert selectors.api_key_for_secret(secret) is None
    assert "Revoked" in page(response)


def test_another_organization_s_key_is_not_found(admin, other_org, outsider_membership):
    key, secret = api_key_create(organization=other_org, name="theirs", role=Role.ADMIN, actor=None)
    assert "theirs" not in page(admin.get("/settings/api-keys/"))
    assert admin.get(f"/settings/api-keys/{key.pk}/").status_code == 404
    assert admin.get(f"/settings/api-keys/{key.pk}/revoke/").status_code == 404
    assert admin.post(f"/settings/api-keys/{key.pk}/revoke/").status_code == 404
    assert selectors.api_key_for_secret(secret) == key


# --- organization -------------------------------------------------------------------------------------------


def test_the_organization_form_shows_what_is_in_use(admin):
    html = page(admin.get("/settings/organization/"))
    assert 'name="timezone" value="UTC"' in html
    assert '<option value="Asia/Riyadh"></option>' in html  # the time zone datalist
    assert "\n".join(DEFAULT_OPT_OUT_KEYWORDS) in html
    assert "These always opt a customer out, even when removed from the list:" in html


def test_an_admin_changes_the_time_zone_and_keywords(admin, org):
    data = {
        "name": "Acme",
        "timezone": "Asia/Riyadh",
        "locale": "ar",
        "opt_out_keywords": "\n".join(DEFAULT_OPT_OUT_KEYWORDS),
        "opt_in_keywords": "start\r\n\r\n  yes please \r\n",
    }
    response = admin.post("/settings/organization/", data, follow=True)
    assert "Organization settings saved." in page(response)
    org.refresh_from_db()
    # Only what changed is saved: the opt-out words stay the defaults (not a copy of them).
    assert org.settings == {"timezone": "Asia/Riyadh", "locale": "ar", "opt_in_keywords": ["start", "yes please"]}
    assert 'name="timezone" value="Asia/Riyadh"' in page(response)


def test_the_settings_schema_s_refusals_show_next_to_their_fields(admin, org):
    data = {"name": "Acme", "timezone": "Mars/Olympus", "locale": "en", "opt_in_keywords": "start"}
    html = page(admin.post("/settings/organization/", data))
    assert field_error("timezone", "Must be an IANA time zone name, e.g. Asia/Riyadh.") in html

    data = {"name": "Renamed", "timezone": "UTC", "locale": "en", "opt_in_keywords": "start\nSTOP"}
    html = page(admin.post("/settings/organization/", data))
    assert field_error("opt_in_keywords", "&#x27;stop&#x27; is an opt-out word: a word cannot opt in and out.") in html
    assert '<span class="muted">Acme · Admin</span>' in html  # the shell keeps the saved name
    org.refresh_from_db()
    assert (org.name, org.settings) == ("Acme", {})


def test_the_opt_out_floor_cannot_be_removed(admin, org):
    data = {"name": "Acme", "timezone": "UTC", "locale": "en", "opt_out_keywords": "cancel"}
    admin.post("/settings/organization/", data)
    org.refresh_from_db()
    assert org.settings["opt_out_keywords"][-1] == "cancel"
    assert {"stop", "unsubscribe"} < set(org.settings["opt_out_keywords"])


def _hours(**days) -> dict:
    """The business hours fields: the given days ticked with their times, the others unticked at 09:00-17:00."""
    data = {}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        opening, closing = days.get(day, ("09:00", "17:00"))
        data |= {f"hours_{day}_open": opening, f"hours_{day}_close": closing}
        if day in days:
            data[f"hours_{day}"] = "on"
    return data


def test_an_admin_sets_business_hours_and_clears_them(admin, org):
    data = {"name": "Acme", "timezone": "UTC", "locale": "en", "opt_out_keywords": "\n".join(DEFAULT_OPT_OUT_KEYWORDS)}
    data["opt_in_keywords"] = "start\nsubscribe"
    org.settings = {"opt_in_keywords": ["start", "subscribe"]}
    org.save(update_fields=["settings"])

    response = admin.post(
        "/settings/organization/", data | _hours(sun=("10:00", "14:00"), mon=("08:30", "17:15")), follow=True
    )

    assert "Organization settings saved." in page(response)
    org.refresh_from_db()
    hours = {"mon": ["08:30", "17:15"], "sun": ["10:00", "14:00"]}
    assert org.settings == {"opt_in_keywords": ["start", "subscribe"], "business_hours": hours}
    html = page(response)
    assert 'name="hours_mon" id="id_hours_mon" checked' in html
    assert 'name="hours_mon_open" value="08:30"' in html
    assert 'name="hours_tue" id="id_hours_tue">' in html  # closed, its times ready at 09:00-17:00
    assert 'name="hours_tue_open" value="09:00"' in html
    # Saved unchanged, the setting stays as it is; no day open removes it.
    admin.post("/settings/organization/", data | _hours(sun=("10:00", "14:00"), mon=("08:30", "17:15")))
    org.refresh_from_db()
    assert org.settings == {"opt_in_keywords": ["start", "subscribe"], "business_hours": hours}
    admin.post("/settings/organization/", data | _hours())
    org.refresh_from_db()
    assert org.settings == {"opt_in_keywords": ["start", "subscribe"]}


@pytest.mark.parametrize(
    ("day", "times", "message"),
    [
        ("wed", ("17:00", "09:00"), "Wednesday: closing time (09:00) must be after the opening time (17:00)."),
        ("fri", ("", "17:00"), "Friday: times are HH:MM (24 hours), e.g. 09:00."),
        ("sat", ("9am", "5pm"), "Saturday: times are HH:MM (24 hours), e.g. 09:00."),
    ],
)
def test_a_refused_interval_shows_on_its_day_and_nothing_is_saved(admin, org, day, times, message):
    data = {"name": "Acme", "timezone": "UTC", "locale": "en"} | _hours(mon=("09:00", "17:00"), **{day: times})

    html = page(admin.post("/settings/organization/", data))

    assert field_error(f"hours_{day}", message) in html
    assert 'id="id_hours_mon_error"' not in html
    org.refresh_from_db()
    assert org.settings == {}


def test_the_organization_needs_a_name(admin, org):
    html = page(admin.post("/settings/organization/", {"name": " ", "timezone": "UTC", "locale": "en"}))
    assert field_error("name", "This field is required.") in html
    org.refresh_from_db()
    assert org.name == "Acme"


# --- no N+1 -------------------------------------------------------------------------------------------------


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "path", ["/settings/team/", "/settings/invitations/", "/settings/teams/", "/settings/api-keys/"]
)
def test_the_lists_cost_the_same_queries_for_more_rows(path, org, admin_membership):
    def add_rows(n: int) -> None:
        for i in range(n):
            member = MembershipFactory(organization=org)
            team_create(organization=org, name=f"Team {member.pk}", member_ids=[member.user_id], actor=None)
            api_key_create(organization=org, name=f"key {i}", role=Role.AGENT, actor=member.user)
            Invitation.objects.create(
                organization=org,
                email=f"invitee{member.pk}@example.com",
                role=Role.AGENT,
                invited_by=member.user,
                token_hash=f"{member.pk:064d}",
                expires_at=timezone.now() + timedelta(days=1),
            )

    add_rows(2)
    few = queries(signed_in(admin_membership), path)
    add_rows(5)
    assert queries(signed_in(admin_membership), path) == few
