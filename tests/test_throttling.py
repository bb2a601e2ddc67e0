"""Throttling from the cache: anonymous auth endpoints per client IP, everything else per user or API
key. Rates are lowered in each test (DRF reloads its settings on setting_changed; the throttles read
the rates at call time)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Role
from tests.conftest import client_for
from tests.factories import PASSWORD, MembershipFactory

ORGANIZATION = "/api/v1/organization"
RESET_REQUEST = "/api/v1/auth/password-reset-request"
THROTTLED = "Request was throttled. Expected available in 60 seconds."


@pytest.fixture(autouse=True)
def low_rates(settings, time_machine):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"principal": "3/min", "auth": "2/min"},
    }
    # Frozen, so the wait announced is exact and no window rolls over mid-test.
    time_machine.move_to(timezone.now(), tick=False)


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": THROTTLED}
    assert response["Retry-After"] == "60"


def reset_request(ip: str = "203.0.113.7", **headers):
    return APIClient(REMOTE_ADDR=ip, **headers).post(RESET_REQUEST, {"email": "someone@example.com"})


# --- anonymous auth endpoints: per client IP -----------------------------------------------------------


def test_auth_endpoints_answer_429_after_the_limit_per_ip(db):
    assert reset_request().status_code == 200
    assert reset_request().status_code == 200

    assert_throttled(reset_request())
    assert reset_request(ip="198.51.100.9").status_code == 200  # another address has its own bucket


def test_the_auth_endpoints_share_one_bucket_per_ip(agent_membership):
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    login = {"email": agent_membership.user.email, "password": PASSWORD}
    assert client.post("/api/v1/auth/login", login).status_code == 200
    assert client.post("/api/v1/auth/refresh", {"refresh_token": "garbage"}).status_code == 401

    assert_throttled(client.post("/api/v1/auth/login", login))
    assert_throttled(client.post("/api/v1/auth/register", {}))
    assert_throttled(client.post("/api/v1/auth/register-with-invite", {}))
    assert_throttled(client.post("/api/v1/auth/password-reset", {}))
    assert_throttled(client.post("/api/v1/auth/logout", {}))


def test_a_forged_x_forwarded_for_does_not_open_a_new_bucket(db):
    assert reset_request(HTTP_X_FORWARDED_FOR="10.0.0.1").status_code == 200
    assert reset_request(HTTP_X_FORWARDED_FOR="10.0.0.2").status_code == 200

    assert_throttled(reset_request(HTTP_X_FORWARDED_FOR="10.0.0.3"))


def test_the_auth_bucket_refills_after_the_window(time_machine, db):
    reset_request()
    reset_request()
    assert_throttled(reset_request())

    time_machine.shift(timedelta(seconds=61))

    assert reset_request().status_code == 200


# --- authenticated: per user, per API key --------------------------------------------------------------


def test_authenticated_requests_answer_429_after_the_limit_per_user(org, admin_membership, agent_membership):
    admin = client_for(admin_membership)
    for _ in range(3):
        assert admin.get(ORGANIZATION).status_code == 200

    assert_throttled(admin.get(ORGANIZATION))
    assert_throttled(admin.get("/api/v1/admin/team"))  # one bucket per user, whatever the endpoint
    agent = client_for(agent_membership)
    for _ in range(3):
        assert agent.get(ORGANIZATION).status_code == 200  # another user has their own bucket
    assert_throttled(agent.get(ORGANIZATION))


def test_a_users_bucket_is_shared_by_all_their_tokens(org, other_org, admin_membership):
    here = client_for(admin_membership)
    elsewhere = client_for(MembershipFactory(organization=other_org, user=admin_membership.user, role=Role.AGENT))
    here.get(ORGANIZATION)
    here.get(ORGANIZATION)
    elsewhere.get(ORGANIZATION)

    assert_throttled(here.get(ORGANIZATION))
    assert_throttled(elsewhere.get(ORGANIZATION))


def test_api_keys_have_their_own_buckets(org, admin_membership):
    _, first = services.api_key_create(organization=org, name="one", role=Role.ADMIN, actor=None)
    _, second = services.api_key_create(organization=org, name="two", role=Role.ADMIN, actor=None)
    one, two = APIClient(), APIClient()
    one.credentials(HTTP_X_API_KEY=first)
    two.credentials(HTTP_AUTHORIZATION=f"Api-Key {second}")
    for _ in range(3):
        assert one.get(ORGANIZATION).status_code == 200

    assert_throttled(one.get(ORGANIZATION))
    for _ in range(3):
        assert two.get(ORGANIZATION).status_code == 200
    assert_throttled(two.get(ORGANIZATION))
    assert client_for(admin_membership).get(ORGANIZATION).status_code == 200  # the key's creator is separate


def test_the_user_bucket_refills_after_the_window(time_machine, admin_membership):
    admin = client_for(admin_membership)
    for _ in range(3):
        admin.get(ORGANIZATION)
    assert_throttled(admin.get(ORGANIZATION))

    time_machine.shift(timedelta(seconds=61))

    assert admin.get(ORGANIZATION).status_code == 200
