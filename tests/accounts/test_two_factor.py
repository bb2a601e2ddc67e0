"""Two-step sign-in (accounts.two_factor): enrolment with an authenticator app (TOTP), codes within one step either
side and each usable once, recovery codes (single use, regenerated), the second step of every sign-in (password,
Google, e-mail link; API and pages), trusted browsers (cookie, expiry, revoke), turning it off, the organization's
requirement for admins, wrong codes counted and limited, audit entries."""

import re
from datetime import timedelta
from urllib.parse import quote

import pyotp
import pytest
from django.core import mail
from django.db import connection
from django.test import Client, TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services, two_factor
from accounts.models import AuditLog, MagicLink, RecoveryCode, Role, TrustedDevice, TwoFactor, UserSession
from tests.assertions import assert_error
from tests.conftest import client_for, signed_in
from tests.factories import PASSWORD, MembershipFactory

LOGIN = "/api/v1/auth/login"
VERIFY = "/api/v1/auth/2fa/verify"
STATUS = "/api/v1/auth/2fa"
ENROL = "/api/v1/auth/2fa/enrol"
CONFIRM = "/api/v1/auth/2fa/enrol/confirm"
DISABLE = "/api/v1/auth/2fa/disable"
RECOVERY = "/api/v1/auth/2fa/recovery-codes"
DEVICES = "/api/v1/auth/2fa/trusted-devices"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


def code_now(secret: str, shift: int = 0) -> str:
    return pyotp.TOTP(secret).at(timezone.now() + timedelta(seconds=30 * shift))


def enrol(user) -> tuple[str, list[str]]:
    """Two-step sign-in turned on for `user` (through the services); the next step begins, so the tests' first
    code is not the one enrolment used."""
    secret = two_factor.two_factor_enrolment_start(user=user).secret
    codes = two_factor.two_factor_enrolment_confirm(user=user, code=code_now(secret))
    TwoFactor.objects.filter(user=user).update(last_used_step=pyotp.TOTP(secret).timecode(timezone.now()) - 2)
    return secret, codes


def login(membership, client=None, **extra):
    return (client or APIClient()).post(
        LOGIN, {"email": membership.user.email, "password": PASSWORD}, HTTP_USER_AGENT=CHROME, **extra
    )


def challenge_of(response) -> str:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"two_factor_required", "challenge"} and body["two_factor_required"] is True
    return body["challenge"]


@pytest.fixture
def member(agent_membership):
    return agent_membership


# --- enrolment ----------------------------------------------------------------------------------------------------


def test_enrolment_gives_a_secret_uri_and_qr_and_turns_on_only_after_a_code(member):
    api = client_for(member)

    started = api.post(ENROL)

    assert started.status_code == 200, started.content
    body = started.json()
    secret = body["secret"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert body["otpauth_uri"] == (
        f"otpauth://totp/WhatsApp%20Hub:{quote(member.user.email, safe='')}?secret={secret}&issuer=WhatsApp%20Hub"
    )
    assert body["qr_png"].startswith("data:image/png;base64,iVBOR")
    assert api.get(STATUS).json() == {
        "enabled": False,
        "enrolment_pending": True,
        "recovery_codes_left": 0,
        "trusted_devices": 0,
    }
    assert login(member).json()["access_token"]  # not on yet: the password is enough

    wrong = api.post(CONFIRM, {"code": "000000" if code_now(secret) != "000000" else "111111"})
    assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_code")
    assert not two_factor.is_enabled(user=member.user)

    confirmed = api.post(CONFIRM, {"code": code_now(secret)})

    assert confirmed.status_code == 200, confirmed.content
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 == len(set(codes))
    assert all(re.fullmatch(r"[a-z2-7]{5}-[a-z2-7]{5}", code) for code in codes)
    assert api.get(STATUS).json() == {
        "enabled": True,
        "enrolment_pending": False,
        "recovery_codes_left": 10,
        "trusted_devices": 0,
    }
    assert AuditLog.objects.filter(organization=member.organization, action="two_factor.enable").count() == 1
    assert (api.post(ENROL).status_code, api.post(ENROL).json()["code"]) == (409, "two_factor_enabled")


def test_the_secret_is_encrypted_and_recovery_codes_hashed(member):
    secret, codes = enrol(member.user)

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_twofactor WHERE user_id = %s", [member.user.pk])
        [(stored,)] = cursor.fetchall()
    assert secret not in stored and stored.startswith("gAAAA")  # a Fernet token
    stored_hashes = set(RecoveryCode.objects.values_list("code_hash", flat=True))
    assert len(stored_hashes) == 10 and not stored_hashes & set(codes)


# --- the password sign-in over the API ----------------------------------------------------------------------------


def test_a_password_sign_in_asks_for_the_second_step_and_verify_answers_as_login(member):
    secret, _ = enrol(member.user)

    challenge = challenge_of(login(member))

    assert UserSession.objects.filter(user=member.user).count() == 0
    assert not AuditLog.objects.filter(action="auth.login").exists()
    r = APIClient().post(VERIFY, {"challenge": challenge, "code": code_now(secret)}, HTTP_USER_AGENT=CHROME)
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["user"]["email"], body["organization"]["id"], body["role"]) == (
        member.user.email,
        member.organization_id,
        "agent",
    )
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.get("/api/v1/auth/me").status_code == 200
    assert AuditLog.objects.filter(organization=member.organization, action="auth.login").count() == 1
    assert two_factor.TRUST_COOKIE not in r.cookies


