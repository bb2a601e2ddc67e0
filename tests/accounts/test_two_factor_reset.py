"""The reset of a person's two-step sign-in (accounts.two_factor.two_factor_reset), for someone who lost both their
authenticator app and their recovery codes: by an admin of their organization (API, Settings > Team), or by platform
staff (the platform pages, the Django admin). Everything goes, the person is signed out and e-mailed, it is audited."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services, two_factor
from accounts.models import (
    AuditLog,
    EmailLog,
    PlatformAuditLog,
    RecoveryCode,
    Role,
    TrustedDevice,
    TwoFactor,
    UserSession,
)
from tests.accounts.test_auth import bearer
from tests.accounts.test_sessions import api_sign_in
from tests.accounts.test_two_factor import enrol, login, require_for_admins
from tests.assertions import assert_error
from tests.conftest import client_for, signed_in
from tests.factories import PASSWORD, MembershipFactory, UserFactory

ME = "/api/v1/auth/me"


def api_key_client(org, role: str) -> APIClient:
    _, raw = services.api_key_create(organization=org, name="n8n", role=role, actor=None)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


def reset_url(membership) -> str:
    return f"/api/v1/admin/users/{membership.user_id}/two-factor/reset"


def protected(membership) -> dict:
    """`membership`'s person signed in (an API session), then with two-step sign-in on and a trusted browser."""
    pair = api_sign_in(membership)
    enrol(membership.user)
    TrustedDevice.objects.create(
        user=membership.user, token_hash="t" * 64, label="Chrome", expires_at=timezone.now() + timedelta(days=30)
    )
    return pair


def assert_untouched(membership, pair) -> None:
    assert two_factor.is_enabled(user=membership.user)
    assert RecoveryCode.objects.filter(user=membership.user).count() == 10
    assert two_factor.trusted_devices(user=membership.user).count() == 1
    assert client_for(user=membership.user).get(ME).status_code == 200
    assert not AuditLog.objects.filter(action="two_factor.reset").exists()
    assert not EmailLog.objects.filter(user=membership.user).exists()


# --- the service --------------------------------------------------------------------------------------------------


def test_an_admin_s_reset_removes_everything_signs_out_audits_and_e_mails(admin_membership, agent_membership):
    pair = protected(agent_membership)
    signed_in_api = bearer(pair["access_token"])

    with TestCase.captureOnCommitCallbacks(execute=True):
        user = two_factor.two_factor_reset(
            organization=admin_membership.organization, user_id=agent_membership.user_id, actor=admin_membership.user
        )

    assert user == agent_membership.user
    assert not TwoFactor.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert two_factor.trusted_devices(user=user).count() == 0
    assert UserSession.objects.filter(user=user, ended_at__isnull=True).count() == 0
    assert signed_in_api.get(ME).status_code == 401
    entry = AuditLog.objects.get(action="two_factor.reset")
    assert (entry.organization_id, entry.actor_id, entry.target_id, entry.data) == (
        admin_membership.organization_id,
        admin_membership.user_id,
        str(user.pk),
        {"trusted_devices_revoked": 1, "sessions_ended": 1},
    )
    assert not PlatformAuditLog.objects.exists()
    [sent] = mail.outbox
    assert (sent.to, sent.subject) == ([user.email], "Two-step sign-in was turned off on your WhatsApp Hub account")
    assert f"An admin of {admin_membership.organization.name} turned off two-step sign-in" in sent.body
    assert "http://127.0.0.1:8000/account/security/" in sent.body
    assert login(agent_membership).json()["access_token"]  # the password alone signs in now


def test_staff_s_reset_is_audited_in_the_platform_log_and_each_organization_of_the_person(agent_membership, other_org):
    MembershipFactory(organization=other_org, user=agent_membership.user, role=Role.MARKETING)
    protected(agent_membership)
    staff = UserFactory(is_staff=True)

    with TestCase.captureOnCommitCallbacks(execute=True):
        two_factor.two_factor_reset(user_id=agent_membership.user_id, actor=staff)

    assert not two_factor.is_enabled(user=agent_membership.user)
    entries = AuditLog.objects.filter(action="two_factor.reset").order_by("organization_id")
    assert [(e.organization_id, e.actor_id, e.target_id) for e in entries] == sorted(
        (organization.pk, staff.pk, str(agent_membership.user_id))
        for organization in (agent_membership.organization, other_org)
    )
    assert entries[0].data == {"trusted_devices_revoked": 1, "sessions_ended": 1, "by": "platform"}
    platform_entry = PlatformAuditLog.objects.get()
    assert (platform_entry.actor_id, platform_entry.action, platform_entry.data) == (
        staff.pk,
        "user.two_factor_reset",
        {
            "user_id": agent_membership.user_id,
            "email": agent_membership.user.email,
            "trusted_devices_revoked": 1,
            "sessions_ended": 1,
        },
    )
    [sent] = mail.outbox
    assert "WhatsApp Hub support turned off two-step sign-in" in sent.body


