"""Every e-mail the hub sends goes through here: rendered from templates (`accounts/email/<template>_subject.txt`,
`.txt` and `.html`) in the recipient's language when it is queued, recorded as an EmailLog row in the caller's
transaction, and sent by a task after the commit (accounts.tasks.send_email) through Django's e-mail backend, with
retries on mail-server and connection errors. A rolled-back transaction sends nothing.

The recipient's language: their own choice, else the organization's the e-mail is about, else their first
organization's, else the product's default."""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts import org_settings
from accounts import tasks as account_tasks
from accounts.integration_models import IntegrationKind
from accounts.integrations import integration_failed, integration_ok
from accounts.models import EmailAttachment, EmailLog, Membership, Organization, User, normalize_email
from whatsapp_hub.aftercommit import enqueue_after_commit
from whatsapp_hub.retention import delete_in_batches

logger = logging.getLogger(__name__)

# (filename, content, content type), as django.core.mail.EmailMessage.attach takes them.
Attachment = tuple[str, bytes, str]


def _locale_of(organization: Organization | None) -> str | None:
    locale = (organization.settings or {}).get("locale") if organization is not None else None
    return locale if locale in org_settings.locales() else None


def language_of(user: User | None, organization: Organization | None = None) -> str:
    if user is not None and user.language:
        return user.language
    if organization is None and user is not None:
        membership = Membership.objects.select_related("organization").filter(user=user, is_active=True).first()
        organization = membership.organization if membership is not None else None
    return _locale_of(organization) or settings.LANGUAGE_CODE


def _sole_organization(user: User) -> Organization | None:
    """The organization a person's own mail is about when they belong to exactly one; else none (platform mail)."""
    memberships = list(Membership.objects.select_related("organization").filter(user=user, is_active=True)[:2])
    return memberships[0].organization if len(memberships) == 1 else None


def send_templated(
    *,
    user: User,
    template: str,
    context: dict,
    organization: Organization | None = None,
    kind: str | None = None,
    attachments: Iterable[Attachment] = (),
) -> EmailLog:
    """Queue `accounts/email/<template>*` to `user` in their language. `organization`: the tenant the e-mail is about
    (default: the person's only organization, if they have one); `kind` (EmailLog.Kind): default the template's name
    when it is a kind, else `notification`. Sent after the current transaction commits; returns its log row."""
    if organization is None:
        organization = _sole_organization(user)
    return _queue(
        address=user.email,
        user=user,
        language=language_of(user, organization),
        template=template,
        context=context,
        organization=organization,
        kind=kind,
        attachments=attachments,
    )


def send_templated_to_address(
    *,
    address: str,
    template: str,
    context: dict,
    organization: Organization | None = None,
    kind: str | None = None,
    attachments: Iterable[Attachment] = (),
) -> EmailLog:
    """send_templated to an address that may have no account yet (an invitation): in the language of the active
    account with that address if there is one, else in the organization's."""
    user = User.objects.filter(email=normalize_email(address), is_active=True).first()
    if user is not None:
        language = language_of(user, organization)
    else:
        language = _locale_of(organization) or settings.LANGUAGE_CODE
    return _queue(
        address=address,
        user=user,
        language=language,
        template=template,
        context=context,
        organization=organization,
        kind=kind,
        attachments=attachments,
    )


def _render(*, template: str, context: dict, language: str, user: User | None) -> tuple[str, str, str]:
    with translation.override(language):
        context = {
            **context,
            "user": user,
            "LANGUAGE_CODE": translation.get_language(),
            "LANGUAGE_BIDI": translation.get_language_bidi(),
        }
        subject = " ".join(render_to_string(f"accounts/email/{template}_subject.txt", context).split())
        text = render_to_string(f"accounts/email/{template}.txt", context)
        html = render_to_string(f"accounts/email/{template}.html", context)
    return subject, text, html


def _queue(
    *,
    address: str,
    user: User | None,
    language: str,
    template: str,
    context: dict,
    organization: Organization | None,
    kind: str | None,
    attachments: Iterable[Attachment],
) -> EmailLog:
    if kind is None:
        kind = template if template in EmailLog.Kind.values else EmailLog.Kind.NOTIFICATION
    files = [(name, bytes(content), content_type) for name, content, content_type in attachments]
    if sum(len(content) for _, content, _ in files) > settings.EMAIL_ATTACHMENTS_MAX_BYTES:
        raise ValueError(f"Attachments beyond EMAIL_ATTACHMENTS_MAX_BYTES ({settings.EMAIL_ATTACHMENTS_MAX_BYTES}).")
    subject, text, html = _render(template=template, context=context, language=language, user=user)
    with transaction.atomic():
        log = EmailLog.objects.create(
            organization=organization,
            user=user,
            recipient=address,
            kind=kind,
            subject=subject[: EmailLog.SUBJECT_MAX],
            language=language,
            body_text=text,
            body_html=html,
        )
        EmailAttachment.objects.bulk_create(
            EmailAttachment(
                organization=organization,
                log=log,
                filename=name[:255],
                content_type=content_type[:100],
                size=len(content),
                content=content,
            )
            for name, content, content_type in files
        )
        enqueue_after_commit(account_tasks.send_email, log.pk)
    return log


