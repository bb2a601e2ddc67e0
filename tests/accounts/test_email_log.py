"""The e-mail pipeline (accounts.mail): every e-mail rendered from templates in the recipient's language, logged in
the caller's transaction, sent by a task after the commit with retries; the e-mail log API and settings page."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from accounts import lockout, magic_links, services
from accounts import mail as account_mail
from accounts.models import EmailAttachment, EmailLog, Role
from accounts.tasks import prune_email_logs
from automation.services.webhooks import webhook_endpoint_disabled_notify
from tests.accounts.mail_support import FlakyBackend, email_log
from tests.automation.webhooks_support import WebhookEndpointFactory
from tests.conftest import client_for, signed_in
from tests.factories import MembershipFactory, UserFactory
from whatsapp_hub.celery import app as celery_app

EMAIL_LOGS = "/api/v1/email-logs/"


@pytest.fixture
def flaky(settings):
    """A mail server that fails (FlakyBackend.failures), and Celery's inline mode running the retries as a worker
    would (propagating, it raises the first Retry to the caller instead)."""
    settings.EMAIL_BACKEND = "tests.accounts.mail_support.FlakyBackend"
    celery_app.conf.task_eager_propagates = False
    yield FlakyBackend
    celery_app.conf.task_eager_propagates = True
    FlakyBackend.failures = 0


def _arabic_member(org):
    return MembershipFactory(organization=org, role=Role.ADMIN, user=UserFactory(name="ليلى", language="ar"))


def _magic_link(org):
    member = _arabic_member(org)
    magic_links.magic_link_send(email=member.user.email)
    return member.user.email


def _lockout(org):
    member = _arabic_member(org)
    lockout.lockout_notice_send(user_id=member.user_id, ip_address="203.0.113.9")
    return member.user.email


def _password_reset(org):
    member = _arabic_member(org)
    services.password_reset_send(email=member.user.email)
    return member.user.email


def _invitation(org):
    """An address without an account: the organization's language (Arabic here)."""
    org.settings = {"locale": "ar"}
    org.save(update_fields=["settings"])
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    services.invitation_create(organization=org, email="new.person@example.com", role=Role.AGENT, invited_by=admin.user)
    return "new.person@example.com"


def _webhook_disabled(org):
    member = _arabic_member(org)
    endpoint = WebhookEndpointFactory(
        organization=org,
        active=False,
        disabled_at=timezone.now(),
        failing_since=timezone.now() - timedelta(days=3),
        consecutive_failures=5,
    )
    assert webhook_endpoint_disabled_notify(organization_id=org.pk, endpoint_id=endpoint.pk) == 1
    return member.user.email


# kind -> (make it send one e-mail to an Arabic reader, its Arabic subject, a phrase of its Arabic body)
ARABIC = {
    "magic_link": (_magic_link, "رابط تسجيل الدخول إلى WhatsApp Hub", "مرحبًا ليلى،"),
    "lockout": (_lockout, "محاولات تسجيل دخول فاشلة إلى حسابك في WhatsApp Hub", "203.0.113.9"),
    "password_reset": (_password_reset, "أعد تعيين كلمة مرور WhatsApp Hub", "مرحبًا ليلى،"),
    "invitation": (_invitation, "أنت مدعو إلى Acme على WhatsApp Hub", "مرحبًا،"),
    "webhook_disabled": (_webhook_disabled, "أُوقفت نقطة استقبال Webhook في Acme", "مرحبًا ليلى،"),
}


@pytest.mark.parametrize("kind", ARABIC)
def test_each_kind_is_rendered_in_the_recipient_s_language_with_html_and_text_parts(kind, org):
    make, subject, phrase = ARABIC[kind]

    with TestCase.captureOnCommitCallbacks(execute=True):
        address = make(org)

    [message] = mail.outbox
    assert (message.to, message.subject) == ([address], subject)
    assert phrase in message.body
    [(html, content_type)] = message.alternatives
    assert content_type == "text/html"
    assert '<html lang="ar" dir="rtl">' in html and phrase in html
    log = EmailLog.objects.get()
    assert (log.kind, log.recipient, log.subject, log.language, log.status, log.attempts) == (
        kind,
        address,
        subject,
        "ar",
        "sent",
        1,
    )
    assert log.organization == org  # the Arabic reader belongs to `org` alone; the invitation is from it
    assert log.sent_at == log.created_at or log.sent_at > log.created_at
    assert (log.body_text, log.body_html) == ("", "")  # sent: only the record stays