def test_the_notice_is_in_the_person_s_language(admin_membership, org):
    member = MembershipFactory(organization=org, role=Role.AGENT, user=UserFactory(name="ليلى", language="ar"))
    enrol(member.user)

    with TestCase.captureOnCommitCallbacks(execute=True):
        two_factor.two_factor_reset(organization=org, user_id=member.user_id, actor=admin_membership.user)

    [sent] = mail.outbox
    assert sent.subject == "تم إيقاف تسجيل الدخول بخطوتين في حسابك على WhatsApp Hub"
    assert EmailLog.objects.get(user=member.user).language == "ar"


def test_a_reset_admin_is_sent_to_enrolment_when_the_organization_requires_it(admin_membership, org):
    second = MembershipFactory(organization=org, role=Role.ADMIN)
    enrol(admin_membership.user)
    enrol(second.user)
    require_for_admins(org)

    two_factor.two_factor_reset(organization=org, user_id=second.user_id, actor=admin_membership.user)

    browser = Client()
    signed = browser.post("/sign-in/", {"email": second.user.email, "password": PASSWORD})
    assert signed["Location"] == "/account/security/"
    second.user.refresh_from_db()  # its tokens' version moved: the reset signed it out
    refused = client_for(second).get("/api/v1/audit-log")
    assert (refused.status_code, refused.json()["code"]) == (403, "two_factor_enrolment_required")


# --- the API ------------------------------------------------------------------------------------------------------


def test_an_admin_resets_a_member_s_two_step_sign_in_over_the_api(admin_client, agent_membership):
    protected(agent_membership)

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = admin_client.post(reset_url(agent_membership))

    assert (response.status_code, response.content) == (204, b"")
    assert not two_factor.is_enabled(user=agent_membership.user)
    assert len(mail.outbox) == 1


def test_an_admin_resets_another_admin(admin_client, org):
    other_admin = MembershipFactory(organization=org, role=Role.ADMIN)
    enrol(other_admin.user)

    assert admin_client.post(reset_url(other_admin)).status_code == 204
    assert not two_factor.is_enabled(user=other_admin.user)


def test_agents_marketers_and_agent_keys_may_not_reset(agent_membership, marketing_membership, admin_membership, org):
    pair = protected(agent_membership)
    enrol(admin_membership.user)

    assert_error(client_for(marketing_membership).post(reset_url(agent_membership)), 403)
    assert_error(client_for(agent_membership).post(reset_url(admin_membership)), 403)
    assert_error(api_key_client(org, Role.AGENT).post(reset_url(agent_membership)), 403)
    assert_untouched(agent_membership, pair)


def test_an_admin_api_key_resets_audited_as_the_key(agent_membership, org):
    enrol(agent_membership.user)
    client = api_key_client(org, Role.ADMIN)

    assert client.post(reset_url(agent_membership)).status_code == 204

    entry = AuditLog.objects.get(action="two_factor.reset")
    assert (entry.actor_id, entry.api_key.name, entry.target_id) == (None, "n8n", str(agent_membership.user_id))
    assert not two_factor.is_enabled(user=agent_membership.user)


def test_another_organization_s_member_is_a_404(admin_client, outsider_membership):
    pair = protected(outsider_membership)

    assert_error(admin_client.post(reset_url(outsider_membership)), 404)
    assert_error(admin_client.post("/api/v1/admin/users/999999999/two-factor/reset"), 404)
    assert_untouched(outsider_membership, pair)


def test_one_s_own_is_refused_and_a_member_without_it_is_a_409(admin_client, admin_membership, marketing_membership):
    pair = protected(admin_membership)

    own = assert_error(admin_client.post(reset_url(admin_membership)), 400)
    off = assert_error(admin_client.post(reset_url(marketing_membership)), 409)

    assert (own["code"], off["code"]) == ("own_two_factor", "two_factor_disabled")
    assert_untouched(admin_membership, pair)


# --- Settings > Team ----------------------------------------------------------------------------------------------


