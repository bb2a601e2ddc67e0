"""E-mail sign-in links: the same answer for any address, rate-limited, single use, 15 minutes, in the person's
language (HTML and text); the link's page signs the browser in."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client, TestCase
from rest_framework.test import APIClient

from accounts import services
from accounts.models import EmailLog, MagicLink, Role
from tests.factories import MembershipFactory, UserFactory

REQUEST = "/api/v1/auth/magic-link"
VERIFY = "/api/v1/auth/magic-link/verify"
SENT = {"detail": "If an account exists for this e-mail, a sign-in link has been sent to it."}


@pytest.fixture
def member(org):
    return MembershipFactory(organization=org, user=UserFactory(email="sam@example.com", name="Sam"), role=Role.AGENT)


def ask(email: str, client=None):
    with TestCase.captureOnCommitCallbacks(execute=True):  # the e-mail task is queued after the commit
        return (client or APIClient()).post(REQUEST, {"email": email})


def token_in(message) -> str:
    return re.search(r"/magic-link\?token=([\w-]+)", message.body).group(1)


def test_asking_sends_a_single_use_link_that_signs_in(member):
    r = ask("SAM@example.com")

    assert (r.status_code, r.json()) == (202, SENT)
    [message] = mail.outbox
    assert message.to == ["sam@example.com"]
    assert message.subject == "Your WhatsApp Hub sign-in link"
    assert "within 15 minutes" in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html"
    token = token_in(message)
    assert f"/magic-link?token={token}" in html
    assert MagicLink.objects.get().token_hash != token  # only the digest is stored

    first = APIClient().post(VERIFY, {"token": token})
    assert first.status_code == 200, first.content
    assert (first.json()["user"]["email"], first.json()["role"]) == ("sam@example.com", "agent")
    second = APIClient().post(VERIFY, {"token": token})
    assert second.status_code == 401
    assert second.json()["code"] == "invalid_magic_link"


def test_the_same_answer_for_an_unknown_address(member):
    known, unknown = ask("sam@example.com"), ask("nobody@example.com")

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert [m.to for m in mail.outbox] == [["sam@example.com"]]
    assert MagicLink.objects.count() == 1


def test_the_email_is_sent_by_a_task_after_the_answer(member, task_runs):
    ask("nobody@example.com")
    ask("sam@example.com")

    # The link is made by the task; the e-mail it queued travels to the sending task as its log row's id.
    log = EmailLog.objects.get()
    assert task_runs == [
        ("accounts.tasks.send_magic_link", ("nobody@example.com",), {}),
        ("accounts.tasks.send_magic_link", ("sam@example.com",), {}),
        ("accounts.tasks.send_email", (log.pk,), {}),
    ]


def test_a_link_expires_after_15_minutes(member, frozen):
    ask(member.user.email)
    token = token_in(mail.outbox[0])

    frozen.shift(timedelta(minutes=15, seconds=1))

    assert APIClient().post(VERIFY, {"token": token}).status_code == 401
    assert MagicLink.objects.get().used_at is None


def test_a_link_works_until_its_15th_minute(member, frozen):
    ask(member.user.email)
    frozen.shift(timedelta(minutes=14, seconds=59))

    assert APIClient().post(VERIFY, {"token": token_in(mail.outbox[0])}).status_code == 200


def test_asking_is_limited_per_address_whether_it_exists_or_not(member):
    for n in range(5):
        assert ask("sam@example.com", APIClient(REMOTE_ADDR=f"10.1.0.{n}")).status_code == 202
        assert ask("ghost@example.com", APIClient(REMOTE_ADDR=f"10.2.0.{n}")).status_code == 202

    known, unknown = ask("sam@example.com"), ask("ghost@example.com")

    assert known.status_code == unknown.status_code == 429
    assert known.json() == unknown.json()
    assert len(mail.outbox) == 5


def test_asking_is_limited_per_client(db, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "magic_link_client": "3/hour"},
    }
    client = APIClient(REMOTE_ADDR="10.9.9.9")
    assert [ask(f"a{n}@example.com", client).status_code for n in range(4)] == [202, 202, 202, 429]
    assert ask("a9@example.com", APIClient(REMOTE_ADDR="10.9.9.10")).status_code == 202


def test_a_deactivated_account_gets_no_link_and_an_old_one_stops(member):
    ask(member.user.email)
    token = token_in(mail.outbox[0])
    member.user.is_active = False
    member.user.save()

    ask(member.user.email)

    assert len(mail.outbox) == 1
    assert APIClient().post(VERIFY, {"token": token}).status_code == 401


def test_the_email_follows_the_persons_language(member):
    member.user.language = "ar"
    member.user.save()

    ask(member.user.email)

    [message] = mail.outbox
    assert message.subject == "رابط تسجيل الدخول إلى WhatsApp Hub"
    assert 'dir="rtl"' in message.alternatives[0][0]


def test_require_google_refuses_the_link_and_leaves_it_unused(member):
    services.organization_update(
        organization=member.organization, actor=None, settings={"sign_in": {"require_google": True}}
    )
    ask(member.user.email)

    r = APIClient().post(VERIFY, {"token": token_in(mail.outbox[0])})

    assert (r.status_code, r.json()["code"]) == (403, "google_required")
    assert MagicLink.objects.get().used_at is None


def test_the_page_of_the_link_signs_the_browser_in_on_post_only(member):
    ask(member.user.email)
    token = token_in(mail.outbox[0])
    browser = Client()

    page = browser.get("/magic-link", {"token": token})  # a mail scanner opening the link uses nothing
    assert page.status_code == 200
    assert "sam@example.com" in page.content.decode()
    assert MagicLink.objects.get().used_at is None

    signed_in = browser.post(f"/magic-link?token={token}")

    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/inbox/"
    assert browser.session["_auth_user_id"] == str(member.user.pk)
    assert "wh_device" in signed_in.cookies
    assert Client().get("/magic-link", {"token": token}).status_code == 400  # used


def test_the_request_page_answers_the_same_for_any_address(member, client):
    with TestCase.captureOnCommitCallbacks(execute=True):
        known = client.post("/sign-in/link/", {"email": "sam@example.com"})
        unknown = Client().post("/sign-in/link/", {"email": "ghost@example.com"})

    assert known.status_code == unknown.status_code == 200
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
    assert strip.sub("", known.content.decode()).replace("sam@example.com", "X") == strip.sub(
        "", unknown.content.decode()
    ).replace("ghost@example.com", "X")
    assert len(mail.outbox) == 1


def test_the_sign_in_page_offers_the_link(db, client):
    assert 'href="/sign-in/link/"' in client.get("/sign-in/").content.decode()