def test_codes_of_one_step_either_side_pass_and_two_steps_off_fail(member, frozen):
    secret, _ = enrol(member.user)

    for shift, status in ((-2, 400), (2, 400), (-1, 200)):
        r = APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "code": code_now(secret, shift)})
        assert r.status_code == status, (shift, r.content)
    frozen.shift(timedelta(seconds=30))
    r = APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "code": code_now(secret, 1)})
    assert r.status_code == 200, r.content


def test_a_code_works_once_and_an_older_one_is_refused_after_a_newer(member, frozen):
    secret, _ = enrol(member.user)
    code = code_now(secret)
    assert APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "code": code}).status_code == 200

    replay = APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "code": code})
    older = APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "code": code_now(secret, -1)})

    assert (replay.status_code, replay.json()["code"]) == (400, "invalid_code")
    assert replay.json()["errors"] == {"code": ["This code is not valid, or was already used."]}
    assert older.status_code == 400
    frozen.shift(timedelta(seconds=30))
    assert (
        APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "code": code_now(secret)}).status_code
        == 200
    )


def test_a_challenge_works_once_and_for_five_minutes(member, frozen):
    secret, _ = enrol(member.user)
    challenge = challenge_of(login(member))
    assert APIClient().post(VERIFY, {"challenge": challenge, "code": code_now(secret)}).status_code == 200
    frozen.shift(timedelta(seconds=30))

    again = APIClient().post(VERIFY, {"challenge": challenge, "code": code_now(secret)})
    late_challenge = challenge_of(login(member))
    frozen.shift(timedelta(minutes=5, seconds=1))
    late = APIClient().post(VERIFY, {"challenge": late_challenge, "code": code_now(secret)})
    forged = APIClient().post(VERIFY, {"challenge": challenge[:-2] + "xx", "code": code_now(secret)})

    for response in (again, late, forged):
        assert (response.status_code, response.json()["code"]) == (401, "invalid_challenge")


def test_verify_needs_a_code_or_a_recovery_code(member):
    enrol(member.user)
    body = assert_error(APIClient().post(VERIFY, {"challenge": challenge_of(login(member))}), 400)
    assert body["errors"] == {"code": ["Give a code or a recovery code."]}


def test_a_password_change_voids_a_waiting_challenge(member):
    secret, _ = enrol(member.user)
    challenge = challenge_of(login(member))
    member.user.token_version += 1
    member.user.save(update_fields=["token_version"])

    r = APIClient().post(VERIFY, {"challenge": challenge, "code": code_now(secret)})

    assert (r.status_code, r.json()["code"]) == (401, "invalid_challenge")