def test_the_team_page_offers_the_reset_of_members_with_it_on_behind_a_confirmation(
    admin_membership, agent_membership, marketing_membership
):
    enrol(agent_membership.user)
    enrol(admin_membership.user)
    browser = signed_in(admin_membership)
    url = f"/settings/team/{agent_membership.user_id}/two-step/reset/"

    team = browser.get("/settings/team/").content.decode()
    assert team.count("/two-step/reset/") == 1 and url in team  # not their own, not the marketer's (off)
    confirm = browser.get(url)
    assert confirm.status_code == 200
    assert "lost both their authenticator app and their recovery codes" in confirm.content.decode()
    assert two_factor.is_enabled(user=agent_membership.user)

    with TestCase.captureOnCommitCallbacks(execute=True):
        done = browser.post(url)

    assert done["Location"] == "/settings/team/"
    assert not two_factor.is_enabled(user=agent_membership.user)
    assert "Two-step sign-in of" in browser.get("/settings/team/").content.decode()
    assert len(mail.outbox) == 1


def test_the_team_page_s_reset_is_for_admins_and_an_outsider_is_the_not_found_page(
    admin_membership, outsider_membership
):
    enrol(outsider_membership.user)
    url = f"/settings/team/{outsider_membership.user_id}/two-step/reset/"
    browser = signed_in(admin_membership)

    assert browser.get(url).status_code == 404
    assert browser.post(url).status_code == 404
    agent = signed_in(MembershipFactory(organization=admin_membership.organization, role=Role.AGENT))
    enrol(admin_membership.user)
    assert agent.post(f"/settings/team/{admin_membership.user_id}/two-step/reset/").status_code == 403
    assert two_factor.is_enabled(user=admin_membership.user)
    assert two_factor.is_enabled(user=outsider_membership.user)


# --- platform staff -----------------------------------------------------------------------------------------------


@pytest.fixture
def staff_browser_platform():
    browser = Client()
    browser.force_login(UserFactory(is_staff=True))
    return browser


def test_the_platform_s_organization_page_lists_members_and_resets_after_a_confirmation(
    agent_membership, marketing_membership, staff_browser_platform
):
    enrol(agent_membership.user)
    org = agent_membership.organization
    url = f"/platform/organizations/{org.pk}/members/{agent_membership.user_id}/two-step/reset/"

    page = staff_browser_platform.get(f"/platform/organizations/{org.pk}/").content.decode()
    assert marketing_membership.user.email in page and page.count("/two-step/reset/") == 1 and url in page
    assert staff_browser_platform.get(url).status_code == 200

    with TestCase.captureOnCommitCallbacks(execute=True):
        done = staff_browser_platform.post(url)

    assert done["Location"] == f"/platform/organizations/{org.pk}/"
    assert not two_factor.is_enabled(user=agent_membership.user)
    assert PlatformAuditLog.objects.get().action == "user.two_factor_reset"
    assert len(mail.outbox) == 1


def test_the_platform_reset_is_scoped_to_the_organization_and_for_staff_only(
    agent_membership, other_org, staff_browser_platform
):
    enrol(agent_membership.user)
    elsewhere = f"/platform/organizations/{other_org.pk}/members/{agent_membership.user_id}/two-step/reset/"
    url = (
        f"/platform/organizations/{agent_membership.organization_id}/members/{agent_membership.user_id}/two-step/reset/"
    )

    assert staff_browser_platform.post(elsewhere).status_code == 404
    assert signed_in(agent_membership).post(url).status_code == 404
    assert two_factor.is_enabled(user=agent_membership.user)


# --- the Django admin ---------------------------------------------------------------------------------------------


def test_the_django_admin_action_asks_for_a_confirmation_then_resets(staff_browser, agent_membership, admin_membership):
    enrol(agent_membership.user)
    selected = {"action": "reset_two_factor", "_selected_action": [agent_membership.user_id, admin_membership.user_id]}

    confirm = staff_browser.post("/admin/accounts/user/", selected)

    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert agent_membership.user.email in html and admin_membership.user.email not in html
    assert "1 of the selected people do not use two-step sign-in" in html
    assert two_factor.is_enabled(user=agent_membership.user)

    with TestCase.captureOnCommitCallbacks(execute=True):
        done = staff_browser.post("/admin/accounts/user/", {**selected, "post": "yes"}, follow=True)

    assert "Two-step sign-in reset for 1 person(s)." in done.content.decode()
    assert not two_factor.is_enabled(user=agent_membership.user)
    assert PlatformAuditLog.objects.get().data["email"] == agent_membership.user.email
    assert [m.to for m in mail.outbox] == [[agent_membership.user.email]]
