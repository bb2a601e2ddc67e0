"""Check-then-insert races on unique rows (a sign-up's e-mail, an organization's slug, an invitee's account)
answer the 400 of the check, or take the next free slug: never a 500. Raced for real on PostgreSQL."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Invitation, Membership, Organization, Role, User, hash_secret
from accounts.services import EMAIL_TAKEN_DETAIL
from tests.assertions import assert_error
from tests.factories import PASSWORD, OrganizationFactory, UserFactory
from tests.races import committed_meanwhile

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: no race to lose"),
    pytest.mark.django_db(transaction=True),
]

REGISTER = "/api/v1/auth/register"
SIGN_UP = {"email": "ann@example.com", "password": PASSWORD, "name": "Ann", "organization_name": "Acme"}


def test_a_sign_up_that_loses_the_race_for_its_email_is_the_400_of_the_check():
    with committed_meanwhile(lambda: UserFactory(email="ann@example.com", name="The other one")):
        response = APIClient().post(REGISTER, SIGN_UP)

    assert assert_error(response, 400) == {
        "detail": EMAIL_TAKEN_DETAIL,
        "code": "invalid",
        "errors": {"email": [EMAIL_TAKEN_DETAIL]},
    }
    assert list(User.objects.values_list("email", "name")) == [("ann@example.com", "The other one")]
    assert Organization.objects.count() == 0


def test_a_sign_up_that_loses_the_race_for_its_slug_takes_the_next_one():
    with committed_meanwhile(lambda: OrganizationFactory(name="Acme", slug="acme")):
        response = APIClient().post(REGISTER, SIGN_UP)

    assert response.status_code == 201, response.content
    organization = Organization.objects.get(pk=response.json()["organization_id"])
    assert (organization.name, organization.slug) == ("Acme", "acme-2")
    assert list(Membership.objects.values_list("organization__slug", "user__email", "role")) == [
        ("acme-2", "ann@example.com", "admin")
    ]


def test_a_slug_lost_at_every_attempt_is_a_400_naming_the_field(monkeypatch):
    monkeypatch.setattr(services, "SLUG_ATTEMPTS", 1)

    with committed_meanwhile(lambda: OrganizationFactory(name="Acme", slug="acme")):
        response = APIClient().post(REGISTER, SIGN_UP)

    message = "Organizations with this name are being created right now: try again."
    assert assert_error(response, 400)["errors"] == {"organization_name": [message]}
    assert list(Organization.objects.values_list("slug", flat=True)) == ["acme"]
    assert User.objects.count() == 0


def test_an_invitee_whose_account_is_created_meanwhile_gets_the_400_of_the_check():
    organization = OrganizationFactory()
    Invitation.objects.create(
        organization=organization,
        email="invitee@example.com",
        role=Role.AGENT,
        token_hash=hash_secret("invitation-token"),
        expires_at=timezone.now() + timedelta(days=7),
    )

    with committed_meanwhile(lambda: UserFactory(email="invitee@example.com")):
        response = APIClient().post(
            "/api/v1/auth/register-with-invite", {"token": "invitation-token", "password": "invitee-secret-2025"}
        )

    assert assert_error(response, 400)["errors"] == {"password": ["Wrong password for the existing account."]}
    assert Invitation.objects.get().status == "pending"  # still usable: accepting again with the password works
    assert not Membership.objects.exists()