# --- recovery codes -----------------------------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once_and_is_audited(member):
    _, codes = enrol(member.user)

    first = APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "recovery_code": codes[3].upper()})
    again = APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "recovery_code": codes[3]})

    assert first.status_code == 200, first.content
    assert (again.status_code, again.json()["errors"]) == (
        400,
        {"recovery_code": ["This code is not valid, or was already used."]},
    )
    used = AuditLog.objects.get(organization=member.organization, action="two_factor.recovery_code_used")
    assert used.data == {"left": 9}
    assert two_factor.recovery_codes_left(user=member.user) == 9


def test_new_recovery_codes_void_the_old_ones_and_the_trusted_browsers(member):
    secret, old = enrol(member.user)
    api = client_for(member)
    device = trusted(member, secret)

    refused = api.post(RECOVERY, {"password": "wrong"})
    assert (refused.status_code, refused.json()["errors"]) == (400, {"password": ["The password is not correct."]})
    r = api.post(RECOVERY, {"password": PASSWORD})

    assert r.status_code == 200, r.content
    new = r.json()["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    stale = APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "recovery_code": old[0]})
    assert stale.status_code == 400
    fresh = APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "recovery_code": new[0]})
    assert fresh.status_code == 200
    device.refresh_from_db()
    assert device.revoked_at is not None
    assert AuditLog.objects.filter(action="two_factor.recovery_codes").count() == 1


# --- trusted browsers ---------------------------------------------------------------------------------------------


def trusted(member, secret, client=None) -> TrustedDevice:
    """Sign in with "trust this browser" on `client` (a cookie jar); returns the new trusted browser."""
    client = client or APIClient()
    r = client.post(
        VERIFY,
        {"challenge": challenge_of(login(member, client)), "code": code_now(secret), "trust_device": True},
        HTTP_USER_AGENT=CHROME,
    )
    assert r.status_code == 200, r.content
    TwoFactor.objects.filter(user=member.user).update(last_used_step=0)  # the next test code may be the same step
    return TrustedDevice.objects.filter(user=member.user).latest("id")


def test_a_trusted_browser_skips_the_second_step_until_it_expires(member, frozen):
    secret, _ = enrol(member.user)
    browser = APIClient()

    device = trusted(member, secret, browser)

    cookie = browser.cookies[two_factor.TRUST_COOKIE]
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert cookie["max-age"] == 30 * 24 * 3600
    assert device.label == "Chrome 120 on Windows"
    assert device.expires_at == timezone.now() + timedelta(days=30)
    direct = login(member, browser)
    assert direct.status_code == 200 and "access_token" in direct.json()
    assert challenge_of(login(member))  # another client still needs the code

    frozen.shift(timedelta(days=30, seconds=1))
    assert challenge_of(login(member, browser))


def test_the_cookie_is_secure_over_https(member):
    secret, _ = enrol(member.user)
    browser = APIClient()
    challenge = challenge_of(login(member, browser, secure=True))
    r = browser.post(VERIFY, {"challenge": challenge, "code": code_now(secret), "trust_device": True}, secure=True)
    assert r.cookies[two_factor.TRUST_COOKIE]["secure"] is True


def test_a_trusted_browser_of_another_account_does_not_count(member, admin_membership):
    enrol(member.user)
    other_secret, _ = enrol(admin_membership.user)
    browser = APIClient()
    trusted(admin_membership, other_secret, browser)

    assert challenge_of(login(member, browser))


def test_trusted_browsers_are_listed_and_revoked_by_their_owner_only(member, admin_membership):
    secret, _ = enrol(member.user)
    browser = APIClient()
    device = trusted(member, secret, browser)
    api = client_for(member)

    listed = api.get(DEVICES).json()["results"]
    assert [(row["id"], row["label"]) for row in listed] == [(device.pk, "Chrome 120 on Windows")]
    assert client_for(admin_membership).get(DEVICES).json()["results"] == []
    assert assert_error(client_for(admin_membership).delete(f"{DEVICES}/{device.pk}"), 404)
    assert api.delete(f"{DEVICES}/{device.pk}").status_code == 204

    assert api.get(DEVICES).json()["results"] == []
    assert challenge_of(login(member, browser))
    assert assert_error(api.delete(f"{DEVICES}/{device.pk}"), 404)
    revoked = AuditLog.objects.get(organization=member.organization, action="two_factor.device_revoke")
    assert revoked.data == {"device": "Chrome 120 on Windows"}


