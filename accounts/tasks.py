"""Celery tasks of accounts: the e-mails (password reset, invitation, sign-in link, lockout notice) made by a worker
and never in the request, the delivery of every queued e-mail (accounts.mail), the daily flush of expired refresh
tokens and the hourly pruning of the system log and of the e-mail log.

No secret travels through the broker: a reset token is made in the task from the account, an invitation token is
issued in the task (only its hash is stored), and the e-mail that carries them travels as its log row's id (its body
is encrypted in the database until it is sent). A mail server that fails is retried with backoff. Services are
imported in the task bodies: services import tasks.
"""

from celery import Task, shared_task
from django.conf import settings


class _MailTask(Task):
    """Retries up to EMAIL_MAX_ATTEMPTS attempts in all, read when it retries (so a test's settings apply)."""

    @property
    def max_retries(self) -> int:
        return settings.EMAIL_MAX_ATTEMPTS - 1


# smtplib's errors are OSErrors, as are the connection errors of a mail server that is down.
@shared_task(base=_MailTask, autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=30 * 60)
def send_email(log_id: int) -> None:
    """Send one queued e-mail (accounts.mail.email_deliver): sent, retried, or failed after the last attempt."""
    from accounts import mail

    mail.email_deliver(log_id=log_id)


@shared_task
def requeue_emails() -> int:
    """Beat, every 5 minutes: queue again the e-mails left queued (accounts.mail.email_logs_requeue)."""
    from accounts import mail

    return mail.email_logs_requeue()


@shared_task
def prune_email_logs() -> int:
    """Beat, hourly: delete the sent and failed e-mails older than EMAIL_LOG_RETENTION_DAYS (accounts.mail)."""
    from accounts import mail

    return mail.email_logs_prune()


@shared_task
def send_password_reset(email: str) -> None:
    """E-mail a reset token to the active account with this e-mail, if there is one."""
    from accounts import services

    services.password_reset_send(email=email)


@shared_task
def send_invitation(organization_id: int, invitation_id: int) -> None:
    """E-mail a pending invitation its token, issued now."""
    from accounts import services

    services.invitation_send(organization_id=organization_id, invitation_id=invitation_id)


@shared_task
def flush_expired_tokens() -> int:
    """Delete the refresh tokens past their expiry (outstanding and blacklisted); returns how many."""
    from accounts import services

    return services.auth_tokens_flush_expired()


@shared_task
def prune_system_logs() -> int:
    """Delete the system log entries older than SYSTEM_LOG_RETENTION_DAYS; returns how many."""
    from accounts import services

    return services.system_logs_prune()


@shared_task
def send_magic_link(email: str) -> None:
    """E-mail a sign-in link (made now) to the active account with this e-mail, if there is one."""
    from accounts import magic_links

    magic_links.magic_link_send(email=email)


@shared_task
def send_lockout_notice(user_id: int, ip_address: str) -> None:
    """Tell an account's owner that a client was locked out of it."""
    from accounts import lockout

    lockout.lockout_notice_send(user_id=user_id, ip_address=ip_address)
