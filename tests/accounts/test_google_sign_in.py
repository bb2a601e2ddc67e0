"""Google sign-in: ID tokens checked against the (fake) published key set, the audience, issuer, expiry and verified
e-mail; existing accounts sign in, new ones get an organization; organizations may require Google or limit their
members to their domains; the web app's redirect flow."""

import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import google, services
from accounts.models import AuditLog, Membership, Organization, Role, User
from tests.assertions import assert_error
from tests.conftest import client_for
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.fakes.google import new_key

GOOGLE = "/api/v1/auth/google"
LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"


def google_login(token: str, **extra):
    return APIClient().post(GOOGLE, {"token": token, **extra})


def refused(response, detail: str) -> None:
    assert response.status_code == 401, response.content
    assert response.json() == {"detail": detail, "code": "invalid_google_token"}


@pytest.fixture
def member(org):
    return MembershipFactory(organization=org, user=UserFactory(email="pat@acme.example"), role=Role.AGENT)


def test_a_valid_token_signs_the_existing_account_in(fake_google, member):
    r = google_login(fake_google.id_token(email="Pat@Acme.example"))

    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["user"]["email"], body["organization"]["id"], body["role"]) == (
        "pat@acme.example",
        member.organization_id,
        "agent",
    )
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.get(ME).json()["user"]["email"] == "pat@acme.example"
    login = AuditLog.objects.get(organization=member.organization, action="auth.login")
    assert login.data == {"method": "google"}
    assert [r.path for r in fake_google.requests] == ["/oauth2/v3/certs"]


def test_the_key_set_is_cached_by_kid(fake_google, member):
    for _ in range(3):
        assert google_login(fake_google.id_token(email=member.user.email)).status_code == 200

    assert len(fake_google.find_requests(path="/oauth2/v3/certs")) == 1


def test_a_token_for_another_application_is_refused(fake_google, member):
    r = google_login(fake_google.id_token(email=member.user.email, aud="someone-else.apps.googleusercontent.com"))

    refused(r, "The Google token was issued for another application.")


def test_a_token_from_another_issuer_is_refused(fake_google, member):
    r = google_login(fake_google.id_token(email=member.user.email, iss="https://evil.example"))

    refused(r, "The Google token was not issued by Google.")


def test_the_plain_issuer_name_is_accepted(fake_google, member):
    assert google_login(fake_google.id_token(email=member.user.email, iss="accounts.google.com")).status_code == 200


def test_an_expired_token_is_refused(fake_google, member):
    past = int(time.time()) - 7200

    r = google_login(fake_google.id_token(email=member.user.email, iat=past, exp=past + 3600))

    refused(r, "The Google token has expired: sign in with Google again.")


def test_an_unverified_email_is_refused_and_creates_nothing(fake_google, db):
    r = google_login(fake_google.id_token(email="new@example.org", email_verified=False))

    refused(r, "The Google account's e-mail address is not verified.")
    assert not User.objects.filter(email="new@example.org").exists()


def test_a_forged_signature_is_refused(fake_google, member):
    # Signed with a key of the attacker's under Google's real kid.
    r = google_login(fake_google.id_token(email=member.user.email, key=new_key()))

    refused(r, "The Google token is not signed by Google.")


def test_an_unsigned_or_symmetric_token_is_refused(fake_google, member):
    import jwt

    claims = {"iss": "https://accounts.google.com", "aud": fake_google.client_id, "sub": "1", "email": "x@y.z"}
    for token in (
        jwt.encode(claims, "", algorithm="none"),
        jwt.encode(claims, fake_google.client_secret * 2, algorithm="HS256", headers={"kid": fake_google.kid}),
    ):
        refused(google_login(token), "The Google token is not signed by Google.")
    refused(google_login("not-a-jwt"), "The Google token is malformed.")


def test_an_unknown_kid_fetches_the_keys_again(fake_google, member, settings):
    settings.GOOGLE_JWKS_REFRESH_FLOOR_SECONDS = 0  # the floor's own test is below
    assert google_login(fake_google.id_token(email=member.user.email)).status_code == 200
    fake_google.rotate()  # Google publishes a new key and signs with it

    r = google_login(fake_google.id_token(email=member.user.email))

    assert r.status_code == 200, r.content
    assert len(fake_google.find_requests(path="/oauth2/v3/certs")) == 2


def test_unknown_kids_refetch_at_most_once_per_floor(fake_google, member, settings):
    settings.GOOGLE_JWKS_REFRESH_FLOOR_SECONDS = 60
    assert google_login(fake_google.id_token(email=member.user.email)).status_code == 200
    for n in range(5):
        r = google_login(fake_google.id_token(email=member.user.email, kid=f"made-up-{n}"))
        refused(r, "The Google token is not signed by Google.")
    assert len(fake_google.find_requests(path="/oauth2/v3/certs")) == 1

    google.KEYS.fetched_at -= 61  # a minute later, an unknown kid may fetch again
    google_login(fake_google.id_token(email=member.user.email, kid="made-up-again"))
    assert len(fake_google.find_requests(path="/oauth2/v3/certs")) == 2


def test_google_down_is_a_503_not_a_500(fake_google, member, settings):
    settings.GOOGLE_JWKS_URL = fake_google.url + "/missing"

    r = google_login(fake_google.id_token(email=member.user.email))

    assert assert_error(r, 503)["code"] == "google_unavailable"


def test_not_configured_is_a_404(settings, member):
    settings.GOOGLE_CLIENT_ID = ""

    assert assert_error(google_login("x.y.z"), 404)["code"] == "google_not_configured"


