"""Celery tasks of accounts: the e-mails (password reset, invitation), sent by a worker and never in the request,
the daily flush of expired refresh tokens and the hourly pruning of the system log.

No secret travels through the broker: a reset token is made in the task from the account, and an invitation token
is issued in the task (only its hash is stored). A mail server that fails is retried with backoff. Services are
imported in the task bodies: services import tasks.
"""

from celery import shared_task

# smtplib's errors are OSErrors, as are the connection errors of a mail server that is down.
MAIL_RETRY = {"autoretry_for": (OSError,), "retry_backoff": 30, "retry_backoff_max": 30 * 60, "max_retries": 6}


@shared_task(**MAIL_RETRY)
def send_password_reset(email: str) -> None:
    """E-mail a reset token to the active account with this e-mail, if there is one."""
    from accounts import services

    services.password_reset_send(email=email)


@shared_task(**MAIL_RETRY)
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