# --- turning it off -----------------------------------------------------------------------------------------------


def test_turning_off_needs_a_current_code_or_the_password_and_removes_everything(member):
    secret, _ = enrol(member.user)
    device = trusted(member, secret)
    api = client_for(member)

    assert assert_error(api.post(DISABLE, {}), 400)["errors"] == {"code": ["Give a current code or your password."]}
    assert api.post(DISABLE, {"code": "123456" if code_now(secret) != "123456" else "654321"}).status_code == 400
    assert two_factor.is_enabled(user=member.user)

    assert api.post(DISABLE, {"code": code_now(secret)}).status_code == 204

    assert not TwoFactor.objects.filter(user=member.user).exists()
    assert not RecoveryCode.objects.filter(user=member.user).exists()
    device.refresh_from_db()
    assert device.revoked_at is not None
    assert "access_token" in login(member).json()
    disabled = AuditLog.objects.get(organization=member.organization, action="two_factor.disable")
    assert disabled.data == {"trusted_devices_revoked": 1}
    assert (api.post(DISABLE, {"password": PASSWORD}).json()["code"]) == "two_factor_disabled"


def test_turning_off_with_the_password(member):
    enrol(member.user)
    assert client_for(member).post(DISABLE, {"password": PASSWORD}).status_code == 204
    assert not two_factor.is_enabled(user=member.user)


# --- wrong codes are limited --------------------------------------------------------------------------------------


def test_wrong_codes_are_counted_per_account_and_then_refused(member, settings):
    settings.AXES_FAILURE_LIMIT = 3
    secret, _ = enrol(member.user)
    wrong = "000000" if code_now(secret) != "000000" else "111111"
    for _ in range(3):
        r = APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "code": wrong})
        assert r.status_code == 400

    blocked = APIClient().post(VERIFY, {"challenge": challenge_of(login(member)), "code": code_now(secret)})

    assert (blocked.status_code, blocked.json()["code"]) == (429, "too_many_attempts")
    assert blocked["Retry-After"] == str(15 * 60)
    assert two_factor.is_enabled(user=member.user)


def test_the_verify_route_is_throttled_per_client(member, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "2/min"},
    }
    for _ in range(2):
        APIClient().post(VERIFY, {"challenge": "x", "code": "123456"})
    assert assert_error(APIClient().post(VERIFY, {"challenge": "x", "code": "123456"}), 429)


# --- Google and e-mail links --------------------------------------------------------------------------------------


def test_a_google_sign_in_asks_for_the_second_step(fake_google, member):
    secret, _ = enrol(member.user)

    r = APIClient().post("/api/v1/auth/google", {"token": fake_google.id_token(email=member.user.email)})

    done = APIClient().post(VERIFY, {"challenge": challenge_of(r), "code": code_now(secret)})
    assert done.status_code == 200, done.content
    assert AuditLog.objects.get(action="auth.login").data == {"method": "google"}