def test_an_english_reader_gets_the_english_e_mail(org, admin_membership):
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.password_reset_send(email=admin_membership.user.email)

    [message] = mail.outbox
    assert message.subject == "Reset your WhatsApp Hub password"
    assert '<html lang="en" dir="ltr">' in message.alternatives[0][0]
    assert EmailLog.objects.get().language == "en"


def test_the_body_is_encrypted_at_rest_until_it_is_sent(org, admin_membership):
    from django.db import connection

    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        log = account_mail.send_templated(
            user=admin_membership.user, template="lockout", context={"ip_address": "198.51.100.7", "minutes": 5}
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT body_text FROM accounts_emaillog WHERE id = %s", [log.pk])
        stored = cursor.fetchone()[0]
    assert "198.51.100.7" not in stored and "198.51.100.7" in EmailLog.objects.get().body_text
    assert (len(callbacks), mail.outbox) == (1, [])


def test_nothing_is_sent_before_the_commit_and_nothing_when_it_rolls_back(org, admin_membership):
    user = admin_membership.user
    context = {"ip_address": "198.51.100.7", "minutes": 5}

    with TestCase.captureOnCommitCallbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        account_mail.send_templated(user=user, template="lockout", context=context)
        raise RuntimeError("the caller's work failed")

    assert (mail.outbox, EmailLog.objects.count()) == ([], 0)

    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        log = account_mail.send_templated(user=user, template="lockout", context=context)
        assert mail.outbox == []
        assert EmailLog.objects.get().status == "queued"

    assert [m.to for m in mail.outbox] == [[user.email]]
    log.refresh_from_db()
    assert (log.status, log.attempts, log.kind, log.organization_id) == ("sent", 1, "lockout", org.pk)


def test_a_template_that_is_no_kind_is_logged_as_a_notification_and_attachments_travel(org, admin_membership):
    with TestCase.captureOnCommitCallbacks(execute=True):
        log = account_mail.send_templated(
            user=admin_membership.user,
            template="lockout",
            context={"ip_address": "?", "minutes": 5},
            kind="digest",
            attachments=[("report.csv", b"a,b\n1,2\n", "text/csv")],
        )

    [message] = mail.outbox
    assert message.attachments == [("report.csv", "a,b\n1,2\n", "text/csv")]
    log.refresh_from_db()
    assert log.kind == "digest"
    [attachment] = EmailAttachment.objects.filter(log=log)
    assert (attachment.filename, attachment.content_type, attachment.size, attachment.content) == (
        "report.csv",
        "text/csv",
        8,
        None,  # sent: the bytes are no longer kept
    )
    assert attachment.organization_id == org.pk


def test_a_mail_server_that_fails_is_retried_then_the_e_mail_is_sent(org, admin_membership, flaky):
    flaky.failures = 2

    with TestCase.captureOnCommitCallbacks(execute=True):
        log = account_mail.send_templated(
            user=admin_membership.user, template="lockout", context={"ip_address": "?", "minutes": 5}
        )

    log.refresh_from_db()
    assert (log.status, log.attempts, log.last_error) == ("sent", 3, "")
    assert [m.to for m in mail.outbox] == [[admin_membership.user.email]]


def test_after_the_last_attempt_the_e_mail_is_failed_with_its_error(org, admin_membership, flaky, settings):
    settings.EMAIL_MAX_ATTEMPTS = 3
    flaky.failures = -1

    with TestCase.captureOnCommitCallbacks(execute=True):
        log = account_mail.send_templated(
            user=admin_membership.user, template="lockout", context={"ip_address": "?", "minutes": 5}
        )

    log.refresh_from_db()
    assert (log.status, log.attempts, log.sent_at) == ("failed", 3, None)
    assert log.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert (log.body_text, log.body_html, mail.outbox) == ("", "", [])

    account_mail.email_deliver(log_id=log.pk)  # a late run of the task: nothing more

    log.refresh_from_db()
    assert (log.status, log.attempts) == ("failed", 3)


def test_a_second_run_of_the_task_sends_nothing_more(org, admin_membership):
    with TestCase.captureOnCommitCallbacks(execute=True):
        log = account_mail.send_templated(
            user=admin_membership.user, template="lockout", context={"ip_address": "?", "minutes": 5}
        )

    account_mail.email_deliver(log_id=log.pk)

    assert len(mail.outbox) == 1
    log.refresh_from_db()
    assert log.attempts == 1


# --- GET email-logs ------------------------------------------------------------------------------------


def test_admins_list_their_organization_s_e_mails_newest_first_with_attachments(
    org, other_org, admin_client, django_assert_num_queries
):
    older = email_log(org, recipient="a@example.com", attachments=())
    newer = email_log(org, recipient="b@example.com", attachments=[("report.csv", 120), ("chart.png", 2048)])
    email_log(other_org)
    email_log(None)  # platform mail: staff only

    with django_assert_num_queries(5):  # auth (2), count, page, attachments
        r = admin_client.get(EMAIL_LOGS)

    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
    first = body["results"][0]
    assert set(first) == {
        "id",
        "created_at",
        "sent_at",
        "kind",
        "recipient",
        "user",
        "subject",
        "language",
        "status",
        "attempts",
        "last_error",
        "attachments",
    }
    assert first["attachments"] == [
        {"filename": "report.csv", "content_type": "text/csv", "size": 120},
        {"filename": "chart.png", "content_type": "text/csv", "size": 2048},
    ]
    detail = admin_client.get(f"{EMAIL_LOGS}{newer.pk}/")
    assert (detail.status_code, detail.json()) == (200, first)


def test_the_list_filters_by_kind_status_recipient_and_dates(org, admin_client):
    two_days_ago = timezone.now() - timedelta(days=2)
    invitation = email_log(org, kind="invitation", recipient="Layla@Example.com", created_at=two_days_ago)
    failed = email_log(
        org, kind="notification", status="failed", last_error="SMTPServerDisconnected: closed", created_at=two_days_ago
    )
    later = email_log(org, kind="notification", recipient="sam@example.com")
    today = timezone.now().date()

    def ids(**query) -> list[int]:
        r = admin_client.get(EMAIL_LOGS, query)
        assert r.status_code == 200, r.content
        return [row["id"] for row in r.json()["results"]]

    assert ids(kind="invitation") == [invitation.pk]
    assert ids(status="failed") == [failed.pk]
    assert ids(recipient="layla@") == [invitation.pk]
    assert ids(date_from=today.isoformat()) == [later.pk]
    assert ids(date_to=(today - timedelta(days=1)).isoformat()) == [failed.pk, invitation.pk]
    assert ids(date_to=today.isoformat()) == [later.pk, failed.pk, invitation.pk]  # a bare date is inclusive
    assert ids(kind="notification", status="sent") == [later.pk]


@pytest.mark.parametrize("query", [{"kind": "nope"}, {"status": "lost"}, {"date_from": "yesterday"}])
def test_a_bad_filter_is_a_400(org, admin_client, query):
    r = admin_client.get(EMAIL_LOGS, query)

    assert r.status_code == 400
    assert list(r.json()["errors"]) == list(query)


def test_only_admins_read_the_e_mail_log(org, agent_membership, marketing_membership):
    log = email_log(org)

    for membership in (agent_membership, marketing_membership):
        client = client_for(membership)
        assert client.get(EMAIL_LOGS).status_code == 403
        assert client.get(f"{EMAIL_LOGS}{log.pk}/").status_code == 403


def test_another_organization_s_e_mail_is_a_404(org, outsider_client):
    log = email_log(org)

    assert outsider_client.get(f"{EMAIL_LOGS}{log.pk}/").status_code == 404
    assert outsider_client.get(EMAIL_LOGS).json()["count"] == 0


# --- Settings > E-mail log -----------------------------------------------------------------------------


def test_the_page_lists_the_e_mails_with_their_status_and_attachments(org, other_org, admin_membership):
    email_log(org, recipient="layla@example.com", subject="You are invited", kind="invitation")
    email_log(
        org,
        recipient="sam@example.com",
        status="failed",
        attempts=7,
        last_error="SMTPServerDisconnected: closed",
        attachments=[("report.csv", 2048)],
    )
    email_log(other_org, recipient="outsider@example.com")

    page = signed_in(admin_membership).get("/settings/email-log/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "layla@example.com" in html and "sam@example.com" in html and "outsider@example.com" not in html
    assert '<span class="badge badge-success">Sent</span>' in html
    assert '<span class="badge badge-danger">Failed</span>' in html
    assert "7 attempts" in html and "SMTPServerDisconnected: closed" in html
    assert "report.csv" in html and "2.0\xa0KB" in html

    filtered = signed_in(admin_membership).get("/settings/email-log/", {"status": "failed"}).content.decode()
    assert "sam@example.com" in filtered and "layla@example.com" not in filtered
    searched = signed_in(admin_membership).get("/settings/email-log/", {"recipient": "LAYLA"}).content.decode()
    assert "layla@example.com" in searched and "sam@example.com" not in searched


def test_the_page_in_arabic(org):
    member = _arabic_member(org)
    email_log(org, kind="invitation")

    html = signed_in(member).get("/settings/email-log/").content.decode()

    assert "سجل البريد الإلكتروني" in html and "دعوة" in html and "أُرسلت" in html


def test_the_page_is_for_admins_only(org, agent_membership):
    email_log(org, recipient="layla@example.com")

    page = signed_in(agent_membership).get("/settings/email-log/")

    assert page.status_code == 403
    assert "layla@example.com" not in page.content.decode()


def test_the_page_s_empty_state_and_a_bad_filter(org, admin_membership):
    html = signed_in(admin_membership).get("/settings/email-log/").content.decode()
    assert "No e-mail sent yet" in html

    page = signed_in(admin_membership).get("/settings/email-log/", {"date_from": "soon", "kind": "nope"})
    assert page.status_code == 200
    assert 'role="alert"' in page.content.decode()


def test_the_sweeper_queues_again_an_e_mail_left_queued_and_then_leaves_it_alone(org, admin_membership, frozen):
    # The broker was down when the transaction committed: the e-mail stayed queued, nothing was sent.
    with TestCase.captureOnCommitCallbacks(execute=False):
        log = account_mail.send_templated(
            user=admin_membership.user, template="lockout", context={"ip_address": "?", "minutes": 5}
        )
    sent = email_log(org, created_at=timezone.now() - timedelta(hours=2))

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert account_mail.email_logs_requeue() == 0  # too early: a retry may be waiting in the broker
    frozen.shift(account_mail.REQUEUE_AFTER + timedelta(seconds=1))
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        assert account_mail.email_logs_requeue() == 1
        assert account_mail.email_logs_requeue() == 0  # stamped: the next sweep leaves it alone

    for callback in callbacks:
        callback()
    log.refresh_from_db()
    assert (log.status, log.attempts, [m.to for m in mail.outbox]) == ("sent", 1, [[admin_membership.user.email]])
    sent.refresh_from_db()
    assert sent.status == "sent"


def test_sent_and_failed_e_mails_past_the_retention_go_with_their_attachments_in_batches(
    org, other_org, settings, frozen
):
    settings.EMAIL_LOG_RETENTION_DAYS = 90
    now = timezone.now()

    def log(days_ago, status="sent", organization=org):
        return email_log(organization, status=status, created_at=now - timedelta(days=days_ago))

    old = [log(91), log(120, "failed"), log(400, organization=other_org), log(100, organization=None)]
    kept = [log(89.9), log(1, "failed"), log(200, "queued")]  # a queued one is still owed its send

    assert account_mail.email_logs_prune(batch_size=3) == 4  # two batches
    assert sorted(EmailLog.objects.values_list("pk", flat=True)) == sorted(row.pk for row in kept)
    assert sorted(EmailAttachment.objects.values_list("log_id", flat=True)) == sorted(row.pk for row in kept)
    assert not EmailLog.objects.filter(pk__in=[row.pk for row in old]).exists()

    settings.EMAIL_LOG_RETENTION_DAYS = 30
    log(31)
    assert prune_email_logs.delay().get() == 2  # the 31 days old one, and the 89.9 days old one now
    assert sorted(EmailLog.objects.values_list("pk", flat=True)) == sorted(row.pk for row in kept[1:])


def test_the_e_mail_log_retention_is_on_the_beat_schedule_hourly_by_default(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["accounts-email-log-retention"]
    assert (entry["task"], entry["schedule"]) == ("accounts.tasks.prune_email_logs", 3600.0)
    assert settings.EMAIL_LOG_RETENTION_DAYS == 90
