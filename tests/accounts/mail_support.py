"""E-mail log rows for the tests that need one as it stands after sending (the walkers, the admin, the pages)."""

import secrets
import smtplib

from django.core.mail.backends import locmem
from django.utils import timezone

from accounts.models import EmailAttachment, EmailLog


def email_log(org, *, attachments=(("report.csv", 120),), created_at=None, **fields) -> EmailLog:
    """A sent e-mail of `org` (fields override), with attachments (filename, size) whose bytes are already gone."""
    values = {
        "recipient": f"r-{secrets.token_hex(3)}@example.com",
        "kind": EmailLog.Kind.NOTIFICATION,
        "subject": "Probe",
        "language": "en",
        "status": EmailLog.Status.SENT,
        "attempts": 1,
        "sent_at": timezone.now(),
        **fields,
    }
    log = EmailLog.objects.create(organization=org, **values)
    if created_at is not None:
        EmailLog.objects.filter(pk=log.pk).update(created_at=created_at)
        log.created_at = created_at
    for filename, size in attachments:
        EmailAttachment.objects.create(
            organization=org, log=log, filename=filename, content_type="text/csv", size=size, content=None
        )
    return log


class FlakyBackend(locmem.EmailBackend):
    """Django's in-memory backend behind a mail server that drops the connection `failures` more times (set it on
    the class; a negative value fails forever), as smtplib reports it."""

    failures = 0

    def send_messages(self, messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)
