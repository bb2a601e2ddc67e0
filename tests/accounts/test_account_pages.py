"""The public account pages (sign-up, password reset, invitation acceptance) and creating another organization,
through the same services as the API; the links the e-mails carry are followed as a person would."""

import re
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import AuditLog, Invitation, Membership, Organization, Role, User
from accounts.selectors import SESSION_ORGANIZATION_KEY
from tests.conftest import signed_in
from tests.factories import PASSWORD, UserFactory
from whatsapp_hub.errors import ServiceError

NEW_PASSWORD = "fresh-secret-2025"
LINK_DOES_NOT_WORK = "This link does not work"


def page(response) -> str:
    return response.content.decode()


def signed_in_as(client: Client) -> int | None:
    """The id of the user the client's session is signed in as (None: signed out)."""
    user_id = client.session.get(SESSION_KEY)
    return int(user_id) if user_id is not None else None


def focused(html: str) -> list[str]:
    """The names of the inputs that take the focus when the page opens."""
    return re.findall(r'<input [^>]*name="([^"]+)"[^>]* autofocus[ >]', html)


def link_in(message, path: str) -> str:
    """The path and query of the link to `path` in an e-mail (which points at PUBLIC_BASE_URL)."""
    url = re.search(rf"^(\S+{path}\?token=\S+)$", message.body, re.MULTILINE).group(1)
    assert url.startswith(f"{settings.PUBLIC_BASE_URL}{path}?token=")
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# --- sign-in ------------------------------------------------------------------------------------------


def test_the_sign_in_page_links_to_password_reset_and_sign_up(client, db):
    html = page(client.get("/sign-in/"))
    assert '<a href="/forgot-password/">Forgot password?</a>' in html
    assert '<a href="/sign-up/">Create an account</a>' in html


def test_the_sign_in_page_fills_in_the_e_mail_it_is_given(client, db):
    html = page(client.get("/sign-in/?email=sam%40example.com"))
    assert 'value="sam@example.com"' in html
    assert focused(html) == ["password"]
    assert focused(page(client.get("/sign-in/"))) == ["email"]


# --- sign-up ------------------------------------------------------------------------------------------

SIGN_UP = {
    "name": "Sam Founder",
    "email": "Sam@Example.com",
    "password": NEW_PASSWORD,
    "organization_name": "Sam's Shop",
}


def test_sign_up_creates_the_organization_signs_in_and_opens_the_inbox(client, db):
    response = client.post("/sign-up/", SIGN_UP)

    assert response.status_code == 302
    assert response["Location"] == "/inbox/"
    user = User.objects.get(email="sam@example.com")
    assert user.name == "Sam Founder" and user.check_password(NEW_PASSWORD)
    membership = Membership.objects.select_related("organization").get(user=user)
    assert (membership.organization.name, membership.role) == ("Sam's Shop", Role.ADMIN)
    assert signed_in_as(client) == user.pk
    assert client.session[SESSION_ORGANIZATION_KEY] == membership.organization_id
    assert "Sam&#x27;s Shop · Admin" in page(client.get("/dashboard/"))


def test_sign_up_with_an_e_mail_that_has_an_account_says_to_sign_in_instead(client, agent_membership):
    taken = {**SIGN_UP, "email": agent_membership.user.email.upper()}
    with pytest.raises(ServiceError) as refused:
        services.user_register(**taken)

    response = client.post("/sign-up/", taken)

    assert response.status_code == 200
    html = page(response)
    message = refused.value.errors["email"][0]
    assert re.search(rf'<ul class="errorlist" id="id_email_error"><li>{re.escape(escape(message))}</li></ul>', html)
    assert f'<a href="/sign-in/?email={agent_membership.user.email.upper().replace("@", "%40")}">' in html
    assert Organization.objects.count() == 1 and signed_in_as(client) is None


def test_sign_up_shows_the_password_validators_messages_next_to_the_field(client, db):
    response = client.post("/sign-up/", {**SIGN_UP, "password": "12345"})

    html = page(response)
    errors = re.search(r'<ul class="errorlist" id="id_password_error">(.*?)</ul>', html).group(1)
    assert errors == (
        "<li>This password is too short. It must contain at least 8 characters.</li>"
        "<li>This password is too common.</li><li>This password is entirely numeric.</li>"
    )
    assert focused(html) == ["password"]  # where the mistake is
    assert not User.objects.exists() and not Organization.objects.exists()


