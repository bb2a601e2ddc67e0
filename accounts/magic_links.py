"""Passwordless sign-in by e-mail link: ask with an address, get a link that signs in once within MAGIC_LINK_TTL.

- Asking answers the same (status, body, and about the same time: the lookup and the e-mail happen in a task)
  whether an account has the address or not, and is rate-limited per address and per client (the same buckets for
  unknown addresses, so a 429 tells nothing either).
- The token is made in the task and only its digest is stored (accounts.models.hash_secret), as invitations do: the
  broker never carries it. It is claimed under a row lock: single use even when two claims race.
- A link bypasses the password lockout (accounts.lockout): it is how the owner gets in while an attacker's client
  is locked. Organizations that require Google sign-in refuse it, as they refuse passwords.
"""

import secrets

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts import mail, two_factor
from accounts import tasks as account_tasks
from accounts.models import MagicLink, Membership, User, hash_secret, normalize_email
from whatsapp_hub.aftercommit import enqueue_after_commit
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.throttling import AuthRateThrottle, KeyedRateThrottle


def _too_many() -> ServiceError:
    return ServiceError(
        gettext("Too many sign-in links were asked for: wait a while, then try again."),
        status_code=429,
        code="throttled",
    )


def magic_link_request(*, request, email: str) -> None:
    """Queue a sign-in link for this address (the task looks the account up). 429 past the per-address or
    per-client rate, whether or not an account has the address."""
    email = normalize_email(email)
    client = AuthRateThrottle().get_ident(request)
    for scope, key in (("magic_link_address", hash_secret(email)), ("magic_link_client", client)):
        if not KeyedRateThrottle(scope, key).allow(request):
            raise _too_many()
    enqueue_after_commit(account_tasks.send_magic_link, email)


def magic_link_send(*, email: str) -> None:
    """E-mail a new sign-in link to the active account with this address, if there is one (the task's work)."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None:
        return
    token = secrets.token_urlsafe(32)
    ttl = settings.MAGIC_LINK_TTL
    MagicLink.objects.create(user=user, token_hash=hash_secret(token), expires_at=timezone.now() + ttl)
    url = f"{settings.PUBLIC_BASE_URL}{reverse('magic-link')}?token={token}"
    mail.send_templated(
        user=user, template="magic_link", context={"url": url, "minutes": int(ttl.total_seconds() // 60)}
    )


def _link_refused() -> ServiceError:
    return ServiceError(
        gettext("This sign-in link is invalid, has expired or was already used. Ask for a new one."),
        status_code=401,
        code="invalid_magic_link",
    )


def magic_link_usable(*, token: str) -> User | None:
    """The account a link would sign in (without using it), or None."""
    link = MagicLink.objects.select_related("user").filter(token_hash=hash_secret(token or "")).first()
    return link.user if link is not None and link.is_usable and link.user.is_active else None


def auth_magic_link(*, request, token: str, organization_id: int | None = None) -> tuple[User, Membership | None]:
    """Use a link once and sign its account in (accounts.services.auth_sign_in_complete, method magic_link). 401 for
    an unknown, expired or used link; a refusal of the sign-in leaves the link unused. When the account needs its
    second step, the link is used all the same and SecondStepRequired is raised once that is committed."""
    user, outcome = _magic_link_sign_in(request=request, token=token, organization_id=organization_id)
    if isinstance(outcome, two_factor.SecondStepRequired):
        raise outcome
    return user, outcome


@transaction.atomic
def _magic_link_sign_in(*, request, token: str, organization_id: int | None):
    from accounts import services

    link = MagicLink.objects.select_for_update().filter(token_hash=hash_secret(token or "")).first()
    if link is None or not link.is_usable:
        raise _link_refused()
    user = User.objects.filter(pk=link.user_id, is_active=True).first()
    if user is None:
        raise _link_refused()
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    try:
        membership = services.auth_sign_in_complete(
            request=request, user=user, method=services.SignInMethod.MAGIC_LINK, organization_id=organization_id
        )
    except two_factor.SecondStepRequired as pending:
        return user, pending
    return user, membership