def test_an_email_link_is_used_and_asks_for_the_second_step(member):
    secret, _ = enrol(member.user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        APIClient().post("/api/v1/auth/magic-link", {"email": member.user.email})
    token = re.search(r"/magic-link\?token=([\w-]+)", mail.outbox[0].body).group(1)

    r = APIClient().post("/api/v1/auth/magic-link/verify", {"token": token})

    challenge = challenge_of(r)
    assert MagicLink.objects.get().used_at is not None
    assert APIClient().post("/api/v1/auth/magic-link/verify", {"token": token}).status_code == 401
    done = APIClient().post(VERIFY, {"challenge": challenge, "code": code_now(secret)})
    assert done.status_code == 200, done.content
    assert AuditLog.objects.get(action="auth.login").data == {"method": "magic_link"}


# --- the organization's requirement -------------------------------------------------------------------------------


def require_for_admins(org) -> None:
    services.organization_update(organization=org, actor=None, settings={"require_admin_two_factor": True})


def test_admins_must_enrol_before_admin_routes_when_required(admin_membership, agent_membership):
    require_for_admins(admin_membership.organization)
    admin = client_for(admin_membership)

    refused = admin.get("/api/v1/audit-log")

    assert (refused.status_code, refused.json()["code"]) == (403, "two_factor_enrolment_required")
    assert admin.get("/api/v1/auth/me").status_code == 200  # the rest works: they can enrol
    assert client_for(agent_membership).get("/api/v1/conversations").status_code == 200
    enrol(admin_membership.user)
    assert admin.get("/api/v1/audit-log").status_code == 200


def test_an_admin_turns_the_requirement_on_only_with_two_step_on(admin_membership):
    api = client_for(admin_membership)
    setting = {"settings": {"require_admin_two_factor": True}}

    refused = api.patch("/api/v1/organization", setting, format="json")

    body = assert_error(refused, 400)
    assert body["errors"] == {
        "settings": {
            "require_admin_two_factor": ["Turn on two-step sign-in for yourself before requiring it of admins."]
        }
    }
    enrol(admin_membership.user)
    assert api.patch("/api/v1/organization", setting, format="json").status_code == 200
    admin_membership.organization.refresh_from_db()
    assert admin_membership.organization.settings["require_admin_two_factor"] is True
    bad = api.patch("/api/v1/organization", {"settings": {"require_admin_two_factor": "yes"}}, format="json")
    assert assert_error(bad, 400)["errors"] == {"settings": {"require_admin_two_factor": ["Must be true or false."]}}


def test_an_admin_without_it_is_sent_to_enrolment_by_the_pages(admin_membership):
    require_for_admins(admin_membership.organization)
    browser = Client()

    signed = browser.post("/sign-in/", {"email": admin_membership.user.email, "password": PASSWORD})

    assert signed["Location"] == "/account/security/"
    assert browser.get("/settings/team/")["Location"] == "/account/security/"
    page = browser.get("/account/security/")
    assert page.status_code == 200
    assert "requires admins to use two-step sign-in" in page.content.decode()


# --- the pages ----------------------------------------------------------------------------------------------------


def test_the_security_page_enrols_and_shows_the_recovery_codes_once(member, frozen):
    browser = signed_in(member)
    assert 'data-two-step="off"' in browser.get("/account/security/").content.decode()

    assert browser.post("/account/security/set-up/")["Location"] == "/account/security/"
    page = browser.get("/account/security/").content.decode()
    secret = re.search(r'data-totp-secret="([A-Z2-7]+)"', page).group(1)
    assert 'src="data:image/png;base64,' in page
    wrong = browser.post("/account/security/confirm/", {"code": "12"})
    assert wrong.status_code == 400 and "This code is not valid" in wrong.content.decode()

    done = browser.post("/account/security/confirm/", {"code": code_now(secret)})

    assert done.status_code == 200
    shown = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", done.content.decode())
    assert len(shown) == 10
    later = browser.get("/account/security/").content.decode()
    assert 'data-two-step="on"' in later and shown[0] not in later
    frozen.shift(timedelta(seconds=30))
    turned_off = browser.post("/account/security/turn-off/", {"disable-code": code_now(secret)})
    assert turned_off["Location"] == "/account/security/"
    assert not two_factor.is_enabled(user=member.user)


def test_the_sign_in_pages_ask_for_the_code_and_trust_the_browser(member):
    secret, _ = enrol(member.user)
    browser = Client(HTTP_USER_AGENT=CHROME)

    first = browser.post("/sign-in/", {"email": member.user.email, "password": PASSWORD})

    assert first["Location"] == "/sign-in/two-step/"
    assert "_auth_user_id" not in browser.session
    page = browser.get("/sign-in/two-step/")
    assert member.user.email in page.content.decode()
    wrong = browser.post("/sign-in/two-step/", {"code": "1"})
    assert wrong.status_code == 200 and "This code is not valid" in wrong.content.decode()
    done = browser.post("/sign-in/two-step/", {"code": code_now(secret), "trust_device": "on"})
    assert done["Location"] == "/inbox/"
    assert browser.session["_auth_user_id"] == str(member.user.pk)
    assert browser.cookies[two_factor.TRUST_COOKIE]["httponly"]
    assert browser.get("/sign-in/two-step/")["Location"] == "/sign-in/"  # nothing waiting any more

    browser.post("/sign-out/")
    again = browser.post("/sign-in/", {"email": member.user.email, "password": PASSWORD})
    assert again["Location"] == "/inbox/"

    security = browser.get("/account/security/").content.decode()
    device = TrustedDevice.objects.get(user=member.user)
    assert f'data-trusted-device="{device.pk}"' in security
    assert browser.post(f"/account/security/trusted/{device.pk}/revoke/")["Location"] == "/account/security/"
    assert (
        signed_in(MembershipFactory(organization=member.organization, role=Role.AGENT))
        .post(f"/account/security/trusted/{device.pk}/revoke/")
        .status_code
        == 404
    )


def test_the_magic_link_and_google_pages_ask_for_the_code(fake_google, member):
    enrol(member.user)
    browser = Client()
    browser.get("/sign-in/google/")
    state = browser.session["google_oauth"]["state"]
    code = fake_google.issue_code(email=member.user.email, nonce=browser.session["google_oauth"]["nonce"])

    back = browser.get("/sign-in/google/callback", {"state": state, "code": code})

    assert back["Location"] == "/sign-in/two-step/"
    assert "_auth_user_id" not in browser.session

    with TestCase.captureOnCommitCallbacks(execute=True):
        APIClient().post("/api/v1/auth/magic-link", {"email": member.user.email})
    token = re.search(r"/magic-link\?token=([\w-]+)", mail.outbox[0].body).group(1)
    linked = Client().post(f"/magic-link?token={token}")
    assert linked["Location"] == "/sign-in/two-step/"


def test_joining_by_invitation_with_an_existing_account_asks_for_the_code(member, other_org):
    secret, _ = enrol(member.user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        invitation = services.invitation_create(
            organization=other_org, email=member.user.email, role=Role.AGENT, invited_by=None
        )
    token = re.search(r"accept-invite\?token=([\w-]+)", mail.outbox[-1].body).group(1)
    browser = Client()

    joined = browser.post(f"/accept-invite?token={token}", {"password": PASSWORD})

    assert joined["Location"] == "/sign-in/two-step/"
    assert "_auth_user_id" not in browser.session
    done = browser.post("/sign-in/two-step/", {"code": code_now(secret)})
    assert done["Location"] == "/inbox/"
    assert browser.session["_auth_user_id"] == str(member.user.pk)
    assert browser.session["organization_id"] == invitation.organization_id


def test_the_organization_page_sets_the_requirement(admin_membership):
    enrol(admin_membership.user)
    browser = signed_in(admin_membership)
    page = browser.get("/settings/organization/").content.decode()
    assert 'name="require_admin_two_factor"' in page
    form = {
        "name": admin_membership.organization.name,
        "timezone": "UTC",
        "locale": "en",
        "opt_out_keywords": "",
        "opt_in_keywords": "",
        "require_admin_two_factor": "on",
    }
    r = browser.post("/settings/organization/", form)
    assert r.status_code == 302, r.content.decode()[:2000]
    admin_membership.organization.refresh_from_db()
    assert admin_membership.organization.settings["require_admin_two_factor"] is True


def test_the_django_admin_shows_trusted_browsers_without_their_token(member, staff_browser):
    secret, _ = enrol(member.user)
    device = trusted(member, secret)

    page = staff_browser.get(f"/admin/accounts/trusteddevice/{device.pk}/change/").content.decode()

    assert "Chrome 120 on Windows" in page
    assert device.token_hash not in page and "token_hash" not in page


def test_nothing_changes_for_people_without_it(member):
    r = login(member)
    assert "access_token" in r.json()
    assert not TwoFactor.objects.exists()