def test_sign_up_checks_every_field_without_a_500(client, db):
    empty = page(client.post("/sign-up/", {}))
    assert empty.count("This field is required.") == 0  # an empty post is a fresh form

    blank = page(client.post("/sign-up/", {key: " " for key in SIGN_UP}))
    assert blank.count("This field is required.") == 3  # a password is taken as typed: the service judges it

    oversized = {"name": "n" * 151, "email": "a" * 250 + "@x.io", "password": "p" * 129, "organization_name": "o" * 201}
    html = page(client.post("/sign-up/", oversized))
    assert html.count("Ensure this value has at most") == 4

    nul = page(client.post("/sign-up/", {**SIGN_UP, "organization_name": "Shop\x00"}))
    assert "Null characters are not allowed." in nul
    assert not User.objects.exists()


def test_sign_up_takes_an_arabic_organization_name(client, db):
    response = client.post("/sign-up/", {**SIGN_UP, "name": "سارة", "organization_name": "متجر الورد 🌹"})

    assert response.status_code == 302
    organization = Organization.objects.get()
    assert organization.name == "متجر الورد 🌹"
    assert organization.slug == "org"


# --- password reset -----------------------------------------------------------------------------------


def request_reset(client, email: str, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/forgot-password/", {"email": email})


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(
    client, agent_membership, django_capture_on_commit_callbacks
):
    known = request_reset(client, agent_membership.user.email, django_capture_on_commit_callbacks)
    unknown = request_reset(client, "nobody@example.com", django_capture_on_commit_callbacks)

    assert known.status_code == unknown.status_code == 200

    def answer(response, email: str) -> str:  # the page less the e-mail it repeats and the (masked) CSRF token
        return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", page(response).replace(email, "X"))

    assert answer(known, agent_membership.user.email) == answer(unknown, "nobody@example.com")
    assert "If an account exists for" in page(known) and "for 60 minutes" in page(known)
    assert [message.to for message in mail.outbox] == [[agent_membership.user.email]]


def test_forgot_password_checks_the_address_shape(client, db):
    html = page(client.post("/forgot-password/", {"email": "not an address"}))
    assert "Enter a valid email address." in html
    assert mail.outbox == []


def test_the_e_mailed_reset_link_sets_a_new_password_and_signs_every_session_out(
    client, agent_membership, django_capture_on_commit_callbacks
):
    user = agent_membership.user
    elsewhere = signed_in(agent_membership)  # another browser of the same person
    assert elsewhere.get("/dashboard/").status_code == 200
    request_reset(client, user.email, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[-1], "/reset-password")

    form = client.get(link)
    assert form.status_code == 200
    assert f'For the account <span class="ltr">{user.email}</span>' in page(form)

    weak = client.post(link, {"new_password": "password"})
    assert '<ul class="errorlist" id="id_new_password_error"><li>This password is too common.</li></ul>' in page(weak)
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)

    done = client.post(link, {"new_password": NEW_PASSWORD})
    assert done.status_code == 200
    assert "Password changed" in page(done) and '<a class="button button-primary" href="/sign-in/">' in page(done)
    assert elsewhere.get("/dashboard/")["Location"] == "/sign-in/?next=/dashboard/"

    refused = client.post("/sign-in/", {"email": user.email, "password": PASSWORD})
    assert "Invalid e-mail or password." in page(refused)
    assert client.post("/sign-in/", {"email": user.email, "password": NEW_PASSWORD})["Location"] == "/inbox/"


def test_a_reset_link_works_once(client, agent_membership, django_capture_on_commit_callbacks):
    request_reset(client, agent_membership.user.email, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[-1], "/reset-password")
    assert client.post(link, {"new_password": NEW_PASSWORD}).status_code == 200

    for again in (client.get(link), client.post(link, {"new_password": "another-secret-77"})):
        assert again.status_code == 400
        assert LINK_DOES_NOT_WORK in page(again) and 'href="/forgot-password/"' in page(again)
    assert User.objects.get(pk=agent_membership.user_id).check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    "query", ["", "?token=", "?token=garbage", "?token=MQ.abc-def", "?token=...", "?token=%00", "?token=٣.x", "?x=1"]
)
def test_a_broken_reset_link_gets_a_clear_page(query, client, agent_membership):
    for response in (
        client.get(f"/reset-password{query}"),
        client.post(f"/reset-password{query}", {"new_password": "x"}),
    ):
        assert response.status_code == 400
        assert LINK_DOES_NOT_WORK in page(response)


