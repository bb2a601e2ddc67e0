"""The lockout cannot be turned against the owner: failures count per address and client, slow down progressively,
lock the attacker's client only; the owner signs in from their known browser or with an e-mail link; lockouts are
audited and the owner told once."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client, TestCase
from rest_framework.test import APIClient

from accounts.models import AuditLog, Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory

LOGIN = "/api/v1/auth/login"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def member(org):
    return MembershipFactory(organization=org, user=UserFactory(email="owner@example.com"), role=Role.AGENT)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def attempt(client, password="wrong", email="owner@example.com"):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(LOGIN, {"email": email, "password": password})


def fail_until_locked(client, clock) -> list[tuple[int, str | None]]:
    """Five failures, each after the wait the previous answer asked for; (status, Retry-After) of each answer."""
    answers = []
    for _ in range(5):
        r = attempt(client)
        answers.append((r.status_code, r.headers.get("Retry-After")))
        clock.shift(timedelta(seconds=2 ** len(answers)))  # the wait the slow-down asks for
    return answers


def test_failures_slow_down_progressively(member, clock):
    client = APIClient(REMOTE_ADDR=ATTACKER)
    assert attempt(client).status_code == 401
    assert attempt(client).status_code == 401  # the 2nd failure: from now on, waits

    waits = []
    for _ in range(2):
        early = attempt(client)
        assert early.status_code == 429
        assert early.json()["code"] == "too_many_attempts"
        waits.append(int(early["Retry-After"]))
        clock.shift(timedelta(seconds=waits[-1]))
        assert attempt(client).status_code == 401  # after the wait, the attempt is checked (and fails)

    assert waits == [2, 4]
    early = attempt(client, PASSWORD)  # too early: not even the right password is checked
    assert (early.status_code, early["Retry-After"]) == (429, "8")


def test_the_attackers_client_is_locked_not_the_owner(member, clock):
    attacker = APIClient(REMOTE_ADDR=ATTACKER)
    assert [status for status, _ in fail_until_locked(attacker, clock)] == [401] * 5

    locked = attempt(attacker, PASSWORD)
    assert locked.status_code == 401
    assert locked.json()["code"] == "account_locked"
    assert 0 < int(locked["Retry-After"]) <= 15 * 60

    owner = attempt(APIClient(REMOTE_ADDR=OWNER), PASSWORD)
    assert owner.status_code == 200, owner.content


def test_the_owners_known_browser_signs_in_behind_the_attackers_address(member, clock):
    shared = "192.0.2.50"  # the owner and the attacker behind one address (an office, a carrier's NAT)
    owner = Client(REMOTE_ADDR=shared)
    first = owner.post("/sign-in/", {"email": member.user.email, "password": PASSWORD})
    assert first.status_code == 302
    assert "wh_device" in first.cookies
    owner.post("/sign-out/")

    attacker = APIClient(REMOTE_ADDR=shared)
    fail_until_locked(attacker, clock)
    assert attempt(attacker, PASSWORD).json()["code"] == "account_locked"

    again = owner.post("/sign-in/", {"email": member.user.email, "password": PASSWORD})
    assert again.status_code == 302, again.content.decode()[:500]
    assert owner.session["_auth_user_id"] == str(member.user.pk)


def test_a_known_device_cookie_does_not_carry_to_another_account(member, clock):
    other = MembershipFactory(organization=member.organization, user=UserFactory(email="other@example.com"))
    browser = APIClient(REMOTE_ADDR=ATTACKER)
    assert attempt(browser, PASSWORD, email=other.user.email).status_code == 200  # a known device of other only
    fail_until_locked(browser, clock)

    assert attempt(browser, PASSWORD).json()["code"] == "account_locked"


def test_a_forged_device_cookie_counts_as_an_unknown_client(member, clock):
    attacker = APIClient(REMOTE_ADDR=ATTACKER)
    fail_until_locked(attacker, clock)
    attacker.cookies["wh_device"] = "eyJkIjoiZm9yZ2VkIiwiYSI6W119:forged:signature"

    assert attempt(attacker, PASSWORD).json()["code"] == "account_locked"


def test_the_owner_signs_in_with_an_email_link_from_the_locked_client(member, clock):
    client = APIClient(REMOTE_ADDR=ATTACKER)
    fail_until_locked(client, clock)
    mail.outbox.clear()

    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post("/api/v1/auth/magic-link", {"email": member.user.email})
    token = re.search(r"token=([\w-]+)", mail.outbox[0].body).group(1)
    r = client.post("/api/v1/auth/magic-link/verify", {"token": token})

    assert r.status_code == 200, r.content
    assert r.json()["user"]["email"] == member.user.email


def test_a_lockout_is_audited_and_the_owner_told_once(member, clock):
    second_org = MembershipFactory(user=member.user).organization
    fail_until_locked(APIClient(REMOTE_ADDR=ATTACKER), clock)
    attempt(APIClient(REMOTE_ADDR=ATTACKER), PASSWORD)  # trying during the lock: no second record
    fail_until_locked(APIClient(REMOTE_ADDR="203.0.113.8"), clock)  # another client locked in the same window

    audits = AuditLog.objects.filter(action="auth.lockout").order_by("id")
    assert sorted((a.data["ip_address"], a.organization_id) for a in audits) == sorted(
        (ip, org) for ip in (ATTACKER, "203.0.113.8") for org in (member.organization_id, second_org.pk)
    )
    assert {a.target_id for a in audits} == {str(member.user.pk)}
    [notice] = mail.outbox
    assert notice.to == [member.user.email]
    assert notice.subject == "Failed sign-in attempts on your WhatsApp Hub account"
    assert ATTACKER in notice.body
    assert "/sign-in/link/" in notice.body
    assert notice.alternatives[0][1] == "text/html"


def test_an_unknown_address_is_locked_too_but_nothing_is_audited_or_sent(member, clock):
    client = APIClient(REMOTE_ADDR=ATTACKER)
    for _ in range(5):
        attempt(client, email="ghost@example.com")
        clock.shift(timedelta(seconds=60))

    assert attempt(client, email="ghost@example.com").json()["code"] == "account_locked"
    assert not AuditLog.objects.filter(action="auth.lockout").exists()
    assert mail.outbox == []
