"""Expired refresh tokens (simplejwt's outstanding and blacklisted rows) are flushed by a daily beat job, in
batches; tokens still valid, blacklisted or not, stay and keep behaving as before."""

from datetime import UTC, datetime, timedelta

from django.conf import settings as django_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.services import _issue_tokens
from accounts.tasks import flush_expired_tokens


def jti(refresh_token: str) -> str:
    return RefreshToken(refresh_token, verify=False)["jti"]


T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
REFRESH = "/api/v1/auth/refresh"


def test_expired_tokens_are_flushed_with_their_blacklist_entries(time_machine, agent_membership):
    lifetime = django_settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    time_machine.move_to(T0, tick=False)
    _, old_used = _issue_tokens(user=agent_membership.user, membership=agent_membership)
    _issue_tokens(user=agent_membership.user, membership=agent_membership)  # never used
    services.auth_logout(refresh_token=old_used)  # blacklisted
    time_machine.move_to(T0 + lifetime - timedelta(days=1), tick=False)
    _, live_revoked = _issue_tokens(user=agent_membership.user, membership=agent_membership)
    _, live = _issue_tokens(user=agent_membership.user, membership=agent_membership)
    services.auth_logout(refresh_token=live_revoked)
    assert (OutstandingToken.objects.count(), BlacklistedToken.objects.count()) == (4, 2)

    time_machine.move_to(T0 + lifetime + timedelta(minutes=1), tick=False)
    assert flush_expired_tokens.delay().get() == 2

    assert sorted(OutstandingToken.objects.values_list("jti", flat=True)) == sorted([jti(live_revoked), jti(live)])
    assert list(BlacklistedToken.objects.values_list("token__jti", flat=True)) == [jti(live_revoked)]
    assert APIClient().post(REFRESH, {"refresh_token": live_revoked}).status_code == 401
    assert APIClient().post(REFRESH, {"refresh_token": live}).status_code == 200


def test_the_flush_deletes_in_batches(time_machine, agent_membership):
    time_machine.move_to(T0, tick=False)
    for _ in range(5):
        _issue_tokens(user=agent_membership.user, membership=agent_membership)
    time_machine.move_to(T0 + django_settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] + timedelta(seconds=1))

    assert services.auth_tokens_flush_expired(batch_size=2) == 5
    assert not OutstandingToken.objects.exists()
    assert services.auth_tokens_flush_expired(batch_size=2) == 0