def test_a_tampered_or_expired_reset_link_gets_a_clear_page(
    client, agent_membership, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(timezone.now(), tick=False)
    request_reset(client, agent_membership.user.email, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[-1], "/reset-password")
    tampered = link[:-1] + ("a" if link[-1] != "a" else "b")
    assert client.get(tampered).status_code == 400
    huge = client.get(f"/reset-password?token={'A' * 5000}.{'b' * 5000}")
    assert huge.status_code == 400

    time_machine.shift(timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1))
    assert LINK_DOES_NOT_WORK in page(client.get(link))


# --- invitations --------------------------------------------------------------------------------------


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """An admin invites an e-mail (the service the API uses); returns the link the invitation e-mail carries."""

    def invite(admin: Membership, email: str, role: str = Role.AGENT) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            services.invitation_create(organization=admin.organization, email=email, role=role, invited_by=admin.user)
        assert mail.outbox[-1].to == [email]
        return link_in(mail.outbox[-1], "/accept-invite")

    return invite


def test_an_invitation_for_a_new_address_creates_the_account_and_opens_the_inbox_there(
    client, admin_membership, invite, django_assert_num_queries
):
    link = invite(admin_membership, "new.person@example.com")

    with django_assert_num_queries(1):
        form = client.get(link)
    html = page(form)
    assert f"{admin_membership.user.name}</bdi> invited you to <bdi>Acme</bdi> as <strong>Agent</strong>." in html
    assert 'value="new.person@example.com"' in html and focused(html) == ["name"]

    empty = page(client.post(link, {"name": "", "password": ""}))
    assert empty.count("This field is required.") == 2
    weak = page(client.post(link, {"name": "New Person", "password": "new.person"}))
    assert "The password is too similar to the email." in weak

    response = client.post(link, {"name": "New Person", "password": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    user = User.objects.get(email="new.person@example.com")
    assert (user.name, user.check_password(NEW_PASSWORD)) == ("New Person", True)
    membership = Membership.objects.get(user=user)
    assert (membership.organization_id, membership.role) == (admin_membership.organization_id, Role.AGENT)
    assert signed_in_as(client) == user.pk
    assert client.session[SESSION_ORGANIZATION_KEY] == admin_membership.organization_id
    assert Invitation.objects.get().status == Invitation.Status.ACCEPTED
    assert client.get(link).status_code == 400  # used


def test_an_invitation_for_an_existing_account_asks_its_password_and_joins(
    client, admin_membership, outsider_membership, invite
):
    person = outsider_membership.user  # has an account, in another organization
    link = invite(admin_membership, person.email, Role.MARKETING)

    html = page(client.get(link))
    assert "already has an account: sign in with its password to join." in html
    assert 'name="name"' not in html
    assert f'href="/forgot-password/?email={person.email.replace("@", "%40")}"' in html

    wrong = page(client.post(link, {"password": "not-the-password"}))
    assert '<ul class="errorlist" id="id_password_error"><li>Wrong password for the existing account.</li>' in wrong
    assert signed_in_as(client) is None

    response = client.post(link, {"password": PASSWORD})
    assert response["Location"] == "/contacts/"  # invited as marketing: the inbox is for agents and admins
    assert signed_in_as(client) == person.pk
    assert client.session[SESSION_ORGANIZATION_KEY] == admin_membership.organization_id
    joined = Membership.objects.get(user=person, organization=admin_membership.organization)
    assert joined.role == Role.MARKETING
    assert "Acme · Marketing" in page(client.get("/dashboard/"))


def test_a_person_signed_in_as_someone_else_is_told_and_signed_in_as_the_invited_account(
    admin_membership, agent_membership, outsider_membership, invite
):
    link = invite(admin_membership, outsider_membership.user.email)
    client = signed_in(agent_membership)

    html = page(client.get(link))
    assert f'You are signed in as <span class="ltr">{agent_membership.user.email}</span>' in html

    client.post(link, {"password": PASSWORD})
    assert signed_in_as(client) == outsider_membership.user_id
    assert client.session[SESSION_ORGANIZATION_KEY] == admin_membership.organization_id


def test_the_invitation_s_expiry_is_shown_in_the_organization_s_time_zone(
    client, admin_membership, invite, time_machine
):
    time_machine.move_to(datetime(2026, 1, 1, 21, 0, tzinfo=UTC), tick=False)
    Organization.objects.filter(pk=admin_membership.organization_id).update(settings={"timezone": "Asia/Riyadh"})
    link = invite(admin_membership, "new.person@example.com")

    assert "Valid until Jan. 9, 2026, midnight" in page(client.get(link))  # 7 days on, 21:00 UTC + 3 h


def test_a_refusal_of_the_invitation_service_is_shown_above_the_form(client, admin_membership, invite):
    link = invite(admin_membership, "new.person@example.com")
    Organization.objects.filter(pk=admin_membership.organization_id).update(status=Organization.Status.SUSPENDED)

    html = page(client.post(link, {"name": "New Person", "password": NEW_PASSWORD}))

    assert '<p class="form-error" role="alert">The organization is suspended.</p>' in html
    assert not User.objects.filter(email="new.person@example.com").exists()


@pytest.mark.parametrize("query", ["", "?token=", "?token=nope", "?token=%00%ff", "?token=" + "x" * 5000])
def test_a_broken_invitation_link_gets_a_clear_page(query, client, admin_membership, invite):
    invite(admin_membership, "new.person@example.com")
    for response in (client.get(f"/accept-invite{query}"), client.post(f"/accept-invite{query}", {"password": "x"})):
        assert response.status_code == 400
        assert LINK_DOES_NOT_WORK in page(response)
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_a_revoked_or_expired_invitation_link_gets_a_clear_page(client, admin_membership, invite, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    revoked = invite(admin_membership, "revoked@example.com")
    services.invitation_revoke(organization=admin_membership.organization, email="revoked@example.com", actor=None)
    expired = invite(admin_membership, "late@example.com")
    time_machine.shift(settings.INVITATION_TTL + timedelta(seconds=1))

    for link in (revoked, expired):
        assert LINK_DOES_NOT_WORK in page(client.get(link))


# --- another organization -----------------------------------------------------------------------------


def test_creating_an_organization_makes_the_person_its_admin_and_switches_the_session(agent_membership):
    client = signed_in(agent_membership)
    assert 'href="/organizations/new/"' in page(client.get("/dashboard/"))  # the account menu's link
    assert 'href="/">Cancel</a>' in page(client.get("/organizations/new/"))

    response = client.post("/organizations/new/", {"name": "Second Shop"})

    assert response.status_code == 302 and response["Location"] == "/inbox/"
    created = Membership.objects.select_related("organization").get(user=agent_membership.user, role=Role.ADMIN)
    assert created.organization.name == "Second Shop"
    assert client.session[SESSION_ORGANIZATION_KEY] == created.organization_id
    html = page(client.get("/dashboard/"))
    assert "Second Shop · Admin" in html and "Second Shop is created and you are its admin." in html
    assert Membership.objects.get(pk=agent_membership.pk).role == Role.AGENT  # the first one is as it was


def test_creating_an_organization_checks_the_name(agent_membership):
    client = signed_in(agent_membership)
    for name, message in (("", "This field is required."), ("x" * 201, "Ensure this value has at most 200")):
        assert message in page(client.post("/organizations/new/", {"name": name}))
    assert Organization.objects.count() == 1


def test_creating_an_organization_needs_a_signed_in_person(client, db):
    response = client.post("/organizations/new/", {"name": "Shop"})
    assert response["Location"] == "/sign-in/?next=/organizations/new/"
    assert not Organization.objects.exists()


def test_a_person_in_no_organization_is_sent_to_create_one(client, db):
    person = UserFactory()
    client.force_login(person)

    assert client.get("/dashboard/")["Location"] == "/organizations/new/"
    html = page(client.get("/organizations/new/"))
    assert "You are not in any organization yet." in html and "Cancel" not in html

    client.post("/organizations/new/", {"name": "My Shop"})
    assert "My Shop · Admin" in page(client.get("/dashboard/"))


def test_organization_create_for_user_makes_an_admin_membership_and_audits(agent_membership):
    first = services.organization_create_for_user(user=agent_membership.user, name="  Shop  ")
    second = services.organization_create_for_user(user=agent_membership.user, name="Shop")

    for membership in (first, second):
        assert (membership.organization.name, membership.role, membership.is_active) == ("Shop", Role.ADMIN, True)
        audit = AuditLog.objects.get(organization=membership.organization)
        assert (audit.action, audit.actor, audit.target_id) == (
            "organization.create",
            agent_membership.user,
            str(membership.organization_id),
        )
    assert (first.organization.slug, second.organization.slug) == ("shop", "shop-2")


# --- every public form --------------------------------------------------------------------------------


def test_the_public_forms_share_the_api_s_rate_per_address(client, db, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"principal": "9/min", "auth": "2/min"},
    }
    for path in ("/forgot-password/", "/sign-up/"):
        client.post(path, {"email": "someone@example.com"})

    response = client.post("/sign-in/", {"email": "someone@example.com", "password": "x"})

    assert response.status_code == 429
    assert "Too many attempts from your network." in page(response)
    assert client.get("/sign-in/").status_code == 200  # reading a page is not an attempt