def _error_of(exc: BaseException) -> str:
    """What the log keeps of an error: its class and message, on one line and bounded (an SMTP reply code and text;
    never the message's body or the server's credentials, which no error of the backend carries)."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text[: EmailLog.ERROR_MAX]


def _finish(log: EmailLog, **fields) -> None:
    """A final state: the bodies and the attachments' bytes are no longer needed, only the record."""
    EmailLog.objects.filter(pk=log.pk).update(body_text="", body_html="", **fields)
    EmailAttachment.objects.filter(log=log).update(content=None)


def email_deliver(*, log_id: int, timeout: float | None = None, record_now: bool = False) -> None:
    """Send a queued e-mail (the task's work). Claims one attempt with a conditional update, so two runs at once send
    it once; a sent or failed e-mail is left alone. A mail-server or connection error (OSError, smtplib's errors
    included) is recorded and raised for the task to retry, until the EMAIL_MAX_ATTEMPTS-th, which marks it failed;
    any other error fails it at once. The outcome is the organization's e-mail integration state (Settings >
    Integrations; `record_now`: written at once, as a "test now" wants). `timeout`: the mail server's, in seconds."""
    log = EmailLog.objects.filter(pk=log_id, status=EmailLog.Status.QUEUED).first()
    if log is None:
        return
    claimed = EmailLog.objects.filter(pk=log.pk, status=EmailLog.Status.QUEUED, attempts=log.attempts).update(
        attempts=F("attempts") + 1, tried_at=timezone.now()
    )
    if not claimed:
        return
    attempt = log.attempts + 1
    message = EmailMultiAlternatives(subject=log.subject, body=log.body_text, to=[log.recipient])
    if log.body_html:
        message.attach_alternative(log.body_html, "text/html")
    for attachment in log.attachments.all():
        message.attach(attachment.filename, bytes(attachment.content or b""), attachment.content_type)
    if timeout is not None:
        message.connection = get_connection(timeout=timeout)
    try:
        message.send()
    except OSError as exc:
        _record(log, ok=False, force=record_now)
        if attempt < settings.EMAIL_MAX_ATTEMPTS:
            EmailLog.objects.filter(pk=log.pk).update(last_error=_error_of(exc))
            raise
        logger.warning("e-mail %s failed after %s attempts: %s", log.pk, attempt, _error_of(exc))
        _finish(log, status=EmailLog.Status.FAILED, last_error=_error_of(exc))
    except Exception as exc:
        _record(log, ok=False, force=record_now)
        logger.exception("e-mail %s cannot be sent", log.pk)
        _finish(log, status=EmailLog.Status.FAILED, last_error=_error_of(exc))
    else:
        _record(log, ok=True, force=record_now)
        _finish(log, status=EmailLog.Status.SENT, sent_at=timezone.now(), last_error="")


def _record(log: EmailLog, *, ok: bool, force: bool) -> None:
    """The organization's e-mail integration state after an attempt (none for mail outside an organization)."""
    if log.organization_id is None:
        return
    if ok:
        integration_ok(organization_id=log.organization_id, kind=IntegrationKind.EMAIL, force=force)
    else:
        integration_failed(
            organization_id=log.organization_id, kind=IntegrationKind.EMAIL, error_code="send_failed", force=force
        )


# Longer than the longest wait between two attempts (the task's retry_backoff_max, 30 min) and a run: an e-mail still
# queued this long after its last attempt has no retry waiting in the broker.
REQUEUE_AFTER = timedelta(minutes=40)
REQUEUE_BATCH = 500


def email_logs_requeue(*, now: datetime | None = None) -> int:
    """Queue again the e-mails left queued (the beat's work): the broker was down when their transaction committed,
    a worker was lost, or the inline mode gave up on a first error. Each is stamped so the next sweep leaves it
    alone for REQUEUE_AFTER; the task's claim makes a duplicate harmless. Returns how many."""
    now = now or timezone.now()
    stale = Q(tried_at__lt=now - REQUEUE_AFTER) | Q(tried_at__isnull=True, created_at__lt=now - REQUEUE_AFTER)
    ids = list(
        EmailLog.objects.filter(stale, status=EmailLog.Status.QUEUED)
        .order_by("id")
        .values_list("id", flat=True)[:REQUEUE_BATCH]
    )
    requeued = 0
    for log_id in ids:
        if EmailLog.objects.filter(stale, pk=log_id, status=EmailLog.Status.QUEUED).update(tried_at=now):
            enqueue_after_commit(account_tasks.send_email, log_id)
            requeued += 1
    return requeued


EMAIL_LOG_PRUNE_BATCH = 1000
EMAIL_LOG_PRUNE_MAX_BATCHES = 200


def email_logs_prune(*, batch_size: int = EMAIL_LOG_PRUNE_BATCH, max_batches: int = EMAIL_LOG_PRUNE_MAX_BATCHES) -> int:
    """Delete the sent and failed e-mails older than EMAIL_LOG_RETENTION_DAYS, of every organization and of none,
    with their attachments, in short batches (the beat task's work). A queued e-mail stays, whatever its age: the
    sweeper still owes it a send. Returns how many e-mails. Safe to run twice at once."""
    cutoff = timezone.now() - timedelta(days=settings.EMAIL_LOG_RETENTION_DAYS)
    final = EmailLog.objects.filter(status__in=[EmailLog.Status.SENT, EmailLog.Status.FAILED], created_at__lt=cutoff)
    return delete_in_batches(final, batch_size=batch_size, max_batches=max_batches)