def test_a_new_person_gets_an_account_and_an_organization(fake_google, db):
    r = google_login(fake_google.id_token(email="new@example.org", name="Nour Haddad"))

    assert r.status_code == 200, r.content
    user = User.objects.get(email="new@example.org")
    assert (user.name, user.has_usable_password()) == ("Nour Haddad", False)
    membership = Membership.objects.get(user=user)
    assert (membership.role, membership.organization.name) == (Role.ADMIN, "Nour Haddad's organization")
    assert r.json()["organization"]["id"] == membership.organization_id
    assert AuditLog.objects.filter(organization=membership.organization, action="organization.create").count() == 1


def test_closed_sign_up_refuses_a_new_person(fake_google, db, settings):
    settings.SIGNUP_OPEN = False

    r = google_login(fake_google.id_token(email="new@example.org"))

    assert assert_error(r, 403)["code"] == "signup_closed"
    assert not User.objects.filter(email="new@example.org").exists()
    assert not Organization.objects.exists()


def _set_sign_in(org, **policy):
    services.organization_update(organization=org, actor=None, settings={"sign_in": policy})


def test_require_google_refuses_passwords_and_allows_google(fake_google, member, client):
    _set_sign_in(member.organization, require_google=True)

    r = APIClient().post(LOGIN, {"email": member.user.email, "password": PASSWORD})

    assert r.status_code == 403
    assert r.json() == {
        "detail": f"{member.organization.name} requires its members to sign in with Google.",
        "code": "google_required",
    }
    page = client.post("/sign-in/", {"email": member.user.email, "password": PASSWORD})
    assert page.status_code == 200
    assert "requires its members to sign in with Google" in page.content.decode()
    assert "_auth_user_id" not in client.session
    assert google_login(fake_google.id_token(email=member.user.email)).status_code == 200


def test_allowed_domains_refuse_members_and_invitations_outside(fake_google, org, admin_membership):
    outside = MembershipFactory(organization=org, user=UserFactory(email="contractor@gmail.example"))
    _set_sign_in(org, allowed_domains=["ACME.example", "@acme.example"])
    assert org.settings["sign_in"] == {"allowed_domains": ["acme.example"]}

    r = google_login(fake_google.id_token(email=outside.user.email))

    assert r.status_code == 403
    assert r.json()["code"] == "domain_not_allowed"
    assert APIClient().post(LOGIN, {"email": outside.user.email, "password": PASSWORD}).status_code == 403
    admin = client_for(admin_membership)
    invite = admin.post("/api/v1/admin/access-list", {"email": "someone@gmail.example", "role": "agent"})
    assert invite.status_code == 400, invite.content
    assert "domains" in invite.json()["errors"]["email"][0]
    inside = MembershipFactory(organization=org, user=UserFactory(email="staff@acme.example"))
    assert google_login(fake_google.id_token(email=inside.user.email)).status_code == 200


@pytest.mark.parametrize(
    "policy",
    [
        {"require_google": "yes"},
        {"allowed_domains": ["not a domain"]},
        {"other": True},
        ["x"],
        {"allowed_domains": "a"},
    ],
)
def test_sign_in_settings_are_validated(org, policy):
    with pytest.raises(services.ServiceError) as refused_:
        _set_sign_in(org, **policy) if isinstance(policy, dict) else services.organization_update(
            organization=org, actor=None, settings={"sign_in": policy}
        )
    assert "sign_in" in refused_.value.errors["settings"]


# --- the web app's redirect flow -------------------------------------------------------------------------


def test_the_web_flow_signs_in_through_google(fake_google, member):
    browser = Client()
    start = browser.get("/sign-in/google/")
    assert start.status_code == 302
    assert start["Location"].startswith("https://accounts.google.com/o/oauth2/v2/auth?client_id=")
    state = browser.session[google.SESSION_KEY]["state"]
    nonce = browser.session[google.SESSION_KEY]["nonce"]
    code = fake_google.issue_code(email=member.user.email, nonce=nonce)

    back = browser.get("/sign-in/google/callback", {"state": state, "code": code})

    assert back.status_code == 302, back.content
    assert back["Location"] == "/inbox/"
    assert browser.session["_auth_user_id"] == str(member.user.pk)
    [exchange] = fake_google.find_requests(path="/token")
    assert exchange.form["redirect_uri"] == "http://testserver/sign-in/google/callback"


def test_the_web_flow_refuses_a_wrong_state_or_nonce(fake_google, member):
    browser = Client()
    browser.get("/sign-in/google/")
    nonce = browser.session[google.SESSION_KEY]["nonce"]
    wrong_state = browser.get(
        "/sign-in/google/callback", {"state": "forged", "code": fake_google.issue_code(email=member.user.email)}
    )
    assert wrong_state.status_code == 403
    assert "_auth_user_id" not in browser.session

    browser.get("/sign-in/google/")
    state = browser.session[google.SESSION_KEY]["state"]
    code = fake_google.issue_code(email=member.user.email, nonce=nonce + "-replayed")
    wrong_nonce = browser.get("/sign-in/google/callback", {"state": state, "code": code})
    assert wrong_nonce.status_code == 403
    assert "_auth_user_id" not in browser.session


def test_the_google_button_shows_only_when_configured(settings, db, client):
    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "", ""
    assert "data-google-sign-in" not in client.get("/sign-in/").content.decode()
    assert client.get("/sign-in/google/")["Location"] == "/sign-in/"

    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "id.apps.googleusercontent.com", "secret"
    page = client.get("/sign-in/")
    assert "data-google-sign-in" in page.content.decode()
    # The button is a link to Google's page (the redirect flow): no script, frame or style of Google's is allowed.
    directives = dict(d.strip().split(" ", 1) for d in page["Content-Security-Policy"].split(";"))
    assert (directives["script-src"], directives["frame-ancestors"]) == ("'self'", "'none'")
    assert "google" not in page["Content-Security-Policy"]
